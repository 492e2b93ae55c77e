/*
 * link.h: sync links (docs/PROTOCOL.md): the TCP listener of a hub or
 * central, the outbound link of a classroom or hub to its upstream, and
 * joining a deployment.
 *
 * Each TCP connection is a state machine moved by one function
 * (link_set_state in link.c) and freed in one place (on_link_close):
 *
 *   CONNECTING -> HANDSHAKE -> HELLO -> SYNCING <-> IDLE -> CLOSING
 *
 * Received batches are applied by the writer (one LMDB writer) and
 * acknowledged only after their commit. A link sends at most 4 batches
 * ahead of the peer's acknowledgements and stops reading while 2 received
 * batches wait for the writer, so a slow peer never makes a daemon buffer
 * without bound. The upstream link reconnects after any failure with
 * exponential backoff and jitter, capped at a minute, forever.
 */
#ifndef CAIRN_LINK_H
#define CAIRN_LINK_H

#include <msgpack.h>
#include <uv.h>

#include "config.h"
#include "store.h"
#include "sync_refusals.h"
#include "writer.h"

typedef struct cairn_links cairn_links;

typedef struct cairn_links_opts {
  uv_loop_t *loop;
  cairn_store *store;          /* borrowed */
  cairn_writer *writer;        /* borrowed */
  const uint8_t *sk;           /* the device's Ed25519 secret key, borrowed */
  cairn_config *config;        /* borrowed: the settings in effect; a join
                                  updates them (join_state.h) */
  const cairn_config *file;    /* borrowed: cairn.conf as read, whose upstream
                                  and upstream_key win over a join's */
} cairn_links_opts;

/* Starts listening (when [sync] listen is set) and connecting upstream
 * (when this node has an upstream: joined, or [sync] upstream set). Returns 0 and *out (freed by
 * cairn_links_close), or a negative code with why. */
int cairn_links_start(cairn_links **out, const cairn_links_opts *o, char *why, size_t whylen);

/* Something was committed: links send what their peers now lack. */
void cairn_links_notify(void *links);

/* Connects upstream now instead of waiting for the backoff timer. Returns
 * 0, or CAIRN_ENOTFOUND when this node has no upstream. */
int cairn_links_sync_now(cairn_links *l);

/* Packs an array describing each peer: the upstream (connected or not) and
 * every connected downstream device. Keys: peer (hex), address (the
 * upstream's host:port, "" downstream), role, direction
 * ("upstream"/"downstream"), connected, state, last_success (unix or nil),
 * pending_out, pending_in (entries, or nil when unknown), sent, received,
 * refused (entries refused either way on this link), last_error,
 * last_error_code (the close code's name the upstream gave, or nil),
 * clock_offset_ms (the peer's clock minus the central's; upstream: this
 * node's own; nil when unknown), notice (what the upstream said of this
 * node's entries, e.g. dated ahead), receipt ({seq} or nil). Returns 0, or
 * CAIRN_EIO when this node's version vector cannot be read (nothing
 * packed). */
int cairn_links_status(cairn_links *l, msgpack_packer *pk);

/* Packs {offset_ms: this node's clock minus the central's (0 on the
 * central, nil when never learned), tolerance_ms, message: a sentence when
 * the clock is off by more than the tolerance, else ""}. */
void cairn_links_clock(const cairn_links *l, msgpack_packer *pk);

/* Packs an array of sentences a user of this node must see (in `cairn
 * status` and `sync status`): its clock is off; the upstream refused it,
 * with the reason it gave; the upstream held or re-dated its entries. */
void cairn_links_notices(const cairn_links *l, msgpack_packer *pk);

/* Packs a map of what this daemon refused since it started, over every
 * link in either direction: one count per class of protocol/sync_refusals.h
 * (name -> count, in the table's order). Kept in memory only: a restart
 * starts them at 0. */
void cairn_links_refusals(const cairn_links *l, msgpack_packer *pk);

/* The classes of protocol/sync_refusals.h, counted. */
#define CAIRN__LINKS_ONE(id, name, what) +1
#define CAIRN_LINKS_REFUSAL_CLASSES (0 CAIRN_SYNC_REFUSALS(CAIRN__LINKS_ONE))

/* The links in numbers, for /metrics and /health. */
typedef struct cairn_links_counts {
  uint64_t applied;           /* entries received over sync links and applied, since start */
  uint64_t connected[3];      /* links in session, by the peer's role (cairn_role) */
  uint64_t pending_out;       /* entries peers in session lack, or have not acknowledged */
  uint64_t pending_in;        /* entries peers offered, not yet applied here */
  uint64_t refusals[CAIRN_LINKS_REFUSAL_CLASSES]; /* as cairn_links_refusals, in table order */
  int has_upstream;           /* [sync] upstream is set */
  int64_t upstream_success;   /* unix seconds of its last success; 0: never */
} cairn_links_counts;

/* Fills *out. The pending counts need this store's version vector: when
 * it cannot be read they are left 0. Loop thread. */
void cairn_links_counts_get(cairn_links *l, cairn_links_counts *out);

/* Called once when a join ends: rc 0 and the scope joined, or a negative
 * code and a one-line message. */
typedef void (*cairn_links_join_cb)(void *arg, int rc, const char *message);

/* Joins the deployment of token (docs/PROTOCOL.md section 5), optionally
 * syncing afterwards through upstream ("host:port" of a hub, or NULL for
 * the central). cb runs exactly once, later. Returns 0 when started, or a
 * negative code (bad token: CAIRN_EINVAL with why) without calling cb. */
int cairn_links_join(cairn_links *l, const char *token, const char *upstream,
                     cairn_links_join_cb cb, void *arg, char *why, size_t whylen);

/* Makes a join token (the central only): cb gets the token's text. */
typedef void (*cairn_links_enroll_cb)(void *arg, int rc, const char *token_or_message);
int cairn_links_enroll(cairn_links *l, const char *role, const char *campus,
                       const char *classroom, int64_t expires_seconds, cairn_links_enroll_cb cb,
                       void *arg, char *why, size_t whylen);

/* Closes every link and the listener; cb(arg) once all have closed. */
void cairn_links_close(cairn_links *l, void (*cb)(void *arg), void *arg);

#endif
