/*
 * link_int.h: what the files of the sync link share (internal to daemon/):
 *   link.c          the manager, TCP, reading and sending, the life of a
 *                   link (its states), the listener and its limits,
 *                   upstream connects and backoff, the module's API
 *   link_hs.c       the Noise handshake (IK or XX) and who may connect
 *   link_session.c  the sync session: what the peer holds, batch sizing,
 *                   the writer jobs, clocks, one handler per message and
 *                   the table of turns every message passes through
 *   link_enroll.c   joining with a token, enrolling, hub discovery
 *   link_status.c   `sync status`, the clock and the refusal counts
 * Each includes this header and link.h only; none includes another.
 * Ownership: every link belongs to its manager (cairn_links), which frees
 * it when its handles have closed; a job belongs to the writer until its
 * done callback runs.
 */
#ifndef CAIRN_LINK_INT_H
#define CAIRN_LINK_INT_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "log.h"
#include "noise.h"
#include "record.h"
#include "sync.h"
#include "sync_refusals.h"
#include "text.h"
#include "transport.h"


#include "join_state.h"
#include "link.h"

/* Batches are sized to the link (PROTOCOL.md section 4, "Batch sizing"):
 * a link starts at BATCH_START_BYTES; each acknowledgement measures the
 * rate the link carried that batch at, and the next batches hold about
 * BATCH_TARGET_MS of it, between BATCH_MIN_BYTES and BATCH_MAX_BYTES (a
 * batch always holds at least one entry; cairn_store_read_scoped ends it at
 * the last signed entry within that size, when there is one, so the ACK
 * and the rate count what was sent). A link that drops with batches
 * unacknowledged leaves half its size for the next connection to the same
 * peer. */
#define BATCH_ENTRIES 4000
#define BATCH_MAX_BYTES (2 * 1024 * 1024)
#define BATCH_START_BYTES (16 * 1024)
#define BATCH_MIN_BYTES 512
#define BATCH_TARGET_MS 1000
#define PACES 64 /* peers whose batch size after a drop is remembered */
#define WINDOW 4                        /* batches sent ahead of acknowledgements */
#define APPLY_MAX 2                     /* received batches waiting for the writer */
#define UNSENT_MAX (2 * 1024 * 1024)    /* bytes queued on the socket */
#define HANDSHAKE_TIMEOUT_MS 10000
#define FLUSH_TIMEOUT_MS 2000 /* a closing link's last message, then it goes anyway */
/* Descriptors kept for everything but sync connections: the store, the
 * local socket and its clients, the web page, the log. */
#define FD_RESERVE 256
/* A device's last-seen time is taken at its HELLO and written this much
 * later (or when its link closes first), so that its commit never sits in
 * front of the link's first batch. */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define PROLOGUE "cairn-sync-v1"
#define PATTERN_IK 1
#define PATTERN_XX 2
#define STATUS_OK 0

/* A link's states, in the order a link passes them (PROTOCOL.md section
 * 3). Which message may arrive in which state is the table `turns`, in
 * cairn__link_on_message: every message passes through it. */
typedef enum {
  LINK_CONNECTING, /* upstream: the TCP connect */
  LINK_HANDSHAKE,  /* the Noise handshake */
  LINK_JOIN_WAIT,  /* downstream: a device not enrolled finished XX: JOIN next */
  LINK_REDEEMING,  /* downstream: its JOIN's token is being redeemed */
  LINK_JOINING,    /* upstream: JOIN sent: WELCOME next */
  LINK_HELLO,      /* both sides may sync: the peer's HELLO next */
  LINK_SYNCING,    /* HELLO received; something to send or unacknowledged */
  LINK_IDLE,       /* HELLO received; nothing to send */
  LINK_CLOSING
} link_state;


/* The peer's HELLO has arrived: the link syncs. */
static inline int in_session(link_state s) { return s == LINK_SYNCING || s == LINK_IDLE; }

/* The handshake is done: messages are sealed with the transport keys. */
static inline int past_handshake(link_state s) { return s > LINK_HANDSHAKE && s < LINK_CLOSING; }

typedef enum { LINK_UPSTREAM, LINK_DOWNSTREAM } link_dir;

/* The classes of refused attempts (protocol/sync_refusals.h), each counted
 * since start where its refusal is logged. */
typedef enum {
#define AS_ENUM(id, name, what) REFUSED_##id,
  CAIRN_SYNC_REFUSALS(AS_ENUM)
#undef AS_ENUM
  REFUSAL_CLASSES
} refusal;



typedef struct link link;
typedef struct job job;

/* A store write a link queued on the writer; l is NULL once the link has
 * gone, and the result is then dropped. */
