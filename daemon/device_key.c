/* device_key.c: the device key from a systemd credential or DATA/device.key. */
#include "device_key.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "error.h"
#include "keyfile.h"

/* The first 8 hex digits of the device id (the public half) of sk. */
static void short_id(const uint8_t *sk, char out[9]) {
  char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];

  sodium_bin2hex(hex, sizeof hex, sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
  snprintf(out, 9, "%.8s", hex);
}

int cairn_device_key_load(const char *dir, uint8_t **sk_out, cairn_device_key_from *from,
                          char *why, size_t whylen) {
  const char *creds = getenv("CREDENTIALS_DIRECTORY");
  char file[PATH_MAX], cred[PATH_MAX], file_why[512], cred_id[9], file_id[9];
  uint8_t *cred_sk = NULL, *file_sk = NULL;
  int rc;

  *sk_out = NULL;
  from->line[0] = '\0';
  from->plain_copy = 0;
  if (snprintf(file, sizeof file, "%s/device.key", dir) >= (int)sizeof file) {
    snprintf(why, whylen, "%s: path too long", dir);
    return CAIRN_EINVAL;
  }
  if (creds != NULL && creds[0] != '\0') {
    if (snprintf(cred, sizeof cred, "%s/%s", creds, CAIRN_DEVICE_KEY_CREDENTIAL) >=
        (int)sizeof cred) {
      snprintf(why, whylen, "CREDENTIALS_DIRECTORY: path too long");
      return CAIRN_EINVAL;
    }
    rc = cairn_keyfile_load_credential(cred, &cred_sk, why, whylen);
    if (rc != 0 && rc != CAIRN_ENOKEY)
      return rc;
  }
  if (cred_sk == NULL) { /* no credential: DATA/device.key, as before */
    rc = cairn_keyfile_load(file, sk_out, why, whylen);
    if (rc == 0)
      snprintf(from->line, sizeof from->line, "device key from %s", file);
    return rc;
  }

  rc = cairn_keyfile_load(file, &file_sk, file_why, sizeof file_why);
  if (rc == CAIRN_ENOKEY) {
    *sk_out = cred_sk;
    snprintf(from->line, sizeof from->line, "device key from the credential %s", cred);
    return 0;
  }
  if (rc != 0) {
    snprintf(why, whylen, "the device key is in the credential %s, and %s cannot be read "
             "(%s); two device keys for one node are refused: remove %s",
             cred, file, file_why, file);
    cairn_keyfile_free(cred_sk);
    return CAIRN_ECONFIG;
  }
  short_id(cred_sk, cred_id);
  short_id(file_sk, file_id);
  rc = sodium_memcmp(cred_sk, file_sk, crypto_sign_SECRETKEYBYTES);
  cairn_keyfile_free(file_sk);
  if (rc != 0) {
    snprintf(why, whylen, "two device keys: the credential %s (device %s) and %s (device "
             "%s) differ; a node has one identity: keep the one its store belongs to and "
             "remove the other",
             cred, cred_id, file, file_id);
    cairn_keyfile_free(cred_sk);
    return CAIRN_ECONFIG;
  }
  *sk_out = cred_sk;
  from->plain_copy = 1;
  snprintf(from->line, sizeof from->line, "device key from the credential %s; %s holds the same key: "
           "remove it (shred -u) to keep the key only in the credential",
           cred, file);
  return 0;
}
