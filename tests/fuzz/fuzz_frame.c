/*
 * fuzz_frame.c: cairn_frame_decode over a stream of local-socket bytes.
 *
 * Decodes frames one after another, as cairnd does with what a client sent,
 * under the real limit and under a tiny one. Checks: the payload lies inside
 * the input right after its header, consumed is header + payload, the
 * length respects max, and every strict prefix of a whole frame asks for
 * more input instead of failing or succeeding.
 */
#include <string.h>

#include "error.h"
#include "frame.h"
#include "fuzz.h"

static void decode_stream(const uint8_t *data, size_t size, size_t max) {
  size_t off = 0;

  while (off < size) {
    const uint8_t *payload = NULL;
    size_t payload_len = 0, consumed = 0;
    int rc = cairn_frame_decode(data + off, size - off, max, &payload, &payload_len, &consumed);

    if (rc != 0) {
      FUZZ_CHECK(rc == CAIRN_EAGAIN || rc == CAIRN_ETOOBIG);
      return;
    }
    FUZZ_CHECK(payload_len >= 1 && payload_len <= max);
    FUZZ_CHECK(consumed == CAIRN_FRAME_HEADER + payload_len);
    FUZZ_CHECK(payload == data + off + CAIRN_FRAME_HEADER);
    FUZZ_CHECK(fuzz_inside(data, size, payload, payload_len));
    {
      /* The header it would write for this payload is the one it read. */
      uint8_t hdr[CAIRN_FRAME_HEADER];
      cairn_frame_header(hdr, (uint32_t)payload_len);
      FUZZ_CHECK(memcmp(hdr, data + off, CAIRN_FRAME_HEADER) == 0);
    }
    {
      const uint8_t *p2;
      size_t l2, c2;
      FUZZ_CHECK(cairn_frame_decode(data + off, consumed - 1, max, &p2, &l2, &c2) ==
                 CAIRN_EAGAIN);
    }
    off += consumed;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  decode_stream(data, size, CAIRN_FRAME_MAX);
  decode_stream(data, size, 16);
  return 0;
}
