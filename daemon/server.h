/*
 * server.h: the local socket, DATA/cairnd.sock, and its connections.
 *
 * A client may pipeline: send many requests without waiting. Each request
 * gets a reply slot in its connection's queue; replies leave strictly in
 * request order, however the answers complete. Each connection is a small
 * state machine with one function that moves it (conn_set_state in
 * server.c) and one place that frees it (on_conn_close):
 *
 *   READING  --a slot answered, or below the limits again-->  READING
 *   READING  --CAIRN_FRAME_PIPELINE_MAX requests unanswered,
 *              or more than 4 MiB of replies unsent-->         PAUSED
 *   PAUSED   --back under both limits-->                       READING
 *   any      --bad frame, peer gone, shutdown-->               CLOSING
 *
 * So a client that floods, or never reads its replies, is paused rather
 * than buffered without bound, and no client can stall the loop for the
 * others.
 */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <msgpack.h>
#include <uv.h>

typedef struct cairn_server cairn_server;
typedef struct cairn_slot cairn_slot; /* one request's place in the reply order */

/* What a request handler returns: a reply is ready in the frame buffer, or
 * the handler will call cairn_server_reply(slot, ...) later, or the request
 * broke the protocol and the connection must close. */
typedef enum { CAIRN_HANDLED_REPLY, CAIRN_HANDLED_LATER, CAIRN_HANDLED_VIOLATION } cairn_handled;

/* Handles one request payload (one frame, not yet decoded). A reply frame,
 * if any, is packed into frame, which already holds the 4 header bytes. */
typedef cairn_handled (*cairn_server_handler)(void *arg, cairn_slot *slot,
                                              const uint8_t *payload, size_t len,
                                              msgpack_sbuffer *frame);

/* Called when a connection closes while a request is still pending (the
 * value given to cairn_server_slot_pending): after it, the handler must not
 * use that slot again. */
typedef void (*cairn_server_detach)(void *pending);

/* Listens on path, mode 0660: binds a staging name (path + ".new") and
 * renames it into place once it listens, so the socket's existence means
 * it accepts (stale files are removed: the caller holds the data
 * directory's lock). Returns 0 and *out, or a
 * negative CAIRN_E* code with why filled. */
int cairn_server_start(cairn_server **out, uv_loop_t *loop, const char *path,
                       cairn_server_handler handler, cairn_server_detach detach, void *arg,
                       char *why, size_t whylen);

/* Completes slot with a reply packed later (frame: header bytes + reply, as
 * given to the handler); takes ownership of frame's data. The reply leaves
 * once every earlier reply on its connection has. */
void cairn_server_reply(cairn_slot *slot, msgpack_sbuffer *frame);

/* Records the handler's request in progress for slot, so that a closing
 * connection can detach it. */
void cairn_server_slot_pending(cairn_slot *slot, void *pending);

/* What a request made inside cairnd gets back: the reply payload (one
 * msgpack map, borrowed for the call), or NULL and 0 when the handler
 * found the request malformed. */
typedef void (*cairn_server_call_done)(void *arg, const uint8_t *reply, size_t len);

/* Runs one request payload (borrowed for the call) through the same
 * handler as a request on the socket, for another front end inside cairnd
 * (the web page): the same checks, the same writer, the reply only after
 * the commit. done(arg, ...) is called exactly once: from inside this call
 * when the answer is immediate (then NULL is returned), or later (then the
 * returned handle stands for the call until done runs). With ENOMEM, done
 * gets an error reply packed here. */
cairn_slot *cairn_server_call(cairn_server *s, const uint8_t *payload, size_t len,
                              cairn_server_call_done done, void *arg);

/* Gives up a call still waiting (its front end went away): done will not
 * be called; the work itself still completes. NULL is a harmless no-op. */
void cairn_server_call_cancel(cairn_slot *slot);

/* Stops accepting and stops reading new requests; requests in progress
 * still get their replies. */
void cairn_server_stop_reading(cairn_server *s);

/* Closes the listener and every connection, unlinks the socket, and frees
 * the server once all handles have closed. */
void cairn_server_close(cairn_server *s);

/* Fills a frame buffer with its 4 placeholder header bytes. */
void cairn_server_frame_init(msgpack_sbuffer *frame);

#endif
