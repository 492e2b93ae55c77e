/*
 * app.js: the teacher's page, served by cairnd from inside its binary.
 *
 * A small front end over cairnd's JSON API (/api/...). No library, nothing
 * fetched from elsewhere. Everything that comes from stored data reaches
 * the page through textContent or an attribute set with setAttribute,
 * never as markup. Every state-changing request carries the session's CSRF
 * token. Pages: #/today, #/milestone/ID (and /review), #/new[/STUDENT],
 * #/family/STUDENT (pages.js), #/sync.
 */
'use strict';

const state = {
  session: null,   // {name, csrf, expires, today}
  today: null,     // the last /api/today reply
  refreshWanted: false,
  events: null,
  prefetch: null,  // Today's data asked for at start, with the session
  auto: false,     // true only while autoRefresh() starts a drawing (drawing() reads it)
  drawingNo: 0,    // the last drawing of a page begun (drawing())
  drawnNo: 0,      // the last one shown
  clickedNo: 0,    // the last one the user asked for
  bundleFile: null, // the Sync page's file input, kept across refreshes
};

const main = () => document.getElementById('main');

/* ---- building the page ---- */

/* el('p', {class: 'x'}, 'text', child...): an element; strings become text. */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function say(text, isError) {
  const s = document.getElementById('status');
  s.classList.toggle('error', !!isError);
  s.textContent = text || '';
}

/* A page is drawn in two steps: its data is asked for, then it is shown.
 * Each drawing takes a number as it begins (the first thing a render
 * function does) and gets the function that shows it. An answer that
 * comes back after a later drawing began is dropped: the later one shows
 * the page as it is now, and an old answer arriving late would replace a
 * form the teacher has started filling in. A refresh the page starts by
 * itself leaves a form being filled alone (see autoRefresh()), unless the
 * user has asked for another page that is not shown yet. */
function drawing() {
  const no = ++state.drawingNo;
  const auto = state.auto && state.clickedNo <= state.drawnNo;
  if (!state.auto) state.clickedNo = no;
  return (title, ...nodes) => {
    if (no !== state.drawingNo) return;
    if (auto && busy()) {
      state.refreshWanted = true;
      return;
    }
    state.drawnNo = no;
    setPage(title, ...nodes);
  };
}

function setPage(title, ...nodes) {
  const m = main();
  const a = document.activeElement;
  const key = a && m.contains(a) ? a.getAttribute('data-key') : null;
  m.replaceChildren(el('h1', {id: 'page-title', elementtiming: 'page-title'}, title), ...nodes);
  document.title = title + ' - cairn';
  if (key) { /* a refresh keeps the keyboard where it was */
    const again = m.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (again) again.focus();
  }
}

function markNav(which) {
  for (const id of ['nav-today', 'nav-new', 'nav-sync']) {
    const a = document.getElementById(id);
    if (id === 'nav-' + which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/* ---- talking to cairnd ---- */

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : 'cairnd answered ' + status);
    this.status = status;
    this.code = body && body.error;
  }
}

async function api(method, path, body, raw) {
  const opts = {method, credentials: 'same-origin', headers: {}};
  if (method !== 'GET') {
    opts.headers['X-CSRF-Token'] = state.session ? state.session.csrf : '';
    if (raw) {
      opts.headers['Content-Type'] = 'application/octet-stream';
      opts.body = raw;
    } else {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body || {});
    }
  }
  const res = await fetch(path, opts);
  if (res.status === 401) {
    state.session = null;
    showLanding();
    throw new ApiError(401, {message: 'signed out'});
  }
  const type = res.headers.get('Content-Type') || '';
  if (!type.startsWith('application/json')) {
    if (!res.ok) throw new ApiError(res.status, null);
    return res;
  }
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/* ---- words ---- */

const LIGHT_WORDS = {red: 'Red', yellow: 'Yellow', green: 'Green', none: 'No data'};

function lightBadge(light) {
  const l = LIGHT_WORDS[light] ? light : 'none';
  return el('span', {class: 'light light-' + l}, LIGHT_WORDS[l]);
}

