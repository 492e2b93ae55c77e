/* rpc.c: one function per request op. */
#include "rpc.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "record.h"
#include "text.h"

#define WHY_MAX 1000
/* An export reply page stops after the record that passes this size, well
 * under CAIRN_FRAME_MAX. */
#define EXPORT_PAGE_BYTES (256 * 1024)

static void pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);

  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* Starts {"ok": true, ...} with n more pairs to follow. */
static void pack_ok(msgpack_packer *pk, size_t n) {
  msgpack_pack_map(pk, 1 + n);
  pack_str(pk, "ok");
  msgpack_pack_true(pk);
}

static void pack_error(msgpack_packer *pk, int code, const char *message) {
  msgpack_pack_map(pk, 4);
  pack_str(pk, "ok");
  msgpack_pack_false(pk);
  pack_str(pk, "code");
  msgpack_pack_int(pk, code);
  pack_str(pk, "error");
  pack_str(pk, cairn_err_name(code));
  pack_str(pk, "message");
  pack_str(pk, message && *message ? message : cairn_strerror(code));
}

/* Copies an optional string argument into out. Returns 1 when present and
 * valid, 0 when absent, or a negative code with why filled. */
static int arg_str(const msgpack_object *req, const char *key, char *out, size_t outlen,
                   char *why, size_t whylen) {
  const msgpack_object *o = cairn_record_map_get(req, key);

  if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
    return 0;
  if (o->type != MSGPACK_OBJECT_STR) {
    snprintf(why, whylen, "%s: must be a string", key);
    return CAIRN_EINVAL;
  }
  if (o->via.str.size >= outlen) {
    snprintf(why, whylen, "%s: longer than %zu bytes", key, outlen - 1);
    return CAIRN_ETOOBIG;
  }
  if (!cairn_text_utf8_valid(o->via.str.ptr, o->via.str.size)) {
    snprintf(why, whylen, "%s: invalid UTF-8", key);
    return CAIRN_EUTF8;
  }
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = '\0';
  return 1;
}

/* Read ops pack their result into a scratch buffer first, so that a
 * failure half-way leaves no half-packed reply. */
typedef int (*read_fn)(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                       size_t whylen);

static void reply_read(cairn_rpc *r, const msgpack_object *req, const char *key, read_fn fn,
                       msgpack_packer *pk) {
  msgpack_sbuffer body;
  msgpack_packer bpk;
  char why[256] = "";
  int rc;

  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  rc = fn(r, req, &bpk, why, sizeof why);
  if (rc == 0) {
    pack_ok(pk, 1);
    pack_str(pk, key);
    pk->callback(pk->data, body.data, body.size); /* already one msgpack value */
  } else {
    pack_error(pk, rc, why);
  }
  msgpack_sbuffer_destroy(&body);
}

static int read_status(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                       size_t whylen) {
  char student[80], today_s[16];
  int32_t today = cairn_text_today();
  int has_student, has_today, rc;

  has_student = arg_str(req, "student", student, sizeof student, why, whylen);
  if (has_student < 0)
    return has_student;
  has_today = arg_str(req, "today", today_s, sizeof today_s, why, whylen);
  if (has_today < 0)
    return has_today;
  if (has_today && cairn_text_date_parse(today_s, strlen(today_s), &today) != 0) {
    snprintf(why, whylen, "today: %s is not a real date (YYYY-MM-DD)", today_s);
    return CAIRN_EDATE;
  }
  rc = cairn_store_status(r->store, has_student ? student : NULL, today, pk);
  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "student: no student with id %s", student);
  return rc;
}

static int read_show(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                     size_t whylen) {
  char id[80];
  int rc = arg_str(req, "id", id, sizeof id, why, whylen);

  if (rc == 0) {
    snprintf(why, whylen, "id: required");
    return CAIRN_EINVAL;
  }
  if (rc < 0)
    return rc;
  rc = cairn_store_show(r->store, id, pk);
  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "id: no record with id %s", id);
  return rc;
}

