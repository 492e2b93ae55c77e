/*
 * graph.js: a milestone's progress graph as SVG, drawn from the numbers
 * cairnd computed (GET /api/milestone/ID: the series, the aimline and the
 * trend line from store/progress.c). Nothing is computed here but where
 * each number goes on the page: no fit, no rule, no level.
 *
 * What it shows: each point on the milestone's scale at its observed day
 * (an amended point at its amended value, its first value greyed beside
 * it; a retracted point not at all); the baseline; the aimline from the
 * baseline at the start to the target at the end; the trend line; the
 * target line; a dashed, labelled phase line at every support change;
 * every review marked on the time axis. Higher values are higher on the
 * page whatever the direction; the axis title says which way is better.
 *
 * The <svg> carries its domain (data-day-from, data-day-to, data-value-min,
 * data-value-max) and its plot area (rect.plot), so that a test can read a
 * line's ends back as days and values.
 */
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/* 'YYYY-MM-DD' -> day number (days since 1970-01-01), as cairn counts. */
function dayNumber(date) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || '');
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86400000 : null;
}

/* A day number -> 'Nov 2' (with the year when asked). */
function dayLabel(day, withYear) {
  const d = new Date(day * 86400000);
  return MONTHS[d.getUTCMonth()] + ' ' + d.getUTCDate() + (withYear ? ' ' + d.getUTCFullYear() : '');
}

function svgEl(tag, attrs, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/* The scale's range and how its values read: {min, max, fmt, title, ticks
 * (when fixed)}. A percent scale starts at the tens below its lowest value
 * (the axis says where). */
function graphScale(m, values) {
  const s = m.scale || '';
  const num = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100));
  if (s === 'percent') { /* attendance lives near the top: from the tens below the lowest value */
    const low = Math.min(...values.filter((v) => Number.isFinite(v)));
    return {min: Math.max(0, Math.floor((low - 5) / 10) * 10), max: 100, fmt: (v) => num(v) + '%', title: 'Percent'};
  }
  if (s === 'yesno') return {min: 0, max: 1, fmt: (v) => (v === 1 ? 'yes' : v === 0 ? 'no' : num(v)), title: 'Yes / no', ticks: [0, 1]};
  const r = /^(-?[0-9.]+)-(-?[0-9.]+)$/.exec(s);
  if (r) return {min: Number(r[1]), max: Number(r[2]), fmt: num, title: 'Score (' + r[1] + ' to ' + r[2] + ')'};
  /* a count has no top: the highest value shown, with room above */
  const top = Math.max(1, ...values.filter((v) => Number.isFinite(v)));
  return {min: 0, max: niceCeil(top * 1.15), fmt: num, title: 'Count'};
}

/* The smallest 1, 2 or 5 times a power of ten at or above v. */
function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const k of [1, 2, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

/* Tick values for [min, max]: at most about n, on round steps. */
function valueTicks(min, max, n) {
  const span = max - min;
  if (span <= 0) return [min];
  let step = niceCeil(span / n);
  if (span <= 10 && Number.isInteger(min) && Number.isInteger(max) && span / 1 <= n) step = 1;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e9) / 1e9);
  return out;
}

/* Tick days for [from, to]: every week from the first day, or every 2, 4
 * weeks when there would be too many. */
function dayTicks(from, to, n) {
  let step = 7;
  while ((to - from) / step > n) step *= 2;
  const out = [];
  for (let d = from; d <= to; d += step) out.push(d);
  return out;
}

/*
 * cairnGraph(m, opts): the <svg> of milestone m (a milestone of the
 * detail reply, or of the family summary's). opts: {width, height, small
 * (fewer labels, for the family summary), title}.
 */
