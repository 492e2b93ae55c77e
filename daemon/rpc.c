/* rpc.c: one function per request op. */
#include "rpc.h"
#include "rpc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_rpc.h"
#include "report_rpc.h"
#include "error.h"
#include "frame.h"
#include "log.h"
#include "mirror_run.h"
#include "record.h"
#include "request.h"
#include "sync.h"
#include "text.h"

#define WHY_MAX 1000
/* An export reply page stops after the record that passes this size, well
 * under CAIRN_FRAME_MAX. */
#define EXPORT_PAGE_BYTES (256 * 1024)

void cairn__rpc_pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);

  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

/* Starts {"ok": true, ...} with n more pairs to follow. */
void cairn__rpc_pack_ok(msgpack_packer *pk, size_t n) {
  msgpack_pack_map(pk, 1 + n);
  cairn__rpc_pack_str(pk, "ok");
  msgpack_pack_true(pk);
}

void cairn__rpc_pack_error(msgpack_packer *pk, int code, const char *message) {
  msgpack_pack_map(pk, 4);
  cairn__rpc_pack_str(pk, "ok");
  msgpack_pack_false(pk);
  cairn__rpc_pack_str(pk, "code");
  msgpack_pack_int(pk, code);
  cairn__rpc_pack_str(pk, "error");
  cairn__rpc_pack_str(pk, cairn_err_name(code));
  cairn__rpc_pack_str(pk, "message");
  cairn__rpc_pack_str(pk, message && *message ? message : cairn_strerror(code));
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

/* 1 when the optional bool argument key is true. */
static int arg_true(const msgpack_object *req, const char *key) {
  const msgpack_object *o = cairn_record_map_get(req, key);
  return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
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
  if (rc == 0 && body.size > CAIRN_FRAME_MAX - 64) {
    rc = CAIRN_ETOOBIG;
    snprintf(why, sizeof why, "%s: the reply would pass the frame limit; ask for less", key);
  }
  if (rc == 0) {
    cairn__rpc_pack_ok(pk, 1);
    cairn__rpc_pack_str(pk, key);
    pk->callback(pk->data, body.data, body.size); /* already one msgpack value */
  } else {
    cairn__rpc_pack_error(pk, rc, why);
  }
  msgpack_sbuffer_destroy(&body);
}

/* The as-of day of a view: the optional argument `today`, else today.
 * Returns 0 or a negative code with why. */
static int arg_day(const msgpack_object *req, int32_t *as_of, char *why, size_t whylen) {
  char day_s[16];
  int has_day = arg_str(req, "today", day_s, sizeof day_s, why, whylen);

  *as_of = cairn_text_today();
  if (has_day < 0)
    return has_day;
  if (has_day && cairn_text_date_parse(day_s, strlen(day_s), as_of) != 0) {
    snprintf(why, whylen, "today: %s is not a real date (YYYY-MM-DD)", day_s);
    return CAIRN_EDATE;
  }
  return 0;
}

/* The classroom a classroom device serves, whose students its status
 * shows by default; NULL on a hub or the central (all they hold). */
static const char *own_classroom(const cairn_rpc *r) {
  return r->config->role == CAIRN_ROLE_CLASSROOM && r->config->classroom[0] != '\0'
             ? r->config->classroom
             : NULL;
}

/* status: the milestones of one student or of the whole node, as of a
 * day (the request's `today`; default: today); on a classroom device the
 * students of its classroom unless `classroom` names another. Reply {ok,
 * as_of, notices, students}; ETOOBIG when they do not fit one frame (then
 * ask per student). */
static void op_status(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  char student[80], day_s[16], room[80], why[256] = "";
  cairn_store_status_filter f = {.as_of = cairn_text_today(),
                                 .classroom = own_classroom(r),
                                 .withdrawn = arg_true(req, "withdrawn"),
                                 .archived = arg_true(req, "archived")};
  int has_student, has_room = 0, rc;
  cairn_store_status_view *v = NULL;

  has_student = arg_str(req, "student", student, sizeof student, why, sizeof why);
  rc = has_student < 0 ? has_student : arg_day(req, &f.as_of, why, sizeof why);
  if (rc == 0 && (has_room = arg_str(req, "classroom", room, sizeof room, why, sizeof why)) < 0)
    rc = has_room;
  f.student = has_student > 0 ? student : NULL;
  if (has_room > 0)
    f.classroom = room;
  if (rc == 0 && (rc = cairn_store_status_filtered(r->store, &f, &v)) == CAIRN_ENOTFOUND)
    snprintf(why, sizeof why, "student: no student with id %s", student);
  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, why);
    return;
  }
  msgpack_sbuffer body;
  msgpack_packer bpk;
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  cairn__rpc_pack_status(&bpk, v);
  cairn_store_status_free(v);
  if (body.size > CAIRN_FRAME_MAX - 64) {
    cairn__rpc_pack_error(pk, CAIRN_ETOOBIG,
                          "status: too many milestones for one reply; ask for one student");
  } else {
    cairn_text_date_format(f.as_of, day_s);
    cairn__rpc_pack_ok(pk, 3);
    cairn__rpc_pack_str(pk, "as_of");
    cairn__rpc_pack_str(pk, day_s);
    cairn__rpc_pack_str(pk, "notices"); /* sync trouble the teacher must see */
    cairn_links_notices(r->links, pk);
    cairn__rpc_pack_str(pk, "students");
    pk->callback(pk->data, body.data, body.size); /* already one msgpack value */
  }
  msgpack_sbuffer_destroy(&body);
}

