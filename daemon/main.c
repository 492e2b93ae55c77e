/*
 * main.c: cairnd, the local daemon. Reads DATA/cairn.conf and the device
 * key (a systemd credential or DATA/device.key: device_key.h), locks DATA,
 * opens the store, serves DATA/cairnd.sock and the web page on one libuv
 * loop, tells systemd when ready, and stops cleanly on SIGTERM.
 */
#include <dirent.h>
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
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "config.h"
#include "error.h"
#include "backup.h"
#include "bundle_rpc.h"
#include "device_key.h"
#include "file.h"
#include "join_state.h"
#include "keyfile.h"
#include "link.h"
#include "log.h"
#include "report_rpc.h"
#include "mirror.h"
#include "mirror_run.h"
#include "rpc.h"
#include "server.h"
#include "store.h"
#include "usage.h"
#include "metrics.h"
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
  cairn_metrics *metrics;
  cairn_mirror_run *mirror; /* NULL when no [mirror] postgres */
  cairn_rpc rpc;
  cairn_config file_config; /* cairn.conf as read */
  cairn_config config;      /* in effect: with the store's join (join_state.h) */
  char config_path[PATH_MAX];
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

/* ---- opening the store, and upgrading it ---- */

/* What a compaction's end does (cairn_store_opts.compact_stage): one
 * store per process, so one of these. */
static struct {
  char dir[PATH_MAX];   /* the data directory */
  const char *kill_at;  /* CAIRN_TEST_KILL_AT_COMPACT, or NULL */
  char keep[PATH_MAX];  /* the backup this start wrote before an upgrade ("": none) */
} compaction;

typedef struct upgrade {
  const char *dir;
  const cairn_config *config;
  const uint8_t *sk;
  unsigned from; /* the format upgraded from, once the backup is written */
  unsigned older; /* the format of an older store left as it is (--check) */
} upgrade;

/* cairnd --check changes nothing: an older store is left for cairnd to
 * upgrade. */
static int refuse_upgrade(cairn_store *s, unsigned from, unsigned to, void *arg) {
  (void)s;
  (void)to;
  ((upgrade *)arg)->older = from;
  return CAIRN_EVERSION;
}

/* Before a store of an older format is migrated: a backup of the data
 * directory, DATA/before-upgrade-FROM.cairnbackup (or, when one is there
 * already, a name with the time), which the older cairn restores. No
 * backup, no upgrade. */
static int backup_before_upgrade(cairn_store *s, unsigned from, unsigned to, void *arg) {
  upgrade *u = arg;
  char path[PATH_MAX], config_path[PATH_MAX], why[PATH_MAX + 128] = "";
  const char *role = cairn_config_role_name(u->config->role);
  uint64_t bytes;
  int rc;

  cairn_log_info("upgrade: the store in %s/store has format %u, this cairnd's is %u: backing "
                 "it up first",
                 u->dir, from, to);
  snprintf(config_path, sizeof config_path, "%s/cairn.conf", u->dir);
  snprintf(path, sizeof path, "%s/before-upgrade-%u.cairnbackup", u->dir, from);
  rc = cairn_bundle_rpc_backup_write(s, path, config_path, role, u->sk, &bytes, why, sizeof why);
  if (rc == CAIRN_EEXISTS) { /* an earlier attempt's: keep it */
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", gmtime(&now));
    snprintf(path, sizeof path, "%s/before-upgrade-%u-%s.cairnbackup", u->dir, from, stamp);
    why[0] = '\0';
    rc = cairn_bundle_rpc_backup_write(s, path, config_path, role, u->sk, &bytes, why,
                                       sizeof why);
  }
  if (rc != 0) {
    cairn_log_err("upgrade: cannot back up the store, so it was not upgraded (nothing "
                  "changed): %s",
                  why);
    return rc;
  }
  cairn_log_info("upgrade: backup of the format %u store written to %s (%llu bytes); to go "
                 "back, restore it with the older cairn: cairnd --restore %s --data NEW_DIR",
                 from, path, (unsigned long long)bytes, path);
  u->from = from;
  snprintf(compaction.keep, sizeof compaction.keep, "%s", path);
  return 0;
}

