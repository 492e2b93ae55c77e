/* cli_central.c: the central office's shared catalog in the CLI: a
 * milestone filled from a template (milestone add --template), and the
 * tables of template list and standard list. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "template.h"

/* Asks cairnd for record id of type; on EXIT_OK *out is the reply and
 * *fields its record's current fields. */
static int show(cairn_client *c, const char *data, const char *type, const char *id,
                cairn_reply **out, const msgpack_object **fields) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int ex;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  msgpack_pack_str_with_body(&pk, "op", 2);
  msgpack_pack_str_with_body(&pk, "show", 4);
  msgpack_pack_str_with_body(&pk, "id", 2);
  msgpack_pack_str_with_body(&pk, id, strlen(id));
  msgpack_pack_str_with_body(&pk, "type", 4);
  msgpack_pack_str_with_body(&pk, type, strlen(type));
  ex = cairn__cli_call(c, data, &sb, 0, out);
  msgpack_sbuffer_destroy(&sb);
  *fields = ex == EXIT_OK ? cairn_record_map_get(cairn_reply_get(*out, "record"), "fields") : NULL;
  if (ex == EXIT_OK && (*fields == NULL || (*fields)->type != MSGPACK_OBJECT_MAP)) {
    fprintf(stderr, "cairn: cairnd's reply has no fields for %s %s\n", type, id);
    cairn_reply_free(*out);
    *out = NULL;
    ex = EXIT_FAIL;
  }
  return ex;
}

/* A NUL-terminated copy of string field name of fields, or NULL. */
static char *str_field(const msgpack_object *fields, const char *name) {
  const msgpack_object *v = cairn_record_map_get(fields, name);
  char *s = NULL;
  if (v != NULL && v->type == MSGPACK_OBJECT_STR && (s = malloc(v->via.str.size + 1)) != NULL) {
    memcpy(s, v->via.str.ptr, v->via.str.size);
    s[v->via.str.size] = '\0';
  }
  return s;
}

static int is_given(const char *const *given, size_t n, const char *field, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(given[i]) == len && memcmp(given[i], field, len) == 0)
      return 1;
  return 0;
}

/* The statement of a milestone from pattern: filled with the student's
 * name (read only when the pattern names it) and the --fill words. */
static int fill_statement(cairn_client *c, const char *data, const char *pattern,
                          const char *student, const char *const *fills, size_t nfills,
                          char *out, size_t outlen) {
  cairn_reply *r = NULL;
  const msgpack_object *fields = NULL;
  char *name = NULL, why[512];
  int ex = EXIT_OK;

  if (strstr(pattern, "{name}") != NULL) {
    if ((ex = show(c, data, "student", student, &r, &fields)) != EXIT_OK)
      return ex;
    name = str_field(fields, "name");
    cairn_reply_free(r);
    if (name == NULL) {
      fprintf(stderr, "cairn: student %s has no name to fill {name} with\n", student);
      return EXIT_FAIL;
    }
  }
  if (cairn_template_fill(pattern, strlen(pattern), name != NULL ? name : "", fills, nfills, out,
                          outlen, why, sizeof why) != 0) {
    fputs("cairn: ", stderr);
    cairn__cli_put_text(stderr, why, strlen(why));
    fputc('\n', stderr);
    ex = EXIT_USAGE;
  }
  free(name);
  return ex;
}

