/*
 * test_daemon.c: integration tests that start the real cairnd on a
 * temporary data directory (made by the real `cairn init`) and talk to it
 * through libcairn and through raw sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "frame.h"

typedef struct {
  char dir[64];
  char sock[100]; /* fits sockaddr_un.sun_path */
  pid_t pid;
  char log[128];
} node;

/* Runs argv, waits, returns the exit status (or -1). stdout and stderr go
 * to out_path when given. */
static int run(char *const argv[], const char *out_path) {
  pid_t pid = fork();
  int st;

  if (pid == 0) {
    if (out_path) {
      int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void slurp(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, len - 1, f) : 0;

  buf[n] = '\0';
  if (f)
    fclose(f);
}

static int wait_for_socket(const char *path) {
  struct stat st;
  int i;

  for (i = 0; i < 400; i++) {
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      return 0;
    usleep(10000);
  }
  return -1;
}

static pid_t start_daemon(node *n) {
  pid_t pid;

  unlink(n->sock);
  pid = fork();
  if (pid == 0) {
    int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 2);
    close(fd);
    execl(CAIRND_PATH, CAIRND_PATH, "--data", n->dir, (char *)NULL);
    _exit(127);
  }
  n->pid = pid;
  assert_int_equal(wait_for_socket(n->sock), 0);
  return pid;
}

static int stop_daemon(node *n, int sig) {
  int st;

  kill(n->pid, sig);
  assert_int_equal(waitpid(n->pid, &st, 0), n->pid);
  n->pid = 0;
  if (WIFSIGNALED(st))
    return -WTERMSIG(st);
  return WEXITSTATUS(st);
}

static int setup(void **state) {
  node *n = calloc(1, sizeof *n);
  char *init[] = {CAIRN_PATH, "init", "--data", n->dir, "--campus", "north", NULL};
  char out[160];

  snprintf(n->dir, sizeof n->dir, "/tmp/cairn-test-XXXXXX");
  assert_non_null(mkdtemp(n->dir));
  /* cairn init wants to create (or take an empty) directory */
  snprintf(n->sock, sizeof n->sock, "%s/cairnd.sock", n->dir);
  snprintf(n->log, sizeof n->log, "%s.log", n->dir);
  snprintf(out, sizeof out, "%s.init", n->dir);
  assert_int_equal(run(init, out), 0);
  start_daemon(n);
  *state = n;
  return 0;
}

static int teardown(void **state) {
  node *n = *state;
  char cmd[256];

  if (n->pid > 0)
    stop_daemon(n, SIGKILL);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.log' '%s.init'", n->dir, n->dir, n->dir);
  assert_int_equal(system(cmd), 0);
  free(n);
  return 0;
}

/* ---- helpers over libcairn ---- */

static int call(cairn_client *c, msgpack_sbuffer *req, cairn_reply **out) {
  int rc = cairn_client_call(c, req->data, req->size, 10000, out);
  msgpack_sbuffer_clear(req);
  return rc;
}

static void pk_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

static int ping(const node *n) {
  cairn_client *c;
  cairn_reply *r = NULL;
  msgpack_sbuffer b;
  msgpack_packer pk;
  int rc;

  if ((rc = cairn_client_open(&c, n->dir)) != 0)
    return rc;
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pk_str(&pk, "op");
  pk_str(&pk, "ping");
  rc = call(c, &b, &r);
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&b);
  cairn_client_close(c);
  return rc;
}

