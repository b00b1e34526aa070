// Console pages over data: the overview, datasets (schema, sample rows, versions, a SQL box),
// matrix search, and jobs. Each is `async (main, parts, gen)`, drawing into `main`.

import {
  h, fill, table, alertBox, badge, api, canWrite, current, link, params,
  fmtNum, fmtBytes, fmtTime, fmtMs, show,
} from './console.js';

// ---------- overview ----------

function card(label, num, sub, href) {
  return h('div', { class: 'card' },
    h('div', { class: 'num' }, href ? h('a', { href }, num) : num),
    h('div', { class: 'label' }, label),
    sub ? h('div', { class: 'muted' }, sub) : null);
}

export async function overview(main) {
  const o = await api('GET', '/v1/overview');
  fill(main,
    h('h1', {}, 'Overview'),
    h('p', {}, 'Store ', h('code', { id: 'store-url' }, o.store)),
    h('div', { class: 'cards' },
      card('datasets', fmtNum(o.datasets.count), `${fmtNum(o.datasets.rows)} rows · ${fmtBytes(o.datasets.bytes)}`, '#/datasets'),
      card('corpora', fmtNum(o.corpora.count), `${fmtNum(o.corpora.docs)} documents · ${fmtBytes(o.corpora.bytes)}`, '#/search'),
      card('memory namespaces', fmtNum(o.namespaces.count), `${fmtNum(o.namespaces.commits)} commits · ${fmtBytes(o.namespaces.bytes)}`, '#/memory'),
      card('agent sessions', fmtNum(o.sessions.count), null, '#/sessions'),
      card('jobs', fmtNum(o.jobs.total), `${fmtNum(o.jobs.running)} running`, '#/jobs')),
    h('div', { class: 'split' },
      h('section', { class: 'panel' }, h('h2', {}, 'Datasets'), table([
        { label: 'name', value: (d) => h('a', { href: `#/datasets/${encodeURIComponent(d.name)}` }, d.name) },
        { label: 'version', num: true, value: (d) => d.version },
        { label: 'rows', num: true, value: (d) => fmtNum(d.rows) },
        { label: 'size', num: true, value: (d) => fmtBytes(d.bytes) },
      ], o.datasets.items, 'datasets')),
      h('section', { class: 'panel' }, h('h2', {}, 'Corpora'), table([
        { label: 'name', value: (c) => h('a', { href: link('search', { corpus: c.name }) }, c.name) },
        { label: 'version', num: true, value: (c) => c.version },
        { label: 'documents', num: true, value: (c) => fmtNum(c.docs) },
        { label: 'segments', num: true, value: (c) => c.segments },
        { label: 'size', num: true, value: (c) => fmtBytes(c.bytes) },
        { label: 'embedder', value: (c) => c.embedder },
      ], o.corpora.items, 'corpora')),
      h('section', { class: 'panel' }, h('h2', {}, 'Memory namespaces'), table([
        { label: 'namespace', value: (n) => h('a', { href: link('memory', { ns: n.name }) }, n.name) },
        { label: 'commits', num: true, value: (n) => fmtNum(n.commits) },
        { label: 'snapshots', num: true, value: (n) => fmtNum(n.snapshots) },
        { label: 'size', num: true, value: (n) => fmtBytes(n.bytes) },
      ], o.namespaces.items, 'namespaces')),
      h('section', { class: 'panel' }, h('h2', {}, 'Jobs'),
        o.jobs.total ? h('p', {}, h('a', { href: '#/jobs' }, `${o.jobs.total} jobs, ${o.jobs.running} running`))
          : h('p', { class: 'muted' }, 'No jobs since this server started.'))));
}

// ---------- datasets ----------

function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function resultTable(result) {
  const columns = result.columns.map((name, i) => ({ label: name, value: (row) => show(row[i]) }));
  return table(columns, result.rows, 'query result');
}

