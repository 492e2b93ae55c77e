/*
 * bench_limits.c: the machine's limits for cairn's sync, measured
 * in one run on the bytes cairn syncs: N evidence entries written through a
 * cairn store and read back, encoded, from its log (untimed). Each measure
 * runs R times and the median is reported:
 *
 *   lmdb_synced_batch   raw LMDB with its default, durable flags, a fresh
 *                       environment per repetition, one fsync'd write
 *                       transaction per sync batch (4,000 entries or 2 MiB,
 *                       as daemon/link.c), key author || seq (u64 BE) as the
 *                       store's log;
 *   secretstream_entry  crypto_secretstream_xchacha20poly1305_push, one
 *                       message per entry;
 *   secretstream_64k    the same, one message per run of whole entries of at
 *                       most 64 KiB (cairn's Noise records are that size);
 *   ed25519_verify      cairn_entry_verify_sig of a real chain head, one
 *                       core: crypto_sign_verify_detached over the 32-byte
 *                       head hash behind cairn's 13-byte context; also as
 *                       entries/s at one signature per 4,000-entry batch;
 *   tcp_loopback        one thread writes the entries' bytes in 64 KiB writes
 *                       to another over 127.0.0.1.
 *
 * The tightest of these in entries/s is the one cairn's sync throughput is
 * a fraction of. secretstream_entry is shown for scale but is not a
 * candidate: cairn never seals one entry per message. Every result is
 * checked (ciphertexts decrypt to the entries, signatures verify and a
 * forged one does not, the reader gets every byte the writer sent), so no
 * loop can be optimised away. Exit status: 0 when every measure ran, 1 when
 * one could not (the last line on stderr says why), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "entry.h"

#define SYNC_BATCH_ENTRIES 4000               /* daemon/link.c, BATCH_ENTRIES */
#define SYNC_BATCH_BYTES (2 * 1024 * 1024)    /* daemon/link.c, BATCH_BYTES */
#define RECORD_BYTES (64 * 1024)              /* a sealed message, a TCP write */
#define CPU_MIN_NS 250000000u                 /* a CPU measure runs at least 0.25 s */
#define TCP_MIN_NS 500000000u                 /* the TCP one at least 0.5 s */
#define VERIFY_ROUND 256                      /* verifies between clock reads */
#define MAX_ENTRIES 1000000
#define MAX_REPS 99

static const char usage[] =
    "usage: bench_limits [--quick] [--entries N] [--reps R] [--json]\n"
    "\n"
    "Measures this machine's limits for cairn's sync on the bytes cairn syncs:\n"
    "N evidence entries written through a cairn store and read back from its\n"
    "log (not timed). Each measure runs R times; the median is reported.\n"
    "\n"
    "  lmdb_synced_batch   raw LMDB, fresh environment, one fsync'd write\n"
    "                      transaction per 4,000 entries (or 2 MiB)\n"
    "  secretstream_entry  libsodium secretstream (XChaCha20-Poly1305)\n"
    "                      encryption, one message per entry\n"
    "  secretstream_64k    the same, messages of whole entries up to 64 KiB\n"
    "  ed25519_verify      signature checks of a chain head on one core; also\n"
    "                      as entries/s at one signature per 4,000 entries\n"
    "  tcp_loopback        64 KiB writes from one thread to another over\n"
    "                      127.0.0.1\n"
    "\n"
    "The CPU measures repeat passes over the entries for at least 0.25 s, the\n"
    "TCP one for at least 0.5 s. The tightest limit in entries/s is named last\n"
    "(secretstream_entry is not counted: cairn seals 64 KiB records). MB is\n"
    "10^6 bytes of entries. A table (with --json, one JSON object per line)\n"
    "goes to stdout, progress to stderr. Temporary directories go under\n"
    "$TMPDIR (default /tmp) and are removed at exit.\n"
    "\n"
    "  --quick         5,000 entries, 1 repetition: a few seconds\n"
    "  --entries N     evidence entries (default 100,000; 1 to 1,000,000)\n"
    "  --reps R        repetitions (default 3; 1 to 99)\n"
    "  --json          one JSON object per measure, then one naming the tightest\n"
    "  --help          this text\n"
    "\n"
    "Exit status: 0 every measure ran, 1 one could not (stderr says why),\n"
    "2 usage error.\n";