struct job {
  link *l;
  cairn_sync_msg msg; /* RECEIPT */
  uint8_t *bytes;     /* ENTRIES: a copy of the batch */
  size_t len;
  uint64_t count; /* the entries the sender says it holds */
  uint64_t batch;
  cairn_apply_result res;
  cairn_vv_item *runs; /* ENTRIES applied: each author's run, its highest seq (owned) */
  size_t nruns;
  /* JOIN (responder) */
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  uint8_t device[CAIRN_KEY_BYTES];
  char name[201];
  cairn_scope scope;
  char role[16];
  char why[256];
  char student[65]; /* DONE: the student whose history has all arrived */
  int64_t when; /* peer_seen; DONE: the arrival's HLC */
  int64_t offset; /* set_central_offset */
  cairn_store_join join; /* WELCOME, the move to a hub: the join to record */
  cairn_links *mgr; /* WELCOME: the manager, until it is freed (its join_job) */
  cairn_writer_done_cb done; /* run by on_link_job_done */
  job *next;
};

struct link {
  uv_tcp_t tcp; /* first: the handle's address is the link's */
  uv_connect_t connect;
  uv_timer_t timer; /* handshake deadline */
  cairn_links *mgr;
  link_dir dir;
  link_state state;
  int joining;    /* upstream: opened to join with a token, not yet welcomed */
  int welcoming;  /* upstream: welcomed; the central's key is being stored */
  int authorized; /* downstream: the peer is known to be an enrolled device (by IK, or
                   * by a join just redeemed); what it may send is the state's */
  cairn_noise_handshake hs;
  int hs_started;
  cairn_noise_cipher tx, rx;
  uint8_t *in;
  size_t in_len, in_cap;
  cairn_transport_reader reader;
  uint8_t peer[CAIRN_KEY_BYTES];
  int peer_known;
  cairn_scope peer_scope;
  char peer_role[16];
  char hello_role[16]; /* the role the peer's HELLO gave (/metrics) */
  cairn_vv_item *peer_vv; /* what the peer holds, as far as we know */
  size_t peer_vv_n;
  /* downstream: whether the peer needs each author's chain, cached
   * (cairn__link_author_wanted): two bits per author ordinal (the
   * manager's vv_ord), words of known then yes, wanted_words pairs */
  uint64_t *wanted;
  size_t wanted_words;
  unsigned reach_epoch; /* cairn_store_reach_epoch when the cache was filled */
  /* The vv generation in which a pump found nothing to send and nothing
   * in flight (0: none since what the peer wants may have changed): the
   * next pump need look only at authors changed after it. */
  uint64_t idle_gen;
  /* cairn_store_arrival_epoch when the arrivals were last offered; valid
   * once arrivals_sent is set (cairn__link_send_arrivals) */
  unsigned arrival_epoch;
  int arrivals_sent;
  /* a student's history (link_history.c) */
  uint8_t (*history_authors)[CAIRN_KEY_BYTES]; /* downstream: authors of a history asked
                                                  for in this session: their chains are sent */
  size_t history_authors_n;
  struct history_wait *waits; /* downstream: DONEs to send once the peer holds these */
  size_t waits_n;
  cairn_store_arrival *asked; /* the students offered (downstream) or asked for
                                (upstream) in this session */
  size_t asked_n;
  unsigned answered; /* downstream: WANTs answered in this session */
  int fill_failed;   /* upstream: a FILL was refused: no DONE clears a want */
  int reading; /* uv_read_start is active */
  int flushing; /* closing: the last message is being written (shutdown) */
  uv_shutdown_t shutdown;
  /* downstream, until authorized: counted against its address, and in
   * the queue of unauthenticated links (oldest first) */
  int unauth;
  uint32_t addr; /* IPv4, network order */
  link *uprev, *unext;
  /* the peer's clock minus the central's, as this node estimates it */
  int64_t peer_clock_ms;
  int peer_clock_known;
  int inflight, applying;
  /* entries of each unacknowledged batch, oldest first (ACKs come in
   * order), and their sum: sent, but not yet known to be held */
  size_t batch_entries[WINDOW];
  size_t batch_len[WINDOW];        /* and their bytes */
  /* the link's rate: bytes acknowledged since the busy period began */
  uint64_t busy_since, busy_bytes;
  /* its round trip, from a handshake message sent to the next bytes in
   * (0: not known); probe_at: when that message left (0: none out) */
  uint64_t rtt_ms, probe_at;
  uint64_t unacked;
  size_t batch_bytes; /* the byte limit of the next batch */
  /* OFFER: what this side last said it would send, less what it has sent
   * since; what the peer said, less what has arrived since; entries
   * received and not yet applied */
  uint64_t promised, offered, in_apply;
  int offer_sent, offer_known;
  uint64_t next_batch;
  uint64_t sent, received, refused;
  int64_t last_success; /* unix time of the last HELLO or ACK from the peer */
  job *jobs;
  int handles; /* tcp + timer not yet closed */
  link *prev, *next;
};

