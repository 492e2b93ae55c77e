/*
 * usage.h: what cairnd --help prints. The manual page cairnd(8) is written
 * from the same text at build time (cairnd_doc.c), so the two cannot
 * drift.
 */
#ifndef CAIRN_USAGE_H
#define CAIRN_USAGE_H

/* Static, NUL-terminated: the usage lines, a blank line, the description,
 * the options (each line "  -x, --name ARG   help"), then exit status. */
extern const char cairn_usage_text[];

#endif
