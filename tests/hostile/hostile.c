/*
 * hostile: a test client that speaks the real cairn sync protocol with real
 * keys and performs one attack against a responder (docs/PROTOCOL.md).
 *
 * usage: hostile ATTACK --connect HOST:PORT --network HEX --central HEX
 *                [--key DATA_DIR] [--campus C] [--classroom R] [--student ID]
 *                [--other HEX] [--hold S] [N]
 *
 * Exit 0: the daemon refused the attack (closed, failed the handshake, or
 * answered with a refusal). Exit 1: the attack was accepted (a security
 * bug). Exit 2: the test itself could not run (usage, setup, timeout with no
 * verdict).
 *
 * Attacks: unknown-device, wrong-network, garbage, oversize, valid (control:
 * an honest entry that must be ACCEPTED, so it exits 1), forged-signature,
 * broken-chain, gap, other-author, slowloris, half-open N.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "keyfile.h"
#include "noise.h"
#include "sync.h"
#include "transport.h"

#define REFUSED 0
#define ACCEPTED 1
#define BROKEN 2

static struct {
  const char *attack;
  char host[64];
  int port;
  uint8_t network[32];
  uint8_t central[32];
  const char *key_dir;
  const char *campus, *classroom, *student;
  uint8_t other[32];
  int has_other;
  int hold;
  long n;
} opt;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "hostile %s: ", opt.attack);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int unhex(const char *s, uint8_t *out, size_t n) {
  size_t got;
  return sodium_hex2bin(out, n, s, strlen(s), NULL, &got, NULL) == 0 && got == n ? 0 : -1;
}

static int tcp_connect(void) {
  struct sockaddr_in a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &a.sin_addr) != 1 ||
      connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Returns 0, or -1 when the peer has gone (EPIPE, ECONNRESET). */
static int send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads exactly n bytes before deadline (monotonic ms). Returns 0, -1 when
 * the peer closed or reset, -2 on timeout. */
static int recv_exact(int fd, uint8_t *p, size_t n, int64_t deadline) {
  while (n > 0) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - now_ms();
    ssize_t r;
    if (left <= 0)
      return -2;
    if (poll(&pf, 1, (int)left) <= 0)
      continue;
    r = recv(fd, p, n, 0);
    if (r == 0)
      return -1;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Waits until the peer closes, discarding what it sends. Returns 1 when it
 * closed before deadline, 0 otherwise. */
static int wait_closed(int fd, int64_t deadline) {
  uint8_t buf[65536];
  for (;;) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - now_ms();
    ssize_t r;
    if (left <= 0)
      return 0;
    if (poll(&pf, 1, (int)left) <= 0)
      continue;
    r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
      return 1;
  }
}

static int read_record(int fd, uint8_t *body, size_t *len, int64_t deadline) {
  uint8_t h[2];
  int rc = recv_exact(fd, h, 2, deadline);
  if (rc != 0)
    return rc;
  *len = (size_t)h[0] << 8 | h[1];
  if (*len == 0)
    return -1;
  return recv_exact(fd, body, *len, deadline);
}

/* ---- a session ---- */

typedef struct session {
  int fd;
  uint8_t *sk; /* Ed25519 secret key (keyfile or sodium_malloc) */
  uint8_t pk[32];
  cairn_noise_cipher tx, rx;
  cairn_transport_reader reader;
  int status; /* the responder's verdict byte */
  char why[200];
} session;

static int load_key(session *s) {
  char path[4096], why[256];
  if (opt.key_dir == NULL) {
    s->sk = sodium_malloc(CAIRN_SECRET_BYTES);
    if (s->sk == NULL)
      return -1;
    crypto_sign_keypair(s->pk, s->sk);
    return 0;
  }
  snprintf(path, sizeof path, "%s/device.key", opt.key_dir);
  if (cairn_keyfile_load(path, &s->sk, why, sizeof why) != 0) {
    say("%s", why);
    return -1;
  }
  memcpy(s->pk, s->sk + 32, 32);
  return 0;
}

