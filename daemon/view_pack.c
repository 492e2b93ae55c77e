/*
 * view_pack.c: the store's typed views (store.h) as msgpack replies: the
 * status and show shapes of docs/FORMAT.md section 5, printed by
 * `cairn status --json` and `cairn show --json`.
 */
#include "rpc_int.h"

#include <string.h>

#include <sodium.h>

#include "text.h"

/* A map whose size is known only once its pairs are packed: the pairs go
 * to a side buffer and are counted. */
typedef struct map_builder {
  msgpack_sbuffer body;
  msgpack_packer pk;
  uint32_t n;
} map_builder;

static void map_begin(map_builder *m) {
  msgpack_sbuffer_init(&m->body);
  msgpack_packer_init(&m->pk, &m->body, msgpack_sbuffer_write);
  m->n = 0;
}

/* Starts the pair named key: pack its value into m->pk next. */
static msgpack_packer *key(map_builder *m, const char *k) {
  m->n++;
  cairn__rpc_pack_str(&m->pk, k);
  return &m->pk;
}

static void map_end(map_builder *m, msgpack_packer *pk) {
  msgpack_pack_map(pk, m->n);
  if (m->body.size > 0)
    pk->callback(pk->data, m->body.data, m->body.size);
  msgpack_sbuffer_destroy(&m->body);
}

static void pack_text(msgpack_packer *pk, const char *s) {
  if (s != NULL)
    cairn__rpc_pack_str(pk, s);
  else
    msgpack_pack_nil(pk);
}

static void pack_day(msgpack_packer *pk, int32_t day) {
  char s[11];
  if (day == CAIRN_PROGRESS_NO_DAY) {
    msgpack_pack_nil(pk);
    return;
  }
  cairn_text_date_format(day, s);
  cairn__rpc_pack_str(pk, s);
}

static void pack_bool(msgpack_packer *pk, int b) {
  if (b)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
}

