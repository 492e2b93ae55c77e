/* bench_nodes.c: a central and its classrooms as real cairnd processes for
 * the sync benchmarks (bench_nodes.h). */
#include "bench_nodes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "keyfile.h"
#include "record.h"
#include "store.h"

void bench_sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

double bench_ms_between(uint64_t a, uint64_t b) {
  return (double)(b - a) / 1e6;
}

int bench_cli(const bench_bins *bins, const char *data, char *out, size_t size, ...) {
  char *argv[16], dummy[256];
  size_t n = 0;
  va_list ap;

  argv[n++] = (char *)bins->cairn;
  argv[n++] = "--data";
  argv[n++] = (char *)data;
  va_start(ap, size);
  while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
    n++;
  va_end(ap);
  argv[n] = NULL;
  return out != NULL ? bench_run_capture(argv, out, size)
                     : bench_run_capture(argv, dummy, sizeof dummy);
}

int bench_free_port(int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), rc = 0;

  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    fprintf(stderr, "bench: cannot find a free port: %s\n", strerror(errno));
    rc = CAIRN_EIO;
  }
  *port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return rc;
}

int bench_connect(const bench_daemon *d, cairn_client **c) {
  uint64_t deadline = bench_now_ns() + 10000000000u;
  int rc;

  while ((rc = cairn_client_open(c, d->data)) == CAIRN_ENOTRUNNING && !bench_interrupted &&
         bench_now_ns() < deadline)
    bench_sleep_us(100);
  if (rc != 0)
    fprintf(stderr, "bench: connecting to %s: %s\n", d->data, cairn_strerror(rc));
  return rc;
}

/* A non-negative integer field of map m, or -1 when absent or nil. */
static int64_t map_u64(const msgpack_object *m, const char *key) {
  const msgpack_object *v = cairn_record_map_get(m, key);
  return v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)v->via.u64 : -1;
}

int bench_upstream(cairn_client *c, uint64_t *receipt, int *idle) {
  static const char req[] = "\x81\xa2op\xabsync_status";
  const msgpack_object *peers, *up, *r, *conn;
  cairn_reply *reply;
  int rc = cairn_client_call(c, req, sizeof req - 1, 0, &reply);

  *receipt = 0;
  if (idle != NULL)
    *idle = 0;
  if (rc != 0) {
    fprintf(stderr, "bench: sync_status: %s\n", cairn_strerror(rc));
    return rc;
  }
  if ((peers = cairn_reply_get(reply, "peers")) == NULL ||
      peers->type != MSGPACK_OBJECT_ARRAY || peers->via.array.size < 1) {
    fprintf(stderr, "bench: sync_status: no upstream peer\n");
    rc = CAIRN_EMALFORMED;
  } else {
    up = &peers->via.array.ptr[0];
    if ((r = cairn_record_map_get(up, "receipt")) != NULL && r->type == MSGPACK_OBJECT_MAP &&
        map_u64(r, "seq") > 0)
      *receipt = (uint64_t)map_u64(r, "seq");
    conn = cairn_record_map_get(up, "connected");
    if (idle != NULL)
      *idle = conn != NULL && conn->type == MSGPACK_OBJECT_BOOLEAN && conn->via.boolean &&
              map_u64(up, "pending_out") == 0 && map_u64(up, "pending_in") == 0;
  }
  cairn_reply_free(reply);
  return rc;
}

int bench_wait_receipt(cairn_client *c, uint64_t seq, long poll_us, int timeout_s) {
  uint64_t deadline = bench_now_ns() + (uint64_t)timeout_s * 1000000000u, got;
  int rc;

  while ((rc = bench_upstream(c, &got, NULL)) == 0 && got < seq) {
    if (bench_interrupted)
      return CAIRN_EINTERNAL;
    if (bench_now_ns() > deadline) {
      fprintf(stderr, "bench: the central's receipt is at %llu, not %llu, after %d s\n",
              (unsigned long long)got, (unsigned long long)seq, timeout_s);
      return CAIRN_EIO;
    }
    bench_sleep_us(poll_us);
  }
  return rc;
}

int bench_node_dir(bench_daemon *d, const char *parent, const char *name) {
  int rc = 0;

  d->pid = 0;
  if (parent == NULL) {
    rc = bench_tmpdir(d->root);
  } else if (snprintf(d->root, sizeof d->root, "%s/%s", parent, name) >= (int)sizeof d->root) {
    fprintf(stderr, "bench: %s/%s: path too long\n", parent, name);
    rc = CAIRN_ETOOBIG;
  } else if (mkdir(d->root, 0700) != 0) {
    fprintf(stderr, "bench: cannot create %s: %s\n", d->root, strerror(errno));
    rc = cairn_err_from_errno(errno);
  }
  if (rc == 0) {
    snprintf(d->data, sizeof d->data, "%.*s/data", PATH_MAX - 8, d->root);
    snprintf(d->log, sizeof d->log, "%.*s/cairnd.log", PATH_MAX - 16, d->root);
  }
  return rc;
}

int bench_room_join(const bench_bins *bins, const bench_daemon *central, bench_daemon *room,
                    const char *classroom, msgpack_sbuffer *put, char *mid, size_t midlen) {
  char token[1024], student[80];
  cairn_client *c = NULL;
  int rc;

  if (strcmp(classroom, "r") == 0)
    snprintf(student, sizeof student, "%s", BENCH_STUDENT_ID);
  else
    snprintf(student, sizeof student, "bench-%.60s", classroom);
  if ((rc = bench_cli(bins, room->data, NULL, 0, "init", "--campus", "c", "--classroom",
                      classroom, NULL)) != 0 ||
      (rc = bench_cairnd_start(room, bins)) != 0 ||
      (rc = bench_cli(bins, central->data, token, sizeof token, "enroll", "--campus", "c",
                      "--classroom", classroom, NULL)) != 0)
    return rc;
  token[strcspn(token, " \r\n")] = '\0';
  if ((rc = bench_cli(bins, room->data, NULL, 0, "join", token, NULL)) != 0 ||
      (rc = bench_connect(room, &c)) != 0)
    return rc;
  put->size = 0;
  rc = bench_setup_records(c, put, classroom, student, mid, midlen);
  cairn_client_close(c);
  return rc;
}

