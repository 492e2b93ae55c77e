/*
 * noise.c: Noise_XX / Noise_IK over 25519, ChaChaPoly and BLAKE2b, following
 * the Noise specification revision 34 section by section: CipherState (5.1),
 * SymmetricState (5.2), HandshakeState (5.3).
 */
#include "noise.h"

#include <string.h>

#include <sodium.h>

#include "error.h"

#define BLOCKLEN 128
#define HASHLEN CAIRN_NOISE_HASH_BYTES
#define DHLEN CAIRN_NOISE_KEY_BYTES
#define TAGLEN CAIRN_NOISE_TAG_BYTES

#define NAME_XX "Noise_XX_25519_ChaChaPoly_BLAKE2b"
#define NAME_IK "Noise_IK_25519_ChaChaPoly_BLAKE2b"
/* InitializeSymmetric pads a name of at most HASHLEN bytes with zeros and
 * hashes a longer one; both names are short, so only padding is needed. */
_Static_assert(sizeof NAME_XX - 1 <= HASHLEN && sizeof NAME_IK - 1 <= HASHLEN, "protocol name fits in h");

enum token { TOK_END = 0, TOK_E, TOK_S, TOK_EE, TOK_ES, TOK_SE, TOK_SS };

/* Messages alternate, initiator first. Unused slots are TOK_END. */
struct pattern_def {
  const char *name;
  unsigned count;
  enum token msgs[3][5];
};

static const struct pattern_def patterns[] = {
    [CAIRN_NOISE_XX] = {NAME_XX, 3, {{TOK_E}, {TOK_E, TOK_EE, TOK_S, TOK_ES}, {TOK_S, TOK_SE}}},
    [CAIRN_NOISE_IK] = {NAME_IK, 2, {{TOK_E, TOK_ES, TOK_S, TOK_SS}, {TOK_E, TOK_EE, TOK_SE}}},
};

/* ---- HASH, HMAC-HASH, HKDF ------------------------------------------------ */

/* HASH(a || b) with unkeyed BLAKE2b-512. out may alias a or b. */
static void hash2(uint8_t out[HASHLEN], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
  if (alen)
    crypto_generichash_blake2b_update(&st, a, alen);
  if (blen)
    crypto_generichash_blake2b_update(&st, b, blen);
  crypto_generichash_blake2b_final(&st, out, HASHLEN);
  sodium_memzero(&st, sizeof st);
}

/* HMAC-HASH(key, a || b) per RFC 2104 with a BLOCKLEN-byte block. Every key
 * Noise passes here (ck or an HKDF temp key) is HASHLEN bytes, shorter than
 * BLOCKLEN, so the "hash a long key first" step never applies. */
static void hmac2(uint8_t out[HASHLEN], const uint8_t key[HASHLEN], const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen) {
  uint8_t pad[BLOCKLEN], inner[HASHLEN];
  crypto_generichash_blake2b_state st;

  for (size_t i = 0; i < BLOCKLEN; i++)
    pad[i] = (uint8_t)((i < HASHLEN ? key[i] : 0) ^ 0x36);
  crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
  crypto_generichash_blake2b_update(&st, pad, BLOCKLEN);
  if (alen)
    crypto_generichash_blake2b_update(&st, a, alen);
  if (blen)
    crypto_generichash_blake2b_update(&st, b, blen);
  crypto_generichash_blake2b_final(&st, inner, HASHLEN);

  for (size_t i = 0; i < BLOCKLEN; i++)
    pad[i] = (uint8_t)((i < HASHLEN ? key[i] : 0) ^ 0x5c);
  hash2(out, pad, BLOCKLEN, inner, HASHLEN);

  sodium_memzero(pad, sizeof pad);
  sodium_memzero(inner, sizeof inner);
  sodium_memzero(&st, sizeof st);
}

/* HKDF(ck, ikm) with two outputs. out1 may alias ck. */
static void hkdf2(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikm_len, uint8_t out1[HASHLEN],
                  uint8_t out2[HASHLEN]) {
  static const uint8_t one = 0x01, two = 0x02;
  uint8_t temp[HASHLEN];

  hmac2(temp, ck, ikm, ikm_len, NULL, 0);
  hmac2(out1, temp, &one, 1, NULL, 0);
  hmac2(out2, temp, out1, HASHLEN, &two, 1);
  sodium_memzero(temp, sizeof temp);
}

/* ---- CipherState ---------------------------------------------------------- */