static int read_conflicts(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                          size_t whylen) {
  (void)req;
  (void)why;
  (void)whylen;
  return cairn_store_conflicts(r->store, pk);
}

/* export: one page of records after the cursor `after` (bin, absent at
 * the start); the reply's `next` is the cursor of the next page, or nil. */
static void op_export(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  const msgpack_object *after = cairn_record_map_get(req, "after");
  const uint8_t *from = NULL;
  size_t from_len = 0;
  uint8_t next[CAIRN_STORE_CURSOR_MAX];
  size_t next_len = 0;
  msgpack_sbuffer body;
  msgpack_packer bpk;
  int rc;

  if (after != NULL && after->type != MSGPACK_OBJECT_NIL &&
      (after->type != MSGPACK_OBJECT_BIN || after->via.bin.size == 0 ||
       after->via.bin.size > CAIRN_STORE_CURSOR_MAX)) {
    pack_error(pk, CAIRN_EINVAL, "after: not a cursor from an earlier export reply");
    return;
  }
  if (after != NULL && after->type == MSGPACK_OBJECT_BIN) {
    from = (const uint8_t *)after->via.bin.ptr;
    from_len = after->via.bin.size;
  }
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  rc = cairn_store_export(r->store, from, from_len, EXPORT_PAGE_BYTES, &bpk, next, &next_len);
  if (rc != 0) {
    pack_error(pk, rc, NULL);
  } else {
    pack_ok(pk, 2);
    pack_str(pk, "records");
    pk->callback(pk->data, body.data, body.size);
    pack_str(pk, "next");
    if (next_len > 0) {
      msgpack_pack_bin(pk, next_len);
      msgpack_pack_bin_body(pk, next, next_len);
    } else {
      msgpack_pack_nil(pk);
    }
  }
  msgpack_sbuffer_destroy(&body);
}

static void op_ping(cairn_rpc *r, msgpack_packer *pk) {
  pack_ok(pk, 5);
  pack_str(pk, "version");
  pack_str(pk, CAIRN_VERSION);
  pack_str(pk, "device");
  pack_str(pk, r->device_hex);
  pack_str(pk, "role");
  pack_str(pk, cairn_config_role_name(r->config->role));
  pack_str(pk, "campus");
  pack_str(pk, r->config->campus);
  pack_str(pk, "name");
  pack_str(pk, r->config->name);
}

/* The reply to a put, once its batch committed or failed. */
static void put_done(cairn_write_req *req, void *arg) {
  cairn_slot *slot = arg;
  msgpack_sbuffer frame;
  msgpack_packer pk;

  if (req->put.result == 0)
    cairn_log_debug("put %s %s committed", cairn_record_type_name(req->put.type), req->put.id_out);
  else
    cairn_log_info("put %s refused: %s", cairn_record_type_name(req->put.type),
                   cairn_err_name(req->put.result));
  if (slot == NULL)
    return; /* the client went away; the write itself is done */
  cairn_server_frame_init(&frame);
  msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
  if (req->put.result == 0) {
    pack_ok(&pk, 1);
    pack_str(&pk, "id");
    pack_str(&pk, req->put.id_out);
  } else {
    pack_error(&pk, req->put.result, req->put.message);
  }
  cairn_server_reply(slot, &frame);
}

void cairn_rpc_detach(void *pending) { cairn_writer_detach(pending); }

