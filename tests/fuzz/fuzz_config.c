/*
 * fuzz_config.c: cairn_config_load on a hostile cairn.conf.
 *
 * The input is the file. It is written to a memfd and read through
 * /proc/self/fd/N, so no disk is touched per run. Checks: every string
 * field stays terminated and every value within its table bounds; a
 * refusal says why, naming the file and line; a file that loads is saved
 * with cairn_config_save (to /dev/shm/cairn-fuzz-config/, or under TMPDIR) and loads
 * back to the same configuration, so what cairn join writes cairnd can read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64], save_path[300];

/* The saved file is removed after every run; the shared directory stays,
 * so a crash leaves at most one small file behind. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  char dir[256];

  (void)argc;
  (void)argv;
  memfd = memfd_create("cairn.conf", 0);
  if (memfd < 0)
    abort();
  snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
  snprintf(dir, sizeof dir, "%s/cairn-fuzz-config", base ? base : "/tmp");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    abort();
  snprintf(save_path, sizeof save_path, "%s/cairn.conf.%ld", dir, (long)getpid());
  return 0;
}

#define TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

static void check_fields(const cairn_config *c) {
  TERMINATED(c->campus);
  TERMINATED(c->classroom);
  TERMINATED(c->name);
  TERMINATED(c->listen);
  TERMINATED(c->advertise);
  TERMINATED(c->upstream);
  TERMINATED(c->upstream_key);
  TERMINATED(c->network);
  FUZZ_CHECK(c->role == CAIRN_ROLE_CLASSROOM || c->role == CAIRN_ROLE_HUB ||
             c->role == CAIRN_ROLE_CENTRAL);
  FUZZ_CHECK(c->log_level == CAIRN_LOG_ERR || c->log_level == CAIRN_LOG_WARNING ||
             c->log_level == CAIRN_LOG_INFO || c->log_level == CAIRN_LOG_DEBUG);
  FUZZ_CHECK(c->map_size_mb >= 1 && c->map_size_mb <= 1048576);
  FUZZ_CHECK(c->clock_offset_ms >= -315360000000LL && c->clock_offset_ms <= 315360000000LL);
}

static void check_same(const cairn_config *a, const cairn_config *b) {
  FUZZ_CHECK(a->role == b->role && a->log_level == b->log_level);
  FUZZ_CHECK(a->map_size_mb == b->map_size_mb && a->clock_offset_ms == b->clock_offset_ms);
  FUZZ_CHECK(strcmp(a->campus, b->campus) == 0);
  FUZZ_CHECK(strcmp(a->classroom, b->classroom) == 0);
  FUZZ_CHECK(strcmp(a->name, b->name) == 0);
  FUZZ_CHECK(strcmp(a->listen, b->listen) == 0);
  FUZZ_CHECK(strcmp(a->advertise, b->advertise) == 0);
  FUZZ_CHECK(strcmp(a->upstream, b->upstream) == 0);
  FUZZ_CHECK(strcmp(a->upstream_key, b->upstream_key) == 0);
  FUZZ_CHECK(strcmp(a->network, b->network) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_config c, again;
  char why[512];
  int rc;

  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
    abort();
  why[0] = '\0';
  rc = cairn_config_load(path, &c, why, sizeof why);
  FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_ECONFIG || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(why[0] != '\0');
    return 0;
  }
  check_fields(&c);

  rc = cairn_config_save(save_path, &c);
  FUZZ_CHECK(rc == 0);
  why[0] = '\0';
  rc = cairn_config_load(save_path, &again, why, sizeof why);
  unlink(save_path);
  if (rc != 0)
    fprintf(stderr, "saved configuration does not load: %s\n", why);
  FUZZ_CHECK(rc == 0);
  check_same(&c, &again);
  return 0;
}
