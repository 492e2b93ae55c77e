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
 * Attacks: unknown-device, revoked-device (--key), wrong-network, bad-token
 * (a join with a made-up token), garbage, oversize, lying-length,
 * out-of-turn, valid (control: an honest entry that must be ACCEPTED, so it
 * exits 1), forged-signature, broken-chain, gap, other-author,
 * unenrolled-author (a genuine entry of a key nobody enrolled), out-of-scope
 * (must be quarantined: acknowledged as refused), replay (an old batch sent
 * back: nothing may be applied; prints on stdout how many entries it sent),
 * slowloris, half-open N, newer-version (--key: an enrolled device whose
 * HELLO says a sync version one above this build's: must be refused with
 * the VERSION code; prints the code's name and the responder's words).
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
  const char *from; /* --from: the source address (another 127.x address) */
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

/* The wall clock, unix ms, for HELLO. */
static uint64_t now_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
  if (opt.from != NULL) { /* another loopback address: another source for the daemon */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, opt.from, &a.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      close(fd);
      return -1;
    }
  }
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

/* Whether the daemon has closed fd: what it said before (a refusal) is
 * read, then the end of the stream must be there. */
static int peer_closed(int fd) {
  uint8_t buf[4096];
  for (int tries = 0; tries < 4; tries++) {
    for (;;) {
      ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r > 0 || (r < 0 && errno == EINTR))
        continue;
      if (r == 0 || errno != EAGAIN)
        return 1;
      break;
    }
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    poll(&pf, 1, 50);
  }
  return 0;
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

/* Sends p as one record. Returns 0, 1 when the peer has gone, -1 on a
 * local error. */
static int send_record(int fd, const uint8_t *p, size_t n) {
  msgpack_sbuffer sb;
  int rc;
  msgpack_sbuffer_init(&sb);
  rc = cairn_transport_put_record(&sb, p, n);
  if (rc == 0 && send_all(fd, sb.data, sb.size) != 0)
    rc = 1;
  else if (rc != 0)
    rc = -1;
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* The sync version this client's HELLO says it speaks. */
static uint8_t hello_version = CAIRN_SYNC_VERSION;

/* IK handshake with network. Returns 0 when done with status 0; REFUSED-ish
 * codes: 1 = the responder refused (status != 0, closed, or the handshake
 * failed); -1 on a local error. */
static int handshake(session *s, const uint8_t network[32]) {
  cairn_noise_handshake hs;
  uint8_t prologue[13 + 32], x_priv[32], rs[32];
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG], payload[CAIRN_NOISE_MAX_MSG];
  size_t n, plen;
  int rc;

  memcpy(prologue, "cairn-sync-v1", 13);
  memcpy(prologue + 13, network, 32);
  if (crypto_sign_ed25519_sk_to_curve25519(x_priv, s->sk) != 0 ||
      crypto_sign_ed25519_pk_to_curve25519(rs, opt.central) != 0 ||
      cairn_noise_handshake_init(&hs, CAIRN_NOISE_IK, 1, prologue, sizeof prologue, x_priv, rs) != 0)
    return -1;
  uint8_t hello[33]; /* our key, then the sync version */
  memcpy(hello, s->pk, 32);
  hello[32] = hello_version;
  msg[0] = 1;
  if (cairn_noise_write_message(&hs, hello, sizeof hello, msg + 1, sizeof msg - 1, &n) != 0)
    return -1;
  rc = send_record(s->fd, msg, n + 1);
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

/* A session past the IK handshake with the key of --key (or a fresh one).
 * Returns 0, or BROKEN (said why); free s with session_free either way. */
static int open_session(session *s) {
  int rc;
  if (load_key(s) != 0 || (s->fd = tcp_connect()) < 0)
    return BROKEN;
  if ((rc = handshake(s, opt.network)) != 0) {
    say("setup: the handshake failed (%d)", rc);
    return BROKEN;
  }
  return 0;
}

/* Sends the sync message the caller packed into m (packed: the packer's
 * result), then frees m. Returns 0, or 1 when it was not packed or sent. */
static int send_packed(session *s, msgpack_sbuffer *m, int packed) {
  int rc = packed == 0 ? send_msg(s, m) : -1;
  msgpack_sbuffer_destroy(m);
  return rc == 0 ? 0 : 1;
}

/* HELLO with our --campus/--classroom and an empty version vector: the
 * responder then sends everything of that scope it holds. */
static int send_hello(session *s) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  return send_packed(s, &sb, cairn_sync_pack_hello(&sb, "classroom", s->pk, opt.campus,
                                                   opt.classroom, NULL, 0, now_wall_ms(), 0));
}

