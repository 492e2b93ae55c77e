/*
 * keystore.c: the key store file (keystore.h; docs/FORMAT.md, "The key
 * store").
 *
 * In memory: the keys held, in an array sorted by tag (sodium_malloc'ed:
 * guarded, and wiped when freed or when a key leaves it), and a stack of
 * the free slots, the next one to use on top.
 * Locks: writer serializes make and forget (the only callers that change
 * anything); index guards the array and the count against the gets. A
 * writer reads the array under writer alone (no one else changes it) and
 * takes index for writing only to change it, so that a get never waits for
 * an fdatasync.
 */
#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "file.h"

#define TAG CAIRN_KEYSTORE_TAG_BYTES
#define KEY CAIRN_KEYSTORE_KEY_BYTES
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEALED (KEY + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define SLOT CAIRN_KEYSTORE_SLOT_BYTES
#define HEADER CAIRN_KEYSTORE_HEADER_BYTES
/* Where each part lies in a slot; the rest of the slot is zero. */
#define AT_NONCE TAG
#define AT_SEALED (TAG + NONCE)

static const char magic[10] = "cairnkeys";

typedef struct held {
  uint8_t tag[TAG];
  uint8_t key[KEY];
  uint32_t slot;
} held;

struct cairn_keystore {
  int fd;
  uint8_t *wrap;      /* KEY bytes, sodium_malloc'ed */
  held *keys;         /* n of cap, sorted by tag, sodium_malloc'ed */
  size_t n, cap;
  uint32_t *free;     /* nfree (of room for freecap) free slots, the next
                         one to use last: at open the lowest, then the
                         latest forgotten */
  size_t nfree, freecap;
  uint32_t slots;     /* whole slots in the file */
  int unsynced;       /* a key was made since the last cairn_keystore_sync */
  pthread_mutex_t writer;
  pthread_rwlock_t index;
};

int cairn_keystore_slot_decode(const uint8_t *slot, size_t len, const uint8_t wrap[32],
                               uint8_t tag[16], uint8_t key[32]) {
  uint8_t plain[KEY];
  unsigned long long plen = 0;

  memset(tag, 0, TAG);
  memset(key, 0, KEY);
  if (len != SLOT || sodium_is_zero(slot, SLOT))
    return 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, slot + AT_SEALED, SEALED,
                                                 slot, TAG, slot + AT_NONCE, wrap) != 0 ||
      plen != KEY) {
    sodium_memzero(plain, sizeof plain);
    return 0;
  }
  memcpy(tag, slot, TAG);
  memcpy(key, plain, KEY);
  sodium_memzero(plain, sizeof plain);
  return 1;
}

/* The slot holding key under tag, sealed under wrap with a new nonce. */
static void slot_encode(uint8_t slot[SLOT], const uint8_t *wrap, const uint8_t *tag,
                        const uint8_t *key) {
  memset(slot, 0, SLOT);
  memcpy(slot, tag, TAG);
  randombytes_buf(slot + AT_NONCE, NONCE);
  crypto_aead_xchacha20poly1305_ietf_encrypt(slot + AT_SEALED, NULL, key, KEY, tag, TAG, NULL,
                                             slot + AT_NONCE, wrap);
}

static int io_error(int e) { return e == ENOSPC ? CAIRN_ENOSPC : CAIRN_EIO; }

/* Writes the n bytes of p at off and fdatasyncs: 0 or a CAIRN_E* code. */
/* Writes p[0..n) at off. Returns 0 or an error. */
static int write_at(int fd, const uint8_t *p, size_t n, off_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return io_error(w < 0 ? errno : EIO);
    p += w;
    n -= (size_t)w;
    off += w;
  }
  return 0;
}

/* The same, then fdatasync. */
static int write_durably(int fd, const uint8_t *p, size_t n, off_t off) {
  int rc = write_at(fd, p, n, off);
  return rc != 0 ? rc : fdatasync(fd) == 0 ? 0 : io_error(errno);
}

/* Reads up to n bytes at off into p; *got how many (short only at the end
 * of the file). */
static int read_at(int fd, uint8_t *p, size_t n, off_t off, size_t *got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = pread(fd, p + *got, n - *got, off + (off_t)*got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return cairn_err_from_errno(errno);
    if (r == 0)
      break;
    *got += (size_t)r;
  }
  return 0;
}

