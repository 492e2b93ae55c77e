/* bundle.c: sealing and opening offline bundles (bundle.h). */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"

#define HEAD_BYTES (CAIRN_BUNDLE_MAGIC_BYTES + 1 + CAIRN_KEY_BYTES + 1)
#define SEALED_BYTES (crypto_secretbox_KEYBYTES + crypto_box_SEALBYTES)
#define SLOT_BYTES (CAIRN_KEY_BYTES + SEALED_BYTES)

/* The fixed bytes of a bundle with n recipients, besides the payload. */
static size_t overhead(size_t n) {
  return HEAD_BYTES + n * SLOT_BYTES + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
         crypto_sign_BYTES;
}

int cairn_bundle_seal(const uint8_t sk[CAIRN_SECRET_BYTES],
                      const uint8_t recipients[][CAIRN_KEY_BYTES], size_t n,
                      const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len) {
  uint8_t key[crypto_secretbox_KEYBYTES], xpk[crypto_box_PUBLICKEYBYTES], *buf, *p;
  size_t total;
  int rc = 0;

  *out = NULL;
  *out_len = 0;
  if (n == 0 || n > CAIRN_BUNDLE_RECIPIENTS_MAX)
    return CAIRN_EINVAL;
  if (len > CAIRN_BUNDLE_MAX - overhead(n))
    return CAIRN_ETOOBIG;
  total = overhead(n) + len;
  if ((buf = malloc(total)) == NULL)
    return CAIRN_ENOMEM;

  p = buf;
  memcpy(p, CAIRN_BUNDLE_MAGIC, CAIRN_BUNDLE_MAGIC_BYTES);
  p += CAIRN_BUNDLE_MAGIC_BYTES;
  *p++ = CAIRN_BUNDLE_VERSION;
  crypto_sign_ed25519_sk_to_pk(p, sk);
  p += CAIRN_KEY_BYTES;
  *p++ = (uint8_t)n;

  crypto_secretbox_keygen(key);
  for (size_t i = 0; i < n && rc == 0; i++) {
    memcpy(p, recipients[i], CAIRN_KEY_BYTES);
    p += CAIRN_KEY_BYTES;
    if (crypto_sign_ed25519_pk_to_curve25519(xpk, recipients[i]) != 0 ||
        crypto_box_seal(p, key, sizeof key, xpk) != 0)
      rc = CAIRN_EINVAL;
    p += SEALED_BYTES;
  }
  if (rc == 0) {
    uint8_t *nonce = p;
    randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
    p += crypto_secretbox_NONCEBYTES;
    crypto_secretbox_easy(p, payload, len, nonce, key);
    p += crypto_secretbox_MACBYTES + len;
    crypto_sign_detached(p, NULL, buf, (size_t)(p - buf), sk);
  }
  sodium_memzero(key, sizeof key);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = total;
  return 0;
}

static int fail(int rc, char *why, size_t whylen, const char *msg) {
  snprintf(why, whylen, "%s", msg);
  return rc;
}