struct cairn_links {
  cairn_links_opts o;
  uint8_t pk[CAIRN_KEY_BYTES];
  uint8_t x_priv[CAIRN_NOISE_KEY_BYTES];
  uint8_t network[CAIRN_SYNC_NETWORK_BYTES];
  int has_network;
  uv_tcp_t listener;
  int listening;
  uv_timer_t retry;
  uv_timer_t flush; /* writes the counts of rate-limited log lines */
  link *links;
  link *upstream;
  unsigned failures;
  int64_t last_success;
  char up_error[300];
  int up_error_code;   /* the close code the upstream gave, or 0 */
  char up_notice[300]; /* what the upstream said of our entries (clock ahead) */
  /* this node's clock: the central's minus ours, as learned at the last
   * handshake with the upstream (0 on the central) */
  int64_t central_offset_ms;
  int offset_known;
  /* downstream connections: how many, how many still unauthenticated (a
   * queue, oldest first), and per source address */
  size_t ndown, max_down, nunauth;
  link *unauth_head, *unauth_tail;
  struct addr_count {
    uint32_t addr; /* 0: empty slot */
    uint32_t n;
  } *addrs;
  size_t addrs_cap, addrs_used;
  cairn_log_limit limits[REFUSAL_CLASSES + 1]; /* + 1: other downstream failures */
  uint64_t up_sent, up_received, up_refused;
  /* This store's version vector as of the latest commit, shared by every
   * link (cairn__link_own_vv); NULL until read, dropped by cairn_links_notify and by
   * on_link_job_done. */
  cairn_vv_item *vv;
  size_t vv_n;
  /* Each read of vv is a generation (vv_gen, from 1); vv_changed[i] is
   * the generation in which vv[i]'s seq last changed. old_vv is the
   * previous read, kept to compare the next one with. An idle link looks
   * only at the authors changed since it went idle (cairn__link_pump). */
  uint64_t vv_gen;
  uint64_t *vv_changed;
  size_t *vv_fresh; /* the i whose vv_changed[i] is vv_gen, nfresh of them */
  size_t nfresh;
  cairn_vv_item *old_vv;
  uint64_t *old_changed;
  size_t old_vv_n;
  /* vv_ord[i]: vv[i]'s author's ordinal, given when the author first
   * appears in vv and kept while this manager lives (old_ord: old_vv's);
   * links cache what they know of an author by it */
  uint32_t *vv_ord, *old_ord;
  uint32_t next_ord;
  /* Each author's device scope by ordinal, as read in vv generation
   * scopes_gen (read again after any commit): a link's first look at
   * every author needs it, and reading it per link was most of a
   * central's work when thousands of classrooms connected at once. */
  struct author_scope {
    uint8_t known, device; /* device: the scope was read (else: not an enrolled device) */
    cairn_scope scope;
  } *scopes;
  size_t scopes_n;
  uint64_t scopes_gen;
  /* The central's seq in this store when the live links' device scopes
   * were last checked (cairn_links_notify). */
  uint64_t scopes_checked_at;
  /* The central's latest receipt for this device, verified, kept from its
   * arrival: `sync status` shows it before the writer has stored it. */
  uint64_t receipt_seen;
  uint64_t refusals[REFUSAL_CLASSES]; /* since start, every link, by class */
  /* Downstream peers' HELLO times not yet written: the flush timer writes
   * them all in one job a second (cairn__link_seen_flush), not one
   * commit per link (10,000 classrooms reconnecting were 10,000 durable
   * commits ahead of any entry). */
  cairn_peer_seen *seen;
  size_t seen_n, seen_cap;
  uint64_t applied; /* entries received and applied since start, every link */
  /* batch sizes left by links that dropped mid-transfer, by peer (a ring) */
  struct pace {
    uint8_t peer[CAIRN_KEY_BYTES];
    size_t bytes; /* 0: empty slot */
  } paces[PACES];
  size_t pace_next;
  /* a join in progress */
  cairn_links_join_cb join_cb;
  void *join_arg;
  cairn_sync_token token;
  char join_upstream[128];
  int switch_to_hub;  /* joined through the central; move to join_upstream */
  /* what the join being recorded learned (the move to a hub records it
   * again), and the settings before it, put back if it cannot be recorded */
  cairn_store_join join;
  job *join_job; /* the WELCOME's job, until its done callback */
  cairn_config before_join;
  uint8_t before_network[CAIRN_SYNC_NETWORK_BYTES];
  int before_has_network;
  int reconnect_now;  /* the next upstream connection starts at once */
  /* restored from a backup (cairn_store_restored): local writes wait until
   * this store holds its own log up to what the upstream's HELLO said it
   * holds of it (restore_target, once restore_known) */
  int restored, restore_known, unrestoring;
  uint64_t restore_target;
  /* closing */
  int closing;
  size_t open_handles;
  void (*close_cb)(void *);
  void *close_arg;
};

