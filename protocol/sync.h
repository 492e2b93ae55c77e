/*
 * sync.h: the messages of the sync protocol and the enrollment token
 * (docs/PROTOCOL.md sections 4 and 5).
 *
 * Pure functions over bytes: encoders append to a msgpack_sbuffer, the
 * decoder checks every message's shape and fails closed. The transport
 * (Noise records) is in transport.h; this module knows nothing of it.
 */
#ifndef CAIRN_SYNC_H
#define CAIRN_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "entry.h"

#define CAIRN_SYNC_VERSION 1
#define CAIRN_SYNC_MSG_MAX (4 * 1024 * 1024) /* one message, reassembled */
#define CAIRN_SYNC_VV_MAX 100000             /* authors in a version vector */
#define CAIRN_SYNC_SECRET_BYTES 16
#define CAIRN_SYNC_NETWORK_BYTES 32

typedef enum cairn_sync_type {
  CAIRN_SYNC_HELLO = 1,
  CAIRN_SYNC_ENTRIES = 2,
  CAIRN_SYNC_ACK = 3,
  CAIRN_SYNC_RECEIPT = 4,
  CAIRN_SYNC_JOIN = 5,
  CAIRN_SYNC_WELCOME = 6
} cairn_sync_type;

typedef struct cairn_sync_vv {
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
} cairn_sync_vv;

/* A decoded message. Strings are NUL-terminated copies; `entries` borrows
 * from the decoded buffer; `vv` is allocated (cairn_sync_msg_clear frees). */
typedef struct cairn_sync_msg {
  cairn_sync_type type;
  /* HELLO */
  uint32_t version;
  char role[16];
  uint8_t device[CAIRN_KEY_BYTES]; /* HELLO, JOIN */
  char campus[65], classroom[65];  /* HELLO, WELCOME */
  cairn_sync_vv *vv;
  size_t vv_n;
  /* ENTRIES, ACK */
  uint64_t batch;
  const uint8_t *entries;
  size_t entries_len;
  uint64_t applied, refused;
  char reason[256]; /* ACK's first refusal; WELCOME's error message */
  /* RECEIPT */
  uint8_t author[CAIRN_KEY_BYTES];
  uint64_t seq;
  uint8_t central[CAIRN_KEY_BYTES];
  uint8_t sig[CAIRN_SIG_BYTES];
  /* JOIN */
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  char name[201];
  /* WELCOME: ok, or an error code (negative CAIRN_E*) with reason */
  int welcome_code;
} cairn_sync_msg;

/* Encoders: each appends one message to out. Return 0 or CAIRN_ENOMEM. */
int cairn_sync_pack_hello(msgpack_sbuffer *out, const char *role,
                          const uint8_t device[CAIRN_KEY_BYTES], const char *campus,
                          const char *classroom, const cairn_sync_vv *vv, size_t n);
int cairn_sync_pack_entries(msgpack_sbuffer *out, uint64_t batch, const uint8_t *entries,
                            size_t len);
int cairn_sync_pack_ack(msgpack_sbuffer *out, uint64_t batch, uint64_t applied, uint64_t refused,
                        const char *reason);
int cairn_sync_pack_receipt(msgpack_sbuffer *out, const uint8_t author[CAIRN_KEY_BYTES],
                            uint64_t seq, const uint8_t central[CAIRN_KEY_BYTES],
                            const uint8_t sig[CAIRN_SIG_BYTES]);
int cairn_sync_pack_join(msgpack_sbuffer *out, const uint8_t secret[CAIRN_SYNC_SECRET_BYTES],
                         const uint8_t device[CAIRN_KEY_BYTES], const char *role,
                         const char *name);
/* code 0: welcomed into campus/classroom; otherwise refused with message. */
int cairn_sync_pack_welcome(msgpack_sbuffer *out, int code, const char *campus,
                            const char *classroom, const char *message);

/* Decodes one whole message (len bytes, at most CAIRN_SYNC_MSG_MAX). Returns
 * 0 and fills *m (release with cairn_sync_msg_clear), or CAIRN_EMALFORMED /
 * CAIRN_EVERSION / CAIRN_ETOOBIG / CAIRN_ENOMEM with *m cleared. */
int cairn_sync_decode(const uint8_t *buf, size_t len, cairn_sync_msg *m)
    __attribute__((warn_unused_result));

/* Frees what cairn_sync_decode allocated. Safe on a cleared message. */
void cairn_sync_msg_clear(cairn_sync_msg *m);

/* ---- Enrollment tokens: "cairn1." + base64url(msgpack) ---- */

typedef struct cairn_sync_token {
  char address[256]; /* host:port of the central */
  uint8_t central[CAIRN_KEY_BYTES];
  uint8_t network[CAIRN_SYNC_NETWORK_BYTES];
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  int64_t expires; /* unix seconds */
} cairn_sync_token;

#define CAIRN_SYNC_TOKEN_MAX 512 /* bytes of the text form, NUL included */

/* Writes the text form of t into out (CAIRN_SYNC_TOKEN_MAX bytes). Returns
 * 0 or CAIRN_ETOOBIG. */
int cairn_sync_token_format(const cairn_sync_token *t, char *out, size_t outlen);

/* Parses a token's text form. Returns 0, or CAIRN_EINVAL with why saying
 * what is wrong ("not a cairn join token", "damaged token"). */
int cairn_sync_token_parse(const char *text, cairn_sync_token *t, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif
