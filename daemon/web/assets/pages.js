/*
 * pages.js: the milestone page (its graph and full record), the milestone
 * builder, the review page and the family summary. Uses app.js's el(),
 * api(), say(), drawing() and graph.js's cairnGraph(). As everywhere on
 * the page, stored text goes in as text, never as markup.
 */
'use strict';

const TYPE_WORDS = {
  academic: 'Academic', behavior: 'Behavior', 'social-emotional': 'Social-emotional',
  'future-readiness': 'Future readiness',
};
const DECISIONS = [
  ['continue', 'Continue as planned'],
  ['adjust-supports', 'Adjust the supports'],
  ['change-timeframe', 'Change the timeframe'],
  ['raise-target', 'Raise the target'],
  ['smaller-steps', 'Break the target into smaller steps'],
  ['change-method', 'Change the measurement method'],
];
const DECISION_WORDS = Object.fromEntries(DECISIONS);

/* 'YYYY-MM-DD' of the local day n days from today. */
function dateIn(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
}

function pairs(list) {
  const dl = el('dl', {class: 'pairs'});
  for (const [k, v] of list) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) continue;
    dl.append(el('dt', {}, k), el('dd', {}, Array.isArray(v) ? v.join('; ') : v));
  }
  return dl;
}

function valueWords(m, v) {
  if (v === null || v === undefined) return '-';
  if (m.scale === 'yesno' && (v === 0 || v === 1)) return v ? 'yes' : 'no';
  return fmtNumber(v) + (m.scale === 'percent' ? '%' : '');
}

/* ---- the milestone page ---- */

function fullRecord(m) {
  const timeframe = m.start + ' to ' + m.end + (m.checks && m.checks.length ? '; check dates ' + m.checks.join(', ') : '');
  const baseline = m.baseline_text + (m.baseline_date ? ' (' + m.baseline_date + ')' : '') +
    (m.baseline_how ? ': ' + m.baseline_how : '');
  return el('section', {class: 'panel', 'aria-labelledby': 'rec-h'},
    el('h2', {id: 'rec-h'}, 'The milestone'),
    pairs([
      ['Statement', m.statement],
      ['Type', (TYPE_WORDS[m.type] || m.type) + ', ' + (m.horizon === 'long' ? 'long-term' : 'short-term')],
      ['Baseline', baseline],
      ['Target', m.goal + ' (direction ' + m.direction + ')'],
      ['Timeframe', timeframe],
      ['Measurement method', m.method],
      ['Scale', m.scale],
      ['Data source', m.source],
      ['Support (intervention lever)', m.support_planned],
      ['Support in place now', m.support ? m.support + (m.support_since ? ' (since ' + m.support_since + ')' : '') : ''],
      ['If/then rules', m.if_then],
      ['Review cadence', m.cadence],
      ['Alignment', m.alignment],
      ['Agreed by', m.agreed_by],
      ['At home', m.at_home],
    ]));
}

function datedList(title, id, items, line) {
  return el('section', {class: 'panel', 'aria-labelledby': id},
    el('h2', {id}, title),
    items.length ? el('ul', {class: 'dated'}, ...items.slice().reverse().map((it) => el('li', {}, ...line(it))))
      : el('p', {}, 'None yet.'));
}

