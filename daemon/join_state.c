/* join_state.c: the sync settings in effect, from cairn.conf and the
 * store's join (join_state.h). */
#include "join_state.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "log.h"

/* Reads hex (exactly 2 * n digits) into out. Returns 0 or -1. */
static int unhex_exact(const char *hex, uint8_t *out, size_t n) {
  size_t got = 0;
  if (strlen(hex) != 2 * n || sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, NULL) != 0 ||
      got != n)
    return -1;
  return 0;
}

/* Whether file records a join, as an older cairn wrote it: the upstream,
 * its key and the network set. Fills *j from it when so. */
static int older_join(const cairn_config *file, cairn_store_join *j) {
  memset(j, 0, sizeof *j);
  if (file->upstream[0] == '\0' || strlen(file->upstream) >= sizeof j->upstream ||
      unhex_exact(file->upstream_key, j->upstream_key, sizeof j->upstream_key) != 0 ||
      unhex_exact(file->network, j->network, sizeof j->network) != 0)
    return 0;
  snprintf(j->scope.campus, sizeof j->scope.campus, "%s", file->campus);
  snprintf(j->scope.classroom, sizeof j->scope.classroom, "%s", file->classroom);
  snprintf(j->upstream, sizeof j->upstream, "%s", file->upstream);
  return 1;
}

void cairn_join_state_apply(const cairn_config *file, const cairn_store_join *j,
                            cairn_config *eff) {
  snprintf(eff->campus, sizeof eff->campus, "%s", j->scope.campus);
  snprintf(eff->classroom, sizeof eff->classroom, "%s", j->scope.classroom);
  sodium_bin2hex(eff->network, sizeof eff->network, j->network, sizeof j->network);
  snprintf(eff->upstream, sizeof eff->upstream, "%s",
           file->upstream[0] != '\0' ? file->upstream : j->upstream);
  if (file->upstream_key[0] != '\0')
    snprintf(eff->upstream_key, sizeof eff->upstream_key, "%s", file->upstream_key);
  else
    sodium_bin2hex(eff->upstream_key, sizeof eff->upstream_key, j->upstream_key,
                   sizeof j->upstream_key);
}

int cairn_join_state_load(cairn_store *s, const cairn_config *file, cairn_config *eff,
                          char *why, size_t whylen) {
  cairn_store_join j;
  char network[2 * CAIRN_STORE_NETWORK_BYTES + 1];
  int rc;

  *eff = *file;
  if (file->role == CAIRN_ROLE_CENTRAL)
    return 0;
  rc = cairn_store_join_get(s, &j);
  if (rc == CAIRN_ENOTFOUND) {
    if (!older_join(file, &j))
      return 0;
    if ((rc = cairn_store_join_record(s, NULL, &j)) != 0) {
      snprintf(why, whylen, "cannot take the join cairn.conf recorded into the store: %s",
               cairn_strerror(rc));
      return rc;
    }
    cairn_log_info("took the join cairn.conf recorded into the store (campus '%s', upstream "
                   "%s): the store is its record now, and cairn.conf's [sync] upstream, "
                   "upstream_key and network may be left empty",
                   j.scope.campus, j.upstream);
  } else if (rc != 0) {
    snprintf(why, whylen, "the store's join: %s", cairn_strerror(rc));
    return rc;
  }
  sodium_bin2hex(network, sizeof network, j.network, sizeof j.network);
  if (file->network[0] != '\0' && strcmp(file->network, network) != 0) {
    snprintf(why, whylen,
             "cairn.conf: network: %.16s... is not the network this device joined (%.16s..., "
             "in its store): leave it empty",
             file->network, network);
    return CAIRN_ECONFIG;
  }
  cairn_join_state_apply(file, &j, eff);
  return 0;
}
