/*
 * noise.h: the Noise Protocol Framework (revision 34), exactly
 * Noise_XX_25519_ChaChaPoly_BLAKE2b and Noise_IK_25519_ChaChaPoly_BLAKE2b.
 *
 *   XX:  -> e                      IK:  <- s
 *        <- e, ee, s, es                ...
 *        -> s, se                       -> e, es, s, ss
 *                                       <- e, ee, se
 *
 * Built from libsodium primitives: X25519, ChaCha20-Poly1305 (IETF, nonce =
 * 4 zero bytes || 64-bit little-endian counter) and unkeyed BLAKE2b-512, with
 * HMAC built per RFC 2104 over a 128-byte block (not keyed BLAKE2b).
 *
 * Pure: no sockets, no allocation, no globals beyond libsodium's (call
 * sodium_init() once before use). Every function works on caller buffers with
 * explicit lengths. Secrets live in the structs below; wipe them with
 * cairn_noise_handshake_clear() / cairn_noise_cipher_clear().
 *
 * Fail closed: any failed cairn_noise_write_message() or
 * cairn_noise_read_message() wipes the handshake, and every later call on it
 * returns CAIRN_EINVAL. A failed cairn_noise_decrypt() wipes the cipher.
 */
#ifndef CAIRN_NOISE_H
#define CAIRN_NOISE_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_NOISE_KEY_BYTES 32  /* X25519 private and public keys, cipher keys */
#define CAIRN_NOISE_HASH_BYTES 64 /* HASHLEN: BLAKE2b-512, the handshake hash */
#define CAIRN_NOISE_TAG_BYTES 16  /* Poly1305 tag added by every encryption */
#define CAIRN_NOISE_MAX_MSG 65535 /* largest Noise message, handshake or transport */

typedef enum { CAIRN_NOISE_XX, CAIRN_NOISE_IK } cairn_noise_pattern;

/* A CipherState. After cairn_noise_split() it is one direction of a session.
 * n is the next nonce; has_key is 0 once the cipher has been wiped. */
typedef struct cairn_noise_cipher {
  uint8_t k[CAIRN_NOISE_KEY_BYTES];
  uint64_t n;
  int has_key;
} cairn_noise_cipher;

/* A HandshakeState with its SymmetricState. Treat the fields as private. */
typedef struct cairn_noise_handshake {
  int live;  /* 1 between init and failure/clear */
  int split; /* 1 once cairn_noise_split() has handed out the ciphers */
  cairn_noise_pattern pattern;
  int initiator;
  unsigned step; /* index of the next message in the pattern */
  cairn_noise_cipher cipher;
  uint8_t ck[CAIRN_NOISE_HASH_BYTES];
  uint8_t h[CAIRN_NOISE_HASH_BYTES];
  uint8_t s_priv[CAIRN_NOISE_KEY_BYTES], s_pub[CAIRN_NOISE_KEY_BYTES];
  uint8_t e_priv[CAIRN_NOISE_KEY_BYTES], e_pub[CAIRN_NOISE_KEY_BYTES];
  uint8_t re[CAIRN_NOISE_KEY_BYTES], rs[CAIRN_NOISE_KEY_BYTES];
  int has_e, has_rs;
} cairn_noise_handshake;

/* Starts a handshake: Initialize(pattern, initiator, prologue, s, rs). s_priv
 * is the local static X25519 private key (required for both patterns). rs is
 * the remote static public key: required for the IK initiator (the
 * responder's key, known in advance), NULL in every other role (it is learned
 * from the handshake). prologue may be NULL when prologue_len is 0; both
 * sides must pass the same bytes. The keys are copied. Returns 0 or
 * CAIRN_EINVAL; on failure hs is left unusable. */
int cairn_noise_handshake_init(cairn_noise_handshake *hs, cairn_noise_pattern pattern, int initiator,
                               const uint8_t *prologue, size_t prologue_len,
                               const uint8_t s_priv[CAIRN_NOISE_KEY_BYTES],
                               const uint8_t rs[CAIRN_NOISE_KEY_BYTES]);

/* For test vectors only: makes the next "e" token use e_priv instead of a
 * fresh random key. Call after init, before the message that sends e. */
void cairn_noise_handshake_set_ephemeral(cairn_noise_handshake *hs, const uint8_t e_priv[CAIRN_NOISE_KEY_BYTES]);

