/* roster.c: the model's store (an arena of strings, an array of records and
 * a hash index of sourcedIds per file), lookups, and the answers the
 * importer asks of a model. */
#include "roster_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"

#define BLOCK_SIZE (256u * 1024u)
#define ALIGN 8u

struct cairn__roster_block {
  cairn__roster_block *next;
  size_t used, cap;
  _Alignas(ALIGN) unsigned char data[];
};

struct cairn__roster_store *cairn__roster_store_new(void) {
  struct cairn__roster_store *s;

  if (sodium_init() < 0 || (s = calloc(1, sizeof *s)) == NULL)
    return NULL;
  /* A keyed hash (SipHash) so that no file can be made of ids that all
   * land in one slot. */
  randombytes_buf(s->hash_key, sizeof s->hash_key);
  for (int f = 0; f < CAIRN_ROSTER_FILES; f++)
    s->t[f].size = cairn__roster_record_size((cairn_roster_file)f);
  return s;
}

void cairn__roster_store_free(struct cairn__roster_store *s) {
  if (s == NULL)
    return;
  while (s->blocks) {
    cairn__roster_block *next = s->blocks->next;
    free(s->blocks);
    s->blocks = next;
  }
  for (int f = 0; f < CAIRN_ROSTER_FILES; f++) {
    free(s->t[f].recs);
    free(s->t[f].slots);
  }
  free(s);
}

void *cairn__roster_alloc(struct cairn__roster_store *s, size_t size) {
  cairn__roster_block *b = s->blocks;

  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  if (size == 0)
    size = ALIGN;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > BLOCK_SIZE / 4 ? size : BLOCK_SIZE;
    if ((b = malloc(sizeof *b + cap)) == NULL)
      return NULL;
    b->used = 0;
    b->cap = cap;
    if (cap == BLOCK_SIZE || s->blocks == NULL) {
      b->next = s->blocks;
      s->blocks = b;
    } else {
      /* A big one goes behind the current block, which keeps its room. */
      b->next = s->blocks->next;
      s->blocks->next = b;
    }
  }
  b->used += size;
  return b->data + b->used - size;
}

char *cairn__roster_strdup(struct cairn__roster_store *s, const char *p, size_t len) {
  char *d = cairn__roster_alloc(s, len + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, p, len);
  d[len] = '\0';
  return d;
}

void *cairn__roster_append(struct cairn__roster_store *s, cairn_roster_file f) {
  cairn__roster_table *t = &s->t[f];
  char *rec;

  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    char *recs = realloc(t->recs, cap * t->size);
    if (recs == NULL)
      return NULL;
    t->recs = recs;
    t->cap = cap;
  }
  rec = t->recs + t->n++ * t->size;
  memset(rec, 0, t->size);
  return rec;
}

cairn_roster_row *cairn__roster_row_at(const struct cairn__roster_store *s, cairn_roster_file f, size_t i) {
  return (cairn_roster_row *)(s->t[f].recs + i * s->t[f].size);
}

static uint64_t hash(const struct cairn__roster_store *s, const char *id, size_t len) {
  uint8_t h[crypto_shorthash_BYTES];
  uint64_t v;

  crypto_shorthash(h, (const unsigned char *)id, len, s->hash_key);
  memcpy(&v, h, sizeof v);
  return v;
}

size_t cairn__roster_lookup(const struct cairn__roster_store *s, cairn_roster_file f, const char *id,
                            size_t len) {
  const cairn__roster_table *t = &s->t[f];
  size_t mask, i;

  if (t->nslots == 0)
    return CAIRN_ROSTER_NONE;
  mask = t->nslots - 1;
  for (i = (size_t)hash(s, id, len) & mask; t->slots[i]; i = (i + 1) & mask) {
    const char *have = cairn__roster_row_at(s, f, t->slots[i] - 1)->id;
    if (strlen(have) == len && memcmp(have, id, len) == 0)
      return t->slots[i] - 1;
  }
  return CAIRN_ROSTER_NONE;
}

static void place(const struct cairn__roster_store *s, cairn_roster_file f, uint32_t *slots,
                  size_t nslots, size_t index) {
  const char *id = cairn__roster_row_at(s, f, index)->id;
  size_t i = (size_t)hash(s, id, strlen(id)) & (nslots - 1);
  while (slots[i])
    i = (i + 1) & (nslots - 1);
  slots[i] = (uint32_t)index + 1;
}