/* detail: one milestone's page (`id`), or every milestone of a student
 * (`student`), as of a day (`today`; default today). Reply {ok, as_of,
 * student, milestones}; ETOOBIG when it does not fit one frame. */
static void op_detail(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  char id[80], student[80], why[256] = "";
  int32_t as_of;
  int has_id, has_student = 0, rc = 0;
  cairn_store_detail_view *v = NULL;

  has_id = arg_str(req, "id", id, sizeof id, why, sizeof why);
  if (has_id >= 0)
    has_student = arg_str(req, "student", student, sizeof student, why, sizeof why);
  if (has_id < 0 || has_student < 0)
    rc = has_id < 0 ? has_id : has_student;
  else if (has_id == has_student) {
    snprintf(why, sizeof why, "detail: give either id (a milestone) or student");
    rc = CAIRN_EINVAL;
  }
  if (rc == 0)
    rc = arg_day(req, &as_of, why, sizeof why);
  if (rc == 0) {
    rc = has_id ? cairn_store_detail(r->store, id, as_of, &v)
                : cairn_store_detail_student(r->store, student, as_of, &v);
    if (rc == CAIRN_ENOTFOUND)
      snprintf(why, sizeof why, "%s: no %s with id %s", has_id ? "id" : "student",
               has_id ? "milestone" : "student", has_id ? id : student);
  }
  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, why);
    return;
  }
  msgpack_sbuffer body;
  msgpack_packer bpk;
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  cairn__rpc_pack_detail(&bpk, v);
  cairn_store_detail_free(v);
  if (body.size > CAIRN_FRAME_MAX - 64) {
    cairn__rpc_pack_error(pk, CAIRN_ETOOBIG, "detail: too much for one reply; ask for one milestone");
  } else {
    cairn__rpc_pack_ok(pk, 3);
    pk->callback(pk->data, body.data, body.size); /* the three pairs */
  }
  msgpack_sbuffer_destroy(&body);
}

/* students: the students of the node (or one, `id`), filtered by
 * classroom, campus and grade, with their milestones in brief; withdrawn
 * students only when asked. */
static int read_students(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk,
                         char *why, size_t whylen) {
  char id[80], room[80], campus[80], grade[80];
  cairn_store_student_filter f = {.withdrawn = arg_true(req, "withdrawn")};
  cairn_store_status_view *v = NULL;
  int rc, got[4];

  got[0] = arg_str(req, "id", id, sizeof id, why, whylen);
  got[1] = arg_str(req, "classroom", room, sizeof room, why, whylen);
  got[2] = arg_str(req, "campus", campus, sizeof campus, why, whylen);
  got[3] = arg_str(req, "grade", grade, sizeof grade, why, whylen);
  for (int i = 0; i < 4; i++)
    if (got[i] < 0)
      return got[i];
  f.id = got[0] ? id : NULL;
  f.classroom = got[1] ? room : NULL;
  f.campus = got[2] ? campus : NULL;
  f.grade = got[3] ? grade : NULL;
  rc = cairn_store_students(r->store, &f, &v);
  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "id: no student with id %s", id);
  if (rc != 0)
    return rc;
  cairn__rpc_pack_status(pk, v);
  cairn_store_status_free(v);
  return 0;
}

/* Copies the required string argument "id". Returns 0 or a negative code
 * with why. */
static int arg_id(const msgpack_object *req, char id[80], char *why, size_t whylen) {
  int rc = arg_str(req, "id", id, 80, why, whylen);

  if (rc == 0) {
    snprintf(why, whylen, "id: required");
    return CAIRN_EINVAL;
  }
  return rc < 0 ? rc : 0;
}

static int read_show(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                     size_t whylen) {
  char id[80], type_name[32];
  cairn_store_history *h;
  int rc = arg_id(req, id, why, whylen), type = 0;
  int has_type = rc != 0 ? 0 : arg_str(req, "type", type_name, sizeof type_name, why, whylen);

  if (rc != 0)
    return rc;
  if (has_type != 0 &&
      (has_type < 0 || (type = cairn_record_type_from_name(type_name, strlen(type_name))) < 0)) {
    snprintf(why, whylen, "type: not a record type");
    return CAIRN_EINVAL;
  }
  rc = cairn_store_show_type(r->store, type, id, &h);
  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "id: no %s with id %s", type ? type_name : "record", id);
  if (rc != 0)
    return rc;
  cairn__rpc_pack_history(pk, h);
  cairn_store_history_free(h);
  return 0;
}

