/*
 * mpcheck.h: a bound on msgpack input before msgpack-c sees it.
 *
 * msgpack-c allocates an array's or map's elements as soon as it reads the
 * container's header, trusting the count in it: five bytes can ask for
 * gigabytes. cairn_mpcheck walks the bytes first, without allocating, and
 * refuses a value whose containers claim more elements than the bytes that
 * remain could hold (every element takes at least one byte).
 */
#ifndef CAIRN_MPCHECK_H
#define CAIRN_MPCHECK_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_MPCHECK_DEPTH 32 /* containers nested deeper are refused */

/* Checks that buf starts with one complete msgpack value whose element
 * counts all fit in len, nested at most CAIRN_MPCHECK_DEPTH deep. Returns
 * 0 and the value's length in *used; CAIRN_EAGAIN when buf ends inside the
 * value; CAIRN_EMALFORMED for a reserved byte (0xc1), an impossible count
 * or too deep a nesting. Pure; allocates nothing. */
int cairn_mpcheck(const uint8_t *buf, size_t len, size_t *used)
    __attribute__((warn_unused_result));

#endif
