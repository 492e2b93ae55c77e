/*
 * troff.h: text for manual pages. The manual pages cairn(1), cairnd(8) and
 * cairn.conf(5) are written at build time from the tables that drive
 * parsing and --help (client/cli_doc.c, daemon/cairnd_doc.c).
 */
#ifndef CAIRN_TROFF_H
#define CAIRN_TROFF_H

#include <stdio.h>

/* Writes s to out as troff text: a backslash as \e, a dash as \- (so that
 * options can be searched and copied), and a line that would start with a
 * control character (. or ') guarded with \&. */
void cairn_troff_text(FILE *out, const char *s);

/* Writes s as a preformatted block (.nf ... .fi), escaped as
 * cairn_troff_text does; s ends with a newline. */
void cairn_troff_block(FILE *out, const char *s);

/* Writes a page at build time: opens path, has fn write it, closes it.
 * Returns 0, or 1 with the reason on stderr. */
int cairn_troff_write(const char *path, void (*fn)(FILE *out));

#endif