static int read_children(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                         size_t whylen) {
  char id[80];
  int rc = arg_id(req, id, why, whylen);

  if (rc != 0)
    return rc;
  rc = cairn_store_children(r->store, id, pk);
  if (rc == CAIRN_ENOTFOUND)
    snprintf(why, whylen, "id: no milestone with id %s", id);
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
  cairn_scope scope;
  int has_scope;
  char why[128];
  uint8_t next[CAIRN_STORE_CURSOR_MAX];
  size_t next_len = 0;
  msgpack_sbuffer body;
  msgpack_packer bpk;
  int rc;

  if (after != NULL && after->type != MSGPACK_OBJECT_NIL &&
      (after->type != MSGPACK_OBJECT_BIN || after->via.bin.size == 0 ||
       after->via.bin.size > CAIRN_STORE_CURSOR_MAX)) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, "after: not a cursor from an earlier export reply");
    return;
  }
  if (after != NULL && after->type == MSGPACK_OBJECT_BIN) {
    from = (const uint8_t *)after->via.bin.ptr;
    from_len = after->via.bin.size;
  }
  memset(&scope, 0, sizeof scope);
  if ((has_scope = arg_str(req, "scope_campus", scope.campus, sizeof scope.campus, why,
                           sizeof why)) < 0 ||
      arg_str(req, "scope_classroom", scope.classroom, sizeof scope.classroom, why,
              sizeof why) < 0) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, why);
    return;
  }
  int type = 0;
  char type_name[32];
  int has_type = arg_str(req, "type", type_name, sizeof type_name, why, sizeof why);
  if (has_type != 0 &&
      (has_type < 0 || (type = cairn_record_type_from_name(type_name, strlen(type_name))) < 0)) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, "type: not a record type");
    return;
  }
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
  rc = cairn_store_export_type(r->store, type, has_scope ? &scope : NULL, from, from_len,
                               EXPORT_PAGE_BYTES, &bpk, next, &next_len);
  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, NULL);
  } else {
    cairn__rpc_pack_ok(pk, 2);
    cairn__rpc_pack_str(pk, "records");
    pk->callback(pk->data, body.data, body.size);
    cairn__rpc_pack_str(pk, "next");
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
  cairn__rpc_pack_ok(pk, 5);
  cairn__rpc_pack_str(pk, "version");
  cairn__rpc_pack_str(pk, CAIRN_VERSION);
  cairn__rpc_pack_str(pk, "device");
  cairn__rpc_pack_str(pk, r->device_hex);
  cairn__rpc_pack_str(pk, "role");
  cairn__rpc_pack_str(pk, cairn_config_role_name(r->config->role));
  cairn__rpc_pack_str(pk, "campus");
  cairn__rpc_pack_str(pk, r->config->campus);
  cairn__rpc_pack_str(pk, "name");
  cairn__rpc_pack_str(pk, r->config->name);
}

static rpc_call *call_new(cairn_slot *slot) {
  rpc_call *call = malloc(sizeof *call);
  if (call != NULL) {
    call->slot = slot;
    cairn_server_slot_pending(slot, call);
  }
  return call;
}

/* Frees call and returns its slot (NULL when the client went away). */
static cairn_slot *call_end(rpc_call *call) {
  cairn_slot *slot = call->slot;
  free(call);
  return slot;
}

void cairn_rpc_detach(void *pending) { ((rpc_call *)pending)->slot = NULL; }

/* The reply to a put, once its batch committed or failed. */
static void put_done(cairn_write_req *req, void *arg) {
  cairn_slot *slot = call_end(arg);
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
    cairn__rpc_pack_ok(&pk, 1);
    cairn__rpc_pack_str(&pk, "id");
    cairn__rpc_pack_str(&pk, req->put.id_out);
  } else {
    cairn__rpc_pack_error(&pk, req->put.result, req->put.message);
  }
  cairn_server_reply(slot, &frame);
}

/* Sets w's put.within to this device's scope, which its puts must lie in
 * (the store refuses one outside it, as sync refuses such an entry from
 * it); the central writes anywhere. */
static void put_within(const cairn_rpc *r, cairn_write_req *w) {
  if (r->config->role == CAIRN_ROLE_CENTRAL)
    return;
  snprintf(w->within.campus, sizeof w->within.campus, "%s", r->config->campus);
  if (r->config->role == CAIRN_ROLE_CLASSROOM)
    snprintf(w->within.classroom, sizeof w->within.classroom, "%s", r->config->classroom);
  w->put.within = &w->within;
}

/* Packs a put's set; a new student with no campus or classroom is placed
 * in this device's. */
static void pack_set(cairn_rpc *r, msgpack_packer *pk, const msgpack_object *set, int new_student) {
  int add_campus = new_student && r->config->campus[0] && !cairn_record_map_get(set, "campus");
  int add_room = new_student && r->config->classroom[0] &&
                 !cairn_record_map_get(set, "classroom") &&
                 !cairn_record_map_get(set, "classrooms");

  msgpack_pack_map(pk, set->via.map.size + add_campus + add_room);
  for (uint32_t i = 0; i < set->via.map.size; i++) {
    msgpack_pack_object(pk, set->via.map.ptr[i].key);
    msgpack_pack_object(pk, set->via.map.ptr[i].val);
  }
  if (add_campus) {
    cairn__rpc_pack_str(pk, "campus");
    cairn__rpc_pack_str(pk, r->config->campus);
  }
  if (add_room) {
    cairn__rpc_pack_str(pk, "classrooms");
    msgpack_pack_array(pk, 1);
    cairn__rpc_pack_str(pk, r->config->classroom);
  }
}

