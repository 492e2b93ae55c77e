'use strict';
// The PouchDB side of cairn's side-by-side sync benchmark.
// `node peer.js --help` says what it measures; README.md says why.
// Stdout carries one JSON object per measurement per line, nothing else;
// progress and errors go to stderr.

const childProcess = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const vm = require('vm');

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

const HELP = `usage: node bench/peer/peer.js [--adapter leveldb|memory] [--entries N]
         [--tries T] [--storm-nodes K] [--storm-entries M] [--reps R]
         [--tmp DIR] [--batch-size B] [--batches-limit L] [--quick]

Runs express-pouchdb on 127.0.0.1 as a child process (server.js) whose
databases use ADAPTER (leveldb: pouchdb-node on disk under a temp dir;
memory: memdown, the peer's best case), and from this process replicates
memory-adapter PouchDB databases to it over HTTP. Prints on stdout one JSON
line per measurement:

  full_push  N entries pushed one-shot to a fresh server db; R reps
             (median_s, rate = entries/s)
  one_entry  then, T times: put 1 entry in the source and replicate one-shot
             (p50_ms, p99_ms; time covers the put and the replication)
  noop       then, T times: replicate one-shot with nothing new (p50_ms, p99_ms)
  storm      K sources of M entries each replicate at once (started in one
             tick) to one fresh server db; R reps (median_s, rate)

Every line also has server_cpu_s, server_peak_kib, client_cpu_s and
client_peak_kib: CPU seconds (utime+stime) and peak RSS (VmHWM, reset before
each measurement) of the server and of this process. For full_push and storm
they are medians over the reps; for one_entry and noop the CPU is the mean
per try and the peak is over all T tries.

options (defaults in brackets):
  --adapter A         server storage: leveldb or memory [leveldb]
  --entries N         entries in full_push [100000; 5000 with --quick]
  --tries T           tries of one_entry and of noop [20; 5 with --quick]
  --storm-nodes K     sources in the storm [200; 20 with --quick]
  --storm-entries M   entries per storm source [500; 50 with --quick]
  --reps R            repetitions of full_push and storm [3; 1 with --quick]
  --tmp DIR           where to make the server's temp dir [the OS temp dir]
  --batch-size B      replication batch_size [1000]
  --batches-limit L   replication batches_limit [10]
  --quick             the quick sizes above, for any size not given
  --help              this text

Exits 0 when every measurement ran and verified, 1 with a one-line reason
on stderr otherwise. The server is killed and its temp dir removed at exit,
also on error, SIGINT and SIGTERM.
`;

const SIZES = {
  entries: { full: 100000, quick: 5000 },
  tries: { full: 20, quick: 5 },
  'storm-nodes': { full: 200, quick: 20 },
  'storm-entries': { full: 500, quick: 50 },
  reps: { full: 3, quick: 1 },
  'batch-size': { full: 1000, quick: 1000 },
  'batches-limit': { full: 10, quick: 10 },
};

const NOTE = 'Read the grade-level passage aloud with two self-corrections ' +
  'and answered four of five comprehension questions; needed one prompt to ' +
  'find evidence in the text. Will try a graphic organizer next week.';

const CLK_TCK = 100; // USER_HZ; Linux reports /proc/PID/stat times in it

class Failure extends Error {}

function log(msg) {
  process.stderr.write('peer: ' + msg + '\n');
}

function parseArgs(argv) {
  const given = {};
  let adapter = 'leveldb';
  let tmp = os.tmpdir();
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--help' || key === '-h') {
      process.stdout.write(HELP);
      process.exit(0);
    }
    if (key === '--quick') {
      quick = true;
      continue;
    }
    const val = argv[++i];
    if (val === undefined) throw new Failure(key + ' needs a value');
    const name = key.slice(2);
    if (key === '--adapter') {
      if (val !== 'leveldb' && val !== 'memory') {
        throw new Failure('--adapter must be leveldb or memory');
      }
      adapter = val;
    } else if (key === '--tmp') {
      tmp = val;
    } else if (key.startsWith('--') && SIZES[name]) {
      if (!/^[1-9][0-9]*$/.test(val)) {
        throw new Failure(key + ' must be a positive integer, not ' + val);
      }
      given[name] = Number(val);
    } else {
      throw new Failure('unknown argument ' + key + ' (see --help)');
    }
  }
  const opts = { adapter: adapter, tmp: tmp };
  for (const name of Object.keys(SIZES)) {
    opts[name] = name in given ? given[name] : SIZES[name][quick ? 'quick' : 'full'];
  }
  return opts;
}