static off_t slot_offset(uint32_t slot) { return (off_t)HEADER + (off_t)slot * SLOT; }

/* The place of tag in the sorted array: its index when *found, else where
 * it would go. */
static size_t find(const cairn_keystore *ks, const uint8_t *tag, int *found) {
  size_t lo = 0, hi = ks->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(ks->keys[mid].tag, tag, TAG);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

/* Makes room for one more key (the array is moved to a larger one, the old
 * wiped by sodium_free). Caller holds index for writing, or is alone. */
static int reserve_one(cairn_keystore *ks) {
  if (ks->n < ks->cap)
    return 0;
  size_t cap = ks->cap ? ks->cap * 2 : 64;
  held *keys = sodium_malloc(cap * sizeof *keys);
  if (keys == NULL)
    return CAIRN_ENOMEM;
  if (ks->n)
    memcpy(keys, ks->keys, ks->n * sizeof *keys);
  sodium_free(ks->keys);
  ks->keys = keys;
  ks->cap = cap;
  return 0;
}

static void insert_at(cairn_keystore *ks, size_t at, const uint8_t *tag, const uint8_t *key,
                      uint32_t slot) {
  memmove(ks->keys + at + 1, ks->keys + at, (ks->n - at) * sizeof *ks->keys);
  memcpy(ks->keys[at].tag, tag, TAG);
  memcpy(ks->keys[at].key, key, KEY);
  ks->keys[at].slot = slot;
  ks->n++;
}

static void remove_at(cairn_keystore *ks, size_t at) {
  memmove(ks->keys + at, ks->keys + at + 1, (ks->n - at - 1) * sizeof *ks->keys);
  ks->n--;
  sodium_memzero(ks->keys + ks->n, sizeof *ks->keys);
}

/* Makes the free stack able to hold need slots, so that pushing on it
 * never fails (a forget that reached the disk must not fail after). */
static int reserve_free(cairn_keystore *ks, size_t need) {
  if (need <= ks->freecap)
    return 0;
  size_t cap = need < 32 ? 64 : need * 2;
  uint32_t *f = realloc(ks->free, cap * sizeof *f);
  if (f == NULL)
    return CAIRN_ENOMEM;
  ks->free = f;
  ks->freecap = cap;
  return 0;
}

/* The header's check (bytes 14-45): BLAKE2b-256 of "cairnkeys check"
 * keyed with the wrap key, so that a store opened under another wrap key
 * is refused rather than read as empty (and its slots made over). */
static void header_check(const uint8_t *wrap, uint8_t out[32]) {
  static const char what[] = "cairnkeys check";
  crypto_generichash(out, 32, (const uint8_t *)what, sizeof what - 1, wrap, KEY);
}

static int create_header(cairn_keystore *ks, const char *path) {
  uint8_t h[HEADER] = {0};

  memcpy(h, magic, sizeof magic);
  h[13] = CAIRN_KEYSTORE_VERSION; /* u32 big-endian at 10 */
  header_check(ks->wrap, h + 14);
  if (ftruncate(ks->fd, 0) != 0)
    return io_error(errno);
  int rc = write_durably(ks->fd, h, sizeof h, 0);
  return rc ? rc : cairn_file_sync_parent(path);
}

static int check_header(const cairn_keystore *ks, const uint8_t *h) {
  uint8_t check[32];
  if (memcmp(h, magic, sizeof magic) != 0)
    return CAIRN_ECORRUPT;
  uint32_t v = (uint32_t)h[10] << 24 | (uint32_t)h[11] << 16 | (uint32_t)h[12] << 8 | h[13];
  if (v != CAIRN_KEYSTORE_VERSION)
    return CAIRN_EVERSION;
  header_check(ks->wrap, check);
  return sodium_memcmp(check, h + 14, sizeof check) == 0 ? 0 : CAIRN_ENOKEY;
}

static int held_cmp(const void *a, const void *b) {
  const held *x = a, *y = b;
  int c = memcmp(x->tag, y->tag, TAG);
  return c ? c : (x->slot > y->slot) - (x->slot < y->slot);
}

/* Reads every slot into ks: the keys (sorted, a tag's later copies
 * overwritten on disk) and the free stack. */
static int read_slots(cairn_keystore *ks, off_t size) {
  enum { CHUNK = 64 };
  static const uint8_t zero[SLOT];
  uint8_t *buf = sodium_malloc(CHUNK * SLOT);
  int rc = 0;

  if (buf == NULL)
    return CAIRN_ENOMEM;
  if ((uint64_t)(size - HEADER) / SLOT > UINT32_MAX) {
    sodium_free(buf);
    return CAIRN_ECORRUPT;
  }
  ks->slots = (uint32_t)((size - HEADER) / SLOT);
  for (uint32_t first = 0; rc == 0 && first < ks->slots; first += CHUNK) {
    uint32_t k = ks->slots - first < CHUNK ? ks->slots - first : CHUNK;
    size_t got;
    rc = read_at(ks->fd, buf, (size_t)k * SLOT, slot_offset(first), &got);
    if (rc == 0 && got != (size_t)k * SLOT)
      rc = CAIRN_EIO; /* the file shrank under us */
    for (uint32_t i = 0; rc == 0 && i < k; i++) {
      uint8_t tag[TAG], key[KEY];
      if (cairn_keystore_slot_decode(buf + (size_t)i * SLOT, SLOT, ks->wrap, tag, key) &&
          (rc = reserve_one(ks)) == 0)
        insert_at(ks, ks->n, tag, key, first + i);
      sodium_memzero(key, sizeof key);
    }
  }
  sodium_free(buf);
  if (rc != 0)
    return rc;
  if (ks->n > 1)
    qsort(ks->keys, ks->n, sizeof *ks->keys, held_cmp);
  /* A tag held twice: keep the first slot, zero the others. */
  size_t kept = 0;
  for (size_t i = 0; i < ks->n; i++) {
    if (kept > 0 && memcmp(ks->keys[kept - 1].tag, ks->keys[i].tag, TAG) == 0) {
      if ((rc = write_durably(ks->fd, zero, SLOT, slot_offset(ks->keys[i].slot))) != 0)
        return rc;
      continue;
    }
    if (kept != i)
      ks->keys[kept] = ks->keys[i];
    kept++;
  }
  for (size_t i = kept; i < ks->n; i++)
    sodium_memzero(ks->keys + i, sizeof *ks->keys);
  ks->n = kept;
  /* The free stack: every slot no key holds, the lowest on top. */
  uint8_t *used = calloc(ks->slots ? ks->slots : 1, 1);
  if (used == NULL)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < ks->n; i++)
    used[ks->keys[i].slot] = 1;
  rc = reserve_free(ks, ks->slots);
  for (uint32_t s = ks->slots; rc == 0 && s-- > 0;)
    if (!used[s])
      ks->free[ks->nfree++] = s;
  free(used);
  return rc;
}

