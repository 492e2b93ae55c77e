/*
 * fuzz_entry.c: cairn_entry_decode over a stream of entries (the body of an
 * ENTRIES message, a bundle), with cairn_entry_verify_sig and
 * cairn_entry_follows on what decodes.
 *
 * Checks: consumed lies within the input; a strict prefix of a decoded
 * entry asks for more input; the body borrows from the input; re-encoding
 * and redacting a decoded entry decode back to the same hash (so the hash
 * a signature covers does not depend on how the peer spelled the fields).
 */
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

/* Decodes sb's bytes and checks they are one entry with e's hash. */
static void check_reencoded(const msgpack_sbuffer *sb, const cairn_entry *e, int redacted) {
  cairn_entry again;
  size_t consumed = 0;
  int rc = cairn_entry_decode((const uint8_t *)sb->data, sb->size, &again, &consumed);

  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(consumed == sb->size);
  FUZZ_CHECK(memcmp(again.hash, e->hash, CAIRN_HASH_BYTES) == 0);
  FUZZ_CHECK(memcmp(again.body_hash, e->body_hash, CAIRN_HASH_BYTES) == 0);
  FUZZ_CHECK(again.redacted == (redacted || e->redacted));
  FUZZ_CHECK(again.seq == e->seq && again.hlc == e->hlc && again.kind == e->kind);
  FUZZ_CHECK(again.has_sig == e->has_sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_entry prev;
  int have_prev = 0;
  size_t off = 0;

  while (off < size) {
    cairn_entry e;
    size_t consumed = 0;
    int rc = cairn_entry_decode(data + off, size - off, &e, &consumed);

    if (rc != 0) {
      FUZZ_CHECK(rc == CAIRN_EAGAIN || rc == CAIRN_EMALFORMED || rc == CAIRN_EVERSION ||
                 rc == CAIRN_ETOOBIG);
      return 0;
    }
    FUZZ_CHECK(consumed >= 1 && consumed <= size - off && consumed <= CAIRN_ENTRY_MAX);
    if (e.redacted)
      FUZZ_CHECK(e.body == NULL && e.body_len == 0);
    else
      FUZZ_CHECK(e.body_len <= CAIRN_BODY_MAX &&
                 (e.body_len == 0 || fuzz_inside(data + off, consumed, e.body, e.body_len)));
    {
      cairn_entry p;
      size_t c2;
      FUZZ_CHECK(cairn_entry_decode(data + off, consumed - 1, &p, &c2) == CAIRN_EAGAIN);
    }

    rc = cairn_entry_verify_sig(&e);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EBADSIG);
    if (!e.has_sig)
      FUZZ_CHECK(rc == CAIRN_EBADSIG);
    rc = cairn_entry_follows(&e, NULL);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EGAP || rc == CAIRN_EBADCHAIN);
    if (have_prev) {
      rc = cairn_entry_follows(&e, &prev);
      FUZZ_CHECK(rc == 0 || rc == CAIRN_EGAP || rc == CAIRN_EBADCHAIN);
    }

    {
      msgpack_sbuffer sb;
      msgpack_sbuffer_init(&sb);
      FUZZ_CHECK(cairn_entry_encode(&e, &sb) == 0);
      check_reencoded(&sb, &e, 0);
      sb.size = 0;
      FUZZ_CHECK(cairn_entry_redact(&e, &sb) == 0);
      check_reencoded(&sb, &e, 1);
      msgpack_sbuffer_destroy(&sb);
    }

    prev = e;
    have_prev = 1;
    off += consumed;
  }
  return 0;
}
