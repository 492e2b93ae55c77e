/*
 * body.h: an entry's body, decoded and checked once (docs/FORMAT.md
 * section 2): the map {id, new, set, base, why, scope} every write of a
 * record carries. The store folds what cairn_body_decode returns; nothing
 * after it decodes the body again. Pure: no LMDB, no globals.
 */
#ifndef CAIRN_BODY_H
#define CAIRN_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define CAIRN_BODY_WHY_MAX 1000   /* bytes of a write's reason */
#define CAIRN_BODY_SCOPE_ROOMS 32 /* classrooms a scope names: a student's classrooms
                                     before and after a write */

/* A decoded body. Every pointer borrows from the decoded bytes (id,
 * set_raw) or from the zone the caller passed (the objects). */
typedef struct cairn_body {
  int type;                    /* the record type: the entry's kind */
  const char *id;              /* a valid id (cairn_text_id_logged), not NUL-terminated */
  size_t idlen;
  int is_new;                  /* "new": true: the write creates its record */
  const msgpack_object *set;   /* a map of field to value (not yet checked against the
                                  type's schema: cairn_record_check_set does that) */
  const uint8_t *set_raw;      /* the set's encoded bytes inside the body */
  size_t set_raw_len;
  const uint8_t *base_raw;     /* the base's, when base is not NULL (else NULL) */
  size_t base_raw_len;
  const uint8_t *why_raw;      /* the reason's, when why is not NULL (else NULL) */
  size_t why_raw_len;
  const uint8_t *scope_raw;    /* the scope's */
  size_t scope_raw_len;
  const msgpack_object *base;  /* a non-empty map of field to [[author, seq], ...], or
                                  NULL (absent, nil or empty) */
  const msgpack_object *why;   /* a UTF-8 string of at most CAIRN_BODY_WHY_MAX bytes, or
                                  NULL (absent or nil) */
  const msgpack_object *scope; /* [campus, classroom, ...]: 2 to 1 + CAIRN_BODY_SCOPE_ROOMS
                                  strings */
} cairn_body;

/* Decodes the body buf[0..len) of an entry of kind type into *out, its
 * objects allocated in z (the caller's: clear or destroy it when done with
 * out). The body must be exactly one msgpack map (cairn_mpcheck bounds it
 * first) with an id, a set map and a scope as above; unknown keys are
 * ignored; for a key given twice, the first counts. Returns 0, or
 * CAIRN_EMALFORMED with *why (never NULL then) a static line naming the
 * field ("id: missing or not a valid id"); a zone out of memory is
 * refused the same way. *out is meaningful only on 0. */
int cairn_body_decode(int type, const uint8_t *buf, size_t len, msgpack_zone *z,
                      cairn_body *out, const char **why) __attribute__((warn_unused_result));

/* Finds in the body buf[0..len) of an entry that was decoded and checked
 * before (cairn_body_decode: one kept in a store) the encoded bytes of its
 * set, base, why and scope, without decoding them, into out's *_raw
 * fields (a base that is nil or an empty map, or a why that is nil, as
 * absent: NULL), the rest of out zeroed. Returns 0, or CAIRN_EMALFORMED
 * when buf is not a map holding at least a set and a scope. Pure, bounded
 * by cairn_mpcheck; it checks nothing else. */
int cairn_body_spans(const uint8_t *buf, size_t len, cairn_body *out)
    __attribute__((warn_unused_result));

/* 1 when scope is a body's scope: an array [campus, classroom, ...] of 2
 * to 1 + CAIRN_BODY_SCOPE_ROOMS strings (NULL: 0). */
int cairn_body_scope_valid(const msgpack_object *scope);

#endif