async function renderMilestone(id) {
  const show = drawing();
  markNav('today');
  let page, recs;
  try {
    [page, recs] = await Promise.all([api('GET', '/api/milestone/' + encodeURIComponent(id)),
      api('GET', '/api/milestone/' + encodeURIComponent(id) + '/records')]);
  } catch (e) {
    if (e.status !== 401) show('Milestone', el('p', {}, 'Cannot read this milestone: ' + e.message));
    return;
  }
  const m = page.milestone, student = page.student;
  const holder = el('div', {});
  const record = el('button', {type: 'button', class: 'primary', 'data-key': 'record-here'}, 'Record evidence');
  record.addEventListener('click', () => {
    const q = quickForm(m, async (res, v) => {
      say('Recorded ' + fmtNumber(v) + '.');
      await renderMilestone(id);
    }, () => { holder.replaceChildren(); record.focus(); runWantedRefresh(); });
    holder.replaceChildren(q.form);
    q.focus();
  });
  const ev = (recs.evidence || []).slice().sort((a, b) => ((b.fields || {}).observed || '').localeCompare((a.fields || {}).observed || ''));
  const rows = [];
  for (const r of ev) rows.push(...evidenceRow(r, id));
  const graph = cairnGraph(m, {width: 1100, height: 360, title: 'Progress of ' + (student.name || student.id) + ': ' + m.statement});
  show(m.statement,
    el('p', {class: 'sub'}, (student.name || student.id) + ' · ' + (TYPE_WORDS[m.type] || m.type) + ' · scale ' + m.scale +
      (student.accommodations && student.accommodations.length ? ' · accommodations: ' + student.accommodations.join('; ') : '')),
    el('div', {class: 'panel'},
      el('p', {}, lightBadge(m.light), ' ', el('strong', {}, 'Level: ' + m.level_words + '.'),
        m.why ? ' ' + (m.ended ? 'Result: ' : 'Light: ') + m.why + '.' : ''),
      el('p', {class: 'facts'}, el('span', {}, m.trend_text ? 'Trend ' + m.trend_text : 'No trend yet (it needs 3 points on different days)'),
        el('span', {}, m.next_review ? (m.overdue ? 'review overdue since ' : 'next review ') + m.next_review : 'no review due')),
      m.attention && m.attention.length ? el('ul', {class: 'attention', 'aria-label': 'Needs attention'}, ...m.attention.map((a) => el('li', {class: a.kind}, a.text))) : null,
      el('p', {class: 'actions'}, record, el('a', {class: 'button', href: '#/milestone/' + encodeURIComponent(id) + '/review'}, 'Review, support change, celebration'),
        el('a', {class: 'button', href: '#/family/' + encodeURIComponent(m.student)}, 'Family summary')),
      holder),
    el('section', {class: 'panel graph-panel', 'aria-labelledby': 'graph-h'},
      el('h2', {id: 'graph-h'}, 'Progress'), el('div', {class: 'graph-box'}, graph), ...graphLegend(m)),
    fullRecord(m),
    el('div', {class: 'columns'},
      datedList('Support changes', 'sc-h', m.support_changes || [], (c) => [el('strong', {}, c.date), ': ' + c.support, c.note ? el('span', {class: 'note'}, ' Note: ' + c.note) : null]),
      datedList('Reviews', 'rv-h', m.reviews || [], (r) => [el('strong', {}, r.date), ' (' + r.kind + '): ' + (DECISION_WORDS[r.decision] || r.decision) + '.',
        r.showed ? el('span', {class: 'note'}, ' The data showed: ' + r.showed + '.') : null, r.note ? el('span', {class: 'note'}, ' Note: ' + r.note) : null]),
      datedList('Celebrations', 'cb-h', m.celebrations || [], (c) => [el('strong', {}, c.date), ': ' + c.text])),
    el('h2', {}, 'Evidence'),
    ev.length ? el('table', {},
      el('caption', {class: 'sub'}, 'Newest first. Amended values show the first value struck through; retracted entries stay listed.'),
      el('thead', {}, el('tr', {}, ...['Observed', 'Value', 'Note', 'Recorded by', 'Status', 'Change'].map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', {}, ...rows)) : el('p', {}, 'No evidence yet.'),
    el('p', {}, el('a', {href: '#/today'}, 'Back to Today')));
}

/* ---- forms: errors next to the field the store names ---- */

/* Where a refusal's message points: its first word, before ':' or ' '. */
function fieldOfMessage(msg) {
  const w = /^([a-z_]+)/.exec(msg || '');
  if (!w) return null;
  const aliases = {timeframe: 'end', parent: 'parent', if: 'if_then'};
  return aliases[w[1]] || w[1];
}

/* A labelled field: {wrap, input, error}; kind 'input', 'textarea', 'select'. */
function field(form, name, label, kind, attrs, hint, options) {
  const id = form + '-' + name;
  const input = kind === 'select'
    ? el('select', Object.assign({id, name}, attrs || {}), ...(options || []).map(([v, t]) => el('option', {value: v}, t)))
    : el(kind || 'input', Object.assign({id, name, type: kind === 'textarea' ? null : 'text', autocomplete: 'off'}, attrs || {}));
  const error = el('p', {class: 'error-text', id: id + '-error', hidden: true});
  const hintEl = hint ? el('p', {class: 'hint', id: id + '-hint'}, hint) : null;
  input.setAttribute('aria-describedby', [hintEl ? id + '-hint' : null, id + '-error'].filter(Boolean).join(' '));
  const wrap = el('div', {class: 'field', 'data-field': name}, el('label', {for: id}, label), input, hintEl, error);
  return {wrap, input, error};
}

function clearErrors(fields) {
  for (const f of Object.values(fields)) {
    f.error.hidden = true;
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
}

/* Shows the store's refusal next to the field it names (else in general). */
function showError(fields, general, e) {
  const f = fields[fieldOfMessage(e.message)];
  if (f) {
    f.error.textContent = e.message;
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    f.input.focus();
  } else {
    general.textContent = e.message;
    general.hidden = false;
    general.focus();
  }
}

/* ---- the milestone builder ---- */

/* The seed's worked examples (the practitioner's guide, step 4, with its
 * if/then supports of step 6; the future-readiness one from its steps 1,
 * 2 and 6: attendance kept for graduation). Dates are from today. */
function seedExamples() {
  const weeks = (w) => dateIn(7 * w);
  const every2 = (w) => Array.from({length: Math.floor((w - 1) / 2)}, (_, i) => weeks(2 * (i + 1)));
  return {
    academic: {
      label: 'Academic: 8th grade ELA writing (claim and evidence)',
      type: 'academic', horizon: 'short',
      statement: 'I will include a clear claim and at least 2 pieces of evidence in a 3-paragraph response.',
      baseline: '1.5', baseline_how: 'writing rubric score averages 1.5/4 on claim + evidence',
      target: '3', direction: 'up', rule: '4 of 5', start: dateIn(0), end: weeks(6), checks: every2(6),
      method: 'rubric check per assignment + quick conferencing notes', scale: '0-4',
      source: 'teacher rubric, student drafts in the LMS',
      support: 'small-group writing workshop twice weekly + sentence stems for claim/evidence',
      if_then: ['If a student scores below the target on the next check-in, then add a 20-minute small-group session twice weekly.'],
      cadence: 'weekly', alignment: 'the writing standard for argument: claim and evidence (rubric row)',
      at_home: 'Ask to see one paragraph and find the claim and the two pieces of evidence together.',
    },
    behavior: {
      label: 'Behavior: 6th grade off-task prompts (a tally to lower)',
      type: 'behavior', horizon: 'short',
      statement: 'I will complete seatwork directions within 5 minutes and stay on task for 80% of class time.',
      baseline: '7', baseline_how: '6-8 off-task prompts per day (teacher tally)',
      target: '2', direction: 'down', rule: '', start: dateIn(0), end: weeks(4), checks: every2(4),
      method: '10-minute interval checks (2 intervals per class block)', scale: 'count',
      source: 'teacher behavior log + seating chart notes',
      support: 'visual checklist, preferential seating, and a brief reset routine (2 minutes) after transitions',
      if_then: ["If behavior targets aren't met for two consecutive weeks, then revise the classroom supports (visual cues, transition routines, reinforcement schedule) rather than just correcting more."],
      cadence: 'weekly', alignment: '',
      at_home: 'Use a short checklist for homework time, the same way as in class.',
    },
    'social-emotional': {
      label: 'Social-emotional: 10th grade coping strategy (yes/no)',
      type: 'social-emotional', horizon: 'short',
      statement: 'I will use a coping strategy (breathing, break card, or help request) when stress hits.',
      baseline: 'pending', baseline_how: 'reports feeling stressed in 4 of 5 independent work sessions; a quick baseline of strategy use in the first 1-2 weeks',
      target: '1', direction: 'up', rule: '3 of 4', start: dateIn(0), end: weeks(5), checks: every2(5),
      method: 'student self-check + staff observation checklist', scale: 'yesno',
      source: 'short reflection form + brief teacher notes',
      support: 'pre-teach coping steps, provide a break card, and teach a help request sentence',
      if_then: [], cadence: 'weekly', alignment: '',
      at_home: 'Practise the help request sentence together once this week.',
    },
    'future-readiness': {
      label: 'Future readiness: attendance for graduation (maintain 95%)',
      type: 'future-readiness', horizon: 'long',
      statement: 'I will be at school at least 95% of days for the next 9 weeks.',
      baseline: 'pending', baseline_how: 'attendance rate from the student information system',
      target: '95', direction: 'at-least', rule: '', start: dateIn(0), end: weeks(9), checks: [weeks(4), weeks(8)],
      method: 'weekly attendance rate', scale: 'percent', source: 'student information system',
      support: 'attendance check-ins',
      if_then: ['If attendance drops below 92%, then schedule a family meeting and coordinate a support plan (transportation, reminders, or attendance check-ins).'],
      cadence: 'monthly', alignment: '',
      at_home: 'Check the planner together each evening and plan the morning routine.',
    },
  };
}

/* Students the builder offers: those on Today (a student with no
 * milestone yet is typed by id). */
async function knownStudents() {
  try {
    if (!state.today) state.today = await api('GET', '/api/today');
  } catch (e) { return []; }
  return (state.today.students || []).map((s) => [s.id, (s.name || s.id) + ' (' + s.id + ')']);
}

async function renderBuilder(studentId) {
  const show = drawing();
  markNav('new');
  state.today = null;
  const students = await knownStudents();
  const F = {};
  const add = (name, label, kind, attrs, hint, options) => (F[name] = field('b', name, label, kind, attrs, hint, options)).wrap;
  const step = (n, title, ...nodes) => el('fieldset', {class: 'step'}, el('legend', {}, 'Step ' + n + ': ' + title), ...nodes);
  const general = el('p', {class: 'error-text', role: 'alert', tabindex: '-1', hidden: true});
  const studentField = add('student', 'Student (id)', 'input', {list: 'b-students', required: true, value: studentId || ''},
    'Pick one, or type the id of a student who has no milestone yet.');
  const datalist = el('datalist', {id: 'b-students'}, ...students.map(([v, t]) => el('option', {value: v}, t)));

  const form = el('form', {class: 'builder', novalidate: true, 'aria-label': 'New milestone'},
    step(1, 'the statement, in the student\'s words',
      studentField, datalist,
      add('type', 'Type', 'select', {}, null, Object.entries(TYPE_WORDS)),
      add('horizon', 'Horizon', 'select', {}, null, [['short', 'short-term (weekly or monthly steps)'], ['long', 'long-term (grading period, semester)']]),
      add('statement', 'Statement', 'textarea', {rows: 2, maxlength: 1000, required: true},
        'What the student will do, in words they can repeat back to you.')),
    step(2, 'the baseline, or pending',
      add('baseline', 'Baseline value', 'input', {inputmode: 'decimal'},
        'A number on the scale (step 6), or "pending": a quick baseline is taken in the first 1-2 weeks and the first point stands in.'),
      add('baseline_date', 'Baseline taken on', 'input', {type: 'date'}),
      add('baseline_how', 'How it was obtained', 'input', {maxlength: 500})),
    step(3, 'the target and its rule',
      add('target', 'Target value', 'input', {inputmode: 'decimal', required: true}, 'The value that means success.'),
      add('direction', 'Direction', 'select', {}, null, [['up', 'raise the value to the target'], ['down', 'lower the value to the target (a tally)'],
        ['at-least', 'stay at or above the target'], ['at-most', 'stay at or below the target']]),
      add('rule', 'Rule', 'input', {maxlength: 32, placeholder: '4 of 5'}, 'Met when K of the last N points meet the target, e.g. "4 of 5" (empty: the last point).')),
    step(4, 'the timeframe and check dates',
      add('start', 'Start', 'input', {type: 'date', required: true}),
      add('end', 'End', 'input', {type: 'date', required: true}),
      add('checks', 'Check dates', 'input', {placeholder: 'YYYY-MM-DD, YYYY-MM-DD'}, 'Dates in between when progress is checked, separated by commas.')),
    step(5, 'the measurement method',
      add('method', 'Method', 'input', {maxlength: 500}, 'How evidence is captured: rubric check, interval tally, self-check + observation, unit quiz...')),
    step(6, 'the scale and the data source',
      add('scale', 'Scale', 'input', {maxlength: 32, required: true, list: 'b-scales'}, 'MIN-MAX (e.g. 0-4), percent, count, or yesno.'),
      el('datalist', {id: 'b-scales'}, ...['0-4', 'percent', 'count', 'yesno'].map((v) => el('option', {value: v}))),
      add('source', 'Data source', 'input', {maxlength: 500})),
    step(7, 'supports and if/then rules',
      add('support', 'Support (intervention lever)', 'input', {maxlength: 1000}),
      add('if_then', 'If/then rules', 'textarea', {rows: 3},
        'One per line: "If CONDITION, then ACTION", e.g. "If below the target on the next check-in, then add a small group."')),
    step(8, 'the review cadence',
      add('cadence', 'Cadence', 'select', {}, null, [['weekly', 'weekly quick check'], ['biweekly', 'every 2 weeks'], ['monthly', 'monthly review'], ['quarterly', 'quarterly re-baseline']])),
    step(9, 'alignment, who agreed, and the family',
      add('alignment', 'Standard or rubric row', 'input', {maxlength: 500}),
      add('agreed_by', 'Agreed by', 'input', {}, 'Names, separated by commas: the student, the family, the teacher.'),
      add('at_home', 'One thing the family can do at home', 'input', {maxlength: 500}, 'Printed on the family summary.')),
    general,
    el('p', {}, el('button', {type: 'submit', class: 'primary'}, 'Add the milestone'), ' ', el('a', {href: '#/today'}, 'Cancel')));
  F.cadence.input.value = 'monthly';

  const fill = (ex) => {
    for (const [k, f] of Object.entries(F)) {
      if (k === 'student' || !(k in ex)) continue;
      const v = ex[k];
      f.input.value = Array.isArray(v) ? v.join(k === 'if_then' ? '\n' : ', ') : v;
    }
    clearErrors(F);
    general.hidden = true;
    say('Filled in from the example. Change what differs for this student, then add it.');
    F.statement.input.focus();
  };
  const examples = seedExamples();
  const exampleButtons = el('div', {class: 'examples', role: 'group', 'aria-labelledby': 'ex-h'},
    el('h2', {id: 'ex-h'}, 'Start from a worked example'),
    el('p', {class: 'hint'}, 'The practitioner\'s guide\'s examples, one per type; dates start today.'),
    ...Object.entries(examples).map(([k, ex]) => el('button', {type: 'button', 'data-example': k, onclick: () => fill(ex)}, ex.label)));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(F);
    general.hidden = true;
    const v = (k) => F[k].input.value.trim();
    const list = (k, sep) => v(k).split(sep).map((s) => s.trim()).filter(Boolean);
    const num = (k) => (v(k) === '' ? undefined : Number(v(k).replace(/%$/, '')));
    const body = {
      student: v('student'), type: v('type'), horizon: v('horizon'), statement: v('statement'),
      baseline: /^pending$/i.test(v('baseline')) ? null : num('baseline'),
      baseline_date: v('baseline_date'), baseline_how: v('baseline_how'),
      target: num('target'), direction: v('direction'), rule: v('rule'),
      start: v('start'), end: v('end'), checks: list('checks', /[,\s]+/),
      method: v('method'), scale: v('scale'), source: v('source'),
      support: v('support'), if_then: list('if_then', /\n/), cadence: v('cadence'),
      alignment: v('alignment'), agreed_by: list('agreed_by', /,/), at_home: v('at_home'),
    };
    /* what cannot be sent as typed is named here; the rest the store checks, as for the CLI */
    for (const k of ['baseline', 'target']) {
      if (body[k] !== null && body[k] !== undefined && !Number.isFinite(body[k])) {
        showError(F, general, new Error(k + ': not a number' + (k === 'baseline' ? ' (or pending)' : '')));
        return;
      }
    }
    if (body.baseline === undefined) { showError(F, general, new Error('baseline: required (a number, or pending)')); return; }
    try {
      const res = await api('POST', '/api/milestone', body);
      say('Milestone added.');
      location.hash = '#/milestone/' + encodeURIComponent(res.id);
    } catch (e) {
      if (e.status === 401) return;
      showError(F, general, e);
    }
  });
  show('New milestone', el('p', {class: 'sub'}, 'The steps of the practitioner\'s guide, in order. cairnd checks each field as it does for cairn milestone add, and says what is wrong next to the field.'),
    exampleButtons, form);
}

/* ---- the review page ---- */

async function renderReview(id) {
  const show = drawing();
  markNav('today');
  let page;
  try {
    page = await api('GET', '/api/milestone/' + encodeURIComponent(id));
  } catch (e) {
    if (e.status !== 401) show('Review', el('p', {}, 'Cannot read this milestone: ' + e.message));
    return;
  }
  const m = page.milestone, student = page.student;
  const reviews = m.reviews || [];
  const last = reviews.length ? reviews[reviews.length - 1].date : null;
  const since = (m.series || []).filter((p) => !last || p.observed > last);
  const back = '#/milestone/' + encodeURIComponent(id);
  const done = async (what) => { await renderReview(id); say(what); }; /* said once the page shows it */

  /* the review */
  const R = {};
  const rGeneral = el('p', {class: 'error-text', role: 'alert', tabindex: '-1', hidden: true});
  const radios = el('fieldset', {class: 'decisions'}, el('legend', {}, 'Decision'),
    ...DECISIONS.map(([v, t], i) => el('label', {class: 'radio'},
      el('input', {type: 'radio', name: 'decision', value: v, checked: i === 0 ? true : null}), ' ' + t)));
  R.date = field('r', 'date', 'Date', 'input', {type: 'date', value: dateIn(0)});
  R.kind = field('r', 'kind', 'Kind', 'select', {}, null, [['weekly', 'weekly check'], ['monthly', 'monthly review'], ['quarterly', 'quarterly re-baseline']]);
  R.showed = field('r', 'showed', 'What the data showed', 'input', {maxlength: 1000}, 'Empty: cairnd writes the derived status of that day.');
  R.note = field('r', 'note', 'Note (staff only)', 'textarea', {rows: 2, maxlength: 2000});
  R.decision = {input: radios.querySelector('input'), error: el('p', {class: 'error-text', hidden: true})};
  radios.append(R.decision.error);
  R.kind.input.value = m.cadence === 'quarterly' ? 'quarterly' : m.cadence === 'monthly' ? 'monthly' : 'weekly';
  const reviewForm = el('form', {class: 'stack', novalidate: true, 'aria-labelledby': 'rv-form-h', id: 'review-form'},
    el('h2', {id: 'rv-form-h'}, 'The decision'), R.date.wrap, R.kind.wrap, radios, R.showed.wrap, R.note.wrap, rGeneral,
    el('button', {type: 'submit', class: 'primary'}, 'Save the review'));
  reviewForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(R);
    const decision = reviewForm.querySelector('input[name=decision]:checked');
    try {
      await api('POST', '/api/review', {milestone: id, date: R.date.input.value, kind: R.kind.input.value,
        decision: decision ? decision.value : '', showed: R.showed.input.value.trim(), note: R.note.input.value});
      await done('Review saved: ' + (decision ? DECISION_WORDS[decision.value] : '') + '.');
    } catch (e) { if (e.status !== 401) showError(R, rGeneral, e); }
  });

  /* a support change */
  const S = {
    date: field('s', 'date', 'Date', 'input', {type: 'date', value: dateIn(0)}),
    support: field('s', 'support', 'The support now in place', 'input', {maxlength: 1000, required: true}),
    note: field('s', 'note', 'Note (staff only)', 'input', {maxlength: 2000}),
  };
  const sGeneral = el('p', {class: 'error-text', role: 'alert', tabindex: '-1', hidden: true});
  const supportForm = el('form', {class: 'stack', novalidate: true, 'aria-labelledby': 'sc-form-h', id: 'support-form'},
    el('h2', {id: 'sc-form-h'}, 'A support change'), el('p', {class: 'hint'}, 'It shows on the graph as a dashed phase line from its date.'),
    S.date.wrap, S.support.wrap, S.note.wrap, sGeneral, el('button', {type: 'submit'}, 'Save the support change'));
  supportForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(S);
    try {
      await api('POST', '/api/support', {milestone: id, date: S.date.input.value, support: S.support.input.value.trim(), note: S.note.input.value});
      await done('Support change saved.');
    } catch (e) { if (e.status !== 401) showError(S, sGeneral, e); }
  });

  /* a celebration */
  const C = {
    date: field('c', 'date', 'Date', 'input', {type: 'date', value: dateIn(0)}),
    text: field('c', 'text', 'What was reached', 'input', {maxlength: 1000, required: true},
      'Specific and timely: "evidence use improved from 1 to 3", within days of the check.'),
  };
  const cGeneral = el('p', {class: 'error-text', role: 'alert', tabindex: '-1', hidden: true});
  const celebrationForm = el('form', {class: 'stack', novalidate: true, 'aria-labelledby': 'cb-form-h', id: 'celebration-form'},
    el('h2', {id: 'cb-form-h'}, 'A celebration'), C.date.wrap, C.text.wrap, cGeneral, el('button', {type: 'submit'}, 'Save the celebration'));
  celebrationForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(C);
    try {
      await api('POST', '/api/celebration', {milestone: id, date: C.date.input.value, text: C.text.input.value.trim()});
      await done('Celebration saved.');
    } catch (e) { if (e.status !== 401) showError(C, cGeneral, e); }
  });

  const data = el('section', {class: 'panel', 'aria-labelledby': 'since-h'},
    el('h2', {id: 'since-h'}, last ? 'The data since the last review (' + last + ')' : 'The data since the start (' + m.start + ')'),
    el('p', {}, lightBadge(m.light), ' Level: ' + m.level_words + '.', m.why ? ' ' + (m.ended ? 'Result: ' : 'Light: ') + m.why + '.' : ''),
    el('p', {class: 'facts'}, el('span', {}, m.goal), el('span', {}, m.trend_text ? 'trend ' + m.trend_text : 'no trend yet')),
    since.length ? el('table', {}, el('caption', {class: 'sub'}, since.length + ' point(s), oldest first'),
      el('thead', {}, el('tr', {}, ...['Observed', 'Value', 'Note'].map((h) => el('th', {scope: 'col'}, h)))),
      el('tbody', {}, ...since.map((p) => el('tr', {class: p.retracted ? 'retracted' : null},
        el('td', {}, p.observed), el('td', {class: 'num value'}, valueWords(m, p.value) + (p.retracted ? ' (retracted)' : p.amended ? ' (amended)' : '')),
        el('td', {}, p.note || '')))))
      : el('p', {}, 'No evidence since then.'),
    el('div', {class: 'graph-box'}, cairnGraph(m, {width: 560, height: 260, title: 'Progress of ' + m.statement})));
  show('Review: ' + m.statement,
    el('p', {class: 'sub'}, (student.name || student.id) + ' · cadence ' + m.cadence + ' · ' +
      (m.next_review ? (m.overdue ? 'review overdue since ' : 'next review ') + m.next_review : 'no review due')),
    el('div', {class: 'review-grid'}, data, el('div', {class: 'panel'}, reviewForm)),
    el('div', {class: 'columns'}, el('div', {class: 'panel'}, supportForm), el('div', {class: 'panel'}, celebrationForm)),
    el('p', {}, el('a', {href: back}, 'Back to the milestone')));
}