/* Creates student s1 and a 0-4 milestone; returns the milestone id. */
static void make_milestone(cairn_client *c, char *mid, size_t len) {
  msgpack_sbuffer b;
  msgpack_packer pk;
  cairn_reply *r = NULL;
  const msgpack_object *id;

  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  pk_str(&pk, "op");
  pk_str(&pk, "put");
  pk_str(&pk, "type");
  pk_str(&pk, "student");
  pk_str(&pk, "id");
  pk_str(&pk, "s1");
  pk_str(&pk, "set");
  msgpack_pack_map(&pk, 2);
  pk_str(&pk, "name");
  pk_str(&pk, "Student One");
  pk_str(&pk, "campus");
  pk_str(&pk, "north");
  assert_int_equal(call(c, &b, &r), 0);
  cairn_reply_free(r);

  msgpack_pack_map(&pk, 3);
  pk_str(&pk, "op");
  pk_str(&pk, "put");
  pk_str(&pk, "type");
  pk_str(&pk, "milestone");
  pk_str(&pk, "set");
  msgpack_pack_map(&pk, 8);
  pk_str(&pk, "student");
  pk_str(&pk, "s1");
  pk_str(&pk, "type");
  pk_str(&pk, "academic");
  pk_str(&pk, "statement");
  pk_str(&pk, "I will write a clear claim.");
  pk_str(&pk, "scale");
  pk_str(&pk, "0-4");
  pk_str(&pk, "baseline");
  msgpack_pack_double(&pk, 1.5);
  pk_str(&pk, "target");
  msgpack_pack_double(&pk, 3);
  pk_str(&pk, "start");
  pk_str(&pk, "2026-11-02");
  pk_str(&pk, "end");
  pk_str(&pk, "2026-12-14");
  assert_int_equal(call(c, &b, &r), 0);
  id = cairn_reply_get(r, "id");
  assert_non_null(id);
  assert_true(id->type == MSGPACK_OBJECT_STR && id->via.str.size < len);
  memcpy(mid, id->via.str.ptr, id->via.str.size);
  mid[id->via.str.size] = '\0';
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&b);
}

/* Puts one evidence value; returns the call's code and the new id. */
static int add_evidence(cairn_client *c, const char *mid, double value, char *id_out) {
  msgpack_sbuffer b;
  msgpack_packer pk;
  cairn_reply *r = NULL;
  int rc;

  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 3);
  pk_str(&pk, "op");
  pk_str(&pk, "put");
  pk_str(&pk, "type");
  pk_str(&pk, "evidence");
  pk_str(&pk, "set");
  msgpack_pack_map(&pk, 3);
  pk_str(&pk, "milestone");
  pk_str(&pk, mid);
  pk_str(&pk, "observed");
  pk_str(&pk, "2026-11-09");
  pk_str(&pk, "value");
  msgpack_pack_double(&pk, value);
  rc = call(c, &b, &r);
  if (rc == 0 && id_out) {
    const msgpack_object *id = cairn_reply_get(r, "id");
    memcpy(id_out, id->via.str.ptr, id->via.str.size);
    id_out[id->via.str.size] = '\0';
  }
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&b);
  return rc;
}

/* ---- raw socket helpers ---- */

static int raw_connect(const node *n) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);

  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", n->sock);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* Returns 1 when the daemon closed fd within 5 s (EOF), 0 otherwise. */
static int closed_by_peer(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char buf[256];

  while (poll(&p, 1, 5000) == 1) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      return 1;
  }
  return 0;
}

/* ---- tests ---- */

static void test_oversized_frame_closes_only_that_connection(void **state) {
  node *n = *state;
  int bad = raw_connect(n);
  uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xff};

  assert_int_equal(ping(n), 0);
  assert_int_equal(write(bad, hdr, sizeof hdr), 4);
  assert_true(closed_by_peer(bad));
  close(bad);
  assert_int_equal(ping(n), 0);
}

static void test_zero_length_frame_closes(void **state) {
  node *n = *state;
  int bad = raw_connect(n);
  uint8_t hdr[4] = {0, 0, 0, 0};

  assert_int_equal(write(bad, hdr, sizeof hdr), 4);
  assert_true(closed_by_peer(bad));
  close(bad);
  assert_int_equal(ping(n), 0);
}

