/* link_enroll.c: joining with a token and enrolling (docs/PROTOCOL.md
 * section 5), and finding the campus hub after a join. */
#include "link_int.h"

#include <signal.h>

/* Test builds only (CAIRN_TEST_HOOKS): dies as kill -9 would at the named
 * point of a join when the environment's CAIRN_TEST_CRASH_AT names it, so
 * that tests/integration/join_crash_test.sh can stop a join exactly there. */
static void crash_point(const char *name) {
#ifdef CAIRN_TEST_HOOKS
  const char *at = getenv("CAIRN_TEST_CRASH_AT");
  if (at != NULL && strcmp(at, name) == 0)
    raise(SIGKILL);
#else
  (void)name;
#endif
}

/* ---- a restored node ---- */

static int run_unrestore(cairn_store *s, void *arg) {
  (void)arg;
  return cairn_store_set_restored(s, 0);
}

static void on_unrestored(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;

  if (l != NULL) {
    cairn_links *m = l->mgr;
    m->unrestoring = 0;
    if (req->job_rc == 0) {
      m->restored = 0;
      cairn_log_info("sync: restored from a backup: this device's log is back to #%llu from the "
                     "upstream; local writes resume",
                     (unsigned long long)m->restore_target);
    } else {
      cairn_log_warn("sync: cannot clear the restored mark: %s", cairn_strerror(req->job_rc));
    }
  }
  cairn__link_job_free(j);
}

void cairn__link_maybe_unrestore(link *l) {
  cairn_links *m = l->mgr;
  uint64_t own = 0;
  job *j;

  if (!m->restored || !m->restore_known || m->unrestoring || l != m->upstream ||
      cairn__link_own_vv(m) != 0)
    return;
  for (size_t i = 0; i < m->vv_n; i++)
    if (memcmp(m->vv[i].author, m->pk, CAIRN_KEY_BYTES) == 0)
      own = m->vv[i].seq;
  if (own < m->restore_target || (j = cairn__link_job_new(l)) == NULL)
    return;
  m->unrestoring = 1;
  if (cairn__link_submit(l, j, run_unrestore, on_unrestored) != 0)
    m->unrestoring = 0;
}

/* ---- joining ---- */

void cairn__link_join_done(cairn_links *m, int rc, const char *message) {
  cairn_links_join_cb cb = m->join_cb;
  m->join_cb = NULL;
  if (cb)
    cb(m->join_arg, rc, message);
}

_Static_assert(CAIRN_STORE_NETWORK_BYTES == CAIRN_SYNC_NETWORK_BYTES, "one network id size");

/* Writer job of a join: pins the central's key and records the join in
 * the store, in one transaction (cairn_store_join_record): after a crash
 * the device is joined or not at all, and cairn.conf is never written. */
static int run_join_recorded(cairn_store *s, void *arg) {
  job *j = arg;
  int rc = cairn_store_join_record(s, j->device, &j->join);
  if (rc == 0)
    crash_point("joined");
  return rc;
}

/* The settings as they were before the WELCOME: the join could not be
 * recorded, so this node is not joined. */
static void join_undo(cairn_links *m) {
  *m->o.config = m->before_join;
  memcpy(m->network, m->before_network, sizeof m->network);
  m->has_network = m->before_has_network;
  m->switch_to_hub = 0;
}

/* The join is recorded (by the writer), or could not be: answer `cairn
 * join`, unless the link closed first (cairn__link_set_state answered). */
