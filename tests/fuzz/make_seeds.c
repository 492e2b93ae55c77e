/*
 * make_seeds.c: writes the seed corpus of every fuzz target, made with
 * cairn's own encoders and fixed keys so that each seed is a valid input
 * the target decodes all the way (and the corpus is the same every run).
 *
 * Usage: make_seeds DIR   writes DIR/<target>/<seed>; DIR/<target> must exist
 * or be creatable. The fixed keys and prologue match fuzz_transport.c,
 * fuzz_handshake.c and fuzz_bundle.c; sodium's randombytes is the fixed
 * generator of fuzz.h, so that sealed bundles come out the same each run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>

#include "backup.h"
#include "bundle.h"
#include "config.h"
#include "entry.h"
#include "frame.h"
#include "fuzz.h"
#include "keystore.h"
#include "noise.h"
#include "record.h"
#include "request.h"
#include "roster_seed.h"
#include "sync.h"
#include "transport.h"

static const char *out_dir;

static _Noreturn void die(const char *what) {
  fprintf(stderr, "make_seeds: %s\n", what);
  exit(1);
}

static void put(const char *target, const char *name, const void *p, size_t len) {
  char path[4096];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", out_dir, target);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    die(path);
  snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
  f = fopen(path, "wb");
  if (f == NULL || (len && fwrite(p, 1, len, f) != len) || fclose(f) != 0)
    die(path);
}

/* A buffer: put() of a prefix byte then the sbuffer. */
static void put_with_control(const char *target, const char *name, uint8_t control,
                             const void *p, size_t len) {
  uint8_t *b = malloc(len + 1);
  if (b == NULL)
    die("out of memory");
  b[0] = control;
  memcpy(b + 1, p, len);
  put(target, name, b, len + 1);
  free(b);
}

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

/* ---- bodies (fuzz_body): the kind byte, then the body ---- */

/* Appends to sb a body {id, new?, set, base?, why?, scope} with set the
 * nset pairs of strings kv, a base naming one version of field based
 * (NULL: none), a reason why (NULL: none) and a scope of campus "north"
 * and rooms classrooms. */
static void pack_body(msgpack_sbuffer *sb, const char *id, int is_new, int nset,
                      const char *const *kv, const char *based, const char *why, int rooms) {
  msgpack_packer pk;
  uint8_t author[CAIRN_KEY_BYTES];

  memset(author, 0xa1, sizeof author);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3 + (is_new != 0) + (based != NULL) + (why != NULL));
  pack_str(&pk, "id");
  pack_str(&pk, id);
  if (is_new) {
    pack_str(&pk, "new");
    msgpack_pack_true(&pk);
  }
  pack_str(&pk, "set");
  msgpack_pack_map(&pk, (size_t)nset);
  for (int i = 0; i < nset; i++) {
    pack_str(&pk, kv[2 * i]);
    pack_str(&pk, kv[2 * i + 1]);
  }
  if (based != NULL) {
    pack_str(&pk, "base");
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, based);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_bin(&pk, sizeof author);
    msgpack_pack_bin_body(&pk, author, sizeof author);
    msgpack_pack_uint64(&pk, 7);
  }
  if (why != NULL) {
    pack_str(&pk, "why");
    pack_str(&pk, why);
  }
  pack_str(&pk, "scope");
  msgpack_pack_array(&pk, (size_t)(1 + rooms));
  pack_str(&pk, "north");
  for (int i = 0; i < rooms; i++)
    pack_str(&pk, i == 0 ? "room-12" : "room-14");
}

