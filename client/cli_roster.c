/*
 * cli_roster.c: cairn roster import DIR. The CLI has the files, so it
 * reads the export (roster/roster.h), reads what cairnd holds (export, by
 * type), lets roster/roster_import.h work out the puts, and sends them as
 * one all-or-nothing put_many: cairnd checks and writes them as any other
 * puts, and writes none unless every one is valid.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "request.h"
#include "roster.h"
#include "roster_import.h"
#include "text.h"

static int feed_current(void *arg, const msgpack_object *record) {
  int rc = cairn_roster_plan_current(arg, record);
  if (rc != 0) {
    fprintf(stderr, "cairn: roster: reading cairnd's records: %s\n", cairn_strerror(rc));
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

/* Packs the put_many of the plan (check: write nothing) into sb. */
static void pack_request(const cairn_roster_plan *p, int check, msgpack_sbuffer *sb) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2 + (check != 0));
  msgpack_pack_str_with_body(&pk, "op", 2);
  msgpack_pack_str_with_body(&pk, "put_many", 8);
  if (check) {
    msgpack_pack_str_with_body(&pk, "check", 5);
    msgpack_pack_true(&pk);
  }
  msgpack_pack_str_with_body(&pk, "puts", 4);
  msgpack_pack_array(&pk, (uint32_t)p->n_puts);
  msgpack_sbuffer_write(sb, p->puts.data, p->puts.size);
}

/* Prints cairnd's refusal of the batch: each refused put with its record. */
static void print_refused(const cairn_roster_plan *p, const cairn_reply *r) {
  const msgpack_object *refused = cairn_reply_get(r, "refused");
  const char *msg = cairn_reply_message(r);
  fputs("cairn: roster: ", stderr);
  cairn__cli_put_text(stderr, msg, strlen(msg));
  fputc('\n', stderr);
  for (uint32_t i = 0; refused != NULL && refused->type == MSGPACK_OBJECT_ARRAY &&
                       i < refused->via.array.size;
       i++) {
    const msgpack_object *idx = cairn_record_map_get(&refused->via.array.ptr[i], "index");
    const msgpack_object *m = cairn_record_map_get(&refused->via.array.ptr[i], "message");
    if (idx == NULL || idx->type != MSGPACK_OBJECT_POSITIVE_INTEGER || idx->via.u64 >= p->n_puts ||
        m == NULL || m->type != MSGPACK_OBJECT_STR)
      continue;
    const cairn_roster_put_info *in = &p->info[idx->via.u64];
    fprintf(stderr, "cairn: roster: %s ", cairn_record_type_name(in->type));
    cairn__cli_put_text(stderr, in->id, strlen(in->id));
    fputs(": ", stderr);
    cairn__cli_put_text(stderr, m->via.str.ptr, m->via.str.size);
    fputc('\n', stderr);
  }
}

/* Prints what the plan changes: per change, its count and each record. */
static int print_plan(const cairn_roster_plan *p, int dry_run, int json) {
  if (json) {
    json_t *j = json_object();
    for (int c = 0; j != NULL && c < CAIRN_ROSTER_CHANGES; c++) {
      json_t *list = json_array();
      for (size_t i = 0; list != NULL && i < p->n_puts; i++)
        if ((int)p->info[i].change == c)
          json_array_append_new(list, json_pack("{s:s, s:s}", "type",
                                                cairn_record_type_name(p->info[i].type), "id",
                                                p->info[i].id));
      json_object_set_new(j, cairn_roster_change_name(c), list);
    }
    json_object_set_new(j, "dry_run", json_boolean(dry_run));
    int rc = j != NULL ? cairn__cli_print_json(j) : -1;
    json_decref(j);
    return rc == 0 ? EXIT_OK : EXIT_FAIL;
  }
  for (int c = 0; c < CAIRN_ROSTER_CHANGES; c++) {
    printf("%s %zu\n", cairn_roster_change_name(c), p->count[c]);
    for (size_t i = 0; i < p->n_puts; i++)
      if ((int)p->info[i].change == c) {
        printf("  %s ", cairn_record_type_name(p->info[i].type));
        cairn__cli_put_text(stdout, p->info[i].id, strlen(p->info[i].id));
        putchar('\n');
      }
  }
  if (p->n_puts == 0)
    printf("nothing to change: cairn already holds this roster\n");
  else if (dry_run)
    printf("dry run: nothing written (%zu record%s would change)\n", p->n_puts,
           p->n_puts == 1 ? "" : "s");
  else
    printf("written in one batch (%zu record%s)\n", p->n_puts, p->n_puts == 1 ? "" : "s");
  return EXIT_OK;
}

int cairn__cli_roster_import(cairn_client *c, const char *data, const char *dir, int32_t day,
                             int dry_run, int json) {
  static const char *const types[] = {"campus", "classroom", "student", "erasure"};
  cairn_roster *model = NULL;
  cairn_roster_error err = {0};
  cairn_roster_plan *plan = NULL;
  cairn_reply *r = NULL;
  msgpack_sbuffer sb;
  int rc, ex = EXIT_FAIL;

  msgpack_sbuffer_init(&sb);
  if ((rc = cairn_roster_read(dir, NULL, &model, &err)) != 0) {
    fputs("cairn: roster: ", stderr);
    cairn__cli_put_text(stderr, err.message, strlen(err.message));
    fputs("; nothing written\n", stderr);
    goto out;
  }
  if ((plan = cairn_roster_plan_new()) == NULL) {
    fprintf(stderr, "cairn: out of memory\n");
    goto out;
  }
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if ((ex = cairn__cli_each_record(c, data, types[i], feed_current, plan)) != EXIT_OK)
      goto out;
  ex = EXIT_FAIL;
  if ((rc = cairn_roster_plan_build(plan, model, day, &err)) != 0) {
    fputs("cairn: roster: ", stderr);
    cairn__cli_put_text(stderr, err.message, strlen(err.message));
    fputs("; nothing written\n", stderr);
    goto out;
  }
  if (plan->n_puts > CAIRN_REQUEST_PUTS_MAX) {
    fprintf(stderr,
            "cairn: roster: %zu records would change, but one batch takes at most %d; nothing "
            "written\n",
            plan->n_puts, CAIRN_REQUEST_PUTS_MAX);
    goto out;
  }
  if (plan->n_puts > 0) {
    pack_request(plan, dry_run, &sb);
    if (sb.size > CAIRN_FRAME_MAX) {
      fprintf(stderr,
              "cairn: roster: the changes take %zu bytes, but one batch takes at most %d; "
              "nothing written\n",
              sb.size, CAIRN_FRAME_MAX);
      goto out;
    }
    rc = cairn_client_call(c, sb.data, sb.size, 120000, &r);
    if (r == NULL) {
      fprintf(stderr, "cairn: talking to cairnd on %s: %s\n", data, cairn_strerror(rc));
      goto out;
    }
    if (rc != 0) {
      print_refused(plan, r);
      goto out;
    }
  }
  ex = print_plan(plan, dry_run, json);
out:
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&sb);
  cairn_roster_plan_free(plan);
  cairn_roster_free(model);
  return ex;
}