static void on_central_pinned(cairn_write_req *req, void *arg) {
  job *j = arg;
  link *l = j->l;
  cairn_links *m = j->mgr;
  cairn_config *c;
  char message[600];
  int rc = req->job_rc;

  if (m == NULL) { /* cairnd stopped meanwhile */
    cairn__link_job_free(j);
    return;
  }
  m->join_job = NULL;
  c = m->o.config;
  if (l != NULL)
    l->welcoming = 0;
  if (rc != 0) {
    join_undo(m);
    snprintf(message, sizeof message, "the central accepted the join, but it could not be "
             "recorded, so this device is not joined: %s", cairn_strerror(rc));
    cairn__link_join_done(m, rc, message);
    cairn__link_job_free(j);
    if (l != NULL)
      cairn__link_fail(l, "%s", message);
    else
      cairn_log_err("sync: %s", message);
    return;
  }
  if (c->listen[0] != '\0') {
    char why[200];
    if (cairn__link_start_listener(m, why, sizeof why) != 0)
      cairn_log_err("sync: %s", why);
  }
  snprintf(message, sizeof message, "joined campus '%s'%s%s%s%s", c->campus,
           c->classroom[0] ? ", classroom " : "", c->classroom,
           m->switch_to_hub ? "; will sync through the hub at " : "",
           m->switch_to_hub ? m->join_upstream : "");
  cairn_log_info("sync: %s", message);
  if (strcmp(c->upstream, m->join.upstream) != 0)
    cairn_log_warn("sync: cairn.conf's [sync] upstream (%s) overrides the address this join "
                   "recorded (%s); empty it to use the join's",
                   c->upstream, m->join.upstream);
  cairn__link_join_done(m, 0, message);
  cairn__link_job_free(j);
  if (l == NULL && !m->closing) /* the link closed before the commit: the joined node connects */
    cairn_links_sync_now(m);
}

/* A WELCOME answered our JOIN: take the scope and network, have the writer
 * record the join with the central's key (the join is answered once that
 * is durable), and carry on syncing on this same link. Entries the central
 * sends meanwhile queue behind that job, so they are checked against the
 * pinned key. */
void cairn__link_on_welcome(link *l, const cairn_sync_msg *w) {
  cairn_links *m = l->mgr;
  cairn_config *c = m->o.config;
  char message[600];
  job *j;

  l->joining = 0;
  crash_point("welcome");
  if (w->welcome_code != 0) {
    snprintf(message, sizeof message, "the central refused the join: %s", w->reason);
    cairn__link_join_done(m, w->welcome_code, message);
    cairn__link_set_state(l, LINK_CLOSING);
    return;
  }
  if ((j = cairn__link_job_new(l)) == NULL) {
    cairn__link_join_done(m, CAIRN_ENOMEM, "out of memory");
    cairn__link_fail(l, "out of memory");
    return;
  }
  memset(&m->join, 0, sizeof m->join);
  snprintf(m->join.scope.campus, sizeof m->join.scope.campus, "%s", w->campus);
  snprintf(m->join.scope.classroom, sizeof m->join.scope.classroom, "%s", w->classroom);
  memcpy(m->join.network, m->token.network, sizeof m->join.network);
  snprintf(m->join.upstream, sizeof m->join.upstream, "%.*s", (int)sizeof m->join.upstream - 1,
           m->token.address);
  memcpy(m->join.upstream_key, m->token.central, sizeof m->join.upstream_key);
  m->before_join = *c;
  memcpy(m->before_network, m->network, sizeof m->network);
  m->before_has_network = m->has_network;
  cairn_join_state_apply(m->o.file, &m->join, c);
  memcpy(m->network, m->token.network, sizeof m->network);
  m->has_network = 1;
  m->switch_to_hub = m->join_upstream[0] != '\0';
  memcpy(j->device, m->token.central, CAIRN_KEY_BYTES);
  j->join = m->join;
  j->mgr = m;
  m->join_job = j;
  l->welcoming = 1;
  cairn__link_set_state(l, LINK_HELLO);
  if (cairn__link_submit(l, j, run_join_recorded, on_central_pinned) == 0) {
    cairn__link_send_hello(l);
  } else { /* the job is freed, the link failed: nothing was recorded */
    m->join_job = NULL;
    join_undo(m);
  }
}

/* Finds the one enrolled, unrevoked hub of campus in the device records
 * (central-signed, received while joining). Returns 0 and its key's hex. */
static int find_hub(cairn_links *m, const char *campus, char key[65]) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0, found = 0;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_unpacked_init(&u);
  if (cairn_store_devices(m->o.store, &pk) == 0 &&
      msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
      const msgpack_object *d = &u.data.via.array.ptr[i];
      const msgpack_object *id = cairn_record_map_get(d, "id");
      const msgpack_object *role = cairn_record_map_get(d, "role");
      const msgpack_object *c = cairn_record_map_get(d, "campus");
      const msgpack_object *revoked = cairn_record_map_get(d, "revoked");
      if (id == NULL || role == NULL || c == NULL || id->type != MSGPACK_OBJECT_STR ||
          id->via.str.size != 64 || role->type != MSGPACK_OBJECT_STR || c->type != MSGPACK_OBJECT_STR ||
          role->via.str.size != 3 || memcmp(role->via.str.ptr, "hub", 3) != 0 ||
          c->via.str.size != strlen(campus) || memcmp(c->via.str.ptr, campus, c->via.str.size) != 0 ||
          (revoked != NULL && revoked->type == MSGPACK_OBJECT_BOOLEAN && revoked->via.boolean))
        continue;
      memcpy(key, id->via.str.ptr, 64);
      key[64] = '\0';
      found++;
    }
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  return found == 1 ? 0 : CAIRN_ENOTFOUND;
}

