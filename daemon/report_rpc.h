/*
 * report_rpc.h: the local request `report` (docs/FORMAT.md section 5):
 * the program view of report/report.h, encoded.
 *
 *   report {kind, campus, classroom, grade, type, template, standard,
 *           today, offset}
 *     kind is program, red, reviews or supports; the filters are optional;
 *     today is the as-of day (default: today by this node's clock; after
 *     tomorrow is refused); offset is the first row wanted (default 0).
 *     Reply {kind, as_of, future_after, total, rows, next}, plus on the
 *     first page (offset 0) summary, future (the first 500 milestones with
 *     evidence dated after tomorrow) and future_milestones (how many):
 *     rows are one page (about 512 KiB), next the offset of the next page
 *     or nil after the last. The report read for the first page is kept for the next ones
 *     (r->report_cache: one report, until its last page is read or
 *     another report is asked for), so that the pages are one snapshot;
 *     when something was committed in between, the page is computed
 *     afresh and may differ from the pages before it.
 *
 * Computed on the loop thread, like status. The shapes of the rows and of
 * the summary are those `cairn report --json` prints (cairn --help).
 */
#ifndef CAIRN_REPORT_RPC_H
#define CAIRN_REPORT_RPC_H

#include <msgpack.h>

#include "rpc.h"

/* Answers a decoded report request into pk (a reply or an error). */
void cairn_report_rpc(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk);

/* Frees the report kept between pages (r->report_cache), if any. */
void cairn_report_rpc_free(cairn_rpc *r);

#endif