/* An array of strings. */
static void pack_texts(msgpack_packer *pk, const char *const *items, size_t n) {
  msgpack_pack_array(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    cairn__rpc_pack_str(pk, items[i]);
}

/* A number, or nil when it is not valid. */
static void pack_num_if(msgpack_packer *pk, int valid, double v) {
  if (valid)
    msgpack_pack_double(pk, v);
  else
    msgpack_pack_nil(pk);
}

void cairn__rpc_pack_text(msgpack_packer *pk, const char *s) { pack_text(pk, s); }
void cairn__rpc_pack_day(msgpack_packer *pk, int32_t day) { pack_day(pk, day); }
void cairn__rpc_pack_bool(msgpack_packer *pk, int b) { pack_bool(pk, b); }
void cairn__rpc_pack_num_if(msgpack_packer *pk, int valid, double v) { pack_num_if(pk, valid, v); }

/* The pairs of a milestone's status, into b. */
static void milestone_pairs(map_builder *b, const cairn_store_milestone_status *m) {
  const cairn_progress *pr = &m->progress;
  const cairn_milestone_params *p = &m->params;
  pack_text(key(b, "id"), m->id);
  pack_text(key(b, "student"), m->student);
  pack_text(key(b, "type"), m->type);
  pack_text(key(b, "statement"), m->statement);
  pack_text(key(b, "horizon"), m->horizon);
  pack_text(key(b, "parent"), m->parent);
  pack_text(key(b, "scale"), m->scale);
  pack_texts(key(b, "levels"), m->levels, m->nlevels);
  pack_text(key(b, "direction"), m->direction);
  pack_num_if(key(b, "baseline"), !p->baseline_pending, p->baseline);
  pack_text(key(b, "baseline_text"), m->baseline);
  msgpack_pack_double(key(b, "target"), p->target);
  pack_text(key(b, "target_text"), m->target);
  pack_text(key(b, "rule"), m->rule);
  pack_text(key(b, "goal"), m->goal);
  pack_day(key(b, "start"), p->start);
  pack_day(key(b, "end"), p->end);
  msgpack_pack_array(key(b, "checks"), (uint32_t)p->nchecks);
  for (size_t i = 0; i < p->nchecks; i++)
    pack_day(&b->pk, p->checks[i]);
  pack_text(key(b, "cadence"), m->cadence);
  msgpack_pack_int(key(b, "cadence_days"), p->cadence_days);
  pack_text(key(b, "level"), cairn_progress_level_name(pr->level));
  pack_text(key(b, "light"), cairn_progress_light_name(pr->light));
  pack_bool(key(b, "ended"), pr->ended);
  pack_text(key(b, "result"), pr->ended ? cairn_progress_result_name(pr->result) : NULL);
  pack_bool(key(b, "closed"), pr->closed);
  pack_day(key(b, "closed_on"),
           p->closed_result != CAIRN_RESULT_NONE ? p->closed : CAIRN_PROGRESS_NO_DAY);
  pack_bool(key(b, "archived"), m->archived);
  pack_text(key(b, "replaced_by"), m->replaced_by);
  pack_text(key(b, "carried_from"), m->carried_from);
  pack_text(key(b, "why"), m->why);
  msgpack_pack_uint64(key(b, "points"), pr->points);
  msgpack_pack_int(key(b, "met"), pr->met_in_window);
  msgpack_pack_int(key(b, "window"), pr->window);
  msgpack_pack_int(key(b, "wrong_side_run"), pr->wrong_side_run);
  pack_num_if(key(b, "last_value"), pr->points > 0, pr->last_value);
  pack_text(key(b, "last_text"), pr->points > 0 ? m->last : NULL);
  pack_day(key(b, "last_observed"), pr->points > 0 ? pr->last_day : CAIRN_PROGRESS_NO_DAY);
  pack_num_if(key(b, "aim_at_last"), pr->points > 0, pr->aim_at_last);
  pack_num_if(key(b, "trend_per_week"), pr->trend_valid, pr->trend_per_week);
  pack_text(key(b, "trend"), pr->trend_valid ? cairn_progress_trend_word(p, pr) : NULL);
  pack_text(key(b, "trend_text"), pr->trend_valid ? m->trend : NULL);
  msgpack_pack_double(key(b, "aim_per_week"), pr->aim_per_week);
  pack_day(key(b, "last_review"), pr->last_review);
  pack_day(key(b, "next_review"), pr->next_review_due);
  pack_bool(key(b, "next_is_check"), pr->next_is_check);
  pack_bool(key(b, "overdue"), pr->overdue);
  pack_text(key(b, "support"), m->support);
  pack_day(key(b, "support_since"), m->support_since);
  pack_text(key(b, "celebration"), m->celebration);
  pack_day(key(b, "celebrated"), m->celebrated);
  msgpack_pack_array(key(b, "triggered"), (uint32_t)m->ntriggered);
  for (size_t i = 0; i < m->ntriggered; i++) {
    msgpack_pack_map(&b->pk, 2);
    cairn__rpc_pack_str(&b->pk, "rule");
    cairn__rpc_pack_str(&b->pk, m->triggered[i].rule);
    cairn__rpc_pack_str(&b->pk, "action");
    cairn__rpc_pack_str(&b->pk, m->triggered[i].action);
  }
  msgpack_pack_uint64(key(b, "conflicts"), m->conflicts);
  pack_text(key(b, "template"), m->template_id);
  pack_text(key(b, "standard"), m->standard);
  msgpack_pack_uint64(key(b, "future_points"), m->nfuture);
}

static void pack_milestone(msgpack_packer *pk, const cairn_store_milestone_status *m) {
  map_builder b;

  map_begin(&b);
  milestone_pairs(&b, m);
  map_end(&b, pk);
}

/* A milestone in brief (cairn_store_students). */
static void pack_brief(msgpack_packer *pk, const cairn_store_milestone_brief *m) {
  map_builder b;

  map_begin(&b);
  pack_text(key(&b, "id"), m->id);
  pack_text(key(&b, "statement"), m->statement);
  pack_text(key(&b, "scale"), m->scale);
  pack_texts(key(&b, "levels"), m->levels, m->nlevels);
  pack_text(key(&b, "result"), m->result);
  pack_bool(key(&b, "archived"), m->archived);
  pack_day(key(&b, "start"), m->start);
  pack_day(key(&b, "end"), m->end);
  map_end(&b, pk);
}

/* The pairs of a student, without their milestones, into b. */
static void student_pairs(map_builder *b, const cairn_store_student_summary *s) {
  pack_text(key(b, "id"), s->id);
  pack_text(key(b, "name"), s->name);
  pack_text(key(b, "grade"), s->grade);
  pack_text(key(b, "campus"), s->campus);
  pack_texts(key(b, "classrooms"), s->classrooms, s->nclassrooms);
  pack_texts(key(b, "accommodations"), s->accommodations, s->naccommodations);
  pack_bool(key(b, "withdrawn"), s->withdrawn);
  pack_day(key(b, "withdrawn_on"), s->withdrawn_on);
  msgpack_pack_uint64(key(b, "open"), s->open);
}

static void pack_student(msgpack_packer *pk, const cairn_store_student_summary *s) {
  map_builder b;

  map_begin(&b);
  student_pairs(&b, s);
  msgpack_pack_array(key(&b, "milestones"), (uint32_t)(s->nmilestones + s->nbriefs));
  for (size_t i = 0; i < s->nmilestones; i++)
    pack_milestone(&b.pk, &s->milestones[i]);
  for (size_t i = 0; i < s->nbriefs; i++)
    pack_brief(&b.pk, &s->briefs[i]);
  map_end(&b, pk);
}

void cairn__rpc_pack_status(msgpack_packer *pk, const cairn_store_status_view *v) {
  msgpack_pack_array(pk, (uint32_t)v->nstudents);
  for (size_t i = 0; i < v->nstudents; i++)
    pack_student(pk, &v->students[i]);
}

/* A line of the graph: {from, to, at_from, at_to, per_day, intercept}, or
 * nil when there is none. */
static void pack_line(msgpack_packer *pk, const cairn_progress_line *l) {
  if (!l->valid) {
    msgpack_pack_nil(pk);
    return;
  }
  msgpack_pack_map(pk, 6);
  cairn__rpc_pack_str(pk, "from");
  pack_day(pk, l->from);
  cairn__rpc_pack_str(pk, "to");
  pack_day(pk, l->to);
  cairn__rpc_pack_str(pk, "at_from");
  msgpack_pack_double(pk, l->at_from);
  cairn__rpc_pack_str(pk, "at_to");
  msgpack_pack_double(pk, l->at_to);
  cairn__rpc_pack_str(pk, "per_day");
  msgpack_pack_double(pk, l->per_day);
  cairn__rpc_pack_str(pk, "intercept");
  msgpack_pack_double(pk, l->intercept);
}

static void pack_point(msgpack_packer *pk, const cairn_store_point *p) {
  map_builder b;

  map_begin(&b);
  pack_text(key(&b, "evidence"), p->evidence);
  pack_day(key(&b, "observed"), p->day);
  msgpack_pack_double(key(&b, "value"), p->value);
  pack_bool(key(&b, "amended"), p->amended);
  pack_num_if(key(&b, "original"), p->amended, p->original);
  pack_bool(key(&b, "retracted"), p->retracted);
  pack_text(key(&b, "by"), p->by);
  pack_text(key(&b, "note"), p->note);
  map_end(&b, pk);
}

/* A milestone's page: its status's pairs, then the rest (FORMAT.md s.5). */
static void pack_detail(msgpack_packer *pk, const cairn_store_milestone_detail *d) {
  map_builder b;

  map_begin(&b);
  milestone_pairs(&b, d->status);
  pack_text(key(&b, "level_words"), d->level_words);
  pack_day(key(&b, "baseline_date"), d->baseline_date);
  pack_text(key(&b, "baseline_how"), d->baseline_how);
  pack_text(key(&b, "method"), d->method);
  pack_text(key(&b, "source"), d->source);
  pack_text(key(&b, "alignment"), d->alignment);
  pack_text(key(&b, "at_home"), d->at_home);
  pack_text(key(&b, "support_planned"), d->own_support);
  pack_texts(key(&b, "if_then"), d->if_then, d->nif_then);
  pack_texts(key(&b, "agreed_by"), d->agreed_by, d->nagreed_by);
  msgpack_pack_array(key(&b, "series"), (uint32_t)d->npoints);
  for (size_t i = 0; i < d->npoints; i++)
    pack_point(&b.pk, &d->points[i]);
  pack_line(key(&b, "aimline"), &d->aimline);
  pack_line(key(&b, "trendline"), &d->trendline);
  msgpack_pack_array(key(&b, "reviews"), (uint32_t)d->nreviews);
  for (size_t i = 0; i < d->nreviews; i++) {
    const cairn_store_review_item *r = &d->reviews[i];
    msgpack_pack_map(&b.pk, 6);
    cairn__rpc_pack_str(&b.pk, "id");
    cairn__rpc_pack_str(&b.pk, r->id);
    cairn__rpc_pack_str(&b.pk, "date");
    pack_day(&b.pk, r->day);
    cairn__rpc_pack_str(&b.pk, "kind");
    cairn__rpc_pack_str(&b.pk, r->kind);
    cairn__rpc_pack_str(&b.pk, "decision");
    cairn__rpc_pack_str(&b.pk, r->decision);
    cairn__rpc_pack_str(&b.pk, "showed");
    cairn__rpc_pack_str(&b.pk, r->showed);
    cairn__rpc_pack_str(&b.pk, "note");
    cairn__rpc_pack_str(&b.pk, r->note);
  }
  msgpack_pack_array(key(&b, "support_changes"), (uint32_t)d->nsupport_changes);
  for (size_t i = 0; i < d->nsupport_changes; i++) {
    const cairn_store_support_item *c = &d->support_changes[i];
    msgpack_pack_map(&b.pk, 4);
    cairn__rpc_pack_str(&b.pk, "id");
    cairn__rpc_pack_str(&b.pk, c->id);
    cairn__rpc_pack_str(&b.pk, "date");
    pack_day(&b.pk, c->day);
    cairn__rpc_pack_str(&b.pk, "support");
    cairn__rpc_pack_str(&b.pk, c->support);
    cairn__rpc_pack_str(&b.pk, "note");
    cairn__rpc_pack_str(&b.pk, c->note);
  }
  msgpack_pack_array(key(&b, "celebrations"), (uint32_t)d->ncelebrations);
  for (size_t i = 0; i < d->ncelebrations; i++) {
    const cairn_store_celebration_item *c = &d->celebrations[i];
    msgpack_pack_map(&b.pk, 3);
    cairn__rpc_pack_str(&b.pk, "id");
    cairn__rpc_pack_str(&b.pk, c->id);
    cairn__rpc_pack_str(&b.pk, "date");
    pack_day(&b.pk, c->day);
    cairn__rpc_pack_str(&b.pk, "text");
    cairn__rpc_pack_str(&b.pk, c->text);
  }
  map_end(&b, pk);
}

void cairn__rpc_pack_detail(msgpack_packer *pk, const cairn_store_detail_view *v) {
  char day[11];
  map_builder b;

  cairn__rpc_pack_str(pk, "as_of");
  cairn_text_date_format(v->as_of, day);
  cairn__rpc_pack_str(pk, day);
  cairn__rpc_pack_str(pk, "student");
  map_begin(&b);
  student_pairs(&b, v->student);
  map_end(&b, pk);
  cairn__rpc_pack_str(pk, "milestones");
  msgpack_pack_array(pk, (uint32_t)v->nmilestones);
  for (size_t i = 0; i < v->nmilestones; i++)
    pack_detail(pk, &v->milestones[i]);
}

static void pack_value(msgpack_packer *pk, const cairn_store_value *v);

static void pack_pairs(msgpack_packer *pk, const cairn_store_pair *p, size_t n) {
  msgpack_pack_map(pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    cairn__rpc_pack_str(pk, p[i].name);
    pack_value(pk, &p[i].value);
  }
}

static void pack_value(msgpack_packer *pk, const cairn_store_value *v) {
  switch (v->kind) {
  case CAIRN_STORE_NIL:
    msgpack_pack_nil(pk);
    break;
  case CAIRN_STORE_BOOL:
    pack_bool(pk, v->u.boolean);
    break;
  case CAIRN_STORE_INT:
    msgpack_pack_int64(pk, v->u.integer);
    break;
  case CAIRN_STORE_NUM:
    msgpack_pack_double(pk, v->u.number);
    break;
  case CAIRN_STORE_STR:
    msgpack_pack_str(pk, v->u.str.len);
    msgpack_pack_str_body(pk, v->u.str.s, v->u.str.len);
    break;
  case CAIRN_STORE_BIN:
    msgpack_pack_bin(pk, v->u.bin.len);
    msgpack_pack_bin_body(pk, v->u.bin.p, v->u.bin.len);
    break;
  case CAIRN_STORE_LIST:
    msgpack_pack_array(pk, (uint32_t)v->u.list.n);
    for (size_t i = 0; i < v->u.list.n; i++)
      pack_value(pk, &v->u.list.items[i]);
    break;
  case CAIRN_STORE_MAP:
    pack_pairs(pk, v->u.map.items, v->u.map.n);
    break;
  }
}

void cairn__rpc_pack_history(msgpack_packer *pk, const cairn_store_history *h) {
  char hex[2 * CAIRN_KEY_BYTES + 1];
  map_builder b;

  map_begin(&b);
  pack_text(key(&b, "type"), h->type);
  pack_text(key(&b, "id"), h->id);
  pack_pairs(key(&b, "fields"), h->fields, h->nfields);
  msgpack_pack_array(key(&b, "history"), (uint32_t)h->nhistory);
  for (size_t i = 0; i < h->nhistory; i++) {
    const cairn_store_version *w = &h->history[i];
    msgpack_pack_map(&b.pk, 4 + (w->nbase > 0) + (w->why != NULL));
    cairn__rpc_pack_str(&b.pk, "author");
    sodium_bin2hex(hex, sizeof hex, w->author, CAIRN_KEY_BYTES);
    cairn__rpc_pack_str(&b.pk, hex);
    cairn__rpc_pack_str(&b.pk, "seq");
    msgpack_pack_uint64(&b.pk, w->seq);
    cairn__rpc_pack_str(&b.pk, "hlc");
    msgpack_pack_uint64(&b.pk, w->hlc);
    cairn__rpc_pack_str(&b.pk, "set");
    pack_pairs(&b.pk, w->set, w->nset);
    if (w->nbase > 0) {
      cairn__rpc_pack_str(&b.pk, "base");
      pack_pairs(&b.pk, w->base, w->nbase);
    }
    if (w->why != NULL) {
      cairn__rpc_pack_str(&b.pk, "why");
      cairn__rpc_pack_str(&b.pk, w->why);
    }
  }
  if (h->nconflicts > 0) {
    msgpack_pack_map(key(&b, "conflicts"), (uint32_t)h->nconflicts);
    for (size_t i = 0; i < h->nconflicts; i++) {
      cairn__rpc_pack_str(&b.pk, h->conflicts[i].field);
      msgpack_pack_array(&b.pk, (uint32_t)h->conflicts[i].nothers);
      for (size_t k = 0; k < h->conflicts[i].nothers; k++)
        pack_value(&b.pk, &h->conflicts[i].others[k]);
    }
  }
  if (h->scale != NULL)
    pack_text(key(&b, "scale"), h->scale);
  if (h->nlevels > 0)
    pack_texts(key(&b, "levels"), h->levels, h->nlevels);
  map_end(&b, pk);
}