/* Acknowledges ENTRIES message m as all applied. Returns how many entries
 * it carried. */
static size_t ack_entries(session *s, const cairn_sync_msg *m) {
  size_t off = 0, count = 0, used;
  msgpack_sbuffer sb;
  cairn_entry e;
  while (off < m->entries_len &&
         cairn_entry_decode(m->entries + off, m->entries_len - off, &e, &used) == 0) {
    off += used;
    count++;
  }
  msgpack_sbuffer_init(&sb);
  send_packed(s, &sb,
              cairn_sync_pack_ack(&sb, &(cairn_sync_ack){.batch = m->batch, .applied = count,
                                                         .reason = ""}));
  return count;
}

/* Sends entries as ENTRIES batch, then waits for its ACK (into *ack),
 * acknowledging whatever the responder sends meanwhile. Returns 0, -1 when
 * the responder closed the connection instead, or BROKEN. */
static int send_batch(session *s, uint64_t batch, const uint8_t *entries, size_t len,
                      cairn_sync_msg *ack) {
  msgpack_sbuffer sb;
  int64_t deadline = now_ms() + 15000;
  size_t count = 0;

  /* a batch made to be refused may not decode: its count is then 0 */
  if (cairn_entry_count(entries, len, &count) != 0)
    count = 0;
  msgpack_sbuffer_init(&sb);
  if (send_packed(s, &sb, cairn_sync_pack_entries(&sb, batch, entries, len, count)) != 0) {
    say("the connection closed as the batch was sent");
    return -1;
  }
  for (;;) {
    int rc;
    memset(ack, 0, sizeof *ack);
    if ((rc = recv_msg(s, ack, deadline)) != 0) {
      cairn_sync_msg_clear(ack);
      if (rc == -1)
        say("the daemon closed the connection");
      else
        say("no ACK for batch %llu (%d)", (unsigned long long)batch, rc);
      return rc == -1 ? -1 : BROKEN;
    }
    if (ack->type == CAIRN_SYNC_ACK && ack->batch == batch) {
      say("ACK: applied %llu, refused %llu, held %llu, re-dated %llu: %s",
          (unsigned long long)ack->applied, (unsigned long long)ack->refused,
          (unsigned long long)ack->held, (unsigned long long)ack->redated, ack->reason);
      return 0;
    }
    if (ack->type == CAIRN_SYNC_ENTRIES)
      ack_entries(s, ack);
    cairn_sync_msg_clear(ack);
  }
}

/* ---- attacks ---- */

/* unknown-device (a fresh random key) and revoked-device (--key): the IK
 * handshake must be refused. */
static int attack_refused_key(int fresh) {
  session s = {.fd = -1};
  int rc;
  if (fresh)
    opt.key_dir = NULL;
  else if (opt.key_dir == NULL) {
    say("needs --key");
    return BROKEN;
  }
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  rc = handshake(&s, opt.network);
  if (rc == 0) {
    say("%s passed the IK handshake with status 0", fresh ? "a fresh random key" : "the key");
    session_free(&s);
    return ACCEPTED;
  }
  session_free(&s);
  return rc == 1 ? REFUSED : BROKEN;
}

/* newer-version: an enrolled device (--key) that speaks a newer sync
 * version. Refused only when the answer is the VERSION code, whose words
 * (on stdout) tell the user what to upgrade. */
static int attack_newer_version(void) {
  session s = {.fd = -1};
  int rc;
  if (opt.key_dir == NULL) {
    say("needs --key");
    return BROKEN;
  }
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0)
    return BROKEN;
  hello_version = CAIRN_SYNC_VERSION + 1;
  rc = handshake(&s, opt.network);
  if (rc == 1 && s.status == CAIRN_CLOSE_VERSION)
    printf("%s: %s: %s\n", cairn_sync_close_name(s.status), cairn_sync_close_what(s.status),
           s.why);
  else if (rc == 1)
    say("refused, but not for the version: status %d: %s", s.status, s.why);
  session_free(&s);
  if (rc == 0) {
    say("a HELLO of sync version %u passed the handshake", (unsigned)hello_version);
    return ACCEPTED;
  }
  return rc == 1 && s.status == CAIRN_CLOSE_VERSION ? REFUSED : BROKEN;
}

