/* test_request.c: the shape of local requests (protocol/request.h): every
 * op with every argument it takes decodes; what is not a request is
 * malformed (the connection closes); a wrong shape gets a code and a line
 * naming the op or the argument. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <string.h>

#include "error.h"
#include "request.h"

/* Decodes the n bytes at p; returns the code, with why and the op. */
static int decode(const char *p, size_t n, char why[160], int *op) {
  cairn_request req;
  int rc = cairn_request_decode((const uint8_t *)p, n, &req, why, 160);

  *op = req.op;
  if (rc != 0)
    assert_null(req.msg.zone); /* nothing kept */
  cairn_request_clear(&req);
  cairn_request_clear(&req); /* twice: harmless */
  return rc;
}

#define DECODE(lit, why, op) decode((lit), sizeof(lit) - 1, (why), (op))

static void test_every_op_with_its_arguments(void **state) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char why[160];
  int op;

  (void)state;
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  for (int i = 1; i <= CAIRN_OP_MAX; i++) {
    const char *name = cairn_request_op_name(i);
    assert_non_null(name);
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    assert_int_equal(decode(sb.data, sb.size, why, &op), 0);
    assert_int_equal(op, i);
  }
  assert_null(cairn_request_op_name(0));
  assert_null(cairn_request_op_name(CAIRN_OP_MAX + 1));
  msgpack_sbuffer_destroy(&sb);

  /* what the CLI sends, argument names and types */
  assert_int_equal(DECODE("\x86\xa2op\xa3put\xa4type\xa7student\xa2id\xa2s1\xa4" "edit\xc3"
                          "\xa3why\xa5typed\xa3set\x81\xa4name\xa3" "Ana",
                          why, &op),
                   0);
  assert_int_equal(op, CAIRN_OP_PUT);
  /* put's force: a genuine back-entry */
  assert_int_equal(DECODE("\x83\xa2op\xa3put\xa5" "force\xc3\xa3set\x80", why, &op), 0);
  /* a generated id is an id */
  assert_int_equal(DECODE("\x82\xa2op\xa4show\xa2id\xab" "3fa2c1d9-42", why, &op), 0);
  assert_int_equal(DECODE("\x84\xa2op\xa6" "export\xa5" "after\xc4\x02\x01\x02\xacscope_campus"
                          "\xa5north\xafscope_classroom\xa3r12",
                          why, &op),
                   0);
  assert_int_equal(DECODE("\x85\xa2op\xa6" "enroll\xa6" "campus\xa1n\xa9" "classroom\xa1r\xa4role"
                          "\xa3hub\xa7" "expires\xce\x00\x01\x51\x80",
                          why, &op),
                   0);
  assert_int_equal(op, CAIRN_OP_ENROLL);
  /* a path is a file name: any bytes (cairnd checks it is absolute) */
  assert_int_equal(DECODE("\x82\xa2op\xad" "bundle_import\xa4path\xa6/x\xff\xfe.b", why, &op), 0);
  /* nil is an absent argument */
  assert_int_equal(DECODE("\x83\xa2op\xa6status\xa7student\xc0\xa5today\xc0", why, &op), 0);
  assert_int_equal(op, CAIRN_OP_STATUS);
}

static void test_not_a_request_is_malformed(void **state) {
  static const struct {
    const char *bytes;
    size_t len;
  } bad[] = {
      {"", 0},
      {"\xc1", 1},                                  /* reserved byte */
      {"\x05", 1},                                  /* an integer */
      {"\x92\xa2op\xa4ping", 9},                    /* an array */
      {"\x81\xa4type\xa3" "foo", 10},               /* no op */
      {"\x81\xa2op\x05", 5},                        /* op not a string */
      {"\x81\xa2op\xa4ping\xc0", 10},               /* bytes after the map */
      {"\x81\xa2op\xa4pin", 8},                     /* cut short */
      {"\xdf\x08\x00\x00\x00\xa2op", 8},            /* a count the bytes cannot hold */
  };
  char why[160], deep[80], long_op[40];
  int op;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(decode(bad[i].bytes, bad[i].len, why, &op), CAIRN_EMALFORMED);
    assert_true(why[0] != '\0');
    assert_int_equal(op, 0);
  }
  /* {"op": "ping", "x": [[[...]]]}, nested past CAIRN_MPCHECK_DEPTH */
  memcpy(deep, "\x82\xa2op\xa4ping\xa1x", 10);
  memset(deep + 10, 0x91, 60);
  deep[70] = 0x01;
  assert_int_equal(decode(deep, 71, why, &op), CAIRN_EMALFORMED);
  /* an op of CAIRN_REQUEST_OP_MAX (32) bytes */
  memcpy(long_op, "\x81\xa2op\xd9", 5);
  long_op[5] = CAIRN_REQUEST_OP_MAX;
  memset(long_op + 6, 'p', CAIRN_REQUEST_OP_MAX);
  assert_int_equal(decode(long_op, 6 + CAIRN_REQUEST_OP_MAX, why, &op), CAIRN_EMALFORMED);
}

