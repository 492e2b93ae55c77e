/*
 * log.h: cairnd's log, one line per event on stderr.
 *
 * Each line starts with the sd-daemon priority prefix ("<6>"), which
 * journald turns into the entry's priority; under a terminal the prefix is
 * left out. Fields follow as key=value. At info level and above nothing
 * personal is logged: ids, types and counts only, never student names or
 * notes (the fields marked CAIRN_F_PERSONAL in protocol/record.h).
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stdint.h>

#include "config.h"

/* Sets the most verbose level that is written (default CAIRN_LOG_INFO). */
void cairn_log_set_level(cairn_log_level level);

/* Returns 1 when lines at level would be written. */
int cairn_log_enabled(cairn_log_level level);

/* Writes one line at level: printf-style, no trailing newline needed. */
void cairn_log(cairn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A limit on log lines that others can make cairnd write (a flood of bad
 * connections must not flood the log too): at most CAIRN_LOG_LIMIT_BURST
 * lines per window of CAIRN_LOG_LIMIT_WINDOW_MS; the lines past that are
 * counted, and the count is written when the next window begins. Zero it
 * to start. */
#define CAIRN_LOG_LIMIT_BURST 5
#define CAIRN_LOG_LIMIT_WINDOW_MS 10000
typedef struct cairn_log_limit {
  const char *what;    /* what its lines are about, for the count (static) */
  uint64_t window_start_ms;
  unsigned lines;      /* written in this window */
  uint64_t suppressed; /* left out in this window */
} cairn_log_limit;

/* cairn_log under the limit rl, at now_ms (a monotonic clock). */
void cairn_log_limited(cairn_log_limit *rl, uint64_t now_ms, cairn_log_level level,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Ends rl's window when it is over at now_ms, writing how many lines it
 * left out, if any ("(1234 more lines about what left out in 10 s)").
 * Call it now and then (a timer), so the count is written even when the
 * flood has stopped. */
void cairn_log_limit_flush(cairn_log_limit *rl, uint64_t now_ms);

#define cairn_log_err(...) cairn_log(CAIRN_LOG_ERR, __VA_ARGS__)
#define cairn_log_warn(...) cairn_log(CAIRN_LOG_WARNING, __VA_ARGS__)
#define cairn_log_info(...) cairn_log(CAIRN_LOG_INFO, __VA_ARGS__)
#define cairn_log_debug(...)                                                   \
  do {                                                                         \
    if (cairn_log_enabled(CAIRN_LOG_DEBUG))                                    \
      cairn_log(CAIRN_LOG_DEBUG, __VA_ARGS__);                                 \
  } while (0)

#endif
