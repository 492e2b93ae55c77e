// bundle_test.js: a bundle downloaded from one cairnd's page and uploaded
// to another's, in Debian's chromium (playwright-core). Run by
// bundle_test.sh, which set up a classroom that lost its network and its
// central, each serving its page.
'use strict';
const {check, until, launch, run, env} = require('./harness');
const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOM = env('WEB_ROOM'), CENTRAL = env('WEB_CENTRAL'), CAIRN = env('CAIRN');
const ROOM_DATA = env('ROOM_DATA'), CENTRAL_DATA = env('CENTRAL_DATA');
const DOWNLOADS = env('DOWNLOADS'), USER_DIR = env('CHROME_PROFILE');

const link = (data) => execFileSync(CAIRN, ['--data', data, 'web', '--as', 'Mr Chen'], {encoding: 'utf8'}).trim();

run(async () => {
  fs.mkdirSync(DOWNLOADS, {recursive: true});
  const {ctx, page} = await launch(USER_DIR);

  // the classroom: download
  await page.goto(link(ROOM_DATA));
  await page.waitForSelector('#page-title');
  await page.goto(ROOM + '/#/sync');
  await page.waitForSelector('text=Download a bundle');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('text=Download a bundle'),
  ]);
  const file = path.join(DOWNLOADS, download.suggestedFilename());
  await download.saveAs(file);
  check('the download is named as a bundle', /^cairn-bundle-\d{4}-\d\d-\d\d\.cairnbundle$/.test(download.suggestedFilename()),
    download.suggestedFilename());
  const head = fs.readFileSync(file).subarray(0, 13).toString('latin1');
  check('the download is a cairn bundle file', head === 'CAIRNBUNDLE1\n', JSON.stringify(head));
  await until(async () => (await page.textContent('#status')).includes('Bundle downloaded'));
  check('the page says it was downloaded', (await page.textContent('#status')).includes('Bundle downloaded'));

  // the central: upload. Its page is another origin (another port): its own cookie.
  await page.goto(link(CENTRAL_DATA));
  await page.waitForSelector('#page-title');
  await page.goto(CENTRAL + '/#/sync');
  await page.waitForSelector('#bundle-file');
  await page.setInputFiles('#bundle-file', file);
  await page.click('text=Import the bundle');
  await until(async () => /Imported: [1-9]\d* entries applied/.test(await page.textContent('#status')));
  const said = await page.textContent('#status');
  check('the central applied the upload', /Imported: [1-9]\d* entries applied, 0 refused/.test(said), said);
  // the entries it applied are news: the page refreshes itself, and
  // what the teacher chose and read stays
  await page.evaluate(() => { document.getElementById('page-title').dataset.before = '1'; });
  const refreshed = await until(async () => !(await page.evaluate(() => document.getElementById('page-title').dataset.before)));
  check('the page refreshed itself after the import', refreshed);
  check('the chosen bundle survives the refresh',
    await page.evaluate(() => document.getElementById('bundle-file').files.length) === 1);
  check('what the import said survives the refresh', (await page.textContent('#status')) === said,
    await page.textContent('#status'));
  // importing it again is harmless
  await page.click('text=Import the bundle');
  await until(async () => /Imported: 0 entries applied/.test(await page.textContent('#status')));
  check('a second import applies nothing', /Imported: 0 entries applied/.test(await page.textContent('#status')),
    await page.textContent('#status'));
  // signing in to the central did not sign the browser out of the
  // classroom: cookies ignore ports, so each page names its own
  await page.goto(ROOM + '/#/today');
  await page.waitForSelector('#page-title, .landing h1');
  check('still signed in to the classroom page', (await page.textContent('#who')).includes('Mr Chen'));
  await ctx.close();
});
