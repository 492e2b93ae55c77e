/* cli_value.c: a value as a person types it, read on its milestone's
 * scale: a number; 75% on a percent scale; yes or no on a yes/no one; a
 * label of an ordinal scale (a letter grade, a named level), which is its
 * rank. And the scale itself, as a show reply gives it. */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record.h"

int cairn__cli_is_number(const char *s) {
  char *end;
  if (*s == '\0' || isspace((unsigned char)*s))
    return 0;
  (void)strtod(s, &end);
  return *end == '\0';
}

/* Copies str object o into out (size bytes); 0 when it is not a string
 * that fits. */
static int copy_obj(const msgpack_object *o, char *out, size_t size) {
  if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= size)
    return 0;
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = '\0';
  return 1;
}

void cairn__cli_scale_set(cairn__cli_scale *sc, const char *milestone, const char *scale,
                          const char *const *labels, size_t nlabels) {
  memset(sc, 0, sizeof *sc);
  snprintf(sc->milestone, sizeof sc->milestone, "%s", milestone != NULL ? milestone : "");
  if (scale != NULL && strlen(scale) < sizeof sc->scale) {
    strcpy(sc->scale, scale);
    sc->known = 1;
  }
  for (size_t i = 0; i < nlabels && sc->nlabels < CAIRN_SCALE_LABELS_MAX; i++)
    if (strlen(labels[i]) < sizeof sc->labels[0])
      strcpy(sc->labels[sc->nlabels++], labels[i]);
  if (sc->nlabels == 0 && strcmp(sc->scale, "letter") == 0)
    for (unsigned i = 0; i < CAIRN_RECORD_LETTERS; i++)
      strcpy(sc->labels[sc->nlabels++], cairn_record_letter(i));
}

void cairn__cli_scale_of(cairn__cli_scale *sc, const char *milestone,
                         const msgpack_object *scale, const msgpack_object *levels) {
  char text[40], label[CAIRN_SCALE_LABELS_MAX][CAIRN_SCALE_LABEL_MAX + 1];
  const char *labels[CAIRN_SCALE_LABELS_MAX];
  size_t n = 0;
  for (uint32_t i = 0; levels != NULL && levels->type == MSGPACK_OBJECT_ARRAY &&
                       i < levels->via.array.size && n < CAIRN_SCALE_LABELS_MAX;
       i++)
    if (copy_obj(&levels->via.array.ptr[i], label[n], sizeof label[0])) {
      labels[n] = label[n];
      n++;
    }
  cairn__cli_scale_set(sc, milestone, copy_obj(scale, text, sizeof text) ? text : NULL, labels,
                       n);
}

/* "milestone M is on the scale S" or "the scale is S", for messages. */
static void scale_words(const cairn__cli_scale *sc, char *out, size_t size) {
  if (sc->milestone[0] != '\0')
    snprintf(out, size, "milestone %s is on the scale %s", sc->milestone, sc->scale);
  else
    snprintf(out, size, "the scale is %s", sc->scale);
}

/* "F, D, C, B or A" into out. */
static void labels_words(const cairn__cli_scale *sc, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sc->nlabels && used + 1 < size; i++) {
    int n = snprintf(out + used, size - used, "%s%s",
                     i == 0 ? "" : i + 1 == sc->nlabels ? " or " : ", ", sc->labels[i]);
    used += n > 0 ? (size_t)n : 0;
  }
}

int cairn__cli_value(const char *field, const char *text, const cairn__cli_scale *sc,
                     double *out, char *why, size_t whylen) {
  char on[200], list[700];
  size_t n = strlen(text);
  if (sc != NULL && sc->known)
    scale_words(sc, on, sizeof on);
  for (size_t i = 0; sc != NULL && i < sc->nlabels; i++)
    if (strcasecmp(sc->labels[i], text) == 0) {
      *out = (double)i;
      return 0;
    }
  if (cairn__cli_is_number(text)) {
    *out = strtod(text, NULL);
    return 0;
  }
  if (strcmp(text, "yes") == 0 || strcmp(text, "no") == 0) {
    if (sc != NULL && sc->known && strcmp(sc->scale, "yesno") != 0) {
      snprintf(why, whylen, "%s: '%s' is for a yes/no milestone; %s", field, text, on);
      return 1;
    }
    *out = text[0] == 'y';
    return 0;
  }
  if (n > 1 && text[n - 1] == '%') {
    char num[64];
    if (n < sizeof num) {
      memcpy(num, text, n - 1);
      num[n - 1] = '\0';
    }
    if (n < sizeof num && cairn__cli_is_number(num)) {
      if (sc != NULL && sc->known && strcmp(sc->scale, "percent") != 0) {
        snprintf(why, whylen, "%s: %s is a percent, but %s", field, text, on);
        return 1;
      }
      *out = strtod(num, NULL);
      return 0;
    }
  }
  if (sc != NULL && sc->known && strcmp(sc->scale, "yesno") == 0) {
    snprintf(why, whylen, "%s: '%s': the answer is yes or no", field, text);
    return 1;
  }
  if (sc != NULL && sc->nlabels > 0) {
    labels_words(sc, list, sizeof list);
    snprintf(why, whylen, "%s: '%s' is not one of the levels of %s: %s", field, text,
             sc->milestone[0] ? sc->milestone : "the scale", list);
    return 1;
  }
  snprintf(why, whylen, "%s: '%s' is not a number", field, text);
  return 2;
}

int cairn__cli_ask(cairn_client *c, const char *op, const char *key, const char *value,
                   cairn_reply **out) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "op", 2);
  msgpack_pack_str_with_body(&pk, op, strlen(op));
  msgpack_pack_str_with_body(&pk, key, strlen(key));
  msgpack_pack_str_with_body(&pk, value, strlen(value));
  *out = NULL;
  int rc = cairn_client_call(c, sb.data, sb.size, 0, out);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}