function fmtNumber(v) {
  if (v === null || v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
}

function scaleOf(m) {
  const s = m.scale || '';
  if (s === 'percent') return {min: 0, max: 100, step: 'any', words: 'percent, 0 to 100'};
  if (s === 'count') return {min: 0, max: null, step: 1, words: 'a count'};
  if (s === 'yesno') return {min: 0, max: 1, step: 1, words: '1 for yes, 0 for no'};
  const r = /^(-?[0-9.]+)-(-?[0-9.]+)$/.exec(s);
  if (r) return {min: Number(r[1]), max: Number(r[2]), step: 'any', words: 'from ' + r[1] + ' to ' + r[2]};
  return {min: null, max: null, step: 'any', words: s};
}

function when(ms) {
  const d = new Date(ms);
  return d.toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

function ago(unixSeconds) {
  if (!unixSeconds) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 90) return s + ' seconds ago';
  if (s < 5400) return Math.round(s / 60) + ' minutes ago';
  if (s < 172800) return Math.round(s / 3600) + ' hours ago';
  return Math.round(s / 86400) + ' days ago';
}

function todayDate() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

/* ---- signing in ---- */

function showLanding() {
  state.drawingNo++; /* an answer still on its way is not drawn over it */
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  document.getElementById('syncline').hidden = true;
  document.getElementById('who').textContent = '';
  const m = main();
  m.replaceChildren(
    el('div', {class: 'landing'},
      el('h1', {}, 'Sign in to cairn'),
      el('p', {}, 'This page shows student records, so it needs a sign-in first.'),
      el('p', {}, 'On this computer, open a terminal and run ', el('code', {}, 'cairn web'),
        '. It opens a one-time link here (the link works once, for 5 minutes).'),
      el('p', {}, 'To record evidence under another name: ', el('code', {}, 'cairn web --as "Ms Rivera"'), '.')));
  document.title = 'Sign in - cairn';
}

async function loadSession() {
  try {
    state.session = await api('GET', '/api/session');
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) say('Cannot reach cairnd: ' + e.message, true);
    return false;
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('who').textContent = 'Signed in as ' + state.session.name;
  document.getElementById('signout').hidden = false;
  return true;
}

async function signOut() {
  try {
    await api('POST', '/api/signout', {});
  } catch (e) { /* signed out either way */ }
  state.session = null;
  if (state.events) state.events.close();
  showLanding();
}

/* ---- the sync line ---- */

function upstreamOf(sync) {
  return (sync.peers || []).find((p) => p.direction === 'upstream') || null;
}

async function refreshSyncLine() {
  const line = document.getElementById('syncline');
  try {
    const sync = await api('GET', '/api/sync');
    const up = upstreamOf(sync);
    let text;
    if (!up) {
      const down = (sync.peers || []).filter((p) => p.connected).length;
      text = down ? 'Sync: ' + down + ' device(s) connected here' : 'Sync: this device has no upstream (offline on its own)';
    } else {
      text = 'Sync: ' + (up.connected ? 'connected to ' : 'not connected to ') + up.address +
        '; last success ' + ago(up.last_success) +
        '; last receipt ' + (up.receipt ? 'up to entry ' + up.receipt.seq : 'none yet') +
        (up.pending_out ? '; ' + up.pending_out + ' to send' : '');
    }
    line.textContent = text;
    line.hidden = false;
  } catch (e) {
    if (e.status !== 401) { line.textContent = 'Sync: unknown (' + e.message + ')'; line.hidden = false; }
  }
}

/* ---- recording evidence ---- */

/* The quick form for milestone m; onDone(result) after a save. */
function quickForm(m, onDone, onCancel) {
  const sc = scaleOf(m);
  const id = 'q-' + m.id;
  const value = el('input', {type: 'number', name: 'value', id: id + '-value', required: true,
    step: sc.step, min: sc.min, max: sc.max, inputmode: 'decimal', 'aria-describedby': id + '-scale'});
  const observed = el('input', {type: 'date', name: 'observed', id: id + '-observed', value: todayDate(), required: true});
  const note = el('input', {type: 'text', name: 'note', id: id + '-note', maxlength: 2000, autocomplete: 'off'});
  const err = el('p', {class: 'error-text', role: 'alert', hidden: true});
  const save = el('button', {type: 'submit', class: 'primary'}, 'Save');
  const form = el('form', {class: 'quick', novalidate: true, 'aria-label': 'Record evidence for: ' + (m.statement || m.id)},
    el('div', {class: 'field'}, el('label', {for: id + '-value'}, 'Value'),
      value, el('span', {class: 'hint', id: id + '-scale'}, sc.words)),
    el('div', {class: 'field'}, el('label', {for: id + '-observed'}, 'Observed'), observed),
    el('div', {class: 'field'}, el('label', {for: id + '-note'}, 'Note ', el('span', {class: 'hint'}, '(optional)')), note),
    save,
    el('button', {type: 'button', onclick: () => onCancel()}, 'Cancel'),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (value.value.trim() === '') { err.textContent = 'Value: type a number.'; err.hidden = false; value.focus(); return; }
    save.disabled = true;
    try {
      const res = await api('POST', '/api/evidence', {milestone: m.id, value: Number(value.value),
        observed: observed.value, note: note.value});
      onDone(res, Number(value.value));
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      save.disabled = false;
      value.focus();
    }
  });
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') onCancel(); });
  return {form, focus: () => value.focus()};
}