/* A join (XX, then JOIN) with a made-up token secret: must get a WELCOME
 * that refuses it. */
static int attack_bad_token(void) {
  session s = {.fd = -1};
  cairn_noise_handshake hs;
  uint8_t prologue[13 + 32], x_priv[32], secret[CAIRN_SYNC_SECRET_BYTES];
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG], payload[CAIRN_NOISE_MAX_MSG];
  size_t n, plen;
  msgpack_sbuffer sb;
  cairn_sync_msg m;
  int verdict = BROKEN, rc;

  opt.key_dir = NULL;
  memcpy(prologue, "cairn-sync-v1", 13);
  memcpy(prologue + 13, opt.network, 32);
  if (load_key(&s) != 0 || (s.fd = tcp_connect()) < 0 ||
      crypto_sign_ed25519_sk_to_curve25519(x_priv, s.sk) != 0 ||
      cairn_noise_handshake_init(&hs, CAIRN_NOISE_XX, 1, prologue, sizeof prologue, x_priv,
                                 NULL) != 0) {
    session_free(&s);
    return BROKEN;
  }
  uint8_t mine[33]; /* our key, then the sync version */
  memcpy(mine, s.pk, 32);
  mine[32] = CAIRN_SYNC_VERSION;
  msg[0] = 2; /* XX: -> e */
  if (cairn_noise_write_message(&hs, NULL, 0, msg + 1, sizeof msg - 1, &n) != 0 ||
      send_record(s.fd, msg, n + 1) != 0 || read_record(s.fd, msg, &n, now_ms() + 12000) != 0 ||
      cairn_noise_read_message(&hs, msg, n, payload, sizeof payload, &plen) != 0 ||
      plen != 33 || sodium_memcmp(payload, opt.central, 32) != 0 ||
      cairn_noise_write_message(&hs, mine, sizeof mine, msg, sizeof msg, &n) != 0 ||
      send_record(s.fd, msg, n) != 0 || cairn_noise_split(&hs, &s.tx, &s.rx) != 0 ||
      cairn_transport_reader_init(&s.reader, CAIRN_SYNC_MSG_MAX) != 0) {
    say("setup: the XX handshake with the central failed");
    goto out;
  }
  randombytes_buf(secret, sizeof secret);
  msgpack_sbuffer_init(&sb);
  if (send_packed(&s, &sb, cairn_sync_pack_join(&sb, secret, s.pk, "classroom", "hostile")) != 0)
    goto out;
  memset(&m, 0, sizeof m);
  rc = recv_msg(&s, &m, now_ms() + 15000);
  if (rc == -1) {
    say("the daemon closed the connection without a WELCOME");
    verdict = REFUSED;
  } else if (rc == 0 && m.type == CAIRN_SYNC_WELCOME) {
    say("WELCOME: code %d: %s", m.welcome_code, m.reason);
    verdict = m.welcome_code != 0 ? REFUSED : ACCEPTED;
  } else {
    say("no WELCOME (%d)", rc);
  }
  cairn_sync_msg_clear(&m);
out:
  cairn_noise_handshake_clear(&hs);
  session_free(&s);
  return verdict;
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
  int fd, closed;
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
  if (open_session(&s) != 0) {
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
typedef enum {
  E_VALID,
  E_FORGED,
  E_BROKEN_CHAIN,
  E_GAP,
  E_OTHER,
  E_OUT_OF_SCOPE,
  E_UNENROLLED, /* a genuine first entry of a key nobody enrolled */
  E_FUTURE      /* a genuine entry dated at the end of time (HLC 2^64 - 1) */
} entry_attack;

static int pack_body(msgpack_sbuffer *sb, const char *campus, const char *classroom) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
#define STR(x) (msgpack_pack_str(&pk, strlen(x)) != 0 || msgpack_pack_str_body(&pk, (x), strlen(x)) != 0)
  if (msgpack_pack_map(&pk, 4) != 0 || STR("id") || STR(opt.student) || STR("new") ||
      msgpack_pack_true(&pk) != 0 || STR("set") || msgpack_pack_map(&pk, 1) != 0 || STR("name") ||
      STR("Hostile Student") || STR("scope") || msgpack_pack_array(&pk, 2) != 0 || STR(campus) ||
      STR(classroom))
    return -1;
#undef STR
  return 0;
}

