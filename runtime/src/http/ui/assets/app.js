// TradPal dashboard: one page, plain JavaScript, no build step. It calls the JSON API
// with the session cookie (the key never reaches the page) and refreshes on server-sent
// events. Every value from the server is set as text, never parsed as HTML.
'use strict';

const ROLE_RANK = { viewer: 0, trader: 1, admin: 2 };
const ALERT_KINDS = ['risk_limit_breached', 'trading_state_changed', 'actor_restarted', 'session_stopped', 'order_rejected'];
const REFRESH_DEBOUNCE_MS = 1000;
const POLL_RUNNING_MS = 1000;
const ALERTS_KEPT = 50;
const RUNS_KEPT = 20;

const app = { role: null, charts: [], timers: [], refresh: null, pendingRefresh: null, events: null };

// ---------- small helpers ----------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
const $ = (sel, root) => (root || document).querySelector(sel);
const can = (role) => app.role !== null && ROLE_RANK[app.role] >= ROLE_RANK[role];
const num = (v) => (v === null || v === undefined || v === '' ? NaN : Number(v));
function fmt(v, digits = 2) {
  const n = num(v);
  if (!Number.isFinite(n)) return v === null || v === undefined ? '—' : String(v);
  return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: Math.min(digits, 2) });
}
const pct = (v) => (Number.isFinite(num(v)) ? (num(v) * 100).toFixed(2) + '%' : '—');
const signed = (v, text) => el('span', { class: num(v) > 0 ? 'pos' : num(v) < 0 ? 'neg' : '' }, text);
const toSec = (iso) => Math.floor(Date.parse(iso) / 1000);
const empty = (text) => el('p', { class: 'empty' }, text);

async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  if (init.method !== 'GET') init.headers['X-TradPal-UI'] = '1';
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { raw: text }; }
  if (!resp.ok) {
    const err = new Error((data && data.error && data.error.message) || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

// A call whose failure is shown where its data would be (an empty state, not a crash).
async function tryApi(path, holder, what) {
  try { return await api(path); } catch (e) {
    if (e.status === 401) { showLogin(); return null; }
    holder.append(el('p', { class: e.status === 501 || e.status === 503 ? 'empty' : 'error' }, `${what}: ${e.message}`));
    return null;
  }
}

function table(columns, rows, opts = {}) {
  if (!rows.length) return empty(opts.empty || 'Nothing yet.');
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label)));
  const body = rows.map((r) => el('tr', {}, columns.map((c) => el('td', { class: c.num ? 'num' : '' }, c.cell(r)))));
  return el('div', { class: 'scroll' }, el('table', { 'aria-label': opts.label || null }, el('thead', {}, head), el('tbody', {}, body)));
}

function confirmDialog(text) {
  const dlg = $('#confirm');
  $('#confirm-text').textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.showModal();
    $('#confirm-cancel').focus();
  });
}

function notice(holder, text, bad) {
  holder.textContent = '';
  holder.append(el('p', { class: bad ? 'error' : 'muted', role: 'status' }, text));
}

// ---------- charts (lightweight-charts, vendored) ----------
function chartColors() {
  const s = getComputedStyle(document.documentElement);
  return { text: s.getPropertyValue('--muted').trim(), line: s.getPropertyValue('--line').trim(), bg: s.getPropertyValue('--panel').trim() };
}

