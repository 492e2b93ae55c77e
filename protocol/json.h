/*
 * json.h: msgpack values as JSON (jansson), for every front end that shows
 * a reply as JSON: the CLI's --json and the web page's API.
 *
 * Pure: no I/O. The result is jansson's own escaping of strings, so any
 * text from stored data is safe to embed as a JSON value.
 */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <jansson.h>
#include <msgpack.h>

/* Converts o to a new jansson value (caller frees with json_decref): nil is
 * null, bin a lowercase hex string, ints integers, floats reals (a
 * non-finite float is null), maps objects (keys must be strings).
 * Returns NULL when o cannot be expressed (a non-string key, invalid
 * UTF-8) or memory ran out. */
json_t *cairn_json_from_msgpack(const msgpack_object *o);

#endif
