/* test_client.c: libcairn against a fake cairnd (a forked child on a Unix
 * socket in a temporary directory) that answers canned frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn.h"
#include "frame.h"

typedef struct fake {
  char dir[64];
  char sock[100];
  pid_t pid;
} fake;

/* What the fake daemon does with each request it reads. */
typedef enum {
  SERVE_ECHO_OP, /* {"ok": true, "echo": <the request's op>} */
  SERVE_REFUSE,  /* {"ok": false, "code": ENOTFOUND, ...} */
  SERVE_TRUNCATE,/* a header for 100 bytes, 10 bytes, then hang up */
  SERVE_TOOBIG,  /* a header announcing more than CAIRN_FRAME_MAX */
  SERVE_SILENT,  /* read, never answer */
  SERVE_NOT_OK   /* a well-formed map without "ok" */
} serve_mode;

static int read_full(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

static void send_frame(int fd, const msgpack_sbuffer *sb) {
  uint8_t hdr[4] = {(uint8_t)(sb->size >> 24), (uint8_t)(sb->size >> 16), (uint8_t)(sb->size >> 8),
                    (uint8_t)sb->size};
  if (write(fd, hdr, 4) != 4 || write(fd, sb->data, sb->size) != (ssize_t)sb->size)
    _exit(3);
}

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* The child: serves one connection, request after request, until EOF. */
static void serve(int lfd, serve_mode mode) {
  int fd = accept(lfd, NULL, NULL);
  uint8_t hdr[4];

  if (fd < 0)
    _exit(2);
  while (read_full(fd, hdr, 4) == 0) {
    uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    char *req = malloc(n);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    const msgpack_object *op = NULL;
    uint32_t i;

    if (req == NULL || read_full(fd, req, n) != 0)
      _exit(4);
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, req, n, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP)
      _exit(5);
    for (i = 0; i < u.data.via.map.size; i++)
      if (u.data.via.map.ptr[i].key.via.str.size == 2 &&
          memcmp(u.data.via.map.ptr[i].key.via.str.ptr, "op", 2) == 0)
        op = &u.data.via.map.ptr[i].val;
    if (op == NULL || op->type != MSGPACK_OBJECT_STR)
      _exit(6);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    switch (mode) {
    case SERVE_ECHO_OP:
      msgpack_pack_map(&pk, 3);
      pack_str(&pk, "ok");
      msgpack_pack_true(&pk);
      pack_str(&pk, "echo");
      msgpack_pack_str_with_body(&pk, op->via.str.ptr, op->via.str.size);
      pack_str(&pk, "version");
      msgpack_pack_int(&pk, 1);
      send_frame(fd, &sb);
      break;
    case SERVE_REFUSE:
      msgpack_pack_map(&pk, 4);
      pack_str(&pk, "ok");
      msgpack_pack_false(&pk);
      pack_str(&pk, "code");
      msgpack_pack_int(&pk, CAIRN_ENOTFOUND);
      pack_str(&pk, "error");
      pack_str(&pk, "ENOTFOUND");
      pack_str(&pk, "message");
      pack_str(&pk, "milestone: no milestone 3fa2c1d9-9");
      send_frame(fd, &sb);
      break;
    case SERVE_TRUNCATE: {
      static const uint8_t partial[14] = {0, 0, 0, 100, 0x81, 0xa2, 'o', 'k', 0xc3};
      if (write(fd, partial, sizeof partial) != sizeof partial)
        _exit(3);
      _exit(0);
    }
    case SERVE_TOOBIG: {
      static const uint8_t big[4] = {0x7f, 0xff, 0xff, 0xff};
      if (write(fd, big, sizeof big) != sizeof big)
        _exit(3);
      break;
    }
    case SERVE_SILENT:
      break;
    case SERVE_NOT_OK:
      msgpack_pack_map(&pk, 1);
      pack_str(&pk, "id");
      pack_str(&pk, "x");
      send_frame(fd, &sb);
      break;
    }
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    free(req);
  }
  _exit(0);
}

/* Starts a fake daemon listening on a fresh DIR/cairnd.sock. */
static void fake_start(fake *f, serve_mode mode) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int lfd;

  strcpy(f->dir, "/tmp/cairn-test-client-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->sock, sizeof f->sock, "%s/cairnd.sock", f->dir);
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock);
  lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(lfd >= 0);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(lfd, 4), 0);
  f->pid = fork();
  assert_true(f->pid >= 0);
  if (f->pid == 0)
    serve(lfd, mode);
  close(lfd);
}

/* Waits for the fake daemon (killing it first when kill_it) and cleans up. */
static void fake_stop(fake *f, int kill_it) {
  int status;

  if (kill_it)
    kill(f->pid, SIGKILL);
  assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
  if (!kill_it)
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unlink(f->sock);
  rmdir(f->dir);
}

static void pack_op(msgpack_sbuffer *sb, const char *op) {
  msgpack_packer pk;
  msgpack_sbuffer_init(sb);
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pack_str(&pk, "op");
  pack_str(&pk, op);
}

