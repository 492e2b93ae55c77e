// graph_test.js: the milestone page's progress graph, read back from its SVG.
//
// Builds fixed milestones through the cairn CLI (a rubric score to raise,
// with an amended and a retracted point, a support change and a review; a
// tally to lower), computes here, independently of cairn, where the
// aimline and the trend line must start and end (the trend: ordinary least
// squares over the last 6 active points, at their amended values), and
// reads both lines back from the page's SVG through its plot area and
// domain. Also: every active point is plotted at its current value, the
// amended one's first value greyed beside it, the retracted one nowhere; a
// phase line at the support change's day; the review marked on its day;
// the value axis labelled on the scale; a tally to lower drawn going down
// and titled "lower is better". Saves screenshots of the milestone page
// (readme-milestone.png is the one README.md shows).
//
// usage: node graph_test.js  (WEB_BASE, CAIRN, CAIRN_DATA, WEB_ARTIFACTS,
// CHROME_PROFILE in the environment; browser_test.sh's conventions)
'use strict';
const {check, launch, run, env} = require('./harness');
const {execFileSync} = require('child_process');
const path = require('path');

const BASE = env('WEB_BASE');
const CAIRN = env('CAIRN');
const DATA = env('CAIRN_DATA');
const OUT = env('WEB_ARTIFACTS');
const USER_DIR = env('CHROME_PROFILE');

function cairn(...args) {
  return execFileSync(CAIRN, ['--data', DATA, ...args], {encoding: 'utf8'}).trim();
}
const idOf = (json) => JSON.parse(json).id;

/* The local date n days from today, as the CLI takes it. */
function dateIn(n) {
  const d = new Date();
  d.setDate(d.getDate() + n);
  const p = (v) => String(v).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}
const dayOf = (date) => {
  const [y, m, d] = date.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / 86400000;
};

/* Ordinary least squares of value on day: {slope, intercept}. */
function ols(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.day, 0) / n;
  const my = points.reduce((a, p) => a + p.value, 0) / n;
  let sxx = 0, sxy = 0;
  for (const p of points) { sxx += (p.day - mx) ** 2; sxy += (p.day - mx) * (p.value - my); }
  const slope = sxy / sxx;
  return {slope, intercept: my - slope * mx};
}

const near = (a, b, eps) => Math.abs(a - b) <= eps;

/* The page's graph as numbers: each line's ends as [day, value], each
 * point's, the phase lines' and reviews' days, the value ticks. */
async function readGraph(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('svg.graph');
    const rect = svg.querySelector('rect.plot');
    const box = {x: +rect.getAttribute('x'), y: +rect.getAttribute('y'), w: +rect.getAttribute('width'), h: +rect.getAttribute('height')};
    const dom = {d0: +svg.dataset.dayFrom, d1: +svg.dataset.dayTo, v0: +svg.dataset.valueMin, v1: +svg.dataset.valueMax};
    const day = (x) => dom.d0 + ((x - box.x) / box.w) * (dom.d1 - dom.d0);
    const value = (y) => dom.v0 + (1 - (y - box.y) / box.h) * (dom.v1 - dom.v0);
    const line = (sel) => {
      const l = svg.querySelector(sel);
      return l && [[day(+l.getAttribute('x1')), value(+l.getAttribute('y1'))], [day(+l.getAttribute('x2')), value(+l.getAttribute('y2'))],
        +l.getAttribute('y1'), +l.getAttribute('y2')];
    };
    const circles = (sel) => [...svg.querySelectorAll(sel)].map((c) => [day(+c.getAttribute('cx')), value(+c.getAttribute('cy'))]);
    return {
      aim: line('line.aimline'), trend: line('line.trendline'), target: line('line.target'),
      points: circles('circle.value'), originals: circles('circle.original'),
      phases: [...svg.querySelectorAll('line.phase-line')].map((l) => day(+l.getAttribute('x1'))),
      phaseLabels: [...svg.querySelectorAll('.phase-label')].map((t) => t.textContent),
      reviews: [...svg.querySelectorAll('path.review-mark')].map((p) => {
        const m = /^M([-0-9.e]+) /.exec(p.getAttribute('d'));
        return day(+m[1]);
      }),
      ticks: [...svg.querySelectorAll('text.tick-value')].map((t) => [t.textContent, value(+t.getAttribute('y') - 4)]),
      axis: [...svg.querySelectorAll('text.axis-title')].map((t) => t.textContent),
    };
  });
}

