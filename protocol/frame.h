/*
 * frame.h: length-prefixed frames on the local socket (docs/FORMAT.md s.5).
 *
 * A frame is a 4-byte big-endian length N, 1 <= N <= max, then N bytes.
 * Pure functions; the length is checked before anyone allocates.
 */
#ifndef CAIRN_FRAME_H
#define CAIRN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_FRAME_HEADER 4
#define CAIRN_FRAME_MAX (1024 * 1024)
/* Requests one connection may have unanswered before cairnd stops reading
 * from it (it resumes as replies go out). */
#define CAIRN_FRAME_PIPELINE_MAX 256

/* Looks for one whole frame at the front of buf. On success returns 0, points
 * *payload into buf, sets *payload_len and *consumed (header + payload).
 * Returns CAIRN_EAGAIN when more bytes are needed (nothing consumed), or
 * CAIRN_ETOOBIG when the length field is 0 or over max: the peer is broken
 * and the connection should be dropped. */
int cairn_frame_decode(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                       size_t *payload_len, size_t *consumed) __attribute__((warn_unused_result));

/* Writes the 4-byte header for a payload of len bytes into hdr. */
void cairn_frame_header(uint8_t hdr[CAIRN_FRAME_HEADER], uint32_t len);

#endif