/* IK handshake with network. Returns 0 when done with status 0; REFUSED-ish
 * codes: 1 = the responder refused (status != 0, closed, or the handshake
 * failed); -1 on a local error. */
static int handshake(session *s, const uint8_t network[32]) {
  cairn_noise_handshake hs;
  uint8_t prologue[13 + 32], x_priv[32], rs[32];
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG], payload[CAIRN_NOISE_MAX_MSG];
  size_t n, plen;
  msgpack_sbuffer sb;
  int rc;

  memcpy(prologue, "cairn-sync-v1", 13);
  memcpy(prologue + 13, network, 32);
  if (crypto_sign_ed25519_sk_to_curve25519(x_priv, s->sk) != 0 ||
      crypto_sign_ed25519_pk_to_curve25519(rs, opt.central) != 0 ||
      cairn_noise_handshake_init(&hs, CAIRN_NOISE_IK, 1, prologue, sizeof prologue, x_priv, rs) != 0)
    return -1;
  msg[0] = 1;
  if (cairn_noise_write_message(&hs, s->pk, 32, msg + 1, sizeof msg - 1, &n) != 0)
    return -1;
  msgpack_sbuffer_init(&sb);
  rc = cairn_transport_put_record(&sb, msg, n + 1);
  if (rc == 0 && send_all(s->fd, sb.data, sb.size) != 0)
    rc = 1;
  msgpack_sbuffer_destroy(&sb);
  if (rc != 0) {
    cairn_noise_handshake_clear(&hs);
    return rc == 1 ? 1 : -1;
  }
  rc = read_record(s->fd, msg, &n, now_ms() + 12000);
  if (rc != 0) {
    cairn_noise_handshake_clear(&hs);
    say("no handshake reply (%s)", rc == -1 ? "connection closed" : "timeout");
    return rc == -1 ? 1 : -1;
  }
  if (cairn_noise_read_message(&hs, msg, n, payload, sizeof payload, &plen) != 0) {
    say("the responder's handshake message does not authenticate");
    return 1;
  }
  if (plen < 33 || sodium_memcmp(payload, opt.central, 32) != 0) {
    say("the responder is not the central");
    cairn_noise_handshake_clear(&hs);
    return -1;
  }
  s->status = payload[32];
  snprintf(s->why, sizeof s->why, "%.*s", (int)(plen - 33), (const char *)payload + 33);
  if (cairn_noise_split(&hs, &s->tx, &s->rx) != 0) {
    cairn_noise_handshake_clear(&hs);
    return -1;
  }
  cairn_noise_handshake_clear(&hs);
  if (cairn_transport_reader_init(&s->reader, CAIRN_SYNC_MSG_MAX) != 0)
    return -1;
  if (s->status != 0) {
    say("refused at the handshake: status %d: %s", s->status, s->why);
    return 1;
  }
  return 0;
}

static int send_msg(session *s, msgpack_sbuffer *m) {
  msgpack_sbuffer wire;
  int rc;
  msgpack_sbuffer_init(&wire);
  rc = cairn_transport_seal(&s->tx, (const uint8_t *)m->data, m->size, &wire);
  if (rc == 0)
    rc = send_all(s->fd, wire.data, wire.size);
  msgpack_sbuffer_destroy(&wire);
  return rc;
}

/* Reads the next whole sync message into *m. Returns 0, -1 closed, -2
 * timeout, -3 undecodable. */
static int recv_msg(session *s, cairn_sync_msg *m, int64_t deadline) {
  static uint8_t body[CAIRN_NOISE_MAX_MSG];
  for (;;) {
    size_t len;
    int complete = 0;
    int rc = read_record(s->fd, body, &len, deadline);
    if (rc != 0)
      return rc;
    if (cairn_transport_reader_open(&s->reader, &s->rx, body, len, &complete) != 0)
      return -3;
    if (complete)
      return cairn_sync_decode(s->reader.msg, s->reader.len, m) == 0 ? 0 : -3;
  }
}

static void session_free(session *s) {
  if (s->fd >= 0)
    close(s->fd);
  cairn_noise_cipher_clear(&s->tx);
  cairn_noise_cipher_clear(&s->rx);
  cairn_transport_reader_free(&s->reader);
  if (opt.key_dir)
    cairn_keyfile_free(s->sk);
  else
    sodium_free(s->sk);
}

