/* link_hs.c: the Noise handshake of a link (docs/PROTOCOL.md section 3)
 * and who may connect. */
#include "link_int.h"

/* ---- handshake ---- */

/* The first handshake payload each side sends: its Ed25519 key, which
 * must convert to the Noise static key the other side saw. */
static int peer_key_matches(link *l, const uint8_t *ed) {
  uint8_t x[CAIRN_NOISE_KEY_BYTES];
  const uint8_t *rs = cairn_noise_remote_static(&l->hs);

  if (rs == NULL || crypto_sign_ed25519_pk_to_curve25519(x, ed) != 0 ||
      sodium_memcmp(x, rs, sizeof x) != 0)
    return 0;
  memcpy(l->peer, ed, CAIRN_KEY_BYTES);
  l->peer_known = 1;
  return 1;
}

int cairn__link_hs_init(link *l, cairn_noise_pattern pattern, int initiator, const uint8_t *remote_ed) {
  cairn_links *m = l->mgr;
  uint8_t prologue[sizeof PROLOGUE - 1 + CAIRN_SYNC_NETWORK_BYTES];
  uint8_t rs[CAIRN_NOISE_KEY_BYTES];

  memcpy(prologue, PROLOGUE, sizeof PROLOGUE - 1);
  memcpy(prologue + sizeof PROLOGUE - 1, l->joining ? m->token.network : m->network,
         CAIRN_SYNC_NETWORK_BYTES);
  if (remote_ed != NULL && crypto_sign_ed25519_pk_to_curve25519(rs, remote_ed) != 0)
    return CAIRN_EINVAL;
  l->hs_started = 1;
  return cairn_noise_handshake_init(&l->hs, pattern, initiator, prologue, sizeof prologue,
                                    m->x_priv, remote_ed != NULL ? rs : NULL);
}

/* Writes the next handshake message with payload; the first message of
 * an initiator is preceded by the pattern byte. */
int cairn__link_hs_send(link *l, const uint8_t *payload, size_t plen, int pattern_byte) {
  uint8_t msg[1 + CAIRN_NOISE_MAX_MSG];
  size_t n;
  msgpack_sbuffer wire;
  int rc, off = pattern_byte ? 1 : 0;

  msg[0] = (uint8_t)pattern_byte;
  rc = cairn_noise_write_message(&l->hs, payload, plen, msg + off, sizeof msg - off, &n);
  if (rc != 0)
    return rc;
  msgpack_sbuffer_init(&wire);
  rc = cairn_transport_put_record(&wire, msg, n + off);
  if (rc == 0)
    rc = cairn__link_send_raw(l, (const uint8_t *)wire.data, wire.size);
  msgpack_sbuffer_destroy(&wire);
  l->probe_at = uv_now(l->mgr->o.loop); /* the peer answers it at once */
  return rc;
}

static void hs_finish(link *l) {
  if (cairn_noise_split(&l->hs, &l->tx, &l->rx) != 0) { /* this side's own send, recv */
    cairn__link_fail(l, "handshake did not complete");
    return;
  }
  (void)cairn_transport_reader_init(&l->reader, CAIRN_SYNC_MSG_MAX); /* allocates nothing */
  cairn_noise_handshake_clear(&l->hs);
  /* A joining device still owes its JOIN: the deadline stands until then. */
  if (l->dir == LINK_UPSTREAM || l->authorized)
    uv_timer_stop(&l->timer);
  if (l->joining) {
    msgpack_sbuffer sb;
    cairn_links *m = l->mgr;
    cairn__link_set_state(l, LINK_JOINING);
    msgpack_sbuffer_init(&sb);
    if (cairn_sync_pack_join(&sb, m->token.secret, m->pk, cairn_config_role_name(m->o.config->role),
                             m->o.config->name) == 0)
      cairn__link_send_msg(l, &sb);
    msgpack_sbuffer_destroy(&sb);
  } else if (l->dir == LINK_UPSTREAM || l->authorized) {
    cairn__link_set_state(l, LINK_HELLO);
    cairn__link_send_hello(l);
  } else {
    cairn__link_set_state(l, LINK_JOIN_WAIT);
  }
}