/* ---- the family summary ---- */

function familyMilestone(m, i, today) {
  const celebrations = m.celebrations || [];
  const next = m.next_review ? (m.next_review < today ? 'due now (it was planned for ' + m.next_review + ')' : m.next_review) : 'none planned';
  const lightWords = {green: 'on track', yellow: 'to watch', red: 'needs a change of support', none: 'no data yet'};
  return el('section', {class: 'family-ms', 'aria-labelledby': 'fm-' + i},
    el('h2', {id: 'fm-' + i}, m.statement),
    el('div', {class: 'family-row'},
      el('div', {class: 'family-graph'}, cairnGraph(m, {width: 300, height: 130, small: true, title: 'Progress on: ' + m.statement})),
      el('div', {class: 'family-words'},
        el('p', {class: 'level'}, m.ended ? 'Result: ' + (m.result === 'met' ? 'goal met' : 'goal not met') : 'Where things are: ' + m.level_words),
        m.ended ? null : el('p', {}, 'Light: ' + (lightWords[m.light] || m.light) + (m.last_text ? '; latest ' + m.last_text + ' on ' + m.last_observed : '')),
        el('p', {}, 'Goal: ' + m.goal + ', by ' + m.end + '.'),
        el('p', {}, el('strong', {}, 'What the school is doing: '), m.support || 'the plan agreed with you.'),
        el('p', {}, el('strong', {}, 'One thing to try at home: '), m.at_home || 'ask your child to tell you about this goal in their own words.'),
        el('p', {}, el('strong', {}, 'Next check-in: '), next + '.'),
        celebrations.length ? el('p', {}, el('strong', {}, 'Celebrations: '),
          celebrations.map((c) => c.text + ' (' + c.date + ')').join('; ') + '.') : null)));
}