/* Builds the writer request of one put (the arguments of a put request,
 * or one of put_many's puts): 0 and *out, or a negative code with msg.
 * The store checks the record. */
static int put_request(cairn_rpc *r, const msgpack_object *req, cairn_write_req **out,
                       char *msg, size_t msglen) {
  char type_name[32], id[80], why[WHY_MAX + 1];
  const msgpack_object *set;
  int type = 0, has_id, has_why, rc, is_edit;
  msgpack_sbuffer setbuf;
  msgpack_packer spk;

  *out = NULL;
  rc = arg_str(req, "type", type_name, sizeof type_name, msg, msglen);
  if (rc == 0) {
    snprintf(msg, msglen, "type: required");
    return CAIRN_EINVAL;
  }
  if (rc > 0 && (type = cairn_record_type_from_name(type_name, strlen(type_name))) < 0) {
    snprintf(msg, msglen, "type: unknown record type '%s'", type_name);
    rc = CAIRN_EINVAL;
  }
  if (rc < 0)
    return rc;
  has_id = arg_str(req, "id", id, sizeof id, msg, msglen);
  has_why = has_id < 0 ? 0 : arg_str(req, "why", why, sizeof why, msg, msglen);
  if (has_id < 0 || has_why < 0) {
    if (has_why == CAIRN_ETOOBIG)
      snprintf(msg, msglen, "reason: longer than %d bytes", WHY_MAX);
    return has_id < 0 ? has_id : has_why;
  }
  set = cairn_record_map_get(req, "set");
  if (set == NULL || set->type != MSGPACK_OBJECT_MAP) {
    snprintf(msg, msglen, "set: required, a map of fields");
    return CAIRN_EINVAL;
  }
  is_edit = arg_true(req, "edit");
  msgpack_sbuffer_init(&setbuf);
  msgpack_packer_init(&spk, &setbuf, msgpack_sbuffer_write);
  pack_set(r, &spk, set, type == CAIRN_REC_STUDENT && !is_edit);
  *out = cairn_writer_req_new(type, has_id ? id : NULL, is_edit, (const uint8_t *)setbuf.data,
                              setbuf.size, has_why ? why : NULL);
  msgpack_sbuffer_destroy(&setbuf);
  if (*out == NULL)
    return CAIRN_ENOMEM;
  (*out)->put.force = arg_true(req, "force");
  put_within(r, *out);
  return 0;
}

/* put: checks the request's shape here; the store checks the record. */
static cairn_handled op_put(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                            msgpack_packer *pk) {
  char msg[256] = "";
  cairn_write_req *wr;
  rpc_call *call;
  int rc = put_request(r, req, &wr, msg, sizeof msg);

  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, msg);
    return CAIRN_HANDLED_REPLY;
  }
  if ((call = call_new(slot)) == NULL) {
    free(wr);
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  cairn_writer_submit(r->writer, wr, put_done, call);
  return CAIRN_HANDLED_LATER;
}

/* put_many: every put in one transaction, all or nothing
 * (cairn_store_write_all), run as a writer job. */
typedef struct many_job {
  rpc_call *call;
  cairn_write_req **reqs; /* own each put's id, set and why */
  cairn_put *puts;
  size_t n, refused;
  int check; /* only check them: nothing is written */
} many_job;

static void many_free(many_job *j) {
  for (size_t i = 0; j->reqs != NULL && i < j->n; i++)
    free(j->reqs[i]);
  free(j->reqs);
  free(j->puts);
  free(j);
}

static int run_many(cairn_store *s, void *arg) {
  many_job *j = arg;
  for (size_t i = 0; i < j->n; i++) /* the writer retries a job after growing the map */
    j->puts[i] = j->reqs[i]->put;
  return cairn_store_write_all(s, j->puts, j->n, j->check, &j->refused);
}

