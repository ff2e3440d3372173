// The killswitch phone page: pair once, then stop agents with two taps, online or not.
// Plain ES2020 module, no build step. Stops are saved to localStorage before they are sent,
// so a bad connection delays them but never loses them; the relay dedupes by requestId.
const KEY = {
  token: 'killswitch.deviceToken',
  device: 'killswitch.device',
  queue: 'killswitch.pendingStops',
  incident: 'killswitch.lastIncidentId',
};
const CONFIRM_MS = 4000; // how long a first tap stays armed
const ACK_MS = 5000;
const FALLBACK_MS = 5000; // how long the socket may try before stops go over HTTP
// Live events can come by the thousand (a bulk stop halts every queued action of every agent,
// one action.updated each): the lists they change are redrawn at most this often, not per event.
const REDRAW_MS = 100;
const FEED_SIZE = 50;
const COUNTS = [
  ['fenced', 'fenced'],
  ['halted', 'halted'],
  ['aborted', 'aborted'],
  ['rolledBack', 'rolled back'],
  ['needsReview', 'needs review'],
];

const $ = (id) => document.getElementById(id);
const attempt = (f) => {
  try {
    return f();
  } catch {
    return undefined; // storage disabled or full, bad JSON: carry on without it
  }
};
const store = {
  get: (k) => attempt(() => localStorage.getItem(k)) ?? null,
  set: (k, v) => attempt(() => localStorage.setItem(k, v)),
  del: (k) => attempt(() => localStorage.removeItem(k)),
  json: (k, d) => attempt(() => JSON.parse(localStorage.getItem(k))) || d,
};

const S = {
  token: store.get(KEY.token),
  device: store.json(KEY.device, {}),
  user: null,
  agents: new Map(),
  ownerNames: {}, // user id -> name, of the owners of agents the snapshot listed
  incidents: new Map(),
  incidentId: store.get(KEY.incident),
  feed: [],
  queue: [].concat(store.json(KEY.queue, [])),
  inflight: new Set(),
  socket: null,
  connected: false,
  ready: false,
  screen: '',
  downSince: Date.now(),
  httpTimer: 0,
  httpDelay: FALLBACK_MS,
  armed: null,
};

