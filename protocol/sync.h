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

#define CAIRN_SYNC_VERSION 4
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
  CAIRN_SYNC_WELCOME = 6,
  CAIRN_SYNC_CLOSE = 7,
  CAIRN_SYNC_OFFER = 8,
  CAIRN_SYNC_ARRIVED = 9, /* a student came into the receiver's classroom (PROTOCOL.md 2) */
  CAIRN_SYNC_WANT = 10,   /* that student's older history, please */
  CAIRN_SYNC_FILL = 11,   /* whole entries the receiver holds redacted */
  CAIRN_SYNC_DONE = 12    /* that student's history has all been sent */
} cairn_sync_type;

/* Why a node closes a link: X(code, ID, "name", "what the other side is
 * told"). A CLOSE message carries the code and a line of text; a refusal
 * before the handshake is done carries them in a plain record
 * (cairn_sync_pack_refusal), and an IK responder's refusal in the status
 * byte of its answer (an older cairn answers 1, "refused", to everything).
 * Codes travel: append only. */
#define CAIRN_SYNC_CLOSE_CODES(X)                                                            \
  X(1, REFUSED, "refused", "refused")                                                        \
  X(2, DISK_FULL, "disk_full", "its disk is full")                                           \
  X(3, REVOKED, "revoked", "this device has been revoked")                                   \
  X(4, NOT_ENROLLED, "not_enrolled", "this device is not enrolled there")                    \
  X(5, WRONG_NETWORK, "wrong_network", "another deployment, or another key")                 \
  X(6, VERSION, "version", "another version of cairn: upgrade the older one")                \
  X(7, BUSY, "busy", "too many connections: it will be tried again")                         \
  X(8, MALFORMED, "malformed", "bytes that are not the protocol")                            \
  X(9, OUT_OF_TURN, "out_of_turn", "a message the protocol does not allow there")            \
  X(10, BAD_BATCH, "bad_batch", "a batch that does not verify")                              \
  X(11, STOPPING, "stopping", "cairnd there is stopping")                                    \
  X(12, TIMEOUT, "timeout", "no handshake in time")                                          \
  X(13, FAILED, "failed", "its own error (out of memory, input/output)")                     \
  X(14, MOVED, "moved", "this node moves to another upstream")

typedef enum cairn_sync_close_code {
#define CAIRN__SYNC_CLOSE_ENUM(code, id, name, what) CAIRN_CLOSE_##id = code,
  CAIRN_SYNC_CLOSE_CODES(CAIRN__SYNC_CLOSE_ENUM)
#undef CAIRN__SYNC_CLOSE_ENUM
} cairn_sync_close_code;

#define CAIRN_SYNC_CLOSE_TEXT_MAX 200 /* bytes of a CLOSE's or refusal's text */

/* The name ("disk_full") and the sentence of a close code; "unknown" and
 * "closed the link" for a code not in the table. Static storage. */
const char *cairn_sync_close_name(int code);
const char *cairn_sync_close_what(int code);

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
  uint64_t time_ms;    /* the sender's wall clock, unix ms (0: not given) */
  uint64_t central_ms; /* the sender's estimate of the central's clock (0: none) */
  char role[16];
  uint8_t device[CAIRN_KEY_BYTES]; /* HELLO, JOIN */
  char campus[65], classroom[65];  /* HELLO, WELCOME */
  cairn_sync_vv *vv;
  size_t vv_n;
  /* ENTRIES, ACK */
  uint64_t batch;
  const uint8_t *entries;
  size_t entries_len;
  uint64_t entries_count; /* ENTRIES: as the sender counts them */
  uint64_t applied, refused;
  uint64_t held, redated; /* ACK: entries held, or re-dated by the central */
  uint64_t ahead_ms;      /* ACK: the most any of those was ahead */
  char reason[256]; /* ACK's first refusal; WELCOME's error message; CLOSE's text */
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
  /* CLOSE: a cairn_sync_close_code (reason: its text) */
  int close_code;
  /* OFFER: entries the sender holds that the receiver lacks and will be sent */
  uint64_t offered;
  /* ARRIVED, WANT, DONE: the student (an id, cairn_text_id_logged) and
   * the HLC of the write that brought them into the classroom */
  char student[65];
  uint64_t arrival;
} cairn_sync_msg;

/* Encoders: each appends one message to out. Return 0 or CAIRN_ENOMEM. */
/* time_ms: this node's wall clock; central_ms: its estimate of the
 * central's clock (the central: its own); both unix ms. */
int cairn_sync_pack_hello(msgpack_sbuffer *out, const char *role,
                          const uint8_t device[CAIRN_KEY_BYTES], const char *campus,
                          const char *classroom, const cairn_sync_vv *vv, size_t n,
                          uint64_t time_ms, uint64_t central_ms);
/* count: how many entries the len bytes hold (the receiver checks it). */
int cairn_sync_pack_entries(msgpack_sbuffer *out, uint64_t batch, const uint8_t *entries,
                            size_t len, uint64_t count);
/* The outcome of one batch, as its receiver committed it. */
typedef struct cairn_sync_ack {
  uint64_t batch, applied, refused, held, redated, ahead_ms;
  const char *reason; /* the first refusal, or "" */
} cairn_sync_ack;
int cairn_sync_pack_ack(msgpack_sbuffer *out, const cairn_sync_ack *a);
int cairn_sync_pack_receipt(msgpack_sbuffer *out, const uint8_t author[CAIRN_KEY_BYTES],
                            uint64_t seq, const uint8_t central[CAIRN_KEY_BYTES],
                            const uint8_t sig[CAIRN_SIG_BYTES]);
int cairn_sync_pack_join(msgpack_sbuffer *out, const uint8_t secret[CAIRN_SYNC_SECRET_BYTES],
                         const uint8_t device[CAIRN_KEY_BYTES], const char *role,
                         const char *name);
/* code 0: welcomed into campus/classroom; otherwise refused with message. */
int cairn_sync_pack_welcome(msgpack_sbuffer *out, int code, const char *campus,
                            const char *classroom, const char *message);

/* code: a cairn_sync_close_code; text: at most CAIRN_SYNC_CLOSE_TEXT_MAX
 * bytes of it are sent. */
int cairn_sync_pack_close(msgpack_sbuffer *out, int code, const char *text);

/* OFFER: how many entries the sender will send from now on (those the
 * receiver lacks and may have). */
int cairn_sync_pack_offer(msgpack_sbuffer *out, uint64_t count);

/* ARRIVED, WANT and DONE: the student (an id) who came into the
 * receiver's classroom by a write at HLC arrival, whose history the
 * receiver asks for, or whose history has all been sent. */
int cairn_sync_pack_student(msgpack_sbuffer *out, cairn_sync_type type, const char *student,
                            uint64_t arrival);

/* FILL: count whole entries (len bytes, concatenated encodings) that the
 * receiver holds redacted. */
int cairn_sync_pack_fill(msgpack_sbuffer *out, const uint8_t *entries, size_t len, uint64_t count);

/* A refusal before the handshake is done, as the body of one plain
 * transport record: "cairn-refused" NUL, the code byte, then the text.
 * Unauthenticated: the receiver shows it as what the other side says. */
#define CAIRN_SYNC_REFUSAL_MAGIC "cairn-refused"
int cairn_sync_pack_refusal(msgpack_sbuffer *out, int code, const char *text);

/* Returns 1 and fills *code and text (NUL-terminated, printable ASCII only:
 * anything else becomes '?') when body[0..len) is a refusal record, else
 * 0. Pure. */
int cairn_sync_parse_refusal(const uint8_t *body, size_t len, int *code,
                             char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1]);

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