static void on_many(cairn_write_req *req, void *arg) {
  many_job *j = arg;
  cairn_slot *slot = call_end(j->call);
  msgpack_sbuffer frame;
  msgpack_packer pk;
  char message[400];

  cairn_log_info("put_many of %zu: %s", j->n,
                 req->job_rc != 0 ? cairn_err_name(req->job_rc)
                 : j->refused   ? "refused, nothing written"
                 : j->check     ? "checked, nothing written"
                                : "committed");
  if (slot != NULL) {
    cairn_server_frame_init(&frame);
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    if (req->job_rc != 0) {
      cairn__rpc_pack_error(&pk, req->job_rc, NULL);
    } else if (j->refused == 0 && j->check) {
      cairn__rpc_pack_ok(&pk, 1);
      cairn__rpc_pack_str(&pk, "checked");
      msgpack_pack_uint64(&pk, j->n);
    } else if (j->refused == 0) {
      cairn__rpc_pack_ok(&pk, 1);
      cairn__rpc_pack_str(&pk, "ids");
      msgpack_pack_array(&pk, (uint32_t)j->n);
      for (size_t i = 0; i < j->n; i++)
        cairn__rpc_pack_str(&pk, j->puts[i].id_out);
    } else {
      size_t first = 0;
      while (j->puts[first].result == 0)
        first++;
      snprintf(message, sizeof message, "%zu of %zu refused, nothing written; put %zu: %s",
               j->refused, j->n, first + 1, j->puts[first].message);
      msgpack_pack_map(&pk, 5);
      cairn__rpc_pack_str(&pk, "ok");
      msgpack_pack_false(&pk);
      cairn__rpc_pack_str(&pk, "code");
      msgpack_pack_int(&pk, j->puts[first].result);
      cairn__rpc_pack_str(&pk, "error");
      cairn__rpc_pack_str(&pk, cairn_err_name(j->puts[first].result));
      cairn__rpc_pack_str(&pk, "message");
      cairn__rpc_pack_str(&pk, message);
      cairn__rpc_pack_str(&pk, "refused");
      msgpack_pack_array(&pk, (uint32_t)j->refused);
      for (size_t i = 0; i < j->n; i++) {
        if (j->puts[i].result == 0)
          continue;
        msgpack_pack_map(&pk, 4);
        cairn__rpc_pack_str(&pk, "index");
        msgpack_pack_uint64(&pk, i);
        cairn__rpc_pack_str(&pk, "code");
        msgpack_pack_int(&pk, j->puts[i].result);
        cairn__rpc_pack_str(&pk, "error");
        cairn__rpc_pack_str(&pk, cairn_err_name(j->puts[i].result));
        cairn__rpc_pack_str(&pk, "message");
        cairn__rpc_pack_str(&pk, j->puts[i].message);
      }
    }
    cairn_server_reply(slot, &frame);
  }
  many_free(j);
}

static cairn_handled op_put_many(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                 msgpack_packer *pk) {
  const msgpack_object *puts = cairn_record_map_get(req, "puts");
  char msg[256] = "", item[300];
  many_job *j = calloc(1, sizeof *j);
  cairn_write_req *job = NULL;
  int rc = j != NULL ? 0 : CAIRN_ENOMEM;

  if (rc == 0 && (puts == NULL || puts->type != MSGPACK_OBJECT_ARRAY)) {
    snprintf(msg, sizeof msg, "puts: required, an array of puts");
    rc = CAIRN_EINVAL;
  }
  if (rc == 0) {
    j->check = arg_true(req, "check");
    j->n = puts->via.array.size;
    j->reqs = calloc(j->n, sizeof *j->reqs);
    j->puts = calloc(j->n, sizeof *j->puts);
    if (j->reqs == NULL || j->puts == NULL)
      rc = CAIRN_ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < j->n; i++)
    if ((rc = put_request(r, &puts->via.array.ptr[i], &j->reqs[i], item, sizeof item)) != 0)
      snprintf(msg, sizeof msg, "puts item %zu: %.200s", i + 1, item);
  if (rc == 0 && ((job = cairn_writer_job_new(run_many, j)) == NULL ||
                  (j->call = call_new(slot)) == NULL))
    rc = CAIRN_ENOMEM;
  if (rc != 0) {
    free(job);
    if (j != NULL)
      many_free(j);
    cairn__rpc_pack_error(pk, rc, msg);
    return CAIRN_HANDLED_REPLY;
  }
  cairn_writer_submit(r->writer, job, on_many, j);
  return CAIRN_HANDLED_LATER;
}

/* ---- sync ---- */

static int read_devices(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk, char *why,
                        size_t whylen) {
  (void)req;
  (void)why;
  (void)whylen;
  return cairn_store_devices(r->store, pk);
}

/* {ok, peers: [...], refusals: {class: count}}: link.h says what each holds. */
static void op_sync_status(cairn_rpc *r, msgpack_packer *pk) {
  msgpack_sbuffer peers;
  msgpack_packer ppk;

  msgpack_sbuffer_init(&peers);
  msgpack_packer_init(&ppk, &peers, msgpack_sbuffer_write);
  if (cairn_links_status(r->links, &ppk) != 0) {
    cairn__rpc_pack_error(pk, CAIRN_EIO, "cannot read this node's version vector");
  } else {
    msgpack_sbuffer kept;
    msgpack_packer kpk;
    msgpack_sbuffer_init(&kept);
    msgpack_packer_init(&kpk, &kept, msgpack_sbuffer_write);
    if (cairn_store_kept_out(r->store, &kpk) != 0)
      msgpack_pack_nil(&kpk);
    cairn__rpc_pack_ok(pk, 5);
    cairn__rpc_pack_str(pk, "peers");
    pk->callback(pk->data, peers.data, peers.size); /* already one msgpack value */
    cairn__rpc_pack_str(pk, "refusals");
    cairn_links_refusals(r->links, pk);
    cairn__rpc_pack_str(pk, "clock");
    cairn_links_clock(r->links, pk);
    cairn__rpc_pack_str(pk, "notices");
    cairn_links_notices(r->links, pk);
    cairn__rpc_pack_str(pk, "kept_out");
    pk->callback(pk->data, kept.data, kept.size);
    msgpack_sbuffer_destroy(&kept);
  }
  msgpack_sbuffer_destroy(&peers);
}