static void test_wrong_shapes_are_named(void **state) {
  static const struct {
    const char *bytes;
    size_t len;
    int code;
    const char *why;
  } bad[] = {
#define BAD(lit, code, why) {(lit), sizeof(lit) - 1, (code), (why)}
      BAD("\x81\xa2op\xa4" "frob", CAIRN_EINVAL, "op: unknown operation 'frob'"),
      BAD("\x81\xa2op\xa5pi\nng", CAIRN_EINVAL, "op: unknown operation 'pi?ng'"),
      BAD("\x81\xa2op\xa5pi\xffng", CAIRN_EUTF8, "op: invalid UTF-8"),
      BAD("\x81\xa2op\xa9ping\0junk", CAIRN_EUTF8, "op: invalid UTF-8"),
      BAD("\x82\xa2op\xa4ping\xa2op\xa3put", CAIRN_EINVAL, "op: given twice"),
      BAD("\x82\xa2op\xa4ping\xa1x\x01", CAIRN_EINVAL, "ping: unknown argument 'x'"),
      BAD("\x82\xa2op\xa3put\xa4" "edti\xc3", CAIRN_EINVAL, "put: unknown argument 'edti'"),
      BAD("\x82\xa2op\xa3put\xa3" "e\x01\xff\xc3", CAIRN_EINVAL, "put: unknown argument 'e?\?'"),
      BAD("\x82\xa2op\xa4ping\x01\x02", CAIRN_EINVAL, "ping: argument names must be strings"),
      BAD("\x83\xa2op\xa3put\xa4type\xa1" "a\xa4type\xa1" "b", CAIRN_EINVAL, "type: given twice"),
      BAD("\x82\xa2op\xa3put\xa4type\x03", CAIRN_EINVAL, "type: must be a string"),
      BAD("\x82\xa2op\xa3put\xa4" "edit\xa4true", CAIRN_EINVAL, "edit: must be true or false"),
      BAD("\x82\xa2op\xa3put\xa3set\x90", CAIRN_EINVAL, "set: must be a map"),
      BAD("\x82\xa2op\xa4show\xa2id\xa3s\xc3\x28", CAIRN_EUTF8, "id: invalid UTF-8"),
      BAD("\x82\xa2op\xa6" "enroll\xa7" "expires\xff", CAIRN_EINVAL,
          "expires: must be a whole number"),
      BAD("\x82\xa2op\xa6" "enroll\xa7" "expires\xcb\x7f\xf8\0\0\0\0\0\0", CAIRN_EINVAL,
          "expires: must be a whole number"),
      BAD("\x82\xa2op\xa6" "export\xa5" "after\xa1x", CAIRN_EINVAL, "after: must be binary"),
      BAD("\x82\xa2op\xa3put\xa5" "force\xa3yes", CAIRN_EINVAL, "force: must be true or false"),
      BAD("\x82\xa2op\xa6status\xa5" "force\xc3", CAIRN_EINVAL, "status: unknown argument 'force'"),
      /* ids (FORMAT.md 3.1): never a path or an option */
      BAD("\x82\xa2op\xa3put\xa2id\xa3-rf", CAIRN_EINVAL, "id: '-rf' is not an id"),
      BAD("\x82\xa2op\xa4show\xa2id\xa2..", CAIRN_EINVAL, "id: '..' is not an id"),
      BAD("\x82\xa2op\xa6status\xa7student\xa1.", CAIRN_EINVAL, "student: '.' is not an id"),
      BAD("\x82\xa2op\xa4show\xa2id\xa5" "a/../", CAIRN_EINVAL, "id: 'a/../' is not an id"),
      BAD("\x82\xa2op\xa4show\xa2id\xd9\x41"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          CAIRN_ETOOBIG, "id: longer than 64 bytes"),
#undef BAD
  };
  char why[160];
  int op;

  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = decode(bad[i].bytes, bad[i].len, why, &op);
    if (rc != bad[i].code || strstr(why, bad[i].why) == NULL) {
      print_error("case %zu: expected %s '%s', got %s '%s'\n", i, cairn_err_name(bad[i].code),
                  bad[i].why, cairn_err_name(rc), why);
      fail();
    }
    assert_int_equal(op, 0);
  }
}


/* put_many: an array of puts, each checked as a put's arguments, named by
 * its place. */
static void test_put_many_checks_each_put(void **state) {
  char why[160];
  int op;

  (void)state;
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\x92"
                          "\x82\xa4type\xa8" "evidence\xa3set\x80"
                          "\x82\xa4type\xa8" "evidence\xa3set\x80",
                          why, &op),
                   0);
  assert_int_equal(op, CAIRN_OP_PUT_MANY);
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\x90", why, &op), CAIRN_EINVAL);
  assert_string_equal(why, "puts: 1 to 4096 puts");
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\x92\x81\xa4type\xa1x\xa1x",
                          why, &op),
                   CAIRN_EINVAL);
  assert_string_equal(why, "puts item 2: must be a map");
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\x92\x81\xa4type\xa1x"
                          "\x81\xa2id\xa3-rf",
                          why, &op),
                   CAIRN_EINVAL);
  assert_non_null(strstr(why, "puts item 2: id"));
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\x91\x81\xa2op\xa3put", why, &op),
                   CAIRN_EINVAL);
  assert_non_null(strstr(why, "puts item 1: put: unknown argument 'op'"));
  assert_int_equal(DECODE("\x82\xa2op\xa8put_many\xa4puts\xa1x", why, &op), CAIRN_EINVAL);
  assert_string_equal(why, "puts: must be an array of puts (maps)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_op_with_its_arguments),
      cmocka_unit_test(test_not_a_request_is_malformed),
      cmocka_unit_test(test_wrong_shapes_are_named),
      cmocka_unit_test(test_put_many_checks_each_put),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