function findMilestone(id) {
  for (const s of (state.today && state.today.students) || [])
    for (const m of s.milestones) if (m.id === id) return {student: s, m};
  return null;
}

/* ---- Today ---- */

function milestoneFacts(m) {
  return el('div', {class: 'facts'},
    el('span', {}, 'Level: ' + m.level),
    el('span', {}, m.points ? 'last ' + fmtNumber(m.last_value) + ' on ' + m.last_observed : 'no evidence yet'),
    el('span', {}, 'target ' + fmtNumber(m.target) + (m.direction === 'down' ? ' or lower' : '')),
    el('span', {}, m.next_review ? (m.overdue ? 'review overdue since ' : 'next review ') + m.next_review : 'no review due'));
}

function milestoneItem(m) {
  const li = el('li', {class: 'ms', id: 'ms-' + m.id});
  const record = el('button', {type: 'button', class: 'record', 'aria-expanded': 'false', 'data-key': 'record:' + m.id}, 'Record evidence');
  const head = el('div', {class: 'ms-head'},
    lightBadge(m.light),
    el('div', {},
      el('a', {class: 'statement', href: '#/milestone/' + encodeURIComponent(m.id), 'data-key': 'open:' + m.id}, m.statement),
      milestoneFacts(m)),
    el('div', {class: 'actions'}, record));
  li.append(head);
  if (m.attention && m.attention.length)
    li.append(el('ul', {class: 'attention', 'aria-label': 'Needs attention'},
      ...m.attention.map((a) => el('li', {class: a.kind}, a.text))));
  let open = null;
  const close = () => { if (open) { open.form.remove(); open = null; } record.setAttribute('aria-expanded', 'false'); record.focus(); runWantedRefresh(); };
  record.addEventListener('click', () => {
    if (open) { close(); return; }
    open = quickForm(m, async (res, v) => {
      const before = m.light;
      open.form.remove(); open = null;
      await renderToday();
      const now = findMilestone(m.id);
      const after = now ? now.m : null;
      say('Recorded ' + fmtNumber(v) + ' for ' + m.statement + '. Light: ' +
        (LIGHT_WORDS[after ? after.light : before] || '?') + (after && after.light !== before ? ' (was ' + LIGHT_WORDS[before] + ')' : '') +
        ', level: ' + (after ? after.level : '?') + '.');
      const b = document.querySelector('#ms-' + CSS.escape(m.id) + ' button.record');
      if (b) b.focus();
    }, close);
    li.append(open.form);
    record.setAttribute('aria-expanded', 'true');
    open.focus();
  });
  return li;
}