static void test_malformed_payload_closes(void **state) {
  node *n = *state;
  /* a valid frame around bytes that are not one msgpack map */
  static const uint8_t frames[][7] = {
      {0, 0, 0, 1, 0xc1},             /* reserved byte */
      {0, 0, 0, 1, 0x05},             /* an integer, not a map */
      {0, 0, 0, 3, 0x81, 0xa2, 'o'},  /* truncated map */
  };
  static const size_t lens[] = {5, 5, 7};
  size_t i;

  for (i = 0; i < 3; i++) {
    int bad = raw_connect(n);
    assert_int_equal(write(bad, frames[i], lens[i]), (ssize_t)lens[i]);
    assert_true(closed_by_peer(bad));
    close(bad);
  }
  assert_int_equal(ping(n), 0);
}

static void test_slow_client_does_not_stall_others(void **state) {
  node *n = *state;
  int idle = raw_connect(n);
  uint8_t half[2] = {0, 0}; /* half a header, then nothing */

  assert_int_equal(write(idle, half, 2), 2);
  assert_int_equal(ping(n), 0);
  assert_int_equal(ping(n), 0);
  close(idle);
}

static void test_unknown_op_gets_error_and_connection_stays(void **state) {
  node *n = *state;
  cairn_client *c;
  cairn_reply *r = NULL;
  msgpack_sbuffer b;
  msgpack_packer pk;

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pk_str(&pk, "op");
  pk_str(&pk, "frobnicate");
  assert_int_equal(call(c, &b, &r), CAIRN_EINVAL);
  assert_non_null(strstr(cairn_reply_message(r), "frobnicate"));
  cairn_reply_free(r);
  msgpack_pack_map(&pk, 1);
  pk_str(&pk, "op");
  pk_str(&pk, "ping");
  assert_int_equal(call(c, &b, &r), 0);
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&b);
  cairn_client_close(c);
}

static void test_refused_write_names_field(void **state) {
  node *n = *state;
  cairn_client *c;
  char mid[80];

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  make_milestone(c, mid, sizeof mid);
  assert_int_equal(add_evidence(c, mid, 9, NULL), CAIRN_ERANGE);
  assert_int_equal(add_evidence(c, "0000abcd-99", 2, NULL), CAIRN_ENOTFOUND);
  assert_int_equal(add_evidence(c, mid, 2, NULL), 0);
  cairn_client_close(c);
}

static void test_sigterm_stops_cleanly(void **state) {
  node *n = *state;
  struct stat st;

  assert_int_equal(ping(n), 0);
  assert_int_equal(stop_daemon(n, SIGTERM), 0);
  assert_int_not_equal(stat(n->sock, &st), 0); /* socket removed */
  start_daemon(n);
  assert_int_equal(ping(n), 0);
}

static void test_second_daemon_refused(void **state) {
  node *n = *state;
  char *argv[] = {CAIRND_PATH, "--data", n->dir, NULL};
  char out[160], text[1024];

  snprintf(out, sizeof out, "%s.second", n->dir);
  assert_int_equal(run(argv, out), 1);
  slurp(out, text, sizeof text);
  unlink(out);
  assert_non_null(strstr(text, "in use by another cairnd"));
  assert_int_equal(ping(n), 0);
}

static void test_missing_data_dir(void **state) {
  node *n = *state;
  char missing[96], out[160], text[1024];
  char *argv[] = {CAIRND_PATH, "--data", missing, NULL};

  snprintf(missing, sizeof missing, "%s-missing", n->dir);
  snprintf(out, sizeof out, "%s.missing", n->dir);
  assert_int_equal(run(argv, out), 1);
  slurp(out, text, sizeof text);
  unlink(out);
  assert_non_null(strstr(text, missing));
  assert_non_null(strstr(text, "cairn init"));
}

