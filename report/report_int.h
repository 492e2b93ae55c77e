/*
 * report_int.h: what report.c (the result, the filter, program, red,
 * reviews) and report_supports.c (the phases of supports) share. Internal
 * to report/.
 */
#ifndef CAIRN_REPORT_INT_H
#define CAIRN_REPORT_INT_H

#include <stddef.h>

#include "report.h"

/* Everything a report owns: the view its items point into, and every
 * block allocated for it. */
struct cairn__report_owned {
  cairn_store_status_view *view;
  void **blocks;
  size_t n, cap;
};

/* Allocates n bytes (at least 1) that r owns. Returns NULL when memory ran
 * out. */
void *cairn__report_alloc(cairn_report *r, size_t n);

/* A copy of s (NUL-terminated) that r owns, or NULL. */
char *cairn__report_strdup(cairn_report *r, const char *s);

/* Compares two items by campus, classroom, then their places in the view
 * (student, then milestone): qsort order for the row lists. */
int cairn__report_item_cmp(const void *a, const void *b);

/* Builds the supports report of r over its n items (sorted by
 * cairn__report_item_cmp). Returns 0 or CAIRN_ENOMEM. */
int cairn__report_supports(cairn_report *r, const cairn_report_item *items, size_t n);

#endif
