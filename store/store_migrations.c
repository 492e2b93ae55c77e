/*
 * store_migrations.c: the store's format steps, alone in this file so that
 * a test build can link its own (tests/upgrade/next_format.c) in place of
 * this object, with the rest of the store and cairnd unchanged.
 */
#include "store.h"
#include "store_int.h"

static int nothing_to_change(cairn_store *s, MDB_txn *txn) {
  (void)s;
  (void)txn;
  return 0;
}

/* Format N -> N + 1, in order, ending with {0, NULL}. A change to what the
 * store holds adds a row here (and a fixture: scripts/make-fixture.sh).
 *   1 -> 2: the arrivals and reach indexes (a student's history follows
 *           them; a classroom's chain reaches the classrooms it named),
 *           built from the records.
 *   2 -> 3: the erased database (FORMAT.md section 3.4), which opening
 *           creates: empty, since a store of format 2 erased no one.
 *   3 -> 4: values at rest sealed (FORMAT.md section 8): the step notes
 *           it; the opening then seals in chunks (cairn__store_reseal) and
 *           compacts.
 *   4 -> 5: a long value may be compressed before it is sealed (FORMAT.md
 *           section 8.3). Values of format 4 stay as they are and still
 *           open: nothing to change; the number alone keeps a cairn that
 *           cannot read a compressed value from opening the store.
 *   5 -> 6: a record of one write may refer to that write's log entry
 *           instead of holding it again (FORMAT.md section 8, "Records
 *           of one write"). Records of format 5 stay as they are: nothing
 *           to change; the number keeps a cairn that cannot follow the
 *           reference from opening the store. (A format-5 state made from
 *           a body spelled longer than cairn writes differs from its
 *           rebuild: FORMAT.md section 7.) */
const cairn__store_migration cairn__store_migrations[] = {
    {1, cairn__store_history_reindex},
    {2, cairn__store_erased_begin},
    {3, cairn__store_reseal_begin},
    {4, nothing_to_change},
    {5, nothing_to_change},
    {0, NULL},
};

const unsigned cairn__store_format_now = CAIRN_STORE_FORMAT;
