// The Lakehouse console: one page over the server's own API. Every figure on it comes from a
// /v1 route the CLI's library calls also answer; this file holds only the shell: the session
// (sign-in with a token, the CSRF token every write sends), the router (`#/page/...`), DOM and
// formatting helpers, and the timing of each page (window.lhTimings, read by the browser test).

import { overview, datasets, search, jobs } from './data.js';
import { memory, sessions, reports } from './agent.js';

const routes = { '': overview, datasets, search, memory, sessions, reports, jobs };

export const session = { auth: false, authenticated: false, name: '', scope: 'read', csrf: null };
window.lhTimings = [];
let generation = 0;

// ---------- DOM ----------

/** An element: `h('a', {href: '#/'}, 'text', child)`; attributes starting with `on` are listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: `columns` are `{label, value(row) -> node|text, num?}`. */
export function table(columns, rows, caption) {
  return h('div', { class: 'scroll' },
    h('table', {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.length
        ? rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : c.mono ? 'mono' : null }, c.value(r)))))
        : h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'none')))));
}

/** An error shown where the page is, with the server's message. */
export function alertBox(error) {
  const code = error && error.code ? ` (${error.code})` : '';
  return h('div', { class: 'alert', role: 'alert' }, `${error.message || error}${code}`);
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}` }, text);
}

/** Ask before a write; resolves to true when confirmed. */
export function confirmWrite(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    document.getElementById('confirm-ok').focus();
  });
}

// ---------- formatting ----------

export function fmtNum(n) {
  return n === undefined || n === null ? '' : Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A time from microseconds, milliseconds or RFC 3339 text, shown in UTC. */
export function fmtTime(t, unit) {
  if (t === undefined || t === null || t === '') return '';
  let d;
  if (typeof t === 'number') d = new Date(unit === 'us' ? t / 1000 : t);
  else d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtMs(ms) {
  return ms === undefined || ms === null ? '' : `${Number(ms).toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** A JSON value as short text (scalars as they are). */
export function show(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, 'null');
  if (typeof v === 'object') return h('code', {}, JSON.stringify(v));
  return String(v);
}

// ---------- the API ----------

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the server; a non-2xx answer throws an ApiError carrying its message. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const error = data && data.error ? data.error : { message: `${response.status} ${text}` };
    if (response.status === 401 && session.auth && session.authenticated) {
      // the session ended (expired, signed out elsewhere): back to the sign-in form, once
      session.authenticated = false;
      start();
    }
    throw new ApiError(response.status, error.message, error.code);
  }
  return data;
}

export function canWrite() {
  return session.scope === 'write' || session.scope === 'admin';
}

/** The query parameters of the current route. */
export function params() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

/** A route with parameters, e.g. link('memory', {ns: 'a/b'}). */
export function link(page, values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${page}${s ? `?${s}` : ''}`;
}

/** Whether the page that asked is still the one shown (for polling). */
export function current(gen) {
  return gen === generation;
}

// ---------- session and router ----------

function renderWho() {
  const who = document.getElementById('who');
  if (!session.auth) {
    fill(who, h('span', {}, 'open server (no tokens configured; loopback only)'));
    return;
  }
  if (!session.authenticated) { fill(who); return; }
  fill(who,
    h('span', {}, `${session.name} · ${session.scope}`),
    h('button', { type: 'button', id: 'logout', onclick: logout }, 'Sign out'));
}

async function logout() {
  try {
    await api('POST', '/console/logout', {});
  } catch {
    // the session is gone either way
  }
  session.authenticated = false;
  session.csrf = null;
  start();
}

function loginPage(main, failed) {
  const message = h('div', { 'aria-live': 'polite' }, failed ? alertBox(failed) : null);
  const token = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true });
  const form = h('form', { method: 'post', action: '/console/login', id: 'login' },
    h('label', { for: 'token' }, 'Token', token),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch('/console/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ token: token.value }),
      credentials: 'same-origin',
    });
    if (response.ok) {
      await start();
    } else {
      let text = 'sign-in failed';
      try { text = (await response.json()).error.message; } catch { /* not JSON */ }
      fill(message, alertBox({ message: text }));
      token.select();
    }
  });
  fill(main, h('section', { class: 'panel login' },
    h('h1', {}, 'Sign in to the Lakehouse console'),
    h('p', { class: 'muted' }, 'Use a token from the server\'s configuration (lakehouse token new). It is kept in an HttpOnly cookie for this browser session only.'),
    message, form));
  document.body.dataset.page = 'login';
  document.body.dataset.ready = '1';
  token.focus();
}

async function route() {
  const main = document.getElementById('page');
  // a page still polling (jobs) sees it is no longer shown
  generation += 1;
  const gen = generation;
  if (session.auth && !session.authenticated) {
    document.getElementById('nav').hidden = true;
    loginPage(main);
    return;
  }
  document.getElementById('nav').hidden = false;
  const hash = location.hash.replace(/^#\/?/, '');
  const [path] = hash.split('?');
  let parts;
  try {
    parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = [path];
  }
  const name = parts[0] || '';
  const page = Object.hasOwn(routes, name) ? routes[name] : null;
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').replace(/^#\/?/, '');
    if (target === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.body.dataset.ready = '';
  document.body.dataset.page = name || 'overview';
  const started = performance.now();
  if (!page) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, `No page "${name}". `, h('a', { href: '#/' }, 'Overview')));
  } else {
    fill(main, h('p', { class: 'muted' }, 'Loading…'));
    try {
      await page(main, parts.slice(1), gen);
    } catch (error) {
      if (!current(gen)) return;
      fill(main, h('h1', {}, 'Something went wrong'), alertBox(error));
    }
  }
  if (!current(gen)) return;
  window.lhTimings.push({ route: `#/${hash}`, ms: performance.now() - started });
  document.body.dataset.ready = '1';
  main.focus({ preventScroll: true });
}

async function start() {
  const response = await fetch('/console/session', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  Object.assign(session, await response.json());
  renderWho();
  await route();
}

window.addEventListener('hashchange', route);
start();