// --- the documents -------------------------------------------------------

function evidence(node, n) {
  return {
    _id: 'ev-' + node + '-' + n,
    type: 'evidence',
    student: 'st-' + String(n % 32).padStart(3, '0'),
    milestone: 'ms-' + String(n % 96).padStart(3, '0'),
    observed: '2026-11-02',
    value: (n % 9) / 2,
    note: NOTE,
  };
}

async function fill(db, node, from, count) {
  for (let done = 0; done < count; done += 1000) {
    const docs = [];
    for (let n = from + done; n < from + Math.min(count, done + 1000); n++) {
      docs.push(evidence(node, n));
    }
    const res = await db.bulkDocs(docs);
    for (const r of res) {
      if (r.error) throw new Failure('filling ' + node + ': ' + r.message);
    }
  }
}

// --- the server process ---------------------------------------------------

const state = { server: null, dir: null };

function cleanup() {
  if (state.server && state.server.exitCode === null) {
    state.server.kill('SIGKILL');
  }
  state.server = null;
  if (state.dir) {
    fs.rmSync(state.dir, { recursive: true, force: true });
    state.dir = null;
  }
}

function startServer(adapter, tmp) {
  state.dir = fs.mkdtempSync(path.join(tmp, 'cairn-peer-'));
  const child = childProcess.spawn(process.execPath,
    ['--expose-gc', path.join(__dirname, 'server.js'), '--adapter', adapter, '--dir', state.dir],
    { cwd: state.dir, stdio: ['pipe', 'pipe', 'inherit'] });
  state.server = child;
  return new Promise(function (resolve, reject) {
    let out = '';
    const timer = setTimeout(function () {
      reject(new Failure('server did not report its port within 30 s'));
    }, 30000);
    child.stdout.on('data', function (chunk) {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, nl)).port);
      } catch (err) {
        reject(new Failure('server said ' + out.slice(0, nl)));
      }
    });
    child.on('exit', function (code, signal) {
      clearTimeout(timer);
      if (state.server !== child) return;
      const why = 'server exited (' + (signal || 'code ' + code) + ')';
      reject(new Failure(why));
      log(why);
      cleanup();
      process.exit(1);
    });
  });
}

// --- CPU and peak memory of both processes -----------------------------------

function cpuSeconds(pid) {
  const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

function peakKiB(pid) {
  const status = fs.readFileSync('/proc/' + pid + '/status', 'utf8');
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Failure('no VmHWM in /proc/' + pid + '/status');
  return Number(m[1]);
}

function resetPeak(pid) {
  fs.writeFileSync('/proc/' + pid + '/clear_refs', '5');
}

// Runs fn with both processes' garbage collected and peaks reset; returns
// its result with the CPU seconds each process spent meanwhile and each
// one's peak RSS.
async function measured(client, fn) {
  const pid = state.server.pid;
  await client.collectGarbage();
  resetPeak(pid);
  resetPeak('self');
  const serverCpu = cpuSeconds(pid);
  const clientCpu = process.cpuUsage();
  const result = await fn();
  const usage = process.cpuUsage(clientCpu);
  return {
    result: result,
    server_cpu_s: cpuSeconds(pid) - serverCpu,
    server_peak_kib: peakKiB(pid),
    client_cpu_s: (usage.user + usage.system) / 1e6,
    client_peak_kib: peakKiB('self'),
  };
}

// --- statistics and output ---------------------------------------------------

function sorted(xs) {
  return xs.slice().sort(function (a, b) { return a - b; });
}

function median(xs) {
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function percentile(xs, p) { // nearest rank
  const s = sorted(xs);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)];
}

