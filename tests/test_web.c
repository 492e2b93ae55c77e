/* test_web.c: the web page's pure parts: addresses, routes, JSON bodies
 * turned into local requests, sign-in links and sessions, and the views. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "request.h"
#include "web_int.h"

static void test_address(void **state) {
  char host[64], why[256];
  int port, loop;
  (void)state;

  assert_int_equal(cairn_web_address_parse("127.0.0.1:7421", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 7421);
  assert_true(loop);
  assert_int_equal(cairn_web_address_parse("[::1]:8080", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_string_equal(host, "::1");
  assert_true(loop);
  assert_int_equal(cairn_web_address_parse("localhost:1", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_true(loop);
  assert_int_equal(cairn_web_address_parse("0.0.0.0:443", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_false(loop);
  assert_int_equal(cairn_web_address_parse("10.1.2.3:8443", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_false(loop);
  /* 127.evil.example is a name, not loopback */
  assert_int_equal(cairn_web_address_parse("127.evil.example:80", host, sizeof host, &port, &loop, why, sizeof why), 0);
  assert_false(loop);
  static const char *const bad[] = {"127.0.0.1", ":80", "h:0", "h:70000", "h:80x", "a b:80",
                                    "h:", "[::1]8080", "::1:80", "h:-1", NULL};
  for (int i = 0; bad[i]; i++) {
    why[0] = '\0';
    assert_int_equal(cairn_web_address_parse(bad[i], host, sizeof host, &port, &loop, why, sizeof why), CAIRN_EINVAL);
    assert_non_null(strstr(why, "web:"));
  }
  /* The peers /metrics and /health answer. */
  assert_true(cairn_web_host_loopback("127.0.0.1"));
  assert_true(cairn_web_host_loopback("127.5.6.7"));
  assert_true(cairn_web_host_loopback("::1"));
  assert_true(cairn_web_host_loopback("::ffff:127.0.0.1"));
  assert_true(cairn_web_host_loopback("localhost"));
  assert_false(cairn_web_host_loopback("10.0.0.5"));
  assert_false(cairn_web_host_loopback("::ffff:10.0.0.5"));
  assert_false(cairn_web_host_loopback("127.evil.example"));
  assert_false(cairn_web_host_loopback("fe80::1"));
  assert_false(cairn_web_host_loopback(""));
}

