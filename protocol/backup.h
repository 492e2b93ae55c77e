/*
 * backup.h: the backup file of a data directory (docs/FORMAT.md section 6,
 * "Backups"), written by `cairn backup` and read by `cairnd --restore`:
 *
 *   "CAIRNBACKUP1\n" (13) || header length (4 bytes, big-endian, at most
 *   CAIRN_BACKUP_HEADER_MAX) || header (a msgpack map) || the store's LMDB
 *   file, compacted ("store" bytes) || the store's key store file ("keys"
 *   bytes; none in a backup of a store from before sealing) || BLAKE2b-256
 *   of every byte before it
 *
 * The header holds the device's id, its role, when the backup was made,
 * the text of cairn.conf and the device's secret key: a backup is as
 * secret as DATA/device.key, and is written mode 0600.
 *
 * An encrypted backup (`cairn backup --encrypt`) is that whole file sealed
 * to an X25519 public key (backup_public_key in cairn.conf):
 *
 *   "CAIRNSEALED1\n" (13) || the recipient's public key (32) ||
 *   crypto_box_seal(file key) (80) || secretstream header (24) ||
 *   chunks: crypto_secretstream_xchacha20poly1305 of the plain backup,
 *   CAIRN_BACKUP_SEAL_CHUNK bytes each (+ 17), the last one shorter and
 *   tagged FINAL
 *
 * The file key is random, used for this file only. Only the matching
 * secret key (a backup key file, cairn_backup_key_encode) opens it.
 *
 * Pure functions over bytes (msgpack-c and libsodium only): no files.
 */
#ifndef CAIRN_BACKUP_H
#define CAIRN_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define CAIRN_BACKUP_MAGIC "CAIRNBACKUP1\n"
#define CAIRN_BACKUP_MAGIC_BYTES 13
#define CAIRN_BACKUP_HEADER_MAX (64u * 1024)
#define CAIRN_BACKUP_CONFIG_MAX (32u * 1024)
#define CAIRN_BACKUP_HASH_BYTES 32
#define CAIRN_BACKUP_SECRET_BYTES 64
#define CAIRN_BACKUP_KEYS_MAX (256u * 1024 * 1024) /* a key store's copy */

typedef struct cairn_backup_header {
  char device[65]; /* lowercase hex of the device's public key */
  char role[16];   /* classroom, hub or central */
  int64_t made;    /* unix seconds */
  const char *config; /* cairn.conf's text: borrowed from the decoded bytes */
  size_t config_len;
  uint8_t secret[CAIRN_BACKUP_SECRET_BYTES]; /* the device key (wipe after use) */
  uint64_t store_bytes;                      /* the length of the store's copy */
  uint64_t keys_bytes; /* the length of the key store's copy that follows it (0: none) */
} cairn_backup_header;

/* Appends the magic, the header length and the header for h to sb.
 * Returns 0, or CAIRN_ETOOBIG when the config text passes
 * CAIRN_BACKUP_CONFIG_MAX. */
int cairn_backup_pack_start(msgpack_sbuffer *sb, const cairn_backup_header *h);

/* Reads the start of a backup file, buf[0..len) (at least the magic, the
 * length and the header). Sets *h (config borrowed from buf) and *used (the
 * bytes before the store's copy). Returns 0; CAIRN_EAGAIN when buf ends
 * before the header does; CAIRN_EMALFORMED when it is not a backup, or its
 * header is not the documented map (device: 64 hex digits; role: a known
 * one; key: 64 bytes whose public half is the device; config: text of at
 * most CAIRN_BACKUP_CONFIG_MAX bytes; store: a count; keys, when there: a
 * count of at most CAIRN_BACKUP_KEYS_MAX). Pure. */
int cairn_backup_decode_start(const uint8_t *buf, size_t len, cairn_backup_header *h,
                              size_t *used) __attribute__((warn_unused_result));

/* ---- encrypted backups ---- */

#define CAIRN_BACKUP_SEALED_MAGIC "CAIRNSEALED1\n"
#define CAIRN_BACKUP_KEY_BYTES 32              /* X25519 public and secret keys */
#define CAIRN_BACKUP_SEAL_CHUNK (64u * 1024)   /* plain bytes per chunk */
#define CAIRN_BACKUP_SEAL_ABYTES 17            /* added to each chunk */
#define CAIRN_BACKUP_SEALED_START (13 + 32 + 80 + 24)
/* A backup key file's text: "cairn-backup-secret-key-1 BASE64\n" */
#define CAIRN_BACKUP_KEY_FILE_PREFIX "cairn-backup-secret-key-1 "
#define CAIRN_BACKUP_KEY_FILE_MAX 128
#define CAIRN_BACKUP_KEY_TEXT 45               /* a key in base64, and a NUL */