int cairn_keystore_open(const char *path, const uint8_t wrap[32], cairn_keystore **out) {
  cairn_keystore *ks = calloc(1, sizeof *ks);
  struct stat st;
  uint8_t h[HEADER];
  size_t got;
  int rc;

  *out = NULL;
  if (ks == NULL)
    return CAIRN_ENOMEM;
  ks->fd = -1;
  if (pthread_mutex_init(&ks->writer, NULL) != 0) {
    free(ks);
    return CAIRN_ENOMEM;
  }
  if (pthread_rwlock_init(&ks->index, NULL) != 0) {
    pthread_mutex_destroy(&ks->writer);
    free(ks);
    return CAIRN_ENOMEM;
  }
  ks->wrap = sodium_malloc(KEY);
  if (ks->wrap == NULL) {
    cairn_keystore_close(ks);
    return CAIRN_ENOMEM;
  }
  memcpy(ks->wrap, wrap, KEY);
  ks->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (ks->fd < 0)
    rc = cairn_err_from_errno(errno);
  else if (fstat(ks->fd, &st) != 0)
    rc = cairn_err_from_errno(errno);
  else if (!S_ISREG(st.st_mode))
    rc = CAIRN_EIO;
  else if (st.st_size < HEADER)
    rc = create_header(ks, path);
  else if ((rc = read_at(ks->fd, h, sizeof h, 0, &got)) == 0)
    rc = got == sizeof h ? check_header(ks, h) : CAIRN_EIO;
  if (rc == 0 && st.st_size > HEADER)
    rc = read_slots(ks, st.st_size);
  if (rc != 0) {
    cairn_keystore_close(ks);
    return rc;
  }
  *out = ks;
  return 0;
}

