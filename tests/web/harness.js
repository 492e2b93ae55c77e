// harness.js: what the browser tests share: Debian's chromium launched by
// playwright-core with a fresh profile, the pass/fail count, and polling.
'use strict';
const {chromium} = require('playwright-core');

let passed = 0, failed = 0;

// Counts one check; prints it when it fails.
function check(what, cond, detail) {
  if (cond) passed++;
  else { failed++; console.log('FAIL: ' + what + (detail ? ': ' + detail : '')); }
}

// Polls cond() in Node until it holds or ms pass (page.waitForFunction
// evaluates a string in the page, which the page's CSP rightly forbids).
async function until(cond, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await cond()) return true; } catch (e) { /* the page is changing */ }
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// /usr/bin/chromium, headless, with a fresh --user-data-dir, at 1366x768.
async function launch(userDir) {
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: {width: 1366, height: 768},
    acceptDownloads: true,
  });
  return {ctx, page: ctx.pages()[0] || await ctx.newPage()};
}

// Runs the test body, prints the "N passed, N failed" line, and exits.
function run(body) {
  body().then(() => {
    console.log(passed + ' passed, ' + failed + ' failed');
    process.exit(failed ? 1 : 0);
  }, (e) => {
    console.log('FAIL: ' + (e.stack || e));
    console.log(passed + ' passed, ' + (failed + 1) + ' failed');
    process.exit(1);
  });
}

const env = (k) => { if (!process.env[k]) throw new Error('missing ' + k); return process.env[k]; };

module.exports = {check, until, launch, run, env};
