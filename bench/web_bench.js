// web_bench.js: the web page's figures (docs/BENCHMARKS.md, "The web page").
// A benchmark, not a test: it reports figures and never fails because of one.
//
// On a fresh data directory and a real cairnd (Release build), with a class
// of 30 students x 4 milestones x 40 points each (recorded through the socket):
//   1. time to first paint of Today, cold: a new context of a running
//      browser (no HTTP cache, no cookie) and a freshly started cairnd each
//      time, from the navigation to the sign-in link to the paint of Today's
//      heading, which is painted in the same frame as the whole class (the
//      Element Timing API);
//   2. the JSON of one milestone's page (GET /api/milestone/ID): its size
//      and the time to get it, one request at a time over a kept connection;
//   3. evidence recorded per second by 8 concurrent clients each with one
//      request in flight, as 8 open pages would send them: through the web
//      page (POST /api/evidence) and through the socket API (the same put),
//      in the same run: each round measures both, in turn first, and the
//      ratio is the median of the rounds' ratios.
//
// usage: node bench/web_bench.js --cairn PATH --cairnd PATH [--out FILE] [--quick]
// Needs tests/web/node_modules (playwright-core; bench/run installs it) and
// Debian's /usr/bin/chromium.
'use strict';
const {spawn, execFileSync} = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const {chromium} = require(path.join(__dirname, '..', 'tests', 'web', 'node_modules', 'playwright-core'));

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : null; };
const quick = args.includes('--quick');
const CAIRN = opt('--cairn'), CAIRND = opt('--cairnd'), OUT = opt('--out');
if (!CAIRN || !CAIRND) {
  console.error('usage: node bench/web_bench.js --cairn PATH --cairnd PATH [--out FILE] [--quick]');
  process.exit(2);
}
const size = quick ? {students: 6, milestones: 4, points: 10, paints: 3, json: 200, puts: 100, rounds: 1}
  : {students: 30, milestones: 4, points: 40, paints: 10, json: 2000, puts: 500, rounds: 7};
const log = (...a) => console.error('web_bench:', ...a);

/* ---- msgpack, the little the socket's put needs ---- */

function mpPack(v, out) {
  if (v === null) out.push(Buffer.from([0xc0]));
  else if (v === true || v === false) out.push(Buffer.from([v ? 0xc3 : 0xc2]));
  else if (typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(v, 1); out.push(b); }
  else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    out.push(s.length < 32 ? Buffer.from([0xa0 | s.length]) : s.length < 256 ? Buffer.from([0xd9, s.length])
      : Buffer.from([0xda, s.length >> 8, s.length & 255]), s);
  } else if (Array.isArray(v)) { out.push(Buffer.from([0x90 | v.length])); for (const x of v) mpPack(x, out); }
  else { const ks = Object.keys(v); out.push(Buffer.from([0x80 | ks.length])); for (const k of ks) { mpPack(k, out); mpPack(v[k], out); } }
}

