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

void cairn_log(cairn_log_level level, const char *fmt, ...) {
  char line[1024];
  va_list ap;

  if (!cairn_log_enabled(level))
    return;
  if (prefix < 0)
    prefix = !isatty(STDERR_FILENO);
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One fprintf per line so that concurrent writers never interleave. */
  if (prefix)
    fprintf(stderr, "<%d>cairnd: %s\n", (int)level, line);
  else
    fprintf(stderr, "cairnd: %s: %s\n", level_word(level), line);
}