/* The entries every measure works on. */
typedef struct corpus {
  msgpack_sbuffer log;       /* the store's whole log: owns every byte below */
  bench_entry_ref *all;      /* every entry of log */
  const bench_entry_ref *ev; /* the last n of all: the evidence entries */
  size_t n;
  const uint8_t *bytes; /* ev's bytes, which lie back to back in log */
  size_t len;
  size_t *batch_end, nbatches;  /* sync batches: 4,000 entries or 2 MiB */
  size_t *record_end, nrecords; /* runs of whole entries up to 64 KiB */
  size_t *entry_end;            /* one entry each: 1, 2, ..., n */
  cairn_entry head;             /* the last entry, signed */
} corpus;

static double avg_bytes(const corpus *c) {
  return (double)c->len / (double)c->n;
}

/* Splits e[0..n) into runs of at most max_n entries and max_bytes bytes (an
 * entry longer than max_bytes is a run alone); end[i] is one past run i's
 * last entry. Returns the number of runs. */
static size_t group_runs(const bench_entry_ref *e, size_t n, size_t max_n, size_t max_bytes,
                         size_t *end) {
  size_t i, runs = 0, count = 0, bytes = 0;

  for (i = 0; i < n; i++) {
    if (count > 0 && (count == max_n || bytes + e[i].len > max_bytes)) {
      end[runs++] = i;
      count = bytes = 0;
    }
    count++;
    bytes += e[i].len;
  }
  if (count > 0)
    end[runs++] = n;
  return runs;
}

/* The bytes of run k of end (whole entries, back to back). */
static const uint8_t *run_bytes(const corpus *c, const size_t *end, size_t k, size_t *len) {
  const bench_entry_ref *first = &c->ev[k > 0 ? end[k - 1] : 0], *last = &c->ev[end[k] - 1];

  *len = (size_t)(last->bytes + last->len - first->bytes);
  return first->bytes;
}

static void corpus_free(corpus *c) {
  msgpack_sbuffer_destroy(&c->log);
  free(c->all);
  free(c->batch_end);
  free(c->record_end);
  free(c->entry_end);
}

/* Writes n evidence entries through a fresh store, reads its log back and
 * splits it. corpus_free undoes it, also after a failure. */
static int corpus_make(corpus *c, size_t n) {
  size_t max = n + 2, count = 0, total = 0, nchunks = 0, used;
  double write_s = 0;
  int rc;

  memset(c, 0, sizeof *c);
  msgpack_sbuffer_init(&c->log);
  c->all = malloc(max * sizeof *c->all);
  c->batch_end = malloc(max * sizeof *c->batch_end);
  c->record_end = malloc(max * sizeof *c->record_end);
  c->entry_end = malloc(max * sizeof *c->entry_end);
  if (c->all == NULL || c->batch_end == NULL || c->record_end == NULL || c->entry_end == NULL)
    return CAIRN_ENOMEM;
  if ((rc = bench_store_make_log(n, &c->log, &count, &write_s)) != 0 ||
      (rc = bench_split_log(&c->log, c->all, max, c->entry_end, &total, &nchunks)) != 0)
    return rc;
  if (total != count || total != max) {
    fprintf(stderr, "bench: the store's log holds %zu entries, not %zu\n", total, max);
    return CAIRN_EINTERNAL;
  }
  c->n = n;
  c->ev = c->all + (total - n);
  c->bytes = c->ev[0].bytes;
  c->len = (size_t)(c->ev[n - 1].bytes + c->ev[n - 1].len - c->bytes);
  c->nbatches = group_runs(c->ev, n, SYNC_BATCH_ENTRIES, SYNC_BATCH_BYTES, c->batch_end);
  c->nrecords = group_runs(c->ev, n, SIZE_MAX, RECORD_BYTES, c->record_end);
  group_runs(c->ev, n, 1, SIZE_MAX, c->entry_end);
  if ((rc = cairn_entry_decode(c->ev[n - 1].bytes, c->ev[n - 1].len, &c->head, &used)) != 0 ||
      !c->head.has_sig) {
    fprintf(stderr, "bench: the log's last entry is not a signed chain head\n");
    return rc != 0 ? rc : CAIRN_EINTERNAL;
  }
  fprintf(stderr, "bench: %zu evidence entries, %.1f bytes on average, written in %.2f s\n", n,
          avg_bytes(c), write_s);
  return 0;
}

