/*
 * template.h: the statement pattern of a milestone template (docs/FORMAT.md
 * section 3.2, `template`).
 *
 * A pattern is the statement with blanks in braces:
 *   "{name}"     the student's name, as the student record has it;
 *   "{WORDS}"    any other blank (1 to 64 bytes, no brace): words the
 *                teacher completes for this student ("{number} pages");
 *                a blank named twice is filled once, with the same words;
 *   "{{", "}}"   a literal brace.
 * E.g. "I will read {number} pages of a {kind of text} each day." has two
 * blanks to complete. Blanks are counted in the order they first appear.
 *
 * Pure: no allocation, no globals. Text is borrowed for the call only.
 */
#ifndef CAIRN_TEMPLATE_H
#define CAIRN_TEMPLATE_H

#include <stddef.h>

#define CAIRN_TEMPLATE_BLANKS_MAX 8 /* blanks to complete, {name} aside */
#define CAIRN_TEMPLATE_BLANK_MAX 64 /* bytes of a blank's words */

/* Checks the pattern p[0..len): every brace paired or doubled, each blank
 * 1 to CAIRN_TEMPLATE_BLANK_MAX bytes with no brace inside and not only
 * spaces, at most CAIRN_TEMPLATE_BLANKS_MAX distinct blanks besides
 * {name}. Returns 0 and *nblanks (the distinct blanks to complete; may be
 * NULL), or CAIRN_EINVAL with one line in why (may be NULL) that starts
 * with "statement: ". */
int cairn_template_check(const char *p, size_t len, size_t *nblanks, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Writes the words of blank i (0-based, in order of first appearance,
 * {name} not counted) of a pattern that passed cairn_template_check into
 * out, as they are, NUL-terminated (truncated to outlen - 1 bytes).
 * Returns 0, or CAIRN_ENOTFOUND when there are not that many blanks. */
int cairn_template_blank(const char *p, size_t len, size_t i, char *out, size_t outlen);

/* Fills a pattern that passed cairn_template_check: {name} with name (NUL-
 * terminated), blank i with fills[i] (nfills must equal its blanks). Writes
 * the statement into out, NUL-terminated. Returns 0; CAIRN_EINVAL when
 * nfills is not the number of blanks (why lists them: "the template's
 * statement has 2 blanks to complete ({number}, {kind of text}); give one
 * --fill for each, in that order"), or when the pattern is not valid;
 * CAIRN_ETOOBIG when the statement would not fit in outlen - 1 bytes. */
int cairn_template_fill(const char *p, size_t len, const char *name, const char *const *fills,
                        size_t nfills, char *out, size_t outlen, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif
