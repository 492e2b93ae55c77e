/*
 * device_key.h: where cairnd takes its device key from.
 *
 * When the environment has CREDENTIALS_DIRECTORY (systemd sets it for a
 * unit with LoadCredential= or LoadCredentialEncrypted=) and that
 * directory holds a file named cairn-device-key, the key is that file
 * (same 64-byte format as DATA/device.key; keyfile.h). Otherwise it is
 * DATA/device.key, as before. A credential beside a DATA/device.key that
 * holds another key is two identities for one node: refused.
 */
#ifndef CAIRN_DEVICE_KEY_H
#define CAIRN_DEVICE_KEY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* The name of the credential that holds the device key. */
#define CAIRN_DEVICE_KEY_CREDENTIAL "cairn-device-key"

/* Where the loaded key came from. */
typedef struct cairn_device_key_from {
  char line[2 * PATH_MAX + 160]; /* one line for the log: the file(s) the key came from */
  int plain_copy;  /* 1: from the credential, and dir/device.key holds the same key */
} cairn_device_key_from;

/* Loads the device key for the data directory dir from the credential or
 * from dir/device.key, as above. On success *sk_out is owned by the caller
 * (free with cairn_keyfile_free) and *from says where the key came from.
 * Returns 0; CAIRN_ECONFIG when the credential and dir/device.key hold
 * different keys, or dir/device.key cannot be read beside a credential;
 * otherwise as cairn_keyfile_load. On failure why receives one line
 * naming the file(s). */
int cairn_device_key_load(const char *dir, uint8_t **sk_out, cairn_device_key_from *from,
                          char *why, size_t whylen);

#endif