int cairn__roster_index_last(struct cairn__roster_store *s, cairn_roster_file f) {
  cairn__roster_table *t = &s->t[f];

  /* At most half full; records number at most CAIRN_ROSTER_ROWS_MAX, so
   * an index + 1 fits a uint32_t. */
  if (t->n * 2 > t->nslots) {
    size_t nslots = t->nslots ? t->nslots * 2 : 128;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
      return CAIRN_ENOMEM;
    for (size_t i = 0; i + 1 < t->n; i++)
      place(s, f, slots, nslots, i);
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
  }
  place(s, f, t->slots, t->nslots, t->n - 1);
  return 0;
}

void cairn_roster_free(cairn_roster *r) {
  if (r == NULL)
    return;
  cairn__roster_store_free(r->store);
  free(r);
}

const char *cairn_roster_role_name(cairn_roster_role role) {
  if ((unsigned)role < CAIRN_ROSTER_ROLE_OTHER)
    return cairn__roster_role_names[role];
  return role == CAIRN_ROSTER_ROLE_OTHER ? "ext" : "";
}

size_t cairn_roster_find(const cairn_roster *r, cairn_roster_file f, const char *id, size_t len) {
  if (r == NULL || f <= CAIRN_ROSTER_MANIFEST || f >= CAIRN_ROSTER_FILES || id == NULL)
    return CAIRN_ROSTER_NONE;
  return cairn__roster_lookup(r->store, f, id, len);
}

int cairn_roster_is_student(const cairn_roster *r, size_t user) {
  if (user >= r->n_users)
    return 0;
  return ((r->users[user].roles | r->users[user].enrolled_as) &
          CAIRN_ROSTER_ROLE_BIT(CAIRN_ROSTER_ROLE_STUDENT)) != 0;
}

int cairn_roster_enrollment_on(const cairn_roster_enrollment *e, int32_t day) {
  return e->row.status == CAIRN_ROSTER_ACTIVE &&
         (e->begin == CAIRN_ROSTER_NO_DATE || e->begin <= day) &&
         (e->end == CAIRN_ROSTER_NO_DATE || day < e->end);
}

/* An active enrollment as a student. */
static int as_student(const cairn_roster_enrollment *e) {
  return e->row.status == CAIRN_ROSTER_ACTIVE && e->role == CAIRN_ROSTER_ROLE_STUDENT;
}

size_t cairn_roster_student_classes(const cairn_roster *r, size_t user, int32_t day, size_t *classes,
                                    size_t max) {
  const cairn_roster_user *u;
  size_t n = 0;

  if (user >= r->n_users)
    return 0;
  u = &r->users[user];
  for (size_t i = 0; i < u->n_enrollments; i++) {
    const cairn_roster_enrollment *e = &r->enrollments[u->enrollments[i]];
    int seen = 0;
    if (!as_student(e) || e->class_ == CAIRN_ROSTER_NONE || !cairn_roster_enrollment_on(e, day))
      continue;
    /* Counted already, from an earlier enrollment in the same class? */
    for (size_t j = 0; j < i && !seen; j++) {
      const cairn_roster_enrollment *p = &r->enrollments[u->enrollments[j]];
      seen = p->class_ == e->class_ && as_student(p) && cairn_roster_enrollment_on(p, day);
    }
    if (seen)
      continue;
    if (n < max)
      classes[n] = e->class_;
    n++;
  }
  return n;
}

int cairn_roster_enrollments_ended(const cairn_roster *r, const size_t *enr, size_t n_enr,
                                   int32_t day, int32_t *last) {
  size_t n = 0;
  int32_t latest = CAIRN_ROSTER_NO_DATE;

  for (size_t i = 0; i < n_enr; i++) {
    const cairn_roster_enrollment *e;
    if (enr[i] >= r->n_enrollments)
      return 0;
    e = &r->enrollments[enr[i]];
    if (!as_student(e))
      continue;
    if (e->end == CAIRN_ROSTER_NO_DATE || e->end > day)
      return 0;
    if (e->end > latest)
      latest = e->end;
    n++;
  }
  if (last != NULL)
    *last = latest;
  return n > 0;
}

int cairn_roster_student_withdrawn(const cairn_roster *r, size_t user, int32_t day) {
  if (user >= r->n_users)
    return 0;
  return cairn_roster_enrollments_ended(r, r->users[user].enrollments,
                                        r->users[user].n_enrollments, day, NULL);
}