function cairnGraph(m, opts) {
  const o = Object.assign({width: 760, height: 320, small: false}, opts || {});
  const series = (m.series || []).filter((p) => !p.retracted);
  const aim = m.aimline || null;
  const trend = m.trendline || null;
  const down = m.direction === 'down' || m.direction === 'at-most';
  const start = dayNumber(m.start), end = dayNumber(m.end);
  const pts = series.map((p) => ({day: dayNumber(p.observed), value: p.value, original: p.amended ? p.original : null}));
  const supports = (m.support_changes || []).map((c) => ({day: dayNumber(c.date), text: c.support}));
  const reviews = (m.reviews || []).map((r) => ({day: dayNumber(r.date), text: r.decision}));

  const values = [m.target, m.baseline, ...pts.map((p) => p.value), ...pts.map((p) => p.original),
    aim && aim.at_from, aim && aim.at_to, trend && trend.at_from, trend && trend.at_to]
    .filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const sc = graphScale(m, values);
  const vmin = Math.min(sc.min, ...values), vmax = Math.max(sc.max, ...values);
  const days = [start, end, ...pts.map((p) => p.day), ...supports.map((s) => s.day), ...reviews.map((r) => r.day)]
    .filter((d) => d !== null);
  const dfrom = Math.min(...days), dto = Math.max(...days, dfrom + 1);

  const pad = o.small ? {l: 44, r: 12, t: 10, b: 30} : {l: 64, r: 24, t: 34, b: 64};
  const pw = o.width - pad.l - pad.r, ph = o.height - pad.t - pad.b;
  const x = (d) => pad.l + ((d - dfrom) / (dto - dfrom)) * pw;
  const y = (v) => pad.t + (1 - (v - vmin) / (vmax - vmin || 1)) * ph;
  const r2 = (v) => Math.round(v * 100) / 100;

  const titleId = 'g-title-' + (m.id || Math.random().toString(36).slice(2));
  const descId = titleId + '-d';
  const svg = svgEl('svg', {
    xmlns: SVG_NS, class: 'graph' + (o.small ? ' graph-small' : ''), viewBox: '0 0 ' + o.width + ' ' + o.height,
    width: o.width, height: o.height, role: 'img', 'aria-labelledby': titleId + ' ' + descId,
    'data-day-from': dfrom, 'data-day-to': dto, 'data-value-min': vmin, 'data-value-max': vmax,
  });
  const last = pts.length ? pts[pts.length - 1] : null;
  svg.append(svgEl('title', {id: titleId}, o.title || 'Progress graph'),
    svgEl('desc', {id: descId},
      (pts.length ? pts.length + ' point' + (pts.length === 1 ? '' : 's') + ' from ' + dayLabel(pts[0].day, true) +
        ' to ' + dayLabel(last.day, true) + '; the latest is ' + sc.fmt(last.value) + '. ' : 'No evidence yet. ') +
      'Target ' + sc.fmt(m.target) + ' by ' + dayLabel(end, true) + (down ? ' (lower is better).' : '.') +
      (aim ? ' The aimline runs from ' + sc.fmt(r2(aim.at_from)) + ' to ' + sc.fmt(r2(aim.at_to)) + '.' : '') +
      (trend ? ' The trend line runs from ' + sc.fmt(r2(trend.at_from)) + ' to ' + sc.fmt(r2(trend.at_to)) + '.' : '')));

  /* the plot area and the value axis */
  svg.append(svgEl('rect', {class: 'plot', x: pad.l, y: pad.t, width: pw, height: ph}));
  const ticks = sc.ticks || valueTicks(vmin, vmax, o.small ? 3 : 6);
  for (const v of ticks) {
    svg.append(svgEl('line', {class: 'grid', x1: pad.l, x2: pad.l + pw, y1: y(v), y2: y(v)}),
      svgEl('text', {class: 'tick tick-value', x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', 'data-value': v}, sc.fmt(v)));
  }
  if (!o.small)
    svg.append(svgEl('text', {class: 'axis-title', x: 14, y: pad.t + ph / 2, 'text-anchor': 'middle',
      transform: 'rotate(-90 14 ' + (pad.t + ph / 2) + ')'}, sc.title + (down ? ' (lower is better)' : ' (higher is better)')));

  /* the time axis */
  for (const d of dayTicks(dfrom, dto, o.small ? 4 : 9)) {
    svg.append(svgEl('line', {class: 'grid grid-day', x1: x(d), x2: x(d), y1: pad.t, y2: pad.t + ph}),
      svgEl('text', {class: 'tick tick-day', x: x(d), y: pad.t + ph + 16, 'text-anchor': 'middle', 'data-day': d}, dayLabel(d)));
  }
  if (!o.small)
    svg.append(svgEl('text', {class: 'axis-title', x: pad.l + pw / 2, y: o.height - 8, 'text-anchor': 'middle'},
      'Date observed (' + dayLabel(dfrom, true) + ' to ' + dayLabel(dto, true) + ')'));

  /* the target line and the baseline */
  svg.append(svgEl('line', {class: 'target', x1: pad.l, x2: pad.l + pw, y1: y(m.target), y2: y(m.target)}));
  if (!o.small)
    svg.append(svgEl('text', {class: 'line-label', x: pad.l + pw - 4, y: y(m.target) + (down ? 14 : -5), 'text-anchor': 'end'},
      'Target ' + sc.fmt(m.target)));
  const base = m.baseline !== null && m.baseline !== undefined ? m.baseline : aim ? aim.at_from : null;
  if (base !== null && start !== null) {
    svg.append(svgEl('line', {class: 'baseline', x1: pad.l, x2: x(start) + Math.min(pw / 4, 120), y1: y(base), y2: y(base)}),
      svgEl('rect', {class: 'baseline-mark', x: x(start) - 4, y: y(base) - 4, width: 8, height: 8}));
    if (!o.small)
      svg.append(svgEl('text', {class: 'line-label', x: x(start) + 6, y: y(base) + (down ? -6 : 14)},
        'Baseline ' + sc.fmt(base) + (m.baseline === null ? ' (first point)' : '')));
  }

  /* phase lines at support changes, labelled; reviews on the time axis */
  supports.forEach((s, i) => {
    const g = svgEl('g', {class: 'phase'}, svgEl('title', {}, 'Support changed ' + dayLabel(s.day, true) + ': ' + s.text),
      svgEl('line', {class: 'phase-line', x1: x(s.day), x2: x(s.day), y1: pad.t - (o.small ? 0 : 4), y2: pad.t + ph}));
    if (!o.small) {
      const text = s.text.length > 28 ? s.text.slice(0, 27) + '…' : s.text;
      g.append(svgEl('text', {class: 'phase-label', x: x(s.day) + 3, y: pad.t - 8 - (i % 2) * 12}, dayLabel(s.day) + ': ' + text));
    }
    svg.append(g);
  });
  for (const r of reviews) {
    const cx = x(r.day), cy = pad.t + ph;
    svg.append(svgEl('g', {class: 'review'}, svgEl('title', {}, 'Review ' + dayLabel(r.day, true) + ': ' + r.text),
      svgEl('path', {class: 'review-mark', d: 'M' + cx + ' ' + (cy - 10) + ' l6 10 l-12 0 z'}),
      o.small ? null : svgEl('text', {class: 'review-label', x: cx, y: cy + 30, 'text-anchor': 'middle'}, 'review')));
  }

  /* the aimline, the trend line, the points */
  if (aim)
    svg.append(svgEl('line', {class: 'aimline', x1: x(dayNumber(aim.from)), y1: y(aim.at_from),
      x2: x(dayNumber(aim.to)), y2: y(aim.at_to)}));
  if (trend)
    svg.append(svgEl('line', {class: 'trendline', x1: x(dayNumber(trend.from)), y1: y(trend.at_from),
      x2: x(dayNumber(trend.to)), y2: y(trend.at_to)}));
  for (const p of pts) {
    const g = svgEl('g', {class: 'point'});
    if (p.original !== null && p.original !== undefined) {
      g.append(svgEl('line', {class: 'amend-link', x1: x(p.day), x2: x(p.day), y1: y(p.original), y2: y(p.value)}),
        svgEl('circle', {class: 'original', cx: x(p.day), cy: y(p.original), r: o.small ? 3 : 4.5},
          svgEl('title', {}, dayLabel(p.day, true) + ': first recorded ' + sc.fmt(p.original) + ', amended')));
    }
    g.append(svgEl('circle', {class: 'value', cx: x(p.day), cy: y(p.value), r: o.small ? 3 : 4.5},
      svgEl('title', {}, dayLabel(p.day, true) + ': ' + sc.fmt(p.value) + (p.original !== null && p.original !== undefined ? ' (amended)' : ''))));
    svg.append(g);
  }
  return svg;
}

/* The legend under a full-size graph: what each mark means, in words. */
function graphLegend(m) {
  const item = (cls, text) => {
    const li = document.createElement('li');
    const key = svgEl('svg', {class: 'key', width: 26, height: 12, 'aria-hidden': 'true'},
      cls === 'value' || cls === 'original' ? svgEl('circle', {class: cls, cx: 13, cy: 6, r: 4.5})
        : cls === 'review-mark' ? svgEl('path', {class: cls, d: 'M13 1 l6 10 l-12 0 z'})
          : svgEl('line', {class: cls, x1: 1, x2: 25, y1: 6, y2: 6}));
    li.append(key, document.createTextNode(' ' + text));
    return li;
  };
  const down = m.direction === 'down' || m.direction === 'at-most';
  const ul = document.createElement('ul');
  ul.className = 'legend';
  ul.append(item('value', 'a data point'), item('original', 'first value of an amended point'),
    item('aimline', 'aimline: from the baseline at the start to the target at the end'),
    item('trendline', 'trend line over the recent points'), item('target', 'target'),
    item('baseline', 'baseline'), item('phase-line', 'support change'), item('review-mark', 'review'));
  const p = document.createElement('p');
  p.className = 'hint';
  p.textContent = down ? 'Lower is better for this milestone: the aimline goes down to the target.'
    : 'Higher is better for this milestone.';
  return [ul, p];
}
