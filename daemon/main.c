/*
 * main.c: cairnd, the local daemon. Reads DATA/cairn.conf and
 * DATA/device.key, locks DATA, opens the store, serves DATA/cairnd.sock and
 * the web page on one libuv loop, tells systemd when ready, and stops
 * cleanly on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "config.h"
#include "error.h"
#include "keyfile.h"
#include "link.h"
#include "log.h"
#include "report_rpc.h"
#include "rpc.h"
#include "server.h"
#include "store.h"
#include "usage.h"
#include "web.h"
#include "writer.h"

typedef struct cairnd {
  uv_loop_t loop;
  uv_signal_t sigterm, sigint;
  cairn_store *store;
  cairn_writer *writer;
  cairn_server *server;
  cairn_links *links;
  cairn_web *web; /* NULL when the page is off */
  cairn_rpc rpc;
  cairn_config config;
  char config_path[PATH_MAX]; /* rewritten by a join */
  int stopping;
} cairnd;

/* Holds DATA/cairnd.lock for the life of the process. Returns the fd, or -1
 * with a message printed. */
static int lock_data_dir(const char *dir) {
  char path[PATH_MAX], pid[32];
  int fd;

  snprintf(path, sizeof path, "%s/cairnd.lock", dir);
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    cairn_log_err("%s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ssize_t n = read(fd, pid, sizeof pid - 1);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    cairn_log_err("%s is in use by another cairnd (pid %s)", dir, pid[0] ? pid : "unknown");
    close(fd);
    return -1;
  }
  if (ftruncate(fd, 0) == 0) {
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (write(fd, pid, (size_t)n) != n)
      cairn_log_warn("%s: cannot record pid", path);
  }
  return fd;
}

/* The data directory must exist, be a directory made by `cairn init`, and
 * admit nobody but owner and group: the socket inside it is the API. */
static int check_data_dir(const char *dir) {
  struct stat st;

  if (stat(dir, &st) != 0) {
    cairn_log_err("%s: %s (create it with: cairn init --data %s)", dir, strerror(errno), dir);
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    cairn_log_err("%s: not a directory", dir);
    return -1;
  }
  if (st.st_mode & S_IRWXO) {
    cairn_log_err("%s: mode %04o lets other users in; run: chmod 750 %s", dir,
                  (unsigned)(st.st_mode & 07777), dir);
    return -1;
  }
  return 0;
}

/* The problems of one check attempt, printed once it completes. */
typedef struct problems {
  char *text;
  size_t len, count;
} problems;

static void add_problem(const char *line, void *arg) {
  problems *p = arg;
  size_t n = strlen(line);
  char *grown = realloc(p->text, p->len + n + 1);

  if (grown == NULL)
    return;
  memcpy(grown + p->len, line, n);
  grown[p->len + n] = '\n';
  p->text = grown;
  p->len += n + 1;
  p->count++;
}

/* cairnd --check: the offline verification, with the directory locked so
 * no daemon writes meanwhile. The rebuild it compares against needs room
 * in the map: when full, the map grows (in memory only; the aborted
 * transaction writes nothing) and the check starts over. Returns the exit
 * status. */
static int check_offline(const char *dir, const uint8_t *sk, const cairn_config *config) {
  char path[PATH_MAX];
  struct stat st;
  cairn_store *store = NULL;
  cairn_store_opts so = {config->map_size_mb << 20, config->clock_offset_ms,
                         config->clock_tolerance_s * 1000};
  problems p = {NULL, 0, 0};
  int rc;

  snprintf(path, sizeof path, "%s/store/data.mdb", dir);
  if (stat(path, &st) != 0) {
    printf("problem: %s: no store here (nothing was ever written)\n", path);
    return 1;
  }
  rc = cairn_store_open(&store, dir, sk, &so);
  if (rc != 0) {
    printf("problem: %s/store: does not open: %s\n", dir, cairn_strerror(rc));
    return 1;
  }
  for (int tries = 0; tries < 16; tries++) {
    p.len = p.count = 0;
    rc = cairn_store_check(store, add_problem, &p);
    if (rc != CAIRN_EMAPFULL || cairn_store_grow(store) != 0)
      break;
  }
  cairn_store_close(store);
  if (p.len > 0) {
    for (char *line = p.text, *end; line < p.text + p.len; line = end + 1) {
      end = memchr(line, '\n', (size_t)(p.text + p.len - line));
      printf("problem: %.*s\n", (int)(end - line), line);
    }
  }
  free(p.text);
  if (rc != 0 && rc != CAIRN_ECORRUPT) {
    printf("problem: could not check: %s\n", cairn_strerror(rc));
    return 1;
  }
  if (p.count == 0)
    printf("%s: clean: every chain verifies and the records equal a rebuild from the log\n", dir);
  return p.count == 0 ? 0 : 1;
}

