/*
 * bench_swarm.c: one central against many classrooms, played by one load
 * client that speaks the real sync protocol (docs/PROTOCOL.md) with real
 * enrolled keys, instead of one cairnd per classroom (docs/BENCHMARKS.md,
 * "Many classrooms").
 *
 * Setup (not timed): a central (a real cairnd on loopback); D device keys
 * made here, each given a one-time token by the central (the `enroll` call
 * of its socket, pipelined) and joined with it over Noise XX (JOIN,
 * WELCOME), one classroom each.
 *
 *   storm  K of them, each holding M signed entries of about 300 bytes
 *          (student creations in its classroom, one signature per run as
 *          a classroom sends them), connect at once: from the first TCP
 *          connect until the central has acknowledged every batch (an ACK
 *          follows the central's durable commit), that is until it holds
 *          all K x M. The client works through the connections phase by
 *          phase (all connects and IK first messages, then every answer
 *          and HELLO, then every batch, then every ACK) on blocking
 *          sockets, so the central sees them all at once.
 *   idle   (the central restarted first, so its heap holds nothing the
 *          storm freed) L links connected, through the IK handshake and HELLOs both
 *          ways (each classroom's HELLO says it holds the central's log
 *          as far as the central's HELLO did: classrooms that synced
 *          before, so the central has nothing to send), then left idle: the central's resident memory before
 *          and after (VmRSS, and of it the file-backed pages of the
 *          store's map), per link its anonymous memory (RssAnon: the
 *          heap, what links allocate). Then, with all L held, T times one
 *          new signed entry on one of them, from sending its batch until
 *          the central's ACK (p50, p99).
 *
 * It reports figures and never fails because of one. Exit status: 0 when
 * it ran, 1 when it could not (the reason is printed), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "bench_nodes.h"
#include "cairn.h"
#include "entry.h"
#include "noise.h"
#include "sync.h"
#include "transport.h"

static const char usage[] =
    "usage: bench_swarm [--quick] [--storm-rooms K] [--storm-entries M] [--idle-links L]\n"
    "                   [--tries T] [--cairn PATH] [--cairnd PATH] [--out FILE]\n"
    "\n"
    "One central (a real cairnd) against classrooms played by this load client,\n"
    "which speaks the sync protocol with real enrolled keys. Prints a Markdown\n"
    "table; progress goes to stderr.\n"
    "\n"
    "  --quick             20 x 20 storm, 50 idle links, 5 tries: to show it works\n"
    "  --storm-rooms K     classrooms in the storm (default 1000)\n"
    "  --storm-entries M   entries each sends (default 100)\n"
    "  --idle-links L      idle links held at once (default 10000; 0: none)\n"
    "  --tries T           one-entry syncs while the idle links are held (default 20)\n"
    "  --cairn PATH        the cairn CLI (default: this build's client/cairn)\n"
    "  --cairnd PATH       the daemon (default: this build's daemon/cairnd)\n"
    "  --out FILE          also write the Markdown table to FILE\n";

#define PROLOGUE "cairn-sync-v1"
#define PATTERN_IK 1
#define PATTERN_XX 2
#define STEP_MS 60000 /* the deadline of each step on one connection */
#define JOIN_CHUNK 200
#define ENROLL_WINDOW 64
#define STORM_TARGET_S 5.0
#define LINK_TARGET_KIB 16.0
#define LIVE_TARGET_MS 5.0

typedef struct dev {
  uint8_t pk[CAIRN_KEY_BYTES], sk[CAIRN_SECRET_BYTES], x_priv[CAIRN_NOISE_KEY_BYTES];
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  char classroom[32];
  int fd;
  cairn_noise_handshake hs;
  cairn_noise_cipher tx, rx;
  cairn_transport_reader reader;
  uint64_t head;                 /* its own log's head at the central */
  uint8_t head_hash[CAIRN_HASH_BYTES];
  msgpack_sbuffer batch;         /* the storm's entries */
  size_t batch_count;
} dev;

typedef struct swarm {
  dev *devs;
  size_t n;
  uint8_t central[CAIRN_KEY_BYTES], network[CAIRN_SYNC_NETWORK_BYTES];
  int port;
  bench_daemon d;
} swarm;

