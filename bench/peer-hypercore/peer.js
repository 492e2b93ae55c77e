'use strict';
// The Hypercore side of cairn's side-by-side sync benchmark.
// `node peer.js --help` says what it measures; README.md says why.
// Stdout carries one JSON object per measurement per line, nothing else;
// progress and errors go to stderr. With --writer it is the child process
// that holds the source core (started by the same file, never by hand).

const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const HELP = `usage: node bench/peer-hypercore/peer.js [--entries N] [--tries T] [--quick]

Two processes on 127.0.0.1, as cairn's two daemons: a child holds the source
core (Hypercore 11, its default storage on disk under a temp dir) with N
entries of about 300 bytes appended before timing starts; this process opens
an empty clone of it on disk, connects over TCP (TCP_NODELAY on both sockets)
and replicates. Prints on stdout one JSON line per measurement:

  full_push   from opening the clone until it holds all N blocks
              (median_s, rate = blocks/s)
  live_entry  then, T times on the same connection: one block appended to the
              source, from the start of the append (in the child) until the
              clone holds it (both processes read the same monotonic clock)
              (p50_ms, p99_ms; append_p50_ms: the source's append alone)

Every line also has server_cpu_s, server_peak_kib, client_cpu_s and
client_peak_kib: CPU seconds of the clone's process ("server": the side that
receives, as cairn's central) and of the source's ("client") during the
measurement, and each process's peak RSS over its life.

Hypercore's storage (RocksDB through hypercore-storage) does not fsync each
append: what it acknowledges reaches the OS, not the disk.

options (defaults in brackets):
  --entries N   blocks in full_push [100000; 5000 with --quick]
  --tries T     live one-block tries [50; 10 with --quick]
  --quick       the quick sizes above, for any size not given
  --help        this text

Exits 0 when every measurement ran and the clone verified, 1 with a
one-line reason on stderr otherwise. Both temp dirs are removed at exit.
`;

// The same evidence document as the PouchDB peer's (bench/peer/peer.js):
// 318 bytes of JSON, against cairn's entries of about 300 bytes of body.
const NOTE = 'Read the grade-level passage aloud with two self-corrections ' +
  'and answered four of five comprehension questions; needed one prompt to ' +
  'find evidence in the text. Will try a graphic organizer next week.';

// Pause between live tries, as in cairn's: each block goes alone onto an
// idle link.
const LIVE_GAP_MS = 20;
const BATCH = 1000;

function log(msg) {
  process.stderr.write('hypercore-peer: ' + msg + '\n');
}

function fail(msg) {
  log(msg);
  process.exit(1);
}

function block(n) {
  return Buffer.from(JSON.stringify({
    _id: 'ev-0-' + n,
    type: 'evidence',
    student: 'st-' + String(n % 32).padStart(3, '0'),
    milestone: 'ms-' + String(n % 96).padStart(3, '0'),
    observed: '2026-11-02',
    value: (n % 9) / 2,
    note: NOTE,
  }));
}

function loadHypercore() {
  try {
    return require('hypercore');
  } catch (e) {
    fail('hypercore is not installed: run bench/peer-hypercore/install.sh (' + e.message + ')');
  }
}

function tmpDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-hypercore-' + tag + '-'));
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function peakKiB() {
  return process.resourceUsage().maxRSS;
}

// ---- the child: the source core ----------------------------------------------

async function writer() {
  const Hypercore = loadHypercore();
  const dir = tmpDir('source');
  const core = new Hypercore(dir);
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanup);
  process.on('disconnect', () => process.exit(0));
  await core.ready();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const stream = core.replicate(false);
    socket.pipe(stream).pipe(socket);
    stream.on('error', () => socket.destroy());
    socket.on('error', () => stream.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', async (m) => {
    try {
      if (m.op === 'fill') {
        for (let done = 0; done < m.n; done += BATCH) {
          const batch = [];
          for (let i = done; i < Math.min(m.n, done + BATCH); i++) batch.push(block(i));
          await core.append(batch);
        }
        process.send({ op: 'filled', length: core.length, bytes: core.byteLength });
      } else if (m.op === 'append') {
        const t0 = process.hrtime.bigint();
        const { length } = await core.append(block(m.n));
        const t1 = process.hrtime.bigint();
        process.send({ op: 'appended', t0: t0.toString(), t1: t1.toString(), index: length - 1 });
      } else if (m.op === 'usage') {
        process.send({ op: 'usage', cpu: cpuSeconds(), peak: peakKiB() });
      }
    } catch (e) {
      log('source: ' + e.message);
      process.exit(1);
    }
  });
  process.send({ op: 'ready', port: server.address().port, key: core.key.toString('hex') });
}

// ---- this process: the clone ----------------------------------------------------