async function renderToday() {
  const show = drawing();
  markNav('today');
  let data;
  try {
    const pre = state.prefetch ? await state.prefetch : null;
    state.prefetch = null;
    data = pre || await api('GET', '/api/today');
  } catch (e) {
    if (e.status !== 401) show('Today', el('p', {}, 'Cannot read today\'s milestones: ' + e.message));
    return;
  }
  state.today = data;
  const students = data.students || [];
  const nodes = [el('p', {class: 'sub'}, data.today + ': what needs attention comes first.')];
  if (!students.length)
    nodes.push(el('p', {}, 'No milestones yet. Add students and milestones with ', el('code', {}, 'cairn student add'),
      ' and ', el('code', {}, 'cairn milestone add'), '.'));
  for (const s of students) {
    const hid = 'st-' + s.id;
    nodes.push(el('section', {class: 'student', 'aria-labelledby': hid},
      el('header', {}, el('h2', {id: hid}, s.name || s.id),
        el('span', {class: 'count'}, s.milestones.length + (s.milestones.length === 1 ? ' milestone' : ' milestones')),
        el('span', {class: 'student-links'},
          el('a', {href: '#/family/' + encodeURIComponent(s.id), 'aria-label': 'Family summary for ' + (s.name || s.id)}, 'Family summary'),
          el('a', {href: '#/new/' + encodeURIComponent(s.id), 'aria-label': 'New milestone for ' + (s.name || s.id)}, 'New milestone'))),
      el('ul', {class: 'milestones'}, ...s.milestones.map(milestoneItem))));
  }
  show('Today', ...nodes);
  performance.mark('cairn:today');
}

/* ---- one milestone: its evidence, amend, retract ---- */

function historyList(rec) {
  const items = (rec.history || []).map((h) => {
    const set = h.set || {};
    const what = [];
    if ('retracted' in set) what.push(set.retracted ? 'retracted' : 'restored');
    if ('value' in set) what.push((what.length || h !== rec.history[0] ? 'value set to ' : 'recorded ') + fmtNumber(set.value));
    if (set.note) what.push('note: ' + set.note);
    const who = set.by || ('on device ' + String(h.author || '').slice(0, 8));
    return el('li', {}, when(h.at) + ', ' + who + ': ' + (what.join('; ') || 'changed') + (h.why ? '; reason: ' + h.why : ''));
  });
  return el('details', {}, el('summary', {}, 'History (' + items.length + ')'), el('ol', {}, ...items));
}

