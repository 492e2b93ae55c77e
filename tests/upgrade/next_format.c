/*
 * next_format.c: the migration steps of a test build of cairnd
 * (cairnd_next_format), linked in place of store/store_migrations.c: this
 * build's format plus one, reached by a test-only step that adds a meta
 * key. It is no format of cairn's: it lets upgrade_test.sh run the real
 * cairnd's upgrade (the backup first, the migration, the way back with
 * the older binaries) before any real step exists.
 */
#include <string.h>

#include "error.h"
#include "store.h"
#include "store_int.h"

/* meta "test-next-format" -> "1" */
static int add_test_key(cairn_store *s, MDB_txn *txn) {
  MDB_val k = {16, "test-next-format"}, v = {1, "1"};
  return mdb_put(txn, s->meta, &k, &v, 0) == 0 ? 0 : CAIRN_EIO;
}

const cairn__store_migration cairn__store_migrations[] = {
    {CAIRN_STORE_FORMAT, add_test_key},
    {0, NULL},
};

const unsigned cairn__store_format_now = CAIRN_STORE_FORMAT + 1;
