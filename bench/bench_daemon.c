/* bench_daemon.c: a real cairnd for the benchmark, in a child process on a
 * fresh data directory made by `cairn init`. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn.h"
#include "entry.h"
#include "keyfile.h"
#include "store.h"

extern char **environ;

int bench_spawn(char *const argv[], int quiet, const char *err_path, pid_t *pid) {
  posix_spawn_file_actions_t fa;
  int rc;

  posix_spawn_file_actions_init(&fa);
  if (quiet)
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (err_path != NULL)
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path,
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(rc));
    return cairn_err_from_errno(rc);
  }
  return 0;
}

static int init_data_dir(const bench_daemon *d, const bench_bins *bins) {
  char *argv[] = {(char *)bins->cairn, "--data", (char *)d->data, "init", NULL};
  pid_t pid;
  int st, rc = bench_spawn(argv, 1, NULL, &pid);

  if (rc != 0)
    return rc;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench: %s --data %s init failed\n", bins->cairn, d->data);
    return CAIRN_EIO;
  }
  return 0;
}

/* Polls the socket every 10 ms for up to 10 s. */
int bench_cairnd_wait(bench_daemon *d) {
  const struct timespec tick = {0, 10 * 1000 * 1000};
  int i, st;

  for (i = 0; i < 1000 && !bench_interrupted; i++) {
    cairn_client *c;
    int rc = cairn_client_open(&c, d->data);
    if (rc == 0) {
      cairn_client_close(c);
      return 0;
    }
    if (rc != CAIRN_ENOTRUNNING) {
      fprintf(stderr, "bench: %s: %s\n", d->data, cairn_strerror(rc));
      return rc;
    }
    if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
      fprintf(stderr, "bench: cairnd exited before it was ready (status %d)\n", st);
      bench_untrack_daemon(d->pid);
      d->pid = 0;
      return CAIRN_ENOTRUNNING;
    }
    nanosleep(&tick, NULL);
  }
  fprintf(stderr, "bench: cairnd on %s not ready after 10 s\n", d->data);
  return CAIRN_ENOTRUNNING;
}

int bench_daemon_start(bench_daemon *d, const bench_bins *bins) {
  int rc;

  d->pid = 0;
  d->log[0] = '\0';
  if ((rc = bench_tmpdir(d->root)) != 0)
    return rc;
  snprintf(d->data, sizeof d->data, "%.*s/data", PATH_MAX - 8, d->root);
  if ((rc = init_data_dir(d, bins)) != 0)
    return rc;
  return bench_cairnd_start(d, bins);
}

int bench_check_bins(const bench_bins *bins) {
  if (access(bins->cairn, X_OK) != 0 || access(bins->cairnd, X_OK) != 0) {
    fprintf(stderr, "bench: %s or %s is not executable (build them, or give --cairn/--cairnd)\n",
            bins->cairn, bins->cairnd);
    return CAIRN_ENOTFOUND;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "bench: libsodium failed to initialise\n");
    return CAIRN_EINTERNAL;
  }
  return 0;
}

int bench_cairnd_spawn(bench_daemon *d, const bench_bins *bins) {
  char *argv[] = {(char *)bins->cairnd, "--data", d->data, "--log-level", "warning", NULL};
  int rc = bench_spawn(argv, 0, d->log[0] != '\0' ? d->log : NULL, &d->pid);

  if (rc == 0)
    bench_track_daemon(d->pid);
  return rc;
}

int bench_cairnd_start(bench_daemon *d, const bench_bins *bins) {
  int rc = bench_cairnd_spawn(d, bins);
  return rc != 0 ? rc : bench_cairnd_wait(d);
}

int bench_run_capture(char *const argv[], char *out, size_t size) {
  posix_spawn_file_actions_t fa;
  size_t used = 0;
  ssize_t got;
  pid_t pid;
  int fds[2], st, rc;

  if (pipe(fds) != 0) {
    fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
    return cairn_err_from_errno(errno);
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    fprintf(stderr, "bench: cannot run %s: %s\n", argv[0], strerror(rc));
    return cairn_err_from_errno(rc);
  }
  while ((got = read(fds[0], out + used, size - 1 - used)) > 0 ||
         (got < 0 && errno == EINTR))
    used += got > 0 ? (size_t)got : 0;
  out[used] = '\0';
  close(fds[0]);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench: %s %s failed\n", argv[0], argv[1] != NULL ? argv[1] : "");
    return CAIRN_EIO;
  }
  return 0;
}

int bench_daemon_stop(bench_daemon *d) {
  if (d->pid > 0)
    kill(d->pid, SIGTERM);
  return bench_daemon_reap(d, NULL);
}

int bench_daemon_reap(bench_daemon *d, struct rusage *ru) {
  struct rusage dummy;
  int st = 0;

  if (d->pid <= 0)
    return 0;
  wait4(d->pid, &st, 0, ru != NULL ? ru : &dummy);
  bench_untrack_daemon(d->pid);
  d->pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench: cairnd did not stop cleanly (status %d)\n", st);
    return CAIRN_EIO;
  }
  return 0;
}

void bench_daemon_remove(bench_daemon *d) {
  bench_tmp_remove(d->root);
}

/* Counts the entries and signed entries of the log of store s's own
 * device from seq from on, in slices. */
static int count_signed(cairn_store *s, uint64_t from, uint64_t *entries, uint64_t *commits) {
  msgpack_sbuffer sb;
  size_t count;
  int rc;

  msgpack_sbuffer_init(&sb);
  do {
    size_t off = 0, i;
    sb.size = 0;
    rc = cairn_store_read_log(s, cairn_store_device(s), from, 10000, &sb, &count);
    for (i = 0; rc == 0 && i < count; i++) {
      cairn_entry e;
      size_t used;
      rc = cairn_entry_decode((const uint8_t *)sb.data + off, sb.size - off, &e, &used);
      if (rc == 0) {
        off += used;
        *commits += e.has_sig != 0;
      }
    }
    *entries += count;
    from += count;
  } while (rc == 0 && count > 0);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

int bench_daemon_commits(const bench_daemon *d, uint64_t after, uint64_t *entries,
                         uint64_t *commits) {
  char path[PATH_MAX], why[256];
  uint8_t *sk;
  cairn_store *s;
  int rc;

  *entries = *commits = 0;
  snprintf(path, sizeof path, "%.*s/device.key", PATH_MAX - 16, d->data);
  if ((rc = cairn_keyfile_load(path, &sk, why, sizeof why)) != 0) {
    fprintf(stderr, "bench: %s\n", why);
    return rc;
  }
  rc = cairn_store_open(&s, d->data, sk, NULL);
  if (rc == 0) {
    rc = count_signed(s, after + 1, entries, commits);
    cairn_store_close(s);
  }
  if (rc != 0)
    fprintf(stderr, "bench: reading the log in %s: %s\n", d->data, cairn_strerror(rc));
  cairn_keyfile_free(sk);
  return rc;
}