// ---------- helpers ----------
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; a relay on plain http in a LAN still needs ids.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64;
  b[8] = (b[8] & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return h.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function button(text, cls, onClick) {
  const b = el('button', cls, text);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}
function ago(t) {
  const s = (Date.now() - new Date(t)) / 1000;
  if (!(s >= 10)) return Number.isNaN(s) ? '' : 'just now';
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return s < 86400 ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 86400)} d ago`;
}
function timeEl(t) {
  const e = el('time', '', ago(t));
  e.dateTime = e.dataset.t = new Date(t).toISOString();
  e.title = new Date(t).toLocaleString();
  return e;
}
const words = (s) => String(s ?? '').replace(/_/g, ' ');
const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
const errText = (e) => (typeof e === 'string' ? e : e && (e.message || e.error || e.code));
const normalizeCode = (v) =>
  String(v)
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '');
const groupCode = (c) =>
  c.replace(/^(.{4})(.{1,4})?(.+)?$/, (_, a, b, d) => [a, b, d].filter(Boolean).join('-'));
function labelsText(l) {
  if (Array.isArray(l)) return l.join(' · ');
  return l && typeof l === 'object'
    ? Object.entries(l)
        .map(([k, v]) => `${k}=${v}`)
        .join(' · ')
    : '';
}
function defaultDeviceName() {
  const ua = navigator.userAgent;
  const pick = (pairs) => (pairs.find(([re]) => re.test(ua)) || [])[1];
  const ipad = /iPad/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const os = ipad
    ? 'iPadOS'
    : pick([
        [/iPhone|iPod/, 'iOS'],
        [/Android/, 'Android'],
        [/Windows/, 'Windows'],
        [/Mac OS X/, 'macOS'],
        [/Linux|CrOS/, 'Linux'],
      ]);
  const browser = pick([
    [/Edg(A|iOS)?\//, 'Edge'],
    [/SamsungBrowser/, 'Samsung Internet'],
    [/Firefox|FxiOS/, 'Firefox'],
    [/OPR|OPiOS/, 'Opera'],
    [/Chrome|CriOS|Chromium/, 'Chrome'],
    [/Safari/, 'Safari'],
  ]);
  const kind =
    ipad || /Tablet/.test(ua) ? 'Tablet' : /Mobi|iPhone|Android/.test(ua) ? 'Phone' : 'Computer';
  return `${kind} (${browser || 'Browser'}${os ? ` on ${os}` : ''})`;
}
// Responders and admins watch every agent, and STOP ALL stops every agent they see; an owner's
// stops the agents they own.
const watchesAll = () => {
  const u = S.user || S.device.user;
  return !!u && (u.role === 'responder' || u.role === 'admin');
};
/** The active agents a STOP ALL covers: every one, or the user's own. */
const activeInScope = (every = watchesAll()) =>
  [...S.agents.values()].filter(
    (a) => a.status === 'active' && (every || !S.user || a.owner === S.user.id),
  );
const allLabel = () => (watchesAll() ? 'every agent' : 'all your agents');

// ---------- screens ----------
function refreshState() {
  if (S.token && S.screen === 'app') {
    document.body.dataset.state = S.connected && S.ready ? 'ready' : 'connecting';
  }
}
function connState() {
  if (S.connected) return S.degraded ? 'degraded' : 'online';
  return navigator.onLine && !S.everFailed ? 'connecting' : 'offline';
}
function setConn(kind) {
  const c = $('conn');
  c.dataset.conn = kind;
  c.textContent = {
    online: 'Connected',
    connecting: 'Connecting…',
    offline: 'Offline — stops will be sent when the connection is back',
    degraded:
      'Connected, but the relay cannot reach killswitch right now: what you see may be out of ' +
      'date, and stops are sent again until they go through',
  }[kind];
  c.hidden = S.screen !== 'app';
  refreshState();
}

function showPairing(message, cancelable) {
  disarm();
  S.screen = 'pairing';
  document.body.dataset.state = 'pairing';
  $('app-screen').hidden = $('stopbar').hidden = $('conn').hidden = true;
  $('pair-screen').hidden = false;
  $('pair-info').textContent = message || '';
  $('pair-cancel').hidden = !cancelable;
  $('pair-error').textContent = '';
  if (!$('device-name').value) $('device-name').value = S.device.deviceName || defaultDeviceName();
  renderWho();
}
function showApp() {
  S.screen = 'app';
  $('pair-screen').hidden = true;
  $('app-screen').hidden = $('stopbar').hidden = false;
  setConn(connState());
  renderAll();
}

function dropSocket() {
  if (!S.socket) return;
  S.socket.off();
  S.socket.disconnect();
  S.socket = null;
  S.connected = S.ready = false;
}

/** Unpairs this phone locally: token, queue and everything shown go; the name stays. */
function forget(message) {
  dropSocket();
  const dropped = S.queue.length;
  const deviceName = S.device.deviceName;
  Object.assign(S, {
    token: null,
    queue: [],
    incidentId: null,
    feed: [],
    user: null,
    device: { deviceName },
  });
  S.inflight.clear();
  S.agents.clear();
  S.incidents.clear();
  clearTimeout(S.httpTimer);
  S.httpTimer = 0;
  [KEY.token, KEY.queue, KEY.incident].forEach(store.del);
  store.set(KEY.device, JSON.stringify(S.device));
  showPairing(message + (dropped ? ` ${plural(dropped, 'pending stop')} not sent.` : ''), false);
}
const isAuthError = (m) =>
  /invalid|revoked|unauthori[sz]ed|forbidden|unknown device|not paired/i.test(m);

// ---------- pairing ----------
function onCodeInput(e) {
  const input = e.target;
  const code = normalizeCode(input.value);
  // Regroup only when typing at the end, so editing in the middle keeps its caret.
  if (input.selectionStart === input.value.length && code.length <= 10)
    input.value = groupCode(code);
}

async function pair(ev) {
  ev.preventDefault();
  const err = $('pair-error');
  const btn = $('pair-btn');
  const code = normalizeCode($('pair-code').value);
  const deviceName = $('device-name').value.trim() || defaultDeviceName();
  err.textContent = '';
  if (!code) {
    err.textContent = 'Enter the pairing code shown on your computer.';
    return $('pair-code').focus();
  }
  btn.disabled = true;
  btn.textContent = 'Pairing…';
  try {
    const res = await fetch('/v1/pair', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, deviceName }),
      cache: 'no-store',
    });
    const body = await res.json().catch(() => null);
    if (!res.ok || !body || !body.deviceToken) {
      err.textContent = (body && body.message) || `Pairing failed (HTTP ${res.status}).`;
      return;
    }
    dropSocket();
    S.token = body.deviceToken;
    S.device = { deviceId: body.deviceId, deviceName, user: body.user };
    S.user = body.user || null;
    store.set(KEY.token, S.token);
    store.set(KEY.device, JSON.stringify(S.device));
    $('pair-code').value = '';
    S.everFailed = false;
    S.downSince = Date.now();
    S.agents.clear();
    S.feed = [];
    showApp();
    $('notice').textContent = `Paired as ${deviceName}.`;
    connect();
  } catch {
    err.textContent = 'Cannot reach the relay. Check your connection and try again.';
  } finally {
    btn.disabled = false;
    btn.textContent = 'Pair this phone';
  }
}

/** A pairing link carries the code in the fragment: take it, then scrub it from the URL. */
function takeCodeFromHash() {
  if (!location.hash.startsWith('#pair=')) return false;
  const raw = location.hash.slice(6);
  const code = attempt(() => decodeURIComponent(raw)) ?? raw;
  history.replaceState(null, '', location.pathname + location.search);
  const paired = Boolean(S.token);
  showPairing(
    paired ? 'This phone is already paired. Pairing again replaces the current pairing.' : '',
    paired,
  );
  $('pair-code').value = groupCode(normalizeCode(code).slice(0, 10));
  $('pair-btn').focus();
  return true;
}

// ---------- socket ----------
function loadSocketLib() {
  if (typeof io === 'function' || document.querySelector('script[data-retry]')) return;
  const s = el('script');
  s.src = '/socket.io/socket.io.min.js';
  s.dataset.retry = '1';
  s.onload = connect;
  s.onerror = () => s.remove();
  document.head.append(s);
}

function connect() {
  if (!S.token || S.socket) return;
  if (typeof io !== 'function') {
    // The client library did not load (offline at start?): stops can still go over HTTP.
    S.everFailed = true;
    setConn('offline');
    return scheduleHttp();
  }
  // Websockets first: long-polling needs sticky sessions behind a load balancer. Polling only
  // where websockets are blocked (stops also have the HTTP fallback there).
  const socket = (S.socket = io('/devices', {
    path: '/socket.io',
    auth: { token: S.token },
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
  }));
  const down = () => {
    S.connected = S.ready = false;
    S.downSince = Date.now();
    setConn('offline');
    scheduleHttp();
  };
  socket.on('connect', () => {
    S.connected = true;
    S.degraded = false;
    S.downSince = 0;
    S.httpDelay = FALLBACK_MS;
    clearTimeout(S.httpTimer);
    S.httpTimer = 0;
    setConn('online');
    flush(true);
  });
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect') {
      return forget(
        'This phone was unpaired by the server (device revoked). Pair it again to use it.',
      );
    }
    down();
  });
  socket.on('connect_error', (err) => {
    const msg = (err && err.message) || '';
    if (isAuthError(msg))
      return forget(`This phone is no longer paired (${msg}). Pair it again to use it.`);
    S.everFailed = true;
    down();
    // socket.io does not retry a refusal by the server's middleware on its own.
    if (!socket.active) setTimeout(() => S.socket === socket && socket.connect(), 5000);
  });
  socket.on('snapshot', onSnapshot);
  // The relay lost (or found again) what it reads and writes: a fresh snapshot follows its return.
  socket.on('relay.status', (s) => {
    S.degraded = !!s && s.redis === 'down';
    setConn(connState());
  });
  socket.on('agent.updated', (a) => {
    if (!a || !a.id) return;
    const cur = S.agents.get(a.id);
    if (cur) Object.assign(cur, a);
    else if (a.name) S.agents.set(a.id, a);
    redraw(renderAgents, renderStopAll);
  });
  socket.on('action.updated', (e) => {
    if (!e || !e.actionId) return;
    addFeed(e);
    redraw(renderFeed);
  });
  socket.on('incident.updated', (inc) => {
    if (!inc || !inc.id) return;
    S.incidents.set(inc.id, { ...S.incidents.get(inc.id), ...inc });
    redraw(renderIncident);
  });
}

function onSnapshot(snap) {
  if (!snap) return;
  S.user = snap.user || S.user;
  if (snap.device) {
    S.device = {
      ...S.device,
      deviceId: snap.device.id,
      deviceName: snap.device.name || S.device.deviceName,
    };
  }
  S.device.user = S.user;
  store.set(KEY.device, JSON.stringify(S.device));
  const old = S.agents;
  S.agents = new Map();
  S.moreAgents = !!snap.moreAgents;
  S.ownerNames = { ...S.ownerNames, ...snap.ownerNames };
  for (const a of snap.agents || []) {
    S.agents.set(a.id, { ...old.get(a.id), ...a });
    for (const x of a.recentActions || []) {
      addFeed({
        agentId: a.id,
        actionId: x.id,
        type: x.type,
        status: x.status,
        at: x.updatedAt || x.submittedAt,
      });
    }
  }
  for (const inc of snap.incidents || []) S.incidents.set(inc.id, inc);
  S.ready = true;
  refreshState();
  renderAll();
}

/** Keeps the newest FEED_SIZE action events, newest first, one per action at its latest. */
function addFeed({ agentId, actionId, type, status, at }) {
  at = at || new Date().toISOString();
  const t = Date.parse(at) || 0;
  const i = S.feed.findIndex((x) => x.actionId === actionId);
  if (i >= 0) {
    if (S.feed[i].t > t) return;
    S.feed.splice(i, 1);
  }
  // Events mostly come in order, so the newest goes to the front at once.
  let j = 0;
  while (j < S.feed.length && S.feed[j].t > t) j++;
  if (j >= FEED_SIZE) return;
  S.feed.splice(j, 0, { agentId, actionId, type, status, at, t });
  if (S.feed.length > FEED_SIZE) S.feed.length = FEED_SIZE;
}

// ---------- redrawing live lists ----------
const due = new Set();
let redrawTimer = 0;
let redrawnAt = 0;
/**
 * Redraws with these renderers soon: at once after a quiet spell, else once per REDRAW_MS
 * however many events come in between.
 */
function redraw(...renderers) {
  for (const r of renderers) due.add(r);
  if (redrawTimer) return;
  redrawTimer = setTimeout(
    () => {
      redrawTimer = 0;
      redrawnAt = Date.now();
      const now = [...due];
      due.clear();
      for (const r of now) r();
    },
    Math.max(0, redrawnAt + REDRAW_MS - Date.now()),
  );
}

// ---------- stops ----------
/** Two-tap confirm: the first tap arms the button for CONFIRM_MS, the second one fires. */
function tap(key, fire) {
  if (S.armed && S.armed.key === key) {
    disarm();
    return fire();
  }
  disarm();
  S.armed = { key, timer: setTimeout(disarm, CONFIRM_MS) };
  renderButtons();
}
function disarm() {
  if (!S.armed) return;
  clearTimeout(S.armed.timer);
  S.armed = null;
  renderButtons();
}

function requestStop(target, label) {
  const item = { requestId: uuid(), ...target, label, queuedAt: new Date().toISOString() };
  const reason = $('stop-reason').value.trim();
  if (reason) item.reason = reason;
  S.queue.push(item);
  saveQueue();
  $('alert').textContent = '';
  $('notice').textContent = S.connected
    ? `Sending stop: ${label}…`
    : `No connection. Stop queued (${label}); it will be sent when the connection is back.`;
  renderPending();
  renderAgents();
  flush(false);
}

const payloadOf = ({ requestId, agentId, all, reason }) => ({
  requestId,
  ...(agentId ? { agentId } : all ? { selector: { all: true } } : { mine: true }),
  ...(reason ? { reason } : {}),
});
function saveQueue() {
  if (S.queue.length) store.set(KEY.queue, JSON.stringify(S.queue));
  else store.del(KEY.queue);
}
const sendable = (failedToo) =>
  S.queue.filter((i) => !S.inflight.has(i.requestId) && (failedToo || !i.error));

/** Sends each queued stop once: on the socket when it is up, else after a grace over HTTP. */
function flush(failedToo) {
  if (!S.token) return;
  if (!S.connected) return scheduleHttp();
  for (const item of sendable(failedToo)) {
    S.inflight.add(item.requestId);
    S.socket.timeout(ACK_MS).emit('stop', payloadOf(item), (err, ack) => {
      S.inflight.delete(item.requestId);
      // Redis was unreachable for a moment: the stop was not carried out; send it again.
      if (!err && !(ack && ack.code === 'unavailable')) return settle(item, ack);
      renderPending();
      scheduleHttp(); // no answer: retry shortly, on whichever path works then
    });
  }
  renderPending();
}

function scheduleHttp(delay) {
  if (S.httpTimer || !S.token || !sendable(false).length) return;
  const wait = delay ?? (S.downSince ? S.downSince + FALLBACK_MS - Date.now() : FALLBACK_MS);
  S.httpTimer = setTimeout(
    () => {
      S.httpTimer = 0;
      if (S.connected) return flush(false);
      if (navigator.onLine) sendable(false).forEach(sendHttp); // else 'online' restarts this
    },
    Math.max(wait, 250),
  );
}

async function sendHttp(item) {
  const token = S.token;
  S.inflight.add(item.requestId);
  renderPending();
  let retry = true;
  try {
    const res = await fetch('/v1/stop', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(payloadOf(item)),
      cache: 'no-store',
      signal: AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined,
    });
    const body = await res.json().catch(() => null);
    retry = false;
    if (token !== S.token) return;
    if (res.status === 401)
      return forget('This phone is no longer paired (device revoked). Pair it again to use it.');
    if (body && typeof body.ok === 'boolean') settle(item, body);
    else if (res.status < 500 && ![408, 429].includes(res.status) && body)
      settle(item, { ok: false, error: body });
    else retry = true;
  } catch {
    /* network error: retry below */
  } finally {
    S.inflight.delete(item.requestId);
  }
  if (retry && S.token) {
    renderPending();
    S.httpDelay = Math.min(S.httpDelay * 2, 30000);
    scheduleHttp(S.httpDelay);
  }
}

function settle(item, ack) {
  // The socket's ack carries the code in `code`; the HTTP fallback's error body in `error`.
  const code = ack && (ack.code || (ack.message ? ack.error : undefined));
  if (item.all && code === 'forbidden') {
    // Its user is no longer a responder or admin (changed while this phone was offline): the
    // same tap stops what they may still stop, their own agents. The relay keeps no refusal.
    item.all = false;
    item.label = 'all your agents';
    saveQueue();
    $('alert').textContent = '';
    $('notice').textContent =
      'Your role no longer stops every agent: stopping all your agents instead…';
    renderAll();
    setTimeout(() => flush(false), 0); // once this answer's request is no longer in flight
    return;
  }
  if (!ack || !ack.ok) {
    // The relay answered no: keep it, visible, until the user retries or discards it.
    // The socket's ack carries the sentence in `error`; the HTTP fallback's error body in
    // `message` (with the code in `error`).
    item.error = errText(ack && (ack.message || ack.error)) || 'The relay refused this stop.';
    saveQueue();
    $('notice').textContent = '';
    $('alert').textContent = `Stop not done (${item.label}): ${item.error}`;
    return renderAll();
  }
  S.queue = S.queue.filter((i) => i.requestId !== item.requestId);
  saveQueue();
  const list = Array.isArray(ack.agents) ? ack.agents : null;
  const n = list ? list.length : Number(ack.agents) || 0;
  // `agents` counts those stopped before too: say how many this tap stopped.
  const already = Math.min(n, Number(ack.alreadyRevoked) || 0);
  // Revocation is complete when the ack comes; show it now, agent.updated confirms it.
  const ids = list
    ? list.map((a) => (typeof a === 'string' ? a : a && (a.id || a.agentId)))
    : item.agentId
      ? [item.agentId]
      : // What this stop targeted, not what the phone's role now covers (it may have changed).
        activeInScope(!!item.all).map((a) => a.id);
  for (const id of ids) {
    const a = S.agents.get(id);
    if (a && a.status === 'active')
      Object.assign(a, { status: 'revoked', revokedAt: ack.revokedAt || new Date().toISOString() });
  }
  if (ack.incidentId) {
    const known = S.incidents.get(ack.incidentId);
    S.incidents.set(ack.incidentId, {
      status: 'open',
      agents: n,
      openedAt: ack.revokedAt,
      counts: { fenced: n - already },
      ...known,
      id: ack.incidentId,
    });
    S.incidentId = ack.incidentId;
    store.set(KEY.incident, ack.incidentId);
  }
  $('notice').textContent =
    `Stopped ${plural(n - already, 'agent')} (${item.label})` +
    (already ? `; ${already} ${already === 1 ? 'was' : 'were'} already stopped.` : '.');
  renderAll();
}

// ---------- rendering ----------
function renderAll() {
  renderWho();
  renderPending();
  renderIncident();
  renderAgents();
  renderFeed();
  renderButtons();
  $('set-device').textContent = S.device.deviceName || '';
  $('set-device-id').textContent = S.device.deviceId ? `Device ${S.device.deviceId}` : '';
}

function renderWho() {
  const u = S.user || S.device.user;
  $('who').textContent = S.token && u ? `${u.name}${u.role ? ` · ${u.role}` : ''}` : '';
}

function renderButtons() {
  renderStopAll();
  for (const li of $('agents').children) renderStopOne(li);
}

function renderStopAll() {
  const b = $('stop-all');
  const n = activeInScope().length;
  const known = S.ready || S.agents.size > 0;
  const everyAgent = watchesAll();
  // The snapshot holds the newest agents only: with more, the count is a floor.
  const count = (noun) => (S.moreAgents ? `at least ${plural(n, noun)}` : plural(n, noun));
  const what = known && n ? `${everyAgent ? 'every agent: ' : ''}${count('agent')}` : allLabel();
  const armed = S.armed && S.armed.key === 'all';
  b.toggleAttribute('data-armed', armed);
  $('stop-all-main').textContent = armed ? `Tap again to stop ${what}` : 'STOP ALL';
  $('stop-all-sub').textContent = armed
    ? 'cancels in 4 seconds'
    : known
      ? `${everyAgent ? 'every agent · ' : ''}${count('active agent')}`
      : everyAgent
        ? 'every agent'
        : 'every agent you own';
  b.setAttribute(
    'aria-label',
    armed
      ? `Confirm: STOP ALL — tap again to stop ${what}`
      : known
        ? `STOP ALL (${everyAgent ? 'every agent, ' : ''}${count('active agent')})`
        : 'STOP ALL',
  );
}

function renderStopOne(li) {
  const b = li.querySelector('button');
  if (!b) return;
  const id = li.dataset.agentId;
  const name = (S.agents.get(id) || {}).name || id;
  const pending = S.queue.some((i) => i.agentId === id && !i.error);
  const armed = !pending && S.armed && S.armed.key === `agent:${id}`;
  b.disabled = pending;
  b.toggleAttribute('data-armed', armed);
  b.textContent = pending ? 'Sending' : armed ? 'Tap again' : 'STOP';
  b.setAttribute(
    'aria-label',
    pending
      ? `Stop ${name} (pending)`
      : armed
        ? `Confirm: stop ${name} (tap again)`
        : `Stop ${name}`,
  );
}

function renderAgents() {
  const list = $('agents');
  const rows = new Map([...list.children].map((li) => [li.dataset.agentId, li]));
  let prev = null;
  for (const a of S.agents.values()) {
    let li = rows.get(a.id);
    rows.delete(a.id);
    if (!li) {
      li = el('li');
      li.dataset.agentId = a.id;
      const col = el('div', 'info-col');
      col.append(el('div', 'name'), el('div', 'meta'));
      li.append(col);
    }
    // Rows keep their order, so a second tap cannot land on another agent.
    if (li.previousElementSibling !== prev || li.parentNode !== list) {
      list.insertBefore(li, prev ? prev.nextSibling : list.firstChild);
    }
    prev = li;
    li.dataset.status = a.status;
    li.querySelector('.name').textContent = a.name;
    const meta = [el('span', `badge s-${a.status}`, a.status)];
    const labels = labelsText(a.labels);
    if (labels) meta.push(` ${labels}`);
    if (S.user && a.owner && a.owner !== S.user.id)
      meta.push(` · owner ${S.ownerNames[a.owner] || a.owner}`);
    if (a.status === 'revoked' && a.revokedAt) {
      // A <time>: the clock refreshes it, so "just now" does not stay on a row for good.
      meta.push(' · stopped ', timeEl(a.revokedAt), a.revokeReason ? `: ${a.revokeReason}` : '');
    }
    if (S.queue.some((i) => i.agentId === a.id && !i.error))
      meta.push(' ', el('span', 'badge s-pending', 'stop pending'));
    li.querySelector('.meta').replaceChildren(...meta);
    const b = li.querySelector('button');
    if (a.status === 'active' && !b) {
      const id = a.id;
      li.append(
        button('STOP', 'stop-one', () =>
          tap(`agent:${id}`, () =>
            requestStop({ agentId: id }, (S.agents.get(id) || {}).name || id),
          ),
        ),
      );
    } else if (a.status !== 'active' && b) {
      b.remove();
    }
    renderStopOne(li);
  }
  rows.forEach((li) => li.remove());
  $('agents-empty').hidden = !S.ready || S.agents.size > 0;
}

function renderFeed() {
  $('feed').replaceChildren(
    ...S.feed.map((e) => {
      const a = S.agents.get(e.agentId);
      const li = el('li');
      const left = el('div');
      left.append(el('div', 'agent', a ? a.name : e.agentId), el('div', 'type', e.type || ''));
      const right = el('div', 'right');
      right.append(el('span', `badge s-${e.status}`, words(e.status)), el('br'), timeEl(e.at));
      li.append(left, right);
      return li;
    }),
  );
  $('feed-empty').hidden = S.feed.length > 0;
}

function renderPending() {
  $('pending-list').replaceChildren(
    ...S.queue.map((item) => {
      const state = item.error ? 'failed' : S.inflight.has(item.requestId) ? 'sending' : 'pending';
      const li = el('li');
      li.append(el('span', 'what', `Stop ${item.label}`), el('span', `badge s-${state}`, state));
      if (item.error) {
        const retry = () => {
          delete item.error;
          saveQueue();
          flush(false);
        };
        const discard = () => {
          S.queue = S.queue.filter((i) => i !== item);
          saveQueue();
          renderAll();
        };
        li.append(
          el('span', 'small', item.error),
          button('Retry', 'btn ghost', retry),
          button('Discard', 'btn ghost', discard),
        );
      }
      return li;
    }),
  );
  $('pending').hidden = S.queue.length === 0;
}

function renderIncident() {
  const inc = S.incidentId && S.incidents.get(S.incidentId);
  $('incident').hidden = !inc;
  if (!inc) return;
  $('incident').dataset.status = inc.status;
  $('inc-id').textContent = inc.id;
  const n = Number(inc.agents) || (inc.agentIds || []).length;
  $('inc-status').replaceChildren(
    `Status: ${words(inc.status)} · ${plural(n, 'agent')} stopped`,
    ...(inc.openedAt ? [' ', timeEl(inc.openedAt)] : []),
  );
  const p = inc.progress;
  $('inc-progress').hidden = inc.status === 'done' || inc.status === 'resolved' || !p || !p.total;
  if (p && p.total) {
    $('inc-progress-text').textContent = `Progress ${p.done}/${p.total}`;
    Object.assign($('inc-progress-bar'), { max: p.total, value: p.done });
  }
  $('inc-counts').replaceChildren(
    ...COUNTS.map(([k, label]) => {
      const v = Number((inc.counts || {})[k]) || 0;
      const li = el('li');
      li.append(`${label} `, el('b', '', String(v)));
      li.toggleAttribute('data-warn', k === 'needsReview' && v > 0);
      return li;
    }),
  );
  $('inc-reason').textContent = inc.reason ? `Reason: ${inc.reason}` : '';
}

// ---------- QR code (desktop-to-phone pairing) ----------
/** Draws the pairing link of a code as a QR code; the phone's camera opens it. */
function showQr(ev) {
  ev.preventDefault();
  const code = normalizeCode($('qr-code').value);
  const out = $('qr-out');
  if (code.length !== 10 || typeof window.qrcode !== 'function') {
    out.textContent = '';
    $('qr-link').textContent =
      code.length !== 10
        ? 'A pairing code has 10 letters and digits.'
        : 'QR codes are unavailable.';
    return;
  }
  const link = `${location.origin}/#pair=${code}`;
  const qr = window.qrcode(0, 'M');
  qr.addData(link);
  qr.make();
  // The markup is generated from a code of [A-Z0-9] only.
  out.innerHTML = qr.createSvgTag({ cellSize: 6, margin: 4, scalable: true });
  $('qr-link').textContent = `${link} (valid once, for a few minutes)`;
}