/* Sets the key to the first 32 bytes of a HASHLEN-byte HKDF output. */
static void cipher_init_key(cairn_noise_cipher *c, const uint8_t temp_k[HASHLEN]) {
  memcpy(c->k, temp_k, sizeof c->k);
  c->n = 0;
  c->has_key = 1;
}

static void cipher_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t n) {
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++)
    nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* EncryptWithAd for a keyed c: out gets len + TAGLEN bytes. */
static int cipher_seal(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
                       uint8_t *out) {
  uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

  if (c->n == UINT64_MAX)
    return CAIRN_ERANGE;
  cipher_nonce(nonce, c->n);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, adlen, NULL, nonce, c->k);
  c->n++;
  return 0;
}

/* DecryptWithAd for a keyed c: ct is len >= TAGLEN bytes, out gets
 * len - TAGLEN bytes, zeroed when ct does not authenticate. */
static int cipher_open(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
                       uint8_t *out) {
  uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

  if (c->n == UINT64_MAX)
    return CAIRN_ERANGE;
  cipher_nonce(nonce, c->n);
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, adlen, nonce, c->k) != 0) {
    if (out && len > TAGLEN)
      sodium_memzero(out, len - TAGLEN);
    return CAIRN_EBADSIG;
  }
  c->n++;
  return 0;
}

/* ---- SymmetricState ------------------------------------------------------- */

static void mix_hash(cairn_noise_handshake *hs, const uint8_t *data, size_t len) {
  hash2(hs->h, hs->h, HASHLEN, data, len);
}

static void mix_key(cairn_noise_handshake *hs, const uint8_t ikm[DHLEN]) {
  uint8_t temp_k[HASHLEN];

  hkdf2(hs->ck, ikm, DHLEN, hs->ck, temp_k);
  cipher_init_key(&hs->cipher, temp_k);
  sodium_memzero(temp_k, sizeof temp_k);
}

/* out gets len bytes, plus TAGLEN once a key is set. */
static int encrypt_and_hash(cairn_noise_handshake *hs, const uint8_t *pt, size_t len, uint8_t *out) {
  if (hs->cipher.has_key) {
    int rc = cipher_seal(&hs->cipher, hs->h, HASHLEN, pt, len, out);
    if (rc)
      return rc;
    len += TAGLEN;
  } else if (len) {
    memmove(out, pt, len);
  }
  mix_hash(hs, out, len);
  return 0;
}

/* ct is len bytes (tag included once a key is set). */
static int decrypt_and_hash(cairn_noise_handshake *hs, const uint8_t *ct, size_t len, uint8_t *out) {
  if (hs->cipher.has_key) {
    int rc = cipher_open(&hs->cipher, hs->h, HASHLEN, ct, len, out);
    if (rc)
      return rc;
  } else if (len) {
    memmove(out, ct, len);
  }
  mix_hash(hs, ct, len);
  return 0;
}

/* ---- HandshakeState ------------------------------------------------------- */

/* Wipes hs and returns err: every later call sees a dead handshake. */
static int fail(cairn_noise_handshake *hs, int err) {
  sodium_memzero(hs, sizeof *hs);
  return err;
}

/* The tokens of the next message when it is this side's turn to write
 * (writing = 1) or read (writing = 0); NULL otherwise. */
static const enum token *turn(const cairn_noise_handshake *hs, int writing) {
  if (!hs->live || hs->step >= patterns[hs->pattern].count)
    return NULL;
  int initiator_turn = hs->step % 2 == 0;
  if ((initiator_turn == hs->initiator) != writing)
    return NULL;
  return patterns[hs->pattern].msgs[hs->step];
}

/* Bytes the tokens take before the payload; *keyed says whether the payload
 * will be encrypted (a key exists by then). */
static size_t tokens_len(const cairn_noise_handshake *hs, const enum token *t, int *keyed) {
  int k = hs->cipher.has_key;
  size_t n = 0;

  for (; *t != TOK_END; t++) {
    if (*t == TOK_E)
      n += DHLEN;
    else if (*t == TOK_S)
      n += DHLEN + (k ? TAGLEN : 0);
    else
      k = 1; /* every DH token calls MixKey */
  }
  *keyed = k;
  return n;
}