function parseArgs(argv) {
  const opts = { entries: null, tries: null, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (a === '--quick') {
      opts.quick = true;
    } else if (a === '--entries' || a === '--tries') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) fail(a + ': expected a positive integer, got ' + argv[i]);
      opts[a.slice(2)] = v;
    } else {
      fail("unknown argument '" + a + "' (see --help)");
    }
  }
  if (opts.entries === null) opts.entries = opts.quick ? 5000 : 100000;
  if (opts.tries === null) opts.tries = opts.quick ? 10 : 50;
  return opts;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const Hypercore = loadHypercore();
  const child = childProcess.fork(__filename, ['--writer'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const waiting = [];
  child.on('message', (m) => {
    const w = waiting.findIndex((x) => x.op === m.op);
    if (w >= 0) waiting.splice(w, 1)[0].resolve(m);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) fail('the source process exited with status ' + code);
  });
  const reply = (op) => new Promise((resolve) => waiting.push({ op, resolve }));
  const ask = (m, op) => {
    const r = reply(op);
    child.send(m);
    return r;
  };

  const ready = await reply('ready');
  log(`full push: appending ${opts.entries} blocks to the source`);
  const filled = await ask({ op: 'fill', n: opts.entries }, 'filled');
  if (filled.length !== opts.entries) fail('the source holds ' + filled.length + ' blocks');

  const dir = tmpDir('clone');
  process.on('exit', () => {
    fs.rmSync(dir, { recursive: true, force: true });
    child.kill();
  });
  const usage0 = await ask({ op: 'usage' }, 'usage');
  const cpu0 = cpuSeconds();
  log('full push: replicating');
  const t0 = process.hrtime.bigint();
  const clone = new Hypercore(dir, Buffer.from(ready.key, 'hex'));
  await clone.ready();
  const socket = net.connect(ready.port, '127.0.0.1');
  socket.setNoDelay(true);
  const stream = clone.replicate(true);
  socket.pipe(stream).pipe(socket);
  let closing = false;
  stream.on('error', (e) => closing || fail('replication stream: ' + e.message));
  // every block, and every later one (end: -1 keeps the range live)
  clone.download({ start: 0, end: -1 });
  // the clone's 'download' event fires once per block it stores
  let listeners = [];
  clone.on('download', (index) => {
    const now = process.hrtime.bigint();
    listeners = listeners.filter((l) => !l(index, now));
  });
  const until = (pred) => new Promise((resolve) => {
    if (pred()) return resolve(process.hrtime.bigint());
    listeners.push((index, now) => (pred(index) ? (resolve(now), true) : false));
  });
  await until(() => clone.contiguousLength === opts.entries);
  const t1 = process.hrtime.bigint();
  const usage1 = await ask({ op: 'usage' }, 'usage');
  const secs = Number(t1 - t0) / 1e9;
  // verify what arrived: the last block's bytes and the length
  const last = await clone.get(opts.entries - 1);
  if (!last.equals(block(opts.entries - 1))) fail('the clone holds a different last block');
  log(`full push: ${opts.entries} blocks in ${secs.toFixed(2)} s`);
  const settings = 'hypercore@' + require('hypercore/package.json').version +
    ' (storage: hypercore-storage on RocksDB, no fsync per append), two processes, ' +
    'replicate() over TCP loopback with TCP_NODELAY, download({start: 0, end: -1}), ' +
    'node=' + process.version;
  const line = (o) => process.stdout.write(JSON.stringify(Object.assign({ system: 'hypercore' }, o, { settings })) + '\n');
  line({
    measure: 'full_push', entries: opts.entries, median_s: secs, rate: opts.entries / secs,
    block_bytes: filled.bytes / filled.length,
    server_cpu_s: cpuSeconds() - cpu0, server_peak_kib: peakKiB(),
    client_cpu_s: usage1.cpu - usage0.cpu, client_peak_kib: usage1.peak,
  });

  // ---- one new block on the live link ----
  const ms = [];
  const appendMs = [];
  const uS0 = await ask({ op: 'usage' }, 'usage');
  const cpuS0 = cpuSeconds();
  for (let i = 0; i < opts.tries; i++) {
    await new Promise((resolve) => setTimeout(resolve, LIVE_GAP_MS));
    const want = opts.entries + i;
    const got = until((index) => index === want || clone.contiguousLength > want);
    const a = await ask({ op: 'append', n: want }, 'appended');
    if (a.index !== want) fail('the source appended block ' + a.index + ', not ' + want);
    const at = await got;
    ms.push(Number(at - BigInt(a.t0)) / 1e6);
    appendMs.push(Number(BigInt(a.t1) - BigInt(a.t0)) / 1e6);
  }
  const u = await ask({ op: 'usage' }, 'usage');
  ms.sort((a, b) => a - b);
  appendMs.sort((a, b) => a - b);
  line({
    measure: 'live_entry', tries: opts.tries, p50_ms: pct(ms, 50), p99_ms: pct(ms, 99),
    append_p50_ms: pct(appendMs, 50), cpu_per: 'sync',
    server_cpu_s: (cpuSeconds() - cpuS0) / opts.tries, server_peak_kib: peakKiB(),
    client_cpu_s: (u.cpu - uS0.cpu) / opts.tries, client_peak_kib: u.peak,
  });
  closing = true;
  socket.destroy();
  await clone.close();
  process.exit(0);
}

if (process.argv[2] === '--writer') {
  writer().catch((e) => fail('source: ' + e.message));
} else {
  main().catch((e) => fail(e.message));
}