static int64_t now_ms(void) { return (int64_t)(bench_now_ns() / 1000000u); }

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- blocking socket I/O ---- */

/* Connects from 127.1.X.Y, an address of its own for each device (the
 * central allows few handshakes at once from one address, as from one
 * school's router), to the central's port. */
static int tcp_connect(int port, size_t idx) {
  struct sockaddr_in a;
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

  if (fd < 0) {
    fprintf(stderr, "bench: socket: %s\n", strerror(errno));
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f010000u | (uint32_t)(idx / 250 % 250) << 8 | (uint32_t)(idx % 250 + 1));
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "bench: bind: %s\n", strerror(errno));
    close(fd);
    return -1;
  }
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    fprintf(stderr, "bench: connect: %s\n", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;

  while (n > 0) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return CAIRN_EIO;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int recv_exact(int fd, uint8_t *p, size_t n, int64_t deadline) {
  while (n > 0) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - now_ms();
    ssize_t r;
    if (left <= 0 || bench_interrupted)
      return CAIRN_EIO;
    if (poll(&pf, 1, (int)left) <= 0)
      continue;
    r = recv(fd, p, n, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r <= 0)
      return CAIRN_EIO;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int read_record(int fd, uint8_t *body, size_t *len) {
  uint8_t h[2];
  int64_t deadline = now_ms() + STEP_MS;
  int rc = recv_exact(fd, h, 2, deadline);

  if (rc != 0)
    return rc;
  *len = (size_t)h[0] << 8 | h[1];
  return *len == 0 ? CAIRN_EMALFORMED : recv_exact(fd, body, *len, deadline);
}

static int send_record(int fd, const uint8_t *p, size_t n) {
  msgpack_sbuffer sb;
  int rc;

  msgpack_sbuffer_init(&sb);
  if ((rc = cairn_transport_put_record(&sb, p, n)) == 0)
    rc = send_all(fd, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* Seals the packed message m (packed: the packer's result) and sends it;
 * empties m. */
static int send_msg(dev *v, msgpack_sbuffer *m, int packed) {
  msgpack_sbuffer wire;
  int rc = packed;

  msgpack_sbuffer_init(&wire);
  if (rc == 0 && (rc = cairn_transport_seal(&v->tx, (const uint8_t *)m->data, m->size, &wire)) == 0)
    rc = send_all(v->fd, wire.data, wire.size);
  msgpack_sbuffer_destroy(&wire);
  m->size = 0;
  return rc;
}

/* The next whole sync message on v into *m (cairn_sync_msg_clear it). */
static int recv_msg(dev *v, cairn_sync_msg *m) {
  static uint8_t body[CAIRN_NOISE_MAX_MSG];

  for (;;) {
    size_t len;
    int complete = 0, rc = read_record(v->fd, body, &len);
    if (rc != 0 ||
        (rc = cairn_transport_reader_open(&v->reader, &v->rx, body, len, &complete)) != 0)
      return rc;
    if (complete)
      return cairn_sync_decode(v->reader.msg, v->reader.len, m);
  }
}

static void dev_close(dev *v) {
  if (v->fd >= 0)
    close(v->fd);
  v->fd = -1;
  cairn_noise_handshake_clear(&v->hs);
  cairn_noise_cipher_clear(&v->tx);
  cairn_noise_cipher_clear(&v->rx);
  cairn_transport_reader_free(&v->reader);
  memset(&v->reader, 0, sizeof v->reader);
}

/* ---- the handshake, in two steps so that many run at once ---- */

/* Connects and sends the first handshake message (IK, or XX to join). */
static int hs_begin(const swarm *s, dev *v, int ik) {
  size_t idx = (size_t)(v - s->devs);
  uint8_t prologue[sizeof PROLOGUE - 1 + CAIRN_SYNC_NETWORK_BYTES], rs[CAIRN_NOISE_KEY_BYTES];
  uint8_t hello[CAIRN_KEY_BYTES + 1], msg[1 + CAIRN_NOISE_MAX_MSG];
  size_t n;
  int rc;

  memcpy(prologue, PROLOGUE, sizeof PROLOGUE - 1);
  memcpy(prologue + sizeof PROLOGUE - 1, s->network, CAIRN_SYNC_NETWORK_BYTES);
  memcpy(hello, v->pk, CAIRN_KEY_BYTES);
  hello[CAIRN_KEY_BYTES] = CAIRN_SYNC_VERSION;
  if ((ik && crypto_sign_ed25519_pk_to_curve25519(rs, s->central) != 0) ||
      (rc = cairn_noise_handshake_init(&v->hs, ik ? CAIRN_NOISE_IK : CAIRN_NOISE_XX, 1, prologue,
                                       sizeof prologue, v->x_priv, ik ? rs : NULL)) != 0)
    return CAIRN_EINVAL;
  msg[0] = ik ? PATTERN_IK : PATTERN_XX;
  if ((rc = cairn_noise_write_message(&v->hs, ik ? hello : NULL, ik ? sizeof hello : 0, msg + 1,
                                      sizeof msg - 1, &n)) != 0 ||
      (v->fd = tcp_connect(s->port, idx)) < 0)
    return rc != 0 ? rc : CAIRN_EIO;
  return send_record(v->fd, msg, n + 1);
}

/* Reads the central's answer (checks its key and, for IK, its verdict),
 * sends XX's third message, and splits. */
static int hs_end(const swarm *s, dev *v, int ik) {
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG], payload[CAIRN_NOISE_MAX_MSG];
  uint8_t hello[CAIRN_KEY_BYTES + 1];
  size_t n, plen;
  int rc;

  if ((rc = read_record(v->fd, msg, &n)) != 0 ||
      (rc = cairn_noise_read_message(&v->hs, msg, n, payload, sizeof payload, &plen)) != 0) {
    fprintf(stderr, "bench: the central did not answer the handshake: %s\n", cairn_strerror(rc));
    return rc;
  }
  if (plen < CAIRN_KEY_BYTES + 1 || sodium_memcmp(payload, s->central, CAIRN_KEY_BYTES) != 0) {
    fprintf(stderr, "bench: the handshake's answer is not the central's\n");
    return CAIRN_EBADSIG;
  }
  if (ik && payload[CAIRN_KEY_BYTES] != 0) {
    fprintf(stderr, "bench: the central refused the link: %.*s\n",
            (int)(plen - CAIRN_KEY_BYTES - 1), (const char *)payload + CAIRN_KEY_BYTES + 1);
    return CAIRN_EPERM;
  }
  if (!ik) {
    memcpy(hello, v->pk, CAIRN_KEY_BYTES);
    hello[CAIRN_KEY_BYTES] = CAIRN_SYNC_VERSION;
    if ((rc = cairn_noise_write_message(&v->hs, hello, sizeof hello, msg, sizeof msg, &n)) != 0 ||
        (rc = send_record(v->fd, msg, n)) != 0)
      return rc;
  }
  if ((rc = cairn_noise_split(&v->hs, &v->tx, &v->rx)) != 0 ||
      (rc = cairn_transport_reader_init(&v->reader, CAIRN_SYNC_MSG_MAX)) != 0)
    return rc;
  cairn_noise_handshake_clear(&v->hs);
  return 0;
}

/* ---- setup: keys, tokens, joins ---- */

static int enroll_all(swarm *s) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  cairn_client *c = NULL;
  size_t sent = 0, got = 0;
  int rc = bench_connect(&s->d, &c);

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  while (rc == 0 && got < s->n) {
    cairn_reply *r = NULL;
    const msgpack_object *t;
    while (rc == 0 && sent < s->n && sent - got < ENROLL_WINDOW) {
      dev *v = &s->devs[sent];
      crypto_sign_keypair(v->pk, v->sk);
      crypto_sign_ed25519_sk_to_curve25519(v->x_priv, v->sk);
      snprintf(v->classroom, sizeof v->classroom, "room%zu", sent);
      v->fd = -1;
      sb.size = 0;
      msgpack_pack_map(&pk, 3);
      msgpack_pack_str_with_body(&pk, "op", 2);
      msgpack_pack_str_with_body(&pk, "enroll", 6);
      msgpack_pack_str_with_body(&pk, "campus", 6);
      msgpack_pack_str_with_body(&pk, "c", 1);
      msgpack_pack_str_with_body(&pk, "classroom", 9);
      msgpack_pack_str_with_body(&pk, v->classroom, strlen(v->classroom));
      rc = cairn_client_send(c, sb.data, sb.size, 30000);
      sent++;
    }
    if (rc != 0 || (rc = cairn_client_recv(c, 60000, &r)) != 0) {
      fprintf(stderr, "bench: enroll: %s\n", cairn_strerror(rc));
      break;
    }
    t = cairn_reply_get(r, "token");
    if (t == NULL || t->type != MSGPACK_OBJECT_STR || t->via.str.size >= CAIRN_SYNC_TOKEN_MAX) {
      fprintf(stderr, "bench: enroll: no token: %s\n", cairn_reply_message(r));
      rc = CAIRN_EMALFORMED;
    } else {
      char text[CAIRN_SYNC_TOKEN_MAX], why[128];
      cairn_sync_token tok;
      memcpy(text, t->via.str.ptr, t->via.str.size);
      text[t->via.str.size] = '\0';
      if ((rc = cairn_sync_token_parse(text, &tok, why, sizeof why)) != 0) {
        fprintf(stderr, "bench: enroll: %s\n", why);
      } else {
        memcpy(s->devs[got].secret, tok.secret, sizeof tok.secret);
        memcpy(s->central, tok.central, sizeof s->central);
        memcpy(s->network, tok.network, sizeof s->network);
      }
    }
    cairn_reply_free(r);
    got++;
  }
  cairn_client_close(c);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* Joins devs[a..b) at once: XX, JOIN, WELCOME; closes them. */
static int join_chunk(swarm *s, size_t a, size_t b) {
  msgpack_sbuffer sb;
  size_t i;
  int rc = 0;

  msgpack_sbuffer_init(&sb);
  for (i = a; i < b && rc == 0; i++)
    rc = hs_begin(s, &s->devs[i], 0);
  for (i = a; i < b && rc == 0; i++)
    if ((rc = hs_end(s, &s->devs[i], 0)) == 0)
      rc = send_msg(&s->devs[i], &sb,
                    cairn_sync_pack_join(&sb, s->devs[i].secret, s->devs[i].pk, "classroom",
                                         s->devs[i].classroom));
  for (i = a; i < b && rc == 0; i++) {
    cairn_sync_msg m;
    do {
      memset(&m, 0, sizeof m);
      if ((rc = recv_msg(&s->devs[i], &m)) != 0)
        break;
      if (m.type == CAIRN_SYNC_WELCOME && m.welcome_code != 0) {
        fprintf(stderr, "bench: join refused: %s\n", m.reason);
        rc = CAIRN_EPERM;
      }
      if (m.type != CAIRN_SYNC_WELCOME)
        cairn_sync_msg_clear(&m);
    } while (rc == 0 && m.type != CAIRN_SYNC_WELCOME);
    cairn_sync_msg_clear(&m);
  }
  for (i = a; i < b; i++)
    dev_close(&s->devs[i]);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* ---- entries ---- */

/* Appends n student creations by v (seq head+1..head+n, chained, the last
 * signed) to out. */
static int make_entries(dev *v, size_t n, msgpack_sbuffer *out) {
  static const char name[] =
      "Bench Student with a long enough name to make the entry the size of an ordinary "
      "evidence entry of the side-by-side benchmark, about three hundred bytes";
  msgpack_sbuffer body;
  msgpack_packer pk;
  char id[48];
  int rc = 0;

  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  for (size_t i = 0; i < n && rc == 0; i++) {
    cairn_entry e;
    body.size = 0;
    snprintf(id, sizeof id, "swarm-%.8s-%llu", v->classroom, (unsigned long long)(v->head + 1));
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_str_with_body(&pk, id, strlen(id));
    msgpack_pack_str_with_body(&pk, "new", 3);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "set", 3);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, name, sizeof name - 1);
    msgpack_pack_str_with_body(&pk, "scope", 5);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "c", 1);
    msgpack_pack_str_with_body(&pk, v->classroom, strlen(v->classroom));
    memset(&e, 0, sizeof e);
    memcpy(e.author, v->pk, CAIRN_KEY_BYTES);
    e.seq = ++v->head;
    e.hlc = (wall_ms() << 16) + e.seq;
    memcpy(e.prev, v->head_hash, CAIRN_HASH_BYTES);
    e.kind = 1; /* student */
    e.body = (const uint8_t *)body.data;
    e.body_len = body.size;
    if ((rc = cairn_entry_seal(&e)) != 0)
      break;
    if (i + 1 == n)
      cairn_entry_sign(&e, v->sk);
    memcpy(v->head_hash, e.hash, CAIRN_HASH_BYTES);
    rc = cairn_entry_encode(&e, out);
  }
  msgpack_sbuffer_destroy(&body);
  return rc;
}

/* ---- a sync session ---- */

/* After hs_end: sends HELLO, its version vector its own head and, when
 * central_seq is not 0, the central's log up to central_seq. */
static int send_hello(dev *v, const uint8_t *central, uint64_t central_seq, msgpack_sbuffer *sb) {
  cairn_sync_vv vv[2];
  size_t n = 0;

  if (v->head > 0) {
    memcpy(vv[n].author, v->pk, CAIRN_KEY_BYTES);
    vv[n++].seq = v->head;
  }
  if (central_seq > 0) {
    memcpy(vv[n].author, central, CAIRN_KEY_BYTES);
    vv[n++].seq = central_seq;
  }
  return send_msg(v, sb, cairn_sync_pack_hello(sb, "classroom", v->pk, "c", v->classroom, vv, n,
                                               wall_ms(), 0));
}

/* Reads until a message of type want (kept in *m for the caller to clear),
 * acknowledging any ENTRIES the central sends meanwhile. */
static int recv_until(dev *v, int want, cairn_sync_msg *m, msgpack_sbuffer *sb) {
  int rc;

  for (;;) {
    memset(m, 0, sizeof *m);
    if ((rc = recv_msg(v, m)) != 0)
      return rc;
    if ((int)m->type == want)
      return 0;
    if (m->type == CAIRN_SYNC_ENTRIES) {
      size_t count = 0;
      if (cairn_entry_count(m->entries, m->entries_len, &count) != 0)
        count = 0;
      rc = send_msg(v, sb,
                    cairn_sync_pack_ack(sb, &(cairn_sync_ack){.batch = m->batch, .applied = count,
                                                              .reason = ""}));
    }
    if (m->type == CAIRN_SYNC_CLOSE) {
      fprintf(stderr, "bench: the central closed the link: %s\n", m->reason);
      rc = CAIRN_EIO;
    }
    cairn_sync_msg_clear(m);
    if (rc != 0)
      return rc;
  }
}

/* Sends v's batch and waits for its ACK; checks every entry was applied. */
static int batch_ack(dev *v, uint64_t batch, msgpack_sbuffer *sb) {
  cairn_sync_msg m;
  int rc;

  do {
    if ((rc = recv_until(v, CAIRN_SYNC_ACK, &m, sb)) != 0)
      return rc;
    if (m.batch != batch)
      cairn_sync_msg_clear(&m);
  } while (m.batch != batch);
  if (m.applied != v->batch_count) {
    fprintf(stderr, "bench: batch of %zu: %llu applied, %llu refused (%s)\n", v->batch_count,
            (unsigned long long)m.applied, (unsigned long long)m.refused, m.reason);
    rc = CAIRN_EIO;
  }
  cairn_sync_msg_clear(&m);
  return rc;
}

static int send_batch(dev *v, uint64_t batch, msgpack_sbuffer *sb) {
  return send_msg(v, sb,
                  cairn_sync_pack_entries(sb, batch, (const uint8_t *)v->batch.data, v->batch.size,
                                          v->batch_count));
}

/* Connects devs[0..n) phase by phase: connects and first messages, the
 * answers and HELLOs, the central's HELLOs. caught_up: each reads the
 * central's HELLO first and says in its own that it holds the central's
 * log as far as the central does (a classroom that has synced before), so
 * the central has nothing to send it. */
static int connect_all(swarm *s, size_t n, int caught_up, msgpack_sbuffer *sb) {
  size_t i;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i++)
    rc = hs_begin(s, &s->devs[i], 1);
  for (i = 0; i < n && rc == 0; i++)
    if ((rc = hs_end(s, &s->devs[i], 1)) == 0 && !caught_up)
      rc = send_hello(&s->devs[i], NULL, 0, sb);
  for (i = 0; i < n && rc == 0; i++) {
    cairn_sync_msg m;
    uint64_t central_seq = 0;
    if ((rc = recv_until(&s->devs[i], CAIRN_SYNC_HELLO, &m, sb)) != 0)
      break;
    for (size_t k = 0; k < m.vv_n; k++)
      if (memcmp(m.vv[k].author, s->central, CAIRN_KEY_BYTES) == 0)
        central_seq = m.vv[k].seq;
    cairn_sync_msg_clear(&m);
    if (caught_up)
      rc = send_hello(&s->devs[i], s->central, central_seq, sb);
  }
  return rc;
}

typedef struct figures {
  size_t k, m, l, tries;
  double storm_s, base_kib, held_kib, per_link_kib;
  double base_anon_kib, held_anon_kib, base_file_kib, held_file_kib;
  bench_stats live;
  double storm_cpu_s;
} figures;

static int storm(swarm *s, figures *f) {
  msgpack_sbuffer sb;
  uint64_t t0, t1;
  double cpu0;
  size_t i;
  int rc = 0;

  msgpack_sbuffer_init(&sb);
  fprintf(stderr, "bench: storm: signing %zu x %zu entries\n", f->k, f->m);
  for (i = 0; i < f->k && rc == 0; i++) {
    dev *v = &s->devs[i];
    msgpack_sbuffer_init(&v->batch);
    v->batch_count = f->m;
    rc = make_entries(v, f->m, &v->batch);
  }
  fprintf(stderr, "bench: storm: %zu classrooms connect at once\n", f->k);
  cpu0 = bench_proc_cpu_s(s->d.pid);
  t0 = bench_now_ns();
  if (rc == 0)
    rc = connect_all(s, f->k, 0, &sb);
  for (i = 0; i < f->k && rc == 0; i++)
    rc = send_batch(&s->devs[i], 1, &sb);
  for (i = 0; i < f->k && rc == 0; i++)
    rc = batch_ack(&s->devs[i], 1, &sb);
  t1 = bench_now_ns();
  f->storm_s = (double)(t1 - t0) / 1e9;
  f->storm_cpu_s = bench_proc_cpu_s(s->d.pid) - cpu0;
  for (i = 0; i < f->k; i++) {
    dev_close(&s->devs[i]);
    msgpack_sbuffer_destroy(&s->devs[i].batch);
    s->devs[i].batch_count = 0;
  }
  if (rc == 0)
    fprintf(stderr, "bench: storm: %zu x %zu entries held in %.2f s\n", f->k, f->m, f->storm_s);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static int idle_links(swarm *s, figures *f) {
  msgpack_sbuffer sb;
  double *ms = calloc(f->tries, sizeof *ms);
  size_t i;
  int rc = ms == NULL ? CAIRN_ENOMEM : 0;

  msgpack_sbuffer_init(&sb);
  bench_sleep_us(500000);
  f->base_kib = (double)bench_proc_kib(s->d.pid, "VmRSS");
  f->base_anon_kib = (double)bench_proc_kib(s->d.pid, "RssAnon");
  f->base_file_kib = (double)bench_proc_kib(s->d.pid, "RssFile");
  fprintf(stderr, "bench: idle: connecting %zu links\n", f->l);
  if (rc == 0)
    rc = connect_all(s, f->l, 1, &sb);
  /* the load client keeps no reader per idle link: only the last one's */
  for (i = 0; i + 1 < f->l; i++) {
    cairn_transport_reader_free(&s->devs[i].reader);
    memset(&s->devs[i].reader, 0, sizeof s->devs[i].reader);
  }
  bench_sleep_us(1000000);
  f->held_kib = (double)bench_proc_kib(s->d.pid, "VmRSS");
  f->held_anon_kib = (double)bench_proc_kib(s->d.pid, "RssAnon");
  f->held_file_kib = (double)bench_proc_kib(s->d.pid, "RssFile");
  f->per_link_kib = (f->held_anon_kib - f->base_anon_kib) / (double)(f->l > 0 ? f->l : 1);
  if (rc == 0)
    fprintf(stderr,
            "bench: idle: %zu links held, the central's RSS %.0f -> %.0f KiB "
            "(anonymous %.0f -> %.0f, file-backed %.0f -> %.0f)\n",
            f->l, f->base_kib, f->held_kib, f->base_anon_kib, f->held_anon_kib, f->base_file_kib,
            f->held_file_kib);
  msgpack_sbuffer_init(&s->devs[f->l - 1].batch);
  for (i = 0; i < f->tries && rc == 0; i++) {
    dev *v = &s->devs[f->l - 1];
    uint64_t t0;
    v->batch.size = 0;
    v->batch_count = 1;
    if ((rc = make_entries(v, 1, &v->batch)) != 0)
      break;
    bench_sleep_us(20000);
    t0 = bench_now_ns();
    if ((rc = send_batch(v, 100 + i, &sb)) == 0)
      rc = batch_ack(v, 100 + i, &sb);
    ms[i] = bench_ms_between(t0, bench_now_ns());
    if (ms[i] > 100.0)
      fprintf(stderr, "bench: idle: try %zu took %.0f ms\n", i + 1, ms[i]);
  }
  if (rc == 0 && f->tries > 0)
    f->live = bench_summarize(ms, f->tries);
  for (i = 0; i < f->l; i++)
    dev_close(&s->devs[i]);
  msgpack_sbuffer_destroy(&s->devs[f->l - 1].batch);
  msgpack_sbuffer_destroy(&sb);
  free(ms);
  return rc;
}

static void print_table(FILE *o, const figures *f, const char *quick, double setup_s) {
  char machine[512];

  bench_machine_line(machine, sizeof machine);
  fprintf(o, "Run with `bench/run swarm%s`.  \nMachine: %s.  \n", quick, machine);
  fprintf(o, "One central (cairnd, durable commits); %zu classroom keys enrolled with one-time "
             "tokens and joined over Noise XX by the load client (setup, not timed: %.0f s).\n\n",
          f->k > f->l ? f->k : f->l, setup_s);
  fprintf(o, "| measurement | figure | target | met |\n|---|---:|---|---|\n");
  fprintf(o, "| storm: %zu classrooms × %zu entries connect at once, s until the central has "
             "acknowledged all | %.2f | ≤ %.0f s | %s |\n",
          f->k, f->m, f->storm_s, STORM_TARGET_S, f->storm_s <= STORM_TARGET_S ? "yes" : "**no**");
  fprintf(o, "| storm: the central's CPU s | %.2f | | |\n", f->storm_cpu_s);
  if (f->l > 0) {
    fprintf(o, "| %zu idle authenticated links: the central's RSS before → after, MiB | "
               "%.1f → %.1f | | |\n",
            f->l, f->base_kib / 1024, f->held_kib / 1024);
    fprintf(o, "| ... of which file-backed (the store's LMDB map: page cache), MiB | %.1f → %.1f | | |\n",
            f->base_file_kib / 1024, f->held_file_kib / 1024);
    fprintf(o, "| the central's memory (anonymous: its heap) per idle link, KiB | %.1f | ≤ %.0f KiB | %s |\n",
            f->per_link_kib, LINK_TARGET_KIB, f->per_link_kib <= LINK_TARGET_KIB ? "yes" : "**no**");
    fprintf(o, "| one new entry on one of them while all are held, p50 ms (batch sent to ACK) "
               "| %.2f | ≤ %.0f ms | %s |\n",
            f->live.p50, LIVE_TARGET_MS, f->live.p50 <= LIVE_TARGET_MS ? "yes" : "**no**");
    fprintf(o, "| the same, p99 ms | %.2f | | |\n", f->live.p99);
  }
  fprintf(o, "\n");
}

static int run(const bench_bins *bins, figures *f, const char *quick, const char *out) {
  swarm s;
  char listen[64];
  size_t i;
  uint64_t t0;
  double setup_s;
  int rc;

  memset(&s, 0, sizeof s);
  s.n = f->k > f->l ? f->k : f->l;
  if ((s.devs = calloc(s.n, sizeof *s.devs)) == NULL)
    return CAIRN_ENOMEM;
  for (i = 0; i < s.n; i++)
    s.devs[i].fd = -1;
  t0 = bench_now_ns();
  if ((rc = bench_free_port(&s.port)) == 0 && (rc = bench_node_dir(&s.d, NULL, "")) == 0) {
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s.port);
    if ((rc = bench_cli(bins, s.d.data, NULL, 0, "init", "--role", "central", "--listen", listen,
                        NULL)) == 0)
      rc = bench_cairnd_start(&s.d, bins);
  }
  if (rc == 0) {
    fprintf(stderr, "bench: enrolling %zu devices\n", s.n);
    rc = enroll_all(&s);
  }
  for (i = 0; i < s.n && rc == 0; i += JOIN_CHUNK) {
    rc = join_chunk(&s, i, i + JOIN_CHUNK < s.n ? i + JOIN_CHUNK : s.n);
    if (isatty(STDERR_FILENO))
      fprintf(stderr, "\rbench: %zu/%zu joined", i + JOIN_CHUNK < s.n ? i + JOIN_CHUNK : s.n, s.n);
  }
  fprintf(stderr, "\n");
  setup_s = (double)(bench_now_ns() - t0) / 1e9;
  if (rc == 0)
    rc = storm(&s, f);
  if (rc == 0 && f->l > 0) {
    /* a fresh central: what the storm's links freed would otherwise be
     * reused by the idle links and hide their cost */
    for (i = 0; i < s.n; i++)
      dev_close(&s.devs[i]);
    if ((rc = bench_daemon_stop(&s.d)) == 0)
      rc = bench_cairnd_start(&s.d, bins);
  }
  if (rc == 0 && f->l > 0)
    rc = idle_links(&s, f);
  if (rc == 0) {
    FILE *o = out != NULL ? fopen(out, "w") : NULL;
    print_table(stdout, f, quick, setup_s);
    if (o != NULL) {
      print_table(o, f, quick, setup_s);
      fclose(o);
    }
  } else {
    bench_print_log_tail(&s.d);
  }
  for (i = 0; i < s.n; i++)
    dev_close(&s.devs[i]);
  bench_daemon_stop(&s.d);
  if (s.d.root[0] != '\0')
    bench_daemon_remove(&s.d);
  sodium_memzero(s.devs, s.n * sizeof *s.devs);
  free(s.devs);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"storm-rooms", required_argument, NULL, 'k'},
                                            {"storm-entries", required_argument, NULL, 'm'},
                                            {"idle-links", required_argument, NULL, 'l'},
                                            {"tries", required_argument, NULL, 't'},
                                            {"cairn", required_argument, NULL, 'c'},
                                            {"cairnd", required_argument, NULL, 'd'},
                                            {"out", required_argument, NULL, 'o'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  bench_bins bins = {CAIRN_BUILD_DIR "/client/cairn", CAIRN_BUILD_DIR "/daemon/cairnd"};
  figures f = {.k = 1000, .m = 100, .l = 10000, .tries = 20};
  const char *out = NULL, *quick = "";
  long fds;
  int opt, rc = 0;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1 && rc == 0) {
    switch (opt) {
    case 'q':
      f.k = 20, f.m = 20, f.l = 50, f.tries = 5, quick = " --quick";
      break;
    case 'k':
      rc = bench_parse_count("storm-rooms", optarg, 100000, &f.k);
      break;
    case 'm':
      rc = bench_parse_count("storm-entries", optarg, 4000, &f.m);
      break;
    case 'l':
      if (strcmp(optarg, "0") == 0)
        f.l = 0;
      else
        rc = bench_parse_count("idle-links", optarg, 100000, &f.l);
      break;
    case 't':
      rc = bench_parse_count("tries", optarg, 100000, &f.tries);
      break;
    case 'c':
      bins.cairn = optarg;
      break;
    case 'd':
      bins.cairnd = optarg;
      break;
    case 'o':
      out = optarg;
      break;
    default:
      return bench_usage(opt, usage);
    }
  }
  if (rc != 0 || (rc = bench_no_operands(argc, argv, optind, usage)) != 0)
    return rc;
  if (bench_check_bins(&bins) != 0 || sodium_init() < 0)
    return 1;
  fds = bench_raise_fd_limit();
  if (fds >= 0 && (size_t)fds < (f.k > f.l ? f.k : f.l) + 64) {
    fprintf(stderr, "bench: %zu links need more descriptors than the limit, %ld\n",
            f.k > f.l ? f.k : f.l, fds);
    return 1;
  }
  if ((rc = run(&bins, &f, quick, out)) != 0) {
    fprintf(stderr, "bench: stopped: %s\n",
            bench_interrupted ? "interrupted" : cairn_strerror(rc));
    return 1;
  }
  return 0;
}
