// Console pages over what agents leave: memory namespaces (records, a chain as a timeline,
// revise and retire, "as of" a past time), agent sessions step by step (with replay), and the
// eval and benchmark reports as charts.

import {
  h, fill, table, alertBox, badge, api, canWrite, confirmWrite, link, params,
  fmtNum, fmtTime, fmtMs,
} from './console.js';
import { barChart, evalChart, benchSeries } from './chart.js';

// ---------- memory ----------

function recordState(r) {
  if (r.retired_at) return badge('retired', 'bad');
  if (r.superseded_at) return badge('superseded');
  return badge('live', 'ok');
}

/** RFC 3339 text for a datetime-local input's value (taken as UTC). */
function asOfText(value) {
  if (!value) return '';
  return value.length === 16 ? `${value}:00Z` : `${value}Z`;
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n)}…` : text;
}

export async function memory(main, parts) {
  if (parts[0] === 'record') return chain(main);
  const p = params();
  const { namespaces } = await api('GET', '/v1/memory/namespaces');
  const ns = p.get('ns') || (namespaces[0] && namespaces[0].name) || 'default';
  const stateFilter = p.get('state') || 'live';
  const asOf = p.get('as_of') || '';
  const pick = h('select', { id: 'memory-ns', name: 'ns' },
    namespaces.map((n) => h('option', { value: n.name, selected: n.name === ns }, `${n.name} (${fmtNum(n.commits)} commits)`)));
  if (!namespaces.some((n) => n.name === ns)) pick.append(h('option', { value: ns, selected: true }, ns));
  const stateSel = h('select', { id: 'memory-state', name: 'state' },
    ['live', 'superseded', 'retired', 'all'].map((s) => h('option', { value: s, selected: s === stateFilter }, s)));
  const asOfInput = h('input', { type: 'datetime-local', id: 'memory-as-of', name: 'as_of', step: 1, value: asOf.replace(/Z$/, '').slice(0, 19) });
  const form = h('form', { class: 'row', id: 'memory-form' },
    h('label', { for: 'memory-ns' }, 'Namespace', pick),
    h('label', { for: 'memory-state' }, 'Records', stateSel),
    h('label', { for: 'memory-as-of' }, 'As of (UTC)', asOfInput),
    h('button', { type: 'submit' }, 'Show'),
    asOf ? h('a', { href: link('memory', { ns }) }, 'now') : null);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = link('memory', { ns: pick.value, state: stateSel.value, as_of: asOfText(asOfInput.value) });
  });
  const query = new URLSearchParams({ namespace: ns, state: stateFilter, limit: '500' });
  if (asOf) query.set('as_of', asOf);
  const records = await api('GET', `/v1/memory/records?${query}`);
  fill(main,
    h('h1', {}, 'Memory'),
    h('section', { class: 'panel' }, form,
      asOf ? h('p', { class: 'note', id: 'as-of-note' }, `Showing namespace ${ns} as it was at ${asOf}.`) : null),
    h('section', { class: 'panel' },
      h('h2', {}, `${records.length} ${stateFilter} records in ${ns}`),
      table([
        { label: 'record', value: (r) => h('a', { href: link('memory/record', { ns, id: r.id, as_of: asOf }) }, h('code', {}, r.id)) },
        { label: 'kind', value: (r) => r.kind },
        { label: 'version', num: true, value: (r) => r.version },
        { label: 'content', value: (r) => clip(r.content, 140) },
        { label: 'replays', num: true, value: (r) => r.replay_count },
        { label: 'successes', num: true, value: (r) => r.success_count },
        { label: 'failures', num: true, value: (r) => r.failure_count },
        { label: 'state', value: recordState },
        { label: 'written', value: (r) => fmtTime(r.created_at) },
      ], records, 'records')));
  return undefined;
}

function versionItem(r) {
  const cls = r.retired_at ? 'retired' : r.superseded_at ? 'superseded' : 'live';
  const steps = r.steps || [];
  return h('li', { class: cls, dataset: { version: r.version, id: r.id, written: r.created_at } },
    h('div', {}, h('strong', {}, `version ${r.version} `), recordState(r), ' ', h('code', {}, r.id)),
    h('div', { class: 'muted' }, `written ${fmtTime(r.created_at)}`,
      r.superseded_at ? ` · superseded ${fmtTime(r.superseded_at)} by ${r.superseded_by}` : '',
      r.retired_at ? ` · retired ${fmtTime(r.retired_at)}${r.retired_by ? ` by ${r.retired_by}` : ''}: ${r.retire_reason || ''}` : ''),
    h('pre', {}, r.content),
    r.outcome ? h('div', {}, h('strong', {}, 'outcome: '), r.outcome) : null,
    steps.length ? h('details', {}, h('summary', {}, `${steps.length} steps`),
      h('pre', {}, steps.map((s) => `${s.tool} ${JSON.stringify(s.args)}`).join('\n'))) : null,
    h('div', { class: 'scores' }, `replays ${r.replay_count} · successes ${r.success_count} · failures ${r.failure_count}`));
}

async function chain(main) {
  const p = params();
  const ns = p.get('ns') || 'default';
  const id = p.get('id') || '';
  const asOf = p.get('as_of') || '';
  const query = new URLSearchParams({ namespace: ns });
  if (asOf) query.set('as_of', asOf);
  const versions = await api('GET', `/v1/memory/records/${encodeURIComponent(id)}/history?${query}`);
  const tip = versions[versions.length - 1];
  const out = h('div', { 'aria-live': 'polite', id: 'memory-action' });
  const controls = [];
  if (canWrite() && tip && !tip.retired_at && !tip.superseded_at && !asOf) {
    const content = h('textarea', { id: 'revise-content', name: 'content' }, tip.content);
    const revise = h('form', { id: 'revise-form' },
      h('h3', {}, 'Revise the tip'),
      h('label', { for: 'revise-content' }, 'New content', content),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'revise-run' }, `Write version ${tip.version + 1}`)));
    revise.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!await confirmWrite(`Write version ${tip.version + 1} of ${tip.root_id}? Version ${tip.version} becomes superseded.`)) return;
      try {
        await api('POST', `/v1/memory/records/${encodeURIComponent(tip.id)}/revise`,
          { namespace: ns, patch: { content: content.value }, expected_version: tip.version });
        await chain(main);
      } catch (error) { fill(out, alertBox(error)); }
    });
    const reason = h('input', { type: 'text', id: 'retire-reason', name: 'reason', required: true, size: 40 });
    const retire = h('form', { id: 'retire-form' },
      h('h3', {}, 'Retire'),
      h('div', { class: 'row' },
        h('label', { for: 'retire-reason' }, 'Reason', reason),
        h('button', { type: 'submit', class: 'danger', id: 'retire-run' }, 'Retire record')));
    retire.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!await confirmWrite(`Retire ${tip.id}? It will no longer be found by search; its history stays.`)) return;
      try {
        await api('POST', `/v1/memory/records/${encodeURIComponent(tip.id)}/retire`, { namespace: ns, reason: reason.value });
        await chain(main);
      } catch (error) { fill(out, alertBox(error)); }
    });
    controls.push(h('section', { class: 'panel' }, revise, retire));
  }
  fill(main,
    h('p', {}, h('a', { href: link('memory', { ns, as_of: asOf }) }, `← ${ns}`)),
    h('h1', {}, `Chain of ${tip ? tip.root_id : id}`),
    asOf ? h('p', { class: 'note' }, `As it was at ${asOf}.`) : null,
    out,
    h('div', { class: 'split' },
      h('section', { class: 'panel' }, h('h2', {}, `${versions.length} versions, oldest first`),
        h('ol', { class: 'timeline', id: 'timeline' }, versions.map(versionItem))),
      h('div', {}, controls)));
}

// ---------- sessions ----------

function column(result, name) {
  return result.columns.indexOf(name);
}

export async function sessions(main, parts) {
  if (parts[0]) return session(main, parts[0]);
  const result = await api('GET', '/v1/sessions?limit=200');
  const at = (name) => column(result, name);
  const get = (row, name) => (at(name) >= 0 ? row[at(name)] : null);
  fill(main, h('h1', {}, 'Agent sessions'),
    h('section', { class: 'panel' }, table([
      { label: 'session', value: (r) => h('a', { href: `#/sessions/${encodeURIComponent(get(r, 'session'))}` }, h('code', {}, get(r, 'session'))) },
      { label: 'started', value: (r) => fmtTime(get(r, 'started_at')) },
      { label: 'task', value: (r) => clip(String(get(r, 'task') || ''), 100) },
      { label: 'model', value: (r) => get(r, 'model') },
      { label: 'outcome', value: (r) => badge(get(r, 'outcome'), get(r, 'outcome') === 'accepted' ? 'ok' : 'warn') },
      { label: 'steps', num: true, value: (r) => get(r, 'steps') },
      { label: 'tokens', num: true, value: (r) => fmtNum(Number(get(r, 'prompt_tokens') || 0) + Number(get(r, 'completion_tokens') || 0)) },
      { label: 'wall', num: true, value: (r) => fmtMs(get(r, 'wall_ms')) },
      { label: 'sealed', value: (r) => (get(r, 'sealed') ? h('code', {}, get(r, 'sealed')) : '') },
    ], result.rows, 'sessions')));
  return undefined;
}

