/* link_status.c: what `cairn sync status` shows of the links, the clock
 * and the refusal counts. */
#include "link_int.h"

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Entries this node holds (have: its version vector) that the peer lacks
 * and will be sent, not counting those sent already. */
uint64_t cairn__link_lacking(link *l) {
  const cairn_vv_item *have = l->mgr->vv;
  uint64_t sum = 0;
  for (size_t i = 0; i < l->mgr->vv_n; i++) {
    uint64_t p = cairn__link_peer_has(l, have[i].author);
    if (have[i].seq > p && cairn__link_author_wanted(l, i))
      sum += have[i].seq - p;
  }
  return sum;
}

/* Entries the peer said it will send that have not been applied here yet;
 * -1 until its first OFFER. */
int64_t cairn__link_to_receive(const link *l) {
  return l->offer_known ? (int64_t)(l->offered + l->in_apply) : -1;
}

static void pack_peer(cairn_links *m, msgpack_packer *pk, link *l) {
  char peer[65] = "";
  int up = l == NULL || l->dir == LINK_UPSTREAM;
  uint64_t rseq = 0;
  uint8_t sig[CAIRN_SIG_BYTES];

  if (l != NULL && l->peer_known)
    hex(l->peer, CAIRN_KEY_BYTES, peer);
  else if (up)
    snprintf(peer, sizeof peer, "%s", m->o.config->upstream_key);
  int64_t clock = 0;
  int clock_known = up ? m->offset_known : l->peer_clock_known;
  char clock_text[128] = "", words[64];
  if (clock_known)
    clock = up ? -m->central_offset_ms : l->peer_clock_ms;
  if (clock_known && llabs(clock) > cairn__link_tolerance_ms(m)) {
    cairn__link_clock_words(clock, words, sizeof words);
    snprintf(clock_text, sizeof clock_text, "%s clock is %s the central's",
             up ? "this machine's" : "its", words);
  }
  msgpack_pack_map(pk, 19);
  pack_str(pk, "peer");
  pack_str(pk, peer);
  pack_str(pk, "clock_offset_ms"); /* its clock minus the central's */
  if (clock_known)
    msgpack_pack_int64(pk, clock);
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "clock");
  pack_str(pk, clock_text);
  pack_str(pk, "last_error_code");
  if (up && m->up_error_code != 0)
    pack_str(pk, cairn_sync_close_name(m->up_error_code));
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "notice");
  pack_str(pk, up ? m->up_notice : "");
  pack_str(pk, "address");
  pack_str(pk, up ? m->o.config->upstream : "");
  pack_str(pk, "role");
  pack_str(pk, l != NULL && l->peer_role[0] ? l->peer_role : up ? "upstream" : "");
  pack_str(pk, "direction");
  pack_str(pk, up ? "upstream" : "downstream");
  pack_str(pk, "connected");
  if (l != NULL && l->state >= LINK_SYNCING && l->state != LINK_CLOSING)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
  pack_str(pk, "state");
  pack_str(pk, l != NULL ? cairn__link_state_names[l->state] : "waiting to retry");
  pack_str(pk, "last_success");
  if (up && m->last_success > 0)
    msgpack_pack_int64(pk, m->last_success);
  else if (!up && l->last_success > 0)
    msgpack_pack_int64(pk, l->last_success);
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "pending_out"); /* not yet sent, or sent and not acknowledged */
  if (l != NULL && in_session(l->state))
    msgpack_pack_uint64(pk, cairn__link_lacking(l) + l->unacked);
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "pending_in"); /* what the peer offered, not yet applied */
  if (l != NULL && cairn__link_to_receive(l) >= 0)
    msgpack_pack_uint64(pk, (uint64_t)cairn__link_to_receive(l));
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "sent");
  msgpack_pack_uint64(pk, (up ? m->up_sent : 0) + (l ? l->sent : 0));
  pack_str(pk, "received");
  msgpack_pack_uint64(pk, (up ? m->up_received : 0) + (l ? l->received : 0));
  pack_str(pk, "refused"); /* entries the peer refused, or we refused from it */
  msgpack_pack_uint64(pk, (up ? m->up_refused : 0) + (l ? l->refused : 0));
  pack_str(pk, "last_error");
  pack_str(pk, up ? m->up_error : "");
  pack_str(pk, "failures"); /* upstream: attempts failed since the last success */
  msgpack_pack_uint64(pk, up ? m->failures : 0);
  pack_str(pk, "receipt");
  if (up && (cairn_store_receipt_get(m->o.store, m->pk, &rseq, sig) == 0 || m->receipt_seen > 0)) {
    msgpack_pack_map(pk, 1);
    pack_str(pk, "seq");
    msgpack_pack_uint64(pk, rseq > m->receipt_seen ? rseq : m->receipt_seen);
  } else {
    msgpack_pack_nil(pk);
  }
}