int cairn__cli_template_fields(cairn_client *c, const char *data, const char *template_id,
                               const char *student, const char *const *given, size_t ngiven,
                               const char *const *fills, size_t nfills, msgpack_sbuffer *extra,
                               size_t *nextra) {
  cairn_reply *r = NULL;
  const msgpack_object *fields;
  msgpack_packer pk;
  char statement[1001];
  int ex = show(c, data, "template", template_id, &r, &fields);

  *nextra = 0;
  if (ex != EXIT_OK)
    return ex;
  const msgpack_object *deleted = cairn_record_map_get(fields, "deleted");
  if (deleted != NULL && deleted->type == MSGPACK_OBJECT_BOOLEAN && deleted->via.boolean) {
    fprintf(stderr, "cairn: template: %s was withdrawn by the central\n", template_id);
    cairn_reply_free(r);
    return EXIT_FAIL;
  }
  msgpack_packer_init(&pk, extra, msgpack_sbuffer_write);
  if (!is_given(given, ngiven, "statement", 9)) {
    char *pattern = str_field(fields, "statement");
    ex = pattern == NULL ? EXIT_FAIL
                         : fill_statement(c, data, pattern, student, fills, nfills, statement,
                                          sizeof statement);
    free(pattern);
    if (ex == EXIT_OK) {
      msgpack_pack_str_with_body(&pk, "statement", 9);
      msgpack_pack_str_with_body(&pk, statement, strlen(statement));
      (*nextra)++;
    }
  }
  /* Every other field the template and a milestone share, unless given. */
  for (uint32_t i = 0; ex == EXIT_OK && i < fields->via.map.size; i++) {
    const msgpack_object_kv *kv = &fields->via.map.ptr[i];
    const char *k = kv->key.via.str.ptr;
    size_t klen = kv->key.via.str.size;
    if (kv->key.type != MSGPACK_OBJECT_STR || is_given(given, ngiven, k, klen) ||
        cairn_record_field(CAIRN_REC_MILESTONE, k, klen) == NULL ||
        (klen == 9 && memcmp(k, "statement", 9) == 0) || (klen == 7 && memcmp(k, "deleted", 7) == 0))
      continue;
    msgpack_pack_object(&pk, kv->key);
    msgpack_pack_object(&pk, kv->val);
    (*nextra)++;
  }
  cairn_reply_free(r);
  return ex;
}

/* ---- template list, standard list ---- */

/* Prints v (text escaped) padded to width bytes (width 0: as is). */
static void cell(const msgpack_object *v, int width) {
  char buf[256], num[32];
  const char *s = "-";
  if (v != NULL && v->type == MSGPACK_OBJECT_STR)
    s = cairn__cli_escape(v->via.str.ptr, v->via.str.size, buf, sizeof buf);
  else if (v != NULL && (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32))
    snprintf(num, sizeof num, "%g", v->via.f64), s = num;
  else if (v != NULL && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    snprintf(num, sizeof num, "%llu", (unsigned long long)v->via.u64), s = num;
  else if (v != NULL && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    snprintf(num, sizeof num, "%lld", (long long)v->via.i64), s = num;
  if (width > 0) {
    cairn__cli_pad(s, width);
    fputs("  ", stdout);
  } else
    printf("%s", s);
}

void cairn__cli_print_catalog_row(const char *type, const msgpack_object *record) {
  static const struct {
    const char *type, *head[9];
    const char *keys[9];
    int widths[9];
  } tables[] = {
      {"template",
       {"ID", "TITLE", "TYPE", "SCALE", "TARGET", "RULE", "CADENCE", "STANDARD", NULL},
       {"id", "title", "type", "scale", "target", "rule", "cadence", "standard", NULL},
       {18, 28, 16, 8, 6, 7, 9, 0}},
      {"standard",
       {"CODE", "TEXT", "GUID", NULL},
       {"id", "text", "guid", NULL},
       {28, 48, 0}},
  };
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    if (strcmp(tables[t].type, type) != 0)
      continue;
    const msgpack_object *fields = cairn_record_map_get(record, "fields");
    for (size_t i = 0; tables[t].keys[i] != NULL; i++) {
      if (record == NULL) {
        if (tables[t].widths[i] > 0)
          printf("%-*s  ", tables[t].widths[i], tables[t].head[i]);
        else
          printf("%s", tables[t].head[i]);
        continue;
      }
      const char *k = tables[t].keys[i];
      cell(strcmp(k, "id") == 0 ? cairn_record_map_get(record, "id")
                                : cairn_record_map_get(fields, k),
           tables[t].widths[i]);
    }
    putchar('\n');
  }
}
