/*
 * text.h: validation of the text that enters cairn: UTF-8, control
 * characters, dates, ids.
 * Pure functions; no allocation.
 */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Returns 1 when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF, no NUL byte), else 0. */
int cairn_text_utf8_valid(const char *s, size_t len);

/* The one check of text that enters cairn (docs/FORMAT.md section 3.3):
 * s[0..len) must be valid UTF-8 with no control character: none of C0
 * (U+0000..U+001F), DEL (U+007F) or C1 (U+0080..U+009F), except tab and
 * line feed when multiline (notes). Returns 0, or CAIRN_EUTF8 / CAIRN_EINVAL
 * with one line in why naming field and the first offending code point
 * ("name: contains a control character (U+001B), which cairn does not
 * store"; "statement: must be one line (U+000A)"); the text itself never
 * enters why. */
int cairn_text_check(const char *field, const char *s, size_t len, int multiline, char *why,
                     size_t whylen);

/* The years a date may have. */
#define CAIRN_TEXT_YEAR_MIN 1900
#define CAIRN_TEXT_YEAR_MAX 9999

/* Parses exactly "YYYY-MM-DD" (len bytes, year CAIRN_TEXT_YEAR_MIN..MAX)
 * into a day number (days since 1970-01-01). Returns 0; CAIRN_EDATE for a
 * bad form or no such day (2026-02-30); CAIRN_ERANGE for a real day of a
 * year before CAIRN_TEXT_YEAR_MIN (1899-12-31). *day is set only on 0. */
int cairn_text_date_parse(const char *s, size_t len, int32_t *day);

/* Writes day as "YYYY-MM-DD" plus NUL into out[11]. A day before
 * 0000-01-01 or after 9999-12-31 is written as that bound. */
void cairn_text_date_format(int32_t day, char out[11]);

/* Today's day number in local time. */
int32_t cairn_text_today(void);

/* The id grammar (docs/FORMAT.md section 3.1), for every id that enters
 * cairn: a student id a user gives, a generated id (n12-42), a
 * device's hex key. No id reads as a path ("." or "..") or an option
 * ("-rf"). CAIRN_TEXT_ID_RULE says it in words, for messages. */
#define CAIRN_TEXT_ID_MAX 64
#define CAIRN_TEXT_ID_RULE                                                                   \
  "1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'"

/* Returns 1 when s[0..len) is an id: 1..CAIRN_TEXT_ID_MAX bytes of
 * [A-Za-z0-9._-] whose first is not '-' or '.'; else 0. */
int cairn_text_id_valid(const char *s, size_t len);

/* The one check of an id entering cairn, for field (the name a message
 * gives it). Returns 0; CAIRN_ETOOBIG ("id: longer than 64 bytes") or
 * CAIRN_EINVAL ("id: '-rf' is not an id (1 to 64 letters, ...)", the id
 * shown as by cairn_text_shown) with one line in why. */
int cairn_text_id_check(const char *field, const char *s, size_t len, char *why, size_t whylen);

/* Returns 1 when s[0..len) is an id as a log may hold it: 1..64 bytes of
 * [A-Za-z0-9._-], whatever the first (entries written before the first
 * character was restricted). Only for replaying stored entries: an id
 * entering cairn must pass cairn_text_id_valid. */
int cairn_text_id_logged(const char *s, size_t len);

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
 * people, in the largest unit it nearly reaches, rounded to the nearest:
 * "3 years", "2 days", "5 hours", "7 minutes", "40 seconds". out has room
 * for CAIRN_TEXT_DURATION_MAX bytes. */
#define CAIRN_TEXT_DURATION_MAX 32
void cairn_text_duration(int64_t ms, char out[CAIRN_TEXT_DURATION_MAX]);

#endif