static void test_routes(void **state) {
  cairn_web_route route;
  cairn_web_body body;
  const char *arg;
  size_t arglen;
  (void)state;

  assert_int_equal(cairn_web_route_find("GET", "/api/today", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_TODAY);
  assert_int_equal(body, CAIRN_WEB_BODY_NONE);
  assert_int_equal(cairn_web_route_find("POST", "/api/evidence", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_EVIDENCE_ADD);
  assert_int_equal(body, CAIRN_WEB_BODY_JSON);
  assert_int_equal(cairn_web_route_find("POST", "/api/bundle/import", &route, &body, &arg, &arglen), 0);
  assert_int_equal(body, CAIRN_WEB_BODY_FILE);
  assert_int_equal(cairn_web_route_find("GET", "/api/milestone/ab12-7/records", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_RECORDS);
  assert_int_equal(arglen, 6);
  assert_memory_equal(arg, "ab12-7", 6);
  /* a state change needs POST; a read needs GET */
  assert_int_equal(cairn_web_route_find("GET", "/api/evidence", &route, &body, &arg, &arglen), CAIRN_EINVAL);
  assert_int_equal(cairn_web_route_find("POST", "/api/today", &route, &body, &arg, &arglen), CAIRN_EINVAL);
  assert_int_equal(cairn_web_route_find("GET", "/api/milestone/a b/records", &route, &body, &arg, &arglen), CAIRN_EINVAL);
  assert_int_equal(cairn_web_route_find("GET", "/api/nothing", &route, &body, &arg, &arglen), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_web_route_find("GET", "/api/milestone/x/other", &route, &body, &arg, &arglen), CAIRN_ENOTFOUND);
  /* a milestone's page, a student's family summary, the records the page adds */
  assert_int_equal(cairn_web_route_find("GET", "/api/milestone/ab12-7", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_MILESTONE);
  assert_int_equal(arglen, 6);
  assert_memory_equal(arg, "ab12-7", 6);
  assert_int_equal(cairn_web_route_find("GET", "/api/milestone/", &route, &body, &arg, &arglen), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_web_route_find("GET", "/api/student/ana-8/family", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_FAMILY);
  assert_int_equal(arglen, 5);
  assert_int_equal(cairn_web_route_find("GET", "/api/student/..%2f/family", &route, &body, &arg, &arglen), CAIRN_EINVAL);
  assert_int_equal(cairn_web_route_find("GET", "/api/student/ana-8", &route, &body, &arg, &arglen), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_web_route_find("POST", "/api/milestone", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_MILESTONE_ADD);
  assert_int_equal(body, CAIRN_WEB_BODY_JSON);
  assert_int_equal(cairn_web_route_find("POST", "/api/review", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_REVIEW_ADD);
  assert_int_equal(cairn_web_route_find("POST", "/api/support", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_SUPPORT_ADD);
  assert_int_equal(cairn_web_route_find("POST", "/api/celebration", &route, &body, &arg, &arglen), 0);
  assert_int_equal(route, CAIRN_WEB_CELEBRATION_ADD);
  assert_int_equal(cairn_web_route_find("POST", "/api/milestone/ab12-7", &route, &body, &arg, &arglen), CAIRN_EINVAL);
}

/* The request's bytes: the decoded request borrows them until done(). */
static msgpack_sbuffer req_bytes;

static void done(cairn_request *req) {
  cairn_request_clear(req);
  msgpack_sbuffer_destroy(&req_bytes);
}

/* Decodes body for route and checks the socket's decoder takes it as a
 * request of op; free with done(). */
static void decode_ok(cairn_web_route route, const char *arg, const char *body, const char *op,
                      cairn_request *req) {
  char why[256];
  int rc;

  msgpack_sbuffer_init(&req_bytes);
  rc = cairn_web_request_decode(route, arg, arg ? strlen(arg) : 0, (const uint8_t *)body,
                                body ? strlen(body) : 0, "Ms Rivera", &req_bytes, why, sizeof why);
  if (rc != 0)
    fail_msg("refused: %s", why);
  rc = cairn_request_decode((const uint8_t *)req_bytes.data, req_bytes.size, req, why, sizeof why);
  if (rc != 0)
    fail_msg("not a local request: %s", why);
  assert_string_equal(cairn_request_op_name(req->op), op);
}

static int decode_refused(cairn_web_route route, const char *body, const char *why_has) {
  msgpack_sbuffer sb;
  char why[256] = "";
  int rc;

  msgpack_sbuffer_init(&sb);
  rc = cairn_web_request_decode(route, NULL, 0, (const uint8_t *)body, strlen(body), "Ms Rivera",
                                &sb, why, sizeof why);
  assert_int_not_equal(rc, 0);
  assert_int_equal(sb.size, 0); /* nothing half-packed */
  if (strstr(why, why_has) == NULL)
    fail_msg("why '%s' does not name '%s'", why, why_has);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static void assert_str_field(const msgpack_object *m, const char *key, const char *want) {
  const msgpack_object *v = cairn_record_map_get(m, key);
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_STR);
  assert_int_equal(v->via.str.size, strlen(want));
  assert_memory_equal(v->via.str.ptr, want, strlen(want));
}

static void test_evidence_requests(void **state) {
  cairn_request req;
  const msgpack_object *set, *v;
  (void)state;

  decode_ok(CAIRN_WEB_EVIDENCE_ADD, NULL,
            "{\"milestone\":\"3fa2c1d9-2\",\"value\":2.5,\"observed\":\"2026-11-09\",\"note\":\"<b>ok</b>\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "type", "evidence");
  assert_null(cairn_record_map_get(&req.msg.data, "id"));
  set = cairn_record_map_get(&req.msg.data, "set");
  assert_str_field(set, "milestone", "3fa2c1d9-2");
  assert_str_field(set, "observed", "2026-11-09");
  assert_str_field(set, "note", "<b>ok</b>");
  assert_str_field(set, "by", "Ms Rivera"); /* the signed-in name, never the client's */
  v = cairn_record_map_get(set, "value");
  assert_true(v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 == 2.5);
  {
    char why[256] = "";
    if (cairn_record_check_set(CAIRN_REC_EVIDENCE, set, 1, why, sizeof why) != 0)
      fail_msg("the store would refuse it: %s", why);
  }
  done(&req);

  /* an empty note is no note */
  decode_ok(CAIRN_WEB_EVIDENCE_ADD, NULL,
            "{\"milestone\":\"3fa2c1d9-2\",\"value\":3,\"observed\":\"2026-11-09\",\"note\":\"\"}", "put", &req);
  assert_null(cairn_record_map_get(cairn_record_map_get(&req.msg.data, "set"), "note"));
  done(&req);

  decode_ok(CAIRN_WEB_EVIDENCE_AMEND, NULL, "{\"id\":\"3fa2c1d9-3\",\"value\":1,\"reason\":\"wrong row\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "id", "3fa2c1d9-3");
  /* evidence is never overwritten, by included: who amends is in the reason */
  assert_str_field(&req.msg.data, "why", "wrong row (by Ms Rivera)");
  assert_true(cairn_record_map_get(&req.msg.data, "edit")->via.boolean);
  set = cairn_record_map_get(&req.msg.data, "set");
  assert_null(cairn_record_map_get(set, "by"));
  {
    char why[256] = "";
    if (cairn_record_check_set(CAIRN_REC_EVIDENCE, set, 0, why, sizeof why) != 0)
      fail_msg("the store would refuse it: %s", why);
  }
  done(&req);

  decode_ok(CAIRN_WEB_EVIDENCE_RETRACT, NULL, "{\"id\":\"3fa2c1d9-3\",\"reason\":\"wrong student\"}",
            "put", &req);
  set = cairn_record_map_get(&req.msg.data, "set");
  assert_true(cairn_record_map_get(set, "retracted")->via.boolean);
  assert_str_field(&req.msg.data, "why", "wrong student (by Ms Rivera)");
  done(&req);

  decode_ok(CAIRN_WEB_RECORDS, "3fa2c1d9-2", NULL, "children", &req);
  assert_str_field(&req.msg.data, "id", "3fa2c1d9-2");
  done(&req);
  decode_ok(CAIRN_WEB_TODAY, NULL, NULL, "status", &req);
  done(&req);
  decode_ok(CAIRN_WEB_SYNC_NOW, NULL, "{}", "sync_now", &req);
  done(&req);
  decode_ok(CAIRN_WEB_BUNDLE_IMPORT, "/var/lib/cairn/web/import-1.cairnbundle", NULL,
            "bundle_import", &req);
  done(&req);
}

/* The builder, the review page: each put carries the record's own field
 * names, a pending baseline as nil, and who added it in its why. */
static void test_record_requests(void **state) {
  cairn_request req;
  const msgpack_object *set, *v;
  char why[256] = "";
  (void)state;

  decode_ok(CAIRN_WEB_MILESTONE_ADD, NULL,
            "{\"student\":\"ana-8\",\"type\":\"academic\",\"statement\":\"I will write a claim.\","
            "\"scale\":\"0-4\",\"baseline\":null,\"target\":3,\"start\":\"2026-11-02\","
            "\"end\":\"2026-12-14\",\"rule\":\"4 of 5\",\"checks\":[\"2026-11-16\",\"\"],"
            "\"if_then\":[],\"agreed_by\":[\"Ana\",\"Ms Rivera\"],\"method\":\"\",\"at_home\":\"Read it together\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "type", "milestone");
  assert_str_field(&req.msg.data, "why", "added on the web page by Ms Rivera");
  assert_null(cairn_record_map_get(&req.msg.data, "id"));
  set = cairn_record_map_get(&req.msg.data, "set");
  v = cairn_record_map_get(set, "baseline");
  assert_non_null(v);
  assert_int_equal(v->type, MSGPACK_OBJECT_NIL); /* pending */
  v = cairn_record_map_get(set, "checks");
  assert_int_equal(v->via.array.size, 1); /* the empty one left out */
  assert_null(cairn_record_map_get(set, "if_then")); /* an empty list is no list */
  assert_null(cairn_record_map_get(set, "method"));
  assert_str_field(set, "at_home", "Read it together");
  if (cairn_record_check_set(CAIRN_REC_MILESTONE, set, 1, why, sizeof why) != 0)
    fail_msg("the store would refuse it: %s", why);
  done(&req);

  decode_ok(CAIRN_WEB_REVIEW_ADD, NULL,
            "{\"milestone\":\"3fa2c1d9-2\",\"date\":\"2026-11-20\",\"kind\":\"weekly\","
            "\"decision\":\"adjust-supports\",\"note\":\"two lines\\nof note\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "type", "review");
  set = cairn_record_map_get(&req.msg.data, "set");
  assert_str_field(set, "note", "two lines\nof note");
  if (cairn_record_check_set(CAIRN_REC_REVIEW, set, 1, why, sizeof why) != 0)
    fail_msg("the store would refuse it: %s", why);
  done(&req);
  decode_ok(CAIRN_WEB_SUPPORT_ADD, NULL,
            "{\"milestone\":\"3fa2c1d9-2\",\"date\":\"2026-11-20\",\"support\":\"sentence stems\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "type", "support_change");
  done(&req);
  decode_ok(CAIRN_WEB_CELEBRATION_ADD, NULL,
            "{\"milestone\":\"3fa2c1d9-2\",\"date\":\"2026-11-20\",\"text\":\"from 1 to 3\"}",
            "put", &req);
  assert_str_field(&req.msg.data, "type", "celebration");
  done(&req);
  decode_ok(CAIRN_WEB_MILESTONE, "3fa2c1d9-2", NULL, "detail", &req);
  assert_str_field(&req.msg.data, "id", "3fa2c1d9-2");
  done(&req);
  decode_ok(CAIRN_WEB_FAMILY, "ana-8", NULL, "detail", &req);
  assert_str_field(&req.msg.data, "student", "ana-8");
  done(&req);

  /* refusals name the field */
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"student\":\"ana-8\"}", "type: required");
  decode_refused(CAIRN_WEB_MILESTONE_ADD,
                 "{\"student\":\"a\",\"type\":\"academic\",\"statement\":\"s\",\"scale\":\"0-4\","
                 "\"target\":3,\"start\":\"2026-11-02\",\"end\":\"2026-12-14\"}",
                 "baseline: required");
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"deleted\":true}", "deleted: unknown field");
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"target\":\"3\"}", "target: must be a number");
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"if_then\":\"if x then y\"}", "if_then: must be a list");
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"agreed_by\":[1]}", "agreed_by: must be a string");
  decode_refused(CAIRN_WEB_REVIEW_ADD, "{\"milestone\":\"m\",\"date\":\"2026-11-20\",\"kind\":\"weekly\"}",
                 "decision: required");
  decode_refused(CAIRN_WEB_CELEBRATION_ADD, "{\"milestone\":\"m\",\"date\":\"d\",\"text\":\"\"}",
                 "text: required");
  decode_refused(CAIRN_WEB_SUPPORT_ADD, "{\"milestone\":\"m\",\"by\":\"x\"}", "by: unknown field");
  {
    char big[1100];
    static const char head[] = "{\"milestone\":\"m\",\"date\":\"d\",\"text\":\"";
    memset(big, 'a', sizeof big);
    memcpy(big, head, sizeof head - 1);
    strcpy(big + 1090, "\"}");
    assert_int_equal(decode_refused(CAIRN_WEB_CELEBRATION_ADD, big, "text: longer than 1000"),
                     CAIRN_ETOOBIG);
  }
}

static void test_bad_bodies(void **state) {
  msgpack_sbuffer sb;
  char why[256];
  (void)state;

  decode_refused(CAIRN_WEB_EVIDENCE_ADD, "{\"milestone\":\"m\",\"value\":1}", "observed: required");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD,
                 "{\"milestone\":\"m\",\"value\":\"1\",\"observed\":\"2026-11-09\"}", "value: must be a number");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD,
                 "{\"milestone\":\"m\",\"value\":1,\"observed\":\"2026-11-09\",\"by\":\"someone else\"}",
                 "by: unknown field");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD,
                 "{\"milestone\":\"m\",\"milestone\":\"n\",\"value\":1,\"observed\":\"2026-11-09\"}", "body: not JSON");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD, "[1,2]", "body: must be one JSON object");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD, "{\"milestone\":", "body: not JSON");
  decode_refused(CAIRN_WEB_EVIDENCE_AMEND, "{\"id\":\"x\",\"value\":1}", "reason: required");
  decode_refused(CAIRN_WEB_SYNC_NOW, "{\"op\":\"enroll\"}", "op: unknown field");
  /* what the socket would refuse is refused here, naming the field (found
   * by fuzz_web: the page passed them on before) */
  decode_refused(CAIRN_WEB_EVIDENCE_RETRACT, "{\"id\":\"3fa2c1d9@3\",\"reason\":\"r\"}", "id: not an id");
  decode_refused(CAIRN_WEB_EVIDENCE_AMEND, "{\"id\":\"3fa2c1d9-3\",\"value\":3,\"reason\":\"sc\\u007fred\"}",
                 "reason: contains a control character");
  decode_refused(CAIRN_WEB_EVIDENCE_ADD,
                 "{\"milestone\":\"m\",\"value\":1,\"observed\":\"2026-11-09\",\"note\":\"\\u001b[2J\"}",
                 "note: contains a control character");
  decode_refused(CAIRN_WEB_MILESTONE_ADD, "{\"statement\":\"two\\nlines\"}", "statement: must be one line");
  {
    char big[2200];
    memset(big, 'a', sizeof big);
    static const char head[] = "{\"milestone\":\"m\",\"value\":1,\"observed\":\"2026-11-09\",\"note\":\"";
    memcpy(big, head, sizeof head - 1);
    strcpy(big + 2190, "\"}");
    assert_int_equal(decode_refused(CAIRN_WEB_EVIDENCE_ADD, big, "note: longer than 2000"), CAIRN_ETOOBIG);
  }
  /* the bundle routes take the server's own absolute path only */
  msgpack_sbuffer_init(&sb);
  assert_int_equal(cairn_web_request_decode(CAIRN_WEB_BUNDLE_EXPORT, "x.cairnbundle", 13, NULL, 0,
                                            "Ms Rivera", &sb, why, sizeof why),
                   CAIRN_EINVAL);
  /* routes the page serves itself carry no local request */
  assert_int_equal(cairn_web_request_decode(CAIRN_WEB_SESSION, NULL, 0, NULL, 0, "Ms Rivera", &sb,
                                            why, sizeof why),
                   CAIRN_ENOTFOUND);
  /* a write needs the signed-in name */
  assert_int_equal(cairn_web_request_decode(CAIRN_WEB_EVIDENCE_RETRACT, NULL, 0,
                                            (const uint8_t *)"{\"id\":\"x\",\"reason\":\"r\"}", 23, "",
                                            &sb, why, sizeof why),
                   CAIRN_EINVAL);
  assert_int_equal(sb.size, 0);
  msgpack_sbuffer_destroy(&sb);
}

static void test_links_and_sessions(void **state) {
  cairn__web_sessions ss;
  char token[CAIRN__WEB_SECRET_TEXT], token2[CAIRN__WEB_SECRET_TEXT], cookie[CAIRN__WEB_SECRET_TEXT];
  const cairn__web_session *s;
  int64_t now = 1800000000;
  (void)state;

  memset(&ss, 0, sizeof ss);
  ss.lifetime = 12 * 3600;
  assert_int_equal(cairn__web_link_new(&ss, "Ms Rivera", now, token), 0);
  assert_int_equal(strlen(token), 43);
  /* a wrong or truncated token is refused */
  assert_null(cairn__web_link_redeem(&ss, token, 42, now, cookie));
  token2[0] = token[0] == 'A' ? 'B' : 'A';
  memcpy(token2 + 1, token + 1, sizeof token - 1);
  assert_null(cairn__web_link_redeem(&ss, token2, 43, now, cookie));
  /* the link works once */
  s = cairn__web_link_redeem(&ss, token, 43, now + 10, cookie);
  assert_non_null(s);
  assert_string_equal(s->name, "Ms Rivera");
  assert_int_equal(s->expires, now + 10 + 12 * 3600);
  assert_null(cairn__web_link_redeem(&ss, token, 43, now + 11, cookie));
  /* the cookie finds the session until it expires */
  assert_ptr_equal(cairn__web_session_find(&ss, cookie, 43, now + 20), s);
  assert_null(cairn__web_session_find(&ss, cookie, 43, now + 10 + 12 * 3600));
  assert_null(cairn__web_session_find(&ss, cookie, 42, now + 20));
  /* CSRF: its own token only */
  assert_true(cairn__web_csrf_ok(s, s->csrf, strlen(s->csrf)));
  assert_false(cairn__web_csrf_ok(s, cookie, 43));
  assert_false(cairn__web_csrf_ok(s, "", 0));
  /* a link is good for 5 minutes */
  cairn__web_link_new(&ss, "Mr Chen", now, token);
  assert_null(cairn__web_link_redeem(&ss, token, 43, now + CAIRN_WEB_LINK_SECONDS, cookie));
  cairn__web_link_new(&ss, "Mr Chen", now, token);
  assert_non_null(cairn__web_link_redeem(&ss, token, 43, now + CAIRN_WEB_LINK_SECONDS - 1, cookie));
  /* signing out everyone ends sessions and voids links */
  cairn__web_link_new(&ss, "Mr Chen", now, token);
  assert_int_equal(cairn__web_sessions_clear(&ss, now + 30), 2);
  assert_null(cairn__web_session_find(&ss, cookie, 43, now + 31));
  assert_null(cairn__web_link_redeem(&ss, token, 43, now + 31, cookie));
}

static void test_sessions_bounded(void **state) {
  cairn__web_sessions ss;
  char token[CAIRN__WEB_SECRET_TEXT], cookie[CAIRN__WEB_SECRET_TEXT], last[CAIRN__WEB_SECRET_TEXT];
  int64_t now = 1800000000;
  (void)state;

  memset(&ss, 0, sizeof ss);
  ss.lifetime = 3600;
  /* more sign-ins than slots: the newest sessions stay, the table does not grow */
  for (int i = 0; i < 3 * CAIRN__WEB_SESSIONS_MAX; i++) {
    cairn__web_link_new(&ss, "T", now + i, token);
    assert_non_null(cairn__web_link_redeem(&ss, token, 43, now + i, cookie));
    memcpy(last, cookie, sizeof cookie);
  }
  assert_non_null(cairn__web_session_find(&ss, last, 43, now + 3 * CAIRN__WEB_SESSIONS_MAX));
}

static void test_name_check(void **state) {
  char why[128];
  char long_name[CAIRN_WEB_NAME_MAX + 2];
  (void)state;

  assert_int_equal(cairn__web_name_check("Ms Rivera", why, sizeof why), 0);
  assert_int_equal(cairn__web_name_check("Señora Núñez", why, sizeof why), 0);
  assert_int_equal(cairn__web_name_check("a\x1b[2Jb", why, sizeof why), CAIRN_EINVAL);
  assert_int_equal(cairn__web_name_check("a\xc2\x9b" "b", why, sizeof why), CAIRN_EINVAL);
  assert_int_equal(cairn__web_name_check("   ", why, sizeof why), CAIRN_EINVAL);
  assert_int_equal(cairn__web_name_check("", why, sizeof why), CAIRN_EINVAL);
  assert_int_equal(cairn__web_name_check("\xff", why, sizeof why), CAIRN_EUTF8);
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  assert_int_equal(cairn__web_name_check(long_name, why, sizeof why), CAIRN_ETOOBIG);
}

/* A status reply {ok, milestones: [...]} as the socket packs it. */
/* A student of the status reply, followed by its n milestones. */
static void pack_student(msgpack_packer *pk, const char *id, const char *name, uint32_t n) {
  msgpack_pack_map(pk, 3);
  msgpack_pack_str_with_body(pk, "id", 2);
  msgpack_pack_str_with_body(pk, id, strlen(id));
  msgpack_pack_str_with_body(pk, "name", 4);
  msgpack_pack_str_with_body(pk, name, strlen(name));
  msgpack_pack_str_with_body(pk, "milestones", 10);
  msgpack_pack_array(pk, n);
}

static void pack_milestone(msgpack_packer *pk, const char *id, const char *student,
                           const char *name, const char *light, int overdue, const char *action,
                           const char *last_observed) {
  msgpack_pack_map(pk, 13);
#define S(k, v) msgpack_pack_str_with_body(pk, k, strlen(k)), msgpack_pack_str_with_body(pk, v, strlen(v))
  S("id", id);
  S("student", student);
  S("student_name", name);
  S("statement", id);
  S("light", light);
  S("why", "a reason");
  S("cadence", "weekly");
  msgpack_pack_str_with_body(pk, "cadence_days", 12);
  msgpack_pack_int(pk, 7);
  S("start", "2026-11-02");
  S("next_review", "2026-11-20");
  msgpack_pack_str_with_body(pk, "overdue", 7);
  if (overdue)
    msgpack_pack_true(pk);
  else
    msgpack_pack_false(pk);
  msgpack_pack_str_with_body(pk, "last_observed", 13);
  if (last_observed)
    msgpack_pack_str_with_body(pk, last_observed, strlen(last_observed));
  else
    msgpack_pack_nil(pk);
  msgpack_pack_str_with_body(pk, "triggered", 9);
  if (action) {
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 2);
    S("rule", "If ..., then ...");
    S("action", action);
  } else {
    msgpack_pack_array(pk, 0);
  }
#undef S
}

/* Packs a JSON value as msgpack (for replies written as JSON text). */
static void pack_json(msgpack_packer *pk, const json_t *v) {
  const char *k;
  json_t *item;
  size_t i;

  switch (json_typeof(v)) {
  case JSON_OBJECT:
    msgpack_pack_map(pk, (uint32_t)json_object_size(v));
    json_object_foreach((json_t *)v, k, item) {
      msgpack_pack_str_with_body(pk, k, strlen(k));
      pack_json(pk, item);
    }
    break;
  case JSON_ARRAY:
    msgpack_pack_array(pk, (uint32_t)json_array_size(v));
    json_array_foreach(v, i, item) pack_json(pk, item);
    break;
  case JSON_STRING:
    msgpack_pack_str_with_body(pk, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    msgpack_pack_int64(pk, json_integer_value(v));
    break;
  case JSON_REAL:
    msgpack_pack_double(pk, json_real_value(v));
    break;
  case JSON_TRUE:
    msgpack_pack_true(pk);
    break;
  case JSON_FALSE:
    msgpack_pack_false(pk);
    break;
  default:
    msgpack_pack_nil(pk);
  }
}

/* The web view of route for a reply written as JSON text. */
static json_t *view_of(cairn_web_route route, const char *reply_json) {
  json_error_t err;
  json_t *j = json_loads(reply_json, 0, &err), *out;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0;

  if (j == NULL)
    fail_msg("bad test JSON: %s", err.text);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  pack_json(&pk, j);
  json_decref(j);
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
  out = cairn__web_view(route, &u.data, 20782);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  return out;
}

/* A detail reply: a student and one milestone with a note on every kind
 * of record, an amended and a retracted point. */
static const char detail_reply[] =
    "{\"ok\":true,\"as_of\":\"2026-11-25\","
    "\"student\":{\"id\":\"ana-8\",\"name\":\"Ana Lopez\",\"grade\":\"8\",\"campus\":\"north\","
    "\"classroom\":\"r12\",\"accommodations\":[\"extended time\"]},"
    "\"milestones\":[{\"id\":\"3fa2c1d9-2\",\"student\":\"ana-8\",\"type\":\"academic\","
    "\"statement\":\"I will write a claim.\",\"scale\":\"0-4\",\"direction\":\"up\",\"baseline\":1.5,"
    "\"target\":3,\"goal\":\"target 3 or more\",\"start\":\"2026-11-02\",\"end\":\"2026-12-14\","
    "\"cadence_days\":7,\"level\":\"developing\",\"level_words\":\"developing: engaged, not yet meeting the goal\","
    "\"light\":\"red\",\"why\":\"4 in a row\",\"overdue\":false,\"triggered\":[],"
    "\"last_observed\":\"2026-11-24\",\"support\":\"sentence stems\",\"support_since\":\"2026-11-10\","
    "\"at_home\":\"Read it together\",\"next_review\":\"2026-11-30\","
    "\"agreed_by\":[\"Ana\",\"Mr Lopez\"],\"method\":\"rubric\",\"why_staff\":\"x\","
    "\"series\":[{\"evidence\":\"3fa2c1d9-3\",\"observed\":\"2026-11-09\",\"value\":2,\"amended\":true,"
    "\"original\":1,\"retracted\":false,\"by\":\"Ms Rivera\",\"note\":\"STAFF NOTE 1\"},"
    "{\"evidence\":\"3fa2c1d9-4\",\"observed\":\"2026-11-16\",\"value\":0,\"amended\":false,"
    "\"original\":null,\"retracted\":true,\"by\":\"Ms Rivera\",\"note\":\"\"}],"
    "\"aimline\":{\"from\":\"2026-11-02\",\"to\":\"2026-12-14\",\"at_from\":1.5,\"at_to\":3},"
    "\"trendline\":null,"
    "\"reviews\":[{\"id\":\"3fa2c1d9-5\",\"date\":\"2026-11-20\",\"kind\":\"weekly\","
    "\"decision\":\"continue\",\"showed\":\"STAFF SHOWED\",\"note\":\"STAFF NOTE 2\"}],"
    "\"support_changes\":[{\"id\":\"3fa2c1d9-6\",\"date\":\"2026-11-10\",\"support\":\"sentence stems\","
    "\"note\":\"STAFF NOTE 3\"}],"
    "\"celebrations\":[{\"id\":\"3fa2c1d9-7\",\"date\":\"2026-11-12\",\"text\":\"first\"},"
    "{\"id\":\"3fa2c1d9-8\",\"date\":\"2026-11-19\",\"text\":\"from 1 to 3\"}]}]}";

static void test_family_and_milestone_views(void **state) {
  json_t *j, *m;
  char *text;
  (void)state;

  j = view_of(CAIRN_WEB_FAMILY, detail_reply);
  assert_non_null(j);
  text = json_dumps(j, JSON_COMPACT);
  /* nothing a family may not read: no ids, notes, other names, reviews */
  const char *const never[] = {"3fa2c1d9", "ana-8", "STAFF", "Ms Rivera", "Mr Lopez",
                               "extended time", "north", "\"note\"", "\"by\"", "why", NULL};
  for (size_t i = 0; never[i] != NULL; i++)
    if (strstr(text, never[i]) != NULL)
      fail_msg("the family summary holds %s: %s", never[i], text);
  free(text);
  assert_string_equal(json_string_value(json_object_get(json_object_get(j, "student"), "name")),
                      "Ana Lopez");
  m = json_array_get(json_object_get(j, "milestones"), 0);
  assert_string_equal(json_string_value(json_object_get(m, "statement")), "I will write a claim.");
  assert_string_equal(json_string_value(json_object_get(m, "at_home")), "Read it together");
  assert_string_equal(json_string_value(json_object_get(m, "support")), "sentence stems");
  /* the active points at their current value; the latest celebration first */
  assert_int_equal(json_array_size(json_object_get(m, "series")), 1);
  assert_true(json_number_value(json_object_get(json_array_get(json_object_get(m, "series"), 0),
                                                "value")) == 2);
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(m, "celebrations"), 0), "text")),
                      "from 1 to 3");
  json_decref(j);

  /* the milestone's page: everything, one milestone, with its attention */
  j = view_of(CAIRN_WEB_MILESTONE, detail_reply);
  assert_non_null(j);
  m = json_object_get(j, "milestone");
  assert_string_equal(json_string_value(json_object_get(m, "id")), "3fa2c1d9-2");
  assert_null(json_object_get(j, "milestones"));
  assert_string_equal(json_string_value(json_object_get(
                          json_array_get(json_object_get(m, "attention"), 0), "kind")),
                      "red");
  json_decref(j);
  assert_null(view_of(CAIRN_WEB_MILESTONE, "{\"ok\":true,\"milestones\":[]}"));
}