static inline int64_t now_unix(void) { return (int64_t)time(NULL); }

static inline void hex(const uint8_t *p, size_t n, char *out) { sodium_bin2hex(out, 2 * n + 1, p, n); }

static inline int unhex(const char *s, uint8_t *out, size_t n) {
  size_t got;
  return s[0] && sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) == 0 && got == n ? 0
                                                                                        : -1;
}

/* ---- a student's history (link_history.c; docs/PROTOCOL.md section 2,
 * "Moves") ---- */

/* Downstream, in a session: offers (ARRIVED) each student who came into
 * the peer's classroom, once per session. */
void cairn__link_send_arrivals(link *l);
/* The handlers of ARRIVED (upstream), WANT (downstream), FILL and DONE
 * (upstream). */
void cairn__link_on_arrived(link *l, const cairn_sync_msg *msg);
void cairn__link_on_want(link *l, const cairn_sync_msg *msg);
void cairn__link_on_fill(link *l, const cairn_sync_msg *msg);
void cairn__link_on_done(link *l, const cairn_sync_msg *msg);
/* Downstream: sends the DONEs whose entries the peer now holds. */
void cairn__link_history_check(link *l);
/* Frees the link's history state (at its close). */
void cairn__link_history_free(link *l);
/* Downstream: the peer needs author's chain from now on (cached as wanted). */
void cairn__link_author_want(link *l, const uint8_t *author);

/* The names of the states and of the refusal classes (link.c). */
extern const char *const cairn__link_state_names[];
extern const char *const cairn__link_refusal_names[];

/* Reads this store's version vector into m->vv unless it holds the
 * current one. Returns 0, or a negative code (m->vv stays NULL). */
int cairn__link_own_vv(cairn_links *m);
/* Something was committed: the next cairn__link_own_vv reads again. */
void cairn__link_own_vv_drop(cairn_links *m);
/* Sends bytes (copied). Returns 0, or fails the link. */
int cairn__link_send_raw(link *l, const uint8_t *p, size_t n);
/* Encrypts one sync message (sb) and sends it. */
int cairn__link_send_msg(link *l, msgpack_sbuffer *sb);
/* Reads again once the writer has room for what arrives. */
void cairn__link_read_resume(link *l);
/* The one function that moves a link between states. */
void cairn__link_set_state(link *l, link_state next);
/* Who a link's log lines are about: "upstream", or "downstream" and the
 * peer's key prefix ("unknown" before the handshake showed it). */
void cairn__link_peer_label(const link *l, char out[80]);
/* Tells the peer why this link closes: a CLOSE message once the link is
 * encrypted, a plain refusal record while this responder is still in its
 * handshake (the initiator shows it as unauthenticated), else nothing.
 * Whatever was sent is flushed before the connection closes. */
