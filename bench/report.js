'use strict';
// bench/report.js: turns the JSON lines of one `bench/run` (cairn's
// bench_compare, the PouchDB peer's peer.js, the Hypercore peer's peer.js
// and bench_limits, each run once per round, every line tagged with its
// round) into the Markdown tables of docs/BENCHMARKS.md, "Side by side".
// Medians over the rounds; ratios are ratios of those medians. A peer that
// did not run (bench/run skips one it cannot install) shows "not run".
// Plain node, no packages.
//
// usage: node bench/report.js RESULTS.jsonl COMMAND ROUNDS
// Prints the Markdown on stdout. Exits 1 when a measurement is missing.

const fs = require('fs');
const os = require('os');
const { execFileSync } = require('child_process');

const [file, command, rounds] = process.argv.slice(2);
if (!file || !command || !rounds) {
  process.stderr.write('usage: node bench/report.js RESULTS.jsonl COMMAND ROUNDS\n');
  process.exit(2);
}
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
const rows = lines.map((l) => JSON.parse(l));

const PEERS = [
  ['pouchdb-leveldb', 'PouchDB, LevelDB (on disk, not fsync\'d)'],
  ['pouchdb-memory', 'PouchDB, memory (best case)'],
  ['hypercore', 'Hypercore 11 (on disk, not fsync\'d)'],
];
const SYSTEMS = [['cairn', 'cairn']].concat(PEERS);
const ran = (sys) => rows.some((r) => r.system === sys);

function median(v) {
  const s = v.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// The median over the rounds of field f of system sys's measure m.
function med(sys, m, f) {
  const v = rows.filter((r) => r.system === sys && r.measure === m).map((r) => r[f]);
  if (v.length === 0 || v.some((x) => typeof x !== 'number')) {
    process.stderr.write(`report: no ${f} for ${sys} ${m} in ${file}\n`);
    process.exit(1);
  }
  return median(v);
}

// The median, or undefined when sys did not run or does not measure m.
function opt(sys, m, f) {
  return ran(sys) && rows.some((r) => r.system === sys && r.measure === m) ? med(sys, m, f) : undefined;
}

function one(sys, m, f) {
  const r = rows.find((x) => x.system === sys && x.measure === m);
  return r ? r[f] : undefined;
}

const int = (v) => Math.round(v).toLocaleString('en-US');
const ms = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const secs = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const x = (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)) + '×';
const met = (ok) => (ok ? 'yes' : '**no**');
const mib = (kib) => (kib / 1024).toFixed(0);

function machineLine() {
  const cpus = os.cpus();
  let disk = 'unknown disk';
  try {
    const tmp = process.env.TMPDIR || '/tmp';
    const out = execFileSync('df', ['-h', '--output=source,fstype,size', tmp], { encoding: 'utf8' });
    const last = out.trim().split('\n').pop().trim().split(/\s+/);
    disk = `${tmp} on ${last[0]} (${last[1]}, ${last[2]})`;
  } catch (e) {
    // keep "unknown disk"
  }
  return `Linux ${os.release()}, ${cpus.length} × ${cpus[0].model.trim()}, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, temp dir ${disk}, node ${process.version}`;
}

const out = [];
const p = (s) => out.push(s);
const date = new Date().toISOString().replace(/T(\d\d:\d\d).*/, ' $1 UTC');
const n = one('cairn', 'full_push', 'entries');
const stormNodes = one('cairn', 'storm', 'nodes');
const stormEntries = one('cairn', 'storm', 'entries');
const tries = one('cairn', 'one_entry', 'tries');
const liveTries = one('cairn', 'live_entry', 'tries');
p(`Run ${date} with \`${command}\`: ${rounds} round(s), the systems in a different order ` +
  'each round; every figure is the median over the rounds.  ');
p(`Machine: ${machineLine()}.  `);
p(`Sizes: full push of ${int(n)} evidence entries; ${tries} one-entry and ${tries} no-op syncs ` +
  `with a reconnect and ${liveTries} one-entry syncs on a live link per round; ` +
  `storm of ${stormNodes} classrooms × ${int(stormEntries / stormNodes)} entries.  `);