/* ---- the measures: each sets one repetition's entries/s ---- */

static int lmdb_synced_batch(const corpus *c, double *rate) {
  double secs = 0;
  int rc = bench_lmdb_insert(c->ev, c->batch_end, c->nbatches, &secs);

  *rate = (double)c->n / secs;
  return rc;
}

/* Decrypts the stream out (key, header) and compares every message with
 * run k of end. */
static int check_sealed(const corpus *c, const size_t *end, size_t runs, const uint8_t *out,
                        const uint8_t *key, const uint8_t *header) {
  crypto_secretstream_xchacha20poly1305_state st;
  uint8_t *plain = malloc(CAIRN_ENTRY_MAX > RECORD_BYTES ? CAIRN_ENTRY_MAX : RECORD_BYTES);
  size_t k;
  int rc = plain == NULL ? CAIRN_ENOMEM : 0;

  if (rc == 0 && crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) != 0)
    rc = CAIRN_EINTERNAL;
  for (k = 0; k < runs && rc == 0; k++) {
    size_t len;
    const uint8_t *p = run_bytes(c, end, k, &len);
    unsigned long long got;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &st, plain, &got, NULL, out, len + crypto_secretstream_xchacha20poly1305_ABYTES, NULL,
            0) != 0 ||
        got != len || memcmp(plain, p, len) != 0)
      rc = CAIRN_EINTERNAL;
    out += len + crypto_secretstream_xchacha20poly1305_ABYTES;
  }
  if (rc == CAIRN_EINTERNAL)
    fprintf(stderr, "bench: secretstream: message %zu does not decrypt to its entries\n", k);
  free(plain);
  return rc;
}

/* Encrypts run after run of end, one message each, pass after pass for at
 * least CPU_MIN_NS; then decrypts the last pass. */
static int seal_runs(const corpus *c, const size_t *end, size_t runs, double *rate) {
  crypto_secretstream_xchacha20poly1305_state st;
  uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  uint8_t *out = malloc(c->len + runs * crypto_secretstream_xchacha20poly1305_ABYTES);
  uint64_t t0, elapsed;
  size_t passes = 0, k;
  int fails = 0, rc;

  if (out == NULL)
    return CAIRN_ENOMEM;
  crypto_secretstream_xchacha20poly1305_keygen(key);
  t0 = bench_now_ns();
  do {
    uint8_t *o = out;
    fails |= crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
    for (k = 0; k < runs; k++) {
      size_t len;
      const uint8_t *p = run_bytes(c, end, k, &len);
      unsigned long long olen;
      fails |= crypto_secretstream_xchacha20poly1305_push(&st, o, &olen, p, len, NULL, 0, 0);
      o += olen;
    }
    passes++;
  } while ((elapsed = bench_now_ns() - t0) < CPU_MIN_NS && !bench_interrupted);
  *rate = (double)(passes * c->n) / ((double)elapsed / 1e9);
  if (fails != 0) {
    fprintf(stderr, "bench: secretstream: push failed\n");
    rc = CAIRN_EINTERNAL;
  } else {
    rc = check_sealed(c, end, runs, out, key, header);
  }
  sodium_memzero(key, sizeof key);
  free(out);
  return bench_interrupted ? CAIRN_EINTERNAL : rc;
}