/* Every write acknowledged before kill -9 is there after restart. */
static void test_kill9_keeps_acknowledged_writes(void **state) {
  node *n = *state;
  enum { N = 300 };
  static char ids[N][80];
  cairn_client *c;
  cairn_reply *r = NULL;
  msgpack_sbuffer b;
  msgpack_packer pk;
  char mid[80];
  int i;

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  make_milestone(c, mid, sizeof mid);
  for (i = 0; i < N; i++)
    assert_int_equal(add_evidence(c, mid, (i % 5) * 0.5 + 1, ids[i]), 0);
  cairn_client_close(c);
  assert_int_equal(stop_daemon(n, SIGKILL), -SIGKILL);

  start_daemon(n);
  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  for (i = 0; i < N; i++) {
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "op");
    pk_str(&pk, "show");
    pk_str(&pk, "id");
    pk_str(&pk, ids[i]);
    assert_int_equal(call(c, &b, &r), 0);
    cairn_reply_free(r);
  }
  msgpack_sbuffer_destroy(&b);
  cairn_client_close(c);
}

/* Pipelined requests: replies come back in request order, a quick reply
 * never overtakes a write still committing, and every write is acked. */
static void test_pipelined_requests_answered_in_order(void **state) {
  node *n = *state;
  enum { N = 600 };
  cairn_client *c;
  cairn_reply *r = NULL;
  msgpack_sbuffer b;
  msgpack_packer pk;
  char mid[80], prev[80] = "";
  int i;

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  make_milestone(c, mid, sizeof mid);
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  for (i = 0; i < N; i++) {
    if (i % 3 == 2) { /* a read between writes */
      msgpack_pack_map(&pk, 1);
      pk_str(&pk, "op");
      pk_str(&pk, "ping");
    } else {
      msgpack_pack_map(&pk, 3);
      pk_str(&pk, "op");
      pk_str(&pk, "put");
      pk_str(&pk, "type");
      pk_str(&pk, "evidence");
      pk_str(&pk, "set");
      msgpack_pack_map(&pk, 3);
      pk_str(&pk, "milestone");
      pk_str(&pk, mid);
      pk_str(&pk, "observed");
      pk_str(&pk, "2026-11-09");
      pk_str(&pk, "value");
      msgpack_pack_double(&pk, 2);
    }
    assert_int_equal(cairn_client_send(c, b.data, b.size, 10000), 0);
    msgpack_sbuffer_clear(&b);
    if (i >= 200) { /* stay within the pipeline limit */
      assert_int_equal(cairn_client_recv(c, 10000, &r), 0);
      cairn_reply_free(r);
    }
  }
  for (i = 0; i < 200; i++) {
    const msgpack_object *id, *version;
    assert_int_equal(cairn_client_recv(c, 10000, &r), 0);
    id = cairn_reply_get(r, "id");
    version = cairn_reply_get(r, "version");
    /* request N-200+i: a ping every third, the rest puts */
    if ((N - 200 + i) % 3 == 2) {
      assert_non_null(version);
      assert_null(id);
    } else {
      char now[80];
      assert_non_null(id);
      snprintf(now, sizeof now, "%.*s", (int)id->via.str.size, id->via.str.ptr);
      /* generated ids grow with the log: order is preserved */
      if (prev[0])
        assert_true(strtoull(strchr(now, '-') + 1, NULL, 10) >
                    strtoull(strchr(prev, '-') + 1, NULL, 10));
      memcpy(prev, now, sizeof prev);
    }
    cairn_reply_free(r);
  }
  msgpack_sbuffer_destroy(&b);
  cairn_client_close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_oversized_frame_closes_only_that_connection, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_zero_length_frame_closes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_payload_closes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_slow_client_does_not_stall_others, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_op_gets_error_and_connection_stays, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused_write_names_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigterm_stops_cleanly, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_daemon_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_data_dir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kill9_keeps_acknowledged_writes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pipelined_requests_answered_in_order, setup, teardown),
  };
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
