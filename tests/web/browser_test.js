// browser_test.js: the teacher's page in a real browser (Debian's chromium,
// driven by playwright-core; no browser is downloaded), against a real
// cairnd that browser_test.sh started on a fresh data directory.
//
// Signs in with the one-time link, sees Today, records evidence in two
// clicks and a number, sees the light change, amends and retracts with a
// reason, sees the history, records with the keyboard alone, sees a page
// update live when evidence arrives through the socket, builds a milestone
// from a seed example (a refusal shown next to its field first), adds a
// review, a support change (a phase line appears on the graph) and a
// celebration, prints the family summary to PDF (one page, A4 and Letter,
// with the statements, without another student's name, a staff-only note or
// an id), and runs axe-core on every page: zero serious or critical
// violations. Everything at 1366x768. Answers held back on purpose show
// that a late answer never replaces a form being filled in, nor the
// sign-in page after signing out.
//
// usage: node browser_test.js  (settings in the environment, see below)
'use strict';
const {check, until, launch, run, env} = require('./harness');
const {execFileSync} = require('child_process');
const fs = require('fs');
const path = require('path');

const BASE = env('WEB_BASE');          // http://127.0.0.1:PORT
const CAIRN = env('CAIRN');            // the cairn CLI
const DATA = env('CAIRN_DATA');        // the data directory
const RED = env('MS_RED');             // a milestone whose light is red
const OTHER = env('MS_OTHER');         // another milestone, for the live update
const OUT = env('WEB_ARTIFACTS');      // screenshots go here
const USER_DIR = env('CHROME_PROFILE'); // a fresh --user-data-dir

function cairn(...args) {
  return execFileSync(CAIRN, ['--data', DATA, ...args], {encoding: 'utf8'}).trim();
}

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// axe-core on the page as it is: no serious or critical violation.
async function axe(page, name) {
  // The page's CSP forbids inline script: axe is evaluated through the
  // browser's debugging protocol instead, with the CSP left in force.
  if (!(await page.evaluate(() => !!window.axe))) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Runtime.evaluate', {expression: axeSource});
    await cdp.detach();
  }
  const result = await page.evaluate(async () => await window.axe.run(document, {resultTypes: ['violations']}));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check('axe on ' + name + ': no serious or critical violation', bad.length === 0,
    bad.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')).join('; '));
  check('axe ran on ' + name, result.violations !== undefined);
}

async function noHorizontalScroll(page, name) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check(name + ' fits 1366 px wide', w <= 1366, 'scrollWidth ' + w);
}

// Holds the first request whose URL match() accepts until release(); the
// others pass. early: the server answers it at once (while, say, the
// session is still good) and the page gets that answer at release().
// ready: the request is held (and answered, when early). release()
// settles once the page has had the answer and half a second to draw it.
async function holdFirst(page, match, early) {
  let letGo, answered;
  const released = new Promise((ok) => { letGo = ok; });
  const done = new Promise((ok) => { answered = ok; });
  const h = {count: 0, ready: false};
  await page.route(match, async (r) => {
    if (h.count++ > 0) return r.continue();
    const answer = early ? await r.fetch() : null;
    h.ready = true;
    await released;
    await (answer ? r.fulfill({response: answer}) : r.continue());
    await r.request().response().catch(() => null);
    answered();
  });
  h.release = async () => {
    letGo();
    await done;
    await page.waitForTimeout(500);
    await page.unroute(match);
  };
  return h;
}

async function lightOf(page, id) {
  return (await page.textContent('#ms-' + id + ' .light')).trim();
}

