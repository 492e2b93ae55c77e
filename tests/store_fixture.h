/*
 * store_fixture.h: what the store's tests share: throwaway devices (a key
 * and a store in a temporary directory), building `set` maps, one-put
 * writes, decoded replies, exports, syncing one store to another, and a
 * central with an enrolled classroom. Every helper asserts with cmocka:
 * include <cmocka.h> (and its prerequisites) before this header.
 */
#ifndef CAIRN_TEST_STORE_FIXTURE_H
#define CAIRN_TEST_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "entry.h"
#include "store.h"

typedef struct device {
  char dir[64];
  uint8_t pk[CAIRN_KEY_BYTES];
  uint8_t sk[CAIRN_SECRET_BYTES];
  cairn_store *s;
} device;

/* A set map under construction. */
typedef struct setb {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} setb;

/* A decoded reply. */
typedef struct reply {
  msgpack_sbuffer sb;
  msgpack_unpacked u;
} reply;

void device_open(device *d, const cairn_store_opts *opts);
void device_new(device *d, const cairn_store_opts *opts);
void device_free(device *d);
void set_begin(setb *b, uint32_t n);
void pack_s(msgpack_packer *pk, const char *s);
void set_str(setb *b, const char *k, const char *v);
void set_num(setb *b, const char *k, double v);
void set_true(setb *b, const char *k);
/* Writes one put; returns its result. id_out (may be NULL) gets the id,
 * message (may be NULL) the refusal. */
int put1(cairn_store *s, int type, const char *id, int edit, setb *b, const char *why,
         char *id_out, char *message);
void add_student(cairn_store *s, const char *id);
/* The seed's 8th-grade ELA milestone: 0-4 rubric, 1.5 -> 3, 4 of 5, 6 weeks. */
void add_milestone(cairn_store *s, const char *student, char *id);
int add_evidence(cairn_store *s, const char *milestone, const char *observed, double v,
                 char *id, char *message);
void edit_statement(cairn_store *s, const char *milestone, const char *text);
const msgpack_object *reply_decode(reply *r);
void reply_free(reply *r);
void assert_str(const msgpack_object *o, const char *want);
double num_of(const msgpack_object *o);
/* The whole log of author held by s. */
void log_of(cairn_store *s, const uint8_t *author, uint64_t from, msgpack_sbuffer *out);
size_t apply(cairn_store *s, const msgpack_sbuffer *b);
/* The whole export of the records inside scope (NULL: all) into out. */
void export_scoped(cairn_store *s, const cairn_scope *scope, msgpack_sbuffer *out);
void export_of(cairn_store *s, msgpack_sbuffer *out);
void count_line(const char *line, void *arg);
void assert_check_clean(cairn_store *s);
void hex_of(const uint8_t *key, char out[2 * CAIRN_KEY_BYTES + 1]);
cairn_scope scope_of(const char *campus, const char *classroom);
/* The central (s) enrolls a classroom device key at campus/classroom. */
int enroll(cairn_store *s, const uint8_t *key, const char *campus, const char *classroom,
           char *message);
void revoke_device(cairn_store *s, const uint8_t *key);
void add_student_at(cairn_store *s, const char *id, const char *campus,
                    const char *classroom);
/* What `from` holds and `to` lacks, as read_scoped sends it for scope:
 * author by author, in from's version-vector order (the central first). */
void sync_batch(cairn_store *from, cairn_store *to, const cairn_scope *scope,
                msgpack_sbuffer *out);
cairn_apply_result sync_to(cairn_store *from, cairn_store *to, const cairn_scope *scope);
int export_has(cairn_store *s, const char *id);
/* A central and a classroom at North/8B that knows it; the central's key
 * sorts after the classroom's, so "central first" is not key order. */
void central_and_classroom(device *c, device *k);

/* Appends to out a signed entry continuing k's own log (k->s holds its
 * head) with the given kind, body bytes and HLC, as if k's cairnd had
 * written it; k's store does not apply it. */
void craft_entry(device *k, int kind, const msgpack_sbuffer *body, uint64_t hlc,
                 msgpack_sbuffer *out);

/* craft_entry dated just after k's last entry (or at 2^40 for a first). */
void craft_next_entry(device *k, int kind, const msgpack_sbuffer *body, msgpack_sbuffer *out);

/* Starts b with the required fields of a 0-4 milestone of student, from
 * start to end; minimal_milestone: from 2026-03-02 to 2026-04-13. */
void dated_milestone(setb *b, const char *student, const char *start, const char *end);
void minimal_milestone(setb *b, const char *student);

#endif
