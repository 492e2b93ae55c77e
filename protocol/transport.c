/* transport.c: Noise records and message fragments. */
#include "transport.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

int cairn_transport_record(const uint8_t *buf, size_t len, const uint8_t **body, size_t *body_len,
                           size_t *consumed) {
  size_t n;

  if (len < CAIRN_TRANSPORT_HEADER)
    return CAIRN_EAGAIN;
  n = (size_t)buf[0] << 8 | buf[1];
  if (n == 0)
    return CAIRN_EMALFORMED;
  if (len - CAIRN_TRANSPORT_HEADER < n)
    return CAIRN_EAGAIN;
  *body = buf + CAIRN_TRANSPORT_HEADER;
  *body_len = n;
  *consumed = CAIRN_TRANSPORT_HEADER + n;
  return 0;
}

static int put_header(msgpack_sbuffer *out, size_t n) {
  uint8_t hdr[CAIRN_TRANSPORT_HEADER] = {(uint8_t)(n >> 8), (uint8_t)n};

  return msgpack_sbuffer_write(out, (const char *)hdr, sizeof hdr) == 0 ? 0 : CAIRN_ENOMEM;
}

int cairn_transport_put_record(msgpack_sbuffer *out, const uint8_t *p, size_t len) {
  size_t before = out->size;

  if (len == 0 || len > CAIRN_NOISE_MAX_MSG)
    return CAIRN_ETOOBIG;
  if (put_header(out, len) != 0 || msgpack_sbuffer_write(out, (const char *)p, len) != 0) {
    out->size = before;
    return CAIRN_ENOMEM;
  }
  return 0;
}

int cairn_transport_seal(cairn_noise_cipher *c, const uint8_t *msg, size_t len,
                         msgpack_sbuffer *out) {
  uint8_t plain[1 + CAIRN_TRANSPORT_FRAGMENT_MAX];
  size_t before = out->size, off = 0;
  int rc = 0;

  do {
    size_t n = len - off < CAIRN_TRANSPORT_FRAGMENT_MAX ? len - off : CAIRN_TRANSPORT_FRAGMENT_MAX;
    size_t rec = 1 + n + CAIRN_NOISE_TAG_BYTES;

    plain[0] = off + n < len ? CAIRN_TRANSPORT_MORE : 0;
    memcpy(plain + 1, msg + off, n);
    /* Make room for header + ciphertext, then encrypt in place there. */
    if ((rc = put_header(out, rec)) != 0)
      break;
    if (out->alloc - out->size < rec) {
      char *grown = realloc(out->data, out->size + rec);
      if (grown == NULL) {
        rc = CAIRN_ENOMEM;
        break;
      }
      out->data = grown;
      out->alloc = out->size + rec;
    }
    rc = cairn_noise_encrypt(c, NULL, 0, plain, 1 + n, (uint8_t *)out->data + out->size);
    if (rc != 0)
      break;
    out->size += rec;
    off += n;
  } while (off < len);
  if (rc != 0)
    out->size = before;
  return rc;
}

int cairn_transport_reader_init(cairn_transport_reader *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max;
  return 0;
}

/* The first buffer a message gets; it doubles from there, up to max. */
#define READER_FIRST 4096

int cairn_transport_reader_open(cairn_transport_reader *r, cairn_noise_cipher *c,
                                const uint8_t *body, size_t len, int *complete) {
  size_t n;
  uint8_t *at, kept, flags;
  int rc;

  *complete = 0;
  if (r->done) { /* the previous message was handed out: start anew */
    r->len = 0;
    r->done = 0;
  }
  if (len < 1 + CAIRN_NOISE_TAG_BYTES)
    return CAIRN_EMALFORMED;
  n = len - CAIRN_NOISE_TAG_BYTES - 1;
  if (n > r->max - r->len)
    return CAIRN_ETOOBIG;
  if (r->buf == NULL || r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : r->hint ? r->hint : READER_FIRST;
    uint8_t *grown;
    while (cap < r->len + n)
      cap *= 2;
    if (cap > r->max)
      cap = r->max;
    if ((grown = realloc(r->buf, cap + 1)) == NULL)
      return CAIRN_ENOMEM;
    r->buf = grown;
    r->msg = grown + 1;
    r->cap = cap;
  }
  /* The plaintext is the flag byte, then the fragment: decrypted where
   * the fragment belongs, its flag byte lands on the message's last byte
   * so far (or the buffer's first), which is put back after. */
  at = r->msg + r->len - 1;
  kept = *at;
  rc = cairn_noise_decrypt(c, NULL, 0, body, len, at);
  flags = *at;
  *at = kept;
  if (rc != 0)
    return rc;
  if (flags & ~CAIRN_TRANSPORT_MORE)
    return CAIRN_EMALFORMED;
  r->len += n;
  r->done = *complete = !(flags & CAIRN_TRANSPORT_MORE);
  return 0;
}

void cairn_transport_reader_release(cairn_transport_reader *r) {
  if (r->len != 0 && !r->done)
    return; /* part-way through a message */
  free(r->buf);
  if (r->buf != NULL)
    r->hint = r->cap;
  r->buf = r->msg = NULL;
  r->len = r->cap = 0;
  r->done = 0;
}

void cairn_transport_reader_free(cairn_transport_reader *r) {
  free(r->buf);
  memset(r, 0, sizeof *r);
}