int cairn_bundle_open(const uint8_t *buf, size_t len, const uint8_t sk[CAIRN_SECRET_BYTES],
                      uint8_t author[CAIRN_KEY_BYTES], uint8_t **payload, size_t *payload_len,
                      char *why, size_t whylen) {
  uint8_t me[CAIRN_KEY_BYTES], xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
  uint8_t key[crypto_secretbox_KEYBYTES];
  const uint8_t *slots, *nonce, *box, *sealed = NULL;
  size_t n, body, box_len;
  uint8_t *plain;
  int ok;

  *payload = NULL;
  *payload_len = 0;
  /* Shape first: nothing is read past the end, nothing is trusted yet. */
  if (len < CAIRN_BUNDLE_MAGIC_BYTES) {
    if (len == 0 || memcmp(buf, CAIRN_BUNDLE_MAGIC, len) == 0)
      return fail(CAIRN_EMALFORMED, why, whylen, "the bundle is truncated");
    return fail(CAIRN_EMALFORMED, why, whylen, "not a cairn bundle (it does not start with CAIRNBUNDLE1)");
  }
  if (memcmp(buf, CAIRN_BUNDLE_MAGIC, CAIRN_BUNDLE_MAGIC_BYTES) != 0)
    return fail(CAIRN_EMALFORMED, why, whylen, "not a cairn bundle (it does not start with CAIRNBUNDLE1)");
  if (len < HEAD_BYTES)
    return fail(CAIRN_EMALFORMED, why, whylen, "the bundle is truncated");
  if (buf[CAIRN_BUNDLE_MAGIC_BYTES] != CAIRN_BUNDLE_VERSION) {
    snprintf(why, whylen, "bundle version %u: this cairn reads version %d",
             buf[CAIRN_BUNDLE_MAGIC_BYTES], CAIRN_BUNDLE_VERSION);
    return CAIRN_EVERSION;
  }
  n = buf[HEAD_BYTES - 1];
  if (n == 0 || n > CAIRN_BUNDLE_RECIPIENTS_MAX)
    return fail(CAIRN_EMALFORMED, why, whylen,
                "the bundle is damaged: its recipient count is not between 1 and 4");
  if (len < overhead(n))
    return fail(CAIRN_EMALFORMED, why, whylen, "the bundle is truncated");

  /* The author's signature covers every byte before it: check it before
   * anything is decrypted. A cut anywhere past the header lands here. */
  body = len - crypto_sign_BYTES;
  memcpy(author, buf + CAIRN_BUNDLE_MAGIC_BYTES + 1, CAIRN_KEY_BYTES);
  if (crypto_sign_verify_detached(buf + body, buf, body, author) != 0)
    return fail(CAIRN_EBADSIG, why, whylen,
                "the bundle is damaged or tampered with (or truncated): its signature does not verify");

  crypto_sign_ed25519_sk_to_pk(me, sk);
  slots = buf + HEAD_BYTES;
  for (size_t i = 0; i < n; i++)
    if (sodium_memcmp(slots + i * SLOT_BYTES, me, CAIRN_KEY_BYTES) == 0)
      sealed = slots + i * SLOT_BYTES + CAIRN_KEY_BYTES;
  if (sealed == NULL)
    return fail(CAIRN_EPERM, why, whylen,
                "the bundle is not addressed to this node: it was sealed for other devices");

  nonce = slots + n * SLOT_BYTES;
  box = nonce + crypto_secretbox_NONCEBYTES;
  box_len = (size_t)(buf + body - box);
  if (crypto_sign_ed25519_pk_to_curve25519(xpk, me) != 0)
    return fail(CAIRN_EINVAL, why, whylen, "this node's key has no X25519 form");
  crypto_sign_ed25519_sk_to_curve25519(xsk, sk);
  ok = crypto_box_seal_open(key, sealed, SEALED_BYTES, xpk, xsk) == 0;
  sodium_memzero(xsk, sizeof xsk);
  if (!ok)
    return fail(CAIRN_EBADSIG, why, whylen,
                "the bundle's key does not decrypt with this node's key: it was sealed wrongly");
  /* +1: a valid empty payload still gets a non-NULL buffer. */
  if ((plain = malloc(box_len - crypto_secretbox_MACBYTES + 1)) == NULL) {
    sodium_memzero(key, sizeof key);
    return CAIRN_ENOMEM;
  }
  ok = crypto_secretbox_open_easy(plain, box, box_len, nonce, key) == 0;
  sodium_memzero(key, sizeof key);
  if (!ok) {
    free(plain);
    return fail(CAIRN_EBADSIG, why, whylen, "the bundle's contents do not decrypt: damaged");
  }
  *payload = plain;
  *payload_len = box_len - crypto_secretbox_MACBYTES;
  return 0;
}