/* {ok, mirror: {...}} (mirror_run.h); with rebuild, the mirror is first
 * asked to empty its tables and refill them from the store. */
static void op_mirror(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  if (arg_true(req, "rebuild")) {
    if (r->mirror == NULL) {
      cairn__rpc_pack_error(pk, CAIRN_ECONFIG,
                            "no PostgreSQL mirror: set postgres in [mirror] of cairn.conf "
                            "(a central or hub) and restart cairnd");
      return;
    }
    cairn_mirror_run_rebuild(r->mirror);
  }
  cairn__rpc_pack_ok(pk, 1);
  cairn__rpc_pack_str(pk, "mirror");
  cairn_mirror_run_status(r->mirror, pk);
}

/* Sends {ok, key: text} or the error later, on slot (if still there). */
static void reply_later(void *call, int rc, const char *key, const char *text) {
  cairn_slot *slot = call_end(call);
  msgpack_sbuffer frame;
  msgpack_packer pk;

  if (slot == NULL)
    return;
  cairn_server_frame_init(&frame);
  msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
  if (rc == 0) {
    cairn__rpc_pack_ok(&pk, 1);
    cairn__rpc_pack_str(&pk, key);
    cairn__rpc_pack_str(&pk, text);
  } else {
    cairn__rpc_pack_error(&pk, rc, text);
  }
  cairn_server_reply(slot, &frame);
}

static void on_joined(void *call, int rc, const char *message) {
  reply_later(call, rc, "message", message);
}

static void on_enrolled(void *call, int rc, const char *token) {
  reply_later(call, rc, "token", token);
}

/* Starts an async op: fn returns 0 (its callback will answer) or an error
 * answered now. */
static cairn_handled async_started(cairn_slot *slot, rpc_call *call, int rc, const char *why,
                                   msgpack_packer *pk) {
  if (rc == 0)
    return CAIRN_HANDLED_LATER;
  cairn_server_slot_pending(slot, NULL);
  free(call);
  cairn__rpc_pack_error(pk, rc, why);
  return CAIRN_HANDLED_REPLY;
}

static cairn_handled op_join(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                             msgpack_packer *pk) {
  char token[CAIRN_SYNC_TOKEN_MAX], upstream[128], why[256] = "";
  int has_token = arg_str(req, "token", token, sizeof token, why, sizeof why);
  int has_up = has_token > 0 ? arg_str(req, "upstream", upstream, sizeof upstream, why, sizeof why) : 0;
  rpc_call *call;

  if (has_token <= 0 || has_up < 0) {
    cairn__rpc_pack_error(pk, has_token < 0 ? has_token : has_up < 0 ? has_up : CAIRN_EINVAL,
               why[0] ? why : "token: required");
    return CAIRN_HANDLED_REPLY;
  }
  if ((call = call_new(slot)) == NULL) {
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  return async_started(slot, call,
                       cairn_links_join(r->links, token, has_up ? upstream : NULL, on_joined, call,
                                        why, sizeof why),
                       why, pk);
}

static cairn_handled op_enroll(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                               msgpack_packer *pk) {
  char campus[65] = "", classroom[65] = "", role[16] = "classroom", why[256] = "";
  const msgpack_object *expires = cairn_record_map_get(req, "expires");
  int64_t seconds = 24 * 3600;
  rpc_call *call;

  if (arg_str(req, "campus", campus, sizeof campus, why, sizeof why) < 0 ||
      arg_str(req, "classroom", classroom, sizeof classroom, why, sizeof why) < 0 ||
      arg_str(req, "role", role, sizeof role, why, sizeof why) < 0) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, why);
    return CAIRN_HANDLED_REPLY;
  }
  if (expires != NULL) {
    if (expires->type != MSGPACK_OBJECT_POSITIVE_INTEGER || expires->via.u64 == 0 ||
        expires->via.u64 > 366u * 24 * 3600) {
      cairn__rpc_pack_error(pk, CAIRN_ERANGE, "expires: between 1 second and a year");
      return CAIRN_HANDLED_REPLY;
    }
    seconds = (int64_t)expires->via.u64;
  }
  if ((call = call_new(slot)) == NULL) {
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  return async_started(slot, call,
                       cairn_links_enroll(r->links, role, campus, classroom, seconds, on_enrolled,
                                          call, why, sizeof why),
                       why, pk);
}

