/*
 * store_upgrade.c: the store's format and its migrations (docs/FORMAT.md,
 * "Format versions"): a store written by an older cairn is brought to
 * this build's format, one step per format, inside the one write
 * transaction that opens it; a store written by a newer cairn is refused.
 * The steps themselves are in store_migrations.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store.h"
#include "store_int.h"

static const cairn__store_migration *step_from(const cairn__store_migration *steps,
                                               unsigned from) {
  for (; steps->run != NULL; steps++)
    if (steps->from == from)
      return steps;
  return NULL;
}

int cairn__store_format_get(MDB_txn *txn, MDB_dbi meta, unsigned *format) {
  MDB_val k = {6, "format"}, v;
  int rc = mdb_get(txn, meta, &k, &v);

  *format = 0;
  if (rc == MDB_NOTFOUND)
    return 0;
  if (rc != 0)
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ? CAIRN_ECORRUPT : CAIRN_EIO;
  if (v.mv_size != 1 || *(const uint8_t *)v.mv_data == 0)
    return CAIRN_ECORRUPT;
  *format = *(const uint8_t *)v.mv_data;
  return 0;
}

int cairn__store_format_read(MDB_env *env, unsigned *format) {
  MDB_txn *txn;
  MDB_dbi meta;
  int rc;

  *format = 0;
  if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
    return rc == MDB_CORRUPTED || rc == MDB_INVALID ? CAIRN_ECORRUPT : CAIRN_EIO;
  rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == MDB_NOTFOUND)
    rc = 0; /* a new store */
  else if (rc == 0)
    rc = cairn__store_format_get(txn, meta, format);
  else
    rc = rc == MDB_INCOMPATIBLE || rc == MDB_CORRUPTED ? CAIRN_ECORRUPT : CAIRN_EIO;
  mdb_txn_abort(txn);
  return rc;
}

int cairn__store_migration_check(const cairn__store_migration *steps, unsigned found,
                                 unsigned format) {
  if (found > format)
    return CAIRN_EVERSION;
  for (unsigned f = found; f < format; f++)
    if (step_from(steps, f) == NULL)
      return CAIRN_ECORRUPT; /* no cairn wrote that format */
  return 0;
}

int cairn__store_migrate(cairn_store *s, MDB_txn *txn, const cairn__store_migration *steps,
                         unsigned found, unsigned format) {
  int rc = cairn__store_migration_check(steps, found, format);

  for (unsigned f = found; rc == 0 && f < format; f++)
    rc = step_from(steps, f)->run(s, txn);
  if (rc == 0) {
    uint8_t b = (uint8_t)format;
    MDB_val k = {6, "format"}, v = {1, &b};
    rc = cairn__store_err(s, mdb_put(txn, s->meta, &k, &v, 0), 0);
  }
  return rc;
}

unsigned cairn_store_format_current(void) { return cairn__store_format_now; }

int cairn_store_format(const char *dir, unsigned *format) {
  char path[4096];
  MDB_env *env;
  int rc;

  *format = 0;
  if (snprintf(path, sizeof path, "%s/store", dir) >= (int)sizeof path)
    return CAIRN_ETOOBIG;
  if ((rc = mdb_env_create(&env)) != 0)
    return CAIRN_ENOMEM;
  rc = mdb_env_set_maxdbs(env, 1);
  if (rc == 0)
    rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0640);
  if (rc == 0)
    rc = cairn__store_format_read(env, format);
  else
    rc = rc == ENOENT ? CAIRN_ENOTFOUND : rc > 0 ? cairn_err_from_errno(rc) : CAIRN_ECORRUPT;
  mdb_env_close(env);
  return rc;
}