static void on_drained(void *arg) {
  cairnd *d = arg;

  cairn_web_close(d->web);
  cairn_server_close(d->server);
  uv_close((uv_handle_t *)&d->sigterm, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void on_links_closed(void *arg) {
  cairnd *d = arg;

  d->links = NULL;
  cairn_writer_drain(d->writer, on_drained, d);
}

/* The writer's commit hook: sync links send the new entries, open web
 * pages refresh. */
static void on_commit(void *arg) {
  cairnd *d = arg;

  cairn_links_notify(d->links);
  cairn_web_notify(d->web);
}

/* Stopping: no new local requests, sync links closed, then the writes in
 * progress finish and are answered, then the socket closes. */
static void on_signal(uv_signal_t *h, int signum) {
  cairnd *d = h->data;

  if (d->stopping)
    return;
  d->stopping = 1;
  sd_notify(0, "STOPPING=1");
  cairn_log_info("signal %d: stopping after writes in progress", signum);
  cairn_server_stop_reading(d->server);
  cairn_web_stop(d->web);
  cairn_links_close(d->links, on_links_closed, d);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                       {"check", no_argument, NULL, 'c'},
                                       {"log-level", required_argument, NULL, 'l'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = getenv("CAIRN_DATA"), *level = NULL;
  char path[PATH_MAX], why[512] = "";
  uint8_t *sk = NULL;
  cairnd d;
  int c, rc, lock_fd = -1, status = 1, check = 0;
  uint64_t batches, puts;

  while ((c = getopt_long(argc, argv, "d:cl:hV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      check = 1;
      break;
    case 'd':
      dir = optarg;
      break;
    case 'l':
      level = optarg;
      break;
    case 'h':
      fputs(cairn_usage_text, stdout);
      return 0;
    case 'V':
      printf("cairnd %s\n", CAIRN_VERSION);
      return 0;
    default:
      fputs(cairn_usage_text, stderr);
      return 2;
    }
  }
  if (optind != argc || dir == NULL || *dir == '\0') {
    fprintf(stderr, "cairnd: %s\n\n%s",
            optind != argc ? "unexpected argument" : "no data directory: give --data DIR or set CAIRN_DATA",
            cairn_usage_text);
    return 2;
  }

  memset(&d, 0, sizeof d);
  if (sodium_init() < 0) {
    cairn_log_err("libsodium failed to initialise");
    return 1;
  }
  if (check_data_dir(dir) != 0)
    return 1;
  snprintf(path, sizeof path, "%s/cairn.conf", dir);
  rc = cairn_config_load(path, &d.config, why, sizeof why);
  if (rc != 0) {
    if (rc == CAIRN_ENOTFOUND)
      cairn_log_err("%s: missing; is %s a data directory? (make one with: cairn init --data %s)",
                    path, dir, dir);
    else
      cairn_log_err("%s", why);
    return 1;
  }
  if (level) {
    static const struct { const char *name; cairn_log_level level; } levels[] = {
        {"error", CAIRN_LOG_ERR}, {"warning", CAIRN_LOG_WARNING},
        {"info", CAIRN_LOG_INFO}, {"debug", CAIRN_LOG_DEBUG}};
    size_t i;
    for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
      if (strcmp(level, levels[i].name) == 0)
        break;
    if (i == sizeof levels / sizeof levels[0]) {
      fprintf(stderr, "cairnd: --log-level: must be one of error, warning, info, debug\n");
      return 2;
    }
    d.config.log_level = levels[i].level;
  }
  cairn_log_set_level(d.config.log_level);

  lock_fd = lock_data_dir(dir);
  if (lock_fd < 0) {
    if (check)
      fprintf(stderr, "cairnd: to check a data directory a cairnd is serving, use: cairn check\n");
    return 1;
  }
  snprintf(path, sizeof path, "%s/device.key", dir);
  rc = cairn_keyfile_load(path, &sk, why, sizeof why);
  if (rc != 0) {
    cairn_log_err("%s", why[0] ? why : cairn_strerror(rc));
    goto out;
  }
  if (check) {
    status = check_offline(dir, sk, &d.config);
    goto out;
  }
  {
    cairn_store_opts so = {d.config.map_size_mb << 20, d.config.clock_offset_ms,
                           d.config.clock_tolerance_s * 1000};
    rc = cairn_store_open(&d.store, dir, sk, &so);
  }
  if (rc != 0) {
    cairn_log_err("%s/store: cannot open: %s", dir, cairn_strerror(rc));
    goto out;
  }
  sodium_bin2hex(d.rpc.device_hex, sizeof d.rpc.device_hex, cairn_store_device(d.store),
                 CAIRN_KEY_BYTES);

  uv_loop_init(&d.loop);
  if (cairn_writer_init(&d.writer, &d.loop, d.store) != 0) {
    cairn_log_err("out of memory");
    goto out_loop;
  }
  {
    cairn_links_opts lo = {&d.loop, d.store, d.writer, sk, &d.config, d.config_path};
    snprintf(d.config_path, sizeof d.config_path, "%s/cairn.conf", dir);
    rc = cairn_links_start(&d.links, &lo, why, sizeof why);
  }
  if (rc != 0) {
    cairn_log_err("cannot start sync: %s", why);
    uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles' closes finish */
    goto out_loop;
  }
  {
    /* A store from a cairn that did not bound HLCs may hold an entry dated
     * far ahead and edits dated by a clock that wrapped after it: the
     * central re-dates them once, before any new write (FORMAT.md 1.1). */
    size_t redated = 0;
    int r = cairn_store_clock_repair(d.store, &redated);
    if (r != 0)
      cairn_log_warn("could not look for entries dated by an unbounded clock: %s",
                     cairn_strerror(r));
    else if (redated > 0)
      cairn_log_warn("re-dated %zu entries an older cairn had ordered by a date beyond the "
                     "clock bound or by a clock that wrapped (restamp records)",
                     redated);
  }
  cairn_writer_on_commit(d.writer, on_commit, &d);
  d.rpc.store = d.store;
  d.rpc.writer = d.writer;
  d.rpc.config = &d.config;
  d.rpc.links = d.links;
  d.rpc.sk = sk;
  snprintf(path, sizeof path, "%s/cairnd.sock", dir);
  rc = cairn_server_start(&d.server, &d.loop, path, cairn_rpc_handle, cairn_rpc_detach, &d.rpc,
                          why, sizeof why);
  if (rc != 0) {
    cairn_log_err("cannot listen: %s", why);
    cairn_links_close(d.links, NULL, NULL);
    uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles' closes finish */
    goto out_loop;
  }
  {
    cairn_web_opts wo = {&d.loop, d.server, &d.config, dir};
    rc = cairn_web_start(&d.web, &wo, why, sizeof why);
  }
  if (rc != 0) {
    cairn_log_err("cannot serve the web page: %s", why);
    cairn_server_close(d.server);
    cairn_links_close(d.links, NULL, NULL);
    uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles' closes finish */
    goto out_loop;
  }
  if (d.web == NULL && why[0] != '\0')
    cairn_log_warn("%s", why);
  d.rpc.web = cairn_web_rpc(d.web);
  /* A peer that resets its connection must cost that link, not the
   * process: writes then fail with EPIPE instead of raising SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  uv_signal_init(&d.loop, &d.sigterm);
  uv_signal_init(&d.loop, &d.sigint);
  d.sigterm.data = d.sigint.data = &d;
  uv_signal_start(&d.sigterm, on_signal, SIGTERM);
  uv_signal_start(&d.sigint, on_signal, SIGINT);

  cairn_log_info("ready: device %.8s role %s, %llu own entries, socket %s", d.rpc.device_hex,
                 cairn_config_role_name(d.config.role),
                 (unsigned long long)cairn_store_own_seq(d.store), path);
  sd_notify(0, "READY=1\nSTATUS=serving");
  uv_run(&d.loop, UV_RUN_DEFAULT);

  cairn_writer_stats(d.writer, &batches, &puts);
  cairn_log_info("stopped: %llu records written in %llu commits", (unsigned long long)puts,
                 (unsigned long long)batches);
  status = 0;
out_loop:
  cairn_report_rpc_free(&d.rpc);
  cairn_web_free(d.web); /* the loop has run its closes */
  cairn_writer_free(d.writer);
  if (uv_loop_close(&d.loop) != 0)
    cairn_log_warn("event loop closed with handles still open");
out:
  cairn_store_close(d.store);
  cairn_keyfile_free(sk);
  if (lock_fd >= 0)
    close(lock_fd);
  return status;
}