int cairn__rpc_resolve_device(cairn_rpc *r, const char *prefix, char id[65], char *why,
                          size_t whylen) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0, plen = strlen(prefix), found = 0;
  int rc;

  if (plen < 8 || plen > 64) {
    snprintf(why, whylen, "device: give at least 8 characters of its id");
    return CAIRN_EINVAL;
  }
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_unpacked_init(&u);
  rc = cairn_store_devices(r->store, &pk);
  if (rc == 0 && msgpack_unpack_next(&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
      const msgpack_object *d = cairn_record_map_get(&u.data.via.array.ptr[i], "id");
      if (d != NULL && d->type == MSGPACK_OBJECT_STR && d->via.str.size == 64 &&
          memcmp(d->via.str.ptr, prefix, plen) == 0) {
        memcpy(id, d->via.str.ptr, 64);
        id[64] = '\0';
        found++;
      }
    }
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  if (rc != 0)
    return rc;
  if (found != 1) {
    snprintf(why, whylen, found ? "device: '%s' matches several devices; give more of it"
                                : "device: no enrolled device starts with '%s'",
             prefix);
    return found ? CAIRN_EINVAL : CAIRN_ENOTFOUND;
  }
  return 0;
}

/* revoke: the central edits the device record: revoked: true. */
static cairn_handled op_revoke(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                               msgpack_packer *pk) {
  char device[80], id[65], why[256] = "";
  static const uint8_t revoked_set[] = {0x81, 0xa7, 'r', 'e', 'v', 'o', 'k', 'e', 'd', 0xc3};
  cairn_write_req *wr;
  rpc_call *call;
  int rc = arg_str(req, "device", device, sizeof device, why, sizeof why);

  if (rc == 0)
    snprintf(why, sizeof why, "device: required");
  if (rc <= 0 || (rc = cairn__rpc_resolve_device(r, device, id, why, sizeof why)) != 0) {
    cairn__rpc_pack_error(pk, rc ? rc : CAIRN_EINVAL, why);
    return CAIRN_HANDLED_REPLY;
  }
  wr = cairn_writer_req_new(CAIRN_REC_DEVICE, id, 1, revoked_set, sizeof revoked_set,
                            "revoked with cairn revoke");
  if (wr == NULL || (call = call_new(slot)) == NULL) {
    free(wr);
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  cairn_log_info("revoking device %.8s", id);
  cairn_writer_submit(r->writer, wr, put_done, call);
  return CAIRN_HANDLED_LATER;
}

static void op_sync_now(cairn_rpc *r, msgpack_packer *pk) {
  char message[200];

  if (cairn_links_sync_now(r->links) != 0) {
    cairn__rpc_pack_error(pk, CAIRN_ENOTFOUND, "this node has no upstream; join one with: cairn join TOKEN");
    return;
  }
  snprintf(message, sizeof message, "syncing with %s now", r->config->upstream);
  cairn__rpc_pack_ok(pk, 1);
  cairn__rpc_pack_str(pk, "message");
  cairn__rpc_pack_str(pk, message);
}

/* web_signin: a one-time link to the web page for `as`, or with
 * sign_out_all every session ended. */
static void op_web_signin(cairn_rpc *r, const msgpack_object *req, msgpack_packer *pk) {
  char name[256], url[512], why[256] = "";
  int64_t expires = 0;
  int rc;

  if (r->web == NULL) {
    cairn__rpc_pack_error(pk, CAIRN_ENOTFOUND,
                          "the web page is off on this node (set web in the [web] section of "
                          "cairn.conf and restart cairnd)");
    return;
  }
  if (arg_true(req, "sign_out_all")) {
    size_t n = r->web->sign_out_all(r->web->arg);
    cairn_log_info("web: every session ended (%zu)", n);
    cairn__rpc_pack_ok(pk, 1);
    cairn__rpc_pack_str(pk, "ended");
    msgpack_pack_uint64(pk, n);
    return;
  }
  rc = arg_str(req, "as", name, sizeof name, why, sizeof why);
  if (rc == 0) {
    rc = CAIRN_EINVAL;
    snprintf(why, sizeof why, "as: required (who signs in)");
  }
  if (rc > 0)
    rc = r->web->signin(r->web->arg, name, url, sizeof url, &expires, why, sizeof why);
  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, why);
    return;
  }
  cairn__rpc_pack_ok(pk, 2);
  cairn__rpc_pack_str(pk, "url");
  cairn__rpc_pack_str(pk, url);
  cairn__rpc_pack_str(pk, "expires");
  msgpack_pack_int64(pk, expires);
}

/* ---- check ---- */

/* A check in progress: the writer runs cairn_store_check (it needs the one
 * write transaction, which it aborts: nothing changes) and collects the
 * problems it reports. */
typedef struct check_job {
  rpc_call *call;
  msgpack_sbuffer lines; /* the problems, packed as strings */
  msgpack_packer pk;
  size_t n;
} check_job;

static void check_line(const char *line, void *arg) {
  check_job *c = arg;
  cairn__rpc_pack_str(&c->pk, line);
  c->n++;
}

static int run_check(cairn_store *s, void *arg) {
  check_job *c = arg;

  /* The writer retries a job after growing a full map: start clean. */
  msgpack_sbuffer_clear(&c->lines);
  c->n = 0;
  return cairn_store_check(s, check_line, arg);
}