function frame(v) {
  const parts = [];
  mpPack(v, parts);
  const body = Buffer.concat(parts), head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/* Decodes one msgpack value at b[o]: [value, next offset]. */
function mpRead(b, o) {
  const t = b[o];
  const str = (n, at) => [b.toString('utf8', at, at + n), at + n];
  const map = (n, at) => { const m = {}; for (let i = 0; i < n; i++) { let k, v; [k, at] = mpRead(b, at); [v, at] = mpRead(b, at); m[k] = v; } return [m, at]; };
  const arr = (n, at) => { const a = []; for (let i = 0; i < n; i++) { let v; [v, at] = mpRead(b, at); a.push(v); } return [a, at]; };
  if (t <= 0x7f) return [t, o + 1];
  if (t >= 0xe0) return [t - 256, o + 1];
  if ((t & 0xf0) === 0x80) return map(t & 15, o + 1);
  if ((t & 0xf0) === 0x90) return arr(t & 15, o + 1);
  if ((t & 0xe0) === 0xa0) return str(t & 31, o + 1);
  switch (t) {
  case 0xc0: return [null, o + 1];
  case 0xc2: return [false, o + 1];
  case 0xc3: return [true, o + 1];
  case 0xcb: return [b.readDoubleBE(o + 1), o + 9];
  case 0xcc: return [b[o + 1], o + 2];
  case 0xcd: return [b.readUInt16BE(o + 1), o + 3];
  case 0xce: return [b.readUInt32BE(o + 1), o + 5];
  case 0xcf: return [Number(b.readBigUInt64BE(o + 1)), o + 9];
  case 0xd0: return [b.readInt8(o + 1), o + 2];
  case 0xd1: return [b.readInt16BE(o + 1), o + 3];
  case 0xd2: return [b.readInt32BE(o + 1), o + 5];
  case 0xd3: return [Number(b.readBigInt64BE(o + 1)), o + 9];
  case 0xd9: return str(b[o + 1], o + 2);
  case 0xda: return str(b.readUInt16BE(o + 1), o + 3);
  case 0xdb: return str(b.readUInt32BE(o + 1), o + 5);
  case 0xdc: return arr(b.readUInt16BE(o + 1), o + 3);
  case 0xde: return map(b.readUInt16BE(o + 1), o + 3);
  case 0xdf: return map(b.readUInt32BE(o + 1), o + 5);
  default: throw new Error('msgpack type 0x' + t.toString(16) + ' not read here');
  }
}

/* A connection to cairnd.sock: call(request) resolves with the reply map;
 * requests may be pipelined (replies come in order). */
function socketClient(sock) {
  const c = net.connect(sock);
  const waiting = [];
  let buf = Buffer.alloc(0);
  c.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const n = buf.readUInt32BE(0);
      const [reply] = mpRead(buf.subarray(4, 4 + n), 0);
      buf = buf.subarray(4 + n);
      waiting.shift()(reply);
    }
  });
  return {
    ready: new Promise((res, rej) => { c.once('connect', res); c.once('error', rej); }),
    call: (req) => new Promise((res) => { waiting.push(res); c.write(frame(req)); }),
    close: () => c.end(),
  };
}

/* ---- the daemon ---- */

function dateIn(n) {
  const d = new Date();
  d.setDate(d.getDate() + n);
  const p = (v) => String(v).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

const freePort = () => new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

async function startDaemon(data) {
  const d = spawn(CAIRND, ['--data', data], {stdio: ['ignore', 'ignore', fs.openSync(path.join(data, '..', 'cairnd.log'), 'a')]});
  const sock = path.join(data, 'cairnd.sock');
  for (let i = 0; i < 400; i++) {
    try {
      const c = socketClient(sock);
      await c.ready;
      c.close();
      return d;
    } catch (e) { await new Promise((r) => setTimeout(r, 25)); }
  }
  throw new Error('cairnd did not start (see cairnd.log)');
}

function stopDaemon(d) {
  return new Promise((res) => { d.once('exit', res); d.kill('SIGTERM'); });
}

const signinLink = (data) => execFileSync(CAIRN, ['--data', data, 'web', '--as', 'Bench'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim();

/* ---- statistics ---- */

const sorted = (v) => v.slice().sort((a, b) => a - b);
const median = (v) => { const s = sorted(v); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const pct = (v, p) => { const s = sorted(v); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };
const fmt = (v, d = 1) => v.toLocaleString('en-US', {minimumFractionDigits: d, maximumFractionDigits: d});

/* ---- the measurements ---- */

async function seed(sock) {
  const c = socketClient(sock);
  await c.ready;
  const milestones = [];
  const start = dateIn(-80), end = dateIn(60);
  for (let s = 0; s < size.students; s++) {
    const sid = 'st-' + s;
    let r = await c.call({op: 'put', type: 'student', id: sid, set: {name: 'Student ' + s, grade: '7'}});
    if (!r.ok) throw new Error('student: ' + r.message);
    for (let m = 0; m < size.milestones; m++) {
      r = await c.call({op: 'put', type: 'milestone', set: {student: sid, type: 'academic',
        statement: 'I will show my reasoning in writing, step ' + (m + 1) + '.', scale: '0-4', baseline: 1, target: 3,
        start, end, cadence: 'weekly',
        if_then: ['If below the target on 2 consecutive points, then add a small group.']}});
      if (!r.ok) throw new Error('milestone: ' + r.message);
      milestones.push(r.id);
    }
  }
  /* the points, pipelined 64 at a time: spread over the 80 days up to today */
  const puts = [];
  for (const id of milestones)
    for (let i = 0; i < size.points; i++)
      puts.push({op: 'put', type: 'evidence', set: {milestone: id, value: Math.round((1 + 2 * i / size.points + (i % 3) * 0.3) * 10) / 10,
        observed: dateIn(-80 + Math.floor(i * 80 / size.points)), by: 'seed'}});
  for (let i = 0; i < puts.length; i += 64) {
    const replies = await Promise.all(puts.slice(i, i + 64).map((p) => c.call(p)));
    const bad = replies.find((r) => !r.ok);
    if (bad) throw new Error('evidence: ' + bad.message);
  }
  c.close();
  return milestones;
}

/* Navigation to the sign-in link -> Today's heading painted, ms, in a new
 * browser context of the running browser (an empty cache, no cookie). */
async function firstPaint(browser, link) {
  const ctx = await browser.newContext({viewport: {width: 1366, height: 768}});
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForSelector('section.student');
  const t = await page.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        if (e.identifier === 'page-title' && document.getElementById('page-title').textContent === 'Today')
          resolve(e.renderTime || e.loadTime);
    }).observe({type: 'element', buffered: true});
    setTimeout(() => resolve(null), 5000);
  }));
  const sections = await page.$$eval('section.student', (s) => s.length);
  await ctx.close();
  if (t === null) throw new Error('no paint timing for Today');
  return {ms: t, sections};
}

