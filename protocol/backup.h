/*
 * backup.h: the backup file of a data directory (docs/FORMAT.md section 6,
 * "Backups"), written by `cairn backup` and read by `cairnd --restore`:
 *
 *   "CAIRNBACKUP1\n" (13) || header length (4 bytes, big-endian, at most
 *   CAIRN_BACKUP_HEADER_MAX) || header (a msgpack map) || the store's LMDB
 *   file, compacted ("store" bytes) || BLAKE2b-256 of every byte before it
 *
 * The header holds the device's id, its role, when the backup was made,
 * the text of cairn.conf and the device's secret key: a backup is as
 * secret as DATA/device.key, and is written mode 0600.
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

typedef struct cairn_backup_header {
  char device[65]; /* lowercase hex of the device's public key */
  char role[16];   /* classroom, hub or central */
  int64_t made;    /* unix seconds */
  const char *config; /* cairn.conf's text: borrowed from the decoded bytes */
  size_t config_len;
  uint8_t secret[CAIRN_BACKUP_SECRET_BYTES]; /* the device key (wipe after use) */
  uint64_t store_bytes;                      /* the length of the store's copy */
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
 * most CAIRN_BACKUP_CONFIG_MAX bytes; store: a count). Pure. */
int cairn_backup_decode_start(const uint8_t *buf, size_t len, cairn_backup_header *h,
                              size_t *used) __attribute__((warn_unused_result));

#endif