static void test_round_trip(void **state) {
  const char *ops[] = {"ping", "status", "export"};
  cairn_client *c;
  cairn_reply *r;
  msgpack_sbuffer sb;
  fake f;
  size_t i;

  (void)state;
  fake_start(&f, SERVE_ECHO_OP);
  assert_int_equal(cairn_client_open(&c, f.dir), 0);
  for (i = 0; i < 3; i++) { /* several requests on one connection, in order */
    const msgpack_object *echo, *version;
    pack_op(&sb, ops[i]);
    assert_int_equal(cairn_client_call(c, sb.data, sb.size, 5000, &r), 0);
    assert_non_null(r);
    assert_int_equal(cairn_reply_root(r)->type, MSGPACK_OBJECT_MAP);
    echo = cairn_reply_get(r, "echo");
    assert_non_null(echo);
    assert_int_equal(echo->type, MSGPACK_OBJECT_STR);
    assert_int_equal(echo->via.str.size, strlen(ops[i]));
    assert_memory_equal(echo->via.str.ptr, ops[i], strlen(ops[i]));
    version = cairn_reply_get(r, "version");
    assert_non_null(version);
    assert_int_equal(version->via.u64, 1);
    assert_null(cairn_reply_get(r, "missing"));
    assert_string_equal(cairn_reply_message(r), "");
    cairn_reply_free(r);
    msgpack_sbuffer_destroy(&sb);
  }
  cairn_client_close(c);
  fake_stop(&f, 0);
}

static void test_refused(void **state) {
  cairn_client *c;
  cairn_reply *r;
  msgpack_sbuffer sb;
  fake f;

  (void)state;
  fake_start(&f, SERVE_REFUSE);
  assert_int_equal(cairn_client_open(&c, f.dir), 0);
  pack_op(&sb, "show");
  assert_int_equal(cairn_client_call(c, sb.data, sb.size, 5000, &r), CAIRN_ENOTFOUND);
  assert_non_null(r);
  assert_string_equal(cairn_reply_message(r), "milestone: no milestone 3fa2c1d9-9");
  cairn_reply_free(r);
  /* A refusal leaves the connection usable. */
  assert_int_equal(cairn_client_call(c, sb.data, sb.size, 5000, &r), CAIRN_ENOTFOUND);
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&sb);
  cairn_client_close(c);
  fake_stop(&f, 0);
}

/* A transport failure returns code with no reply, and closes the client. */
static void expect_transport_failure(serve_mode mode, int timeout_ms, int code) {
  cairn_client *c;
  cairn_reply *r = (cairn_reply *)&r; /* must be reset to NULL */
  msgpack_sbuffer sb;
  fake f;

  fake_start(&f, mode);
  assert_int_equal(cairn_client_open(&c, f.dir), 0);
  pack_op(&sb, "ping");
  assert_int_equal(cairn_client_call(c, sb.data, sb.size, timeout_ms, &r), code);
  assert_null(r);
  assert_int_equal(cairn_client_call(c, sb.data, sb.size, timeout_ms, &r), CAIRN_ECLOSED);
  assert_null(r);
  msgpack_sbuffer_destroy(&sb);
  cairn_client_close(c);
  fake_stop(&f, 1);
}

static void test_truncated_reply(void **state) {
  (void)state;
  expect_transport_failure(SERVE_TRUNCATE, 5000, CAIRN_ECLOSED);
}

static void test_oversized_frame(void **state) {
  (void)state;
  expect_transport_failure(SERVE_TOOBIG, 5000, CAIRN_EMALFORMED);
}

static void test_reply_without_ok(void **state) {
  (void)state;
  expect_transport_failure(SERVE_NOT_OK, 5000, CAIRN_EMALFORMED);
}

static void test_timeout(void **state) {
  (void)state;
  expect_transport_failure(SERVE_SILENT, 100, CAIRN_EIO);
}

static void test_not_running(void **state) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char dir[64] = "/tmp/cairn-test-client-XXXXXX";
  cairn_client *c = (cairn_client *)&c;
  int fd;

  (void)state;
  assert_non_null(mkdtemp(dir));
  /* No socket file at all. */
  assert_int_equal(cairn_client_open(&c, dir), CAIRN_ENOTRUNNING);
  assert_null(c);
  /* A stale socket file that nobody listens on (a crashed daemon). */
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/cairnd.sock", dir);
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd);
  assert_int_equal(cairn_client_open(&c, dir), CAIRN_ENOTRUNNING);
  assert_int_equal(cairn_client_open(&c, "/nonexistent/cairn"), CAIRN_ENOTRUNNING);
  unlink(sa.sun_path);
  rmdir(dir);
}

static void test_bad_arguments(void **state) {
  char longdir[200];
  cairn_client *c;
  cairn_reply *r;
  fake f;

  (void)state;
  memset(longdir, 'a', sizeof longdir - 1);
  longdir[sizeof longdir - 1] = '\0';
  assert_int_equal(cairn_client_open(&c, longdir), CAIRN_ETOOBIG);
  fake_start(&f, SERVE_ECHO_OP);
  assert_int_equal(cairn_client_open(&c, f.dir), 0);
  assert_int_equal(cairn_client_call(c, "x", 0, 0, &r), CAIRN_EINVAL);
  assert_null(r);
  assert_int_equal(cairn_client_call(c, "x", (size_t)CAIRN_FRAME_MAX + 1, 0, &r), CAIRN_EINVAL);
  cairn_client_close(c);
  cairn_client_close(NULL);
  cairn_reply_free(NULL);
  fake_stop(&f, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_truncated_reply), cmocka_unit_test(test_oversized_frame),
      cmocka_unit_test(test_reply_without_ok), cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_not_running),     cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