static int secretstream_entry(const corpus *c, double *rate) {
  return seal_runs(c, c->entry_end, c->n, rate);
}

static int secretstream_64k(const corpus *c, double *rate) {
  return seal_runs(c, c->record_end, c->nrecords, rate);
}

/* Sets *rate to entries/s: verifies/s times SYNC_BATCH_ENTRIES. */
static int ed25519_verify(const corpus *c, double *rate) {
  cairn_entry forged = c->head;
  uint64_t t0, elapsed;
  size_t count = 0, fails = 0, i;

  forged.sig[0] ^= 1;
  if (cairn_entry_verify_sig(&forged) == 0) {
    fprintf(stderr, "bench: ed25519: a forged signature verified\n");
    return CAIRN_EINTERNAL;
  }
  t0 = bench_now_ns();
  do {
    for (i = 0; i < VERIFY_ROUND; i++)
      fails += cairn_entry_verify_sig(&c->head) != 0;
    count += VERIFY_ROUND;
  } while ((elapsed = bench_now_ns() - t0) < CPU_MIN_NS && !bench_interrupted);
  *rate = (double)count / ((double)elapsed / 1e9) * SYNC_BATCH_ENTRIES;
  if (fails != 0) {
    fprintf(stderr, "bench: ed25519: %zu of %zu verifies failed\n", fails, count);
    return CAIRN_EBADSIG;
  }
  return bench_interrupted ? CAIRN_EINTERNAL : 0;
}

/* The writing side of tcp_loopback. */
typedef struct tcp_sender {
  int fd;
  const uint8_t *bytes;
  size_t len;
  uint64_t sent; /* bytes */
  int err;       /* errno of a failed send, or 0 */
} tcp_sender;

/* Sends the bytes in RECORD_BYTES writes, pass after pass for at least
 * TCP_MIN_NS, then shuts the connection down for writing. */
static void *tcp_send(void *arg) {
  tcp_sender *s = arg;
  uint64_t t0 = bench_now_ns();

  do {
    size_t off = 0;
    while (off < s->len) {
      size_t want = s->len - off < RECORD_BYTES ? s->len - off : RECORD_BYTES;
      ssize_t n = send(s->fd, s->bytes + off, want, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        s->err = errno;
        goto done;
      }
      off += (size_t)n;
      s->sent += (uint64_t)n;
    }
  } while (bench_now_ns() - t0 < TCP_MIN_NS && !bench_interrupted);
done:
  shutdown(s->fd, SHUT_WR);
  return NULL;
}

/* A connected pair over 127.0.0.1: *out writes, *in reads. */
static int loopback_pair(int *out, int *in) {
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  int lfd = socket(AF_INET, SOCK_STREAM, 0), rc = 0;

  *out = *in = -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) != 0 ||
      (*out = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
      connect(*out, (struct sockaddr *)&a, sizeof a) != 0 || (*in = accept(lfd, NULL, NULL)) < 0) {
    fprintf(stderr, "bench: tcp: cannot connect over 127.0.0.1: %s\n", strerror(errno));
    rc = CAIRN_EIO;
  }
  if (lfd >= 0)
    close(lfd);
  return rc;
}

/* Reads until the sender shuts down; checks the first RECORD_BYTES against
 * the entries and the count against what was sent. */