p(`cairn: ${one('cairn', 'full_push', 'settings')}.  `);
for (const [sys, label] of PEERS.filter((s) => s[0] !== 'pouchdb-memory'))
  p(ran(sys) ? `${label.replace(/ \(.*/, '')}: ${one(sys, 'full_push', 'settings')}.  `
    : `${label.replace(/ \(.*/, '')}: not run (it could not be installed).  `);
p('');

// ---- the same work ----
// a cell: the figure, or why there is none
const cell = (sys, v, f) => (v !== undefined ? f(v) : ran(sys) ? '—' : 'not run');
const cells = (m, f, fmt) => SYSTEMS.map((s) => cell(s[0], opt(s[0], m, f), fmt)).join(' | ');
// a / b; for times (a: the peer's, b: cairn's) "N× faster" or "N× slower"
const ratio = (a, b, times) => {
  if (a === undefined || b === undefined) return '';
  if (!times) return x(a / b);
  return a >= b ? x(a / b) + ' faster' : x(b / a) + ' slower';
};
const metIf = (ok) => (ok === undefined ? '' : met(ok));
const get = (sys, m, f) => opt(sys, m, f);
p('| measurement | ' + SYSTEMS.map((s) => s[1]).join(' | ') +
  ' | cairn vs LevelDB | cairn vs Hypercore | target | met |');
p('|---|---:|---:|---:|---:|---:|---:|---|---|');
const push = get('cairn', 'full_push', 'rate');
const pushL = get('pouchdb-leveldb', 'full_push', 'rate');
const pushH = get('hypercore', 'full_push', 'rate');
p(`| full push of ${int(n)} entries, entries/s | ${cells('full_push', 'rate', int)} | ` +
  `${ratio(push, pushL)} | ${ratio(push, pushH)} | ≥ 250,000/s; ≥ 30× LevelDB | ` +
  `${met(push >= 250000)}; ${pushL === undefined ? 'not run' : met(push >= 30 * pushL)} |`);
const live = get('cairn', 'live_entry', 'p50_ms');
const liveH = get('hypercore', 'live_entry', 'p50_ms');
p(`| one new entry on a live link, p50 ms | ${cells('live_entry', 'p50_ms', ms)} | | ` +
  `${ratio(liveH, live, true)} | ≤ 1 ms | ${met(live <= 1)} |`);
p(`| one new entry on a live link, p99 ms | ${cells('live_entry', 'p99_ms', ms)} | | ` +
  `${ratio(get('hypercore', 'live_entry', 'p99_ms'), get('cairn', 'live_entry', 'p99_ms'), true)} | | |`);
const oneP50 = get('cairn', 'one_entry', 'p50_ms');
p(`| one new entry with a reconnect, p50 ms | ${cells('one_entry', 'p50_ms', ms)} | ` +
  `${ratio(get('pouchdb-leveldb', 'one_entry', 'p50_ms'), oneP50, true)} | | ≤ 1.5 ms | ${met(oneP50 <= 1.5)} |`);
p(`| one new entry with a reconnect, p99 ms | ${cells('one_entry', 'p99_ms', ms)} | ` +
  `${ratio(get('pouchdb-leveldb', 'one_entry', 'p99_ms'), get('cairn', 'one_entry', 'p99_ms'), true)} | | | |`);
p(`| no-op sync, p50 ms | ${cells('noop', 'p50_ms', ms)} | ` +
  `${ratio(get('pouchdb-leveldb', 'noop', 'p50_ms'), get('cairn', 'noop', 'p50_ms'), true)} | | | |`);
p(`| storm: ${stormNodes} classrooms × ${int(stormEntries / stormNodes)} entries at once, ` +
  `s until the central holds all | ${cells('storm', 'median_s', secs)} | ` +
  `${ratio(get('pouchdb-leveldb', 'storm', 'median_s'), get('cairn', 'storm', 'median_s'), true)} | | | |`);