/* Responder: decides whether an IK initiator may sync here. */
static int authorize(link *l, char *why, size_t whylen) {
  char role[16] = "";
  int rc = cairn_store_device_scope(l->mgr->o.store, l->peer, &l->peer_scope, role);

  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "this device is not enrolled here");
  else if (rc == CAIRN_EPERM)
    snprintf(why, whylen, "this device has been revoked");
  else if (rc != 0)
    snprintf(why, whylen, "cannot check enrollment: %s", cairn_strerror(rc));
  snprintf(l->peer_role, sizeof l->peer_role, "%s", role);
  return rc;
}

/* The first payload each side sends: its Ed25519 key then the sync
 * protocol version (an older cairn sends the key alone). Returns 0, or a
 * close code with why filled. */
static int hs_peer_hello(link *l, const uint8_t *payload, size_t plen, char *why, size_t whylen) {
  if (plen == CAIRN_KEY_BYTES) {
    snprintf(why, whylen, "the other side runs an older cairn (sync version 1): upgrade it; "
                          "what it holds is kept");
    return CAIRN_CLOSE_VERSION;
  }
  if (plen != CAIRN_KEY_BYTES + 1 || !peer_key_matches(l, payload)) {
    snprintf(why, whylen, "handshake payload does not match the static key");
    return CAIRN_CLOSE_WRONG_NETWORK;
  }
  if (payload[CAIRN_KEY_BYTES] != CAIRN_SYNC_VERSION) {
    snprintf(why, whylen, "the other side runs sync version %u, this one %u: upgrade the older",
             payload[CAIRN_KEY_BYTES], CAIRN_SYNC_VERSION);
    return CAIRN_CLOSE_VERSION;
  }
  return 0;
}

/* Our first payload: key || version. */
void cairn__link_hs_my_hello(const cairn_links *m, uint8_t out[CAIRN_KEY_BYTES + 1]) {
  memcpy(out, m->pk, CAIRN_KEY_BYTES);
  out[CAIRN_KEY_BYTES] = CAIRN_SYNC_VERSION;
}

/* The upstream refused this node: keeps its code and words for `sync
 * status`; a busy upstream is tried again soon. */
void cairn__link_refused_by_upstream(link *l, int code, const char *how, const char *text) {
  cairn_links *m = l->mgr;
  cairn__link_fail(l, "the upstream %s: %s%s%s", how, cairn_sync_close_what(code), text[0] ? ": " : "",
            text);
  m->up_error_code = code;
  if (code == CAIRN_CLOSE_BUSY && m->failures > 0)
    m->failures--; /* schedule_retry counted this one: keep retrying within seconds */
}