static int tcp_loopback(const corpus *c, double *rate) {
  tcp_sender s = {-1, c->bytes, c->len, 0, 0};
  size_t check = c->len < RECORD_BYTES ? c->len : RECORD_BYTES, checked = 0;
  uint8_t *buf = malloc(RECORD_BYTES);
  uint64_t got = 0, t0, elapsed;
  pthread_t th;
  int in = -1, rc = buf == NULL ? CAIRN_ENOMEM : loopback_pair(&s.fd, &in), started = 0;

  if (rc == 0 && (started = pthread_create(&th, NULL, tcp_send, &s)) != 0) {
    fprintf(stderr, "bench: tcp: cannot start the sender: %s\n", strerror(started));
    rc = CAIRN_EINTERNAL;
  }
  started = rc == 0;
  t0 = bench_now_ns();
  while (rc == 0) {
    ssize_t n = recv(in, buf, RECORD_BYTES, 0);
    if (n == 0)
      break;
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      fprintf(stderr, "bench: tcp: recv: %s\n", strerror(errno));
      rc = CAIRN_EIO;
    } else if (checked < check) {
      size_t k = (size_t)n < check - checked ? (size_t)n : check - checked;
      if (memcmp(buf, c->bytes + checked, k) != 0) {
        fprintf(stderr, "bench: tcp: the reader got other bytes than were sent\n");
        rc = CAIRN_EINTERNAL;
      }
      checked += k;
    }
    got += n > 0 ? (uint64_t)n : 0;
  }
  elapsed = bench_now_ns() - t0;
  if (in >= 0)
    close(in); /* a sender still blocked in send() fails now */
  if (started) {
    pthread_join(th, NULL);
    if (rc == 0 && (s.err != 0 || got != s.sent || got < c->len)) {
      fprintf(stderr, "bench: tcp: sent %llu bytes, received %llu%s%s\n",
              (unsigned long long)s.sent, (unsigned long long)got, s.err ? ": " : "",
              s.err ? strerror(s.err) : "");
      rc = CAIRN_EIO;
    }
  }
  if (s.fd >= 0)
    close(s.fd);
  free(buf);
  *rate = (double)got / avg_bytes(c) / ((double)elapsed / 1e9);
  return rc != 0 ? rc : bench_interrupted ? CAIRN_EINTERNAL : 0;
}

/* ---- the run ---- */

typedef struct measure {
  const char *name;
  int (*run)(const corpus *c, double *rate);
  int candidate; /* a limit of cairn's sync: counts for the tightest */
  const char *what;
} measure;

static const measure measures[] = {
    {"lmdb_synced_batch", lmdb_synced_batch, 1,
     "raw LMDB, one fsync'd write txn per 4,000 entries"},
    {"secretstream_entry", secretstream_entry, 0, "XChaCha20-Poly1305, one message per entry"},
    {"secretstream_64k", secretstream_64k, 1, "XChaCha20-Poly1305, 64 KiB messages"},
    {"ed25519_verify", ed25519_verify, 1, ""}, /* print_table adds the verifies/s */
    {"tcp_loopback", tcp_loopback, 1, "64 KiB writes over 127.0.0.1, thread to thread"},
};
#define NMEASURES (sizeof measures / sizeof measures[0])

typedef struct results {
  double reps[NMEASURES][MAX_REPS]; /* entries/s, in the order run */
  double median[NMEASURES];         /* entries/s */
  size_t tightest;                  /* index into measures */
} results;

static double mb_per_s(const corpus *c, double entries_per_s) {
  return entries_per_s * avg_bytes(c) / 1e6;
}

static int run_all(const corpus *c, size_t reps, results *r) {
  double sorted[MAX_REPS];
  size_t m, i;
  int rc = 0;

  r->tightest = 0;
  for (m = 0; m < NMEASURES && rc == 0; m++) {
    for (i = 0; i < reps && rc == 0; i++) {
      fprintf(stderr, "bench: %s, repetition %zu/%zu\n", measures[m].name, i + 1, reps);
      rc = measures[m].run(c, &r->reps[m][i]);
    }
    if (rc != 0)
      break;
    memcpy(sorted, r->reps[m], reps * sizeof *sorted);
    r->median[m] = bench_median(sorted, reps);
    if (measures[m].candidate && r->median[m] < r->median[r->tightest])
      r->tightest = m;
  }
  return rc;
}

