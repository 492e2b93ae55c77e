/*
 * keyfile.h: the device's Ed25519 key file, DATA/device.key.
 *
 * Format: 64 raw bytes, the libsodium Ed25519 secret key (seed followed by
 * public key). The file must be mode 0600 (no group or other bits); a looser
 * file is refused so that a copied or mis-permissioned key is noticed.
 * The same 64 bytes may instead come from a systemd credential
 * (cairn_keyfile_load_credential), which cairnd prefers when present.
 */
#ifndef CAIRN_KEYFILE_H
#define CAIRN_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* Generates a new key pair and writes it to path: created exclusively with
 * mode 0600, written, fsynced, then the directory fsynced. Copies the public
 * key to pk. Returns 0, CAIRN_EEXISTS when path exists, CAIRN_ENOTFOUND when
 * its directory does not, or CAIRN_EIO/CAIRN_EPERM/CAIRN_ENOSPC with nothing
 * left behind. */
int cairn_keyfile_create(const char *path, uint8_t pk[32]);

/* Writes the secret key sk (64 bytes, this format) to path the same way
 * (a restore from a backup). Returns as cairn_keyfile_create. */
int cairn_keyfile_write(const char *path, const uint8_t sk[64]);

/* Loads the secret key from path into guarded memory (sodium_malloc,
 * read-only after load). On success *sk_out is owned by the caller, who
 * frees it with cairn_keyfile_free(). Returns 0; CAIRN_ENOKEY when missing;
 * CAIRN_EPERM when the mode lets group or others read or write it;
 * CAIRN_ECORRUPT when it is not 64 bytes or the public half does not match.
 * why receives one line naming the file. */
int cairn_keyfile_load(const char *path, uint8_t **sk_out, char *why, size_t whylen);

/* Loads the secret key, same format, from a systemd credential file
 * (CREDENTIALS_DIRECTORY/NAME, made by LoadCredential= or
 * LoadCredentialEncrypted=). The owner may be root or the service user,
 * and group read is allowed: systemd grants the service user read with an
 * ACL, whose mask shows as group read (mode 0440). Group write and any
 * access by others are refused (CAIRN_EPERM). Otherwise as
 * cairn_keyfile_load. */
int cairn_keyfile_load_credential(const char *path, uint8_t **sk_out, char *why,
                                  size_t whylen);

/* Wipes and frees a key from cairn_keyfile_load or
 * cairn_keyfile_load_credential. NULL is a harmless no-op. */
void cairn_keyfile_free(uint8_t *sk);

#endif