/* One handshake record. */
void cairn__link_hs_record(link *l, const uint8_t *body, size_t len) {
  uint8_t payload[CAIRN_NOISE_MAX_MSG];
  char text[CAIRN_SYNC_CLOSE_TEXT_MAX + 1];
  size_t plen = 0;
  int rc, code;

  if (l->dir == LINK_UPSTREAM && cairn_sync_parse_refusal(body, len, &code, text)) {
    cairn__link_refused_by_upstream(l, code, "refused the connection (it says, unauthenticated)", text);
    return;
  }
  if (l->dir == LINK_DOWNSTREAM && !l->hs_started) {
    if (len < 1 || (body[0] != PATTERN_IK && body[0] != PATTERN_XX)) {
      cairn__link_refuse(l, REFUSED_MALFORMED, "not a cairn sync handshake");
      return;
    }
    if (cairn__link_hs_init(l, body[0] == PATTERN_IK ? CAIRN_NOISE_IK : CAIRN_NOISE_XX, 0, NULL) != 0) {
      cairn__link_fail(l, "cannot start a handshake");
      return;
    }
    body++;
    len--;
  }
  rc = cairn_noise_read_message(&l->hs, body, len, payload, sizeof payload, &plen);
  if (rc != 0) {
    cairn__link_refuse(l, REFUSED_HANDSHAKE, "handshake failed (%s): wrong network or key",
                cairn_strerror(rc));
    return;
  }
  if (l->dir == LINK_DOWNSTREAM) {
    uint8_t mine[CAIRN_KEY_BYTES + 1];
    char why[160] = "";
    cairn__link_hs_my_hello(l->mgr, mine);
    if (l->hs.pattern == CAIRN_NOISE_IK) {
      /* -> e, es, s, ss with the initiator's key: answer, with a verdict */
      uint8_t reply[CAIRN_KEY_BYTES + 1 + sizeof why];
      size_t rlen = CAIRN_KEY_BYTES + 1;
      code = hs_peer_hello(l, payload, plen, why, sizeof why);
      if (code == 0 && (rc = authorize(l, why, sizeof why)) != 0)
        code = rc == CAIRN_EPERM      ? CAIRN_CLOSE_REVOKED
               : rc == CAIRN_ENOTFOUND ? CAIRN_CLOSE_NOT_ENROLLED
                                      : CAIRN_CLOSE_FAILED;
      if (code != 0) { /* counted and logged before the answer, which may fail */
        char peer[65] = "unknown";
        if (l->peer_known)
          hex(l->peer, CAIRN_KEY_BYTES, peer);
        l->mgr->refusals[REFUSED_HANDSHAKE]++;
        cairn_log_limited(&l->mgr->limits[REFUSED_HANDSHAKE], uv_now(l->mgr->o.loop),
                          CAIRN_LOG_WARNING,
                          "sync: refused device %.8s at the handshake: %s (counted as %s)", peer,
                          why, cairn__link_refusal_names[REFUSED_HANDSHAKE]);
      }
      memcpy(reply, l->mgr->pk, CAIRN_KEY_BYTES);
      reply[CAIRN_KEY_BYTES] = (uint8_t)code;
      if (code != 0) {
        memcpy(reply + rlen, why, strlen(why));
        rlen += strlen(why);
      }
      if (cairn__link_hs_send(l, reply, rlen, 0) != 0)
        return;
      if (code != 0) {
        l->flushing = 1;
        cairn__link_set_state(l, LINK_CLOSING);
        return;
      }
      l->authorized = 1;
      cairn__link_unauth_drop(l);
      hs_finish(l);
    } else if (!cairn_noise_handshake_done(&l->hs) && plen == 0) {
      /* XX -> e: answer with our key and version */
      cairn__link_hs_send(l, mine, sizeof mine, 0);
    } else {
      /* XX -> s, se: a joining device; it must send JOIN next */
      if ((code = hs_peer_hello(l, payload, plen, why, sizeof why)) != 0) {
        l->mgr->refusals[REFUSED_HANDSHAKE]++;
        cairn__link_close(l, code, "%s (counted as %s)", why, cairn__link_refusal_names[REFUSED_HANDSHAKE]);
        return;
      }
      hs_finish(l);
    }
    return;
  }
  /* Upstream (initiator). */
  if (l->hs.pattern == CAIRN_NOISE_IK) {
    /* <- e, ee, se: the responder's key and its verdict */
    if (plen < CAIRN_KEY_BYTES + 1 || !peer_key_matches(l, payload)) {
      cairn__link_refuse(l, REFUSED_HANDSHAKE, "upstream's handshake payload does not match its key");
      return;
    }
    if (payload[CAIRN_KEY_BYTES] != STATUS_OK) {
      size_t n = plen - CAIRN_KEY_BYTES - 1;
      if (n > CAIRN_SYNC_CLOSE_TEXT_MAX)
        n = CAIRN_SYNC_CLOSE_TEXT_MAX;
      cairn_text_printable(text, (const char *)payload + CAIRN_KEY_BYTES + 1, n);
      cairn__link_refused_by_upstream(l, payload[CAIRN_KEY_BYTES], "refused this device", text);
      return;
    }
    hs_finish(l);
  } else {
    /* XX <- e, ee, s, es: must be the central named in the token */
    char why[160];
    uint8_t mine[CAIRN_KEY_BYTES + 1];
    if ((code = hs_peer_hello(l, payload, plen, why, sizeof why)) != 0) {
      l->mgr->refusals[REFUSED_HANDSHAKE]++;
      cairn__link_close(l, code, "the central: %s (counted as %s)", why,
                 cairn__link_refusal_names[REFUSED_HANDSHAKE]);
      return;
    }
    if (sodium_memcmp(l->peer, l->mgr->token.central, CAIRN_KEY_BYTES) != 0) {
      cairn__link_refuse(l, REFUSED_HANDSHAKE, "the central's key does not match the token");
      return;
    }
    cairn__link_hs_my_hello(l->mgr, mine);
    if (cairn__link_hs_send(l, mine, sizeof mine, 0) == 0)
      hs_finish(l);
  }
}