/* Deletes DATA/before-upgrade-*.cairnbackup but compaction.keep: copies of
 * the store from before an erasure (docs/SECURITY.md, "Erasing a
 * student"). A backup written by this start (before its upgrade) is a
 * compacted copy of the store as it is: it holds nothing erased. */
static void remove_old_backups(void) {
  DIR *d = opendir(compaction.dir);
  struct dirent *e;
  char path[PATH_MAX];
  size_t n = strlen("before-upgrade-"), x = strlen(".cairnbackup");

  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len <= n + x || strncmp(e->d_name, "before-upgrade-", n) != 0 ||
        strcmp(e->d_name + len - x, ".cairnbackup") != 0)
      continue;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", compaction.dir, e->d_name) >= sizeof path ||
        strcmp(path, compaction.keep) == 0)
      continue;
    if (unlink(path) == 0)
      cairn_log_warn("erasure: removed %s: it held the store from before an erasure (restoring "
                     "it would bring the erased student back); the way back to the older "
                     "cairn is gone with it",
                     path);
    else
      cairn_log_err("erasure: cannot remove %s, which holds the store from before an erasure: "
                    "%s; remove it by hand",
                    path, strerror(errno));
  }
  closedir(d);
}

/* A compaction's stages: at its end (an erasure's, or one the open
 * finished) it is logged and the older backups go. For the erasure's crash
 * test (tests/integration/erase_test.sh), CAIRN_TEST_KILL_AT_COMPACT=
 * copied|renamed|sealing kills cairnd with SIGKILL at that stage, as a
 * kill -9 there would (sealing: after the first chunk of an upgrade's
 * sealing, tests/integration/upgrade_test.sh). */
static void compact_stage(const char *stage, void *arg) {
  (void)arg;
  if (strcmp(stage, "done") == 0) {
    cairn_log_info("erasure: the store was compacted (the erased student's old bytes on its "
                   "free pages are gone)");
    remove_old_backups();
  } else if (strcmp(stage, "sealed") == 0) {
    /* older backups hold the store in clear: this upgrade's own is kept */
    cairn_log_info("upgrade: the store is sealed at rest and compacted (what it held in clear "
                   "is gone from its free pages)");
    remove_old_backups();
  } else if (compaction.kill_at != NULL && strcmp(stage, compaction.kill_at) == 0) {
    raise(SIGKILL);
  }
#ifdef CAIRN_TEST_HOOKS
  /* Test builds only: CAIRN_TEST_PAUSE_AT_COMPACT=SECONDS holds an
   * erasure's compaction that long after its copy (on the thread pool), so
   * that tests/integration/compact_test.sh can ask cairnd things meanwhile. */
  const char *pause = getenv("CAIRN_TEST_PAUSE_AT_COMPACT");
  if (pause != NULL && strcmp(stage, "copied") == 0) {
    cairn_log_info("test: the compaction pauses %d s after its copy", atoi(pause));
    sleep((unsigned)atoi(pause));
  }
#endif
}

/* Opens DIR's store with config's options: a store of an older format is
 * backed up, then migrated (unless check: then it is refused, unchanged).
 * Returns 0 and *store, or a negative code with why filled (a store of a
 * newer format: which format it is). */