/* WriteMessage: writes the next handshake message, carrying payload, into out
 * and sets *out_len. Returns 0; CAIRN_EINVAL when it is not this side's turn,
 * the handshake is finished, failed or cleared, or an argument is NULL;
 * CAIRN_ETOOBIG when the message would exceed out_cap or CAIRN_NOISE_MAX_MSG;
 * CAIRN_EMALFORMED when a remote public key has small order (the DH result
 * is all zero). Any failure wipes hs. The payload of XX message 1 travels in
 * clear; every later payload is encrypted. */
int cairn_noise_write_message(cairn_noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                              uint8_t *out, size_t out_cap, size_t *out_len);

/* ReadMessage: consumes the peer's next handshake message msg and writes its
 * payload (at most cap bytes) into payload_out, setting *payload_len.
 * Returns 0; CAIRN_EINVAL as for write (wrong turn, finished, failed, NULL);
 * CAIRN_EMALFORMED when msg is too short for the pattern or carries a
 * small-order public key; CAIRN_ETOOBIG when msg exceeds CAIRN_NOISE_MAX_MSG
 * or the payload exceeds cap; CAIRN_EBADSIG when a static key or the payload
 * does not authenticate (wrong key, tampering). Any failure wipes hs, and
 * payload_out then holds nothing the caller may use. */
int cairn_noise_read_message(cairn_noise_handshake *hs, const uint8_t *msg, size_t msg_len, uint8_t *payload_out,
                             size_t cap, size_t *payload_len) __attribute__((warn_unused_result));

/* Returns 1 when every message of the pattern has been written or read, and
 * the handshake has not failed; 0 otherwise (also for NULL). */
int cairn_noise_handshake_done(const cairn_noise_handshake *hs);

/* Split: fills send and recv with the transport ciphers of this side (the
 * initiator sends with the first HKDF output, the responder with the second)
 * and wipes the handshake's remaining secrets; the handshake hash and the
 * remote static key stay readable. Returns 0, or CAIRN_EINVAL when the
 * handshake is not done or was already split. */
int cairn_noise_split(cairn_noise_handshake *hs, cairn_noise_cipher *send, cairn_noise_cipher *recv);

/* Returns the handshake hash h (CAIRN_NOISE_HASH_BYTES), identical on both
 * sides, for channel binding; NULL until the handshake is done. Borrowed from
 * hs until it is cleared. */
const uint8_t *cairn_noise_handshake_hash(const cairn_noise_handshake *hs);

/* Returns the peer's static public key (CAIRN_NOISE_KEY_BYTES) once known
 * (from init for the IK initiator, else from the message that carries it),
 * or NULL. The caller must still decide whether it trusts that key. Borrowed
 * from hs until it is cleared. */
const uint8_t *cairn_noise_remote_static(const cairn_noise_handshake *hs);

/* Encrypts len bytes of pt with associated data ad (may be NULL when adlen
 * is 0) into out, which receives len + CAIRN_NOISE_TAG_BYTES bytes and must
 * not overlap pt. Returns 0; CAIRN_EINVAL when c has no key; CAIRN_ETOOBIG
 * when the result would exceed CAIRN_NOISE_MAX_MSG; CAIRN_ERANGE when the
 * nonces are exhausted (n reached 2^64-1). Only success advances the nonce. */
int cairn_noise_encrypt(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len,
                        uint8_t *out);

/* Decrypts the len-byte message ct (ciphertext || tag) into out, which
 * receives len - CAIRN_NOISE_TAG_BYTES bytes and must not overlap ct.
 * Returns 0; CAIRN_EINVAL when c has no key; CAIRN_EMALFORMED when len is
 * shorter than a tag; CAIRN_ETOOBIG when len exceeds CAIRN_NOISE_MAX_MSG;
 * CAIRN_ERANGE when the nonces are exhausted; CAIRN_EBADSIG when ct does
 * not authenticate. Any failure but CAIRN_EINVAL wipes c (the session is
 * over), and out then holds nothing the caller may use. */
int cairn_noise_decrypt(cairn_noise_cipher *c, const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
                        uint8_t *out) __attribute__((warn_unused_result));

/* Wipes every secret in hs; it is unusable afterwards. NULL is a no-op. */
void cairn_noise_handshake_clear(cairn_noise_handshake *hs);

/* Wipes the key of c; it is unusable afterwards. NULL is a no-op. */
void cairn_noise_cipher_clear(cairn_noise_cipher *c);

#endif