/** The SQL box: a query, its result as a table, a CSV download, errors as the server words them. */
function sqlBox(initial) {
  const query = h('textarea', { id: 'sql-query', name: 'query', spellcheck: 'false', 'aria-describedby': 'sql-help' }, initial);
  const out = h('div', { id: 'sql-result', 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', id: 'sql-run' }, 'Run query');
  const form = h('form', { id: 'sql-form' },
    h('label', { for: 'sql-query' }, 'SQL', query),
    h('p', { id: 'sql-help', class: 'muted' }, 'One read-only query (SELECT, WITH, EXPLAIN). Ctrl+Enter runs it.'),
    h('div', { class: 'row' }, run));
  const submit = async (event) => {
    if (event) event.preventDefault();
    run.disabled = true;
    fill(out, h('p', { class: 'muted' }, 'Running…'));
    try {
      const started = performance.now();
      const result = await api('POST', '/v1/sql', { query: query.value });
      const ms = performance.now() - started;
      const csv = [result.columns.map(csvField).join(',')]
        .concat(result.rows.map((r) => r.map(csvField).join(','))).join('\r\n');
      const url = URL.createObjectURL(new Blob([`${csv}\r\n`], { type: 'text/csv' }));
      fill(out,
        h('p', {},
          `${fmtNum(result.rows.length)} rows in ${fmtMs(ms)} `,
          result.truncated ? badge('truncated at the server\'s row cap', 'warn') : null, ' ',
          h('a', { href: url, download: 'query.csv', id: 'sql-csv' }, 'Download CSV')),
        resultTable(result));
    } catch (error) {
      fill(out, alertBox(error));
    } finally {
      run.disabled = false;
    }
  };
  form.addEventListener('submit', submit);
  query.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e); });
  return h('section', { class: 'panel' }, h('h2', {}, 'Query'), form, out);
}

export async function datasets(main, parts) {
  if (parts[0]) return dataset(main, parts[0]);
  const all = await api('GET', '/v1/datasets');
  fill(main,
    h('h1', {}, 'Datasets'),
    h('section', { class: 'panel' }, table([
      { label: 'name', value: (d) => h('a', { href: `#/datasets/${encodeURIComponent(d.name)}` }, d.name) },
      { label: 'version', num: true, value: (d) => d.version },
      { label: 'rows', num: true, value: (d) => fmtNum(d.rows) },
      { label: 'files', num: true, value: (d) => d.files },
      { label: 'size', num: true, value: (d) => fmtBytes(d.bytes) },
      { label: 'columns', value: (d) => d.columns.map((c) => c.name).join(', ') },
    ], all, 'datasets')),
    sqlBox(all.length ? `SELECT * FROM ${all[0].name} LIMIT 20` : 'SELECT 1'));
  return undefined;
}

async function dataset(main, name) {
  // the name comes from the address: only a dataset name goes into SQL
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
    fill(main, h('h1', {}, 'No such dataset'), alertBox({ message: `"${name}" is not a dataset name` }));
    return;
  }
  const [info, versions, sample] = await Promise.all([
    api('GET', `/v1/datasets/${encodeURIComponent(name)}`),
    api('GET', `/v1/datasets/${encodeURIComponent(name)}/history?limit=50`),
    api('POST', '/v1/sql', { query: `SELECT * FROM ${name} LIMIT 20` }).catch((e) => e),
  ]);
  fill(main,
    h('p', {}, h('a', { href: '#/datasets' }, '← Datasets')),
    h('h1', {}, `Dataset ${info.name}`),
    h('p', {}, `version ${info.version} · ${fmtNum(info.rows)} rows · ${info.files} files · ${fmtBytes(info.bytes)}`),
    h('div', { class: 'split' },
      h('section', { class: 'panel', id: 'schema' }, h('h2', {}, 'Schema'), table([
        { label: 'column', value: (c) => h('code', {}, c.name) },
        { label: 'type', value: (c) => c.data_type },
        { label: 'original name', value: (c) => c.original_name || h('span', { class: 'muted' }, 'same') },
      ], info.columns, 'schema')),
      h('section', { class: 'panel', id: 'versions' }, h('h2', {}, 'Versions'), table([
        { label: 'version', num: true, value: (v) => v.version },
        { label: 'when', value: (v) => fmtTime(v.timestamp) },
        { label: 'operation', value: (v) => v.operation || '' },
        { label: 'rows', num: true, value: (v) => fmtNum(v.details && v.details['lakehouse.rows']) },
        { label: 'source', value: (v) => (v.details && v.details['lakehouse.source']) || '' },
      ], versions, 'versions'))),
    h('section', { class: 'panel', id: 'sample' }, h('h2', {}, 'Sample rows'),
      sample instanceof Error ? alertBox(sample) : resultTable(sample)),
    sqlBox(`SELECT * FROM ${name} LIMIT 20`));
}