function fixForm(rec, kind, onDone, onCancel) {
  const id = 'fix-' + kind + '-' + rec.id;
  const reason = el('input', {type: 'text', name: 'reason', id: id + '-reason', required: true, maxlength: 1000, autocomplete: 'off'});
  const value = kind === 'amend' ? el('input', {type: 'number', name: 'value', id: id + '-value', step: 'any', required: true}) : null;
  const err = el('p', {class: 'error-text', role: 'alert', hidden: true});
  const form = el('form', {class: 'fix', novalidate: true, 'aria-label': (kind === 'amend' ? 'Amend' : 'Retract') + ' evidence ' + rec.id},
    value && el('div', {class: 'field'}, el('label', {for: id + '-value'}, 'Corrected value'), value),
    el('div', {class: 'field'}, el('label', {for: id + '-reason'}, 'Reason'), reason),
    el('button', {type: 'submit', class: 'primary'}, kind === 'amend' ? 'Amend' : 'Retract'),
    el('button', {type: 'button', onclick: () => onCancel()}, 'Cancel'),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) { err.textContent = 'Reason: say why.'; err.hidden = false; reason.focus(); return; }
    if (value && value.value.trim() === '') { err.textContent = 'Corrected value: type a number.'; err.hidden = false; value.focus(); return; }
    try {
      if (kind === 'amend') await api('POST', '/api/evidence/amend', {id: rec.id, value: Number(value.value), reason: reason.value});
      else await api('POST', '/api/evidence/retract', {id: rec.id, reason: reason.value});
      onDone();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') onCancel(); });
  return {form, focus: () => (value || reason).focus()};
}

function evidenceRow(rec, milestoneId) {
  const f = rec.fields || {};
  const first = (rec.history && rec.history[0] && rec.history[0].set) || {};
  const amended = 'value' in first && first.value !== f.value;
  const tr = el('tr', {class: f.retracted ? 'retracted' : null, id: 'ev-' + rec.id});
  const valueCell = el('td', {class: 'num value'}, fmtNumber(f.value));
  if (amended) valueCell.append(el('span', {class: 'was', title: 'first recorded value'}, fmtNumber(first.value)));
  const actions = el('td', {});
  const cell = el('td', {colspan: 6});
  const extra = el('tr', {hidden: true}, cell);
  for (const kind of f.retracted ? [] : ['amend', 'retract']) {
    const b = el('button', {type: 'button', 'aria-label': (kind === 'amend' ? 'Amend ' : 'Retract ') + (f.observed || '') + ' value ' + fmtNumber(f.value)},
      kind === 'amend' ? 'Amend' : 'Retract');
    b.addEventListener('click', () => {
      const close = () => { extra.hidden = true; cell.replaceChildren(); b.focus(); runWantedRefresh(); };
      const form = fixForm(rec, kind, async () => {
        say((kind === 'amend' ? 'Amended' : 'Retracted') + ' the entry of ' + (f.observed || '') + '.');
        await renderMilestone(milestoneId);
      }, close);
      cell.replaceChildren(form.form);
      extra.hidden = false;
      form.focus();
    });
    actions.append(b, ' ');
  }
  tr.append(el('td', {}, f.observed || '-'), valueCell, el('td', {}, f.note || ''), el('td', {}, f.by || ''),
    el('td', {}, f.retracted ? 'retracted' : amended ? 'amended' : 'as recorded', historyList(rec)), actions);
  return [tr, extra];
}

/* ---- Sync and device ---- */

async function renderSync() {
  const show = drawing();
  markNav('sync');
  let sync, dev;
  try {
    [sync, dev] = await Promise.all([api('GET', '/api/sync'), api('GET', '/api/device')]);
  } catch (e) {
    if (e.status !== 401) show('Sync and device', el('p', {}, 'Cannot read the sync state: ' + e.message));
    return;
  }
  const peers = (sync.peers || []).map((p) => el('div', {class: 'panel'},
    el('h3', {}, (p.direction === 'upstream' ? 'Upstream ' : 'Downstream ') + (p.role || '') + ' ' + (p.address || String(p.peer || '').slice(0, 8))),
    el('dl', {class: 'pairs'},
      el('dt', {}, 'Connected'), el('dd', {}, p.connected ? 'yes' : 'no'),
      el('dt', {}, 'Last success'), el('dd', {}, ago(p.last_success)),
      el('dt', {}, 'To send'), el('dd', {}, p.pending_out === null || p.pending_out === undefined ? 'not known yet' : String(p.pending_out)),
      el('dt', {}, 'To receive'), el('dd', {}, p.pending_in === null || p.pending_in === undefined ? 'not known yet' : String(p.pending_in)),
      el('dt', {}, 'Sent / received'), el('dd', {}, String(p.sent) + ' / ' + String(p.received)),
      el('dt', {}, 'Central\'s receipt'), el('dd', {}, p.receipt ? 'holds our entries up to ' + p.receipt.seq : 'none yet'),
      el('dt', {}, 'Last error'), el('dd', {}, p.last_error || 'none'))));
  const refused = Object.entries(sync.refusals || {}).filter(([, n]) => n > 0);
  const syncNow = el('button', {type: 'button'}, 'Sync now');
  syncNow.addEventListener('click', async () => {
    try { const r = await api('POST', '/api/sync/now', {}); say(r.message || 'Syncing.'); } catch (e) { say(e.message, true); }
  });
  const download = el('button', {type: 'button'}, 'Download a bundle');
  download.addEventListener('click', async () => {
    download.disabled = true;
    try {
      const res = await api('POST', '/api/bundle/export', {});
      const blob = await res.blob();
      const cd = res.headers.get('Content-Disposition') || '';
      const m = /filename="([^"]+)"/.exec(cd);
      const a = el('a', {href: URL.createObjectURL(blob), download: m ? m[1] : 'cairn.cairnbundle'});
      document.body.append(a);
      a.click();
      a.remove();
      say('Bundle downloaded (' + blob.size + ' bytes). Carry it to the hub or the central and import it there.');
    } catch (e) { say('No bundle: ' + e.message, true); }
    download.disabled = false;
  });
  /* One file input for the page's life: a refresh (news arrived, often
   * the import's own entries) must not drop the file the teacher chose. */
  if (!state.bundleFile)
    state.bundleFile = el('input', {type: 'file', id: 'bundle-file', accept: '.cairnbundle,application/octet-stream'});
  const file = state.bundleFile;
  const upload = el('button', {type: 'button'}, 'Import the bundle');
  upload.addEventListener('click', async () => {
    if (!file.files.length) { say('Choose a bundle file first.', true); file.focus(); return; }
    upload.disabled = true;
    try {
      const r = await api('POST', '/api/bundle/import', null, file.files[0]);
      say('Imported: ' + r.applied + ' entries applied, ' + r.refused + ' refused' + (r.reason ? ' (' + r.reason + ')' : '') + '.');
    } catch (e) { say('Import refused: ' + e.message, true); }
    upload.disabled = false;
  });
  show('Sync and device',
    el('div', {class: 'panel'}, el('h2', {}, 'This device'),
      el('dl', {class: 'pairs'},
        el('dt', {}, 'Name'), el('dd', {}, dev.name || '-'),
        el('dt', {}, 'Role'), el('dd', {}, dev.role || '-'),
        el('dt', {}, 'Campus'), el('dd', {}, dev.campus || '-'),
        el('dt', {}, 'Device id'), el('dd', {}, dev.device || '-'),
        el('dt', {}, 'cairn version'), el('dd', {}, dev.version || '-'))),
    el('h2', {}, 'Sync'),
    peers.length ? el('div', {}, ...peers) : el('p', {}, 'No sync peers: this device has not joined an upstream (cairn join TOKEN).'),
    el('p', {}, syncNow),
    el('h3', {}, 'Refused since cairnd started'),
    refused.length ? el('ul', {}, ...refused.map(([k, n]) => el('li', {}, k + ': ' + n))) : el('p', {}, 'Nothing refused.'),
    el('div', {class: 'panel'}, el('h2', {}, 'No network? Carry a bundle'),
      el('p', {}, 'A bundle holds what this device wrote that the central does not have yet, encrypted to the central (and this device\'s hub).'),
      el('p', {}, 'The central or this device\'s hub can also write a bundle for this device (cairn bundle export --for): it brings what a sync would. Import it here.'),
      el('p', {}, download),
      el('p', {}, el('label', {for: 'bundle-file'}, 'A bundle from another device '), file, ' ', upload)));
}