/* Writer job: records the join again, now with the hub as upstream. */
static int run_hub_recorded(cairn_store *s, void *arg) {
  job *j = arg;
  return cairn_store_join_record(s, NULL, &j->join);
}

static void on_hub_recorded(cairn_write_req *req, void *arg) {
  if (req->job_rc != 0)
    cairn_log_warn("sync: could not record the hub as this device's upstream: %s; it syncs "
                   "with the central after a restart",
                   cairn_strerror(req->job_rc));
  cairn__link_job_free(arg);
}

/* After a join through the central with --upstream: once this node holds
 * everything the central sent, pin the campus hub and move to it. */
void cairn__link_maybe_switch_upstream(link *l) {
  cairn_links *m = l->mgr;
  cairn_config *c = m->o.config;
  char key[65];
  job *j;

  if (!m->switch_to_hub || l != m->upstream || !in_session(l->state) || cairn__link_to_receive(l) != 0)
    return;
  m->switch_to_hub = 0;
  if (find_hub(m, c->campus, key) != 0) {
    cairn_log_warn("sync: no single enrolled hub for campus '%s' yet; staying with the central",
                   c->campus);
    return;
  }
  snprintf(m->join.upstream, sizeof m->join.upstream, "%s", m->join_upstream);
  unhex(key, m->join.upstream_key, sizeof m->join.upstream_key);
  cairn_join_state_apply(m->o.file, &m->join, c);
  if ((j = cairn__link_job_new(l)) == NULL) {
    cairn_log_warn("sync: could not record the hub as this device's upstream: out of memory");
  } else {
    j->join = m->join;
    cairn__link_submit(l, j, run_hub_recorded, on_hub_recorded);
  }
  cairn_log_info("sync: moving upstream to the hub %.8s at %s", key, c->upstream);
  m->reconnect_now = 1;
  cairn__link_tell(l, CAIRN_CLOSE_MOVED, "moving to the campus hub");
  cairn__link_set_state(l, LINK_CLOSING);
}

/* A hub passes the central's receipt on to the device it is about: the
 * central's signature, not the hub, vouches for it. */
void cairn__link_relay_receipt(cairn_links *m, const cairn_sync_msg *r) {
  for (link *d = m->links; d != NULL; d = d->next) {
    msgpack_sbuffer sb;
    if (d->dir != LINK_DOWNSTREAM || !in_session(d->state) || !d->peer_known ||
        memcmp(d->peer, r->author, CAIRN_KEY_BYTES) != 0)
      continue;
    msgpack_sbuffer_init(&sb);
    if (cairn_sync_pack_receipt(&sb, r->author, r->seq, r->central, r->sig) == 0)
      cairn__link_send_msg(d, &sb);
    msgpack_sbuffer_destroy(&sb);
  }
}

