/* mirror_int.h: what the mirror's files share. */
#ifndef CAIRN_MIRROR_INT_H
#define CAIRN_MIRROR_INT_H

#include "mirror.h"

/* The schema: CREATE ... IF NOT EXISTS / OR REPLACE statements. */
extern const char cairn__mirror_schema_sql[];

#endif