function toolCallText(call) {
  return `${call.name}(${JSON.stringify(call.arguments)})`;
}

function eventItem(e) {
  const kind = e.event;
  const head = (text, extra) => h('div', {}, h('span', { class: 'kind' }, text), extra ? [' ', extra] : null);
  switch (kind) {
    case 'start':
      return [head('start', h('span', { class: 'muted' }, `model ${e.model} · observer ${e.observer}`)),
        h('div', {}, h('strong', {}, 'task: '), e.task),
        (e.playbooks_injected || []).length ? h('div', {}, 'playbooks injected: ', e.playbooks_injected.map((p) => badge(p))) : null,
        h('details', {}, h('summary', {}, 'system prompt'), h('pre', {}, e.system))];
    case 'request':
      return head(`model call ${e.n}`, h('span', { class: 'muted' }, `${e.messages} messages, ${e.tools} tools offered`));
    case 'response': {
      const m = e.message || {};
      const calls = m.tool_calls || [];
      return [head('model answer', h('span', { class: 'muted' },
        `${e.usage ? `${e.usage.prompt_tokens} + ${e.usage.completion_tokens} tokens` : ''}${e.finish_reason ? ` · ${e.finish_reason}` : ''}`)),
        m.content ? h('pre', {}, m.content) : null,
        calls.length ? h('ul', {}, calls.map((c) => h('li', {}, 'calls ', h('code', { class: 'tool-call' }, toolCallText(c))))) : null];
    }
    case 'tool':
      return [head(`tool ${e.call ? e.call.name : ''}`, e.ok ? badge('ok', 'ok') : badge('error', 'bad')),
        e.call ? h('div', {}, 'arguments ', h('code', { class: 'tool-args' }, JSON.stringify(e.call.arguments))) : null,
        h('details', { open: !e.ok }, h('summary', {}, 'result'), h('pre', { class: 'tool-result' }, typeof e.result === 'string' ? e.result : JSON.stringify(e.result, null, 2)))];
    case 'verdict': {
      const v = e.verdict || {};
      const kind2 = { accept: 'ok', reject: 'bad', revise: 'warn' }[v.decision];
      return [head('observer', [badge(v.decision, kind2), ' ', h('span', { class: 'muted' }, `by ${v.reviewer}`)]),
        e.candidate ? h('details', {}, h('summary', {}, 'candidate answer'), h('pre', {}, e.candidate.answer || JSON.stringify(e.candidate))) : null,
        v.feedback ? h('div', {}, h('strong', {}, 'feedback: '), v.feedback) : null,
        (v.unsupported_claims || []).length ? h('div', {}, 'unsupported: ', v.unsupported_claims.join('; ')) : null,
        (v.missing_citations || []).length ? h('div', {}, 'missing citations: ', v.missing_citations.join(', ')) : null];
    }
    case 'budget':
      return head('budget', badge(e.exhausted ? `exhausted: ${e.exhausted}` : `warning: ${e.warning}`, 'warn'));
    case 'seal':
      return head('sealed as playbook', [h('code', {}, e.playbook), ' ', badge(e.action)]);
    case 'retire':
      return head('playbook retired', [h('code', {}, e.playbook), ` ${e.reason || ''}`]);
    case 'check':
      return head('check', e.passed ? badge('passed', 'ok') : badge(`failed: ${e.why}`, 'bad'));
    case 'outcome':
      return [head('outcome', badge(e.outcome && e.outcome.kind ? e.outcome.kind : JSON.stringify(e.outcome))),
        h('details', {}, h('summary', {}, 'details'), h('pre', {}, JSON.stringify(e, null, 2)))];
    case 'model_error':
      return head('model error', h('span', { class: 'alert' }, e.error));
    default:
      return [head(kind), h('pre', {}, JSON.stringify(e, null, 2))];
  }
}

