/*
 * health.h: whether a node is healthy, judged one way for `cairn health`
 * (client/cli.c) and cairnd's /health page (daemon/web): the daemon
 * serves (whoever asks got an answer from it), the data directory's disk
 * has at least CAIRN_HEALTH_DISK_MIN bytes free, and, on a node with an
 * upstream, the upstream link last succeeded within `within` seconds.
 *
 * cairn_health_judge is pure (the facts come in, the verdict and its
 * sentences go out); cairn_health_disk_free reads the file system.
 */
#ifndef CAIRN_HEALTH_H
#define CAIRN_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_HEALTH_DISK_MIN (64ull << 20) /* bytes free the data directory needs */
#define CAIRN_HEALTH_WITHIN_DEFAULT 3600    /* seconds, when the caller gives none */

/* The facts a verdict is made of. */
typedef struct cairn_health_facts {
  int disk_known;          /* 0: the free space could not be read (unhealthy) */
  uint64_t disk_free;      /* bytes an unprivileged writer may still use */
  int has_upstream;        /* this node syncs to an upstream */
  int64_t upstream_success;/* unix seconds of its last success; 0: never */
  int64_t now;             /* unix seconds */
  int64_t within;          /* seconds; above 0 */
} cairn_health_facts;

/* Judges f. Writes into text (always NUL-terminated, cut to len) either
 * one line "healthy: cairnd serves; N MiB free on its disk[; the upstream
 * link succeeded T ago]\n", or one line "unhealthy: REASON\n" for each
 * failed check, naming the data directory as dir. Returns 1 when healthy,
 * 0 when not. Pure. */
int cairn_health_judge(const cairn_health_facts *f, const char *dir, char *text, size_t len);

/* Bytes free for an unprivileged writer on dir's file system, in *out.
 * Returns 0, or a negative CAIRN_E* code (the statvfs failed). */
int cairn_health_disk_free(const char *dir, uint64_t *out);

/* Writes how long d seconds is, for a person: "12 s", "5 min", "3 h",
 * "2 d" (a negative d as 0). */
void cairn_health_ago(int64_t d, char *out, size_t size);

#endif
