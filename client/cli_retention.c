/*
 * cli_retention.c: cairn retention [--dry-run]: the retention rule of
 * cairn.conf ([retention] erase_withdrawn_after_days) applied on the
 * central. The CLI reads the rule and the withdrawn students (the students
 * read), picks those withdrawn at least that many days ago, and sends
 * their erasures (docs/FORMAT.md section 3.4) as one all-or-nothing
 * put_many; the store refuses an erasure anywhere but on the central.
 */
#include "cli.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "text.h"

/* A student the rule picks (due) or cannot date (undated). */
typedef struct picked {
  const msgpack_object *id;
  char withdrawn_on[11]; /* "" when undated */
} picked;

static void pack_cstr(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Packs the put_many of the erasures of due[0..n) into sb. */
static void pack_erasures(const picked *due, size_t n, int64_t days, msgpack_sbuffer *sb) {
  msgpack_packer pk;
  char reason[200];
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  pack_cstr(&pk, "op");
  pack_cstr(&pk, "put_many");
  pack_cstr(&pk, "puts");
  msgpack_pack_array(&pk, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    snprintf(reason, sizeof reason,
             "retention: withdrawn on %s, at least %lld days ago ([retention] "
             "erase_withdrawn_after_days)",
             due[i].withdrawn_on, (long long)days);
    msgpack_pack_map(&pk, 3);
    pack_cstr(&pk, "type");
    pack_cstr(&pk, "erasure");
    pack_cstr(&pk, "id");
    msgpack_pack_object(&pk, *due[i].id);
    pack_cstr(&pk, "set");
    msgpack_pack_map(&pk, 1);
    pack_cstr(&pk, "reason");
    pack_cstr(&pk, reason);
  }
}

static int print_json(const picked *due, size_t ndue, const picked *undated, size_t nundated,
                      int64_t days, int dry_run) {
  json_t *erase = json_array(), *und = json_array();
  for (size_t i = 0; erase != NULL && i < ndue; i++)
    json_array_append_new(erase, json_pack("{s:s%, s:s}", "id", due[i].id->via.str.ptr,
                                           (size_t)due[i].id->via.str.size, "withdrawn_on",
                                           due[i].withdrawn_on));
  for (size_t i = 0; und != NULL && i < nundated; i++)
    json_array_append_new(und, json_stringn(undated[i].id->via.str.ptr,
                                            undated[i].id->via.str.size));
  json_t *j = json_pack("{s:I, s:b, s:o, s:o}", "days", (json_int_t)days, "dry_run", dry_run,
                        "erase", erase, "undated", und);
  if (j == NULL)
    return EXIT_FAIL;
  int ex = cairn__cli_print_json(j);
  json_decref(j);
  return ex;
}

static void print_text(const picked *due, size_t ndue, const picked *undated, size_t nundated,
                       int64_t days, int dry_run) {
  for (size_t i = 0; i < ndue; i++) {
    fputs(dry_run ? "would erase student " : "erased student ", stdout);
    cairn__cli_put_text(stdout, due[i].id->via.str.ptr, due[i].id->via.str.size);
    printf(" (withdrawn on %s)\n", due[i].withdrawn_on);
  }
  if (ndue == 0)
    printf("no student was withdrawn %lld days ago or more\n", (long long)days);
  for (size_t i = 0; i < nundated; i++) {
    fputs("not erased: student ", stdout);
    cairn__cli_put_text(stdout, undated[i].id->via.str.ptr, undated[i].id->via.str.size);
    fputs(" is withdrawn with no withdrawal date (set one: cairn student withdraw ... --date)\n",
          stdout);
  }
}

int cairn__cli_retention(cairn_client *c, const char *data, int32_t today, int dry_run,
                         int json) {
  char path[PATH_MAX], why[512];
  cairn_config cfg;
  if ((size_t)snprintf(path, sizeof path, "%s/cairn.conf", data) >= sizeof path) {
    fprintf(stderr, "cairn: retention: %s: path too long\n", data);
    return EXIT_FAIL;
  }
  if (cairn_config_load(path, &cfg, why, sizeof why) != 0) {
    fprintf(stderr, "cairn: retention: %s\n", why[0] ? why : path);
    return EXIT_FAIL;
  }
  if (cfg.role != CAIRN_ROLE_CENTRAL) {
    fprintf(stderr, "cairn: retention: students are erased by the central only: run it there\n");
    return EXIT_FAIL;
  }
  int64_t days = cfg.erase_withdrawn_after_days;
  if (days <= 0) {
    fprintf(stderr,
            "cairn: retention: no rule: set erase_withdrawn_after_days in [retention] of %s\n",
            path);
    return EXIT_FAIL;
  }

  msgpack_sbuffer req;
  msgpack_packer pk;
  msgpack_sbuffer_init(&req);
  msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  pack_cstr(&pk, "op");
  pack_cstr(&pk, "students");
  pack_cstr(&pk, "withdrawn");
  msgpack_pack_true(&pk);
  cairn_reply *r = NULL;
  int ex = cairn__cli_call(c, data, &req, 0, &r);
  msgpack_sbuffer_destroy(&req);
  if (ex != EXIT_OK)
    return ex;
  const msgpack_object *students = cairn_reply_get(r, "students");
  size_t n = students != NULL && students->type == MSGPACK_OBJECT_ARRAY
                 ? students->via.array.size
                 : 0;
  picked *due = calloc(n + 1, sizeof *due), *undated = calloc(n + 1, sizeof *undated);
  size_t ndue = 0, nundated = 0;
  if (due == NULL || undated == NULL) {
    fprintf(stderr, "cairn: retention: %s\n", cairn_strerror(CAIRN_ENOMEM));
    ex = EXIT_FAIL;
  }
  for (size_t i = 0; ex == EXIT_OK && i < n; i++) {
    const msgpack_object *st = &students->via.array.ptr[i];
    const msgpack_object *id = cairn_record_map_get(st, "id");
    const msgpack_object *w = cairn_record_map_get(st, "withdrawn");
    const msgpack_object *on = cairn_record_map_get(st, "withdrawn_on");
    int32_t day;
    if (id == NULL || id->type != MSGPACK_OBJECT_STR || w == NULL ||
        w->type != MSGPACK_OBJECT_BOOLEAN || !w->via.boolean)
      continue;
    if (on == NULL || on->type != MSGPACK_OBJECT_STR ||
        cairn_text_date_parse(on->via.str.ptr, on->via.str.size, &day) != 0) {
      undated[nundated++].id = id;
      continue;
    }
    if ((int64_t)day + days > today)
      continue;
    due[ndue].id = id;
    cairn_text_date_format(day, due[ndue++].withdrawn_on);
  }
  if (ex == EXIT_OK && !dry_run && ndue > 0) {
    cairn_reply *done = NULL;
    msgpack_sbuffer_init(&req);
    pack_erasures(due, ndue, days, &req);
    ex = cairn__cli_call(c, data, &req, 0, &done);
    msgpack_sbuffer_destroy(&req);
    cairn_reply_free(done);
  }
  if (ex == EXIT_OK && json)
    ex = print_json(due, ndue, undated, nundated, days, dry_run);
  else if (ex == EXIT_OK)
    print_text(due, ndue, undated, nundated, days, dry_run);
  free(due);
  free(undated);
  cairn_reply_free(r);
  return ex;
}