p('');
p('Where cairn\'s live one-entry time goes (medians over the rounds of each round\'s p50): ' +
  `the put, until the classroom's durable commit is acknowledged, ${ms(get('cairn', 'live_entry', 'put_p50_ms'))} ms; ` +
  `from that acknowledgement until the central's receipt is back at the classroom, ` +
  `${ms(get('cairn', 'live_entry', 'ack_to_receipt_p50_ms'))} ms. ` +
  `One raw LMDB durable commit (one small value, fsync) on the same disk in the same run: ` +
  `${ms(get('cairn', 'live_entry', 'lmdb_commit_p50_ms'))} ms p50; the live path holds two in series ` +
  '(the classroom\'s and the central\'s).' +
  (liveH !== undefined ? ` Hypercore's append alone (no fsync) took ${ms(get('hypercore', 'live_entry', 'append_p50_ms'))} ms p50.` : ''));
p('');

// ---- resource use ----
p('Resource use during each measurement: CPU seconds and peak RSS (MiB) of the central ' +
  '("server") and of the classroom side ("client"). One-entry and no-op: CPU per sync. ' +
  'Storm, client side: cairn runs one daemon per classroom, so its figures are sums over ' +
  `the ${stormNodes} daemons; PouchDB's sources all live in one node process. ` +
  'Hypercore: the receiving clone is the server, the source the client; its peaks are over each ' +
  'process\'s life.');
p('');
p('| measurement | side | ' + SYSTEMS.map((s) => `${s[1]}: CPU s | peak MiB`).join(' | ') + ' |');
p('|---|---|' + SYSTEMS.map(() => '---:|---:|').join(''));
for (const [m, label] of [['full_push', 'full push'], ['live_entry', 'one new entry, live link'],
  ['one_entry', 'one new entry, reconnect'], ['noop', 'no-op sync'], ['storm', 'storm']]) {
  for (const side of ['server', 'client']) {
    const cs = SYSTEMS.map((s) => {
      const cpu = opt(s[0], m, `${side}_cpu_s`);
      if (cpu === undefined) return `${cell(s[0], undefined)} | `;
      return `${cpu < 0.1 ? cpu.toFixed(3) : cpu.toFixed(2)} | ${mib(med(s[0], m, `${side}_peak_kib`))}`;
    });
    p(`| ${label} | ${side} | ` + cs.join(' | ') + ' |');
  }
}
p('');

// ---- the machine's limits ----
const lim = (m, f) => med('limits', m, f);
const limits = [
  ['raw LMDB synced batch insert (4,000 entries per fsync\'d commit)', lim('lmdb_synced_batch', 'entries_per_s'),
    lim('lmdb_synced_batch', 'mb_per_s')],
  ['libsodium secretstream, 64 KiB messages (as cairn\'s transport records)',
    lim('secretstream_64k', 'entries_per_s'), lim('secretstream_64k', 'mb_per_s')],
  ['libsodium secretstream, one message per entry (for reference: cairn never encrypts entry by entry)',
    lim('secretstream_entry', 'entries_per_s'), lim('secretstream_entry', 'mb_per_s'), 'reference'],
  [`Ed25519 verify: ${int(lim('ed25519_verify', 'verifies_per_s'))}/s, at one signature per 4,000-entry batch`,
    lim('ed25519_verify', 'entries_per_s'), null],
  ['loopback TCP', lim('tcp_loopback', 'entries_per_s'), lim('tcp_loopback', 'mb_per_s')],
];
// the tightest of the limits cairn's sync actually meets
const tight = limits.filter((l) => l[3] !== 'reference').reduce((a, b) => (b[1] < a[1] ? b : a));
p(`The machine's limits on the same entry bytes (${one('limits', 'lmdb_synced_batch', 'entry_bytes').toFixed(0)} ` +
  'bytes each on average), measured in the same run by bench_limits:');
p('');
p('| limit | entries/s | MB/s | cairn\'s full push as a fraction |');
p('|---|---:|---:|---:|');
for (const l of limits)
  p(`| ${l[0]}${l === tight ? ' (tightest)' : ''} | ${int(l[1])} | ${l[2] === null ? '' : l[2].toFixed(0)} | ` +
    `${(100 * push / l[1]).toFixed(1)}% |`);
p('');
const frac = push / tight[1];
p(`cairn's sync throughput is ${(100 * frac).toFixed(1)}% of the tightest limit ` +
  `(target ≥ 40%: ${met(frac >= 0.4)}).`);
process.stdout.write(out.join('\n') + '\n');