/* Needs --key, --campus and --classroom (the enrolled scope of --key). */
static int need_scope(void) {
  if (opt.key_dir != NULL && opt.campus != NULL && opt.classroom != NULL)
    return 0;
  say("needs --key, --campus and --classroom");
  return -1;
}

static int attack_entries(entry_attack kind) {
  session s = {.fd = -1};
  msgpack_sbuffer body, batch;
  cairn_sync_msg m;
  uint8_t author[32], prev[32] = {0}, wpk[32], *wrong_sk = NULL;
  uint64_t head = 0;
  int have_prev, rc, verdict = BROKEN;
  int64_t deadline;
  cairn_entry e;

  if (need_scope() != 0 || opt.student == NULL || (kind == E_OTHER && !opt.has_other)) {
    say("needs --student (and --other for other-author)");
    return BROKEN;
  }
  msgpack_sbuffer_init(&body);
  msgpack_sbuffer_init(&batch);
  if (open_session(&s) != 0 || send_hello(&s) != 0)
    goto out;
  if (kind == E_FORGED || kind == E_UNENROLLED) {
    if ((wrong_sk = sodium_malloc(CAIRN_SECRET_BYTES)) == NULL)
      goto out;
    crypto_sign_keypair(wpk, wrong_sk);
  }
  memcpy(author, kind == E_OTHER ? opt.other : kind == E_UNENROLLED ? wpk : s.pk, 32);
  /* The central's HELLO says how far it holds the target author's log; its
   * ENTRIES (we sent an empty vv) carry that head's hash. */
  deadline = now_ms() + 10000;
  memset(&m, 0, sizeof m);
  if ((rc = recv_msg(&s, &m, deadline)) != 0 || m.type != CAIRN_SYNC_HELLO) {
    say("setup: no HELLO from the central (%d)", rc);
    cairn_sync_msg_clear(&m);
    goto out;
  }
  for (size_t i = 0; i < m.vv_n; i++)
    if (memcmp(m.vv[i].author, author, 32) == 0)
      head = m.vv[i].seq;
  cairn_sync_msg_clear(&m);
  have_prev = head == 0;
  while (!have_prev) {
    size_t off = 0;
    memset(&m, 0, sizeof m);
    if ((rc = recv_msg(&s, &m, deadline)) != 0) {
      say("setup: did not receive the head (seq %llu) of the target log (%d)",
          (unsigned long long)head, rc);
      goto out;
    }
    if (m.type == CAIRN_SYNC_ENTRIES) {
      while (off < m.entries_len) {
        size_t used;
        if (cairn_entry_decode(m.entries + off, m.entries_len - off, &e, &used) != 0)
          break;
        off += used;
        if (memcmp(e.author, author, 32) == 0 && e.seq == head) {
          memcpy(prev, e.hash, 32);
          have_prev = 1;
        }
      }
      ack_entries(&s, &m);
    }
    cairn_sync_msg_clear(&m);
  }
  /* the hostile entry */
  if (kind == E_OUT_OF_SCOPE ? pack_body(&body, "elsewhere", "")
                             : pack_body(&body, opt.campus, opt.classroom))
    goto out;
  memset(&e, 0, sizeof e);
  memcpy(e.author, author, 32);
  e.seq = head + (kind == E_GAP ? 2 : 1);
  e.hlc = kind == E_FUTURE ? UINT64_MAX : now_wall_ms() << 16;
  memcpy(e.prev, prev, 32);
  if (kind == E_BROKEN_CHAIN)
    randombytes_buf(e.prev, 32);
  e.kind = 1; /* student */
  e.body = (const uint8_t *)body.data;
  e.body_len = body.size;
  if (cairn_entry_seal(&e) != 0)
    goto out;
  /* E_FORGED: not the author's key; E_UNENROLLED: the author's own;
   * E_OTHER: ours, not the author's */
  cairn_entry_sign(&e, wrong_sk != NULL ? wrong_sk : s.sk);
  if (cairn_entry_encode(&e, &batch) != 0)
    goto out;
  rc = send_batch(&s, 4242, (const uint8_t *)batch.data, batch.size, &m);
  if (rc == 0 && kind == E_FUTURE) /* refused is its date, not its content */
    verdict = m.redated + m.held > 0 ? REFUSED : ACCEPTED;
  else if (rc == 0)
    verdict = m.refused > 0 || m.applied == 0 ? REFUSED : ACCEPTED;
  else if (rc == -1)
    verdict = REFUSED;
out:
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&batch);
  if (wrong_sk)
    sodium_free(wrong_sk);
  session_free(&s);
  return verdict;
}

