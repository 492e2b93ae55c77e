/*
 * rpc_int.h: shared inside daemon/ by rpc.c, the request handlers that
 * live in their own files (bundle_rpc.c), and link.c, which packs the
 * peers and refusals of the sync_status reply.
 */
#ifndef CAIRN_RPC_INT_H
#define CAIRN_RPC_INT_H

#include <msgpack.h>

#include "rpc.h"
#include "server.h"
#include "store.h"

/* Reply pieces every handler packs the same way (docs/FORMAT.md s.5). */
void cairn__rpc_pack_str(msgpack_packer *pk, const char *s);
/* Starts {"ok": true, ...} with n more pairs to follow. */
void cairn__rpc_pack_ok(msgpack_packer *pk, size_t n);
/* Packs {"ok": false, code, error, message}; message NULL or "": the
 * code's sentence. */
void cairn__rpc_pack_error(msgpack_packer *pk, int code, const char *message);

/* Values as every reply packs them (view_pack.c): text or nil (NULL);
 * a day as "YYYY-MM-DD" or nil (CAIRN_PROGRESS_NO_DAY); true or false; a
 * number or nil when it is not valid. */
void cairn__rpc_pack_text(msgpack_packer *pk, const char *s);
void cairn__rpc_pack_day(msgpack_packer *pk, int32_t day);
void cairn__rpc_pack_bool(msgpack_packer *pk, int b);
void cairn__rpc_pack_num_if(msgpack_packer *pk, int valid, double v);

/* The typed views of the store as the replies of docs/FORMAT.md s.5
 * (view_pack.c): status packs the array of student summaries, history one
 * record map. */
void cairn__rpc_pack_status(msgpack_packer *pk, const cairn_store_status_view *v);
void cairn__rpc_pack_history(msgpack_packer *pk, const cairn_store_history *h);
/* Packs a detail view as the reply's three pairs as_of, student and
 * milestones (FORMAT.md section 5, op detail); the caller packs the map. */
void cairn__rpc_pack_detail(msgpack_packer *pk, const cairn_store_detail_view *v);

/* Finds the one enrolled device whose id starts with prefix (8 to 64 hex
 * digits, as `cairn devices` shows them) and writes its full id (64 hex
 * and a NUL) into id. Returns 0; CAIRN_EINVAL (too short, or several
 * match) or CAIRN_ENOTFOUND (none does) with why naming the field
 * "device"; or a store error. Loop thread. */
int cairn__rpc_resolve_device(cairn_rpc *r, const char *prefix, char id[65], char *why,
                              size_t whylen);

/* A request answered later: its slot, or NULL once its connection closed
 * (then the answer is dropped; the work itself still completes). Every
 * value an rpc handler gives cairn_server_slot_pending is one of these:
 * cairn_rpc_detach clears its slot. */
typedef struct rpc_call {
  cairn_slot *slot;
} rpc_call;

#endif
