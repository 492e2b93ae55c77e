/*
 * cairn.h: the client library for talking to a local cairnd.
 *
 * This header is the whole public API of libcairn (pkg-config: cairn;
 * #include <cairn/cairn.h>).
 * Requests and replies are msgpack maps, documented in docs/FORMAT.md
 * section 5; build requests with msgpack-c's msgpack_packer. Every function
 * returns 0 or a negative CAIRN_E* code (error.h, also installed) whose
 * sentence cairn_strerror() gives.
 *
 * A cairn_client is one connection; it is not thread-safe: use one per
 * thread. Calls block until the reply arrives (or the timeout passes).
 */
#ifndef CAIRN_CLIENT_H
#define CAIRN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "error.h"

typedef struct cairn_client cairn_client;
typedef struct cairn_reply cairn_reply;

/* Connects to DATA/cairnd.sock. On success *out is owned by the caller, who
 * closes it with cairn_client_close. Returns CAIRN_ENOTRUNNING when no
 * daemon listens there, CAIRN_ETOOBIG when the socket path is too long,
 * CAIRN_EPERM when the socket may not be opened. */
int cairn_client_open(cairn_client **out, const char *data_dir);

/* Closes the connection and frees c. NULL is a harmless no-op. */
void cairn_client_close(cairn_client *c);

/* Sends one request (req: the bytes of one msgpack map, at most
 * CAIRN_FRAME_MAX) and waits up to timeout_ms (0: 30 s) for its reply.
 * When the daemon answered, *out is set (caller frees with
 * cairn_reply_free) and the return value is 0 for {"ok": true} or the
 * reply's negative code for {"ok": false}; read the one-line reason with
 * cairn_reply_message. On a transport failure *out is NULL and the return
 * is CAIRN_ECLOSED (the daemon hung up, also mid-reply), CAIRN_EIO (also
 * when the timeout passed) or CAIRN_EMALFORMED (a bad frame or a reply that
 * is not {"ok": bool, ...}); the connection is then closed and later calls
 * return CAIRN_ECLOSED. CAIRN_EINVAL: len is 0 or over the maximum, or
 * timeout_ms < 0. */
int cairn_client_call(cairn_client *c, const void *req, size_t len, int timeout_ms,
                      cairn_reply **out);

/* Pipelining: cairn_client_send queues one request without waiting, and
 * cairn_client_recv returns the reply to the oldest request not yet
 * answered; replies always come back in request order. cairnd works on up
 * to CAIRN_CLIENT_PIPELINE_MAX requests of one connection at once, so a
 * loader that sends many writes this way shares each disk sync with them
 * (group commit). Keep at most that many requests unanswered, or a send
 * may block until you receive. Return values as for cairn_client_call; on a
 * transport failure the connection is closed. */
#define CAIRN_CLIENT_PIPELINE_MAX 256
int cairn_client_send(cairn_client *c, const void *req, size_t len, int timeout_ms);
int cairn_client_recv(cairn_client *c, int timeout_ms, cairn_reply **out);

/* The reply's root map. Borrowed: valid until cairn_reply_free(r). */
const msgpack_object *cairn_reply_root(const cairn_reply *r);

/* Looks up key in the reply's root map; NULL when absent. Borrowed. */
const msgpack_object *cairn_reply_get(const cairn_reply *r, const char *key);

/* The one-line error message of a failed reply ("" when ok). Borrowed. */
const char *cairn_reply_message(const cairn_reply *r);

/* Frees a reply. NULL is a harmless no-op. */
void cairn_reply_free(cairn_reply *r);

#endif