function round(x, digits) {
  const f = Math.pow(10, digits);
  return Math.round(x * f) / f;
}

function resources(runs, perTry) {
  const cpu = function (key) {
    return perTry ? runs[0][key] / perTry : median(runs.map(function (r) { return r[key]; }));
  };
  return {
    server_cpu_s: round(cpu('server_cpu_s'), 4),
    server_peak_kib: median(runs.map(function (r) { return r.server_peak_kib; })),
    client_cpu_s: round(cpu('client_cpu_s'), 4),
    client_peak_kib: median(runs.map(function (r) { return r.client_peak_kib; })),
  };
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// --- replication ---------------------------------------------------------------

function makeClient(opts, port) {
  const PouchDB = require('pouchdb-core')
    .plugin(require('pouchdb-adapter-memory'))
    .plugin(require('pouchdb-adapter-http'))
    .plugin(require('pouchdb-replication'));
  const agent = new http.Agent({ keepAlive: true });
  const fetch = function (url, init) {
    return PouchDB.fetch(url, Object.assign({}, init, { agent: agent }));
  };
  const base = 'http://127.0.0.1:' + port + '/';
  let memoryDbs = 0;
  return {
    PouchDB: PouchDB,
    source: function () {
      return new PouchDB('source-' + memoryDbs++, { adapter: 'memory' });
    },
    target: function (name) {
      return new PouchDB(base + name, { fetch: fetch });
    },
    // another connection object to the same server db
    reconnect: function (target) {
      return new PouchDB(target.name, { fetch: fetch });
    },
    collectGarbage: async function () {
      collectGarbage();
      const res = await fetch(base + '_bench_gc', { method: 'POST' });
      if (!(await res.json()).ok) throw new Failure('server cannot collect garbage');
    },
    replicate: async function (source, target) {
      const res = await PouchDB.replicate(source, target, {
        batch_size: opts['batch-size'],
        batches_limit: opts['batches-limit'],
      });
      if (!res.ok || res.doc_write_failures || (res.errors && res.errors.length)) {
        throw new Failure('replication to ' + target.name + ' failed: ' +
          JSON.stringify(res.errors || res));
      }
      return res;
    },
  };
}

async function expectDocCount(target, want) {
  const info = await target.info();
  if (info.doc_count !== want) {
    throw new Failure(target.name + ' has doc_count ' + info.doc_count + ', expected ' + want);
  }
}

// R reps of a timed run, each after an untimed prepare(rep, previous)
// returning what run(ctx) needs; each rep is measured. Returns the last ctx
// and the line's figures: every rep's seconds, their median, entries/s.
async function timedReps(client, opts, measure, entries, prepare, run) {
  const runs = [];
  let ctx = null;
  for (let rep = 0; rep < opts.reps; rep++) {
    ctx = await prepare(rep, ctx);
    const one = await measured(client, async function () {
      const t0 = process.hrtime.bigint();
      await run(ctx);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    });
    log(measure + ' rep ' + (rep + 1) + '/' + opts.reps + ': ' + one.result.toFixed(2) + ' s');
    runs.push(one);
  }
  const reps = runs.map(function (r) { return round(r.result, 3); });
  return {
    ctx: ctx,
    figures: Object.assign({
      measure: measure, entries: entries, reps: reps,
      median_s: round(median(reps), 3), rate: Math.round(entries / median(reps)),
    }, resources(runs)),
  };
}

// Each rep pushes to a fresh db on a server holding nothing else.
function freshTarget(client, prefix) {
  return async function (rep, previous) {
    if (previous) await previous.destroy();
    return client.target(prefix + rep);
  };
}

async function fullPush(client, opts, source) {
  const n = opts.entries;
  return timedReps(client, opts, 'full_push', n, freshTarget(client, 'full-'),
    async function (target) {
      await client.replicate(source, target);
      await expectDocCount(target, n);
    });
}

// T one-shot replications of source to target; before each, put() makes
// the entry to send (none for noop). Returns the measurement line.
async function tries(client, opts, source, target, measure, put) {
  const ms = [];
  const run = await measured(client, async function () {
    for (let i = 0; i < opts.tries; i++) {
      const t0 = process.hrtime.bigint();
      if (put) await put(i);
      const res = await client.replicate(source, target);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (res.docs_written !== (put ? 1 : 0)) {
        throw new Failure(measure + ' wrote ' + res.docs_written + ' docs');
      }
    }
  });
  log(measure + ': p50 ' + percentile(ms, 0.5).toFixed(1) + ' ms');
  return Object.assign({
    measure: measure, entries: opts.entries, tries: opts.tries,
    ms: ms.map(function (x) { return round(x, 2); }),
    p50_ms: round(percentile(ms, 0.5), 2), p99_ms: round(percentile(ms, 0.99), 2),
  }, resources([run], opts.tries));
}

async function stormOfSources(client, opts) {
  const k = opts['storm-nodes'];
  const m = opts['storm-entries'];
  const sources = [];
  for (let i = 0; i < k; i++) {
    const db = client.source();
    await fill(db, 'n' + i, 0, m);
    sources.push(db);
  }
  log('storm: ' + k + ' sources of ' + m + ' entries filled');
  const storm = await timedReps(client, opts, 'storm', k * m, freshTarget(client, 'storm-'),
    async function (target) {
      // all K replications start in this tick, each with its own connection
      // object as K separate devices would have
      await Promise.all(sources.map(function (db) {
        return client.replicate(db, client.reconnect(target));
      }));
      await expectDocCount(target, k * m);
    });
  return Object.assign(storm.figures, { nodes: k, entries_per_node: m });
}

function settingsLine(opts) {
  const version = function (pkg) {
    return require(pkg + '/package.json').version;
  };
  return 'batch_size=' + opts['batch-size'] +
    ' batches_limit=' + opts['batches-limit'] +
    ' checkpoint=source+target(default) http_keepalive=on' +
    ' client=pouchdb-core@' + version('pouchdb-core') + '(memory)' +
    ' server=express-pouchdb@' + version('express-pouchdb') +
    '(minimumForPouchDB)+pouchdb-node@' + version('pouchdb-node') +
    '(' + (opts.adapter === 'leveldb' ? 'leveldb' : 'memdown') + ')' +
    ' node=' + process.version;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const system = 'pouchdb-' + opts.adapter;
  const settings = settingsLine(opts);
  log(system + ': ' + settings);
  const port = await startServer(opts.adapter, opts.tmp);
  const client = makeClient(opts, port);
  const out = function (line) {
    emit(Object.assign({ system: system }, line, { settings: settings }));
  };

  const source = client.source();
  await fill(source, 'n0', 0, opts.entries);
  log('source filled: ' + opts.entries + ' entries of ' +
    JSON.stringify(evidence('n0', 0)).length + ' bytes');
  const full = await fullPush(client, opts, source);
  out(full.figures);

  let next = opts.entries;
  out(await tries(client, opts, source, full.ctx, 'one_entry', function () {
    return source.put(evidence('n0', next++));
  }));
  await expectDocCount(full.ctx, next);
  out(await tries(client, opts, source, full.ctx, 'noop', null));
  // the storm starts from an empty server and a client holding only its K
  // sources
  await full.ctx.destroy();
  await source.destroy();
  out(await stormOfSources(client, opts));
}

function die(reason) {
  log(reason);
  cleanup();
  process.exit(1);
}

process.on('exit', cleanup);
process.on('SIGINT', function () { die('interrupted (SIGINT)'); });
process.on('SIGTERM', function () { die('terminated (SIGTERM)'); });
main().then(function () {
  cleanup();
  process.exit(0);
}, function (err) {
  if (!(err instanceof Failure) && process.env.PEER_DEBUG) log(err && err.stack);
  die(err instanceof Failure ? err.message : String(err).split('\n')[0]);
});