/* Writes seed name: the kind byte, then pack_body's body. */
static void body_seed(const char *name, uint8_t kind, const char *id, int is_new, int nset,
                      const char *const *kv, const char *based, const char *why, int rooms) {
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, (const char *)&kind, 1);
  pack_body(&sb, id, is_new, nset, kv, based, why, rooms);
  put("body", name, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void seeds_body(void) {
  static const char *const evidence[] = {"milestone", "n3-42", "observed", "2026-10-02",
                                         "note", "timed reading"};
  static const char *const student[] = {"name", "Ada Lovelace", "classroom", "room-14"};
  static const char *const edit[] = {"statement", "Reads 100 words a minute"};

  body_seed("evidence_new", CAIRN_REC_EVIDENCE, "n3-43", 1, 3, evidence, NULL, NULL, 1);
  body_seed("student_moved", CAIRN_REC_STUDENT, "ada", 0, 2, student, "classroom",
            "moved to room 14", 2);
  body_seed("milestone_edit", CAIRN_REC_MILESTONE, "n3-41", 0, 1, edit, "statement", NULL, 1);
  body_seed("no_scope_rooms", CAIRN_REC_EVIDENCE, "n3-44", 1, 3, evidence, NULL, NULL, 0);
  body_seed("unknown_kind", 15, "n3-45", 1, 3, evidence, NULL, NULL, 1);
}

/* ---- entries ---- */

static uint8_t author_pk[32], author_sk[64];

static void entry_body(msgpack_sbuffer *sb, const char *id, int is_new) {
  const char *const name[] = {"name", is_new ? "Ada Lovelace" : "Ada King"};

  pack_body(sb, id, is_new, 1, name, NULL, NULL, 1);
}

/* Seals (and signs unless unsigned) entry seq after prev into out. */
static void make_entry(cairn_entry *e, const cairn_entry *prev, msgpack_sbuffer *body,
                       int sign) {
  memset(e, 0, sizeof *e);
  memcpy(e->author, author_pk, 32);
  e->seq = prev ? prev->seq + 1 : 1;
  e->hlc = UINT64_C(0x0001900000000000) + e->seq;
  if (prev)
    memcpy(e->prev, prev->hash, 32);
  e->kind = 1;
  e->body = (const uint8_t *)body->data;
  e->body_len = body->size;
  if (cairn_entry_seal(e) != 0)
    die("seal");
  if (sign)
    cairn_entry_sign(e, author_sk);
}

static void seeds_entry(msgpack_sbuffer *chain) {
  msgpack_sbuffer b1, b2, one, tmp;
  cairn_entry e1, e2;

  msgpack_sbuffer_init(&b1);
  msgpack_sbuffer_init(&b2);
  msgpack_sbuffer_init(&one);
  msgpack_sbuffer_init(&tmp);
  entry_body(&b1, "ada", 1);
  entry_body(&b2, "ada", 0);
  make_entry(&e1, NULL, &b1, 1);
  make_entry(&e2, &e1, &b2, 1);

  if (cairn_entry_encode(&e1, &one) != 0)
    die("encode");
  put("entry", "signed_seq1", one.data, one.size);
  if (cairn_entry_encode(&e1, chain) != 0 || cairn_entry_encode(&e2, chain) != 0)
    die("encode");
  put("entry", "chain_of_two", chain->data, chain->size);
  if (cairn_entry_redact(&e2, &tmp) != 0)
    die("redact");
  put("entry", "redacted_seq2", tmp.data, tmp.size);
  tmp.size = 0;
  e1.has_sig = 0;
  if (cairn_entry_encode(&e1, &tmp) != 0)
    die("encode");
  put("entry", "unsigned_seq1", tmp.data, tmp.size);
  put("entry", "truncated", one.data, one.size / 2);

  msgpack_sbuffer_destroy(&b1);
  msgpack_sbuffer_destroy(&b2);
  msgpack_sbuffer_destroy(&one);
  msgpack_sbuffer_destroy(&tmp);
}

/* ---- sync messages and tokens ---- */

static msgpack_sbuffer hello;

static void seeds_sync(const msgpack_sbuffer *chain) {
  cairn_sync_vv vv[2];
  uint8_t device[32], central[32], sig[64], secret[16];
  msgpack_sbuffer sb;

  memset(device, 0xd1, sizeof device);
  memset(central, 0xc1, sizeof central);
  memset(sig, 0x5a, sizeof sig);
  memset(secret, 0x5e, sizeof secret);
  memcpy(vv[0].author, author_pk, 32);
  vv[0].seq = 2;
  memset(vv[1].author, 0xa2, 32);
  vv[1].seq = 70000;

  msgpack_sbuffer_init(&hello);
  if (cairn_sync_pack_hello(&hello, "classroom", device, "north", "room-12", vv, 2,
                            1780000000000ULL, 1780000060000ULL) != 0)
    die("hello");
  put("sync", "hello", hello.data, hello.size);
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_hello(&sb, "hub", device, "north", "", NULL, 0, 1780000000000ULL, 0) != 0)
    die("hello");
  put("sync", "hello_empty_vv", sb.data, sb.size);
  sb.size = 0;
  size_t count;
  if (cairn_entry_count((const uint8_t *)chain->data, chain->size, &count) != 0 ||
      cairn_sync_pack_entries(&sb, 7, (const uint8_t *)chain->data, chain->size, count) != 0)
    die("entries");
  put("sync", "entries", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_ack(&sb, &(cairn_sync_ack){.batch = 7, .applied = 1, .refused = 1,
                                                  .held = 2, .ahead_ms = 94608000000ULL,
                                                  .reason = "seq 2: hash chain is broken"}) != 0)
    die("ack");
  put("sync", "ack", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_close(&sb, CAIRN_CLOSE_DISK_FULL, "the central's disk is full") != 0)
    die("close");
  put("sync", "close", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_refusal(&sb, CAIRN_CLOSE_BUSY, "too many connections") != 0)
    die("refusal");
  put("sync", "refusal", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_receipt(&sb, author_pk, 2, central, sig) != 0)
    die("receipt");
  put("sync", "receipt", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_join(&sb, secret, device, "classroom", "Room 12 laptop") != 0)
    die("join");
  put("sync", "join", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_welcome(&sb, 0, "north", "room-12", "") != 0)
    die("welcome");
  put("sync", "welcome_ok", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_welcome(&sb, -10, "", "", "token expired") != 0)
    die("welcome");
  put("sync", "welcome_refused", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_offer(&sb, 22) != 0)
    die("offer");
  put("sync", "offer", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_student(&sb, CAIRN_SYNC_ARRIVED, "ana-8", 117737753492062208ULL) != 0)
    die("arrived");
  put("sync", "arrived", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_student(&sb, CAIRN_SYNC_WANT, "ana-8", 117737753492062208ULL) != 0)
    die("want");
  put("sync", "want", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_student(&sb, CAIRN_SYNC_DONE, "ana-8", 117737753492062208ULL) != 0)
    die("done");
  put("sync", "done", sb.data, sb.size);
  sb.size = 0;
  if (cairn_sync_pack_fill(&sb, (const uint8_t *)"\x01", 1, 1) != 0)
    die("fill");
  put("sync", "fill", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void seeds_token(void) {
  cairn_sync_token t;
  char text[CAIRN_SYNC_TOKEN_MAX];

  memset(&t, 0, sizeof t);
  snprintf(t.address, sizeof t.address, "central.example.org:7420");
  memset(t.central, 0xc1, sizeof t.central);
  memset(t.network, 0x0e, sizeof t.network);
  memset(t.secret, 0x5e, sizeof t.secret);
  t.expires = 1893456000;
  if (cairn_sync_token_format(&t, text, sizeof text) != 0)
    die("token");
  put("token", "valid", text, strlen(text));
  snprintf(t.address, sizeof t.address, "[fe80::1]:7420");
  t.expires = -1;
  if (cairn_sync_token_format(&t, text, sizeof text) != 0)
    die("token");
  put("token", "ipv6_expired", text, strlen(text));
  put("token", "prefix_only", "cairn1.", 7);
}

/* ---- transport ---- */

static void cipher_fixed(cairn_noise_cipher *c) {
  memset(c, 0, sizeof *c);
  memset(c->k, 0x42, sizeof c->k);
  c->has_key = 1;
}

/* A record of the "sealed" mode: length, then plaintext flag + fragment. */
static void plain_record(msgpack_sbuffer *sb, uint8_t flag, const void *p, size_t len) {
  uint8_t hdr[3] = {(uint8_t)((len + 1) >> 8), (uint8_t)(len + 1), flag};
  msgpack_sbuffer_write(sb, (const char *)hdr, 3);
  msgpack_sbuffer_write(sb, p, len);
}

static void seeds_transport(void) {
  msgpack_sbuffer sb;
  cairn_noise_cipher c;
  size_t half = hello.size / 2;

  msgpack_sbuffer_init(&sb);
  plain_record(&sb, 0, hello.data, hello.size);
  put_with_control("transport", "sealed_hello", 0x0e, sb.data, sb.size);
  sb.size = 0;
  plain_record(&sb, CAIRN_TRANSPORT_MORE, hello.data, half);
  plain_record(&sb, 0, hello.data + half, hello.size - half);
  plain_record(&sb, 0, hello.data, hello.size);
  put_with_control("transport", "sealed_fragments", 0x0e, sb.data, sb.size);
  put_with_control("transport", "sealed_fragments_small_max", 0x06, sb.data, sb.size);
  sb.size = 0;
  cipher_fixed(&c);
  if (cairn_transport_seal(&c, (const uint8_t *)hello.data, hello.size, &sb) != 0 ||
      cairn_transport_seal(&c, (const uint8_t *)hello.data, hello.size, &sb) != 0)
    die("seal");
  put_with_control("transport", "raw_two_records", 0x0f, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- handshake ---- */

static const uint8_t prologue[] = "cairn fuzz prologue";

static void seeds_handshake(void) {
  uint8_t init_s[32], resp_s[32], init_e[32], resp_e[32], resp_pub[32];
  uint8_t m1[512], m2[512], m3[512], hello_payload[64];
  size_t n1 = 0, n2 = 0, n3 = 0, plen = 0;
  cairn_noise_handshake i, r;
  uint8_t pay[512];

  memset(init_s, 0x11, 32);
  memset(resp_s, 0x22, 32);
  memset(init_e, 0x33, 32);
  memset(resp_e, 0x44, 32);
  crypto_scalarmult_curve25519_base(resp_pub, resp_s);
  memcpy(hello_payload, "cairn handshake payload", 23);

  /* XX: messages 1, 2, 3 with short payloads. */
  if (cairn_noise_handshake_init(&i, CAIRN_NOISE_XX, 1, prologue, sizeof prologue, init_s,
                                 NULL) != 0 ||
      cairn_noise_handshake_init(&r, CAIRN_NOISE_XX, 0, prologue, sizeof prologue, resp_s,
                                 NULL) != 0)
    die("noise init");
  cairn_noise_handshake_set_ephemeral(&i, init_e);
  cairn_noise_handshake_set_ephemeral(&r, resp_e);
  /* Messages 1 and 2 carry no payload, as in fuzz_handshake.c's honest
   * steps, so that the later messages authenticate there. */
  if (cairn_noise_write_message(&i, NULL, 0, m1, sizeof m1, &n1) != 0 ||
      cairn_noise_read_message(&r, m1, n1, pay, sizeof pay, &plen) != 0 ||
      cairn_noise_write_message(&r, NULL, 0, m2, sizeof m2, &n2) != 0 ||
      cairn_noise_read_message(&i, m2, n2, pay, sizeof pay, &plen) != 0 ||
      cairn_noise_write_message(&i, hello_payload, 5, m3, sizeof m3, &n3) != 0 ||
      cairn_noise_read_message(&r, m3, n3, pay, sizeof pay, &plen) != 0)
    die("noise xx");
  put_with_control("handshake", "xx_msg1", 0x00, m1, n1);
  memcpy(m1 + n1, hello_payload, 23); /* message 1's payload travels in clear */
  put_with_control("handshake", "xx_msg1_payload_cap16", 0x10, m1, n1 + 23);
  put_with_control("handshake", "xx_msg2", 0x02, m2, n2);
  put_with_control("handshake", "xx_msg3", 0x04, m3, n3);
  cairn_noise_handshake_clear(&i);
  cairn_noise_handshake_clear(&r);

  /* IK: messages 1 and 2. */
  if (cairn_noise_handshake_init(&i, CAIRN_NOISE_IK, 1, prologue, sizeof prologue, init_s,
                                 resp_pub) != 0 ||
      cairn_noise_handshake_init(&r, CAIRN_NOISE_IK, 0, prologue, sizeof prologue, resp_s,
                                 NULL) != 0)
    die("noise init");
  cairn_noise_handshake_set_ephemeral(&i, init_e);
  cairn_noise_handshake_set_ephemeral(&r, resp_e);
  if (cairn_noise_write_message(&i, NULL, 0, m1, sizeof m1, &n1) != 0 ||
      cairn_noise_read_message(&r, m1, n1, pay, sizeof pay, &plen) != 0 ||
      cairn_noise_write_message(&r, hello_payload, 23, m2, sizeof m2, &n2) != 0 ||
      cairn_noise_read_message(&i, m2, n2, pay, sizeof pay, &plen) != 0)
    die("noise ik");
  put_with_control("handshake", "ik_msg1", 0x01, m1, n1);
  put_with_control("handshake", "ik_msg2", 0x03, m2, n2);
  cairn_noise_handshake_clear(&i);
  cairn_noise_handshake_clear(&r);

  /* Honest runs: payload cut points, then the payload bytes. */
  put("handshake", "xx_honest", "\x06\x05\x0apayload one|payload two|three", 32);
  put("handshake", "ik_honest", "\x07\x03\x09hello world", 14);
}

/* ---- local requests and frames ---- */

static void request_put(msgpack_sbuffer *sb, const char *type, int edit, int nfields,
                        const char *const *kv) {
  msgpack_packer pk;

  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, edit ? 5 : 4);
  pack_str(&pk, "op");
  pack_str(&pk, "put");
  pack_str(&pk, "type");
  pack_str(&pk, type);
  pack_str(&pk, "id");
  pack_str(&pk, "ada");
  if (edit) {
    pack_str(&pk, "edit");
    msgpack_pack_true(&pk);
  }
  pack_str(&pk, "set");
  msgpack_pack_map(&pk, nfields);
  for (int i = 0; i < nfields; i++) {
    const char *k = kv[2 * i], *v = kv[2 * i + 1];
    pack_str(&pk, k);
    if (v[0] == '#') /* a number */
      msgpack_pack_double(&pk, strtod(v + 1, NULL));
    else if (v[0] == '@') /* an array of one string */
      msgpack_pack_array(&pk, 1), pack_str(&pk, v + 1);
    else if (strcmp(v, "true") == 0)
      msgpack_pack_true(&pk);
    else if (strcmp(v, "nil") == 0)
      msgpack_pack_nil(&pk);
    else
      pack_str(&pk, v);
  }
}

static void seeds_record_and_frame(void) {
  static const char *const student[] = {"name", "Ada Lovelace", "grade", "5", "campus", "north",
                                        "classroom", "room-12", "accommodations", "@extra time"};
  static const char *const milestone[] = {
      "student", "ada", "type", "academic", "statement", "Reads 90 words a minute",
      "scale", "0-200", "baseline", "#40", "target", "#90", "start", "2026-09-01",
      "end", "2027-06-01", "rule", "3 of 5", "checks", "@2026-10-01", "direction", "up"};
  static const char *const evidence[] = {"milestone", "3fa2c1d9-42", "observed", "2026-10-02",
                                         "value", "#55", "note", "timed reading"};
  static const char *const review[] = {"milestone", "3fa2c1d9-42", "date", "2026-11-01",
                                       "kind", "monthly", "decision", "continue"};
  static const char *const edit[] = {"statement", "Reads 100 words a minute", "baseline", "nil"};
  static const char *const device[] = {"key", "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1",
                                       "role", "hub", "revoked", "true"};
  msgpack_sbuffer sb, frames;
  msgpack_packer pk;
  uint8_t hdr[CAIRN_FRAME_HEADER];

  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_init(&frames);
#define SEED(name, type, is_edit, kv)                                                        \
  do {                                                                                       \
    sb.size = 0;                                                                             \
    request_put(&sb, type, is_edit, (int)(sizeof kv / sizeof kv[0] / 2), kv);                \
    put("record", name, sb.data, sb.size);                                                   \
    cairn_frame_header(hdr, (uint32_t)sb.size);                                              \
    msgpack_sbuffer_write(&frames, (const char *)hdr, sizeof hdr);                           \
    msgpack_sbuffer_write(&frames, sb.data, sb.size);                                        \
  } while (0)
  SEED("put_student", "student", 0, student);
  SEED("put_milestone", "milestone", 0, milestone);
  SEED("put_evidence", "evidence", 0, evidence);
  SEED("put_review", "review", 0, review);
  SEED("edit_milestone", "milestone", 1, edit);
  SEED("put_device", "device", 0, device);
#undef SEED
  put("frame", "six_requests", frames.data, frames.size);

  sb.size = 0;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pack_str(&pk, "op");
  pack_str(&pk, "ping");
  put("record", "ping", sb.data, sb.size);
  cairn_frame_header(hdr, (uint32_t)sb.size);
  frames.size = 0;
  msgpack_sbuffer_write(&frames, (const char *)hdr, sizeof hdr);
  msgpack_sbuffer_write(&frames, sb.data, sb.size);
  put("frame", "ping", frames.data, frames.size);
  put("frame", "header_only", hdr, sizeof hdr);
  put("frame", "too_big", "\x00\x10\x00\x01", 4);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&frames);
}

/* ---- offline bundles ---- */

/* Writes control || file for the bundle of payload sealed to the readers
 * whose key seeds are in seeds (as fuzz_bundle.c makes its keys). */
static void put_bundle(const char *name, uint8_t control, const uint8_t *seeds, size_t n,
                       const void *payload, size_t len, size_t cut) {
  uint8_t to[4][32], sk[64], seed[32], *file = NULL;
  size_t file_len = 0;

  for (size_t i = 0; i < n; i++) {
    memset(seed, seeds[i], sizeof seed);
    crypto_sign_seed_keypair(to[i], sk, seed);
  }
  if (cairn_bundle_seal(author_sk, (const uint8_t(*)[32])to, n, payload, len, &file,
                        &file_len) != 0)
    die("bundle seal");
  put_with_control("bundle", name, control, file, cut ? cut : file_len);
  free(file);
}

static void seeds_bundle(const msgpack_sbuffer *chain) {
  static const uint8_t central[] = {0xc2}, both[] = {0xc2, 0xb3}, hub[] = {0xb3};
  /* tamper: position 300, XOR 0x20, sign again; position 100, cut */
  static const uint8_t flip[6] = {0x2c, 0x01, 0, 0, 0x20, 2}, cut[6] = {100, 0, 0, 0, 0, 1};
  msgpack_sbuffer sb;

  put_bundle("file_to_central", 0x00, central, 1, chain->data, chain->size, 0);
  put_bundle("file_to_central_and_hub", 0x00, both, 2, chain->data, chain->size, 0);
  put_bundle("file_empty", 0x00, central, 1, NULL, 0, 0);
  put_bundle("file_truncated", 0x00, central, 1, chain->data, chain->size, 120);
  put_bundle("signed_to_hub", 0x01, hub, 1, chain->data, chain->size, 0);
  /* down: written for one device alone (the hub reader stands for it),
   * its payload one run after another (here the chain twice: the second
   * is held already when it is applied) */
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, chain->data, chain->size);
  msgpack_sbuffer_write(&sb, chain->data, chain->size);
  put_bundle("file_down_to_one_device", 0x00, hub, 1, sb.data, sb.size, 0);
  put_bundle("signed_down_to_one_device", 0x01, hub, 1, sb.data, sb.size, 0);
  msgpack_sbuffer_destroy(&sb);
  put_with_control("bundle", "payload_chain_two_slots", 0x02 | 1 << 2, chain->data, chain->size);
  put_with_control("bundle", "payload_chain_four_slots", 0x02 | 2 << 2, chain->data, chain->size);
  put_with_control("bundle", "payload_not_a_point", 0x02 | 3 << 2, chain->data, chain->size);
  msgpack_sbuffer_init(&sb);
  msgpack_sbuffer_write(&sb, (const char *)flip, sizeof flip);
  msgpack_sbuffer_write(&sb, chain->data, chain->size);
  put_with_control("bundle", "tamper_flip_signed_again", 0x03 | 1 << 2, sb.data, sb.size);
  sb.size = 0;
  msgpack_sbuffer_write(&sb, (const char *)cut, sizeof cut);
  msgpack_sbuffer_write(&sb, chain->data, chain->size);
  put_with_control("bundle", "tamper_cut", 0x03, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* ---- requests of every op besides put ---- */

/* Writes the request {key: value, ...} of the NULL-terminated pairs in kv
 * as record/<name>. A value "#N" is an integer, "%..." bytes (bin), "!"
 * true; any other a string. */
static void seed_request(const char *name, const char *const *kv) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  size_t n = 0;

  while (kv[2 * n])
    n++;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, n);
  for (size_t i = 0; i < n; i++) {
    const char *v = kv[2 * i + 1];
    pack_str(&pk, kv[2 * i]);
    if (v[0] == '#')
      msgpack_pack_uint64(&pk, strtoull(v + 1, NULL, 10));
    else if (v[0] == '%')
      msgpack_pack_bin_with_body(&pk, v + 1, strlen(v + 1));
    else if (v[0] == '!')
      msgpack_pack_true(&pk);
    else
      pack_str(&pk, v);
  }
  put("record", name, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* A student's sets written as operations, a levels milestone and a close,
 * in one put_many. */
static void seed_school_year(void) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "op");
  pack_str(&pk, "put_many");
  pack_str(&pk, "puts");
  msgpack_pack_array(&pk, 3);
  /* {type: student, id: ada, edit: true, set: {accommodations: {add, remove}, classrooms}} */
  msgpack_pack_map(&pk, 4);
  pack_str(&pk, "type");
  pack_str(&pk, "student");
  pack_str(&pk, "id");
  pack_str(&pk, "ada");
  pack_str(&pk, "edit");
  msgpack_pack_true(&pk);
  pack_str(&pk, "set");
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "accommodations");
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "add");
  msgpack_pack_array(&pk, 1);
  pack_str(&pk, "sentence stems");
  pack_str(&pk, "remove");
  msgpack_pack_array(&pk, 1);
  pack_str(&pk, "extra time");
  pack_str(&pk, "classrooms");
  msgpack_pack_map(&pk, 1);
  pack_str(&pk, "add");
  msgpack_pack_array(&pk, 1);
  pack_str(&pk, "room-14");
  /* a milestone on named levels */
  msgpack_pack_map(&pk, 2);
  pack_str(&pk, "type");
  pack_str(&pk, "milestone");
  pack_str(&pk, "set");
  msgpack_pack_map(&pk, 9);
  pack_str(&pk, "student");
  pack_str(&pk, "ada");
  pack_str(&pk, "type");
  pack_str(&pk, "academic");
  pack_str(&pk, "statement");
  pack_str(&pk, "I will explain my reasoning.");
  pack_str(&pk, "scale");
  pack_str(&pk, "levels");
  pack_str(&pk, "levels");
  msgpack_pack_array(&pk, 4);
  pack_str(&pk, "beginning");
  pack_str(&pk, "approaching");
  pack_str(&pk, "meeting");
  pack_str(&pk, "exceeding");
  pack_str(&pk, "baseline");
  msgpack_pack_double(&pk, 0);
  pack_str(&pk, "target");
  msgpack_pack_double(&pk, 2);
  pack_str(&pk, "start");
  pack_str(&pk, "2026-09-01");
  pack_str(&pk, "end");
  pack_str(&pk, "2026-12-01");
  /* a close: replaced by another milestone */
  msgpack_pack_map(&pk, 4);
  pack_str(&pk, "type");
  pack_str(&pk, "milestone");
  pack_str(&pk, "id");
  pack_str(&pk, "3fa2c1d9-42");
  pack_str(&pk, "edit");
  msgpack_pack_true(&pk);
  pack_str(&pk, "set");
  msgpack_pack_map(&pk, 3);
  pack_str(&pk, "result");
  pack_str(&pk, "replaced");
  pack_str(&pk, "closed");
  pack_str(&pk, "2026-11-20");
  pack_str(&pk, "replaced_by");
  pack_str(&pk, "3fa2c1d9-43");
  put("record", "put_many_school_year", sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void seeds_requests(void) {
  static const char *const status[] = {"op", "status", "student", "ada",
                                       "today", "2026-11-02", NULL};
  static const char *const export[] = {"op", "export", "after", "%cursor01",
                                       "scope_campus", "north", "scope_classroom", "room-12",
                                       NULL};
  static const char *const show[] = {"op", "show", "id", "3fa2c1d9-42", NULL};
  static const char *const enroll[] = {"op", "enroll", "campus", "north", "classroom", "room-12",
                                       "role", "hub", "expires", "#86400", NULL};
  static const char *const join[] = {"op", "join", "token", "cairn1.abc",
                                     "upstream", "hub:7420", NULL};
  static const char *const revoke[] = {"op", "revoke", "device", "c1c1c1c1", NULL};
  static const char *const import[] = {"op", "bundle_import",
                                       "path", "/media/usb/room-12.bundle", NULL};
  static const char *const unknown_arg[] = {"op", "put", "type", "student",
                                            "id", "ada", "edti", "!", NULL};
  static const char *const twice[] = {"op", "status", "today", "2026-11-02",
                                      "today", "2026-11-03", NULL};
  static const char *const force[] = {"op", "put", "type", "evidence", "force", "!",
                                      "why", "entered late", NULL};
  static const char *const not_an_id[] = {"op", "show", "id", "-rf", NULL};
  static const char *const control[] = {"op", "status", "today", "2026-11-0\x1b", NULL};

  seed_request("status", status);
  seed_request("export_after", export);
  seed_request("show", show);
  seed_request("enroll", enroll);
  seed_request("join", join);
  seed_request("revoke", revoke);
  seed_request("bundle_import", import);
  seed_request("unknown_argument", unknown_arg);
  seed_request("argument_twice", twice);
  seed_request("put_force", force);
  seed_request("show_not_an_id", not_an_id);
  seed_request("control_character", control);
  seed_school_year();
  /* each op bare (ping's is written by seeds_record_and_frame) */
  for (int op = CAIRN_OP_PING + 1; op <= CAIRN_OP_MAX; op++) {
    const char *bare[] = {"op", cairn_request_op_name(op), NULL};
    char name[64];
    snprintf(name, sizeof name, "op_%s", bare[1]);
    seed_request(name, bare);
  }
}

/* ---- config ---- */

/* ---- backups ---- */

static void seeds_backup(void) {
  static const char conf[] = "[device]\nrole = classroom\ncampus = north\nclassroom = room-12\n";
  cairn_backup_header h;
  msgpack_sbuffer sb;

  memset(&h, 0, sizeof h);
  sodium_bin2hex(h.device, sizeof h.device, author_pk, 32);
  snprintf(h.role, sizeof h.role, "classroom");
  h.made = 1796000000;
  h.config = conf;
  h.config_len = sizeof conf - 1;
  memcpy(h.secret, author_sk, sizeof h.secret);
  h.store_bytes = 40960;
  msgpack_sbuffer_init(&sb);
  if (cairn_backup_pack_start(&sb, &h) != 0)
    die("backup pack");
  put("backup", "classroom", sb.data, sb.size);
  put("backup", "cut_in_header", sb.data, sb.size - 9);
  h.config_len = 0;
  snprintf(h.role, sizeof h.role, "central");
  msgpack_sbuffer_clear(&sb);
  if (cairn_backup_pack_start(&sb, &h) != 0)
    die("backup pack");
  put("backup", "central_no_config", sb.data, sb.size);
  {
    /* The central's start, sealed to the fuzz key (fuzz.h) in chunks as
     * cairn backup --encrypt writes them: one full chunk and a short last
     * one, so that the chunk loop runs twice. */
    uint8_t sk[CAIRN_BACKUP_KEY_BYTES], pk[CAIRN_BACKUP_KEY_BYTES];
    uint8_t start[CAIRN_BACKUP_SEALED_START];
    size_t plain_len = CAIRN_BACKUP_SEAL_CHUNK + 100;
    uint8_t *plain = calloc(1, plain_len);
    uint8_t *file = malloc(sizeof start + plain_len + 2 * CAIRN_BACKUP_SEAL_ABYTES);
    char text[CAIRN_BACKUP_KEY_FILE_MAX];
    cairn_backup_seal seal;
    size_t len = sizeof start;
    if (plain == NULL || file == NULL)
      die("out of memory");
    memcpy(plain, sb.data, sb.size);
    fuzz_backup_sk(sk);
    crypto_scalarmult_base(pk, sk);
    if (cairn_backup_seal_start(&seal, pk, start) != 0)
      die("backup seal");
    memcpy(file, start, sizeof start);
    cairn_backup_seal_chunk(&seal, plain, CAIRN_BACKUP_SEAL_CHUNK, 0, file + len);
    len += CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES;
    cairn_backup_seal_chunk(&seal, plain + CAIRN_BACKUP_SEAL_CHUNK, 100, 1, file + len);
    len += 100 + CAIRN_BACKUP_SEAL_ABYTES;
    put("backup", "sealed", file, len);
    put("backup", "sealed_cut", file, len - 40);
    put("backup", "sealed_start_only", file, sizeof start);
    cairn_backup_key_encode(sk, text);
    put("backup", "key_file", text, strlen(text));
    free(plain);
    free(file);
  }
  msgpack_sbuffer_destroy(&sb);
}

static void seeds_config(void) {
  static const char hand[] =
      "# a classroom laptop\n"
      "[device]\n"
      "role = classroom\n"
      "campus = north\n"
      "classroom = room-12\n"
      "name = Room 12 laptop ; inline comment\n"
      "\n"
      "[daemon]\n"
      "log_level = debug\n"
      "map_size_mb = 256\n"
      "\n"
      "[sync]\n"
      "upstream = hub.north.example.org:7420\n"
      "upstream_key = c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1\n"
      "network = 0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e\n"
      "\n"
      "[test]\n"
      "clock_offset_ms = -5000\n";
  static const char bad[] = "[device]\nrole = laptop\n";
  char path[4096];
  cairn_config c;
  FILE *f;
  char buf[16384];
  size_t n;

  put("config", "classroom", hand, sizeof hand - 1);
  put("config", "bad_role", bad, sizeof bad - 1);
  put("config", "empty", "", 0);

  /* What cairn_config_save writes for a central. */
  cairn_config_defaults(&c);
  c.role = CAIRN_ROLE_CENTRAL;
  snprintf(c.campus, sizeof c.campus, "district");
  snprintf(c.listen, sizeof c.listen, "0.0.0.0:7420");
  snprintf(c.advertise, sizeof c.advertise, "central.example.org:7420");
  snprintf(path, sizeof path, "%s/config/saved_central", out_dir);
  if (cairn_config_save(path, &c) != 0)
    die("config save");
  f = fopen(path, "rb");
  if (f == NULL)
    die(path);
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  put("config", "saved_central", buf, n);
}

/* ---- roster: each seed file as the fuzzed file, bulk and delta ---- */

/* Control bytes (file, flags, cut) then the file. */
static void put_roster(const char *name, cairn_roster_file f, int delta, uint8_t cut, const char *text) {
  size_t len = strlen(text);
  uint8_t *b = malloc(len + 3);
  if (b == NULL)
    die("out of memory");
  b[0] = (uint8_t)f;
  b[1] = (uint8_t)delta;
  b[2] = cut;
  memcpy(b + 3, text, len);
  put("roster", name, b, len + 3);
  free(b);
}

static void seeds_roster(void) {
  char name[64];

  for (int f = 0; f < CAIRN_ROSTER_FILES; f++) {
    const char *file = cairn_roster_file_name((cairn_roster_file)f);
    snprintf(name, sizeof name, "bulk_%.*s", (int)(strlen(file) - 4), file);
    put_roster(name, (cairn_roster_file)f, 0, 128, roster_seed_bulk[f]);
    if (roster_seed_delta[f]) {
      snprintf(name, sizeof name, "delta_%.*s", (int)(strlen(file) - 4), file);
      put_roster(name, (cairn_roster_file)f, 1, 77, roster_seed_delta[f]);
    }
  }
  put_roster("delta_manifest", CAIRN_ROSTER_MANIFEST, 0, 30,
             "propertyName,value\noneroster.version,1.2\nfile.users,delta\nfile.enrollments,delta\n"
             "file.classes,delta\nfile.orgs,absent\n");
  put_roster("refused_repeat", CAIRN_ROSTER_USERS, 0, 200,
             "sourcedId,enabledUser,username,givenName,familyName\nst-1,true,a,A,B\nst-1,true,b,C,D\n");
}

/* fuzz_ifthen: a control byte (milestone, as-of day), a rule, NUL, points. */
static void seeds_ifthen(void) {
  static const struct {
    const char *name;
    uint8_t control;
    const char *rule;
  } rules[] = {
      {"small_group", 0x40,
       "If a student scores below the target on the next check-in, then add a 20-minute "
       "small-group session twice weekly."},
      {"two_weeks", 0x39,
       "If behavior targets aren\xe2\x80\x99t met for two consecutive weeks, then revise the "
       "classroom supports (visual cues, transition routines, reinforcement schedule)."},
      {"attendance", 0x6a,
       "If attendance drops below 92%, then schedule a family meeting and coordinate a "
       "support plan."},
      {"aimline", 0x30, "if 3 consecutive points fall below the aimline, then regroup"},
      {"no_evidence", 0x83, "if there is no evidence for 10 days, then observe"},
      {"per_day", 0x35, "if prompts are above 5 per day for two weeks then call home"},
      {"refused", 0x00, "if below the target and red, then act"},
  };
  static const uint8_t points[] = {7, 60, 14, 80, 21, 80, 28, 150, 35, 200, 36, 255};
  uint8_t buf[1200];
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    size_t len = strlen(rules[i].rule);
    memcpy(buf, rules[i].rule, len);
    buf[len] = 0;
    memcpy(buf + len + 1, points, sizeof points);
    put_with_control("ifthen", rules[i].name, rules[i].control, buf, len + 1 + sizeof points);
  }
}