run(async () => {
  const {ctx, page} = await launch(USER_DIR);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // (a refused request logs "Failed to load resource": the tests make some)
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  const offsite = [];
  page.on('request', (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith('blob:')) offsite.push(r.url()); });

  // --- signed out: the landing page, no student data
  await page.goto(BASE + '/');
  await page.waitForSelector('.landing h1');
  check('signed out: the landing page asks to run cairn web', (await page.textContent('.landing')).includes('cairn web'));
  check('signed out: no student name on the page', !(await page.content()).includes('Ana'));
  await axe(page, 'the sign-in landing');

  // --- sign in with the one-time link
  const link = cairn('web', '--as', 'Ms Rivera');
  check('cairn web prints a link to this page', link.startsWith(BASE + '/signin?t='), link);
  await page.goto(link);
  await page.waitForSelector('#page-title');
  check('the link lands on Today', (await page.textContent('#page-title')) === 'Today');
  check('the page says who signed in', (await page.textContent('#who')).includes('Ms Rivera'));
  check('the address bar no longer holds the token', !page.url().includes('t='), page.url());
  const cookies = await ctx.cookies();
  const session = cookies.find((c) => c.name === 'cairn_session_' + new URL(BASE).port);
  check('the session cookie is HttpOnly and SameSite=Strict', session && session.httpOnly && session.sameSite === 'Strict',
    JSON.stringify(session));
  await page.waitForSelector('#syncline:not([hidden])');
  check('the sync state shows in one line', /^Sync: /.test(await page.textContent('#syncline')));

  // a name holding markup is shown as text, never as markup
  check('a student name with markup shows as text', (await page.textContent('main')).includes('<img src=x onerror=alert(1)>Cy'));
  check('... and makes no element', (await page.$$('main img')).length === 0);

  // what needs attention comes first: the red milestone's student leads
  const firstStudent = await page.textContent('section.student h2');
  check('the red light comes first on Today', firstStudent === 'Ana Lopez', firstStudent);
  check('the triggered if/then shows its planned action',
    (await page.textContent('#ms-' + RED + ' ul.attention')).includes('add a 20-minute small-group session'));
  await axe(page, 'Today');
  await noHorizontalScroll(page, 'Today');
  await page.screenshot({path: path.join(OUT, 'today.png'), fullPage: true});

  // --- quick evidence: two clicks and a number
  check('before: the light is red', (await lightOf(page, RED)) === 'Red', await lightOf(page, RED));
  await page.click('#ms-' + RED + ' button.record');               // click 1
  await page.keyboard.type('4');                                    // the number (focus is in the value)
  await page.click('#ms-' + RED + ' form.quick button[type=submit]'); // click 2
  await until(async () => (await lightOf(page, RED)) === 'Green');
  check('after recording a 4: the light is green', (await lightOf(page, RED)) === 'Green', await lightOf(page, RED) + ' / ' + await page.textContent('#status') + ' / ' + await page.textContent('#ms-' + RED));
  check('the status says what was recorded', (await page.textContent('#status')).includes('Recorded 4'));
  const shown = JSON.parse(cairn('show', RED, '--json'));
  check('the store agrees (show works)', shown.record.id === RED);
  const milestoneOf = (id) =>
    JSON.parse(cairn('status', '--json')).students.flatMap((s) => s.milestones).find((m) => m.id === id);
  const status = milestoneOf(RED);
  check('the socket sees the same light', status.light === 'green', status.light);
  await page.screenshot({path: path.join(OUT, 'today-recorded.png'), fullPage: true});

  // a bad value is refused with the field named, and nothing is written
  const pointsBefore = status.points;
  await page.click('#ms-' + RED + ' button.record');
  await page.keyboard.type('9');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#ms-' + RED + ' .error-text:not([hidden])', {timeout: 15000}).catch(() => {});
  const err = await page.textContent('#ms-' + RED + ' .error-text').catch(() => '');
  check('a value off the scale is refused, naming the field', /value/.test(err), err);
  const after = milestoneOf(RED);
  check('... and nothing is written', after.points === pointsBefore, after.points + ' vs ' + pointsBefore);
  await page.keyboard.press('Escape');

  // --- the milestone's page: history, amend, retract
  await page.click('#ms-' + RED + ' a.statement');
  await page.waitForSelector('main table');
  await axe(page, 'the milestone page');
  await noHorizontalScroll(page, 'the milestone page');
  const newest = page.locator('main tbody tr').first();
  check('the new point is listed first, recorded by the signed-in name',
    (await newest.textContent()).includes('Ms Rivera') && (await newest.textContent()).includes('4'));
  await newest.locator('button', {hasText: 'Amend'}).click();
  await page.fill('form.fix input[name=value]', '1');
  await page.fill('form.fix input[name=reason]', 'scored the wrong rubric row');
  await page.click('form.fix button[type=submit]');
  await until(async () => (await page.textContent('#status')).includes('Amended the entry') &&
    (await page.locator('main tbody tr').first().textContent()).includes('amended'));
  const row = page.locator('main tbody tr').first();
  check('the amended entry says so and keeps its first value visible',
    (await row.textContent()).includes('amended') && (await row.locator('.was').textContent()) === '4');
  check('after amending to 1: the light is red again', (await page.textContent('main .panel .light')) === 'Red');
  await row.locator('summary').click();
  const history = await row.locator('details').textContent();
  check('the history shows the amendment, who made it and why',
    history.includes('value set to 1') && history.includes('scored the wrong rubric row (by Ms Rivera)'), history);
  await row.locator('button', {hasText: 'Retract'}).click();
  await page.fill('form.fix input[name=reason]', 'recorded for the wrong student');
  await page.click('form.fix button[type=submit]');
  await until(async () => (await page.textContent('#status')).includes('Retracted the entry') &&
    (await page.locator('main tbody tr').first().textContent()).includes('retracted'));
  check('the retracted entry stays listed as retracted',
    (await page.locator('main tbody tr').first().textContent()).includes('retracted'));
  const rec = JSON.parse(cairn('show', (await page.locator('main tbody tr').first().getAttribute('id')).slice(3), '--json')).record;
  check('the store keeps every write, who and why', rec.history.length === 3 &&
    rec.history[2].why === 'recorded for the wrong student (by Ms Rivera)' && rec.fields.by === 'Ms Rivera',
    JSON.stringify(rec.history.map((h) => h.why)));
  await page.screenshot({path: path.join(OUT, 'milestone.png'), fullPage: true});

  // --- the keyboard alone: Tab to the button, Enter, a number, Enter
  await page.goto(BASE + '/#/today');
  await page.waitForSelector('#ms-' + OTHER);
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate((id) => document.activeElement === document.querySelector('#ms-' + id + ' button.record'), OTHER);
  }
  check('Tab reaches the record button', reached);
  await page.keyboard.press('Enter');
  await page.keyboard.type('2');
  await page.keyboard.press('Enter');
  await until(async () => (await page.textContent('#status')).includes('Recorded 2'));
  check('evidence recorded with the keyboard alone', (await page.textContent('#status')).includes('Recorded 2'));
  check('focus returns to the record button', await page.evaluate((id) => document.activeElement === document.querySelector('#ms-' + id + ' button.record'), OTHER));

  // --- live: evidence arriving through the socket updates the open page
  check('before: the page does not show the coming point', !(await page.textContent('#ms-' + OTHER + ' .facts')).includes('last 3'));
  cairn('evidence', 'add', OTHER, '3', '--by', 'another device');
  await until(async () => (await page.textContent('#ms-' + OTHER + ' .facts')).includes('last 3'));
  check('a commit from elsewhere shows without a reload', (await page.textContent('#ms-' + OTHER + ' .facts')).includes('last 3'),
    await page.textContent('#ms-' + OTHER + ' .facts'));

  // --- the milestone builder: a seed example, the store's refusal next to its field
  const milestonesOf = (student) =>
    JSON.parse(cairn('status', '--json', '--student', student)).students[0].milestones;
  const countBefore = milestonesOf('ana-8').length;
  await page.click('#nav-new');
  await page.waitForSelector('form.builder');
  await axe(page, 'the milestone builder');
  await noHorizontalScroll(page, 'the milestone builder');
  const steps = await page.$$eval('form.builder legend', (ls) => ls.map((l) => l.textContent));
  check('the builder follows the seed\'s steps in order', steps.length === 9 && /statement/.test(steps[0]) &&
    /baseline/.test(steps[1]) && /target/.test(steps[2]) && /timeframe/.test(steps[3]) && /method/.test(steps[4]) &&
    /scale/.test(steps[5]) && /if\/then/.test(steps[6]) && /cadence/.test(steps[7]), steps.join(' | '));
  check('a worked example for each of the four types',
    (await page.$$('button[data-example]')).length === 4);
  await page.fill('#b-student', 'ana-8');
  await page.click('button[data-example="behavior"]');
  const statement = await page.inputValue('#b-statement');
  check('the example fills the statement', statement.startsWith('I will complete seatwork directions'), statement);
  await page.fill('#b-scale', '0-4'); // a baseline of 7 is off a 0-4 scale: refused as the CLI refuses it
  await page.click('form.builder button[type=submit]');
  await page.waitForSelector('#b-baseline-error:not([hidden])', {timeout: 15000}).catch(() => {});
  const berr = await page.textContent('#b-baseline-error');
  check('the refusal is shown next to the baseline field', /^baseline/.test(berr) && /0-4|scale/.test(berr), berr);
  check('... the field is marked invalid and has the focus',
    await page.evaluate(() => document.activeElement.id === 'b-baseline' && document.activeElement.getAttribute('aria-invalid') === 'true'));
  check('... and nothing is written', milestonesOf('ana-8').length === countBefore);
  await axe(page, 'the milestone builder with an error');
  await page.fill('#b-scale', 'count');
  await page.fill('#b-agreed_by', 'Ana, Mr Lopez, Ms Rivera');
  await page.click('form.builder button[type=submit]');
  await until(async () => /#\/milestone\/[^/]+$/.test(page.url()));
  const built = decodeURIComponent(new URL(page.url()).hash.slice('#/milestone/'.length));
  await page.waitForSelector('svg.graph');
  check('the new milestone\'s page opens', (await page.textContent('#page-title')) === statement);
  const made = JSON.parse(cairn('show', built, '--json')).record;
  check('the store holds it as the example wrote it', made.fields.direction === 'down' && made.fields.scale === 'count' &&
    made.fields.target === 2 && made.fields.if_then.length === 1 && made.fields.agreed_by.length === 3 && !!made.fields.at_home,
    JSON.stringify(made.fields));
  check('... with who added it', made.history[0].why === 'added on the web page by Ms Rivera', made.history[0].why);
  check('a tally to lower: the axis says lower is better', (await page.textContent('svg.graph')).includes('lower is better'));

  // evidence with a staff-only note, then a review, a support change, a celebration
  await page.click('button[data-key="record-here"]');
  await page.keyboard.type('5');
  await page.fill('form.quick input[name=note]', 'STAFF-ONLY-EVIDENCE-NOTE');
  await page.click('form.quick button[type=submit]');
  await page.waitForSelector('svg.graph circle.value');
  check('no phase line before a support change', (await page.$$('svg.graph line.phase-line')).length === 0);
  // New data arrives while the review page is on its way: the page the
  // refresh draws first is the one the teacher starts filling in, and the
  // slower answer to the click must not replace it afterwards. The click's
  // answer is held back until the teacher has picked a decision; evidence
  // from elsewhere meanwhile starts a refresh that draws the review page.
  const clicked = await holdFirst(page, (u) => u.pathname.startsWith('/api/milestone/'), false);
  await page.click('a[href$="/review"]');
  await until(async () => clicked.ready);
  cairn('evidence', 'add', OTHER, '2', '--by', 'another device');
  await page.waitForSelector('#review-form', {timeout: 20000}).catch(() => {});
  check('the refresh drew the review page while the click\'s own answer was held',
    clicked.count >= 2 && !!(await page.$('#review-form')), 'answers asked for: ' + clicked.count);
  await page.check('#review-form input[value="adjust-supports"]');
  await clicked.release();
  check('the slower answer to the click leaves the form being filled alone',
    await page.isChecked('#review-form input[value="adjust-supports"]'));
  await axe(page, 'the review page');
  await noHorizontalScroll(page, 'the review page');
  check('the review page shows the data since the start beside the decision',
    (await page.textContent('main')).includes('The data since the start') && (await page.textContent('main table')).includes('5'));
  await page.check('#review-form input[value="adjust-supports"]');
  await page.fill('#r-note', 'STAFF-ONLY-REVIEW-NOTE');
  await page.click('#review-form button[type=submit]');
  await until(async () => (await page.textContent('#status')).includes('Review saved'));
  check('the review is saved', (await page.textContent('#status')).includes('Review saved: Adjust the supports'));
  check('... and the page now counts from it', (await page.textContent('main')).includes('The data since the last review'));
  await page.fill('#s-support', 'a visual timer on the desk');
  await page.fill('#s-note', 'STAFF-ONLY-SUPPORT-NOTE');
  await page.click('#support-form button[type=submit]');
  await until(async () => (await page.textContent('#status')).includes('Support change saved'));
  await page.fill('#c-text', 'started seatwork within 5 minutes three days running');
  await page.click('#celebration-form button[type=submit]');
  await until(async () => (await page.textContent('#status')).includes('Celebration saved'));
  check('the support change and the celebration are saved', (await page.textContent('#status')).includes('Celebration saved'));
  // a celebration with no text: refused next to its field, as the CLI refuses it
  await page.click('#celebration-form button[type=submit]');
  await page.waitForSelector('#c-text-error:not([hidden])', {timeout: 15000}).catch(() => {});
  check('an empty celebration is refused next to its field', /^text/.test(await page.textContent('#c-text-error')));
  await page.click('main a[href^="#/milestone/"]');
  await page.waitForSelector('svg.graph line.phase-line', {timeout: 15000}).catch(() => {});
  const phases = await page.$$eval('svg.graph .phase-label', (ts) => ts.map((t) => t.textContent));
  check('a support change makes a labelled phase line on the graph', phases.length === 1 && phases[0].includes('a visual timer'),
    JSON.stringify(phases));
  check('the review is marked on the graph', (await page.$$('svg.graph path.review-mark')).length === 1);
  check('the milestone page lists the review, the support change and the celebration',
    (await page.textContent('main')).includes('Adjust the supports') && (await page.textContent('main')).includes('three days running'));
  await axe(page, 'the milestone page with its graph');
  await noHorizontalScroll(page, 'the milestone page with its graph');
  await page.screenshot({path: path.join(OUT, 'milestone-graph.png'), fullPage: true});

  // --- the family summary: one printable page, nothing staff-only
  await page.goto(BASE + '/#/family/ana-8');
  await page.waitForSelector('.family-ms svg.graph');
  await axe(page, 'the family summary');
  await noHorizontalScroll(page, 'the family summary');
  const fam = await page.textContent('main');
  check('the family summary has each of Ana\'s four goals', (await page.$$('.family-ms')).length === 4);
  check('... in the student\'s words, with the level in words and what to do at home', fam.includes(statement) &&
    /(not started|beginning|developing|meeting|exceeding): /.test(fam) && fam.includes('One thing to try at home'), fam.slice(0, 300));
  for (const bad of ['STAFF-ONLY', 'onerror', 'Cy', RED, built, 'ana-8'])
    check('the family page shows no ' + bad, !fam.includes(bad));
  await page.screenshot({path: path.join(OUT, 'family.png'), fullPage: true});
  await page.emulateMedia({media: 'print'});
  await page.screenshot({path: path.join(OUT, 'family-print.png'), fullPage: true});
  await page.emulateMedia({media: null});
  for (const format of ['A4', 'Letter']) {
    const pdf = path.join(OUT, 'family-' + format + '.pdf');
    await page.pdf({path: pdf, format, printBackground: true});
    const pages = Number((/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf], {encoding: 'utf8'})) || [])[1]);
    const text = execFileSync('pdftotext', ['-layout', pdf, '-'], {encoding: 'utf8'}).replace(/\s+/g, ' ');
    check('the family summary prints on one ' + format + ' page', pages === 1, 'pages: ' + pages);
    check('... the PDF holds the milestone statements', text.includes('I will complete seatwork directions') &&
      text.includes('I will include a clear claim'), text.slice(0, 400));
    check('... and no other student\'s name, no staff-only note, no id, no staff name',
      !/Cy|onerror|STAFF-ONLY|ana-8|Ms Rivera/.test(text) && !text.includes(RED) && !text.includes(built), text);
  }

  // --- sync and device
  await page.click('#nav-sync');
  // the page before had a main h2 too: wait for this page's own section
  await until(async () => (await page.textContent('main')).includes('This device'));
  check('the sync page names this device', (await page.textContent('main')).includes('classroom'));
  await axe(page, 'Sync and device');
  await noHorizontalScroll(page, 'Sync and device');
  await page.screenshot({path: path.join(OUT, 'sync.png'), fullPage: true});

  // --- signing out ends the session, also over a page still on its way
  const today = await holdFirst(page, (u) => u.pathname === '/api/today', true);
  await page.click('#nav-today');
  await until(async () => today.ready);
  await page.click('#signout');
  await page.waitForSelector('.landing h1');
  await page.evaluate(() => { /* anything drawn after this, even for a moment */
    const m = document.getElementById('main');
    window.drawnAfterSignOut = '';
    new MutationObserver(() => { if (!m.querySelector('.landing')) window.drawnAfterSignOut += m.textContent.slice(0, 80); })
      .observe(m, {childList: true, subtree: true});
  });
  await today.release();
  check('an answer that comes after signing out is not drawn over the sign-in page',
    !!(await page.$('.landing h1')) && (await page.evaluate(() => window.drawnAfterSignOut)) === '',
    await page.evaluate(() => window.drawnAfterSignOut));
  const res = await page.evaluate(async () => (await fetch('/api/today')).status);
  check('after signing out the API answers 401', res === 401, String(res));

  check('no script error on any page', errors.length === 0, errors.join(' | '));
  check('nothing was fetched from anywhere else', offsite.length === 0, offsite.join(' '));
  await ctx.close();
});