/* Sends back the first batch the central sends us: every entry of it is
 * already held there, so nothing may be applied (and nothing is refused:
 * a replay is harmless). Prints the batch's entry count on stdout. */
static int attack_replay(void) {
  session s = {.fd = -1};
  cairn_sync_msg m, ack;
  uint8_t *copy = NULL;
  size_t len = 0, count = 0;
  int64_t deadline = now_ms() + 10000;
  int rc, verdict = BROKEN;

  if (need_scope() != 0 || open_session(&s) != 0 || send_hello(&s) != 0) {
    session_free(&s);
    return BROKEN;
  }
  while (copy == NULL) {
    memset(&m, 0, sizeof m);
    if ((rc = recv_msg(&s, &m, deadline)) != 0) {
      say("setup: no ENTRIES from the central (%d)", rc);
      session_free(&s);
      return BROKEN;
    }
    if (m.type == CAIRN_SYNC_ENTRIES) {
      count = ack_entries(&s, &m);
      len = m.entries_len;
      if ((copy = malloc(len ? len : 1)) == NULL) {
        cairn_sync_msg_clear(&m);
        session_free(&s);
        return BROKEN;
      }
      memcpy(copy, m.entries, len);
    }
    cairn_sync_msg_clear(&m);
  }
  rc = send_batch(&s, 4243, copy, len, &ack);
  if (rc == 0 || rc == -1) {
    verdict = rc == -1 || ack.applied == 0 ? REFUSED : ACCEPTED;
    printf("%zu\n", count);
  }
  free(copy);
  session_free(&s);
  return verdict;
}

/* Opens a session, sends what send(s) sends, and expects the daemon to
 * close the connection. */
static int expect_closed_after(int (*send)(session *s), const char *what) {
  session s = {.fd = -1};
  int closed;
  if (open_session(&s) != 0) {
    session_free(&s);
    return BROKEN;
  }
  closed = send(&s) != 0 || wait_closed(s.fd, now_ms() + 15000);
  session_free(&s);
  if (!closed)
    say("%s did not end the connection", what);
  return closed ? REFUSED : ACCEPTED;
}

/* A sealed HELLO in a record whose length says one byte more than the
 * sealed message, and that byte. */
static int send_long_record(session *s) {
  msgpack_sbuffer hello, wire;
  size_t n;
  int rc;
  msgpack_sbuffer_init(&hello);
  msgpack_sbuffer_init(&wire);
  rc = cairn_sync_pack_hello(&hello, "classroom", s->pk, "x", "", NULL, 0, now_wall_ms(), 0) != 0 ||
       cairn_transport_seal(&s->tx, (const uint8_t *)hello.data, hello.size, &wire) != 0 ||
       msgpack_sbuffer_write(&wire, "\x5a", 1) != 0;
  if (rc == 0) {
    n = ((size_t)(uint8_t)wire.data[0] << 8 | (uint8_t)wire.data[1]) + 1;
    wire.data[0] = (char)(n >> 8);
    wire.data[1] = (char)n;
    rc = send_all(s->fd, wire.data, wire.size);
  }
  msgpack_sbuffer_destroy(&hello);
  msgpack_sbuffer_destroy(&wire);
  return rc;
}

