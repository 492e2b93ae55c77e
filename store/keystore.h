/*
 * keystore.h: the key store, DATA/store/keys: per-student data keys kept in a
 * small file of fixed-size slots beside the LMDB environment, so that a key
 * can really be forgotten. LMDB never overwrites a page in place (a deleted
 * value stays on a freed page until reused); here forgetting a key
 * overwrites its slot with zeros where it lies and fdatasyncs before it
 * returns (docs/FORMAT.md, "The key store", gives the file byte by byte).
 *
 * Each key is 32 random bytes (an XChaCha20-Poly1305 key), found by a
 * 16-byte tag the caller chooses; the file never holds a key in the clear:
 * a slot holds the tag, a random nonce and the key sealed under a wrap key
 * the caller derives (from the device's secret key). Tags are opaque here:
 * pass a keyed hash, so that the file names no one.
 *
 * A slot that does not authenticate (a write torn by a crash, a slot torn
 * while it was being forgotten, another wrap key) is read as free: never
 * an error, and the next key made is written over it. So open a file only
 * with its own wrap key: under another, every key in it reads as free, and
 * the keys made then are written over them.
 *
 * Threads: every call but open and close may run on any thread at once;
 * makes and forgets are serialized among themselves, gets run beside them.
 * One process opens a file (cairnd's lock on the data directory).
 */
#ifndef CAIRN_KEYSTORE_H
#define CAIRN_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN_KEYSTORE_TAG_BYTES 16
#define CAIRN_KEYSTORE_KEY_BYTES 32
/* The file's layout (docs/FORMAT.md): a header, then slots, each of this
 * size, at offsets that are multiples of it (none straddles a 512-byte
 * sector). */
#define CAIRN_KEYSTORE_HEADER_BYTES 128
#define CAIRN_KEYSTORE_SLOT_BYTES 128
#define CAIRN_KEYSTORE_VERSION 1

typedef struct cairn_keystore cairn_keystore;

/* Opens the key store file at path, creating it (mode 0600, its header
 * written and fsynced, then its directory fsynced) when it is absent or
 * shorter than a header (a creation a crash cut: it never held a key).
 * wrap is the 32-byte wrap key, copied into guarded memory. Reads every
 * slot: a slot that does not authenticate under wrap is free, as is the
 * short tail of a slot a crash cut while it was being appended; when two
 * slots hold the same tag (a file cairn did not write), the first is kept
 * and the others are overwritten with zeros now.
 * Returns 0 with *out set (close it with cairn_keystore_close); otherwise
 * *out is NULL and: CAIRN_ECORRUPT when the file does not start with the
 * magic "cairnkeys\0" (not a key store) or would hold more than 2^32
 * slots; CAIRN_EVERSION when its version
 * is not CAIRN_KEYSTORE_VERSION (written by another cairn); CAIRN_ENOKEY
 * when its header's check says it was made under another wrap key (another
 * device key: nothing is read or written then); CAIRN_ENOMEM;
 * or the file's errno as cairn_err_from_errno gives it (CAIRN_EIO,
 * CAIRN_EPERM, CAIRN_ENOSPC; CAIRN_EIO too for a path that is not a
 * regular file). */
int cairn_keystore_open(const char *path, const uint8_t wrap[32], cairn_keystore **out);

/* Closes the file and wipes every key and the wrap key from memory.
 * NULL is a harmless no-op. No call may run on ks meanwhile. */
void cairn_keystore_close(cairn_keystore *ks);

/* Copies the key of tag into key. Returns 0, or CAIRN_ENOTFOUND (key
 * untouched) when the store holds no key for tag. Every function here
 * takes a NULL ks as an empty key store that cannot be written: get finds
 * nothing, count is 0, sync does nothing, make and forget return
 * CAIRN_ENOKEY. */
int cairn_keystore_get(cairn_keystore *ks, const uint8_t tag[16], uint8_t key[32]);

/* Copies the key of tag into key: the one held, or a new random key written
 * into the first free slot (or appended). A new key is durable once
 * cairn_keystore_sync returns: call it before anything sealed under the
 * key is made durable (the store: before its commit), so that many keys
 * made in one transaction cost one fdatasync. Returns 0; CAIRN_ENOSPC
 * (disk full), CAIRN_EIO or CAIRN_ENOMEM, with key zeroed and no key made
 * for tag (a slot half-written stays free). */
int cairn_keystore_make(cairn_keystore *ks, const uint8_t tag[16], uint8_t key[32]);

/* Makes every key made so far durable (fdatasync, when one was made since
 * the last call). Returns 0, CAIRN_EIO or CAIRN_ENOSPC (then call it
 * again: the keys stay in memory). */
int cairn_keystore_sync(cairn_keystore *ks);

/* Forgets the key of tag: its slot is overwritten with zeros in place and
 * fdatasynced, then the copy in memory is wiped. Returns 0, also when the
 * store held no key for tag (forgetting is idempotent); CAIRN_EIO (or
 * CAIRN_ENOSPC) when the overwrite did not reach the disk: the key is then
 * still held, and a later forget tries again. */
int cairn_keystore_forget(cairn_keystore *ks, const uint8_t tag[16]);

/* The number of keys held. */
size_t cairn_keystore_count(cairn_keystore *ks);

/* Decodes one slot: slot[0..len) with len == CAIRN_KEYSTORE_SLOT_BYTES
 * (anything else is not a slot) under the wrap key wrap. Returns 1 with tag
 * and key filled when the slot holds a key; 0 when it is free (all zero) or
 * unreadable (torn, another wrap key, the wrong length), with tag and key
 * zeroed. Pure; reads nothing past slot[len). */
int cairn_keystore_slot_decode(const uint8_t *slot, size_t len, const uint8_t wrap[32],
                               uint8_t tag[16], uint8_t key[32]);

#endif