function makeChart(container) {
  const c = chartColors();
  const chart = LightweightCharts.createChart(container, {
    autoSize: true,
    layout: { background: { color: c.bg }, textColor: c.text, attributionLogo: false },
    grid: { vertLines: { color: c.line }, horzLines: { color: c.line } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  app.charts.push(chart);
  return chart;
}

const REGIME_COLORS = { bull: 'rgba(47,191,113,0.16)', bear: 'rgba(240,86,91,0.16)', sideways: 'rgba(154,167,180,0.12)' };

// Regime shading: a histogram on its own hidden scale, one bar per candle, coloured by
// the regime in force at that candle (from the journaled transitions).
function shadeRegimes(chart, candles, transitions) {
  if (!transitions || !transitions.length || !candles.length) return;
  const ts = transitions.map((t) => ({ at: toSec(t.date), regime: t.regime })).sort((a, b) => a.at - b.at);
  const shade = chart.addSeries(LightweightCharts.HistogramSeries, { priceScaleId: 'regime', lastValueVisible: false, priceLineVisible: false });
  chart.priceScale('regime').applyOptions({ visible: false, scaleMargins: { top: 0, bottom: 0 } });
  let i = -1;
  shade.setData(candles.map((c) => {
    while (i + 1 < ts.length && ts[i + 1].at <= c.time) i++;
    const regime = i >= 0 ? ts[i].regime : null;
    return { time: c.time, value: 1, color: REGIME_COLORS[regime] || 'rgba(0,0,0,0)' };
  }));
}

function regimeLegend() {
  return el('p', { class: 'legend muted' }, Object.entries(REGIME_COLORS).map(([k, color]) =>
    el('span', {}, el('i', { class: 'swatch', style: `background:${color.replace(/0\.1[26]\)/, '0.8)')}` }), k)));
}

function candleChart(container, bars, opts = {}) {
  const chart = makeChart(container);
  const candles = bars.map((b) => ({ time: toSec(b.candle.open_time), open: b.candle.open, high: b.candle.high, low: b.candle.low, close: b.candle.close }));
  shadeRegimes(chart, candles, opts.regimes);
  const series = chart.addSeries(LightweightCharts.CandlestickSeries, {});
  series.setData(candles);
  if (opts.markers && opts.markers.length) LightweightCharts.createSeriesMarkers(series, opts.markers.sort((a, b) => a.time - b.time));
  for (const line of opts.lines || []) {
    const s = chart.addSeries(LightweightCharts.LineSeries, { lineWidth: 1, color: line.color, title: line.title, priceLineVisible: false });
    s.setData(line.points);
  }
  chart.timeScale().fitContent();
  return chart;
}

function equityCharts(eqEl, ddEl, points) {
  const eq = points.map((p) => ({ time: toSec(p.time), value: num(p.equity) })).filter((p) => Number.isFinite(p.value));
  const chart = makeChart(eqEl);
  chart.addSeries(LightweightCharts.LineSeries, { lineWidth: 2, title: 'equity' }).setData(eq);
  chart.timeScale().fitContent();
  let peak = -Infinity;
  const dd = eq.map((p) => { peak = Math.max(peak, p.value); return { time: p.time, value: peak > 0 ? (p.value / peak - 1) * 100 : 0 }; });
  const ddChart = makeChart(ddEl);
  ddChart.addSeries(LightweightCharts.AreaSeries, { lineColor: '#f0565b', topColor: 'rgba(240,86,91,0.05)', bottomColor: 'rgba(240,86,91,0.4)', title: 'drawdown %', invertFilledArea: true }).setData(dd);
  ddChart.timeScale().fitContent();
}

function tradeMarkers(trades) {
  const out = [];
  for (const t of trades || []) {
    const long = t.side === 'buy';
    out.push({ time: toSec(t.entry_time), position: long ? 'belowBar' : 'aboveBar', color: long ? '#2fbf71' : '#f0565b', shape: long ? 'arrowUp' : 'arrowDown' });
    if (t.exit_time) out.push({ time: toSec(t.exit_time), position: long ? 'aboveBar' : 'belowBar', color: '#9aa7b4', shape: 'circle', size: 0.6 });
  }
  return out;
}

// ---------- login and chrome ----------
function showLogin() {
  app.role = null;
  $('#login').hidden = false;
  $('#nav').hidden = true;
  $('#logout').hidden = true;
  $('#whoami').hidden = true;
  $('#view').textContent = '';
  $('#key').focus();
}

async function whoami() {
  try {
    const me = await api('/ui/me');
    if (!me.role) { showLogin(); return false; }
    app.role = me.role;
    $('#whoami').textContent = `${me.role} · v${me.version}`;
    $('#whoami').hidden = false;
    $('#nav').hidden = false;
    $('#logout').hidden = me.via !== 'cookie';
    $('#login').hidden = true;
    return true;
  } catch (e) {
    if (e.status === 401) { showLogin(); return false; }
    throw e;
  }
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try { localStorage.setItem('tradpal-theme', theme); } catch (_) { /* private mode */ }
}

// ---------- live updates ----------
function connectEvents() {
  if (app.events || typeof EventSource === 'undefined') return;
  const live = $('#live');
  const src = new EventSource('/api/events/stream');
  app.events = src;
  src.onopen = () => { live.hidden = false; live.textContent = 'live'; live.classList.remove('down'); };
  src.onerror = () => { live.hidden = false; live.textContent = 'reconnecting'; live.classList.add('down'); };
  const onEvent = (msg) => {
    let data = {};
    try { data = JSON.parse(msg.data); } catch (_) { return; }
    scheduleRefresh(data.kind);
  };
  for (const kind of ['candles_ingested', 'order_submitted', 'order_filled', 'order_canceled', 'session_started', 'session_stopped', 'regime_changed', 'ml_model_trained', 'rl_agent_trained', 'lagged', ...ALERT_KINDS]) {
    src.addEventListener(kind, onEvent);
  }
}

// At most one refresh of the current view per REFRESH_DEBOUNCE_MS, whatever the event rate.
function scheduleRefresh(kind) {
  if (!app.refresh || (app.refresh.kinds && !app.refresh.kinds.includes(kind) && kind !== 'lagged')) return;
  if (app.pendingRefresh) return;
  app.pendingRefresh = setTimeout(() => {
    app.pendingRefresh = null;
    if (app.refresh && !document.hidden) app.refresh.run();
  }, REFRESH_DEBOUNCE_MS);
}

// ---------- router ----------
const VIEWS = { overview: viewOverview, session: viewSession, backtests: viewBacktests, models: viewModels, market: viewMarket };

function clearView() {
  for (const c of app.charts) { try { c.remove(); } catch (_) { /* already gone */ } }
  app.charts = [];
  for (const t of app.timers) clearInterval(t);
  app.timers = [];
  app.refresh = null;
}

async function route() {
  if (app.role === null && !(await whoami())) return;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const view = VIEWS[name] || viewOverview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === (VIEWS[name] ? (name === 'session' ? 'overview' : name) : 'overview')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clearView();
  const main = $('#view');
  main.textContent = '';
  main.dataset.view = VIEWS[name] ? name : 'overview';
  main.dataset.ready = 'false';
  try {
    await view(main, rest.map(decodeURIComponent));
  } catch (e) {
    if (e.status === 401) { showLogin(); return; }
    main.append(el('p', { class: 'error', role: 'alert' }, `Could not load this view: ${e.message}`));
  }
  main.dataset.ready = 'true';
}

async function renderParts(main, parts, kinds) {
  const grid = el('div', { class: 'grid' });
  main.append(grid);
  for (const p of parts) grid.append(p.card);
  const all = async () => { for (const p of parts) await refreshPart(p); };
  await all();
  app.refresh = { kinds, run: all };
}

// Renders a part into a fresh container attached in place of the old one (charts need
// their real width when they are made); the old part's charts are released.
async function refreshPart(p) {
  const old = p.card.lastChild;
  const fresh = el('div', {});
  fresh.style.minHeight = `${old.offsetHeight}px`;
  old.replaceWith(fresh);
  for (const c of p.charts || []) { try { c.remove(); } catch (_) { /* already gone */ } }
  app.charts = app.charts.filter((c) => !(p.charts || []).includes(c));
  const mark = app.charts.length;
  await p.render(fresh);
  p.charts = app.charts.slice(mark);
  fresh.style.minHeight = '';
}

function part(title, render, opts = {}) {
  const card = el('section', { class: 'card' + (opts.wide ? ' wide' : ''), 'aria-label': title, id: opts.id || null }, el('h2', {}, title), el('div', {}));
  return { card, render };
}

// ---------- overview ----------
async function viewOverview(main) {
  main.append(el('h1', {}, 'Overview'));
  const parts = [
    part('Kill switch', renderKillSwitch, { id: 'kill-switch' }),
    part('Account', renderAccount, { id: 'account' }),
    part('Sessions', renderSessions, { wide: true, id: 'sessions' }),
    part('Actors', renderActors, { id: 'actors' }),
    part('Recent alerts', renderAlerts, { id: 'alerts' }),
  ];
  if (can('trader')) parts.splice(3, 0, part('Start a session', renderStartSession, { id: 'start-session' }));
  await renderParts(main, parts, ['order_filled', 'session_started', 'session_stopped', 'candles_ingested', ...ALERT_KINDS]);
}

async function renderKillSwitch(holder) {
  const st = await tryApi('/api/execution/trading-state', holder, 'Trading state');
  if (!st) return;
  holder.append(el('p', {}, 'Trading is ', el('strong', { class: `state-${st.trading_state}`, id: 'trading-state' }, st.trading_state), '.'));
  if (!can('admin')) {
    holder.append(el('p', { class: 'muted' }, 'An admin key can change it.'));
    return;
  }
  const out = el('div', {});
  const row = el('div', { class: 'row trade-control' });
  for (const state of ['active', 'reducing', 'halted']) {
    row.append(el('button', {
      type: 'button', class: state === 'halted' ? 'danger' : 'ghost', disabled: state === st.trading_state, 'data-state': state,
      onclick: async () => {
        if (!(await confirmDialog(`Set trading to "${state}"?`))) return;
        try { await api('/api/execution/trading-state', { method: 'POST', body: { state, reason: 'dashboard' } }); await refreshCurrent(); } catch (e) { notice(out, e.message, true); }
      },
    }, state === 'halted' ? 'Halt' : state === 'reducing' ? 'Reduce only' : 'Resume'));
  }
  row.append(el('button', {
    type: 'button', class: 'danger', id: 'flatten',
    onclick: async () => {
      if (!(await confirmDialog('Cancel every working order and close every position at the next bar?'))) return;
      try { await api('/api/execution/flatten', { method: 'POST', body: { reason: 'dashboard' } }); notice(out, 'Flatten sent.'); } catch (e) { notice(out, e.message, true); }
    },
  }, 'Flatten all'));
  holder.append(row, out);
}

async function refreshCurrent() { if (app.refresh) await app.refresh.run(); }

async function renderAccount(holder) {
  const p = await tryApi('/api/execution/portfolio', holder, 'Portfolio');
  if (!p) return;
  holder.append(el('dl', { class: 'kv' },
    el('dt', {}, 'Equity'), el('dd', {}, `${fmt(p.equity)} ${p.currency}`),
    el('dt', {}, 'Cash'), el('dd', {}, fmt(p.cash)),
    el('dt', {}, 'Total P&L'), el('dd', {}, signed(p.total_pnl, fmt(p.total_pnl))),
    el('dt', {}, 'Fees'), el('dd', {}, fmt(p.fees)),
    el('dt', {}, 'Open orders'), el('dd', {}, p.open_orders),
    el('dt', {}, 'Positions'), el('dd', {}, p.positions.length)));
}

async function renderSessions(holder) {
  const st = await tryApi('/api/trading/performance', holder, 'Sessions');
  if (!st) return;
  const rows = st.sessions || [];
  holder.append(table([
    { label: 'Session', cell: (r) => el('a', { href: `#/session/${encodeURIComponent(r.session_id)}` }, r.session_id.slice(0, 8)) },
    { label: 'Symbol', cell: (r) => r.config.symbol },
    { label: 'Strategy', cell: (r) => r.config.strategy },
    { label: 'Status', cell: (r) => r.status },
    { label: 'Equity', num: true, cell: (r) => fmt(r.pnl.equity) },
    { label: 'Return', num: true, cell: (r) => signed(r.pnl.total_return, pct(r.pnl.total_return)) },
    { label: 'Trades', num: true, cell: (r) => r.pnl.trades },
    { label: 'Bars', num: true, cell: (r) => r.pnl.bars },
  ], rows, { empty: 'No sessions yet.', label: 'Sessions' }));
}

async function renderStartSession(holder) {
  const series = (await tryApi('/api/data/series', holder, 'Series')) || { series: [] };
  const symbols = [...new Set(series.series.map((s) => s.symbol))];
  const out = el('div', {});
  const form = el('form', { class: 'trade-control', id: 'start-session-form' },
    el('div', { class: 'form-grid' },
      el('div', {}, el('label', { for: 'ss-symbol' }, 'Symbol'), el('input', { id: 'ss-symbol', name: 'symbol', required: true, value: symbols[0] || 'BTC/USDT', list: 'ss-symbols' }),
        el('datalist', { id: 'ss-symbols' }, symbols.map((s) => el('option', { value: s })))),
      el('div', {}, el('label', { for: 'ss-strategy' }, 'Strategy'), el('select', { id: 'ss-strategy', name: 'strategy' },
        ['sma_cross', 'sma_cross_long', 'buy_and_hold', 'rsi_reversion', 'bollinger_breakout', 'ai_ensemble'].map((s) => el('option', { value: s }, s)))),
      el('div', {}, el('label', { for: 'ss-capital' }, 'Capital'), el('input', { id: 'ss-capital', name: 'capital', type: 'number', min: '0', step: 'any', value: '1000' })),
      el('div', {}, el('label', { for: 'ss-timeframe' }, 'Timeframe'), el('input', { id: 'ss-timeframe', name: 'timeframe', value: '1m' })),
      el('div', {}, el('label', { for: 'ss-params' }, 'Parameters (k=v, ...)'), el('input', { id: 'ss-params', name: 'params', placeholder: 'fast=10, slow=20' }))),
    el('div', { class: 'row' }, el('button', { type: 'submit' }, 'Start session')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = { symbol: f.get('symbol'), strategy: f.get('strategy'), capital: Number(f.get('capital')), risk_per_trade: 0.02, timeframe: f.get('timeframe') };
    const params = parseParams(f.get('params'));
    if (params === null) { notice(out, 'Parameters: write them as name=number, separated by commas.', true); return; }
    if (Object.keys(params).length) body.params = params;
    try {
      const r = await api('/api/trading/start-session', { method: 'POST', body });
      notice(out, `Session ${r.session_id} started.`);
      await refreshCurrent();
    } catch (e) { notice(out, e.message, true); }
  });
  holder.append(form, out);
}

function parseParams(text) {
  const out = {};
  for (const part of String(text || '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (!k || v === undefined || v === '') return null;
    out[k] = Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return out;
}

async function renderActors(holder) {
  const st = await tryApi('/api/trading/status', holder, 'Status');
  if (!st) return;
  holder.append(el('p', { class: 'muted' }, `${st.mode} trading · bus ${st.bus} · journal at #${st.journal.last_sequence}`));
  holder.append(table([
    { label: 'Actor', cell: (a) => a.name },
    { label: 'State', cell: (a) => el('span', { class: a.state === 'running' ? 'pos' : 'neg' }, a.state) },
    { label: 'Restarts', num: true, cell: (a) => a.restart_count },
  ], st.actors, { label: 'Actors' }));
}

// The service's own alerts (GET /api/alerts: since it started, newest first), refreshed
// with the view when a journaled event that can raise one arrives on the stream.
async function renderAlerts(holder) {
  const { alerts } = await api('/api/alerts');
  const shown = alerts.slice(0, ALERTS_KEPT);
  holder.append(shown.length
    ? table([
      { label: 'When', cell: (a) => new Date(a.at_unix_ms).toLocaleString() },
      { label: 'Severity', cell: (a) => el('span', { class: a.severity === 'critical' ? 'neg' : '' }, a.severity) },
      { label: 'Kind', cell: (a) => a.kind.replace(/_/g, ' ') },
      { label: 'Message', cell: (a) => a.message },
    ], shown, { label: 'Alerts' })
    : empty('No alerts since the service started (limit breaches, kill-switch changes, actor restarts, journal stalls, NATS disconnects, sessions stopped by their risk controls).'));
}

// ---------- one session ----------
async function viewSession(main, [id]) {
  main.append(el('p', {}, el('a', { href: '#/overview' }, '← Overview')));
  const perf = await sessionData(id);
  const s = perf.session;
  const title = s ? `${s.config.symbol} · ${s.config.strategy} · ${s.status}` : id;
  main.append(el('h1', {}, `Session ${id.slice(0, 8)}: ${title}`));
  const parts = [
    part('Price, trades and regime', (h) => renderSessionChart(h, id), { wide: true, id: 'session-chart' }),
    part('Equity and drawdown', (h) => renderSessionEquity(h, id), { wide: true, id: 'session-equity' }),
    part('Summary', (h) => renderSessionSummary(h, id), { id: 'session-summary' }),
    part('Orders and fills', (h) => renderSessionOrders(h, id), { wide: true, id: 'session-orders' }),
  ];
  await renderParts(main, parts, ['candles_ingested', 'order_filled', 'session_stopped', 'regime_changed']);
}

// One fetch of a session's performance serves every part of one refresh.
const SESSION_MEMO_MS = 500;
let sessionMemo = { id: null, at: 0, data: null };
function sessionData(id) {
  const now = Date.now();
  if (sessionMemo.id !== id || now - sessionMemo.at > SESSION_MEMO_MS) {
    sessionMemo = { id, at: now, data: api(`/api/trading/performance?session_id=${encodeURIComponent(id)}`) };
  }
  return sessionMemo.data;
}

async function renderSessionChart(holder, id) {
  const perf = await sessionData(id);
  const s = perf.session;
  if (!s) { holder.append(empty('This session is unknown.')); return; }
  const start = perf.equity.length ? perf.equity[0].time : s.started_at;
  const q = `timeframe=${encodeURIComponent(s.timeframe)}&start=${encodeURIComponent(start)}&limit=5000`;
  const page = await tryApi(`/api/data/candles/${s.config.symbol}?${q}`, holder, 'Candles');
  const hist = await tryApi(`/api/regime/history/${s.config.symbol}?days=3650&timeframe=${encodeURIComponent(s.timeframe)}`, el('div'), 'Regime');
  if (!page || !page.bars.length) { holder.append(empty('No bars for this session yet.')); return; }
  const trades = [...(perf.trades || []), ...(perf.open_trade ? [perf.open_trade] : [])];
  const box = el('div', { class: 'chart', role: 'img', 'aria-label': `Price of ${s.config.symbol} with ${trades.length} trades marked` });
  holder.append(box, regimeLegend(), el('p', { class: 'muted' }, 'Arrows mark entries (up: long, down: short), dots mark exits.'));
  candleChart(box, page.bars, { markers: tradeMarkers(trades), regimes: hist ? hist.regime_transitions : [] });
}

async function renderSessionEquity(holder, id) {
  const perf = await sessionData(id);
  if (!perf.equity.length) { holder.append(empty('No equity points yet.')); return; }
  const eq = el('div', { class: 'chart small', role: 'img', 'aria-label': 'Equity curve' });
  const dd = el('div', { class: 'chart small', role: 'img', 'aria-label': 'Drawdown' });
  holder.append(eq, dd);
  equityCharts(eq, dd, perf.equity);
}

async function renderSessionSummary(holder, id) {
  const perf = await sessionData(id);
  const s = perf.session;
  const m = perf.metrics || {};
  holder.append(el('dl', { class: 'kv' },
    el('dt', {}, 'Equity'), el('dd', {}, fmt(s && s.pnl.equity)),
    el('dt', {}, 'Return'), el('dd', {}, signed(m.total_return, pct(m.total_return))),
    el('dt', {}, 'Max drawdown'), el('dd', {}, pct(m.max_drawdown)),
    el('dt', {}, 'Sharpe'), el('dd', {}, fmt(m.sharpe_ratio)),
    el('dt', {}, 'Win rate'), el('dd', {}, pct(m.win_rate)),
    el('dt', {}, 'Trades'), el('dd', {}, (perf.trades || []).length),
    el('dt', {}, 'Fills'), el('dd', {}, perf.counts ? perf.counts.fills : '—')));
  if (s && can('trader') && s.status !== 'stopped') {
    const out = el('div', {});
    const stop = (emergency) => async () => {
      const what = emergency ? 'Emergency-stop this session (cancel its orders, close its position)?' : 'Stop this session and close its position at the next bar?';
      if (!(await confirmDialog(what))) return;
      try {
        await api(emergency ? '/api/trading/emergency-stop' : '/api/trading/stop-session', { method: 'POST', body: emergency ? { session_id: id } : { session_id: id, close_positions: true } });
        await refreshCurrent();
      } catch (e) { notice(out, e.message, true); }
    };
    holder.append(el('div', { class: 'row trade-control' },
      el('button', { type: 'button', class: 'ghost', id: 'stop-session', onclick: stop(false) }, 'Stop and flatten'),
      el('button', { type: 'button', class: 'danger', id: 'emergency-stop', onclick: stop(true) }, 'Emergency stop')), out);
  }
}

async function renderSessionOrders(holder, id) {
  const perf = await sessionData(id);
  const page = await tryApi(`/api/execution/orders?session_id=${encodeURIComponent(id)}&limit=200`, holder, 'Orders');
  const orders = page ? page.orders : [];
  const audit = el('div', {});
  if (orders.length) {
    holder.append(table([
      { label: 'Order', cell: (o) => el('button', { type: 'button', class: 'ghost', onclick: () => showAudit(audit, o.order_id) }, String(o.order_id).slice(0, 8)) },
      { label: 'Side', cell: (o) => o.side },
      { label: 'Qty', num: true, cell: (o) => fmt(o.quantity, 8) },
      { label: 'Status', cell: (o) => o.status },
      { label: 'Filled', num: true, cell: (o) => fmt(o.filled_quantity, 8) },
      { label: 'Avg price', num: true, cell: (o) => fmt(o.average_price) },
    ], orders, { label: 'Orders' }), audit);
  }
  holder.append(el('h2', {}, 'Trades'), table([
    { label: 'Side', cell: (t) => t.side },
    { label: 'Entry', cell: (t) => t.entry_time },
    { label: 'Exit', cell: (t) => t.exit_time || 'open' },
    { label: 'Qty', num: true, cell: (t) => fmt(t.quantity, 8) },
    { label: 'P&L', num: true, cell: (t) => signed(t.pnl, fmt(t.pnl)) },
  ], perf.trades || [], { empty: 'No closed trades yet.', label: 'Trades' }));
}

async function showAudit(holder, orderId) {
  holder.textContent = '';
  const chain = await tryApi(`/api/audit/orders/${encodeURIComponent(orderId)}`, holder, 'Audit chain');
  if (chain) holder.append(el('h2', {}, `Audit chain of ${orderId}`), el('pre', {}, JSON.stringify(chain, null, 2)));
}

// ---------- backtests ----------
function savedRuns() {
  try { return JSON.parse(sessionStorage.getItem('tradpal-runs') || '[]'); } catch (_) { return []; }
}
function saveRun(id) {
  const runs = [id, ...savedRuns().filter((r) => r !== id)].slice(0, RUNS_KEPT);
  try { sessionStorage.setItem('tradpal-runs', JSON.stringify(runs)); } catch (_) { /* private mode */ }
}

async function viewBacktests(main, [openId]) {
  main.append(el('h1', {}, 'Backtests'));
  const grid = el('div', { class: 'grid' });
  main.append(grid);
  if (can('trader')) grid.append(await backtestForm());
  const runs = el('section', { class: 'card', id: 'runs', 'aria-label': 'Runs' }, el('h2', {}, 'Runs in this browser'));
  grid.append(runs);
  await renderRuns(runs);
  const report = el('section', { class: 'card wide', id: 'report', 'aria-label': 'Report' });
  grid.append(report);
  if (openId) await renderReport(report, openId);
  else report.append(el('h2', {}, 'Report'), empty('Run a backtest or pick one from the list.'));
  const compare = el('section', { class: 'card wide', id: 'compare', 'aria-label': 'Compare' });
  grid.append(compare);
  renderCompare(compare);
}

async function backtestForm() {
  const card = el('section', { class: 'card', id: 'backtest-form-card', 'aria-label': 'Run a backtest' }, el('h2', {}, 'Run a backtest'));
  const series = (await tryApi('/api/data/series', card, 'Series')) || { series: [] };
  const out = el('div', {});
  const field = (id, label, input) => el('div', {}, el('label', { for: id }, label), input);
  const form = el('form', { class: 'trade-control', id: 'backtest-form' },
    el('div', { class: 'form-grid' },
      field('bt-symbol', 'Symbol', el('select', { id: 'bt-symbol', name: 'symbol' }, series.series.map((s) => el('option', { value: `${s.symbol}|${s.timeframe}` }, `${s.symbol} ${s.timeframe} (${s.bars} bars)`)))),
      field('bt-strategy', 'Strategy', el('select', { id: 'bt-strategy', name: 'strategy' },
        ['sma_cross', 'sma_cross_long', 'buy_and_hold', 'rsi_reversion', 'bollinger_breakout'].map((s) => el('option', { value: s }, s)))),
      field('bt-params', 'Parameters (k=v, ...)', el('input', { id: 'bt-params', name: 'params', placeholder: 'fast=10, slow=20' })),
      field('bt-start', 'Start date', el('input', { id: 'bt-start', name: 'start_date', type: 'date' })),
      field('bt-end', 'End date', el('input', { id: 'bt-end', name: 'end_date', type: 'date' })),
      field('bt-capital', 'Initial capital', el('input', { id: 'bt-capital', name: 'initial_capital', type: 'number', step: 'any', min: '0', placeholder: 'settings' })),
      field('bt-commission', 'Commission (fraction)', el('input', { id: 'bt-commission', name: 'commission', type: 'number', step: 'any', min: '0', placeholder: '0.001' })),
      field('bt-slippage', 'Slippage (bps)', el('input', { id: 'bt-slippage', name: 'slippage_bps', type: 'number', step: 'any', min: '0', placeholder: 'settings' }))),
    el('div', { class: 'row' }, el('button', { type: 'submit', disabled: !series.series.length }, 'Run')));
  if (!series.series.length) out.append(empty('No stored candles: import some first (POST /api/data/candles or tradpal data import).'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const [symbol, timeframe] = String(f.get('symbol')).split('|');
    const body = { symbol, timeframe, strategy: f.get('strategy') };
    const params = parseParams(f.get('params'));
    if (params === null) { notice(out, 'Parameters: write them as name=number, separated by commas.', true); return; }
    if (Object.keys(params).length) body.params = params;
    for (const k of ['start_date', 'end_date']) if (f.get(k)) body[k] = f.get(k);
    for (const k of ['initial_capital', 'commission', 'slippage_bps']) if (f.get(k) !== '') body[k] = Number(f.get(k));
    try {
      const r = await api('/api/backtest/run', { method: 'POST', body });
      saveRun(r.backtest_id);
      location.hash = `#/backtests/${r.backtest_id}`;
    } catch (e) { notice(out, e.message, true); }
  });
  card.append(form, out);
  return card;
}

async function renderRuns(card) {
  const runs = savedRuns();
  if (!runs.length) { card.append(empty('No runs yet.')); return; }
  const rows = [];
  for (const id of runs) {
    try { rows.push(await api(`/api/backtest/results/${id}`)); } catch (_) { /* expired or unknown */ }
  }
  card.append(table([
    { label: 'Run', cell: (r) => el('a', { href: `#/backtests/${r.backtest_id}` }, r.backtest_id.slice(0, 8)) },
    { label: 'Strategy', cell: (r) => r.description || r.strategy },
    { label: 'Status', cell: (r) => r.status },
    { label: 'Return', num: true, cell: (r) => signed(r.total_return, pct(r.total_return)) },
  ], rows, { label: 'Runs' }));
}

async function renderReport(card, id) {
  card.append(el('h2', {}, `Report ${id.slice(0, 8)}`));
  const progress = el('progress', { max: '1', value: '0', 'aria-label': 'Backtest progress' });
  const status = el('p', { class: 'muted', role: 'status' }, 'Running…');
  card.append(status, progress);
  let r = await api(`/api/backtest/results/${id}`);
  while (r.status === 'running') {
    progress.value = r.progress || 0;
    await new Promise((ok) => setTimeout(ok, POLL_RUNNING_MS));
    if (!document.body.contains(card)) return;
    r = await api(`/api/backtest/results/${id}`);
  }
  progress.remove();
  if (r.status !== 'completed') { status.className = 'error'; status.textContent = `The run ${r.status}: ${r.error || ''}`; return; }
  status.textContent = `${r.description} · ${r.symbol} ${r.timeframe} · ${r.bars} bars · ${r.start} to ${r.end}`;
  const perf = await api(`/api/backtest/performance/${id}`);
  card.append(el('dl', { class: 'kv', id: 'report-metrics' },
    ['total_return', 'cagr', 'sharpe_ratio', 'sortino_ratio', 'max_drawdown', 'win_rate', 'profit_factor'].flatMap((k) =>
      [el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, /ratio|factor/.test(k) ? fmt(r[k]) : pct(r[k]))]),
    el('dt', {}, 'trades'), el('dd', {}, r.trades), el('dt', {}, 'final equity'), el('dd', {}, fmt(r.final_equity))));
  const eq = el('div', { class: 'chart small', role: 'img', 'aria-label': 'Equity curve' });
  const dd = el('div', { class: 'chart small', role: 'img', 'aria-label': 'Drawdown' });
  card.append(el('h2', {}, 'Equity and drawdown'), eq, dd);
  equityCharts(eq, dd, perf.equity_curve || []);
  card.append(el('h2', {}, 'Monthly returns'), monthlyHeat(perf.monthly_returns || []));
  const att = (perf.attribution && perf.attribution.by_month) || {};
  card.append(el('h2', {}, 'Attribution by month'), table([
    { label: 'Month', cell: (k) => k },
    { label: 'Gross P&L', num: true, cell: (k) => signed(att[k].gross_pnl, fmt(att[k].gross_pnl)) },
    { label: 'Fees', num: true, cell: (k) => fmt(att[k].fees) },
    { label: 'Net P&L', num: true, cell: (k) => signed(att[k].net_pnl, fmt(att[k].net_pnl)) },
  ], Object.keys(att).sort(), { label: 'Attribution' }));
  card.append(el('h2', {}, 'Trades'), table([
    { label: 'Side', cell: (t) => t.side },
    { label: 'Entry', cell: (t) => t.entry_time },
    { label: 'Exit', cell: (t) => t.exit_time },
    { label: 'Qty', num: true, cell: (t) => fmt(t.quantity, 8) },
    { label: 'P&L', num: true, cell: (t) => signed(t.pnl, fmt(t.pnl)) },
  ], perf.trades || [], { label: 'Backtest trades' }));
  card.append(el('p', {}, el('a', { href: `/api/backtest/report/${id}`, target: '_blank', rel: 'noopener' }, 'The full HTML report')));
}

function monthlyHeat(months) {
  if (!months.length) return empty('No whole months.');
  const years = [...new Set(months.map((m) => m.year))].sort();
  const cell = (y, mo) => {
    const m = months.find((x) => x.year === y && x.month === mo);
    if (!m) return el('td', {}, '');
    const a = Math.min(1, Math.abs(m.return) * 10);
    const color = m.return >= 0 ? `rgba(47,191,113,${a})` : `rgba(240,86,91,${a})`;
    return el('td', { style: `background:${color}` }, (m.return * 100).toFixed(1));
  };
  return el('div', { class: 'scroll' }, el('table', { class: 'heat', 'aria-label': 'Monthly returns, percent' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Year'), [...Array(12).keys()].map((i) => el('th', { scope: 'col' }, String(i + 1))))),
    el('tbody', {}, years.map((y) => el('tr', {}, el('th', { scope: 'row' }, String(y)), [...Array(12).keys()].map((i) => cell(y, i + 1)))))));
}

function renderCompare(card) {
  card.append(el('h2', {}, 'Compare two runs'));
  const runs = savedRuns();
  if (runs.length < 2) { card.append(empty('Run two backtests to compare them.')); return; }
  const pick = (id, sel) => el('select', { id }, runs.map((r) => el('option', { value: r, selected: r === sel }, r.slice(0, 8))));
  const a = pick('cmp-a', runs[1]); const b = pick('cmp-b', runs[0]);
  const out = el('div', {});
  card.append(el('div', { class: 'row' }, el('div', {}, el('label', { for: 'cmp-a' }, 'Run A'), a), el('div', {}, el('label', { for: 'cmp-b' }, 'Run B'), b),
    el('button', { type: 'button', onclick: async () => {
      out.textContent = '';
      const [ra, rb] = await Promise.all([api(`/api/backtest/results/${a.value}`), api(`/api/backtest/results/${b.value}`)]);
      const keys = ['description', 'total_return', 'cagr', 'sharpe_ratio', 'max_drawdown', 'win_rate', 'trades', 'final_equity'];
      out.append(table([
        { label: 'Metric', cell: (k) => k.replace(/_/g, ' ') },
        { label: 'A', cell: (k) => String(ra[k] ?? '—') },
        { label: 'B', cell: (k) => String(rb[k] ?? '—') },
      ], keys, { label: 'Comparison' }));
    } }, 'Compare')), out);
}

// ---------- models and agents ----------
async function viewModels(main) {
  main.append(el('h1', {}, 'Models and agents'));
  const parts = [
    part('ML models', renderModels, { wide: true, id: 'ml-models' }),
    part('RL agents', renderAgents, { wide: true, id: 'rl-agents' }),
  ];
  await renderParts(main, parts, ['ml_model_trained', 'rl_agent_trained']);
}

function oosScore(m) {
  if (m.out_of_sample_score !== undefined && m.out_of_sample_score !== null) return fmt(m.out_of_sample_score, 3);
  return '—';
}

async function renderModels(holder) {
  const list = await tryApi('/api/ml/models', holder, 'Models');
  if (!list) return;
  const detail = el('div', {});
  holder.append(table([
    { label: 'Model', cell: (m) => el('button', { type: 'button', class: 'ghost', onclick: () => showModel(detail, m.model_id) }, String(m.model_id)) },
    { label: 'Status', cell: (m) => m.status },
    { label: 'Progress', cell: (m) => el('progress', { max: '1', value: String(m.progress ?? (m.status === 'ready' ? 1 : 0)), 'aria-label': 'Training progress' }) },
    { label: 'Symbol', cell: (m) => m.symbol || '—' },
    { label: 'Out-of-sample', cell: oosScore },
  ], list.models || [], { empty: 'No models yet: POST /api/ml/train or tradpal ml train.', label: 'Models' }), detail);
}

async function showModel(holder, id) {
  holder.textContent = '';
  const fi = await tryApi(`/api/ml/feature-importance?model_id=${encodeURIComponent(id)}`, holder, 'Feature importance');
  if (!fi) return;
  const rows = fi.features || [];
  const top = Math.max(1e-12, ...rows.map((r) => Math.abs(num(r.permutation) || 0)));
  holder.append(el('h2', {}, `Feature importance of ${id}`), el('p', { class: 'muted' }, 'Permutation importance: the out-of-sample score lost when the feature is shuffled.'), table([
    { label: 'Feature', cell: (r) => r.name },
    { label: 'Permutation', num: true, cell: (r) => fmt(r.permutation, 4) },
    { label: 'Gain share', num: true, cell: (r) => (r.gain_share === null ? '—' : pct(r.gain_share)) },
    { label: '', cell: (r) => el('meter', { min: '0', max: String(top), value: String(Math.max(0, num(r.permutation) || 0)), 'aria-label': `${r.name} importance` }) },
  ], rows, { label: 'Feature importance' }));
}

async function renderAgents(holder) {
  const list = await tryApi('/api/rl/agents', holder, 'Agents');
  if (!list) return;
  const detail = el('div', {});
  holder.append(table([
    { label: 'Agent', cell: (a) => el('button', { type: 'button', class: 'ghost', onclick: () => showAgent(detail, a.agent_id) }, String(a.agent_id)) },
    { label: 'Algorithm', cell: (a) => a.algorithm || '—' },
    { label: 'Status', cell: (a) => a.status },
    { label: 'Progress', cell: (a) => el('progress', { max: '1', value: String(a.progress ?? 0), 'aria-label': 'Training progress' }) },
    { label: 'Symbol', cell: (a) => `${a.symbol || '—'} ${a.timeframe || ''}` },
  ], list.agents || [], { empty: 'No agents yet: POST /api/rl/train or tradpal rl train.', label: 'Agents' }), detail);
}

async function showAgent(holder, id) {
  holder.textContent = '';
  const a = await tryApi(`/api/rl/agents/${encodeURIComponent(id)}`, holder, 'Agent');
  if (!a) return;
  holder.append(el('h2', {}, `Agent ${id}`));
  const curve = a.training_curve || [];
  if (curve.length) {
    const box = el('div', { class: 'chart small', role: 'img', 'aria-label': 'Training curve: reward per episode' });
    holder.append(el('p', { class: 'muted' }, 'Reward per training episode'), box);
    const chart = makeChart(box);
    chart.applyOptions({ timeScale: { timeVisible: false, tickMarkFormatter: (t) => String(t) } });
    chart.addSeries(LightweightCharts.LineSeries, { title: 'reward' }).setData(curve.map((p, i) => ({ time: i + 1, value: num(p.reward_sum) })).filter((p) => Number.isFinite(p.value)));
    chart.timeScale().fitContent();
  } else {
    holder.append(empty('No finished episode yet.'));
  }
  holder.append(el('pre', {}, JSON.stringify({ ...a, training_curve: undefined }, null, 2)));
}

// ---------- market data ----------
async function viewMarket(main, [symbolArg, tfArg]) {
  main.append(el('h1', {}, 'Market data'));
  const series = await api('/api/data/series');
  const grid = el('div', { class: 'grid' });
  main.append(grid);
  const list = el('section', { class: 'card', id: 'series', 'aria-label': 'Stored series' }, el('h2', {}, 'Stored series'),
    table([
      { label: 'Symbol', cell: (s) => el('a', { href: `#/market/${encodeURIComponent(s.symbol)}/${encodeURIComponent(s.timeframe)}` }, s.symbol) },
      { label: 'Timeframe', cell: (s) => s.timeframe },
      { label: 'Bars', num: true, cell: (s) => fmt(s.bars, 0) },
    ], series.series, { empty: 'No stored candles yet: POST /api/data/candles, publish on NATS, or tradpal data import.', label: 'Series' }));
  grid.append(list);
  const pick = series.series.find((s) => s.symbol === symbolArg && s.timeframe === tfArg) || series.series[0];
  if (!pick) { main.dataset.symbol = ''; return; }
  const chartPart = part(`${pick.symbol} ${pick.timeframe}`, (h) => renderMarketChart(h, pick), { wide: true, id: 'market-chart' });
  grid.append(chartPart.card);
  await refreshPart(chartPart);
  app.refresh = { kinds: ['candles_ingested', 'regime_changed'], run: () => refreshPart(chartPart) };
}

const CHART_BARS_MAX = 1000;

async function renderMarketChart(holder, s) {
  // The most recent CHART_BARS_MAX bars: page forward from a start estimated from the count.
  const first = await api(`/api/data/candles/${s.symbol}?timeframe=${encodeURIComponent(s.timeframe)}&limit=1`);
  if (!first.bars.length) { holder.append(empty('No bars.')); return; }
  const stepS = timeframeSeconds(s.timeframe);
  const t0 = toSec(first.bars[0].candle.open_time);
  const start = new Date(Math.max(t0, t0 + (s.bars - CHART_BARS_MAX) * stepS) * 1000).toISOString().replace('.000Z', 'Z');
  const page = await api(`/api/data/candles/${s.symbol}?timeframe=${encodeURIComponent(s.timeframe)}&start=${encodeURIComponent(start)}&limit=${CHART_BARS_MAX}`);
  const ind = await tryApi(`/api/data/indicators/${s.symbol}?timeframe=${encodeURIComponent(s.timeframe)}&names=sma_20,ema_20&start=${encodeURIComponent(start)}`, el('div'), 'Indicators');
  const hist = await tryApi(`/api/regime/history/${s.symbol}?days=3650&timeframe=${encodeURIComponent(s.timeframe)}`, el('div'), 'Regime');
  const lines = [];
  if (ind && ind.open_time) {
    for (const [name, color] of [['sma_20', '#4ea1ff'], ['ema_20', '#e6b33e']]) {
      const col = ind.columns ? ind.columns[name] : ind[name];
      if (col) lines.push({ title: name, color, points: ind.open_time.map((t, i) => ({ time: toSec(t), value: col[i] })).filter((p) => p.value !== null) });
    }
  }
  const box = el('div', { class: 'chart', role: 'img', 'aria-label': `Candles of ${s.symbol} ${s.timeframe}` });
  const gaps = findGaps(page.bars, stepS);
  holder.append(box, regimeLegend(), el('p', { class: 'muted', id: 'gaps' }, gaps.length
    ? `${gaps.length} gap(s) in the bars shown; the largest misses ${Math.max(...gaps.map((g) => g.missing))} bars (from ${gaps[0].after}).`
    : `No gaps in the ${page.bars.length} bars shown.`));
  candleChart(box, page.bars, { lines, regimes: hist ? hist.regime_transitions : [] });
}

function timeframeSeconds(tf) {
  const m = /^(\d+)([smhdw])$/.exec(tf);
  if (!m) return 60;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
}

function findGaps(bars, stepS) {
  const out = [];
  for (let i = 1; i < bars.length; i++) {
    const d = toSec(bars[i].candle.open_time) - toSec(bars[i - 1].candle.open_time);
    if (d > stepS) out.push({ after: bars[i - 1].candle.open_time, missing: Math.round(d / stepS) - 1 });
  }
  return out;
}

// ---------- start ----------
document.addEventListener('DOMContentLoaded', async () => {
  let theme = 'dark';
  try { theme = localStorage.getItem('tradpal-theme') || 'dark'; } catch (_) { /* private mode */ }
  applyTheme(theme);
  $('#theme').addEventListener('click', () => { applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'); route(); });
  window.addEventListener('hashchange', route);
  if (await whoami()) {
    connectEvents();
    await route();
  } else if ($('#login .error').textContent.trim()) {
    $('#key').setAttribute('aria-invalid', 'true');
  }
});