void cairn__link_tell(link *l, int code, const char *text);
void cairn__link_fail_limited(link *l, int limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes l over a failure of the network or of this node, telling the
 * peer nothing (it could not hear, or it is not its business). */
void cairn__link_fail(link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Closes l for a reason the peer needs to hear: tells it (code, and this
 * line), logs it, closes. */
void cairn__link_close(link *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Closes the link for what its peer did: counts one refusal of class why,
 * tells the peer, and logs the reason, naming the counter. */
void cairn__link_refuse(link *l, refusal why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* l is authenticated now, or closing: it no longer counts. */
void cairn__link_unauth_drop(link *l);
/* Opens the upstream link to address ("host:port"), to join with the
 * token in m when joining is 1. */
void cairn__link_start_upstream(cairn_links *m, const char *address, int joining);
/* Accepts sync connections on [sync] listen. */
int cairn__link_start_listener(cairn_links *m, char *why, size_t whylen);
/* The seq up to which the peer holds author's chain, as far as this
 * side knows. */
uint64_t cairn__link_peer_has(const link *l, const uint8_t *author);
/* Whether the peer needs the chain of the manager's vv[i] (read by
 * cairn__link_own_vv) at all. A downstream peer does not when the author
 * is an enrolled device whose scope does not overlap the peer's: every
 * entry of it would reach the peer redacted, and the peer verifies only
 * the chains it holds. Otherwise (the central, a hub or classroom that
 * overlaps, an unknown or revoked author) it does. Cached per link by the
 * author's ordinal; the cache is dropped when the peer's scope changes. */
int cairn__link_author_wanted(link *l, size_t i);
/* Forgets what the link knew of which authors it wants. */
void cairn__link_wanted_forget(link *l);
/* A link that closes with batches unacknowledged leaves half its size
 * (at most the start size) for the next link to its peer. */
void cairn__link_pace_leave(link *l);
/* Sends batches of what the peer lacks, within the window, after an OFFER
 * when what there is to send has changed. */
void cairn__link_pump(link *l);
/* Sends this node's HELLO: its version vector and clock. */
void cairn__link_send_hello(link *l);
/* A job for l's next store write, hooked to l (NULL: out of memory). */
job *cairn__link_job_new(link *l);
/* Unhooks j from its link (if it still has one) and frees it. */
void cairn__link_job_free(job *j);
/* Queues j on the writer: fn runs on its thread, done on the loop, with
 * j (whose link is NULL if it closed meanwhile). Returns 0, or frees j,
 * fails the link and returns CAIRN_ENOMEM. */
int cairn__link_submit(link *l, job *j, cairn_writer_job_fn fn, cairn_writer_done_cb done);
/* A downstream peer said HELLO: its last-seen time, now, is written with
 * the next flush (lost if memory runs out: it is a hint). */
void cairn__link_seen(link *l);
/* Queues one writer job that records every pending last-seen time. */
void cairn__link_seen_flush(cairn_links *m);
/* The clock tolerance ([sync] clock_tolerance), in ms (FORMAT.md 1.1). */
int64_t cairn__link_tolerance_ms(const cairn_links *m);
/* "3 years ahead of", "5 minutes behind": how a clock stands to another. */
void cairn__link_clock_words(int64_t diff_ms, char *out, size_t outlen);
/* One decrypted sync message: checked against the table of turns, then
 * handled (link_session.c). */
void cairn__link_on_message(link *l, const uint8_t *p, size_t len);
/* Starts l's Noise handshake (pattern IK or XX; remote_ed: the peer's key
 * when the initiator knows it). Returns 0 or a negative code. */
int cairn__link_hs_init(link *l, cairn_noise_pattern pattern, int initiator, const uint8_t *remote_ed);
/* Writes the next handshake message with payload; the first message of
 * an initiator is preceded by the pattern byte. */
int cairn__link_hs_send(link *l, const uint8_t *payload, size_t plen, int pattern_byte);
/* Our first payload: key || version. */
void cairn__link_hs_my_hello(const cairn_links *m, uint8_t out[CAIRN_KEY_BYTES + 1]);
/* The upstream refused this node: keeps its code and words for `sync
 * status`; a busy upstream is tried again soon. */
void cairn__link_refused_by_upstream(link *l, int code, const char *how, const char *text);
/* One handshake record. */
void cairn__link_hs_record(link *l, const uint8_t *body, size_t len);
/* On a restored node: once the upstream's HELLO has said how far it holds
 * this device's log, and this store holds it that far, the writer clears
 * the restored flag and local writes resume. */
void cairn__link_maybe_unrestore(link *l);
/* Answers the join in progress (its callback), once. */
void cairn__link_join_done(cairn_links *m, int rc, const char *message);
/* A WELCOME answered our JOIN: take the scope and network, have the writer
 * pin the central's key (the join is answered once that is durable), and
 * carry on syncing on this same link. Entries the central sends meanwhile
 * queue behind that job, so they are checked against the pinned key. */
void cairn__link_on_welcome(link *l, const cairn_sync_msg *w);
/* After a join through the central with --upstream: once this node holds
 * everything the central sent, pin the campus hub and move to it. */
void cairn__link_maybe_switch_upstream(link *l);
/* A hub passes the central's receipt on to the device it is about: the
 * central's signature, not the hub, vouches for it. */
void cairn__link_relay_receipt(cairn_links *m, const cairn_sync_msg *r);
/* Entries this node holds (the manager's vv, read by cairn__link_own_vv)
 * that the peer lacks and will be sent, not counting those sent already. */
uint64_t cairn__link_lacking(link *l);
/* Entries the peer said it will send that have not been applied here yet;
 * -1 until its first OFFER. */
int64_t cairn__link_to_receive(const link *l);

#endif