int cairn_links_status(cairn_links *m, msgpack_packer *pk) {
  size_t count = 0;
  int up = m->o.config->upstream[0] != '\0';

  if (cairn__link_own_vv(m) != 0)
    return CAIRN_EIO;
  for (link *l = m->links; l != NULL; l = l->next)
    count += l->dir == LINK_DOWNSTREAM;
  msgpack_pack_array(pk, count + up);
  if (up)
    pack_peer(m, pk, m->upstream);
  for (link *l = m->links; l != NULL; l = l->next)
    if (l->dir == LINK_DOWNSTREAM)
      pack_peer(m, pk, l);
  return 0;
}

/* The line that says how this node's clock stands to the central's, or ""
 * when it is within the tolerance or not known. */
static void clock_message(const cairn_links *m, char *out, size_t outlen) {
  char words[64];
  out[0] = '\0';
  if (m->o.config->role == CAIRN_ROLE_CENTRAL || !m->offset_known ||
      llabs(m->central_offset_ms) <= cairn__link_tolerance_ms(m))
    return;
  cairn__link_clock_words(-m->central_offset_ms, words, sizeof words);
  snprintf(out, outlen, "this machine's clock is %s the central's: set its date and time", words);
}

void cairn_links_clock(const cairn_links *m, msgpack_packer *pk) {
  char msg[160];
  clock_message(m, msg, sizeof msg);
  msgpack_pack_map(pk, 3);
  pack_str(pk, "offset_ms");
  if (m->o.config->role == CAIRN_ROLE_CENTRAL)
    msgpack_pack_int64(pk, 0);
  else if (m->offset_known)
    msgpack_pack_int64(pk, -m->central_offset_ms);
  else
    msgpack_pack_nil(pk);
  pack_str(pk, "cairn__link_tolerance_ms");
  msgpack_pack_int64(pk, cairn__link_tolerance_ms(m));
  pack_str(pk, "message");
  pack_str(pk, msg);
}

void cairn_links_notices(const cairn_links *m, msgpack_packer *pk) {
  char clock[160], refused[400];
  clock_message(m, clock, sizeof clock);
  refused[0] = '\0';
  if (m->up_error_code != 0)
    snprintf(refused, sizeof refused, "sync: %s", m->up_error);
  msgpack_pack_array(pk, (clock[0] != '\0') + (refused[0] != '\0') + (m->up_notice[0] != '\0') +
                             (m->restored != 0));
  if (m->restored)
    pack_str(pk, "restored from a backup: local writes wait until the upstream has sent back "
                 "this device's log (run: cairn sync now)");
  if (clock[0] != '\0')
    pack_str(pk, clock);
  if (refused[0] != '\0')
    pack_str(pk, refused);
  if (m->up_notice[0] != '\0')
    pack_str(pk, m->up_notice);
}

void cairn_links_refusals(const cairn_links *m, msgpack_packer *pk) {
  msgpack_pack_map(pk, REFUSAL_CLASSES);
  for (int i = 0; i < REFUSAL_CLASSES; i++) {
    pack_str(pk, cairn__link_refusal_names[i]);
    msgpack_pack_uint64(pk, m->refusals[i]);
  }
}


void cairn_links_counts_get(cairn_links *m, cairn_links_counts *out) {
  int vv_ok = cairn__link_own_vv(m) == 0;

  memset(out, 0, sizeof *out);
  out->applied = m->applied;
  out->has_upstream = m->o.config->upstream[0] != '\0';
  out->upstream_success = m->last_success;
  for (int i = 0; i < REFUSAL_CLASSES; i++)
    out->refusals[i] = m->refusals[i];
  for (link *l = m->links; l != NULL; l = l->next) {
    if (!in_session(l->state))
      continue;
    for (int r = CAIRN_ROLE_CLASSROOM; r <= CAIRN_ROLE_CENTRAL; r++)
      if (strcmp(l->peer_role[0] ? l->peer_role : l->hello_role,
                 cairn_config_role_name((cairn_role)r)) == 0)
        out->connected[r]++;
    if (vv_ok)
      out->pending_out += cairn__link_lacking(l) + l->unacked;
    if (cairn__link_to_receive(l) >= 0)
      out->pending_in += (uint64_t)cairn__link_to_receive(l);
  }
}
