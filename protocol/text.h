/*
 * text.h: validation of the text that enters cairn: UTF-8, dates, ids.
 * Pure functions; no allocation.
 */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF, no NUL byte), else 0. */
int cairn_text_utf8_valid(const char *s, size_t len);

/* Parses exactly "YYYY-MM-DD" (len bytes, year 1900..9999) into a day number
 * (days since 1970-01-01). Returns 0 or CAIRN_EDATE (bad form or no such
 * day, e.g. 2026-02-30). */
int cairn_text_date_parse(const char *s, size_t len, int32_t *day);

/* Writes day as "YYYY-MM-DD" plus NUL into out[11]. A day before
 * 0000-01-01 or after 9999-12-31 is written as that bound. */
void cairn_text_date_format(int32_t day, char out[11]);

/* Today's day number in local time. */
int32_t cairn_text_today(void);

/* Returns 1 when s[0..len) is a valid student id: 1..64 bytes of
 * [A-Za-z0-9._-]. */
int cairn_text_id_valid(const char *s, size_t len);

/* Copies an untrusted name s[0..len) into out for a one-line message:
 * printable ASCII only (anything else, and ', becomes ?), at most 32 bytes,
 * then "..." when cut; always NUL-terminated. */
#define CAIRN_TEXT_SHOWN_MAX 40
void cairn_text_shown(char out[CAIRN_TEXT_SHOWN_MAX], const char *s, size_t len);

/* Copies len bytes of untrusted text s into out (room for len + 1) for a
 * terminal or a log: printable ASCII stays, every other byte becomes '?'.
 * Always NUL-terminated. */
void cairn_text_printable(char *out, const char *s, size_t len);

/* Writes a duration of ms milliseconds (its sign ignored) in words for
 * people, to the unit that matters: "3 years", "2 days", "5 hours", "7
 * minutes", "40 seconds". out has room for CAIRN_TEXT_DURATION_MAX bytes. */
#define CAIRN_TEXT_DURATION_MAX 32
void cairn_text_duration(int64_t ms, char out[CAIRN_TEXT_DURATION_MAX]);

#endif
