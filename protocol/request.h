/*
 * request.h: the shape of a local request on cairnd.sock (docs/FORMAT.md
 * section 5): one table row per op, naming the arguments it takes and
 * their msgpack types.
 *
 * cairn_request_decode is the first thing cairnd does with a frame's
 * payload, before any handler reads it, so that every handler sees a
 * request whose arguments are known, given once, and of the right type;
 * whose text arguments are one line without control characters
 * (cairn_text_check); and whose record ids (put's and show's `id`,
 * status's `student`) follow the id grammar (text.h). put_many's `puts` is
 * an array of 1 to CAIRN_REQUEST_PUTS_MAX maps, each checked as a put's
 * arguments. What else an argument means (a length, a
 * range, a date) is its handler's to check. Pure (msgpack-c only): no
 * socket, no store; it is fuzzed by tests/fuzz/fuzz_record.c.
 */
#ifndef CAIRN_REQUEST_H
#define CAIRN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define CAIRN_REQUEST_OP_MAX 32 /* an "op" this long or longer is not a request */

typedef enum cairn_request_op {
  CAIRN_OP_PING = 1,
  CAIRN_OP_PUT,
  CAIRN_OP_STATUS,
  CAIRN_OP_EXPORT,
  CAIRN_OP_SHOW,
  CAIRN_OP_CONFLICTS,
  CAIRN_OP_CHECK,
  CAIRN_OP_DEVICES,
  CAIRN_OP_SYNC_STATUS,
  CAIRN_OP_SYNC_NOW,
  CAIRN_OP_JOIN,
  CAIRN_OP_ENROLL,
  CAIRN_OP_REVOKE,
  CAIRN_OP_BUNDLE_EXPORT,
  CAIRN_OP_BUNDLE_IMPORT,
  CAIRN_OP_CHILDREN,
  CAIRN_OP_WEB_SIGNIN,
  CAIRN_OP_DETAIL,
  CAIRN_OP_REPORT,
  CAIRN_OP_PUT_MANY,
  CAIRN_OP_STUDENTS,
  CAIRN_OP_BACKUP,
  CAIRN_OP_MIRROR,
  CAIRN_OP_MAX = CAIRN_OP_MIRROR
} cairn_request_op;

/* The most puts one put_many carries. */
#define CAIRN_REQUEST_PUTS_MAX 4096

/* A decoded request: msg.data is the request map (read its arguments with
 * cairn_record_map_get); it is owned until cairn_request_clear. */
typedef struct cairn_request {
  cairn_request_op op;
  msgpack_unpacked msg;
} cairn_request;

/* Decodes one request payload (len bytes) into *req. Returns:
 *   0                 *req holds the request; free it with cairn_request_clear.
 *   CAIRN_EMALFORMED  not a request at all: not exactly one msgpack map
 *                     (within cairn_mpcheck's bounds), or no string "op"
 *                     shorter than CAIRN_REQUEST_OP_MAX. The peer does not
 *                     speak the protocol: close its connection.
 *   CAIRN_EINVAL, CAIRN_EUTF8, CAIRN_ETOOBIG
 *                     a request whose shape is wrong: an op that is not
 *                     UTF-8 or that no row names, an argument name that is
 *                     not a string, given twice, or not one the op takes,
 *                     or an argument of the wrong type (a string that is not
 *                     UTF-8: CAIRN_EUTF8), a text argument with a control
 *                     character, or a record id that is not an id (one too
 *                     long: CAIRN_ETOOBIG). Answer with the error.
 *   CAIRN_ENOMEM.
 * On any error *req holds nothing (cairn_request_clear is harmless) and why
 * gets one line naming the op or argument; names from the input appear in
 * it as printable ASCII only. nil counts as an absent argument. */
int cairn_request_decode(const uint8_t *buf, size_t len, cairn_request *req, char *why,
                         size_t whylen) __attribute__((warn_unused_result));

/* Frees what cairn_request_decode kept; NULL, or a request that failed to
 * decode, is a harmless no-op. */
void cairn_request_clear(cairn_request *req);

/* Returns the static name of op ("sync_status"), or NULL if unknown. */
const char *cairn_request_op_name(int op);

#endif