run(async () => {
  cairn('student', 'add', '--id', 'gia-7', '--name', 'Gia Park', '--grade', '7');
  const start = dateIn(-42), end = dateIn(42);
  const up = idOf(cairn('milestone', 'add', '--json', '--student', 'gia-7', '--type', 'academic',
    '--statement', 'I will explain my answer with two reasons.', '--scale', '0-4', '--baseline', '1',
    '--target', '3', '--start', start, '--end', end, '--cadence', 'weekly'));
  // seven points, the fourth recorded as 0.5 and amended to 2.1, and one retracted
  const plan = [[2, 1.0], [8, 1.6], [14, 1.4], [20, 0.5], [26, 2.4], [32, 2.2], [38, 2.9]];
  const points = [];
  for (const [off, v] of plan) {
    const id = idOf(cairn('evidence', 'add', up, String(v), '--observed', dateIn(-42 + off), '--json'));
    points.push({id, day: dayOf(dateIn(-42 + off)), value: v});
  }
  cairn('evidence', 'amend', points[3].id, '2.1', '--reason', 'scored the wrong row');
  points[3].original = 0.5;
  points[3].value = 2.1;
  const gone = idOf(cairn('evidence', 'add', up, '4', '--observed', dateIn(-42 + 30), '--json'));
  cairn('evidence', 'retract', gone, '--reason', 'recorded for the wrong student');
  cairn('support', 'add', up, '--support', 'reasoning sentence frames', '--date', dateIn(-42 + 21));
  cairn('review', 'add', up, '--kind', 'weekly', '--decision', 'adjust-supports', '--date', dateIn(-42 + 22));

  const down = idOf(cairn('milestone', 'add', '--json', '--student', 'gia-7', '--type', 'behavior',
    '--statement', 'I will start my work within 5 minutes.', '--scale', 'count', '--baseline', '7',
    '--target', '2', '--direction', 'down', '--start', start, '--end', end, '--cadence', 'weekly'));
  const tally = [[3, 7], [10, 6], [17, 6], [24, 5], [31, 4], [38, 4]];
  for (const [off, v] of tally) cairn('evidence', 'add', down, String(v), '--observed', dateIn(-42 + off));

  const {ctx, page} = await launch(USER_DIR);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(cairn('web', '--as', 'Graph Test'));
  await page.waitForSelector('#page-title');

  // --- the rubric score: expected from the milestone and the points alone
  await page.goto(BASE + '/#/milestone/' + up);
  await page.waitForSelector('svg.graph line.aimline');
  const g = await readGraph(page);
  const eps = 1e-6;
  const [s, e] = [dayOf(start), dayOf(end)];
  check('the aimline starts at the baseline on the start day', g.aim && near(g.aim[0][0], s, eps) && near(g.aim[0][1], 1, eps), JSON.stringify(g.aim));
  check('the aimline ends at the target on the end day', g.aim && near(g.aim[1][0], e, eps) && near(g.aim[1][1], 3, eps), JSON.stringify(g.aim));
  const fitted = points.slice(-6); // the last 6 active points (trend_points), at their amended values
  const fit = ols(fitted);
  const t0 = fitted[0].day, t1 = fitted[fitted.length - 1].day;
  check('the trend line starts at the first fitted point\'s day, on the OLS line',
    g.trend && near(g.trend[0][0], t0, eps) && near(g.trend[0][1], fit.intercept + fit.slope * t0, 1e-6),
    JSON.stringify(g.trend) + ' want ' + [t0, fit.intercept + fit.slope * t0]);
  check('the trend line ends at the last point\'s day, on the OLS line',
    g.trend && near(g.trend[1][0], t1, eps) && near(g.trend[1][1], fit.intercept + fit.slope * t1, 1e-6),
    JSON.stringify(g.trend) + ' want ' + [t1, fit.intercept + fit.slope * t1]);
  const weekly = (fit.slope * 7).toFixed(2);
  check('the page states the same trend per week', (await page.textContent('main')).includes('+' + weekly + '/week'), weekly);
  check('the target line is at the target', g.target && near(g.target[0][1], 3, eps) && near(g.target[1][1], 3, eps));
  check('every active point is plotted at its current value, the retracted one nowhere',
    g.points.length === points.length && points.every((p, i) => near(g.points[i][0], p.day, eps) && near(g.points[i][1], p.value, eps)),
    JSON.stringify(g.points));
  check('the amended point\'s first value is drawn greyed at its own place',
    g.originals.length === 1 && near(g.originals[0][0], points[3].day, eps) && near(g.originals[0][1], 0.5, eps), JSON.stringify(g.originals));
  check('a dashed phase line at the support change\'s day, labelled',
    g.phases.length === 1 && near(g.phases[0], dayOf(dateIn(-42 + 21)), eps) && g.phaseLabels[0].includes('reasoning sentence frames'),
    JSON.stringify([g.phases, g.phaseLabels]));
  check('the review is marked on its day', g.reviews.length === 1 && near(g.reviews[0], dayOf(dateIn(-42 + 22)), eps), JSON.stringify(g.reviews));
  check('the value axis reads 0 to 4 at the right heights',
    ['0', '1', '2', '3', '4'].every((t) => g.ticks.some(([text, v]) => text === t && near(v, Number(t), eps))), JSON.stringify(g.ticks));
  check('the axes say what they show', g.axis.some((a) => a.includes('higher is better')) && g.axis.some((a) => a.startsWith('Date observed')),
    JSON.stringify(g.axis));
  await page.screenshot({path: path.join(OUT, 'graph-milestone.png'), fullPage: true});
  // the picture in README.md: the top of the page, as a teacher first sees it
  await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
  await page.screenshot({path: path.join(OUT, 'readme-milestone.png')});

  // --- the tally to lower: the aimline goes down the page, titled so
  // (a new document: on the same one, the hash change re-renders later and
  // the first milestone's graph would still be there to read)
  await page.goto(BASE + '/#/milestone/' + down);
  await page.reload();
  await page.waitForSelector('svg.graph line.aimline');
  const h = await readGraph(page);
  check('a tally to lower: the aimline runs from 7 down to 2',
    h.aim && near(h.aim[0][1], 7, eps) && near(h.aim[1][1], 2, eps) && h.aim[3] > h.aim[2], JSON.stringify(h.aim));
  check('... its trend line falls too', h.trend && h.trend[1][1] < h.trend[0][1], JSON.stringify(h.trend));
  check('... and the axis says lower is better', h.axis.some((a) => a.includes('lower is better')), JSON.stringify(h.axis));
  check('... and the page calls the falling trend improving', (await page.textContent('main')).includes('(improving)'));
  await page.screenshot({path: path.join(OUT, 'graph-tally.png'), fullPage: true});

  check('no script error', errors.length === 0, errors.join(' | '));
  await ctx.close();
});
