/*
 * rpc.h: the local request handlers (docs/FORMAT.md section 5).
 *
 * Decodes one request, checks its shape, and answers it: reads straight
 * from the store on the loop thread, writes through the group-commit
 * writer, replying only after the commit returned. A request that is not
 * one msgpack map with a string "op" breaks the protocol and closes the
 * connection; a well-formed request with bad arguments gets an error reply
 * and the connection stays. The shape (the op, its arguments and their
 * types) is checked first, by cairn_request_decode (protocol/request.h).
 */
#ifndef CAIRN_RPC_H
#define CAIRN_RPC_H

#include "config.h"
#include "link.h"
#include "metrics.h"
#include "server.h"
#include "store.h"
#include "writer.h"

/* The web page's sign-in, served by daemon/web when the page is on (the
 * web module registers these; rpc.c does not know it). */
typedef struct cairn_rpc_web {
  void *arg;
  /* Makes a one-time sign-in link for name (NUL-terminated, checked by
   * the callee): 0 with url filled and *expires (unix seconds), or a
   * negative code with why. */
  int (*signin)(void *arg, const char *name, char *url, size_t urllen, int64_t *expires,
                char *why, size_t whylen);
  /* Ends every session and every unused link; returns how many sessions
   * ended. */
  size_t (*sign_out_all)(void *arg);
} cairn_rpc_web;

typedef struct cairn_rpc {
  cairn_store *store;         /* borrowed */
  cairn_writer *writer;       /* borrowed */
  const cairn_config *config; /* borrowed */
  cairn_links *links;         /* borrowed */
  const uint8_t *sk;          /* borrowed: the device's secret key (opens bundles) */
  const char *config_path;    /* borrowed: DATA/cairn.conf (a backup copies it) */
  const cairn_rpc_web *web;   /* borrowed; NULL when the web page is off */
  cairn_metrics *metrics;     /* borrowed; NULL: nothing counted */
  char device_hex[65];
  struct cairn_mirror_run *mirror; /* borrowed; NULL when no PostgreSQL mirror */
  struct cairn_report_cache *report_cache; /* owned by report_rpc.c; NULL: none */
} cairn_rpc;

/* A cairn_server_handler; arg is a cairn_rpc. */
cairn_handled cairn_rpc_handle(void *arg, cairn_slot *slot, const uint8_t *payload, size_t len,
                               msgpack_sbuffer *frame);

/* A cairn_server_detach: the connection of a pending write closed. */
void cairn_rpc_detach(void *pending);

#endif
