/*
 * fuzz_transport.c: cairn_transport_record and cairn_transport_reader_open,
 * the receive path of a sync connection after the handshake.
 *
 * A forged record never authenticates, so random bytes alone would stop at
 * the first Poly1305 check. The first input byte therefore picks a mode:
 *
 *   bit 0 clear: "sealed". Each record body is taken as the plaintext of a
 *     record (flag byte, then a fragment); the target encrypts it with a
 *     fixed-key cipher and hands the ciphertext to the reader, which shares
 *     the key. This reaches the flag check, the size limit and reassembly.
 *   bit 0 set: "raw". Each record body goes to the reader as it is, as from
 *     an attacker without the key.
 *   bits 1-3: the reader's message limit, from a table.
 *
 * Every whole message goes to cairn_sync_decode, as the link does, and is
 * sealed again with cairn_transport_seal and reassembled by a second reader,
 * which must yield the same bytes. After any failure the reader's cipher
 * must refuse everything (fail closed).
 */
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "fuzz.h"
#include "noise.h"
#include "sync.h"
#include "transport.h"

static const size_t limits[8] = {0, 1, 16, 1000, 65535, 65536, 200000, CAIRN_SYNC_MSG_MAX};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

static void cipher_fixed(cairn_noise_cipher *c) {
  memset(c, 0, sizeof *c);
  memset(c->k, 0x42, sizeof c->k);
  c->has_key = 1;
}

/* Seals msg into records and reassembles them: the bytes must come back. */
static void check_reseal(const uint8_t *msg, size_t len, size_t max) {
  cairn_noise_cipher tx, rx;
  cairn_transport_reader r;
  msgpack_sbuffer sb;
  size_t off = 0;
  int complete = 0;

  cipher_fixed(&tx);
  cipher_fixed(&rx);
  msgpack_sbuffer_init(&sb);
  FUZZ_CHECK(cairn_transport_seal(&tx, msg, len, &sb) == 0);
  FUZZ_CHECK(cairn_transport_reader_init(&r, max) == 0);
  while (off < sb.size) {
    const uint8_t *body;
    size_t body_len, consumed;
    FUZZ_CHECK(!complete);
    FUZZ_CHECK(cairn_transport_record((const uint8_t *)sb.data + off, sb.size - off, &body,
                                      &body_len, &consumed) == 0);
    FUZZ_CHECK(cairn_transport_reader_open(&r, &rx, body, body_len, &complete) == 0);
    off += consumed;
  }
  FUZZ_CHECK(complete && r.len == len && (len == 0 || memcmp(r.msg, msg, len) == 0));
  cairn_transport_reader_free(&r);
  msgpack_sbuffer_destroy(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t ct[CAIRN_NOISE_MAX_MSG];
  cairn_noise_cipher tx, rx;
  cairn_transport_reader r;
  size_t off = 1, max;
  int raw;

  if (size < 1)
    return 0;
  raw = data[0] & 1;
  max = limits[(data[0] >> 1) & 7];
  cipher_fixed(&tx);
  cipher_fixed(&rx);
  if (cairn_transport_reader_init(&r, max) != 0)
    return 0;

  while (off < size) {
    const uint8_t *body = NULL;
    size_t body_len = 0, consumed = 0;
    int complete = 0, rc;

    rc = cairn_transport_record(data + off, size - off, &body, &body_len, &consumed);
    if (rc != 0) {
      FUZZ_CHECK(rc == CAIRN_EAGAIN || rc == CAIRN_EMALFORMED);
      break;
    }
    FUZZ_CHECK(body_len >= 1 && body_len <= CAIRN_NOISE_MAX_MSG);
    FUZZ_CHECK(consumed == CAIRN_TRANSPORT_HEADER + body_len);
    FUZZ_CHECK(body == data + off + CAIRN_TRANSPORT_HEADER);
    FUZZ_CHECK(fuzz_inside(data, size, body, body_len));
    {
      const uint8_t *b2;
      size_t l2, c2;
      FUZZ_CHECK(cairn_transport_record(data + off, consumed - 1, &b2, &l2, &c2) == CAIRN_EAGAIN);
    }
    off += consumed;

    if (!raw) { /* the body is a plaintext: seal it as the peer would */
      size_t n = body_len > CAIRN_NOISE_MAX_MSG - CAIRN_NOISE_TAG_BYTES
                     ? CAIRN_NOISE_MAX_MSG - CAIRN_NOISE_TAG_BYTES
                     : body_len;
      FUZZ_CHECK(cairn_noise_encrypt(&tx, NULL, 0, body, n, ct) == 0);
      body = ct;
      body_len = n + CAIRN_NOISE_TAG_BYTES;
    }
    rc = cairn_transport_reader_open(&r, &rx, body, body_len, &complete);
    if (rc != 0) {
      FUZZ_CHECK(rc == CAIRN_EBADSIG || rc == CAIRN_ETOOBIG || rc == CAIRN_EMALFORMED ||
                 rc == CAIRN_ENOMEM);
      FUZZ_CHECK(!complete);
      if (rc == CAIRN_EBADSIG) { /* the session is over: nothing decrypts now */
        int c2;
        FUZZ_CHECK(!rx.has_key);
        FUZZ_CHECK(cairn_transport_reader_open(&r, &rx, body, body_len, &c2) != 0);
      }
      break; /* the connection ends on the first error */
    }
    FUZZ_CHECK(r.len <= max && r.len <= r.cap);
    if (complete) {
      cairn_sync_msg m;
      if (cairn_sync_decode(r.msg, r.len, &m) == 0)
        cairn_sync_msg_clear(&m);
      check_reseal(r.msg ? r.msg : (const uint8_t *)"", r.len, max);
    }
  }
  cairn_transport_reader_free(&r);
  return 0;
}