// ---------- wiring ----------
$('qr-form').addEventListener('submit', showQr);
$('pair-form').addEventListener('submit', pair);
$('pair-code').addEventListener('input', onCodeInput);
$('pair-cancel').addEventListener('click', () => {
  $('pair-code').value = '';
  showApp();
  connect();
});
$('stop-all').addEventListener('click', () =>
  tap('all', () => requestStop(watchesAll() ? { all: true } : { mine: true }, allLabel())),
);
$('forget').addEventListener('click', () =>
  forget('This phone was forgotten. Pair it again to use it.'),
);
addEventListener('hashchange', takeCodeFromHash);
addEventListener('offline', () => {
  if (!S.token || !S.socket) return;
  // A dead socket can look alive for a while; the browser knows better, so say so at once.
  S.socket.io.engine?.close();
});
addEventListener('online', () => {
  if (!S.token) return;
  S.downSince = Date.now();
  loadSocketLib();
  if (!S.socket) connect();
  else if (!S.socket.connected) S.socket.disconnect().connect(); // skip the reconnect back-off
  clearTimeout(S.httpTimer);
  S.httpTimer = 0;
  scheduleHttp();
});
setInterval(() => {
  document.querySelectorAll('time[data-t]').forEach((t) => (t.textContent = ago(t.dataset.t)));
  renderIncident();
}, 15000);

// ---------- start ----------
if (takeCodeFromHash()) {
  connect(); // if already paired, queued stops still go out while the user decides
} else if (S.token) {
  showApp();
  connect();
} else {
  showPairing('', false);
}