void cairn_keystore_close(cairn_keystore *ks) {
  if (ks == NULL)
    return;
  if (ks->fd >= 0) {
    if (ks->unsynced) /* keys a transaction made and then dropped: kept anyway */
      (void)fdatasync(ks->fd);
    close(ks->fd);
  }
  sodium_free(ks->keys); /* wipes them */
  sodium_free(ks->wrap);
  free(ks->free);
  pthread_rwlock_destroy(&ks->index);
  pthread_mutex_destroy(&ks->writer);
  free(ks);
}

int cairn_keystore_get(cairn_keystore *ks, const uint8_t tag[16], uint8_t key[32]) {
  if (ks == NULL)
    return CAIRN_ENOTFOUND;
  int found;

  pthread_rwlock_rdlock(&ks->index);
  size_t at = find(ks, tag, &found);
  if (found)
    memcpy(key, ks->keys[at].key, KEY);
  pthread_rwlock_unlock(&ks->index);
  return found ? 0 : CAIRN_ENOTFOUND;
}

int cairn_keystore_make(cairn_keystore *ks, const uint8_t tag[16], uint8_t key[32]) {
  if (ks == NULL)
    return CAIRN_ENOKEY;
  uint8_t slot[SLOT], fresh[KEY];
  int found, rc;

  pthread_mutex_lock(&ks->writer);
  size_t at = find(ks, tag, &found);
  if (found) {
    memcpy(key, ks->keys[at].key, KEY);
    pthread_mutex_unlock(&ks->writer);
    return 0;
  }
  /* Room first, so that nothing can fail once the key is on disk. */
  uint32_t where = ks->nfree ? ks->free[ks->nfree - 1] : ks->slots;
  pthread_rwlock_wrlock(&ks->index);
  rc = reserve_one(ks);
  pthread_rwlock_unlock(&ks->index);
  if (rc == 0 && where == ks->slots)
    rc = ks->slots == UINT32_MAX ? CAIRN_ENOSPC : reserve_free(ks, (size_t)ks->slots + 1);
  if (rc == 0) {
    randombytes_buf(fresh, sizeof fresh);
    slot_encode(slot, ks->wrap, tag, fresh);
    rc = write_at(ks->fd, slot, SLOT, slot_offset(where));
    sodium_memzero(slot, sizeof slot);
  }
  if (rc == 0) {
    ks->unsynced = 1;
    if (where == ks->slots)
      ks->slots++;
    else
      ks->nfree--;
    pthread_rwlock_wrlock(&ks->index);
    insert_at(ks, at, tag, fresh, where);
    pthread_rwlock_unlock(&ks->index);
    memcpy(key, fresh, KEY);
  } else {
    memset(key, 0, KEY);
  }
  sodium_memzero(fresh, sizeof fresh);
  pthread_mutex_unlock(&ks->writer);
  return rc;
}

int cairn_keystore_sync(cairn_keystore *ks) {
  if (ks == NULL)
    return 0;
  int rc = 0;
  pthread_mutex_lock(&ks->writer);
  if (ks->unsynced) {
    rc = fdatasync(ks->fd) == 0 ? 0 : io_error(errno);
    ks->unsynced = rc != 0;
  }
  pthread_mutex_unlock(&ks->writer);
  return rc;
}

int cairn_keystore_forget(cairn_keystore *ks, const uint8_t tag[16]) {
  if (ks == NULL)
    return CAIRN_ENOKEY;
  static const uint8_t zero[SLOT];
  int found, rc = 0;

  pthread_mutex_lock(&ks->writer);
  size_t at = find(ks, tag, &found);
  if (found) {
    uint32_t slot = ks->keys[at].slot;
    rc = write_durably(ks->fd, zero, SLOT, slot_offset(slot));
    if (rc == 0) {
      pthread_rwlock_wrlock(&ks->index);
      remove_at(ks, at);
      pthread_rwlock_unlock(&ks->index);
      ks->free[ks->nfree++] = slot;
    }
  }
  pthread_mutex_unlock(&ks->writer);
  return rc;
}

size_t cairn_keystore_count(cairn_keystore *ks) {
  if (ks == NULL)
    return 0;
  pthread_rwlock_rdlock(&ks->index);
  size_t n = ks->n;
  pthread_rwlock_unlock(&ks->index);
  return n;
}