async function session(main, id) {
  const events = await api('GET', `/v1/sessions/${encodeURIComponent(id)}`);
  const start = events.find((e) => e.event === 'start') || {};
  const out = h('div', { id: 'replay-result', 'aria-live': 'polite' });
  const replay = canWrite() ? h('button', {
    type: 'button',
    id: 'replay',
    onclick: async (event) => {
      event.target.disabled = true;
      fill(out, h('p', { class: 'muted' }, 'Replaying with the archived model answers…'));
      try {
        const job = await api('POST', `/v1/sessions/${encodeURIComponent(id)}/replay`, { wait: true });
        const report = job.result || {};
        fill(out, h('p', { class: 'note' }, 'Replayed: outcome ',
          badge(report.outcome ? report.outcome.kind || JSON.stringify(report.outcome) : job.state), ' in session ',
          report.session ? h('a', { href: `#/sessions/${encodeURIComponent(report.session)}` }, report.session) : '?'));
      } catch (error) {
        fill(out, alertBox(error));
      } finally {
        event.target.disabled = false;
      }
    },
  }, 'Replay with archived answers') : null;
  const counts = {};
  for (const e of events) counts[e.event] = (counts[e.event] || 0) + 1;
  fill(main,
    h('p', {}, h('a', { href: '#/sessions' }, '← Sessions')),
    h('h1', {}, `Session ${id}`),
    h('p', {}, h('strong', {}, 'Task: '), start.task || ''),
    h('p', { class: 'muted' }, Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(' · ')),
    h('div', { class: 'row' }, replay), out,
    h('section', { class: 'panel' }, h('h2', {}, 'Step by step'),
      h('ol', { class: 'steps', id: 'session-events' }, events.map((e) => h('li', { dataset: { event: e.event } }, eventItem(e))))));
}

