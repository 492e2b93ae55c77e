// flood.js: hostile HTTP clients against the page, bounded in count and
// time, on 127.0.0.1 only. Opens N connections, a few at a time, each one
// of five kinds, keeps them until it is closed or SECONDS pass, then stops.
//   slow     a request head sent a byte a second, never finished
//   idle     connects and sends nothing
//   header   a request head of 64 KiB
//   body     a POST announcing 1 GiB, its body trickling
//   many     a request with 400 header lines
// Prints one JSON line: how each kind ended (closed by the server, or still
// open when the client gave up) and the HTTP status lines seen.
// usage: node flood.js PORT N SECONDS
'use strict';
const net = require('net');

const [port, total, seconds] = process.argv.slice(2).map(Number);
const host = '127.0.0.1:' + port;
const kinds = ['slow', 'idle', 'header', 'body', 'many'];
const result = {};
for (const k of kinds) result[k] = {opened: 0, closedByServer: 0, gaveUp: 0, refused: 0, statuses: {}};
const deadline = Date.now() + seconds * 1000;
let open = 0, started = 0, finished = 0;

function one(i) {
  const kind = kinds[i % kinds.length];
  const r = result[kind];
  const s = net.connect({port, host: '127.0.0.1'});
  let timer = null, done = false, buf = '';
  open++;
  const finish = (how) => {
    if (done) return;
    done = true;
    open--;
    finished++;
    clearInterval(timer);
    r[how]++;
    s.destroy();
  };
  s.setNoDelay(true);
  s.on('connect', () => {
    r.opened++;
    if (kind === 'slow') {
      const head = 'GET /api/today HTTP/1.1\r\nHost: ' + host + '\r\nX-Slow: ';
      let k = 0;
      timer = setInterval(() => { if (Date.now() < deadline) s.write(head[k++ % head.length]); }, 1000);
    } else if (kind === 'header') {
      s.write('GET / HTTP/1.1\r\nHost: ' + host + '\r\nX-Big: ' + 'a'.repeat(64 * 1024) + '\r\n\r\n');
    } else if (kind === 'body') {
      s.write('POST /api/evidence HTTP/1.1\r\nHost: ' + host + '\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{');
      timer = setInterval(() => { if (Date.now() < deadline) s.write('"aaaaaaaa":1,'); }, 500);
    } else if (kind === 'many') {
      let h = 'GET / HTTP/1.1\r\nHost: ' + host + '\r\n';
      for (let k = 0; k < 400; k++) h += 'X-H' + k + ': v\r\n';
      s.write(h + '\r\n');
    }
  });
  s.on('data', (d) => {
    buf += d.toString('latin1');
    const m = /^HTTP\/1\.1 (\d+)/.exec(buf);
    if (m) { r.statuses[m[1]] = (r.statuses[m[1]] || 0) + 1; buf = ' '; }
  });
  s.on('error', () => finish(r.opened ? 'closedByServer' : 'refused'));
  s.on('close', () => finish(r.opened ? 'closedByServer' : 'refused'));
  setTimeout(() => finish('gaveUp'), Math.max(0, deadline - Date.now()));
}

// Opens the connections 50 at a time, 20 ms apart: all within 1 s.
const opener = setInterval(() => {
  for (let k = 0; k < 50 && started < total; k++) one(started++);
  if (started >= total) clearInterval(opener);
}, 20);

const watch = setInterval(() => {
  if (finished >= total || Date.now() > deadline + 2000) {
    clearInterval(watch);
    console.log(JSON.stringify(result));
    process.exit(0);
  }
}, 200);