/* The ee, es, se and ss tokens: MixKey(DH(local, remote)). */
static int mix_dh(cairn_noise_handshake *hs, enum token t) {
  const uint8_t *priv, *pub;
  uint8_t shared[DHLEN];
  int rc = 0;

  switch (t) {
  case TOK_EE:
    priv = hs->e_priv, pub = hs->re;
    break;
  case TOK_ES:
    priv = hs->initiator ? hs->e_priv : hs->s_priv;
    pub = hs->initiator ? hs->rs : hs->re;
    break;
  case TOK_SE:
    priv = hs->initiator ? hs->s_priv : hs->e_priv;
    pub = hs->initiator ? hs->re : hs->rs;
    break;
  default: /* TOK_SS */
    priv = hs->s_priv, pub = hs->rs;
    break;
  }
  if (crypto_scalarmult_curve25519(shared, priv, pub) != 0)
    rc = CAIRN_EMALFORMED; /* small-order public key: all-zero result */
  else
    mix_key(hs, shared);
  sodium_memzero(shared, sizeof shared);
  return rc;
}

int cairn_noise_handshake_init(cairn_noise_handshake *hs, cairn_noise_pattern pattern, int initiator,
                               const uint8_t *prologue, size_t prologue_len,
                               const uint8_t s_priv[CAIRN_NOISE_KEY_BYTES],
                               const uint8_t rs[CAIRN_NOISE_KEY_BYTES]) {
  if (!hs)
    return CAIRN_EINVAL;
  sodium_memzero(hs, sizeof *hs);
  if ((pattern != CAIRN_NOISE_XX && pattern != CAIRN_NOISE_IK) || !s_priv || (!prologue && prologue_len))
    return CAIRN_EINVAL;
  int needs_rs = pattern == CAIRN_NOISE_IK && initiator;
  if ((rs != NULL) != needs_rs)
    return CAIRN_EINVAL;

  hs->pattern = pattern;
  hs->initiator = initiator != 0;
  /* InitializeSymmetric: h = name padded with zeros, ck = h. */
  memcpy(hs->h, patterns[pattern].name, strlen(patterns[pattern].name));
  memcpy(hs->ck, hs->h, HASHLEN);
  mix_hash(hs, prologue, prologue_len);

  memcpy(hs->s_priv, s_priv, DHLEN);
  crypto_scalarmult_curve25519_base(hs->s_pub, hs->s_priv);
  if (rs) {
    memcpy(hs->rs, rs, DHLEN);
    hs->has_rs = 1;
  }
  /* IK pre-message "<- s": both sides hash the responder's static key. */
  if (pattern == CAIRN_NOISE_IK)
    mix_hash(hs, hs->initiator ? hs->rs : hs->s_pub, DHLEN);
  hs->live = 1;
  return 0;
}

void cairn_noise_handshake_set_ephemeral(cairn_noise_handshake *hs, const uint8_t e_priv[CAIRN_NOISE_KEY_BYTES]) {
  if (!hs || !e_priv)
    return;
  memcpy(hs->e_priv, e_priv, DHLEN);
  crypto_scalarmult_curve25519_base(hs->e_pub, hs->e_priv);
  hs->has_e = 1;
}

int cairn_noise_write_message(cairn_noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                              uint8_t *out, size_t out_cap, size_t *out_len) {
  if (!hs)
    return CAIRN_EINVAL;
  const enum token *t = turn(hs, 1);
  if (!t || !out || !out_len || (!payload && payload_len))
    return fail(hs, CAIRN_EINVAL);
  if (payload_len > CAIRN_NOISE_MAX_MSG)
    return fail(hs, CAIRN_ETOOBIG);
  int keyed;
  size_t need = tokens_len(hs, t, &keyed) + payload_len + (keyed ? TAGLEN : 0);
  if (need > out_cap || need > CAIRN_NOISE_MAX_MSG)
    return fail(hs, CAIRN_ETOOBIG);

  size_t off = 0;
  int rc = 0;
  for (; *t != TOK_END && rc == 0; t++) {
    if (*t == TOK_E) {
      if (!hs->has_e) {
        randombytes_buf(hs->e_priv, DHLEN);
        crypto_scalarmult_curve25519_base(hs->e_pub, hs->e_priv);
        hs->has_e = 1;
      }
      memcpy(out + off, hs->e_pub, DHLEN);
      mix_hash(hs, hs->e_pub, DHLEN);
      off += DHLEN;
    } else if (*t == TOK_S) {
      size_t n = DHLEN + (hs->cipher.has_key ? TAGLEN : 0);
      rc = encrypt_and_hash(hs, hs->s_pub, DHLEN, out + off);
      off += n;
    } else {
      rc = mix_dh(hs, *t);
    }
  }
  if (rc == 0)
    rc = encrypt_and_hash(hs, payload, payload_len, out + off);
  if (rc)
    return fail(hs, rc);
  hs->step++;
  *out_len = need;
  return 0;
}

