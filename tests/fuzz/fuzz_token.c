/*
 * fuzz_token.c: cairn_sync_token_parse on the text a user pastes into
 * `cairn join TOKEN`.
 *
 * The input, cut at its first NUL, is the token text. Checks: a refusal
 * says why and leaves the token zeroed; an accepted token formats again
 * and parses back to the same fields.
 */
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "fuzz.h"
#include "sync.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const cairn_sync_token zero;
  cairn_sync_token t, again;
  char text_out[CAIRN_SYNC_TOKEN_MAX], why[256] = "";
  char *text = malloc(size + 1);
  int rc;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  rc = cairn_sync_token_parse(text, &t, why, sizeof why);
  free(text);
  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EINVAL || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(memcmp(&t, &zero, sizeof t) == 0);
    FUZZ_CHECK(rc == CAIRN_ENOMEM || why[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(memchr(t.address, '\0', sizeof t.address) != NULL);

  /* An accepted token round-trips, unless its address is too long for the
   * text form (the parser reads up to CAIRN_SYNC_TOKEN_MAX raw bytes, which
   * is more than fits the same limit once in base64). */
  rc = cairn_sync_token_format(&t, text_out, sizeof text_out);
  if (rc == CAIRN_ETOOBIG)
    return 0;
  FUZZ_CHECK(rc == 0);
  FUZZ_CHECK(cairn_sync_token_parse(text_out, &again, why, sizeof why) == 0);
  FUZZ_CHECK(strcmp(t.address, again.address) == 0);
  FUZZ_CHECK(memcmp(t.central, again.central, sizeof t.central) == 0);
  FUZZ_CHECK(memcmp(t.network, again.network, sizeof t.network) == 0);
  FUZZ_CHECK(memcmp(t.secret, again.secret, sizeof t.secret) == 0);
  FUZZ_CHECK(t.expires == again.expires);
  return 0;
}
