/* cli_json.c: msgpack replies as jansson values, printed canonically. */
#include "cli.h"
#include "json.h"

/* One converter serves the CLI and the web page: protocol/json.c. */
json_t *cairn__cli_to_json(const msgpack_object *o) { return cairn_json_from_msgpack(o); }

/* The code point a terminal must not get raw that starts at s (see
 * cli.h), with its length in *n; 0 when there is none. s is jansson's
 * output: valid UTF-8. */
static unsigned long raw_control(const unsigned char *s, size_t *n) {
  if (s[0] == 0x7f) {
    *n = 1;
    return 0x7f;
  }
  if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
    *n = 2;
    return s[1];
  }
  if (s[0] == 0xd8 && s[1] == 0x9c) {
    *n = 2;
    return 0x061c;
  }
  if (s[0] == 0xe2 && s[1] == 0x80 &&
      (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xa8 && s[2] <= 0xae))) {
    *n = 3;
    return 0x2000 | (unsigned long)(s[2] - 0x80);
  }
  if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9) {
    *n = 3;
    return 0x2040 | (unsigned long)(s[2] - 0x80);
  }
  return 0;
}

int cairn__cli_print_json(const json_t *j) {
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
  int rc = 0;

  if (text == NULL)
    return -1;
  /* Outside strings jansson writes only ASCII punctuation, digits and
   * words, so each of these is inside a string, where \uXXXX means it. */
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && rc == 0;) {
    size_t n = 0;
    unsigned long cp = raw_control(p, &n);
    if (cp != 0) {
      rc = printf("\\u%04lx", cp) < 0 ? -1 : 0;
      p += n;
    } else {
      rc = putchar(*p++) == EOF ? -1 : 0;
    }
  }
  free(text);
  if (rc != 0)
    return -1;
  return putchar('\n') == EOF ? -1 : 0;
}
