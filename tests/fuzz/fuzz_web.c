/*
 * fuzz_web.c: what cairnd does with a web page's API request before the
 * socket's handler sees it: cairn_web_route_find on the path, then
 * cairn_web_request_decode of the JSON body (daemon/web/web_request.c),
 * and cairn_web_address_parse of a [web] address.
 *
 * Input: a control byte (the route, modulo the number of routes), then the
 * body. The same bytes, cut at the first NUL and at 255, are tried as a
 * path with GET and POST and as an address.
 *
 * Checks: a body the decoder takes becomes exactly one local request that
 * the socket's own decoder (cairn_request_decode) accepts, whose put `set`
 * passes cairn_record_check_set's shape checks where the store will check
 * it, and that names the signed-in name (the evidence's `by` when adding,
 * the end of the reason when amending or retracting); a refusal writes nothing, says
 * why, and uses a documented code.
 */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "record.h"
#include "request.h"
#include "web.h"

static const char by[] = "Ms Rivera";

/* The record type a put route writes, or 0. */
static int type_of(cairn_web_route route) {
  switch (route) {
  case CAIRN_WEB_EVIDENCE_ADD:
  case CAIRN_WEB_EVIDENCE_AMEND:
  case CAIRN_WEB_EVIDENCE_RETRACT:
    return CAIRN_REC_EVIDENCE;
  case CAIRN_WEB_MILESTONE_ADD:
    return CAIRN_REC_MILESTONE;
  case CAIRN_WEB_REVIEW_ADD:
    return CAIRN_REC_REVIEW;
  case CAIRN_WEB_SUPPORT_ADD:
    return CAIRN_REC_SUPPORT_CHANGE;
  case CAIRN_WEB_CELEBRATION_ADD:
    return CAIRN_REC_CELEBRATION;
  default:
    return 0;
  }
}

/* 1 when the string o ends with tail. */
static int ends_with(const msgpack_object *o, const char *tail) {
  size_t n = strlen(tail);
  return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size >= n &&
         o->via.str.size <= 1000 && /* WHY_MAX */
         memcmp(o->via.str.ptr + o->via.str.size - n, tail, n) == 0;
}

static void check_accepted(cairn_web_route route, const msgpack_sbuffer *sb) {
  cairn_request req;
  char why[256];
  const msgpack_object *set, *b;
  int type = type_of(route);
  int creates = route != CAIRN_WEB_EVIDENCE_AMEND && route != CAIRN_WEB_EVIDENCE_RETRACT;
  int rc = cairn_request_decode((const uint8_t *)sb->data, sb->size, &req, why, sizeof why);

  FUZZ_CHECK(rc == 0);
  set = cairn_record_map_get(&req.msg.data, "set");
  FUZZ_CHECK((req.op == CAIRN_OP_PUT) == (type != 0));
  if (req.op == CAIRN_OP_PUT) {
    FUZZ_CHECK(set != NULL && set->type == MSGPACK_OBJECT_MAP);
    /* who: the evidence's by when adding it, the end of the reason when
     * editing it, the why of the other records the page adds */
    if (route == CAIRN_WEB_EVIDENCE_ADD) {
      b = cairn_record_map_get(set, "by");
      FUZZ_CHECK(b != NULL && b->type == MSGPACK_OBJECT_STR && b->via.str.size == strlen(by) &&
                 memcmp(b->via.str.ptr, by, b->via.str.size) == 0);
    } else {
      FUZZ_CHECK(ends_with(cairn_record_map_get(&req.msg.data, "why"),
                           creates ? " by Ms Rivera" : " (by Ms Rivera)"));
    }
    rc = cairn_record_check_set(type, set, creates, why, sizeof why);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EINVAL || rc == CAIRN_EDATE || rc == CAIRN_ERANGE ||
               rc == CAIRN_ETOOBIG || rc == CAIRN_EUTF8);
  }
  cairn_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char text[256], why[256], host[128];
  msgpack_sbuffer sb;
  cairn_web_route route;
  cairn_web_body body;
  const char *arg;
  size_t arglen, n;
  int rc, port, loop;

  if (size == 0)
    return 0;
  route = (cairn_web_route)(data[0] % (CAIRN_WEB_ROUTE_MAX + 1));
  msgpack_sbuffer_init(&sb);
  memset(why, 1, sizeof why); /* not text: a refusal must overwrite it */
  why[sizeof why - 1] = '\0';
  rc = cairn_web_request_decode(route, "3fa2c1d9-2", 10, data + 1, size - 1, by, &sb, why,
                                sizeof why);
  FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
  if (rc == 0) {
    check_accepted(route, &sb);
  } else {
    FUZZ_CHECK(rc == CAIRN_EINVAL || rc == CAIRN_ETOOBIG || rc == CAIRN_EUTF8 ||
               rc == CAIRN_ERANGE || rc == CAIRN_ENOTFOUND || rc == CAIRN_ENOMEM);
    FUZZ_CHECK(sb.size == 0);
    FUZZ_CHECK(rc == CAIRN_ENOMEM || (why[0] != '\0' && why[0] != 1));
  }
  msgpack_sbuffer_destroy(&sb);

  n = strnlen((const char *)data + 1, size - 1);
  if (n > sizeof text - 1)
    n = sizeof text - 1;
  memcpy(text, data + 1, n);
  text[n] = '\0';
  for (int post = 0; post < 2; post++) {
    rc = cairn_web_route_find(post ? "POST" : "GET", text, &route, &body, &arg, &arglen);
    FUZZ_CHECK(rc == 0 || rc == CAIRN_EINVAL || rc == CAIRN_ENOTFOUND);
    if (rc == 0 && arg != NULL)
      FUZZ_CHECK(fuzz_inside((const uint8_t *)text, n, (const uint8_t *)arg, arglen));
    if (rc == 0)
      FUZZ_CHECK(route > CAIRN_WEB_NONE && route <= CAIRN_WEB_ROUTE_MAX);
  }
  rc = cairn_web_address_parse(text, host, sizeof host, &port, &loop, why, sizeof why);
  FUZZ_CHECK(rc == 0 || rc == CAIRN_EINVAL);
  if (rc == 0)
    FUZZ_CHECK(port >= 1 && port <= 65535 && strlen(host) > 0 && strlen(host) < sizeof host);
  return 0;
}
