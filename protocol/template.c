/* template.c: reading and filling the statement pattern of a milestone
 * template (template.h). */
#include "template.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

/* One piece of a pattern: literal text, or a blank's words. */
typedef struct piece {
  int blank;     /* 1: p[0..n) are a blank's words */
  const char *p; /* literal: the text as it is to appear */
  size_t n;
} piece;

static int fail(char *why, size_t whylen, const char *msg) {
  if (why != NULL && whylen > 0)
    snprintf(why, whylen, "statement: %s", msg);
  return CAIRN_EINVAL;
}

/* Reads the piece at p[*pos]. Returns 1 and *pc, 0 at the end, or
 * CAIRN_EINVAL with why. */
static int next_piece(const char *p, size_t len, size_t *pos, piece *pc, char *why,
                      size_t whylen) {
  size_t i = *pos, k;
  if (i >= len)
    return 0;
  if (p[i] == '}') {
    if (i + 1 >= len || p[i + 1] != '}')
      return fail(why, whylen, "a '}' with no '{' before it (write }} for a brace)");
    *pc = (piece){0, p + i, 1};
    *pos = i + 2;
    return 1;
  }
  if (p[i] != '{') {
    for (k = i; k < len && p[k] != '{' && p[k] != '}'; k++)
      ;
    *pc = (piece){0, p + i, k - i};
    *pos = k;
    return 1;
  }
  if (i + 1 < len && p[i + 1] == '{') {
    *pc = (piece){0, p + i, 1};
    *pos = i + 2;
    return 1;
  }
  for (k = i + 1; k < len && p[k] != '{' && p[k] != '}'; k++)
    ;
  if (k >= len || p[k] != '}')
    return fail(why, whylen, "a '{' with no '}' after it (write {{ for a brace)");
  if (k - i - 1 == 0 || k - i - 1 > CAIRN_TEMPLATE_BLANK_MAX)
    return fail(why, whylen, "a blank {...} holds 1 to 64 bytes");
  size_t sp = 0;
  while (i + 1 + sp < k && p[i + 1 + sp] == ' ')
    sp++;
  if (i + 1 + sp == k)
    return fail(why, whylen, "a blank {...} must name what goes in it");
  *pc = (piece){1, p + i + 1, k - i - 1};
  *pos = k + 1;
  return 1;
}

static int is_name(const piece *pc) {
  return pc->blank && pc->n == 4 && memcmp(pc->p, "name", 4) == 0;
}

/* The distinct blanks of a pattern (not {name}), in order of first
 * appearance, into b[0..*n). Returns 0 or CAIRN_EINVAL with why. */
static int blanks_of(const char *p, size_t len, piece b[CAIRN_TEMPLATE_BLANKS_MAX], size_t *n,
                     char *why, size_t whylen) {
  size_t pos = 0, k;
  piece pc;
  int rc;
  *n = 0;
  while ((rc = next_piece(p, len, &pos, &pc, why, whylen)) == 1) {
    if (!pc.blank || is_name(&pc))
      continue;
    for (k = 0; k < *n && !(b[k].n == pc.n && memcmp(b[k].p, pc.p, pc.n) == 0); k++)
      ;
    if (k < *n)
      continue;
    if (*n == CAIRN_TEMPLATE_BLANKS_MAX)
      return fail(why, whylen, "at most 8 different blanks {...} besides {name}");
    b[(*n)++] = pc;
  }
  return rc;
}

int cairn_template_check(const char *p, size_t len, size_t *nblanks, char *why, size_t whylen) {
  piece b[CAIRN_TEMPLATE_BLANKS_MAX];
  size_t n;
  int rc = blanks_of(p, len, b, &n, why, whylen);
  if (rc == 0 && nblanks != NULL)
    *nblanks = n;
  return rc;
}

int cairn_template_blank(const char *p, size_t len, size_t i, char *out, size_t outlen) {
  piece b[CAIRN_TEMPLATE_BLANKS_MAX];
  size_t n;
  if (outlen > 0)
    out[0] = '\0';
  if (blanks_of(p, len, b, &n, NULL, 0) != 0 || i >= n)
    return CAIRN_ENOTFOUND;
  if (outlen > 0) {
    size_t k = b[i].n < outlen - 1 ? b[i].n : outlen - 1;
    memcpy(out, b[i].p, k);
    out[k] = '\0';
  }
  return 0;
}

/* Appends s[0..n) to out (used of cap). Returns 0 or CAIRN_ETOOBIG. */
static int append(char *out, size_t cap, size_t *used, const char *s, size_t n) {
  if (cap == 0 || n > cap - 1 - *used)
    return CAIRN_ETOOBIG;
  memcpy(out + *used, s, n);
  *used += n;
  out[*used] = '\0';
  return 0;
}

int cairn_template_fill(const char *p, size_t len, const char *name, const char *const *fills,
                        size_t nfills, char *out, size_t outlen, char *why, size_t whylen) {
  piece b[CAIRN_TEMPLATE_BLANKS_MAX], pc;
  size_t n, pos = 0, used = 0, k;
  int rc = blanks_of(p, len, b, &n, why, whylen);
  if (outlen > 0)
    out[0] = '\0';
  if (rc != 0)
    return rc;
  if (nfills != n) {
    char list[CAIRN_TEMPLATE_BLANKS_MAX * (CAIRN_TEMPLATE_BLANK_MAX + 4)] = "";
    size_t at = 0;
    for (k = 0; k < n; k++)
      at += (size_t)snprintf(list + at, sizeof list - at, "%s{%.*s}", k ? ", " : "",
                             (int)b[k].n, b[k].p);
    if (why != NULL && whylen > 0) {
      if (n == 0)
        snprintf(why, whylen, "fill: the template's statement has no blank to complete; "
                              "leave out --fill");
      else
        snprintf(why, whylen,
                 "fill: the template's statement has %zu blank%s to complete (%s); give one "
                 "--fill for each, in that order",
                 n, n == 1 ? "" : "s", list);
    }
    return CAIRN_EINVAL;
  }
  while (rc == 0 && (rc = next_piece(p, len, &pos, &pc, why, whylen)) == 1) {
    if (!pc.blank) {
      rc = append(out, outlen, &used, pc.p, pc.n);
    } else if (is_name(&pc)) {
      rc = append(out, outlen, &used, name, strlen(name));
    } else {
      for (k = 0; !(b[k].n == pc.n && memcmp(b[k].p, pc.p, pc.n) == 0); k++)
        ;
      rc = append(out, outlen, &used, fills[k], strlen(fills[k]));
    }
  }
  if (rc == CAIRN_ETOOBIG && why != NULL && whylen > 0)
    snprintf(why, whylen, "statement: the filled statement is longer than %zu bytes",
             outlen > 0 ? outlen - 1 : 0);
  return rc;
}