async function renderFamily(studentId) {
  const show = drawing();
  markNav('today');
  let data;
  try {
    data = await api('GET', '/api/student/' + encodeURIComponent(studentId) + '/family');
  } catch (e) {
    if (e.status !== 401) show('Family summary', el('p', {}, 'Cannot read this student: ' + e.message));
    return;
  }
  const name = data.student.name || 'your child';
  const print = el('button', {type: 'button', class: 'primary no-print'}, 'Print, or save as PDF');
  print.addEventListener('click', () => window.print());
  show('Progress summary for ' + name,
    el('p', {class: 'sub'}, (data.student.grade ? 'Grade ' + data.student.grade + ' · ' : '') + 'as of ' + data.as_of +
      '. Each goal was agreed with ' + name + '; the graph shows each check, and the line is where we aim to be.'),
    el('p', {class: 'no-print'}, print, ' ', el('a', {href: '#/today'}, 'Back to Today')),
    ...(data.milestones.length ? data.milestones.map((m, i) => familyMilestone(m, i, data.as_of))
      : [el('p', {}, 'No goals yet.')]),
    el('p', {class: 'family-foot'}, 'Questions? Talk to your child\'s teacher. cairn keeps this record on the school\'s computer.'));
  document.body.classList.add('family-page');
}
