/* health.c: one verdict for `cairn health` and /health (health.h). */
#include "health.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "error.h"

void cairn_health_ago(int64_t d, char *out, size_t size) {
  if (d < 0)
    d = 0;
  if (d < 120)
    snprintf(out, size, "%" PRId64 " s", d);
  else if (d < 2 * 3600)
    snprintf(out, size, "%" PRId64 " min", d / 60);
  else if (d < 2 * 86400)
    snprintf(out, size, "%" PRId64 " h", d / 3600);
  else
    snprintf(out, size, "%" PRId64 " d", d / 86400);
}

/* Appends to text at *n, within len. */
static void add(char *text, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *text, size_t len, size_t *n, const char *fmt, ...) {
  va_list ap;
  int w;

  if (*n >= len)
    return;
  va_start(ap, fmt);
  w = vsnprintf(text + *n, len - *n, fmt, ap);
  va_end(ap);
  if (w > 0)
    *n = *n + (size_t)w < len ? *n + (size_t)w : len - 1;
}

int cairn_health_judge(const cairn_health_facts *f, const char *dir, char *text, size_t len) {
  char since[32], words[400];
  size_t n = 0, wn = 0;
  int bad = 0;

  if (len == 0)
    return 0;
  text[0] = '\0';
  add(words, sizeof words, &wn, "cairnd serves");
  if (!f->disk_known) {
    add(text, len, &n, "unhealthy: %s: cannot read its file system's free space\n", dir);
    bad = 1;
  } else {
    if (f->disk_free < CAIRN_HEALTH_DISK_MIN) {
      add(text, len, &n,
          "unhealthy: only %llu MiB free on the data directory's disk (at least %llu needed)\n",
          (unsigned long long)(f->disk_free >> 20), CAIRN_HEALTH_DISK_MIN >> 20);
      bad = 1;
    }
    add(words, sizeof words, &wn, "; %llu MiB free on its disk",
        (unsigned long long)(f->disk_free >> 20));
  }
  if (f->has_upstream) {
    cairn_health_ago(f->now - f->upstream_success, since, sizeof since);
    if (f->upstream_success <= 0) {
      add(text, len, &n, "unhealthy: the upstream link has never succeeded\n");
      bad = 1;
    } else if (f->now - f->upstream_success > f->within) {
      add(text, len, &n,
          "unhealthy: the upstream link last succeeded %s ago (more than %" PRId64 " s)\n", since,
          f->within);
      bad = 1;
    } else {
      add(words, sizeof words, &wn, "; the upstream link succeeded %s ago", since);
    }
  }
  if (!bad)
    add(text, len, &n, "healthy: %s\n", words);
  return !bad;
}

int cairn_health_disk_free(const char *dir, uint64_t *out) {
  struct statvfs vfs;

  if (statvfs(dir, &vfs) != 0)
    return cairn_err_from_errno(errno);
  *out = (uint64_t)vfs.f_bavail * vfs.f_frsize;
  return 0;
}
