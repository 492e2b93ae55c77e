/*
 * server.h: the local socket, DATA/cairnd.sock, and its connections.
 *
 * Each connection is a small state machine with one function that moves it
 * (conn_set_state in server.c) and one place that frees it (on_conn_close):
 *
 *   READING  --whole request, answered at once-->        READING
 *   READING  --whole request, waiting for the writer-->  WAITING
 *   WAITING  --cairn_server_reply-->                     READING
 *   any      --bad frame, peer gone, shutdown-->         CLOSING
 *
 * A connection holds at most one request in progress, so replies leave in
 * request order, and stops reading while its unsent replies exceed a bound:
 * a client that does not read cannot make the daemon buffer without limit,
 * and no client can stall the loop for the others.
 */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <msgpack.h>
#include <uv.h>

typedef struct cairn_server cairn_server;
typedef struct cairn_conn cairn_conn;

/* What a request handler returns: a reply is ready in the frame buffer, or
 * the handler will call cairn_server_reply later, or the request broke the
 * protocol and the connection must close. */
typedef enum { CAIRN_HANDLED_REPLY, CAIRN_HANDLED_LATER, CAIRN_HANDLED_VIOLATION } cairn_handled;

/* Handles one request payload (one frame, not yet decoded). A reply frame,
 * if any, is packed into frame, which already holds the 4 header bytes. */
typedef cairn_handled (*cairn_server_handler)(void *arg, cairn_conn *c, const uint8_t *payload,
                                              size_t len, msgpack_sbuffer *frame);

/* Called when a connection closes while its request is still pending
 * (the value stored through cairn_server_conn_pending). */
typedef void (*cairn_server_detach)(void *pending);

/* Binds path (removing a stale socket; the caller holds the data
 * directory's lock), sets mode 0660, and listens. Returns 0 and *out, or a
 * negative CAIRN_E* code with why filled. */
int cairn_server_start(cairn_server **out, uv_loop_t *loop, const char *path,
                       cairn_server_handler handler, cairn_server_detach detach, void *arg,
                       char *why, size_t whylen);

/* Sends a reply packed later for connection c (frame: header bytes + reply,
 * as given to the handler); takes ownership of frame's data. The connection
 * then reads its next request. */
void cairn_server_reply(cairn_conn *c, msgpack_sbuffer *frame);

/* Per-connection slot where the handler keeps its pending write, so the
 * connection can detach it if it closes first. */
void **cairn_server_conn_pending(cairn_conn *c);

/* Stops accepting and stops reading new requests; requests in progress
 * still get their replies. */
void cairn_server_stop_reading(cairn_server *s);

/* Closes the listener and every connection, unlinks the socket, and frees
 * the server once all handles have closed. */
void cairn_server_close(cairn_server *s);

/* Fills a frame buffer with its 4 placeholder header bytes. */
void cairn_server_frame_init(msgpack_sbuffer *frame);

#endif
