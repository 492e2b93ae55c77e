/* cli_json.c: msgpack replies as jansson values, printed canonically. */
#include "cli.h"
#include "json.h"

/* One converter serves the CLI and the web page: protocol/json.c. */
json_t *cairn__cli_to_json(const msgpack_object *o) { return cairn_json_from_msgpack(o); }

int cairn__cli_print_json(const json_t *j) {
  if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
    return -1;
  return putchar('\n') == EOF ? -1 : 0;
}