static void print_json(const corpus *c, size_t reps, const results *r) {
  size_t m, i;

  for (m = 0; m < NMEASURES; m++) {
    printf("{\"measure\":\"%s\",\"entries_per_s\":%.1f,\"mb_per_s\":%.3f,\"entry_bytes\":%.1f,"
           "\"entries\":%zu",
           measures[m].name, r->median[m], mb_per_s(c, r->median[m]), avg_bytes(c), c->n);
    if (measures[m].run == ed25519_verify)
      printf(",\"verifies_per_s\":%.1f,\"entries_per_signature\":%d",
             r->median[m] / SYNC_BATCH_ENTRIES, SYNC_BATCH_ENTRIES);
    printf(",\"reps\":[");
    for (i = 0; i < reps; i++)
      printf("%s%.1f", i > 0 ? "," : "", r->reps[m][i]);
    printf("]}\n");
  }
  printf("{\"measure\":\"tightest\",\"limit\":\"%s\",\"entries_per_s\":%.1f,\"mb_per_s\":%.3f}\n",
         measures[r->tightest].name, r->median[r->tightest],
         mb_per_s(c, r->median[r->tightest]));
}

static void print_table(const corpus *c, size_t reps, const results *r) {
  char a[32], b[32];
  size_t m;

  printf("cairn sync limits: %s evidence entries of %.1f bytes on average (%.1f MB), "
         "median of %zu repetition%s\n\n",
         bench_rate(a, (double)c->n), avg_bytes(c), (double)c->len / 1e6, reps,
         reps == 1 ? "" : "s");
  printf("%-20s %14s %10s  %s\n", "measure", "entries/s", "MB/s", "what");
  for (m = 0; m < NMEASURES; m++) {
    char what[128];
    if (measures[m].run == ed25519_verify)
      snprintf(what, sizeof what, "%s verifies/s on one core, x 4,000 entries per signature",
               bench_rate(b, r->median[m] / SYNC_BATCH_ENTRIES));
    else
      snprintf(what, sizeof what, "%s", measures[m].what);
    printf("%-20s %14s %10.1f  %s\n", measures[m].name, bench_rate(a, r->median[m]),
           mb_per_s(c, r->median[m]), what);
  }
  printf("\ntightest limit: %s, %s entries/s (secretstream_entry not counted: cairn seals "
         "64 KiB records)\n",
         measures[r->tightest].name, bench_rate(a, r->median[r->tightest]));
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                            {"entries", required_argument, NULL, 'n'},
                                            {"reps", required_argument, NULL, 'r'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
  size_t n = 0, reps = 0;
  int quick = 0, json = 0, opt, rc;
  char machine[1024];
  corpus c;
  static results r;

  bench_install_cleanup();
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'q':
      quick = 1;
      break;
    case 'n':
      if ((rc = bench_parse_count("entries", optarg, MAX_ENTRIES, &n)) != 0)
        return rc;
      break;
    case 'r':
      if ((rc = bench_parse_count("reps", optarg, MAX_REPS, &reps)) != 0)
        return rc;
      break;
    case 'j':
      json = 1;
      break;
    default: /* 'h' too */
      return bench_usage(opt, usage);
    }
  }
  if ((rc = bench_no_operands(argc, argv, optind, usage)) != 0)
    return rc;
  if (n == 0)
    n = quick ? 5000 : 100000;
  if (reps == 0)
    reps = quick ? 1 : 3;
  if (sodium_init() < 0) {
    fprintf(stderr, "bench: libsodium failed to initialise\n");
    return 1;
  }
  bench_machine_line(machine, sizeof machine);
  fprintf(stderr, "bench: %s\n", machine);

  if ((rc = corpus_make(&c, n)) == 0 && (rc = run_all(&c, reps, &r)) == 0) {
    if (json)
      print_json(&c, reps, &r);
    else
      print_table(&c, reps, &r);
  }
  corpus_free(&c);
  if (rc != 0) {
    fprintf(stderr, "bench: stopped: %s\n",
            bench_interrupted ? "interrupted" : cairn_strerror(rc));
    return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
