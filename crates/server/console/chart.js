// Charts as inline SVG (no library): grouped horizontal bars for a benchmark's figures next to
// its peers', and an agent eval's cold and warm runs per iteration. `benchSeries` knows where
// each of our benchmark files keeps its headline numbers; a file it does not know is shown as
// its JSON only.

import { h } from './console.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function short(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (Math.abs(n) >= 100) return n.toFixed(0);
  return n.toFixed(n >= 10 ? 1 : 2);
}

/**
 * Grouped horizontal bars: `{title, unit, better: 'higher'|'lower', groups: [{label, bars:
 * [{name, value, ours}]}]}`; each group is scaled on its own (units differ between groups).
 */
export function barChart(series) {
  const barH = 16;
  const gap = 6;
  const labelW = 230;
  const width = 760;
  const plotW = width - labelW - 90;
  let y = 8;
  const parts = [];
  for (const group of series.groups) {
    const max = Math.max(...group.bars.map((b) => Number(b.value) || 0), 1e-9);
    parts.push(s('text', { x: 0, y: y + 11, 'font-weight': 600 }, group.label));
    y += 18;
    for (const bar of group.bars) {
      const w = Math.max(1, (Number(bar.value) / max) * plotW);
      parts.push(s('text', { x: 8, y: y + 12 }, bar.name));
      parts.push(s('rect', { x: labelW, y, width: w, height: barH, class: bar.ours ? 'ours' : 'peer' },
        s('title', {}, `${bar.name}: ${bar.value} ${group.unit || series.unit || ''}`)));
      parts.push(s('text', { x: labelW + w + 4, y: y + 12 }, `${short(bar.value)} ${group.unit || series.unit || ''}`));
      y += barH + gap;
    }
    y += 8;
  }
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${y}`, role: 'img', 'aria-label': series.title }, s('title', {}, series.title), parts);
  return h('figure', {},
    h('figcaption', {}, series.title, series.better ? h('span', { class: 'muted' }, ` (${series.better} is better)`) : null),
    h('div', { class: 'legend' }, h('span', { class: 'ours' }, 'Lakehouse'), h('span', { class: 'peer' }, 'peer / baseline')),
    svg);
}

/** An eval report: mean steps per iteration, cold (memory frozen) next to warm (playbooks). */
export function evalChart(report) {
  const modes = ['cold', 'warm'].filter((m) => report[m] && report[m].summary && Array.isArray(report[m].summary.per_iteration));
  if (!modes.length) return h('p', { class: 'muted' }, 'This report has no summaries.');
  const width = 760;
  const height = 220;
  const left = 40;
  const bottom = 30;
  const iterations = Math.max(...modes.map((m) => report[m].summary.per_iteration.length));
  const max = Math.max(1, ...modes.flatMap((m) => report[m].summary.per_iteration.map((p) => p.mean_steps)));
  const groupW = (width - left - 10) / Math.max(iterations, 1);
  const barW = Math.min(40, (groupW - 10) / modes.length);
  const parts = [s('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }),
    s('text', { x: 0, y: 12 }, 'mean steps')];
  modes.forEach((m, mi) => {
    for (const p of report[m].summary.per_iteration) {
      const x = left + (p.iteration - 1) * groupW + 5 + mi * barW;
      const hgt = (p.mean_steps / max) * (height - bottom - 24);
      parts.push(s('rect', { x, y: height - bottom - hgt, width: barW - 2, height: hgt, class: m },
        s('title', {}, `${m}, iteration ${p.iteration}: ${p.mean_steps.toFixed(2)} steps, ${p.passed} passed, ${p.playbook_hits} playbook hits`)));
      parts.push(s('text', { x: x + 2, y: height - bottom - hgt - 3 }, p.mean_steps.toFixed(1)));
    }
  });
  for (let i = 1; i <= iterations; i += 1) {
    parts.push(s('text', { x: left + (i - 1) * groupW + groupW / 2 - 20, y: height - 10 }, `iteration ${i}`));
  }
  const summary = (m) => report[m].summary;
  return h('div', {},
    h('div', { class: 'legend' }, modes.map((m) => h('span', { class: m }, m === 'cold' ? 'cold (memory frozen)' : 'warm (playbooks)'))),
    s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'mean steps per iteration, cold and warm' }, parts),
    h('table', {},
      h('thead', {}, h('tr', {}, ['mode', 'runs', 'pass@1', 'pass^k', 'median steps', 'median tokens', 'median wall', 'playbook hits', 'sealed'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, modes.map((m) => h('tr', {},
        h('td', {}, m), h('td', { class: 'num' }, summary(m).runs),
        h('td', { class: 'num' }, summary(m).pass_at_1.toFixed(2)), h('td', { class: 'num' }, summary(m).pass_hat_k.toFixed(2)),
        h('td', { class: 'num' }, summary(m).steps.median), h('td', { class: 'num' }, summary(m).tokens.median),
        h('td', { class: 'num' }, `${summary(m).wall_ms.median} ms`), h('td', { class: 'num' }, summary(m).playbook_hits),
        h('td', { class: 'num' }, summary(m).sealed))))));
}

/** The headline figures of one of our benchmark files, or null when the file is not one we know. */
export function benchSeries(name, d) {
  const base = name.replace(/\.json$/, '');
  try {
    if (base === 'ann') {
      const bars = d.ours.map((o) => ({ name: `Lakehouse ${o.quantization}`, value: o.best_at_target.qps, ours: true }))
        .concat(Object.entries(d.comparison).map(([peer, c]) => ({ name: peer, value: c.best_at_target.qps })));
      return { title: `ANN queries per second at recall@${d.k} ≥ target (${d.data.base} MiniLM vectors)`, better: 'higher', unit: 'QPS', groups: [{ label: 'QPS at target recall', bars }] };
    }
    if (base === 'embed') {
      return { title: 'MiniLM embedding throughput', better: 'higher', unit: 'sent/s', groups: [{ label: `${d.data.sentences} real sentences`, bars: [
        { name: d.ours.name, value: d.ours.sentences_per_second, ours: true },
        { name: d.peer.name, value: d.peer.sentences_per_second }] }] };
    }
    if (base === 'ingest') {
      return { title: 'CSV ingest rows per second', better: 'higher', unit: 'rows/s', groups: [{ label: 'CSV → table', bars: [
        { name: 'Lakehouse (→ Delta)', value: d.lakehouse.rows_per_s, ours: true },
        { name: `DuckDB ${d.duckdb.version}`, value: d.duckdb.rows_per_s }] }] };
    }
    if (base === 'memory') {
      const groups = d.ours.map((o) => {
        const bars = [{ name: 'Lakehouse search p50', value: o.search_ms.p50, ours: true }];
        for (const p of d.peers) {
          const at = (p.sizes || []).find((x) => x.records === o.records);
          if (at) bars.push({ name: `${p.name} search p50`, value: at.search_ms.p50 });
        }
        return { label: `${o.records.toLocaleString('en-US')} records`, unit: 'ms', bars };
      });
      return { title: 'Memory search latency (p50)', better: 'lower', groups };
    }
    if (base === 'serve') {
      const groups = Object.entries(d.operations).map(([op, levels]) => {
        const at = levels['16'] || Object.values(levels)[0];
        const bars = [{ name: 'server over HTTP', value: at.server.requests_per_s_median, ours: true }];
        if (at.in_process) bars.push({ name: 'same calls in-process', value: at.in_process.requests_per_s_median });
        return { label: `${op} (c=16)`, unit: 'req/s', bars };
      });
      return { title: 'lakehouse serve throughput', better: 'higher', groups };
    }
    if (base === 'matrix') {
      const single = Object.entries(d.search_only.single).map(([c, v]) => ({ name: `${c} alone`, value: v.p50_ms }));
      return { title: `Matrix search over ${single.length} corpora vs each alone (p50)`, better: 'lower', unit: 'ms', groups: [{ label: 'search only', bars: [
        { name: 'matrix (all corpora)', value: d.search_only.matrix.p50_ms, ours: true }].concat(single) }] };
    }
    if (base === 'journal') {
      return { title: 'Journal appends per second', better: 'higher', unit: 'events/s', groups: [{ label: 'append', bars:
        d.append.map((a) => ({ name: `${a.backend}, batches of ${a.batch_events}`, value: a.events_per_s, ours: true })) }] };
    }
    if (base.startsWith('build-profiles')) {
      return { title: 'The same benchmark on the old and new build', groups: d.metrics.map((m) => ({ label: `${m.bench}: ${m.metric}`, bars: [
        { name: 'new binary', value: m.new.median, ours: true }, { name: 'old binary', value: m.old.median }] })) };
    }
  } catch {
    return null;
  }
  return null;
}