static void test_today_order(void **state) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  msgpack_unpacked u;
  size_t off = 0;
  int32_t today = 20782; /* 2026-11-25 */
  json_t *j, *students, *first;
  (void)state;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "ok", 2);
  msgpack_pack_true(&pk);
  msgpack_pack_str_with_body(&pk, "students", 8);
  msgpack_pack_array(&pk, 4);
  pack_student(&pk, "ana", "Ana", 1);
  pack_milestone(&pk, "a-1", "ana", "Ana", "green", 0, NULL, "2026-11-24");
  pack_student(&pk, "ben", "Ben", 2);
  pack_milestone(&pk, "b-1", "ben", "Ben", "green", 0, NULL, "2026-11-24");
  pack_milestone(&pk, "b-2", "ben", "Ben", "yellow", 0, "add a small group", "2026-11-24");
  pack_student(&pk, "cy", "Cy", 1);
  pack_milestone(&pk, "c-1", "cy", "Cy", "green", 1, NULL, "2026-11-24");
  pack_student(&pk, "di", "Di", 1);
  pack_milestone(&pk, "d-1", "di", "Di", "red", 0, NULL, "2026-11-01");
  msgpack_unpacked_init(&u);
  assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
  j = cairn__web_view(CAIRN_WEB_TODAY, &u.data, today);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "today")), "2026-11-25");
  students = json_object_get(j, "students");
  assert_int_equal(json_array_size(students), 4);
  /* red first, then a triggered support, then an overdue review, then the rest */
  assert_string_equal(json_string_value(json_object_get(json_array_get(students, 0), "id")), "di");
  assert_string_equal(json_string_value(json_object_get(json_array_get(students, 1), "id")), "ben");
  assert_string_equal(json_string_value(json_object_get(json_array_get(students, 2), "id")), "cy");
  assert_string_equal(json_string_value(json_object_get(json_array_get(students, 3), "id")), "ana");
  /* within Ben, the milestone with the triggered support comes first, with its action in words */
  first = json_array_get(json_object_get(json_array_get(students, 1), "milestones"), 0);
  assert_string_equal(json_string_value(json_object_get(first, "id")), "b-2");
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(first, "attention"), 0), "text")),
      "Planned support due: add a small group");
  /* Di's red milestone also has had no evidence for longer than its cadence */
  first = json_array_get(json_object_get(json_array_get(students, 0), "milestones"), 0);
  assert_int_equal(json_array_size(json_object_get(first, "attention")), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(json_object_get(first, "attention"), 1), "text")),
      "No evidence since 2026-11-01 (24 days)");
  json_decref(j);
  /* a reply without milestones is not shown */
  {
    msgpack_object empty;
    memset(&empty, 0, sizeof empty);
    empty.type = MSGPACK_OBJECT_MAP;
    assert_null(cairn__web_view(CAIRN_WEB_TODAY, &empty, today));
  }
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_address),
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_evidence_requests),
      cmocka_unit_test(test_record_requests),
      cmocka_unit_test(test_bad_bodies),
      cmocka_unit_test(test_links_and_sessions),
      cmocka_unit_test(test_sessions_bounded),
      cmocka_unit_test(test_name_check),
      cmocka_unit_test(test_today_order),
      cmocka_unit_test(test_family_and_milestone_views),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