static int open_store(cairn_store **store, const char *dir, const uint8_t *sk,
                      const cairn_config *config, int check, char *why, size_t whylen) {
  upgrade u = {dir, config, sk, 0, 0};
  snprintf(compaction.dir, sizeof compaction.dir, "%s", dir);
  compaction.kill_at = getenv("CAIRN_TEST_KILL_AT_COMPACT");
  cairn_store_opts so = {config->map_size_mb << 20,
                         config->clock_offset_ms,
                         config->clock_tolerance_s * 1000,
                         check ? refuse_upgrade : backup_before_upgrade,
                         &u,
                         compact_stage,
                         NULL};
  unsigned format = 0;
  int rc = cairn_store_open(store, dir, sk, &so);

  if (rc == 0) {
    if (u.from != 0)
      cairn_log_info("upgrade: the store is migrated from format %u to %u (one transaction)",
                     u.from, cairn_store_format_current());
    return 0;
  }
  if (u.older != 0)
    snprintf(why, whylen,
             "%s/store has format %u, older than this cairnd's (%u): cairnd upgrades it when "
             "it starts, after a backup; --check changes nothing (check it with the older "
             "cairnd, or start this one first)",
             dir, u.older, cairn_store_format_current());
  else if (rc == CAIRN_EVERSION && cairn_store_format(dir, &format) == 0 &&
      format > cairn_store_format_current())
    snprintf(why, whylen,
             "%s/store was written by a newer cairn (store format %u; this cairnd reads "
             "format %u and older): upgrade cairn to a release that reads format %u, or "
             "restore a backup made before the upgrade; nothing was changed",
             dir, format, cairn_store_format_current(), format);
  else if (rc == CAIRN_ENOKEY)
    snprintf(why, whylen,
             "%s/store/keys: the key store is missing, or was made under another device key: "
             "the store's records do not open without it (restore the data directory from a "
             "backup, which holds both); nothing was changed",
             dir);
  else
    snprintf(why, whylen, "%s/store: cannot open: %s%s", dir, cairn_strerror(rc),
             u.from != 0 ? " (the upgrade was rolled back: the store is as it was)" : "");
  return rc;
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
  char why[PATH_MAX + 256] = "";
  problems p = {NULL, 0, 0};
  int rc;

  snprintf(path, sizeof path, "%s/store/data.mdb", dir);
  if (stat(path, &st) != 0) {
    printf("problem: %s: no store here (nothing was ever written)\n", path);
    return 1;
  }
  rc = open_store(&store, dir, sk, config, 1, why, sizeof why);
  if (rc != 0) {
    printf("problem: %s\n", why);
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

/* ---- cairnd --restore ---- */

/* Reads exactly n bytes at the fd's offset; 0 or a negative code. */
static int read_exact(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return got < 0 ? cairn_err_from_errno(errno) : CAIRN_EMALFORMED;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

/* Checks the backup at fd (size bytes): its start decodes, its length is
 * the header's, and its hash covers it. Sets *h (config pointing into
 * *start, which the caller frees) and *store_at. Returns 0, or a negative
 * code with why set. */
static int backup_open(int fd, uint64_t size, cairn_backup_header *h, uint8_t **start,
                       size_t *store_at, char *why, size_t whylen) {
  size_t want = CAIRN_BACKUP_MAGIC_BYTES + 4 + CAIRN_BACKUP_HEADER_MAX;
  uint8_t hash[CAIRN_BACKUP_HASH_BYTES], stored[CAIRN_BACKUP_HASH_BYTES], *buf;
  crypto_generichash_state hs;
  int rc;

  if (size < CAIRN_BACKUP_MAGIC_BYTES + 4 + CAIRN_BACKUP_HASH_BYTES) {
    snprintf(why, whylen, "too short to be a backup");
    return CAIRN_EMALFORMED;
  }
  if (want > size - CAIRN_BACKUP_HASH_BYTES)
    want = (size_t)(size - CAIRN_BACKUP_HASH_BYTES);
  if ((*start = malloc(want)) == NULL)
    return CAIRN_ENOMEM;
  if ((rc = read_exact(fd, *start, want)) != 0 ||
      (rc = cairn_backup_decode_start(*start, want, h, store_at)) != 0) {
    snprintf(why, whylen, "not a backup cairn wrote (%s)", cairn_strerror(rc));
    return CAIRN_EMALFORMED;
  }
  if ((uint64_t)*store_at + h->store_bytes + h->keys_bytes + CAIRN_BACKUP_HASH_BYTES != size) {
    snprintf(why, whylen, "%llu bytes, but its header says %llu: truncated or extended",
             (unsigned long long)size,
             (unsigned long long)(*store_at + h->store_bytes + h->keys_bytes +
                                  CAIRN_BACKUP_HASH_BYTES));
    return CAIRN_EMALFORMED;
  }
  if ((buf = malloc(1 << 20)) == NULL)
    return CAIRN_ENOMEM;
  crypto_generichash_init(&hs, NULL, 0, sizeof hash);
  rc = lseek(fd, 0, SEEK_SET) == 0 ? 0 : cairn_err_from_errno(errno);
  for (uint64_t left = size - CAIRN_BACKUP_HASH_BYTES; rc == 0 && left > 0;) {
    size_t n = left < (1u << 20) ? (size_t)left : (1u << 20);
    if ((rc = read_exact(fd, buf, n)) == 0)
      crypto_generichash_update(&hs, buf, n);
    left -= n;
  }
  free(buf);
  crypto_generichash_final(&hs, hash, sizeof hash);
  if (rc == 0)
    rc = read_exact(fd, stored, sizeof stored);
  if (rc == 0 && sodium_memcmp(hash, stored, sizeof hash) != 0)
    rc = CAIRN_EBADSIG;
  if (rc != 0) {
    snprintf(why, whylen, "%s", rc == CAIRN_EBADSIG ? "its hash does not match: the file was altered or damaged"
                                                   : cairn_strerror(rc));
    return rc;
  }
  return 0;
}

/* Creates path (exclusively, with mode) holding n bytes, fsynced. */
static int write_file(const char *path, int mode, const void *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  int rc;
  if (fd < 0)
    return cairn_err_from_errno(errno);
  rc = cairn_file_write_all(fd, p, n);
  if (rc == 0 && fsync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  return rc;
}

/* Copies n bytes from fd (at its offset) into a new file at path. */
static int copy_out(int fd, uint64_t n, const char *path, mode_t mode) {
  int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  uint8_t *buf = malloc(1 << 20);
  int rc = out < 0 ? cairn_err_from_errno(errno) : buf == NULL ? CAIRN_ENOMEM : 0;
  while (rc == 0 && n > 0) {
    size_t k = n < (1u << 20) ? (size_t)n : (1u << 20);
    if ((rc = read_exact(fd, buf, k)) == 0)
      rc = cairn_file_write_all(out, buf, k);
    n -= k;
  }
  if (rc == 0 && fsync(out) != 0)
    rc = cairn_err_from_errno(errno);
  if (out >= 0 && close(out) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  free(buf);
  return rc;
}

/* DIR must not exist (its parent must), or be an empty directory. */
static int restore_dir(const char *dir) {
  DIR *dp = opendir(dir);
  struct dirent *e;
  int n = 0;

  if (dp == NULL) {
    if (errno != ENOENT) {
      fprintf(stderr, "cairnd: %s: %s\n", dir, strerror(errno));
      return -1;
    }
    if (mkdir(dir, 0750) != 0) {
      fprintf(stderr, "cairnd: cannot create %s: %s\n", dir, strerror(errno));
      return -1;
    }
    return 0;
  }
  while ((e = readdir(dp)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(dp);
  if (n > 0) {
    fprintf(stderr, "cairnd: %s is not empty: restore into a new directory\n", dir);
    return -1;
  }
  return 0;
}

/* A node that syncs to an upstream (c: the settings in effect): one that
 * holds its log may hold more of it than a backup. */
static int joined(const cairn_config *c) {
  return c->role != CAIRN_ROLE_CENTRAL && c->upstream_key[0] != '\0';
}

/* Reads the backup key file at path (mode 0600, as cairn backup-key new
 * writes it) into sk and pk. Returns 0, or a negative code with why. */
static int backup_key_load(const char *path, uint8_t sk[CAIRN_BACKUP_KEY_BYTES],
                           uint8_t pk[CAIRN_BACKUP_KEY_BYTES], char *why, size_t whylen) {
  uint8_t buf[CAIRN_BACKUP_KEY_FILE_MAX];
  struct stat st;
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc = 0;

  if (fd < 0) {
    snprintf(why, whylen, "--key %s: %s", path, strerror(errno));
    return cairn_err_from_errno(errno);
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "--key %s: not a regular file", path);
    rc = CAIRN_EINVAL;
  } else if ((st.st_mode & 077) != 0) {
    snprintf(why, whylen, "--key %s: readable by group or others (mode %04o); run chmod 600 %s",
             path, (unsigned)(st.st_mode & 07777), path);
    rc = CAIRN_EPERM;
  } else if ((n = read(fd, buf, sizeof buf)) < 0 ||
             cairn_backup_key_decode(buf, (size_t)n, sk, pk) != 0) {
    snprintf(why, whylen, "--key %s: not a backup key file (cairn backup-key new writes one)",
             path);
    rc = CAIRN_EINVAL;
  }
  sodium_memzero(buf, sizeof buf);
  close(fd);
  return rc;
}

/* Opens the encrypted backup at fd (past its magic) with the key file:
 * every chunk is authenticated and written into an unnamed file (0600,
 * unlinked at once) beside DIR, which the caller reads back as a plain
 * backup (*plain, owned by the caller). DIR is not touched. Returns 0, or
 * a negative code with why (the wrong key; cut or altered). */
static int backup_decrypt(int fd, const char *key_file, const char *dir, int *plain, char *why,
                          size_t whylen) {
  uint8_t sk[CAIRN_BACKUP_KEY_BYTES], pk[CAIRN_BACKUP_KEY_BYTES], start[CAIRN_BACKUP_SEALED_START];
  char tmp[PATH_MAX], *slash;
  cairn_backup_seal s;
  uint8_t *in = NULL, *out = NULL;
  int rc, out_fd = -1, final = 0;

  if ((rc = backup_key_load(key_file, sk, pk, why, whylen)) != 0)
    return rc;
  if (lseek(fd, 0, SEEK_SET) != 0 || read_exact(fd, start, sizeof start) != 0) {
    snprintf(why, whylen, "too short to be an encrypted backup");
    rc = CAIRN_EMALFORMED;
    goto done;
  }
  rc = cairn_backup_open_start(&s, start, sizeof start, sk);
  if (rc != 0) {
    char want[CAIRN_BACKUP_KEY_TEXT], have[CAIRN_BACKUP_KEY_TEXT];
    cairn_backup_key_text(start + CAIRN_BACKUP_MAGIC_BYTES, want);
    cairn_backup_key_text(pk, have);
    if (rc == CAIRN_EPERM)
      snprintf(why, whylen, "sealed to the public key %s, but --key %s is the key of %s: the "
                            "wrong key", want, key_file, have);
    else
      snprintf(why, whylen, "the key does not open it: the file was altered or damaged");
    goto done;
  }
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (size_t n = strlen(tmp); n > 1 && tmp[n - 1] == '/'; n--)
    tmp[n - 1] = '\0'; /* "DIR/" names DIR: the file goes beside it */
  slash = strrchr(tmp, '/');
  if (slash == NULL)
    snprintf(tmp, sizeof tmp, ".cairn-restore.XXXXXX");
  else
    snprintf(slash + 1, sizeof tmp - (size_t)(slash + 1 - tmp), ".cairn-restore.XXXXXX");
  in = malloc(CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES);
  out = malloc(CAIRN_BACKUP_SEAL_CHUNK);
  if (in == NULL || out == NULL) {
    rc = CAIRN_ENOMEM;
    snprintf(why, whylen, "out of memory");
    goto done;
  }
  if ((out_fd = mkstemp(tmp)) < 0) {
    rc = cairn_err_from_errno(errno);
    snprintf(why, whylen, "cannot make a file beside %s to open it into: %s", dir,
             strerror(errno));
    goto done;
  }
  unlink(tmp);
  while (rc == 0 && !final) {
    size_t got = 0;
    while (got < CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES) {
      ssize_t n = read(fd, in + got, CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        rc = cairn_err_from_errno(errno);
      if (n <= 0)
        break;
      got += (size_t)n;
    }
    if (rc == 0 && cairn_backup_open_chunk(&s, in, got, out, &final) != 0)
      rc = CAIRN_EBADSIG;
    if (rc == 0 && !final && got < CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES)
      rc = CAIRN_EBADSIG; /* cut short */
    if (rc == 0)
      rc = cairn_file_write_all(out_fd, out, got - CAIRN_BACKUP_SEAL_ABYTES);
  }
  if (rc == 0 && read(fd, in, 1) != 0)
    rc = CAIRN_EBADSIG; /* bytes after the last chunk */
  if (rc != 0)
    snprintf(why, whylen, "%s", rc == CAIRN_EBADSIG
                                    ? "it does not decrypt whole: the file was cut, altered or "
                                      "damaged"
                                    : cairn_strerror(rc));
done:
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(&s, sizeof s);
  if (out != NULL)
    sodium_memzero(out, CAIRN_BACKUP_SEAL_CHUNK);
  free(in);
  free(out);
  if (rc != 0 && out_fd >= 0)
    close(out_fd);
  else if (rc == 0)
    *plain = out_fd;
  return rc;
}

/* cairnd --restore FILE --data DIR: the files of DIR from the backup,
 * then the store marked restored (on a node with an upstream) and checked. Nothing
 * is written unless the whole backup verifies first. Returns the exit
 * status. */
static int restore(const char *file, const char *dir, const char *key_file) {
  cairn_backup_header h;
  cairn_config file_config, config;
  cairn_store *store = NULL;
  uint8_t *start = NULL, *sk = NULL, magic[CAIRN_BACKUP_MAGIC_BYTES];
  char path[PATH_MAX], why[512] = "";
  size_t store_at = 0;
  struct stat st;
  int fd, rc, status = 1;

  if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fprintf(stderr, "cairnd: %s: %s\n", file, fd < 0 ? strerror(errno) : "not a regular file");
    if (fd >= 0)
      close(fd);
    return 1;
  }
  if (st.st_size >= (off_t)sizeof magic && read_exact(fd, magic, sizeof magic) == 0 &&
      cairn_backup_is_sealed(magic, sizeof magic)) {
    /* Encrypted: opened whole into an unnamed file first; the restore
     * reads that. A wrong key or an altered file stops here. */
    int plain = -1;
    if (key_file == NULL) {
      fprintf(stderr, "cairnd: %s: an encrypted backup: give the backup key file with --key "
                      "FILE; nothing was restored\n", file);
      goto out;
    }
    if ((rc = backup_decrypt(fd, key_file, dir, &plain, why, sizeof why)) != 0) {
      fprintf(stderr, "cairnd: %s: %s; nothing was restored\n", file, why);
      goto out;
    }
    close(fd);
    fd = plain;
    if (fstat(fd, &st) != 0) {
      fprintf(stderr, "cairnd: %s: %s\n", file, strerror(errno));
      goto out;
    }
  }
  if (lseek(fd, 0, SEEK_SET) != 0) {
    fprintf(stderr, "cairnd: %s: %s\n", file, strerror(errno));
    goto out;
  }
  if ((rc = backup_open(fd, (uint64_t)st.st_size, &h, &start, &store_at, why, sizeof why)) != 0) {
    fprintf(stderr, "cairnd: %s: %s; nothing was restored\n", file, why);
    goto out;
  }
  if (restore_dir(dir) != 0)
    goto out;
  snprintf(path, sizeof path, "%s/cairn.conf", dir);
  rc = write_file(path, 0640, h.config, h.config_len);
  snprintf(path, sizeof path, "%s/device.key", dir);
  if (rc == 0)
    rc = cairn_keyfile_write(path, h.secret);
  snprintf(path, sizeof path, "%s/store", dir);
  if (rc == 0 && mkdir(path, 0750) != 0)
    rc = cairn_err_from_errno(errno);
  snprintf(path, sizeof path, "%s/store/data.mdb", dir);
  if (rc == 0 && lseek(fd, (off_t)store_at, SEEK_SET) != (off_t)store_at)
    rc = cairn_err_from_errno(errno);
  if (rc == 0)
    rc = copy_out(fd, h.store_bytes, path, 0640);
  /* the key store follows the store (none before sealing: the store opens
   * and seals itself) */
  snprintf(path, sizeof path, "%s/store/keys", dir);
  if (rc == 0 && h.keys_bytes > 0)
    rc = copy_out(fd, h.keys_bytes, path, 0600);
  if (rc == 0)
    rc = cairn_file_sync_parent(path);
  snprintf(path, sizeof path, "%s/cairn.conf", dir);
  if (rc == 0 && (rc = cairn_config_load(path, &file_config, why, sizeof why)) != 0)
    fprintf(stderr, "cairnd: %s\n", why);
  config = file_config;
  snprintf(path, sizeof path, "%s/device.key", dir);
  if (rc == 0 && (rc = cairn_keyfile_load(path, &sk, why, sizeof why)) != 0)
    fprintf(stderr, "cairnd: %s\n", why);
  if (rc == 0) {
    rc = open_store(&store, dir, sk, &file_config, 0, why, sizeof why);
    if (rc == 0)
      rc = cairn_join_state_load(store, &file_config, &config, why, sizeof why);
    if (rc != 0)
      fprintf(stderr, "cairnd: %s\n", why);
    if (rc == 0 && joined(&config))
      rc = cairn_store_set_restored(store, 1);
    cairn_store_close(store);
  }
  if (rc != 0) { /* nothing half-written stays: DIR is as it was */
    static const char *const made[] = {"store/data.mdb", "store/lock.mdb", "store/keys",
                                       "device.key", "cairn.conf"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", dir, made[i]);
      unlink(path);
    }
    snprintf(path, sizeof path, "%s/store", dir);
    rmdir(path);
    fprintf(stderr, "cairnd: restoring into %s failed: %s; nothing was restored\n", dir,
            cairn_strerror(rc));
    goto out;
  }
  printf("restored device %.8s (%s) from a backup made %s", h.device, h.role,
         ctime(&(time_t){(time_t)h.made}));
  if (joined(&config))
    printf("it refuses local writes until its upstream has sent back this device's log: start "
           "cairnd, then run `cairn sync now`\n");
  status = check_offline(dir, sk, &config);
out:
  sodium_memzero(&h, sizeof h);
  cairn_keyfile_free(sk);
  free(start);
  close(fd);
  return status;
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
  cairn_mirror_run_wake(d->mirror);
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
                                       {"restore", required_argument, NULL, 'r'},
                                       {"key", required_argument, NULL, 'k'},
                                       {"log-level", required_argument, NULL, 'l'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  const char *dir = getenv("CAIRN_DATA"), *level = NULL, *restore_from = NULL, *key_file = NULL;
  char path[PATH_MAX], why[512] = "";
  uint8_t *sk = NULL;
  cairn_device_key_from key_from;
  cairnd d;
  int c, rc, lock_fd = -1, status = 1, check = 0;
  uint64_t batches, puts;

  while ((c = getopt_long(argc, argv, "d:cr:k:l:hV", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      restore_from = optarg;
      break;
    case 'k':
      key_file = optarg;
      break;
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
  if (key_file != NULL && restore_from == NULL) {
    fprintf(stderr, "cairnd: --key goes with --restore\n\n%s", cairn_usage_text);
    return 2;
  }
  if (restore_from != NULL)
    return check ? 2 : restore(restore_from, dir, key_file);
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
  rc = cairn_device_key_load(dir, &sk, &key_from, why, sizeof why);
  if (rc != 0) {
    cairn_log_err("%s", why[0] ? why : cairn_strerror(rc));
    goto out;
  }
  if (key_from.plain_copy)
    cairn_log_warn("%s", key_from.line);
  else
    cairn_log_info("%s", key_from.line);
  if (check) {
    status = check_offline(dir, sk, &d.config);
    goto out;
  }
  rc = open_store(&d.store, dir, sk, &d.config, 0, why, sizeof why);
  if (rc == 0) {
    d.file_config = d.config;
    rc = cairn_join_state_load(d.store, &d.file_config, &d.config, why, sizeof why);
  }
  if (rc != 0) {
    cairn_log_err("%s", why);
    goto out;
  }
  sodium_bin2hex(d.rpc.device_hex, sizeof d.rpc.device_hex, cairn_store_device(d.store),
                 CAIRN_KEY_BYTES);

  uv_loop_init(&d.loop);
  if (cairn_writer_init(&d.writer, &d.loop, d.store) != 0 ||
      cairn_metrics_new(&d.metrics, d.store, d.writer, dir) != 0) {
    cairn_log_err("out of memory");
    goto out_loop;
  }
  cairn_writer_set_metrics(d.writer, d.metrics);
  {
    cairn_links_opts lo = {&d.loop, d.store, d.writer, sk, &d.config, &d.file_config};
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
  if (d.config.postgres[0] != '\0') {
    if (d.config.role == CAIRN_ROLE_CLASSROOM) {
      cairn_log_err("%s: postgres: a PostgreSQL mirror runs on a central or hub, not a "
                    "classroom", d.config_path);
      rc = CAIRN_ECONFIG;
    } else if ((rc = cairn_mirror_conninfo_check(d.config.postgres, why, sizeof why)) != 0) {
      cairn_log_err("%s: %s", d.config_path, why);
    } else if ((rc = cairn_mirror_run_start(&d.mirror, d.store, d.config.postgres)) != 0) {
      cairn_log_err("cannot start the PostgreSQL mirror: %s", cairn_strerror(rc));
    }
    if (rc != 0) {
      cairn_links_close(d.links, NULL, NULL);
      uv_run(&d.loop, UV_RUN_DEFAULT); /* let the handles' closes finish */
      goto out_loop;
    }
  }
  cairn_writer_on_commit(d.writer, on_commit, &d);
  d.rpc.mirror = d.mirror;
  d.rpc.store = d.store;
  d.rpc.writer = d.writer;
  d.rpc.config = &d.config;
  d.rpc.links = d.links;
  d.rpc.metrics = d.metrics;
  cairn_metrics_set_links(d.metrics, d.links);
  cairn_metrics_set_mirror(d.metrics, d.mirror);
  d.rpc.sk = sk;
  d.rpc.config_path = d.config_path;
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
    cairn_web_opts wo = {&d.loop, d.server, &d.config, dir, d.metrics};
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
  cairn_mirror_run_stop(d.mirror); /* before the store closes */
  cairn_report_rpc_free(&d.rpc);
  cairn_web_free(d.web); /* the loop has run its closes */
  cairn_writer_free(d.writer);
  cairn_metrics_free(d.metrics);
  if (uv_loop_close(&d.loop) != 0)
    cairn_log_warn("event loop closed with handles still open");
out:
  cairn_store_close(d.store);
  cairn_keyfile_free(sk);
  if (lock_fd >= 0)
    close(lock_fd);
  return status;
}