/* ---- routing and live updates ---- */

async function route() {
  if (!state.session) return;
  const h = location.hash || '#/today';
  let m;
  document.body.classList.remove('family-page');
  if ((m = /^#\/milestone\/([^/]+)\/review$/.exec(h))) await renderReview(decodeURIComponent(m[1]));
  else if ((m = /^#\/milestone\/([^/]+)$/.exec(h))) await renderMilestone(decodeURIComponent(m[1]));
  else if ((m = /^#\/new(?:\/([^/]+))?$/.exec(h))) await renderBuilder(m[1] ? decodeURIComponent(m[1]) : '');
  else if ((m = /^#\/family\/([^/]+)$/.exec(h))) await renderFamily(decodeURIComponent(m[1]));
  else if (h === '#/sync') await renderSync();
  else await renderToday();
  refreshSyncLine();
}

/* A form is being filled: refreshing now would lose what is typed. */
function busy() {
  const a = document.activeElement;
  return !!(a && main().contains(a) && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.tagName === 'SELECT')) ||
    !!main().querySelector('form.quick, form.fix, form.builder, form.stack');
}

/* A refresh the page starts by itself: if a form was opened while its
 * data was on the way, drawing() leaves the page alone and it runs again
 * once the form is done. */
function autoRefresh() {
  state.auto = true;
  const drawn = route(); /* drawing() has read state.auto by now */
  state.auto = false;
  return drawn;
}

function runWantedRefresh() {
  if (state.refreshWanted && !busy()) {
    state.refreshWanted = false;
    autoRefresh();
  }
}

let refreshTimer = null;
function onChange() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    if (busy()) {
      state.refreshWanted = true;
      /* (often the change is the page's own write: what it said stays) */
      if (!document.getElementById('status').textContent)
        say('New data arrived; the page refreshes when you finish this form.');
      return;
    }
    autoRefresh();
  }, 250);
}

function listen() {
  if (state.events) state.events.close();
  state.events = new EventSource('/api/events');
  state.events.addEventListener('change', onChange);
}

async function start() {
  document.getElementById('signout').addEventListener('click', signOut);
  /* Today's data is asked for with the session, not after it: one round
   * trip less before the first paint (a 401 shows the sign-in page). */
  if ((location.hash || '#/today') === '#/today')
    state.prefetch = fetch('/api/today', {credentials: 'same-origin'}).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!(await loadSession())) {
    showLanding();
    return;
  }
  window.addEventListener('hashchange', () => { say(''); route().then(() => main().focus()); });
  listen();
  await route();
}

document.addEventListener('DOMContentLoaded', start);