/* An HTTP/1.1 client with keep-alive, as a page has. */
function webClient(base, cookie, csrf) {
  const agent = new http.Agent({keepAlive: true, maxSockets: 1});
  const u = new URL(base);
  return (method, p, body) => new Promise((res, rej) => {
    const data = body ? Buffer.from(JSON.stringify(body)) : null;
    const req = http.request({host: u.hostname, port: u.port, method, path: p, agent,
      headers: Object.assign({Cookie: cookie, Host: u.host}, data ? {'Content-Type': 'application/json',
        'Content-Length': data.length, 'X-CSRF-Token': csrf, Origin: base} : {})}, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({status: r.statusCode, body: Buffer.concat(chunks)}));
    });
    req.on('error', rej);
    req.end(data);
  });
}

/* Signs in over HTTP: the session cookie and its CSRF token. */
async function session(base, link) {
  const u = new URL(link);
  const r = await new Promise((res, rej) => http.get({host: u.hostname, port: u.port, path: u.pathname + u.search,
    headers: {Host: u.host}}, res).on('error', rej));
  r.resume();
  const cookie = (r.headers['set-cookie'] || [])[0].split(';')[0];
  const s = await webClient(base, cookie, '')('GET', '/api/session');
  return {cookie, csrf: JSON.parse(s.body).csrf};
}