// ---------- reports ----------

export async function reports(main) {
  const list = await api('GET', '/v1/reports');
  const evals = list.filter((r) => r.kind === 'eval');
  const benches = list.filter((r) => r.kind === 'bench');
  const body = [h('h1', {}, 'Evals and benchmarks')];
  if (!list.length) {
    body.push(h('p', { class: 'muted' }, 'No reports found. `lakehouse agent eval` writes eval-results/, `lakehouse bench …` writes bench-results/; the server reads the folders named in [console] reports of its configuration.'));
  }
  if (evals.length) {
    const latest = evals[0];
    let shownEval;
    try {
      const report = await api('GET', `/v1/reports/${encodeURIComponent(latest.kind)}/${encodeURIComponent(latest.name)}`);
      shownEval = [h('p', { class: 'muted' }, `${report.tasks || ''} · model ${report.model || '?'} · ${report.iterations || '?'} iterations · ${fmtTime(latest.modified)}`),
        evalChart(report)];
    } catch (error) {
      shownEval = alertBox(error);
    }
    body.push(h('section', { class: 'panel', id: 'eval' }, h('h2', {}, `Latest agent eval: ${latest.name}`), shownEval));
  }
  // one unreadable report does not hide the others
  const shown = await Promise.all(benches.map(async (b) => {
    let content;
    try {
      const data = await api('GET', `/v1/reports/${encodeURIComponent(b.kind)}/${encodeURIComponent(b.name)}`);
      const series = benchSeries(b.name, data);
      content = [series ? barChart(series) : null,
        h('details', {}, h('summary', {}, 'the JSON'), h('pre', {}, JSON.stringify(data, null, 2)))];
    } catch (error) {
      content = alertBox(error);
    }
    return h('section', { class: 'panel bench', dataset: { bench: b.name } },
      h('h2', {}, b.name), h('p', { class: 'muted' }, fmtTime(b.modified)), content);
  }));
  fill(main, body, shown);
}