/* put: checks the request's shape here; the store checks the record. */
static cairn_handled op_put(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                            msgpack_packer *pk) {
  char type_name[32], id[80], why[WHY_MAX + 1], msg[256] = "";
  const msgpack_object *set, *edit;
  int type, has_id, has_why, rc;
  msgpack_sbuffer setbuf;
  msgpack_packer spk;
  cairn_write_req *wr;

  rc = arg_str(req, "type", type_name, sizeof type_name, msg, sizeof msg);
  if (rc == 0) {
    pack_error(pk, CAIRN_EINVAL, "type: required");
    return CAIRN_HANDLED_REPLY;
  }
  if (rc > 0 && (type = cairn_record_type_from_name(type_name, strlen(type_name))) < 0) {
    snprintf(msg, sizeof msg, "type: unknown record type '%s'", type_name);
    rc = CAIRN_EINVAL;
  }
  if (rc < 0) {
    pack_error(pk, rc, msg);
    return CAIRN_HANDLED_REPLY;
  }
  has_id = arg_str(req, "id", id, sizeof id, msg, sizeof msg);
  has_why = has_id < 0 ? 0 : arg_str(req, "why", why, sizeof why, msg, sizeof msg);
  if (has_id < 0 || has_why < 0) {
    if (has_why == CAIRN_ETOOBIG)
      snprintf(msg, sizeof msg, "reason: longer than %d bytes", WHY_MAX);
    pack_error(pk, has_id < 0 ? has_id : has_why, msg);
    return CAIRN_HANDLED_REPLY;
  }
  set = cairn_record_map_get(req, "set");
  if (set == NULL || set->type != MSGPACK_OBJECT_MAP) {
    pack_error(pk, CAIRN_EINVAL, "set: required, a map of fields");
    return CAIRN_HANDLED_REPLY;
  }
  edit = cairn_record_map_get(req, "edit");
  msgpack_sbuffer_init(&setbuf);
  msgpack_packer_init(&spk, &setbuf, msgpack_sbuffer_write);
  msgpack_pack_object(&spk, *set);
  wr = cairn_writer_req_new(type, has_id ? id : NULL,
                            edit && edit->type == MSGPACK_OBJECT_BOOLEAN && edit->via.boolean,
                            (const uint8_t *)setbuf.data, setbuf.size, has_why ? why : NULL);
  msgpack_sbuffer_destroy(&setbuf);
  if (wr == NULL) {
    pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  cairn_server_slot_pending(slot, wr);
  cairn_writer_submit(r->writer, wr, put_done, slot);
  return CAIRN_HANDLED_LATER;
}

cairn_handled cairn_rpc_handle(void *arg, cairn_slot *slot, const uint8_t *payload, size_t len,
                               msgpack_sbuffer *frame) {
  cairn_rpc *r = arg;
  msgpack_unpacked msg;
  msgpack_packer pk;
  size_t off = 0;
  const msgpack_object *op;
  cairn_handled h = CAIRN_HANDLED_REPLY;
  char name[32];

  msgpack_unpacked_init(&msg);
  if (msgpack_unpack_next(&msg, (const char *)payload, len, &off) != MSGPACK_UNPACK_SUCCESS ||
      off != len || msg.data.type != MSGPACK_OBJECT_MAP ||
      (op = cairn_record_map_get(&msg.data, "op")) == NULL || op->type != MSGPACK_OBJECT_STR ||
      op->via.str.size >= sizeof name) {
    msgpack_unpacked_destroy(&msg);
    return CAIRN_HANDLED_VIOLATION;
  }
  memcpy(name, op->via.str.ptr, op->via.str.size);
  name[op->via.str.size] = '\0';
  msgpack_packer_init(&pk, frame, msgpack_sbuffer_write);

  if (strcmp(name, "ping") == 0)
    op_ping(r, &pk);
  else if (strcmp(name, "put") == 0)
    h = op_put(r, slot, &msg.data, &pk);
  else if (strcmp(name, "status") == 0)
    reply_read(r, &msg.data, "milestones", read_status, &pk);
  else if (strcmp(name, "export") == 0)
    op_export(r, &msg.data, &pk);
  else if (strcmp(name, "show") == 0)
    reply_read(r, &msg.data, "record", read_show, &pk);
  else if (strcmp(name, "conflicts") == 0)
    reply_read(r, &msg.data, "conflicts", read_conflicts, &pk);
  else {
    char why[64];
    snprintf(why, sizeof why, "op: unknown operation '%.32s'", name);
    pack_error(&pk, CAIRN_EINVAL, why);
  }
  msgpack_unpacked_destroy(&msg);
  return h;
}
