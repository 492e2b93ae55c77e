/*
 * store_migrations.c: the store's format steps, alone in this file so that
 * a test build can link its own (tests/upgrade/next_format.c) in place of
 * this object, with the rest of the store and cairnd unchanged.
 */
#include "store.h"
#include "store_int.h"

/* Format N -> N + 1, in order, ending with {0, NULL}. Format 1 is the first
 * release's: there is nothing to migrate from yet. A change to what the
 * store holds adds a row here (and a fixture: scripts/make-fixture.sh). */
const cairn__store_migration cairn__store_migrations[] = {
    {0, NULL},
};

const unsigned cairn__store_format_now = CAIRN_STORE_FORMAT;