/* ---- key store files (fuzz_keystore), under fuzz_keystore_wrap ---- */

/* The file at path, whole, into buf (room for cap bytes); its length. */
static size_t slurp(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n;
  if (f == NULL)
    die(path);
  n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void seeds_keystore(void) {
  char dir[] = "/tmp/cairn-seeds-XXXXXX", path[64];
  uint8_t wrap[32], tag[16], key[32], file[1024], copy[1024];
  cairn_keystore *ks;
  size_t n;

  fuzz_random_reset(); /* the same nonces whatever the seeds before drew */
  if (mkdtemp(dir) == NULL)
    die("mkdtemp");
  snprintf(path, sizeof path, "%s/keys", dir);
  fuzz_keystore_wrap(wrap);
  if (cairn_keystore_open(path, wrap, &ks) != 0)
    die("cairn_keystore_open");
  put("keystore", "empty", "", 0);
  put("keystore", "header", file, slurp(path, file, sizeof file));
  for (int i = 0; i < 3; i++) {
    memset(tag, 0x10 + i, sizeof tag);
    if (cairn_keystore_make(ks, tag, key) != 0)
      die("cairn_keystore_make");
  }
  n = slurp(path, file, sizeof file);
  put("keystore", "three-keys", file, n);
  put("keystore", "one-slot", file + CAIRN_KEYSTORE_HEADER_BYTES, CAIRN_KEYSTORE_SLOT_BYTES);
  memset(tag, 0x11, sizeof tag);
  if (cairn_keystore_forget(ks, tag) != 0)
    die("cairn_keystore_forget");
  n = slurp(path, file, sizeof file);
  put("keystore", "one-forgotten", file, n);
  cairn_keystore_close(ks);
  unlink(path);
  rmdir(dir);
  /* Torn: a byte of the third slot changed, half a slot appended. */
  memcpy(copy, file, n);
  copy[CAIRN_KEYSTORE_HEADER_BYTES + 2 * CAIRN_KEYSTORE_SLOT_BYTES + 50] ^= 0x20;
  memset(copy + n, 0x77, CAIRN_KEYSTORE_SLOT_BYTES / 2);
  put("keystore", "torn", copy, n + CAIRN_KEYSTORE_SLOT_BYTES / 2);
  /* The first slot copied over the forgotten one. */
  memcpy(copy, file, n);
  memcpy(copy + CAIRN_KEYSTORE_HEADER_BYTES + CAIRN_KEYSTORE_SLOT_BYTES,
         file + CAIRN_KEYSTORE_HEADER_BYTES, CAIRN_KEYSTORE_SLOT_BYTES);
  put("keystore", "copied-slot", copy, n);
  /* Another version. */
  memcpy(copy, file, n);
  copy[13] = 2;
  put("keystore", "version-2", copy, n);
}

int main(int argc, char **argv) {
  msgpack_sbuffer chain;
  uint8_t seed[32];

  if (argc != 2) {
    fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  out_dir = argv[1];
  fuzz_random_fixed();
  if (sodium_init() < 0)
    die("sodium_init");
  memset(seed, 0xa1, sizeof seed);
  crypto_sign_seed_keypair(author_pk, author_sk, seed);
  msgpack_sbuffer_init(&chain);
  seeds_entry(&chain);
  seeds_sync(&chain);
  seeds_token();
  seeds_transport();
  seeds_handshake();
  seeds_record_and_frame();
  seeds_config();
  seeds_backup();
  seeds_bundle(&chain);
  seeds_requests();
  seeds_roster();
  seeds_ifthen();
  seeds_body();
  seeds_keystore();
  msgpack_sbuffer_destroy(&chain);
  msgpack_sbuffer_destroy(&hello);
  return 0;
}
