/* frame.c: length-prefixed frames on the local socket (docs/FORMAT.md s.5). */
#include "frame.h"

#include "error.h"

int cairn_frame_decode(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                       size_t *payload_len, size_t *consumed) {
  uint32_t n;

  if (len < CAIRN_FRAME_HEADER)
    return CAIRN_EAGAIN;
  n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
  if (n == 0 || n > max) /* refuse before waiting for (or allocating) the payload */
    return CAIRN_ETOOBIG;
  if (len - CAIRN_FRAME_HEADER < n)
    return CAIRN_EAGAIN;
  *payload = buf + CAIRN_FRAME_HEADER;
  *payload_len = n;
  *consumed = CAIRN_FRAME_HEADER + (size_t)n;
  return 0;
}

void cairn_frame_header(uint8_t hdr[CAIRN_FRAME_HEADER], uint32_t len) {
  hdr[0] = (uint8_t)(len >> 24);
  hdr[1] = (uint8_t)(len >> 16);
  hdr[2] = (uint8_t)(len >> 8);
  hdr[3] = (uint8_t)len;
}