/* ---- attacks ---- */

static int attack_unknown_device(void) {
  session s = {.fd = -1};
  int rc;
  opt.key_dir = NULL;
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  rc = handshake(&s, opt.network);
  if (rc == 0) {
    /* accepted: see whether it even says HELLO */
    say("a fresh random key passed the IK handshake with status 0");
    session_free(&s);
    return ACCEPTED;
  }
  session_free(&s);
  return rc == 1 ? REFUSED : BROKEN;
}

static int attack_wrong_network(void) {
  session s = {.fd = -1};
  uint8_t net[32];
  int rc;
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  memcpy(net, opt.network, 32);
  net[0] ^= 0x5a;
  rc = handshake(&s, net);
  if (rc == 0)
    say("the handshake with a wrong network id succeeded");
  session_free(&s);
  return rc == 0 ? ACCEPTED : rc == 1 ? REFUSED : BROKEN;
}

static int attack_garbage(void) {
  uint8_t junk[4096];
  int fd = tcp_connect(), closed;
  if (fd < 0)
    return BROKEN;
  randombytes_buf(junk, sizeof junk);
  /* a record that fits, whose first byte is no pattern */
  junk[0] = 0x0f;
  junk[1] = 0xfe;
  junk[2] = (uint8_t)(3 + junk[2] % 200);
  if (send_all(fd, junk, sizeof junk) != 0) {
    close(fd);
    return REFUSED;
  }
  closed = wait_closed(fd, now_ms() + 15000);
  close(fd);
  if (!closed)
    say("the daemon kept a connection open after garbage");
  return closed ? REFUSED : ACCEPTED;
}

static int attack_oversize(void) {
  static uint8_t junk[2 + 65535];
  session s = {.fd = -1};
  int fd, closed, rc;
  uint8_t frag[CAIRN_TRANSPORT_FRAGMENT_MAX + 1];
  uint8_t rec[2 + CAIRN_NOISE_MAX_MSG];
  size_t total = 0;

  /* 1: a record header claiming 65535, then junk, before the handshake */
  if ((fd = tcp_connect()) < 0)
    return BROKEN;
  randombytes_buf(junk, sizeof junk);
  junk[0] = 0xff;
  junk[1] = 0xff;
  junk[2] = 0x09; /* no pattern byte */
  closed = send_all(fd, junk, sizeof junk) != 0 || wait_closed(fd, now_ms() + 15000);
  close(fd);
  if (!closed) {
    say("a 65535-byte junk record did not end the connection");
    return ACCEPTED;
  }
  /* 2: after a valid handshake, a message whose fragments reassemble past
   * 4 MiB: never a final fragment */
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  rc = handshake(&s, opt.network);
  if (rc != 0) {
    say("setup: the handshake failed (%d)", rc);
    session_free(&s);
    return BROKEN;
  }
  frag[0] = CAIRN_TRANSPORT_MORE;
  memset(frag + 1, 0x90, sizeof frag - 1);
  closed = 0;
  while (total <= (size_t)CAIRN_SYNC_MSG_MAX + 2 * CAIRN_TRANSPORT_FRAGMENT_MAX) {
    size_t n = sizeof frag + CAIRN_NOISE_TAG_BYTES;
    if (cairn_noise_encrypt(&s.tx, NULL, 0, frag, sizeof frag, rec + 2) != 0) {
      session_free(&s);
      return BROKEN;
    }
    rec[0] = (uint8_t)(n >> 8);
    rec[1] = (uint8_t)n;
    if (send_all(s.fd, rec, n + 2) != 0) {
      closed = 1;
      break;
    }
    total += sizeof frag - 1;
  }
  if (!closed)
    closed = wait_closed(s.fd, now_ms() + 15000);
  session_free(&s);
  if (!closed)
    say("a %zu-byte message did not end the connection", total);
  return closed ? REFUSED : ACCEPTED;
}