// ---------- search ----------

function scores(hit) {
  const parts = [`fused ${hit.score.toFixed(4)}`];
  parts.push(hit.vector_score === null || hit.vector_score === undefined ? 'vector —' : `vector ${hit.vector_score.toFixed(3)}`);
  parts.push(hit.bm25_score === null || hit.bm25_score === undefined ? 'BM25 —' : `BM25 ${hit.bm25_score.toFixed(2)}`);
  return parts.join(' · ');
}

function hitView(hit) {
  const meta = Object.entries(hit.metadata || {});
  return h('li', { class: 'hit' },
    h('div', {},
      h('strong', {}, `#${hit.rank} `), badge(hit.corpus), ' ',
      h('code', {}, hit.id), ' ',
      h('span', { class: 'muted' }, `rank ${hit.corpus_rank} in ${hit.corpus}`)),
    h('div', { class: 'snippet' }, hit.snippet),
    h('div', { class: 'scores' }, scores(hit)),
    meta.length ? h('details', {}, h('summary', {}, `metadata (${meta.length})`),
      h('dl', { class: 'meta' }, meta.map(([k, v]) => [h('dt', {}, h('code', {}, k)), h('dd', {}, v)]))) : null);
}

function statusTable(statuses) {
  return table([
    { label: 'corpus', value: (s) => s.corpus },
    { label: 'status', value: (s) => (s.error ? badge('failed', 'bad') : badge('answered', 'ok')) },
    { label: 'candidates', num: true, value: (s) => s.candidates },
    { label: 'latency', num: true, value: (s) => fmtMs(s.took_ms) },
    { label: 'why', value: (s) => s.error || '' },
  ], statuses, 'per-corpus status');
}