int cairn_links_join(cairn_links *m, const char *token, const char *upstream,
                     cairn_links_join_cb cb, void *arg, char *why, size_t whylen) {
  int rc;

  if (m->join_cb != NULL) {
    snprintf(why, whylen, "a join is already in progress");
    return CAIRN_EEXISTS;
  }
  if (m->o.config->role == CAIRN_ROLE_CENTRAL) {
    snprintf(why, whylen, "a central does not join: it enrolls others");
    return CAIRN_EINVAL;
  }
  rc = cairn_sync_token_parse(token, &m->token, why, whylen);
  if (rc != 0)
    return rc;
  if (strlen(m->token.address) >= sizeof m->o.config->upstream) {
    snprintf(why, whylen, "token: the central's address is too long");
    return CAIRN_EINVAL;
  }
  /* Whether the token has expired is the central's to say: this machine's
   * clock may be wrong, and the answer then comes in the WELCOME. */
  snprintf(m->join_upstream, sizeof m->join_upstream, "%s", upstream ? upstream : "");
  if (m->upstream != NULL) /* replace the current upstream link */
    cairn__link_set_state(m->upstream, LINK_CLOSING);
  uv_timer_stop(&m->retry);
  /* The callback is armed only once the connection is under way: a failure
   * inside cairn__link_start_upstream is answered here, never through cb. */
  m->join_cb = NULL;
  m->up_error[0] = '\0';
  cairn__link_start_upstream(m, m->token.address, 1);
  if (m->upstream == NULL) {
    snprintf(why, whylen, "%s", m->up_error[0] ? m->up_error : "cannot connect to the central");
    return CAIRN_EIO;
  }
  m->join_cb = cb;
  m->join_arg = arg;
  return 0;
}

/* An enroll in progress: a token_add job, then the token's text. */
typedef struct enroll_job {
  cairn_sync_token token; /* all but the secret's use: the callback must not
                             touch the links, which may be gone by then */
  uint8_t secret[CAIRN_SYNC_SECRET_BYTES];
  char role[16];
  cairn_scope scope;
  int64_t expires;
  cairn_links_enroll_cb cb;
  void *arg;
} enroll_job;

static int run_token_add(cairn_store *s, void *arg) {
  enroll_job *e = arg;
  return cairn_store_token_add(s, e->secret, e->role, &e->scope, e->expires);
}

static void on_token_added(cairn_write_req *req, void *arg) {
  enroll_job *e = arg;
  char text[CAIRN_SYNC_TOKEN_MAX];
  int rc = req->job_rc;

  if (rc == 0)
    rc = cairn_sync_token_format(&e->token, text, sizeof text);
  e->cb(e->arg, rc, rc == 0 ? text : cairn_strerror(rc));
  sodium_memzero(e, sizeof *e);
  free(e);
}

int cairn_links_enroll(cairn_links *m, const char *role, const char *campus,
                       const char *classroom, int64_t expires_seconds, cairn_links_enroll_cb cb,
                       void *arg, char *why, size_t whylen) {
  enroll_job *e;
  cairn_write_req *req;

  if (m->o.config->role != CAIRN_ROLE_CENTRAL || !m->has_network) {
    snprintf(why, whylen, "only the central enrolls devices");
    return CAIRN_EPERM;
  }
  if (m->o.config->listen[0] == '\0' && m->o.config->advertise[0] == '\0') {
    snprintf(why, whylen, "set [sync] listen in cairn.conf first: devices need an address");
    return CAIRN_ECONFIG;
  }
  if (strcmp(role, "classroom") != 0 && strcmp(role, "hub") != 0) {
    snprintf(why, whylen, "role: must be classroom or hub");
    return CAIRN_EINVAL;
  }
  if (campus[0] == '\0' || strlen(campus) >= sizeof e->scope.campus ||
      strlen(classroom) >= sizeof e->scope.classroom) {
    snprintf(why, whylen, "campus: required, at most 64 bytes");
    return CAIRN_EINVAL;
  }
  if ((e = calloc(1, sizeof *e)) == NULL)
    return CAIRN_ENOMEM;
  randombytes_buf(e->secret, sizeof e->secret);
  snprintf(e->role, sizeof e->role, "%s", role);
  snprintf(e->scope.campus, sizeof e->scope.campus, "%s", campus);
  snprintf(e->scope.classroom, sizeof e->scope.classroom, "%s", classroom);
  e->expires = now_unix() + expires_seconds;
  snprintf(e->token.address, sizeof e->token.address, "%s",
           m->o.config->advertise[0] ? m->o.config->advertise : m->o.config->listen);
  memcpy(e->token.central, m->pk, CAIRN_KEY_BYTES);
  memcpy(e->token.network, m->network, sizeof e->token.network);
  memcpy(e->token.secret, e->secret, sizeof e->token.secret);
  e->token.expires = e->expires;
  e->cb = cb;
  e->arg = arg;
  if ((req = cairn_writer_job_new(run_token_add, e)) == NULL) {
    free(e);
    return CAIRN_ENOMEM;
  }
  cairn_writer_submit(m->o.writer, req, on_token_added, e);
  return 0;
}