/* The entry attacks. */
typedef enum { E_VALID, E_FORGED, E_BROKEN_CHAIN, E_GAP, E_OTHER } entry_attack;

static int pack_body(msgpack_sbuffer *sb) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
#define STR(x) (msgpack_pack_str(&pk, strlen(x)) != 0 || msgpack_pack_str_body(&pk, (x), strlen(x)) != 0)
  if (msgpack_pack_map(&pk, 4) != 0 || STR("id") || STR(opt.student) || STR("new") ||
      msgpack_pack_true(&pk) != 0 || STR("set") || msgpack_pack_map(&pk, 1) != 0 || STR("name") ||
      STR("Hostile Student") || STR("scope") || msgpack_pack_array(&pk, 2) != 0 || STR(opt.campus) ||
      STR(opt.classroom))
    return -1;
#undef STR
  return 0;
}

static int attack_entries(entry_attack kind) {
  session s = {.fd = -1};
  msgpack_sbuffer sb, body, batch;
  cairn_sync_msg m;
  uint8_t author[32], prev[32] = {0}, *wrong_sk = NULL;
  uint64_t head = 0;
  int have_prev, rc, verdict = BROKEN;
  int64_t deadline;
  cairn_entry e;

  if (opt.key_dir == NULL || opt.campus == NULL || opt.classroom == NULL || opt.student == NULL ||
      (kind == E_OTHER && !opt.has_other)) {
    say("needs --key, --campus, --classroom, --student (and --other for other-author)");
    return BROKEN;
  }
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  rc = handshake(&s, opt.network);
  if (rc != 0) {
    say("setup: the handshake failed (%d)", rc);
    session_free(&s);
    return BROKEN;
  }
  memcpy(author, kind == E_OTHER ? opt.other : s.pk, 32);
  msgpack_sbuffer_init(&sb);
  if (cairn_sync_pack_hello(&sb, "classroom", s.pk, opt.campus, opt.classroom, NULL, 0) != 0 ||
      send_msg(&s, &sb) != 0) {
    msgpack_sbuffer_destroy(&sb);
    say("setup: cannot send HELLO");
    session_free(&s);
    return BROKEN;
  }
  msgpack_sbuffer_destroy(&sb);
  /* The central's HELLO says how far it holds the target author's log; its
   * ENTRIES (we sent an empty vv) carry that head's hash. */
  deadline = now_ms() + 10000;
  memset(&m, 0, sizeof m);
  if ((rc = recv_msg(&s, &m, deadline)) != 0 || m.type != CAIRN_SYNC_HELLO) {
    say("setup: no HELLO from the central (%d)", rc);
    cairn_sync_msg_clear(&m);
    session_free(&s);
    return BROKEN;
  }
  for (size_t i = 0; i < m.vv_n; i++)
    if (memcmp(m.vv[i].author, author, 32) == 0)
      head = m.vv[i].seq;
  cairn_sync_msg_clear(&m);
  have_prev = head == 0;
  while (!have_prev) {
    size_t off = 0, count = 0;
    memset(&m, 0, sizeof m);
    if ((rc = recv_msg(&s, &m, deadline)) != 0) {
      say("setup: did not receive the head (seq %llu) of the target log (%d)",
          (unsigned long long)head, rc);
      session_free(&s);
      return BROKEN;
    }
    if (m.type == CAIRN_SYNC_ENTRIES) {
      while (off < m.entries_len) {
        size_t used;
        if (cairn_entry_decode(m.entries + off, m.entries_len - off, &e, &used) != 0)
          break;
        off += used;
        count++;
        if (memcmp(e.author, author, 32) == 0 && e.seq == head) {
          memcpy(prev, e.hash, 32);
          have_prev = 1;
        }
      }
      msgpack_sbuffer_init(&sb);
      if (cairn_sync_pack_ack(&sb, m.batch, count, 0, "") == 0)
        send_msg(&s, &sb);
      msgpack_sbuffer_destroy(&sb);
    }
    cairn_sync_msg_clear(&m);
  }
  /* the hostile entry */
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&batch);
  if (pack_body(&body) != 0)
    goto out;
  memset(&e, 0, sizeof e);
  memcpy(e.author, author, 32);
  e.seq = head + (kind == E_GAP ? 2 : 1);
  {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e.hlc = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 16;
  }
  memcpy(e.prev, prev, 32);
  if (kind == E_BROKEN_CHAIN)
    randombytes_buf(e.prev, 32);
  e.kind = 1; /* student */
  e.body = (const uint8_t *)body.data;
  e.body_len = body.size;
  if (cairn_entry_seal(&e) != 0)
    goto out;
  if (kind == E_FORGED) {
    uint8_t wpk[32];
    wrong_sk = sodium_malloc(CAIRN_SECRET_BYTES);
    if (wrong_sk == NULL)
      goto out;
    crypto_sign_keypair(wpk, wrong_sk);
    cairn_entry_sign(&e, wrong_sk);
  } else {
    cairn_entry_sign(&e, s.sk); /* for E_OTHER: ours, not the author's */
  }
  if (cairn_entry_encode(&e, &batch) != 0)
    goto out;
  msgpack_sbuffer_init(&sb);
  rc = cairn_sync_pack_entries(&sb, 4242, (const uint8_t *)batch.data, batch.size);
  if (rc == 0 && send_msg(&s, &sb) != 0)
    rc = 1; /* closed already */
  msgpack_sbuffer_destroy(&sb);
  if (rc == 1) {
    say("the connection closed as the batch was sent");
    verdict = REFUSED;
    goto out;
  }
  if (rc != 0)
    goto out;
  deadline = now_ms() + 15000;
  for (;;) {
    memset(&m, 0, sizeof m);
    rc = recv_msg(&s, &m, deadline);
    if (rc == -1) {
      say("the daemon closed the connection");
      verdict = REFUSED;
      break;
    }
    if (rc != 0) {
      say("no ACK for the hostile batch (%d)", rc);
      break;
    }
    if (m.type == CAIRN_SYNC_ENTRIES) {
      size_t off = 0, count = 0, used;
      cairn_entry x;
      while (off < m.entries_len && cairn_entry_decode(m.entries + off, m.entries_len - off, &x, &used) == 0) {
        off += used;
        count++;
      }
      msgpack_sbuffer_init(&sb);
      if (cairn_sync_pack_ack(&sb, m.batch, count, 0, "") == 0)
        send_msg(&s, &sb);
      msgpack_sbuffer_destroy(&sb);
    } else if (m.type == CAIRN_SYNC_ACK && m.batch == 4242) {
      say("ACK: applied %llu, refused %llu: %s", (unsigned long long)m.applied,
          (unsigned long long)m.refused, m.reason);
      verdict = m.refused > 0 || m.applied == 0 ? REFUSED : ACCEPTED;
      cairn_sync_msg_clear(&m);
      break;
    }
    cairn_sync_msg_clear(&m);
  }