export async function search(main) {
  const corpora = await api('GET', '/v1/corpora');
  const p = params();
  const chosen = p.get('corpus');
  const query = h('input', { type: 'search', id: 'search-query', name: 'query', required: true, size: 50, value: p.get('q') || '' });
  const boxes = corpora.map((c) => h('label', { class: 'inline' },
    h('input', { type: 'checkbox', name: 'corpus', value: c.corpus, checked: !chosen || chosen === c.corpus }),
    `${c.corpus} (${fmtNum(c.docs)})`));
  const mode = h('select', { id: 'search-mode', name: 'mode' },
    h('option', { value: 'hybrid' }, 'hybrid (vector + BM25)'), h('option', { value: 'vector' }, 'vector'), h('option', { value: 'bm25' }, 'BM25'));
  const fusion = h('select', { id: 'search-fusion', name: 'fusion' },
    h('option', { value: 'rrf' }, 'reciprocal rank (k=60)'), h('option', { value: 'zscore' }, 'z-scores'));
  const k = h('input', { type: 'number', id: 'search-k', name: 'k', min: 1, max: 1000, value: 10 });
  const filters = h('input', { type: 'text', id: 'search-filters', name: 'filters', size: 30, placeholder: 'column=value, column=value' });
  const out = h('div', { id: 'search-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'search-form' },
    h('div', { class: 'row' },
      h('label', { for: 'search-query' }, 'Query', query),
      h('button', { type: 'submit', id: 'search-run' }, 'Search')),
    h('fieldset', {}, h('legend', {}, 'Corpora'), corpora.length ? boxes : h('span', { class: 'muted' }, 'No corpora yet: build one with lakehouse corpus build.')),
    h('div', { class: 'row' },
      h('label', { for: 'search-mode' }, 'Mode', mode),
      h('label', { for: 'search-fusion' }, 'Fusion', fusion),
      h('label', { for: 'search-k' }, 'Hits', k),
      h('label', { for: 'search-filters' }, 'Metadata filters', filters)));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const selected = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    const pairs = [];
    for (const part of filters.value.split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = part.indexOf('=');
      if (at < 1) { fill(out, alertBox({ message: `filter "${part}" is not column=value` })); return; }
      pairs.push([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
    }
    fill(out, h('p', { class: 'muted' }, 'Searching…'));
    try {
      const result = await api('POST', '/v1/search', {
        query: query.value,
        corpora: selected,
        k: Number(k.value) || 10,
        mode: mode.value,
        fusion: fusion.value === 'rrf' ? { rrf: { k: 60 } } : 'zscore',
        filters: pairs,
      });
      fill(out,
        h('p', {}, `${result.hits.length} hits in ${fmtMs(result.took_ms)} (query embedding ${fmtMs(result.embed_ms)})`),
        h('h2', {}, 'Corpora'), statusTable(result.corpora),
        h('h2', {}, 'Hits'),
        result.hits.length ? h('ol', { class: 'hits' }, result.hits.map(hitView))
          : h('p', { class: 'muted' }, 'No hits.'));
    } catch (error) {
      fill(out, alertBox(error));
    }
  });
  fill(main, h('h1', {}, 'Search'), h('section', { class: 'panel' }, form), out);
  if (query.value) form.requestSubmit();
  else query.focus();
}

// ---------- jobs ----------

function progress(job) {
  if (job.total) {
    return h('span', {}, h('progress', { max: job.total, value: job.done, 'aria-label': `${job.kind} ${job.target}` }),
      ` ${fmtNum(job.done)} / ${fmtNum(job.total)}`);
  }
  if (job.state === 'running') return h('progress', { 'aria-label': `${job.kind} ${job.target}` });
  return job.done ? fmtNum(job.done) : '';
}

function stateBadge(state) {
  const kind = { succeeded: 'ok', failed: 'bad', running: 'warn' }[state];
  return badge(state, kind);
}

export async function jobs(main, parts, gen) {
  const body = h('div', { id: 'jobs' });
  fill(main, h('h1', {}, 'Jobs'),
    h('p', { class: 'muted' }, 'Corpus builds, ingests, tuning and agent runs started through this server; refreshed every second while this page is open.'),
    body);
  const draw = async () => {
    const all = await api('GET', '/v1/jobs');
    fill(body, table([
      { label: 'job', mono: true, value: (j) => j.id },
      { label: 'kind', value: (j) => j.kind },
      { label: 'target', value: (j) => j.target },
      { label: 'state', value: (j) => stateBadge(j.state) },
      { label: 'phase', value: (j) => j.phase || '' },
      { label: 'progress', value: progress },
      { label: 'elapsed', num: true, value: (j) => `${(j.elapsed_ms / 1000).toFixed(1)} s` },
      { label: 'error', value: (j) => (j.error ? j.error.message : '') },
    ], all, 'jobs'));
  };
  await draw();
  const poll = async () => {
    if (!current(gen)) return;
    try { await draw(); } catch (error) { fill(body, alertBox(error)); }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
  if (!canWrite()) body.before(h('p', { class: 'muted' }, 'Read-only token: jobs are started by writers.'));
}
