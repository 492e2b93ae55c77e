'use strict';
// bench/report.js: turns the JSON lines of one `bench/run` (cairn's
// bench_compare, the PouchDB peer's peer.js and bench_limits, each run once
// per round, every line tagged with its round) into the Markdown tables of
// docs/BENCHMARKS.md, "Side by side". Medians over the rounds; ratios are
// ratios of those medians. Plain node, no packages.
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

const SYSTEMS = [
  ['cairn', 'cairn'],
  ['pouchdb-leveldb', 'PouchDB, LevelDB (on disk, not fsync\'d)'],
  ['pouchdb-memory', 'PouchDB, memory (best case)'],
];

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
p(`Run ${date} with \`${command}\`: ${rounds} round(s), the systems in a different order ` +
  'each round; every figure is the median over the rounds.  ');
p(`Machine: ${machineLine()}.  `);
p(`Sizes: full push of ${int(n)} evidence entries; ${tries} one-entry and ${tries} no-op syncs ` +
  `per round; storm of ${stormNodes} classrooms × ${int(stormEntries / stormNodes)} entries.  `);
p(`cairn: ${one('cairn', 'full_push', 'settings')}. ` +
  `PouchDB: ${one('pouchdb-leveldb', 'full_push', 'settings')}.`);
p('');

// ---- the same work ----
p('| measurement | ' + SYSTEMS.map((s) => s[1]).join(' | ') +
  ' | cairn vs LevelDB | target | met |');
p('|---|---:|---:|---:|---:|---|---|');
const push = SYSTEMS.map((s) => med(s[0], 'full_push', 'rate'));
p(`| full push of ${int(n)} entries, entries/s | ` + push.map(int).join(' | ') +
  ` | ${x(push[0] / push[1])} | ≥ 25× | ${met(push[0] >= 25 * push[1])} |`);
const oneP50 = SYSTEMS.map((s) => med(s[0], 'one_entry', 'p50_ms'));
p('| one new entry after that, p50 ms | ' + oneP50.map(ms).join(' | ') +
  ` | ${x(oneP50[1] / oneP50[0])} faster | ≥ 5× | ${met(oneP50[1] >= 5 * oneP50[0])} |`);
const oneP99 = SYSTEMS.map((s) => med(s[0], 'one_entry', 'p99_ms'));
p('| one new entry, p99 ms | ' + oneP99.map(ms).join(' | ') +
  ` | ${x(oneP99[1] / oneP99[0])} faster | | |`);
const noop = SYSTEMS.map((s) => med(s[0], 'noop', 'p50_ms'));
p('| no-op sync, p50 ms | ' + noop.map(ms).join(' | ') + ` | ${x(noop[1] / noop[0])} faster | | |`);
const storm = SYSTEMS.map((s) => med(s[0], 'storm', 'median_s'));
p(`| storm: ${stormNodes} classrooms × ${int(stormEntries / stormNodes)} entries at once, ` +
  's until the central holds all | ' + storm.map(secs).join(' | ') +
  ` | ${x(storm[1] / storm[0])} faster | | |`);
p('');

// ---- resource use ----
p('Resource use during each measurement: CPU seconds and peak RSS (MiB) of the central ' +
  '("server") and of the classroom side ("client"). One-entry and no-op: CPU per sync. ' +
  'Storm, client side: cairn runs one daemon per classroom, so its figures are sums over ' +
  `the ${stormNodes} daemons; PouchDB's sources all live in one node process.`);
p('');
p('| measurement | side | ' + SYSTEMS.map((s) => `${s[1]}: CPU s | peak MiB`).join(' | ') + ' |');
p('|---|---|' + SYSTEMS.map(() => '---:|---:|').join(''));
for (const [m, label] of [['full_push', 'full push'], ['one_entry', 'one new entry'],
  ['noop', 'no-op sync'], ['storm', 'storm']]) {
  for (const side of ['server', 'client']) {
    const cells = SYSTEMS.map((s) => {
      const cpu = med(s[0], m, `${side}_cpu_s`);
      return `${cpu < 0.1 ? cpu.toFixed(3) : cpu.toFixed(2)} | ${mib(med(s[0], m, `${side}_peak_kib`))}`;
    });
    p(`| ${label} | ${side} | ` + cells.join(' | ') + ' |');
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
    `${(100 * push[0] / l[1]).toFixed(1)}% |`);
p('');
const frac = push[0] / tight[1];
p(`cairn's sync throughput is ${(100 * frac).toFixed(1)}% of the tightest limit ` +
  `(target ≥ 40%: ${met(frac >= 0.4)}).`);
process.stdout.write(out.join('\n') + '\n');
