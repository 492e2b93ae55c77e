/*
 * rpc_int.h: shared inside daemon/ by rpc.c and the request handlers that
 * live in their own files (bundle_rpc.c).
 */
#ifndef CAIRN_RPC_INT_H
#define CAIRN_RPC_INT_H

#include "server.h"

/* A request answered later: its slot, or NULL once its connection closed
 * (then the answer is dropped; the work itself still completes). Every
 * value an rpc handler gives cairn_server_slot_pending is one of these:
 * cairn_rpc_detach clears its slot. */
typedef struct rpc_call {
  cairn_slot *slot;
} rpc_call;

#endif