int bench_pair_start(const bench_bins *bins, bench_pair *p) {
  char listen[64];
  int rc;

  if ((rc = bench_free_port(&p->port)) != 0 || (rc = bench_node_dir(&p->central, NULL, "")) != 0 ||
      (rc = bench_node_dir(&p->room, NULL, "")) != 0)
    return rc;
  snprintf(listen, sizeof listen, "127.0.0.1:%d", p->port);
  fprintf(stderr, "bench: central on %s, one classroom enrolled with a token\n", listen);
  if ((rc = bench_cli(bins, p->central.data, NULL, 0, "init", "--role", "central", "--listen",
                      listen, NULL)) != 0 ||
      (rc = bench_cairnd_start(&p->central, bins)) != 0)
    return rc;
  return bench_room_join(bins, &p->central, &p->room, "r", &p->put, p->mid, sizeof p->mid);
}

void bench_pair_stop(bench_pair *p) {
  bench_daemon_stop(&p->room);
  bench_daemon_stop(&p->central);
  if (p->room.root[0] != '\0')
    bench_daemon_remove(&p->room);
  if (p->central.root[0] != '\0')
    bench_daemon_remove(&p->central);
  p->room.root[0] = p->central.root[0] = '\0';
}

int bench_fill_store(const char *data, const char *mid, size_t n, msgpack_sbuffer *log,
                     uint64_t *head) {
  char path[PATH_MAX], why[256];
  cairn_put *batch = calloc(BENCH_BATCH, sizeof *batch);
  msgpack_sbuffer set;
  msgpack_packer pk;
  cairn_store *s = NULL;
  uint8_t *sk = NULL;
  size_t done = 0, i, count;
  int rc;

  msgpack_sbuffer_init(&set);
  msgpack_packer_init(&pk, &set, msgpack_sbuffer_write);
  bench_pack_evidence_set(&pk, mid);
  snprintf(path, sizeof path, "%.*s/device.key", PATH_MAX - 16, data);
  if (batch == NULL)
    rc = CAIRN_ENOMEM;
  else if ((rc = cairn_keyfile_load(path, &sk, why, sizeof why)) != 0)
    fprintf(stderr, "bench: %s\n", why);
  else if ((rc = cairn_store_open(&s, data, sk, NULL)) != 0)
    fprintf(stderr, "bench: store in %s: %s\n", data, cairn_strerror(rc));
  for (i = 0; rc == 0 && i < BENCH_BATCH; i++) {
    batch[i].type = CAIRN_REC_EVIDENCE;
    batch[i].set = (const uint8_t *)set.data, batch[i].set_len = set.size;
  }
  while (rc == 0 && done < n) {
    size_t k = n - done < BENCH_BATCH ? n - done : BENCH_BATCH;
    rc = bench_interrupted ? CAIRN_EINTERNAL : cairn_store_write_batch(s, batch, k);
    if (rc == CAIRN_EMAPFULL) {
      rc = cairn_store_grow(s);
      continue;
    }
    for (i = 0; rc == 0 && i < k; i++)
      rc = batch[i].result;
    done += k;
  }
  if (rc == 0) {
    *head = cairn_store_own_seq(s);
    if (log != NULL) {
      rc = cairn_store_read_log(s, cairn_store_device(s), 1, (size_t)*head, log, &count);
      if (rc == 0 && count != *head)
        rc = CAIRN_EINTERNAL;
    }
  }
  if (rc != 0 && rc != CAIRN_EINTERNAL)
    fprintf(stderr, "bench: filling the store in %s: %s\n", data, cairn_strerror(rc));
  cairn_store_close(s);
  cairn_keyfile_free(sk);
  msgpack_sbuffer_destroy(&set);
  free(batch);
  return rc;
}

long bench_proc_kib(pid_t pid, const char *name) {
  char path[64], line[256];
  size_t len = strlen(name);
  long v = -1;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      v = strtol(line + len + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

double bench_proc_cpu_s(pid_t pid) {
  char path[64], buf[1024], *p;
  unsigned long long ut = 0, st = 0;
  size_t got;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  got = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[got] = '\0';
  /* after the command's closing parenthesis: fields 3.. ; utime and stime
   * are fields 14 and 15 */
  if ((p = strrchr(buf, ')')) == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

void bench_proc_reset_peak(pid_t pid) {
  char path[64];
  FILE *f;

  snprintf(path, sizeof path, "/proc/%ld/clear_refs", (long)pid);
  if ((f = fopen(path, "w")) != NULL) {
    fputs("5", f);
    fclose(f);
  }
}

long bench_raise_fd_limit(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

void bench_print_log_tail(const bench_daemon *d) {
  char buf[2048];
  size_t got;
  FILE *f;

  if (d->log[0] == '\0' || (f = fopen(d->log, "r")) == NULL)
    return;
  if (fseek(f, -(long)sizeof buf, SEEK_END) != 0)
    rewind(f);
  got = fread(buf, 1, sizeof buf, f);
  fclose(f);
  fprintf(stderr, "--- the end of %s\n%.*s", d->log, (int)got, buf);
}
