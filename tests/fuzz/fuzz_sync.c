/*
 * fuzz_sync.c: cairn_sync_decode on one reassembled sync message, then the
 * entries an ENTRIES message carries, as the link does.
 *
 * Checks: strings are NUL-terminated inside their fields; the entries
 * borrow from the input; what decodes encodes again with the matching
 * cairn_sync_pack_* and decodes back to the same message.
 */
#include <string.h>

#include <sodium.h>

#include "entry.h"
#include "error.h"
#include "fuzz.h"
#include "sync.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

#define TERMINATED(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

static void check_terminated(const cairn_sync_msg *m) {
  TERMINATED(m->role);
  TERMINATED(m->campus);
  TERMINATED(m->classroom);
  TERMINATED(m->reason);
  TERMINATED(m->name);
  TERMINATED(m->student);
}

static int repack(const cairn_sync_msg *m, msgpack_sbuffer *sb) {
  switch (m->type) {
  case CAIRN_SYNC_HELLO:
    return cairn_sync_pack_hello(sb, m->role, m->device, m->campus, m->classroom, m->vv, m->vv_n,
                                 m->time_ms, m->central_ms);
  case CAIRN_SYNC_ENTRIES:
    return cairn_sync_pack_entries(sb, m->batch, m->entries, m->entries_len, m->entries_count);
  case CAIRN_SYNC_ACK:
    return cairn_sync_pack_ack(sb, &(cairn_sync_ack){.batch = m->batch, .applied = m->applied,
                                                      .refused = m->refused, .held = m->held,
                                                      .redated = m->redated,
                                                      .ahead_ms = m->ahead_ms,
                                                      .reason = m->reason});
  case CAIRN_SYNC_RECEIPT:
    return cairn_sync_pack_receipt(sb, m->author, m->seq, m->central, m->sig);
  case CAIRN_SYNC_JOIN:
    return cairn_sync_pack_join(sb, m->secret, m->device, m->role, m->name);
  case CAIRN_SYNC_WELCOME:
    return cairn_sync_pack_welcome(sb, m->welcome_code, m->campus, m->classroom, m->reason);
  case CAIRN_SYNC_CLOSE:
    return cairn_sync_pack_close(sb, m->close_code, m->reason);
  case CAIRN_SYNC_OFFER:
    return cairn_sync_pack_offer(sb, m->offered);
  case CAIRN_SYNC_ARRIVED:
  case CAIRN_SYNC_WANT:
  case CAIRN_SYNC_DONE:
    return cairn_sync_pack_student(sb, m->type, m->student, m->arrival);
  case CAIRN_SYNC_FILL:
    return cairn_sync_pack_fill(sb, m->entries, m->entries_len, m->entries_count);
  }
  return CAIRN_EINVAL;
}

/* a and b are the same message (entries compared by content). */
static void check_same(const cairn_sync_msg *a, const cairn_sync_msg *b) {
  FUZZ_CHECK(a->type == b->type && a->version == b->version);
  FUZZ_CHECK(strcmp(a->role, b->role) == 0 && strcmp(a->campus, b->campus) == 0 &&
             strcmp(a->classroom, b->classroom) == 0 && strcmp(a->reason, b->reason) == 0 &&
             strcmp(a->name, b->name) == 0);
  FUZZ_CHECK(memcmp(a->device, b->device, sizeof a->device) == 0);
  FUZZ_CHECK(a->vv_n == b->vv_n &&
             (a->vv_n == 0 || memcmp(a->vv, b->vv, a->vv_n * sizeof *a->vv) == 0));
  FUZZ_CHECK(a->batch == b->batch && a->applied == b->applied && a->refused == b->refused);
  FUZZ_CHECK(a->entries_len == b->entries_len &&
             (a->entries_len == 0 || memcmp(a->entries, b->entries, a->entries_len) == 0));
  FUZZ_CHECK(memcmp(a->author, b->author, sizeof a->author) == 0 && a->seq == b->seq &&
             memcmp(a->central, b->central, sizeof a->central) == 0 &&
             memcmp(a->sig, b->sig, sizeof a->sig) == 0);
  FUZZ_CHECK(memcmp(a->secret, b->secret, sizeof a->secret) == 0);
  FUZZ_CHECK(a->welcome_code == b->welcome_code && a->close_code == b->close_code);
  FUZZ_CHECK(a->time_ms == b->time_ms && a->central_ms == b->central_ms);
  FUZZ_CHECK(a->held == b->held && a->redated == b->redated && a->ahead_ms == b->ahead_ms);
  FUZZ_CHECK(a->offered == b->offered && a->entries_count == b->entries_count);
  FUZZ_CHECK(strcmp(a->student, b->student) == 0 && a->arrival == b->arrival);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_sync_msg m, again;
  msgpack_sbuffer sb;
  char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1];
  int code;
  /* The same bytes as a refusal record, read before any handshake. */
  if (cairn_sync_parse_refusal(data, size, &code, text)) {
    FUZZ_CHECK(code >= 0 && code <= 255 && strlen(text) <= CAIRN_SYNC_CLOSE_TEXT_MAX);
    for (const char *c = text; *c; c++)
      FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
  }
  int rc = cairn_sync_decode(data, size, &m);

  if (rc != 0) {
    FUZZ_CHECK(rc == CAIRN_EMALFORMED || rc == CAIRN_EVERSION || rc == CAIRN_ETOOBIG ||
               rc == CAIRN_ENOMEM);
    FUZZ_CHECK(m.vv == NULL && m.type == 0);
    return 0;
  }
  FUZZ_CHECK(m.type >= CAIRN_SYNC_HELLO && m.type <= CAIRN_SYNC_DONE);
  FUZZ_CHECK(m.time_ms < (UINT64_C(1) << 48) && m.central_ms < (UINT64_C(1) << 48));
  check_terminated(&m);
  FUZZ_CHECK(m.vv_n <= CAIRN_SYNC_VV_MAX);
  if (m.type == CAIRN_SYNC_ARRIVED || m.type == CAIRN_SYNC_WANT || m.type == CAIRN_SYNC_DONE)
    FUZZ_CHECK(cairn_text_id_logged(m.student, strlen(m.student)));
  if (m.type == CAIRN_SYNC_ENTRIES || m.type == CAIRN_SYNC_FILL) {
    FUZZ_CHECK(m.entries_len == 0 || fuzz_inside(data, size, m.entries, m.entries_len));
    (void)fuzz_decode_entries(m.entries, m.entries_len); /* as the link does */
  }

  msgpack_sbuffer_init(&sb);
  FUZZ_CHECK(repack(&m, &sb) == 0);
  rc = cairn_sync_decode((const uint8_t *)sb.data, sb.size, &again);
  FUZZ_CHECK(rc == 0);
  check_same(&m, &again);
  cairn_sync_msg_clear(&again);
  msgpack_sbuffer_destroy(&sb);
  cairn_sync_msg_clear(&m);
  return 0;
}