/* 8 clients, each with one put in flight, n puts each: puts/s. */
async function rate(clients, n, put) {
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map(async (c, k) => {
    for (let i = 0; i < n; i++) await put(c, k, i);
  }));
  return clients.length * n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-webbench-'));
  const data = path.join(dir, 'node');
  let d = null;
  try {
    execFileSync(CAIRN, ['init', '--data', data, '--campus', 'north', '--classroom', 'r12'], {stdio: 'ignore'});
    const port = await freePort();
    const conf = path.join(data, 'cairn.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/^web =.*$/m, 'web = 127.0.0.1:' + port));
    const base = 'http://127.0.0.1:' + port, sock = path.join(data, 'cairnd.sock');
    d = await startDaemon(data);
    log('seeding', size.students, 'students x', size.milestones, 'milestones x', size.points, 'points');
    const milestones = await seed(sock);

    /* 1. first paint of Today, cold */
    const browser = await chromium.launch({executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']});
    const paints = [];
    let sections = 0;
    await firstPaint(browser, signinLink(data)); /* the browser's own first start is not the page's */
    for (let i = 0; i < size.paints; i++) {
      await stopDaemon(d);
      d = await startDaemon(data);
      const p = await firstPaint(browser, signinLink(data));
      paints.push(p.ms);
      sections = p.sections;
      log('first paint', i + 1, fmt(p.ms), 'ms');
    }
    await browser.close();

    /* 2. one milestone's page */
    const {cookie, csrf} = await session(base, signinLink(data));
    const get = webClient(base, cookie, csrf);
    const one = milestones[Math.floor(milestones.length / 2)];
    const first = await get('GET', '/api/milestone/' + one);
    if (first.status !== 200) throw new Error('milestone page: ' + first.status + ' ' + first.body);
    const page = JSON.parse(first.body);
    const times = [];
    for (let i = 0; i < size.json; i++) {
      const t0 = process.hrtime.bigint();
      await get('GET', '/api/milestone/' + one);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const today = await get('GET', '/api/today');

    /* 3. evidence per second: 8 pages vs 8 socket clients, alternating */
    const webClients = Array.from({length: 8}, () => webClient(base, cookie, csrf));
    const sockClients = Array.from({length: 8}, () => socketClient(sock));
    await Promise.all(sockClients.map((c) => c.ready));
    const body = (k, i) => ({milestone: milestones[(k * 7 + i) % milestones.length], value: 2, observed: dateIn(0)});
    const webRates = [], sockRates = [], ratios = [];
    const viaSocket = () => rate(sockClients, size.puts, async (c, k, i) => {
      const rep = await c.call({op: 'put', type: 'evidence', set: Object.assign(body(k, i), {by: 'Bench'})});
      if (!rep.ok) throw new Error('socket put: ' + rep.message);
    });
    const viaWeb = () => rate(webClients, size.puts, async (c, k, i) => {
      const rep = await c('POST', '/api/evidence', body(k, i));
      if (rep.status !== 200) throw new Error('web put: ' + rep.status + ' ' + rep.body);
    });
    /* each round measures both, in turn first; the ratio is taken per round,
     * so that a busy moment of this shared machine hits both sides alike */
    for (let r = 0; r < size.rounds; r++) {
      let sock, web;
      if (r % 2) { web = await viaWeb(); sock = await viaSocket(); } else { sock = await viaSocket(); web = await viaWeb(); }
      sockRates.push(sock);
      webRates.push(web);
      ratios.push(sock / web);
      log('round', r + 1, 'socket', fmt(sock, 0), 'web', fmt(web, 0), 'puts/s');
    }
    sockClients.forEach((c) => c.close());

    const webMed = median(webRates), sockMed = median(sockRates), ratio = median(ratios);
    const cpu = os.cpus();
    const lines = [
      'Run ' + new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC with `bench/run web' + (quick ? ' --quick' : '') + '`.  ',
      'Machine: ' + os.type() + ' ' + os.release() + ', ' + cpu.length + ' × ' + (cpu[0] ? cpu[0].model.trim() : '?') + ', ' +
        Math.round(os.totalmem() / 2 ** 30) + ' GiB, node ' + process.version + ', Debian chromium (headless).  ',
      'Data: ' + size.students + ' students × ' + size.milestones + ' milestones × ' + size.points + ' points (' +
        (size.students * size.milestones * size.points).toLocaleString('en-US') + ' evidence entries), recorded through the socket before measuring.',
      '',
      '| measurement | figure | target | met |',
      '|---|---:|---|---|',
      '| first paint of Today (' + sections + ' students; cold: a new browser context, so an empty cache, and cairnd just started), median of ' + size.paints + ', ms | ' +
        fmt(median(paints)) + ' | < 200 | ' + (median(paints) < 200 ? 'yes' : '**no**') + ' |',
      '| ... slowest of the ' + size.paints + ', ms | ' + fmt(Math.max(...paints)) + ' | | |',
      '| Today\'s JSON (`GET /api/today`), KiB | ' + fmt(today.body.length / 1024) + ' | | |',
      '| one milestone\'s page (`GET /api/milestone/ID`, ' + page.milestone.series.length + ' points), JSON KiB | ' + fmt(first.body.length / 1024) + ' | | |',
      '| ... time to get it, one request at a time, p50 ms | ' + fmt(median(times), 2) + ' | | |',
      '| ... p99 ms | ' + fmt(pct(times, 99), 2) + ' | | |',
      '| evidence through the web page, 8 clients × 1 in flight, puts/s (median of ' + size.rounds + ') | ' + fmt(webMed, 0) + ' | | |',
      '| evidence through the socket API, 8 clients × 1 in flight, puts/s (same run) | ' + fmt(sockMed, 0) + ' | | |',
      '| socket ÷ web, median of the ' + size.rounds + ' rounds\' ratios | ' + fmt(ratio, 2) + '× | ≤ 2× | ' + (ratio <= 2 ? 'yes' : '**no**') + ' |',
    ];
    const table = lines.join('\n') + '\n';
    process.stdout.write(table);
    if (OUT) fs.writeFileSync(OUT, table);
  } finally {
    if (d) await stopDaemon(d);
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

main().catch((e) => { console.error('web_bench: ' + (e.stack || e)); process.exit(1); });
