/*
 * join_state.h: what this node's sync settings are, from cairn.conf and the
 * join its store records (docs/ARCHITECTURE.md, "What a join learns").
 *
 * A join is recorded in the store only (meta "join", in the transaction
 * that pins the central's key); cairnd never writes cairn.conf. The
 * settings in effect are cairn.conf's, with these from the join:
 *   [device] campus, classroom  the scope the central enrolled the device for
 *   [sync] network              the join's (cairn.conf's, if set, must equal it)
 *   [sync] upstream             cairn.conf's when set (a moved central, a
 *                               hub), else the join's
 *   [sync] upstream_key         cairn.conf's when set, else the join's
 * A central never joins: its network id is cairn.conf's, made by `cairn init`.
 */
#ifndef CAIRN_JOIN_STATE_H
#define CAIRN_JOIN_STATE_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Fills *eff with file (cairn.conf as read) and the join s records. A
 * store without a join whose cairn.conf records one (an older cairn wrote
 * the join there: [sync] upstream, upstream_key and network all set) first
 * takes that join into the store, once, in one transaction. Returns 0;
 * CAIRN_ECONFIG with why when cairn.conf's network is not the join's; a
 * store error with why. Loop thread, before the writer has work. */
int cairn_join_state_load(cairn_store *s, const cairn_config *file, cairn_config *eff,
                          char *why, size_t whylen);

/* Sets the settings of *eff that j decides, with file's upstream and
 * upstream_key winning when set (the precedence above). */
void cairn_join_state_apply(const cairn_config *file, const cairn_store_join *j,
                            cairn_config *eff);

#endif
