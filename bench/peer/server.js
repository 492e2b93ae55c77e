'use strict';
// The receiving side of the PouchDB benchmark: express-pouchdb on
// 127.0.0.1, on an ephemeral port, with every database stored by one adapter.
//
//   node server.js --adapter leveldb|memory --dir DIR
//
// leveldb keeps each database under DIR (pouchdb-node, leveldown); memory
// keeps them in this process (memdown), the peer's best case. Once listening
// it prints one line, {"port":N}, on stdout. Run with node --expose-gc so
// that POST /_bench_gc can collect garbage. It exits when its stdin closes,
// so it never outlives peer.js, and then removes DIR if peer.js made it
// (its name starts with cairn-peer-). Run it with DIR as its working directory:
// nothing is written anywhere else.

const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write('peer server: ' + msg + '\n');
  process.exit(1);
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const val = argv[i + 1];
    if (key !== '--adapter' && key !== '--dir') fail('unknown argument ' + key);
    if (val === undefined) fail(key + ' needs a value');
    args[key.slice(2)] = val;
  }
  if (args.adapter !== 'leveldb' && args.adapter !== 'memory') {
    fail('--adapter must be leveldb or memory');
  }
  if (!args.dir || !fs.statSync(args.dir, { throwIfNoEntry: false })) {
    fail('--dir must name an existing directory');
  }
  return args;
}

function makePouchDB(adapter, dir) {
  const PouchDB = require('pouchdb-node');
  if (adapter === 'memory') {
    PouchDB.plugin(require('pouchdb-adapter-memory'));
    return PouchDB.defaults({ adapter: 'memory' });
  }
  return PouchDB.defaults({ prefix: path.resolve(dir) + path.sep });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  process.chdir(args.dir);
  const PouchDB = makePouchDB(args.adapter, args.dir);
  const app = require('express')();
  // Not CouchDB: lets peer.js collect garbage here, untimed, before each
  // measurement, so each peak starts from what is live (needs --expose-gc).
  app.post('/_bench_gc', function (req, res) {
    if (global.gc) global.gc();
    res.json({ ok: Boolean(global.gc) });
  });
  // minimumForPouchDB: the routes replication uses, and none of the
  // config/log infrastructure (no config.json, no log.txt, no request log).
  app.use(require('express-pouchdb')(PouchDB, {
    mode: 'minimumForPouchDB',
    inMemoryConfig: true,
  }));
  const server = app.listen(0, '127.0.0.1', function () {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  });
  // The client keeps connections alive; a server closing an idle one just as
  // the client reuses it makes "socket hang up" (5 s by default, which a
  // busy storm reaches), so idle connections stay open for the whole run.
  server.keepAliveTimeout = 600000;
  server.headersTimeout = 601000;
  server.requestTimeout = 0;
  server.on('error', function (err) { fail(err.message); });
  // peer.js gone (even by SIGKILL): remove the temp dir it made, and stop
  const orphaned = function () {
    if (path.basename(args.dir).startsWith('cairn-peer-')) {
      fs.rmSync(args.dir, { recursive: true, force: true });
    }
    process.exit(0);
  };
  process.stdin.on('end', orphaned);
  process.stdin.on('error', orphaned);
  process.stdin.resume();
}

main();