/* An ENTRIES message whose bytes field says 1000 bytes and holds 10. */
static int send_short_bin(session *s) {
  static const uint8_t lie[] = {0x93, 0x02, 0x01, 0xc5, 0x03, 0xe8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  msgpack_sbuffer m;
  msgpack_sbuffer_init(&m);
  return send_packed(s, &m, msgpack_sbuffer_write(&m, (const char *)lie, sizeof lie));
}

/* HELLO twice. */
static int send_hello_twice(session *s) { return send_hello(s) != 0 || send_hello(s) != 0; }

/* Lengths that lie: a record of length 0 before the handshake, a record
 * longer than its sealed message, a bytes field longer than its message. */
static int attack_lying_length(void) {
  static const uint8_t zero[2] = {0, 0};
  int fd, closed, verdict;
  if (need_scope() != 0 || (fd = tcp_connect()) < 0)
    return BROKEN;
  closed = send_all(fd, zero, sizeof zero) != 0 || wait_closed(fd, now_ms() + 15000);
  close(fd);
  if (!closed) {
    say("a zero-length record did not end the connection");
    return ACCEPTED;
  }
  verdict = expect_closed_after(send_long_record, "a record longer than its message");
  if (verdict == REFUSED)
    verdict = expect_closed_after(send_short_bin, "a bytes field longer than its message");
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
    if (peer_closed(fds[i]))
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

/* N connection attempts as fast as they go, from 127.0.0.2 on (a new
 * source address every 500 attempts), none of which says a word: the
 * newest 1,000 are kept open, older ones are closed. Prints the number of
 * attempts that connected on stdout. Always "refused": what the daemon made
 * of them is in its counters and its log. */
static int attack_flood(void) {
  enum { KEEP = 1000 };
  struct rlimit rl;
  int ring[KEEP];
  long connected = 0;
  char from[32];

  if (opt.n <= 0)
    opt.n = 25000;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < KEEP + 64) {
    rl.rlim_cur = rl.rlim_max < KEEP + 64 ? rl.rlim_max : KEEP + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (int i = 0; i < KEEP; i++)
    ring[i] = -1;
  for (long i = 0; i < opt.n; i++) {
    int slot = (int)(i % KEEP);
    snprintf(from, sizeof from, "127.0.0.%ld", 2 + (i / 500) % 250);
    opt.from = from;
    if (ring[slot] >= 0)
      close(ring[slot]);
    ring[slot] = tcp_connect();
    connected += ring[slot] >= 0;
  }
  for (int i = 0; i < KEEP; i++)
    if (ring[i] >= 0)
      close(ring[i]);
  printf("%ld\n", connected);
  say("%ld of %ld attempts connected", connected, opt.n);
  return REFUSED;
}

static void usage(void) {
  fprintf(stderr, "usage: hostile ATTACK --connect HOST:PORT --network HEX --central HEX "
                  "[--key DATA_DIR] [--campus C] [--classroom R] [--student ID] [--other HEX] "
                  "[--hold S] [--from ADDR] [N]\n");
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
    } else if (strcmp(a, "--from") == 0) {
      opt.from = v;
    } else {
      usage();
    }
  }
  if (!got_net || !got_central || opt.port <= 0)
    usage();
  if (strcmp(opt.attack, "unknown-device") == 0)
    return attack_refused_key(1);
  if (strcmp(opt.attack, "revoked-device") == 0)
    return attack_refused_key(0);
  if (strcmp(opt.attack, "bad-token") == 0)
    return attack_bad_token();
  if (strcmp(opt.attack, "lying-length") == 0)
    return attack_lying_length();
  if (strcmp(opt.attack, "out-of-turn") == 0)
    return need_scope() != 0 ? BROKEN : expect_closed_after(send_hello_twice, "a second HELLO");
  if (strcmp(opt.attack, "out-of-scope") == 0)
    return attack_entries(E_OUT_OF_SCOPE);
  if (strcmp(opt.attack, "unenrolled-author") == 0)
    return attack_entries(E_UNENROLLED);
  if (strcmp(opt.attack, "replay") == 0)
    return attack_replay();
  if (strcmp(opt.attack, "wrong-network") == 0)
    return attack_wrong_network();
  if (strcmp(opt.attack, "garbage") == 0)
    return attack_garbage();
  if (strcmp(opt.attack, "oversize") == 0)
    return attack_oversize();
  if (strcmp(opt.attack, "future") == 0)
    return attack_entries(E_FUTURE);
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
  if (strcmp(opt.attack, "flood") == 0)
    return attack_flood();
  if (strcmp(opt.attack, "half-open") == 0)
    return attack_half_open();
  if (strcmp(opt.attack, "newer-version") == 0)
    return attack_newer_version();
  usage();
  return BROKEN;
}