out:
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&batch);
  if (wrong_sk)
    sodium_free(wrong_sk);
  session_free(&s);
  return verdict;
}

static int attack_slowloris(void) {
  /* a record header claiming 65535 bytes, then one byte every 2 s */
  int fd = tcp_connect();
  int64_t start = now_ms();
  uint8_t b[2] = {0xff, 0xff};
  size_t i = 0;
  if (fd < 0)
    return BROKEN;
  for (;;) {
    uint8_t byte = i < 2 ? b[i] : 0x01;
    i++;
    if (send_all(fd, &byte, 1) != 0)
      break;
    if (wait_closed(fd, now_ms() + 2000))
      break;
    if (now_ms() - start > 30000) {
      close(fd);
      say("still open after 30 s");
      return ACCEPTED;
    }
  }
  close(fd);
  say("closed after %.1f s", (double)(now_ms() - start) / 1000.0);
  return now_ms() - start <= 15000 ? REFUSED : ACCEPTED;
}

static int attack_half_open(void) {
  struct rlimit rl;
  int *fds;
  long opened = 0, closed = 0;
  int64_t until;

  if (opt.n <= 0)
    opt.n = 1000;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.n + 64) {
    rl.rlim_cur = rl.rlim_max < (rlim_t)opt.n + 64 ? rl.rlim_max : (rlim_t)opt.n + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  fds = calloc((size_t)opt.n, sizeof *fds);
  if (fds == NULL)
    return BROKEN;
  for (long i = 0; i < opt.n; i++) {
    fds[i] = tcp_connect();
    if (fds[i] >= 0)
      opened++;
  }
  say("%ld of %ld connections open; holding %d s", opened, opt.n, opt.hold);
  until = now_ms() + (int64_t)opt.hold * 1000;
  while (now_ms() < until)
    usleep(100000);
  for (long i = 0; i < opt.n; i++) {
    if (fds[i] < 0)
      continue;
    struct pollfd pf = {.fd = fds[i], .events = POLLIN};
    uint8_t c;
    if (poll(&pf, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0)
      closed++;
    close(fds[i]);
  }
  free(fds);
  say("%ld closed by the daemon", closed);
  /* Held past the handshake deadline, every one must have been closed. */
  if (opt.hold >= 12 && closed < opened)
    return ACCEPTED;
  return opened > 0 ? REFUSED : BROKEN;
}

static void usage(void) {
  fprintf(stderr, "usage: hostile ATTACK --connect HOST:PORT --network HEX --central HEX "
                  "[--key DATA_DIR] [--campus C] [--classroom R] [--student ID] [--other HEX] "
                  "[--hold S] [N]\n");
  exit(BROKEN);
}

int main(int argc, char **argv) {
  int got_net = 0, got_central = 0;
  if (argc < 2 || sodium_init() < 0)
    usage();
  signal(SIGPIPE, SIG_IGN);
  opt.attack = argv[1];
  opt.hold = 2;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strncmp(a, "--", 2) != 0) {
      opt.n = strtol(a, NULL, 10);
      continue;
    }
    if (v == NULL)
      usage();
    i++;
    if (strcmp(a, "--connect") == 0) {
      const char *c = strrchr(v, ':');
      if (c == NULL || (size_t)(c - v) >= sizeof opt.host)
        usage();
      memcpy(opt.host, v, (size_t)(c - v));
      opt.port = atoi(c + 1);
    } else if (strcmp(a, "--network") == 0) {
      got_net = unhex(v, opt.network, 32) == 0;
    } else if (strcmp(a, "--central") == 0) {
      got_central = unhex(v, opt.central, 32) == 0;
    } else if (strcmp(a, "--key") == 0) {
      opt.key_dir = v;
    } else if (strcmp(a, "--campus") == 0) {
      opt.campus = v;
    } else if (strcmp(a, "--classroom") == 0) {
      opt.classroom = v;
    } else if (strcmp(a, "--student") == 0) {
      opt.student = v;
    } else if (strcmp(a, "--other") == 0) {
      opt.has_other = unhex(v, opt.other, 32) == 0;
    } else if (strcmp(a, "--hold") == 0) {
      opt.hold = atoi(v);
    } else {
      usage();
    }
  }
  if (!got_net || !got_central || opt.port <= 0)
    usage();
  if (strcmp(opt.attack, "unknown-device") == 0)
    return attack_unknown_device();
  if (strcmp(opt.attack, "wrong-network") == 0)
    return attack_wrong_network();
  if (strcmp(opt.attack, "garbage") == 0)
    return attack_garbage();
  if (strcmp(opt.attack, "oversize") == 0)
    return attack_oversize();
  if (strcmp(opt.attack, "valid") == 0)
    return attack_entries(E_VALID);
  if (strcmp(opt.attack, "forged-signature") == 0)
    return attack_entries(E_FORGED);
  if (strcmp(opt.attack, "broken-chain") == 0)
    return attack_entries(E_BROKEN_CHAIN);
  if (strcmp(opt.attack, "gap") == 0)
    return attack_entries(E_GAP);
  if (strcmp(opt.attack, "other-author") == 0)
    return attack_entries(E_OTHER);
  if (strcmp(opt.attack, "slowloris") == 0)
    return attack_slowloris();
  if (strcmp(opt.attack, "half-open") == 0)
    return attack_half_open();
  usage();
  return BROKEN;
}
