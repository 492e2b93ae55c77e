/* mpcheck.c: element counts checked against the bytes that remain. */
#include "mpcheck.h"

#include "error.h"

/* Reads an n-byte big-endian length at p. */
static uint64_t be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

int cairn_mpcheck(const uint8_t *buf, size_t len, size_t *used) {
  uint64_t pending[CAIRN_MPCHECK_DEPTH + 1]; /* elements left per open container */
  uint64_t total = 1;                        /* elements left in all of them */
  size_t depth = 0, off = 0;

  pending[0] = 1; /* the value itself */
  while (total > 0) {
    uint8_t b;
    uint64_t skip = 0, count = 0; /* bytes after the header; elements it opens */
    size_t hdr = 1;

    if (off >= len)
      return CAIRN_EAGAIN;
    b = buf[off];
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      /* fixint, nil, booleans */
    } else if (b <= 0x8f) {
      count = 2u * (b & 0x0f);
    } else if (b <= 0x9f) {
      count = b & 0x0f;
    } else if (b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      static const uint8_t lens[] = {
          /* c4 bin8..  */ 1, 2, 4, /* c7 ext8.. */ 1, 2, 4, /* ca f32 */ 4, 8,
          /* cc uint8.. */ 1, 2, 4, 8, /* d0 int8.. */ 1, 2, 4, 8,
          /* d4 fixext */ 2, 3, 5, 9, 17, /* d9 str8.. */ 1, 2, 4,
          /* dc array16/32 */ 2, 4, /* de map16/32 */ 2, 4};
      if (b == 0xc1)
        return CAIRN_EMALFORMED;
      hdr = 1 + lens[b - 0xc4];
      if (len - off < hdr)
        return CAIRN_EAGAIN;
      if (b >= 0xc4 && b <= 0xc6)
        skip = be(buf + off + 1, hdr - 1);
      else if (b >= 0xc7 && b <= 0xc9)
        skip = be(buf + off + 1, hdr - 1) + 1; /* + the type byte */
      else if (b >= 0xd9 && b <= 0xdb)
        skip = be(buf + off + 1, hdr - 1);
      else if (b == 0xdc || b == 0xdd)
        count = be(buf + off + 1, hdr - 1);
      else if (b == 0xde || b == 0xdf)
        count = 2 * be(buf + off + 1, hdr - 1);
      /* numbers and fixext: the "header" is the whole value */
    }
    if (len - off < hdr)
      return CAIRN_EAGAIN;
    off += hdr;
    if (skip > len - off)
      return CAIRN_EAGAIN;
    off += (size_t)skip;
    /* this element is done */
    pending[depth]--;
    total--;
    if (count > 0) {
      /* everything still expected needs a byte each */
      if (count > len - off || total + count > len - off)
        return CAIRN_EAGAIN; /* these elements cannot fit in what is left */
      if (depth == CAIRN_MPCHECK_DEPTH)
        return CAIRN_EMALFORMED;
      pending[++depth] = count;
      total += count;
    }
    while (depth > 0 && pending[depth] == 0)
      depth--;
  }
  *used = off;
  return 0;
}