int cairn_noise_read_message(cairn_noise_handshake *hs, const uint8_t *msg, size_t msg_len, uint8_t *payload_out,
                             size_t cap, size_t *payload_len) {
  if (!hs)
    return CAIRN_EINVAL;
  const enum token *t = turn(hs, 0);
  if (!t || !msg || !payload_len || (!payload_out && cap))
    return fail(hs, CAIRN_EINVAL);
  if (msg_len > CAIRN_NOISE_MAX_MSG)
    return fail(hs, CAIRN_ETOOBIG);
  int keyed;
  size_t fixed = tokens_len(hs, t, &keyed) + (keyed ? TAGLEN : 0);
  if (msg_len < fixed)
    return fail(hs, CAIRN_EMALFORMED);
  size_t plen = msg_len - fixed;
  if (plen > cap)
    return fail(hs, CAIRN_ETOOBIG);

  size_t off = 0;
  int rc = 0;
  for (; *t != TOK_END && rc == 0; t++) {
    if (*t == TOK_E) {
      memcpy(hs->re, msg + off, DHLEN);
      mix_hash(hs, hs->re, DHLEN);
      off += DHLEN;
    } else if (*t == TOK_S) {
      size_t n = DHLEN + (hs->cipher.has_key ? TAGLEN : 0);
      rc = decrypt_and_hash(hs, msg + off, n, hs->rs);
      hs->has_rs = rc == 0;
      off += n;
    } else {
      rc = mix_dh(hs, *t);
    }
  }
  if (rc == 0)
    rc = decrypt_and_hash(hs, msg + off, msg_len - off, payload_out);
  if (rc)
    return fail(hs, rc);
  hs->step++;
  *payload_len = plen;
  return 0;
}

int cairn_noise_handshake_done(const cairn_noise_handshake *hs) {
  return hs && hs->live && hs->step == patterns[hs->pattern].count;
}

int cairn_noise_split(cairn_noise_handshake *hs, cairn_noise_cipher *send, cairn_noise_cipher *recv) {
  if (!cairn_noise_handshake_done(hs) || hs->split || !send || !recv || send == recv)
    return CAIRN_EINVAL;
  uint8_t k1[HASHLEN], k2[HASHLEN];

  hkdf2(hs->ck, NULL, 0, k1, k2);
  cipher_init_key(hs->initiator ? send : recv, k1);
  cipher_init_key(hs->initiator ? recv : send, k2);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  /* Keep h and rs for the caller; the rest is no longer needed. */
  sodium_memzero(hs->ck, sizeof hs->ck);
  sodium_memzero(&hs->cipher, sizeof hs->cipher);
  sodium_memzero(hs->s_priv, sizeof hs->s_priv);
  sodium_memzero(hs->e_priv, sizeof hs->e_priv);
  hs->split = 1;
  return 0;
}

const uint8_t *cairn_noise_handshake_hash(const cairn_noise_handshake *hs) {
  return cairn_noise_handshake_done(hs) ? hs->h : NULL;
}

const uint8_t *cairn_noise_remote_static(const cairn_noise_handshake *hs) {
  return hs && hs->live && hs->has_rs ? hs->rs : NULL;
}

int cairn_noise_encrypt(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
                        uint8_t *out) {
  if (!c || !c->has_key || !out || (!pt && len) || (!ad && adlen))
    return CAIRN_EINVAL;
  if (len > CAIRN_NOISE_MAX_MSG - TAGLEN)
    return CAIRN_ETOOBIG;
  return cipher_seal(c, ad, adlen, pt, len, out);
}

int cairn_noise_decrypt(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
                        uint8_t *out) {
  if (!c || !c->has_key || !ct || (!out && len > TAGLEN) || (!ad && adlen))
    return CAIRN_EINVAL;
  int rc;
  if (len < TAGLEN)
    rc = CAIRN_EMALFORMED;
  else if (len > CAIRN_NOISE_MAX_MSG)
    rc = CAIRN_ETOOBIG;
  else
    rc = cipher_open(c, ad, adlen, ct, len, out);
  if (rc)
    cairn_noise_cipher_clear(c);
  return rc;
}

void cairn_noise_handshake_clear(cairn_noise_handshake *hs) {
  if (hs)
    sodium_memzero(hs, sizeof *hs);
}

void cairn_noise_cipher_clear(cairn_noise_cipher *c) {
  if (c)
    sodium_memzero(c, sizeof *c);
}
