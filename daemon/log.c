/* log.c: stderr lines with sd-daemon priority prefixes. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static cairn_log_level max_level = CAIRN_LOG_INFO;
static int prefix = -1; /* -1: not decided yet */

void cairn_log_set_level(cairn_log_level level) { max_level = level; }

int cairn_log_enabled(cairn_log_level level) { return level <= max_level; }

static const char *level_word(cairn_log_level level) {
  switch (level) {
  case CAIRN_LOG_ERR:
    return "error";
  case CAIRN_LOG_WARNING:
    return "warning";
  case CAIRN_LOG_INFO:
    return "info";
  case CAIRN_LOG_DEBUG:
    return "debug";
  }
  return "info";
}

static void log_line(cairn_log_level level, const char *fmt, va_list ap) {
  char line[1024];

  if (prefix < 0)
    prefix = !isatty(STDERR_FILENO);
  vsnprintf(line, sizeof line, fmt, ap);
  /* One fprintf per line so that concurrent writers never interleave. */
  if (prefix)
    fprintf(stderr, "<%d>cairnd: %s\n", (int)level, line);
  else
    fprintf(stderr, "cairnd: %s: %s\n", level_word(level), line);
}

void cairn_log(cairn_log_level level, const char *fmt, ...) {
  va_list ap;

  if (!cairn_log_enabled(level))
    return;
  va_start(ap, fmt);
  log_line(level, fmt, ap);
  va_end(ap);
}

void cairn_log_limit_flush(cairn_log_limit *rl, uint64_t now_ms) {
  if (now_ms - rl->window_start_ms < CAIRN_LOG_LIMIT_WINDOW_MS)
    return;
  if (rl->suppressed > 0)
    cairn_log(CAIRN_LOG_WARNING, "(%llu more lines about %s left out in %d s)",
              (unsigned long long)rl->suppressed, rl->what ? rl->what : "this",
              CAIRN_LOG_LIMIT_WINDOW_MS / 1000);
  rl->window_start_ms = now_ms;
  rl->lines = 0;
  rl->suppressed = 0;
}

void cairn_log_limited(cairn_log_limit *rl, uint64_t now_ms, cairn_log_level level,
                       const char *fmt, ...) {
  va_list ap;

  cairn_log_limit_flush(rl, now_ms);
  if (rl->lines >= CAIRN_LOG_LIMIT_BURST) {
    rl->suppressed++;
    return;
  }
  rl->lines++;
  if (!cairn_log_enabled(level))
    return;
  va_start(ap, fmt);
  log_line(level, fmt, ap);
  va_end(ap);
}