static void on_checked(cairn_write_req *req, void *arg) {
  check_job *c = arg;
  cairn_slot *slot = call_end(c->call);
  msgpack_sbuffer frame;
  msgpack_packer pk;

  if (slot != NULL) {
    cairn_server_frame_init(&frame);
    msgpack_packer_init(&pk, &frame, msgpack_sbuffer_write);
    if (req->job_rc == 0 || req->job_rc == CAIRN_ECORRUPT) {
      cairn__rpc_pack_ok(&pk, 2);
      cairn__rpc_pack_str(&pk, "clean");
      if (req->job_rc == 0)
        msgpack_pack_true(&pk);
      else
        msgpack_pack_false(&pk);
      cairn__rpc_pack_str(&pk, "problems");
      msgpack_pack_array(&pk, c->n);
      pk.callback(pk.data, c->lines.data, c->lines.size);
    } else {
      cairn__rpc_pack_error(&pk, req->job_rc, "could not check the store");
    }
    cairn_server_reply(slot, &frame);
  }
  msgpack_sbuffer_destroy(&c->lines);
  free(c);
}

static cairn_handled op_check(cairn_rpc *r, cairn_slot *slot, msgpack_packer *pk) {
  check_job *c = calloc(1, sizeof *c);
  cairn_write_req *req = c ? cairn_writer_job_new(run_check, c) : NULL;

  if (req == NULL || (c->call = call_new(slot)) == NULL) {
    free(req);
    free(c);
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  msgpack_sbuffer_init(&c->lines);
  msgpack_packer_init(&c->pk, &c->lines, msgpack_sbuffer_write);
  cairn_writer_submit(r->writer, req, on_checked, c);
  return CAIRN_HANDLED_LATER;
}

cairn_handled cairn_rpc_handle(void *arg, cairn_slot *slot, const uint8_t *payload, size_t len,
                               msgpack_sbuffer *frame) {
  cairn_rpc *r = arg;
  cairn_request req;
  const msgpack_object *m = &req.msg.data;
  msgpack_packer pk;
  cairn_handled h = CAIRN_HANDLED_REPLY;
  char why[128];
  int rc = cairn_request_decode(payload, len, &req, why, sizeof why);

  if (rc == CAIRN_EMALFORMED)
    return CAIRN_HANDLED_VIOLATION; /* not one map with a string op */
  msgpack_packer_init(&pk, frame, msgpack_sbuffer_write);
  if (rc != 0) { /* an unknown op or argument, one given twice or of the wrong type */
    cairn__rpc_pack_error(&pk, rc, why);
    return h;
  }
  switch (req.op) {
  case CAIRN_OP_PING:
    op_ping(r, &pk);
    break;
  case CAIRN_OP_PUT:
    h = op_put(r, slot, m, &pk);
    break;
  case CAIRN_OP_STATUS:
    op_status(r, m, &pk);
    break;
  case CAIRN_OP_EXPORT:
    op_export(r, m, &pk);
    break;
  case CAIRN_OP_SHOW:
    reply_read(r, m, "record", read_show, &pk);
    break;
  case CAIRN_OP_CONFLICTS:
    reply_read(r, m, "conflicts", read_conflicts, &pk);
    break;
  case CAIRN_OP_DEVICES:
    reply_read(r, m, "devices", read_devices, &pk);
    break;
  case CAIRN_OP_SYNC_STATUS:
    op_sync_status(r, &pk);
    break;
  case CAIRN_OP_SYNC_NOW:
    op_sync_now(r, &pk);
    break;
  case CAIRN_OP_JOIN:
    h = op_join(r, slot, m, &pk);
    break;
  case CAIRN_OP_ENROLL:
    h = op_enroll(r, slot, m, &pk);
    break;
  case CAIRN_OP_REVOKE:
    h = op_revoke(r, slot, m, &pk);
    break;
  case CAIRN_OP_CHECK:
    h = op_check(r, slot, &pk);
    break;
  case CAIRN_OP_BUNDLE_EXPORT:
    h = cairn_bundle_rpc_export(r, slot, m, &pk);
    break;
  case CAIRN_OP_BUNDLE_IMPORT:
    h = cairn_bundle_rpc_import(r, slot, m, &pk);
    break;
  case CAIRN_OP_BACKUP:
    h = cairn_bundle_rpc_backup(r, slot, m, &pk);
    break;
  case CAIRN_OP_MIRROR:
    op_mirror(r, m, &pk);
    break;
  case CAIRN_OP_CHILDREN:
    reply_read(r, m, "records", read_children, &pk);
    break;
  case CAIRN_OP_WEB_SIGNIN:
    op_web_signin(r, m, &pk);
    break;
  case CAIRN_OP_DETAIL:
    op_detail(r, m, &pk);
    break;
  case CAIRN_OP_REPORT:
    cairn_report_rpc(r, m, &pk);
    break;
  case CAIRN_OP_PUT_MANY:
    h = op_put_many(r, slot, m, &pk);
    break;
  case CAIRN_OP_STUDENTS:
    reply_read(r, m, "students", read_students, &pk);
    break;
  }
  cairn_request_clear(&req);
  return h;
}
