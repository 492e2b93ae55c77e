/*
 * bundle.h: the offline bundle file (docs/PROTOCOL.md section 7): runs of
 * encoded entries, encrypted to its recipients and signed by its author,
 * carried on a USB stick where no network reaches. Going up, a classroom's
 * (or hub's) own entries, sealed to the central and the author's hub;
 * going down, what a sync would send one device, written by the central
 * or a hub and sealed to that device alone. The file is the same both ways.
 *
 *   "CAIRNBUNDLE1\n" (13) || version (1 byte, 1) || author Ed25519 key (32)
 *   || recipient count (1 byte, 1..4)
 *   || per recipient: Ed25519 key (32) || crypto_box_seal of the content
 *      key to that key's X25519 form (80)
 *   || nonce (24) || crypto_secretbox_easy(payload, nonce, content key)
 *   || Ed25519 signature by the author over every byte before it (64)
 *
 * Pure functions over bytes (libsodium only): no files, no store, no loop.
 * Opening verifies the signature before it decrypts anything, and fails
 * closed: on any error no plaintext is returned.
 */
#ifndef CAIRN_BUNDLE_H
#define CAIRN_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"

#define CAIRN_BUNDLE_MAGIC "CAIRNBUNDLE1\n"
#define CAIRN_BUNDLE_MAGIC_BYTES 13
#define CAIRN_BUNDLE_VERSION 1
#define CAIRN_BUNDLE_RECIPIENTS_MAX 4
#define CAIRN_BUNDLE_MAX (256u * 1024 * 1024) /* a whole file, checked before reading */

/* Seals payload (len bytes of concatenated encoded entries; may be 0) by
 * the author whose secret key is sk, to n recipients (1..4 Ed25519 public
 * keys; duplicates are the caller's mistake but harmless). Returns 0 and
 * *out, *out_len (caller frees *out with free()); CAIRN_EINVAL (n out of
 * range, or a recipient key that is not a valid Ed25519 point),
 * CAIRN_ETOOBIG (the file would pass CAIRN_BUNDLE_MAX), CAIRN_ENOMEM. */
int cairn_bundle_seal(const uint8_t sk[CAIRN_SECRET_BYTES],
                      const uint8_t recipients[][CAIRN_KEY_BYTES], size_t n,
                      const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len);

/* Opens a bundle with the secret key sk of the node reading it. On success
 * returns 0, copies the author's key to author, and sets *payload (caller
 * frees with free(); never NULL, even when *payload_len is 0). Errors, each
 * with a one-line why and no payload returned (author is filled once the
 * signature verified: also on CAIRN_EPERM, so that a reader can say who
 * wrote a bundle that is not for it):
 *   CAIRN_EMALFORMED  not a bundle (wrong magic), or truncated;
 *   CAIRN_EVERSION    a bundle version this build does not read;
 *   CAIRN_EBADSIG     the signature does not verify (damaged or tampered),
 *                     or the ciphertext does not decrypt;
 *   CAIRN_EPERM       the bundle is not addressed to this node;
 *   CAIRN_ENOMEM. */
int cairn_bundle_open(const uint8_t *buf, size_t len, const uint8_t sk[CAIRN_SECRET_BYTES],
                      uint8_t author[CAIRN_KEY_BYTES], uint8_t **payload, size_t *payload_len,
                      char *why, size_t whylen) __attribute__((warn_unused_result));

#endif
