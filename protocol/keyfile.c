/* keyfile.c: create and load DATA/device.key (64 raw bytes, mode 0600), or
 * the same key from a systemd credential. */
#include "keyfile.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"

#define SK_LEN crypto_sign_SECRETKEYBYTES

/* A systemd credential is read-only and, for a service with User=, either
 * owned by that user (mode 0400) or owned by root with an ACL granting the
 * user read, which shows as group read (mode 0440, the ACL's mask). So
 * group read is allowed; group write and anything for others are not. */
#define CREDENTIAL_REFUSED ((mode_t)027)

_Static_assert(crypto_sign_SECRETKEYBYTES == 64, "device.key holds a 64-byte Ed25519 key");
_Static_assert(crypto_sign_PUBLICKEYBYTES == 32, "the device id is 32 bytes");

/* Reads exactly n bytes; a short file is CAIRN_ECORRUPT. */
static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return cairn_err_from_errno(errno);
    }
    if (r == 0)
      return CAIRN_ECORRUPT;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int cairn_keyfile_write(const char *path, const uint8_t sk[64]) {
  return cairn_file_create_secret(path, sk, SK_LEN);
}

int cairn_keyfile_create(const char *path, uint8_t pk[32]) {
  uint8_t sk[SK_LEN];
  uint8_t pk_new[crypto_sign_PUBLICKEYBYTES];
  int rc;

  if (sodium_init() < 0)
    return CAIRN_EINTERNAL;
  crypto_sign_keypair(pk_new, sk);
  rc = cairn_keyfile_write(path, sk);
  sodium_memzero(sk, sizeof sk);
  if (rc != 0)
    return rc;
  memcpy(pk, pk_new, sizeof pk_new);
  return 0;
}

/* refused: the mode bits that make the file unsafe to use (077 for
 * device.key, 027 for a systemd credential). */
static int load_fd(int fd, const char *path, mode_t refused, uint8_t **sk_out, char *why,
                   size_t whylen) {
  struct stat st;
  uint8_t pk_derived[crypto_sign_PUBLICKEYBYTES], pk_stored[crypto_sign_PUBLICKEYBYTES];
  uint8_t sk_derived[SK_LEN];
  uint8_t *sk;
  int rc;

  if (fstat(fd, &st) != 0) {
    rc = cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: %s", path, cairn_strerror(rc));
    return rc;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "%s: not a regular file", path);
    return CAIRN_ECORRUPT;
  }
  if ((st.st_mode & refused) != 0) {
    if (refused == CREDENTIAL_REFUSED)
      snprintf(why, whylen, "%s: %s (mode %04o); systemd gives a credential mode 0400", path,
               (st.st_mode & 004) ? "readable by others" : "open to others or writable by group",
               (unsigned)(st.st_mode & 07777));
    else
      snprintf(why, whylen, "%s: %s by group or others (mode %04o); run chmod 600 %s", path,
               (st.st_mode & 044) ? "readable" : "accessible", (unsigned)(st.st_mode & 07777),
               path);
    return CAIRN_EPERM;
  }
  if (st.st_size != SK_LEN) {
    snprintf(why, whylen, "%s: %lld bytes, a device key is %d", path, (long long)st.st_size,
             SK_LEN);
    return CAIRN_ECORRUPT;
  }
  sk = sodium_malloc(SK_LEN);
  if (!sk) {
    snprintf(why, whylen, "%s: out of memory", path);
    return CAIRN_ENOMEM;
  }
  rc = read_all(fd, sk, SK_LEN);
  if (rc != 0) {
    snprintf(why, whylen, "%s: %s", path, cairn_strerror(rc));
    sodium_free(sk);
    return rc;
  }
  crypto_sign_seed_keypair(pk_derived, sk_derived, sk);
  crypto_sign_ed25519_sk_to_pk(pk_stored, sk);
  rc = sodium_memcmp(pk_derived, pk_stored, sizeof pk_stored) == 0 ? 0 : CAIRN_ECORRUPT;
  sodium_memzero(sk_derived, sizeof sk_derived);
  if (rc != 0) {
    snprintf(why, whylen, "%s: the public half does not match the secret key", path);
    sodium_free(sk);
    return rc;
  }
  sodium_mprotect_readonly(sk);
  *sk_out = sk;
  return 0;
}

static int load(const char *path, mode_t refused, uint8_t **sk_out, char *why, size_t whylen) {
  int fd, rc;

  *sk_out = NULL;
  if (sodium_init() < 0) {
    snprintf(why, whylen, "%s: libsodium failed to initialise", path);
    return CAIRN_EINTERNAL;
  }
  /* O_NONBLOCK: a FIFO planted at path is refused by fstat, not waited on. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    rc = errno == ENOENT ? CAIRN_ENOKEY : cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: %s", path, cairn_strerror(rc));
    return rc;
  }
  rc = load_fd(fd, path, refused, sk_out, why, whylen);
  close(fd);
  return rc;
}

int cairn_keyfile_load(const char *path, uint8_t **sk_out, char *why, size_t whylen) {
  return load(path, 077, sk_out, why, whylen);
}

int cairn_keyfile_load_credential(const char *path, uint8_t **sk_out, char *why, size_t whylen) {
  return load(path, CREDENTIAL_REFUSED, sk_out, why, whylen);
}

void cairn_keyfile_free(uint8_t *sk) {
  if (sk)
    sodium_free(sk); /* wipes before unmapping, read-only or not */
}