/* The state of one sealed stream, either way. Wipe with sodium_memzero. */
typedef struct cairn_backup_seal {
  unsigned char state[52]; /* crypto_secretstream_xchacha20poly1305_state */
} cairn_backup_seal;

/* 1 when buf (len bytes, at least the magic's 13) starts as an encrypted
 * backup. Pure. */
int cairn_backup_is_sealed(const uint8_t *buf, size_t len);

/* Begins sealing to the X25519 public key pk: a new random file key,
 * sealed to pk; writes the CAIRN_BACKUP_SEALED_START bytes of the start
 * into out. Returns 0, or CAIRN_EINVAL when pk is not a usable key. */
int cairn_backup_seal_start(cairn_backup_seal *s, const uint8_t pk[CAIRN_BACKUP_KEY_BYTES],
                            uint8_t out[CAIRN_BACKUP_SEALED_START]);

/* Seals n plain bytes (n == CAIRN_BACKUP_SEAL_CHUNK, or less when final)
 * into out (n + CAIRN_BACKUP_SEAL_ABYTES bytes). */
void cairn_backup_seal_chunk(cairn_backup_seal *s, const uint8_t *in, size_t n, int final,
                             uint8_t *out);

/* Opens the start of an encrypted backup, buf[0..len), with the secret key
 * sk. Returns 0 (s ready for cairn_backup_open_chunk); CAIRN_EAGAIN when
 * len is short of CAIRN_BACKUP_SEALED_START; CAIRN_EMALFORMED when it is
 * not an encrypted backup; CAIRN_EPERM when it is sealed to another key;
 * CAIRN_EBADSIG when the sealed file key does not open (altered). Pure. */
int cairn_backup_open_start(cairn_backup_seal *s, const uint8_t *buf, size_t len,
                            const uint8_t sk[CAIRN_BACKUP_KEY_BYTES])
    __attribute__((warn_unused_result));

/* Opens one chunk of n bytes (CAIRN_BACKUP_SEAL_ABYTES to CAIRN_BACKUP_SEAL_CHUNK
 * + CAIRN_BACKUP_SEAL_ABYTES) into out (n - CAIRN_BACKUP_SEAL_ABYTES bytes;
 * nothing is written there when it fails); *final says it was tagged last.
 * Returns 0, or CAIRN_EBADSIG (altered, reordered, or not the next chunk). */
int cairn_backup_open_chunk(cairn_backup_seal *s, const uint8_t *in, size_t n, uint8_t *out,
                            int *final) __attribute__((warn_unused_result));

/* A new backup key pair. */
void cairn_backup_key_new(uint8_t pk[CAIRN_BACKUP_KEY_BYTES], uint8_t sk[CAIRN_BACKUP_KEY_BYTES]);

/* A key as base64 (the original alphabet, padded: 44 characters). */
void cairn_backup_key_text(const uint8_t key[CAIRN_BACKUP_KEY_BYTES],
                           char out[CAIRN_BACKUP_KEY_TEXT]);

/* Reads a base64 public key (as backup_public_key holds it). Returns 0, or
 * CAIRN_EINVAL when it is not 32 bytes of base64. Pure. */
int cairn_backup_public_key_parse(const char *text, uint8_t pk[CAIRN_BACKUP_KEY_BYTES]);

/* The text of a backup key file for sk, into out (at most
 * CAIRN_BACKUP_KEY_FILE_MAX bytes, NUL-terminated). */
void cairn_backup_key_encode(const uint8_t sk[CAIRN_BACKUP_KEY_BYTES],
                             char out[CAIRN_BACKUP_KEY_FILE_MAX]);

/* Reads a backup key file's bytes: the secret key into sk, its public key
 * into pk. Returns 0, or CAIRN_EMALFORMED when it is not one. Pure. */
int cairn_backup_key_decode(const uint8_t *buf, size_t len, uint8_t sk[CAIRN_BACKUP_KEY_BYTES],
                            uint8_t pk[CAIRN_BACKUP_KEY_BYTES]) __attribute__((warn_unused_result));

#endif
