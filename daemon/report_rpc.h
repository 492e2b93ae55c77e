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
 *     first page (offset 0) `summary` and `future`: the rows of one page
 *     (about 512 KiB), next the offset of the next page or nil after the
 *     last. Every page is computed afresh from the store: a write between
 *     pages may show only in the later ones.
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

#endif
