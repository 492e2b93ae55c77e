/*
 * bundle_rpc.h: the local requests that write and read files: offline
 * bundles (docs/PROTOCOL.md section 7; the file format is protocol/bundle.h)
 * and backups (docs/FORMAT.md section 6; protocol/backup.h).
 *
 *   bundle_export {path}: on a classroom or hub, writes the entries of this
 *     device's log that the central lacks (after its latest receipt) to the
 *     absolute path, which must not exist yet, sealed to the central (and
 *     the upstream hub). Reply {entries, bytes, from, to, path, hub}.
 *   bundle_import {path}: on the central or a hub, opens the bundle at the
 *     absolute path with this node's key, checks that its author is an
 *     enrolled device, and applies its entries exactly as a sync would
 *     (cairn_store_apply_synced, through a writer job). Reply {applied,
 *     refused, reason, author}.
 *
 *   backup {path}: writes a backup of this node (protocol/backup.h: its
 *     device key, cairn.conf and a compacted copy of the store) to the
 *     absolute path, which must not exist yet, mode 0600. Reply {path,
 *     bytes, store_bytes}. The copy runs in the writer's job: local writes
 *     and syncs wait for it (a classroom's store copies in well under a
 *     second).
 *
 * All do their disk work in a writer job, off the loop thread, and answer
 * once it is done (the export's file is durable: fsynced and renamed into
 * place). Each has the shape of a request handler in rpc.c: it packs an
 * immediate error reply into pk, or returns CAIRN_HANDLED_LATER.
 */
#ifndef CAIRN_BUNDLE_RPC_H
#define CAIRN_BUNDLE_RPC_H

#include <msgpack.h>

#include "rpc.h"

cairn_handled cairn_bundle_rpc_export(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk);
cairn_handled cairn_bundle_rpc_backup(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk);
/* Writes a backup of the open store s to path, which must not exist yet,
 * as the backup request does (the same file, temp + fsync + rename), on
 * the calling thread with no transaction open: cairnd calls it before it
 * migrates a store of an older format, before the writer runs.
 * config_path: the cairn.conf to copy in; role: its name; sk: the device
 * key (copied, and wiped after). Returns 0 and *bytes written, or a
 * negative code (CAIRN_EEXISTS when path exists) with why filled. */
int cairn_bundle_rpc_backup_write(cairn_store *s, const char *path, const char *config_path,
                                  const char *role, const uint8_t *sk, uint64_t *bytes,
                                  char *why, size_t whylen);
cairn_handled cairn_bundle_rpc_import(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk);

#endif
