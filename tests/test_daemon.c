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
#include <math.h>
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
  pid_t proxy; /* a helper process the test started, killed at teardown */
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
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int i;

  /* until it accepts a connection, not only until its file exists: bind
   * makes the file just before listen, and a test that connected in
   * between (slow, under ThreadSanitizer) was refused */
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  for (i = 0; i < 400; i++) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      close(fd);
      return 0;
    }
    if (fd >= 0)
      close(fd);
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
  /* No web page: a classroom's default port is one for the machine, and
   * another test's cairnd running beside this one may hold it; cairnd then
   * stopped just after its socket had answered the first connect. */
  char cmd[256];
  snprintf(cmd, sizeof cmd, "sed -i 's/^web =.*/web = off/' '%s/cairn.conf'", n->dir);
  assert_int_equal(system(cmd), 0);
  start_daemon(n);
  *state = n;
  return 0;
}

static int teardown(void **state) {
  node *n = *state;
  char cmd[256];

  if (n->pid > 0)
    stop_daemon(n, SIGKILL);
  if (n->proxy > 0) {
    kill(n->proxy, SIGKILL);
    waitpid(n->proxy, NULL, 0);
  }
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

/* Packs the put of a 0-4 milestone of student s1. */
static void pack_milestone_put(msgpack_packer *pk) {
  msgpack_pack_map(pk, 3);
  pk_str(pk, "op");
  pk_str(pk, "put");
  pk_str(pk, "type");
  pk_str(pk, "milestone");
  pk_str(pk, "set");
  msgpack_pack_map(pk, 8);
  pk_str(pk, "student");
  pk_str(pk, "s1");
  pk_str(pk, "type");
  pk_str(pk, "academic");
  pk_str(pk, "statement");
  pk_str(pk, "I will write a clear claim.");
  pk_str(pk, "scale");
  pk_str(pk, "0-4");
  pk_str(pk, "baseline");
  msgpack_pack_double(pk, 1.5);
  pk_str(pk, "target");
  msgpack_pack_double(pk, 3);
  pk_str(pk, "start");
  pk_str(pk, "2026-11-02");
  pk_str(pk, "end");
  pk_str(pk, "2026-12-14");
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

  pack_milestone_put(&pk);
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

/* Connects to the node's socket, trying again for up to 5 s while its
 * backlog is full (EAGAIN: a slow daemon, as under ThreadSanitizer, has
 * not accepted the connections of the test before yet). */
static int raw_connect(const node *n) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd, rc, tries = 0;

  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", n->sock);
  do {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc != 0) {
      int e = errno;
      close(fd);
      if (e != EAGAIN || ++tries > 500)
        fail_msg("connect %s: %s", n->sock, strerror(e));
      usleep(10000);
    }
  } while (rc != 0);
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
      /* generated ids grow with the log: order is preserved (the seq follows
       * the last -: a key id's base64url may hold - too) */
      if (prev[0])
        assert_true(strtoull(strrchr(now, '-') + 1, NULL, 10) >
                    strtoull(strrchr(prev, '-') + 1, NULL, 10));
      memcpy(prev, now, sizeof prev);
    }
    cairn_reply_free(r);
  }
  msgpack_sbuffer_destroy(&b);
  cairn_client_close(c);
}

/* ---- hostile requests (issue 4): each gets an error naming the problem,
 * the connection keeps working, and nothing is written ---- */

/* Every record, as the export pages give them: what "nothing was written"
 * compares. */
static void export_all(cairn_client *c, msgpack_sbuffer *out) {
  msgpack_sbuffer b;
  msgpack_packer pk, opk;
  cairn_reply *r = NULL, *prev = NULL;
  const msgpack_object *next = NULL;

  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_packer_init(&opk, out, msgpack_sbuffer_write);
  msgpack_sbuffer_clear(out);
  do {
    msgpack_pack_map(&pk, next ? 2 : 1);
    pk_str(&pk, "op");
    pk_str(&pk, "export");
    if (next) {
      pk_str(&pk, "after");
      msgpack_pack_object(&pk, *next);
    }
    assert_int_equal(call(c, &b, &r), 0);
    msgpack_pack_object(&opk, *cairn_reply_get(r, "records"));
    cairn_reply_free(prev);
    prev = r;
    next = cairn_reply_get(r, "next");
    assert_non_null(next);
    if (next->type != MSGPACK_OBJECT_BIN)
      next = NULL;
  } while (next);
  cairn_reply_free(prev);
  msgpack_sbuffer_destroy(&b);
}

/* Sends req (then clears it). The reply must be an error with code whose
 * message contains what; then a ping on the same connection answers, and
 * the export still equals before. */
static void expect_refused(cairn_client *c, msgpack_sbuffer *req, int code, const char *what,
                           const msgpack_sbuffer *before, const char *label) {
  cairn_reply *r = NULL;
  msgpack_sbuffer after;
  msgpack_packer pk;
  int rc = call(c, req, &r);
  const char *msg = r ? cairn_reply_message(r) : NULL;

  if (rc != code || msg == NULL || strstr(msg, what) == NULL) {
    print_error("%s: expected %s naming '%s', got %s: %s\n", label, cairn_err_name(code), what,
                cairn_err_name(rc), msg ? msg : "(no reply)");
    fail();
  }
  cairn_reply_free(r);
  msgpack_packer_init(&pk, req, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pk_str(&pk, "op");
  pk_str(&pk, "ping");
  assert_int_equal(call(c, req, &r), 0);
  cairn_reply_free(r);
  msgpack_sbuffer_init(&after);
  export_all(c, &after);
  if (after.size != before->size || memcmp(after.data, before->data, after.size) != 0) {
    print_error("%s: something was written\n", label);
    fail();
  }
  msgpack_sbuffer_destroy(&after);
}

/* Sends bytes as one raw frame (header says len): cairnd must close that
 * connection; then a new one answers and the export still equals before. */
static void expect_closed(const node *n, const void *payload, uint32_t len,
                          const msgpack_sbuffer *before, const char *label) {
  uint8_t hdr[CAIRN_FRAME_HEADER];
  msgpack_sbuffer after;
  cairn_client *c;
  int fd = raw_connect(n);

  cairn_frame_header(hdr, len);
  assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
  (void)!write(fd, payload, len); /* may stop early: cairnd hangs up */
  if (!closed_by_peer(fd)) {
    print_error("%s: the connection stayed open\n", label);
    fail();
  }
  close(fd);
  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  msgpack_sbuffer_init(&after);
  export_all(c, &after);
  assert_true(after.size == before->size && memcmp(after.data, before->data, after.size) == 0);
  msgpack_sbuffer_destroy(&after);
  cairn_client_close(c);
}

/* One field of a put's set: a string, or (str NULL) a number. */
typedef struct {
  const char *key, *str;
  double num;
} field;

/* Packs {op: put, type, [id,] set: base} into b, with key set to the one
 * packed value in val (replacing base's key when it has one, else added);
 * key NULL: base alone. A student (which needs an id) gets id "s2". */
static void put_with(msgpack_sbuffer *b, const char *type, const field *base, const char *key,
                     const msgpack_sbuffer *val) {
  int student = strcmp(type, "student") == 0;
  msgpack_packer pk;
  size_t n = key ? 1 : 0, i;

  msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
  for (i = 0; base[i].key; i++)
    n += !key || strcmp(base[i].key, key) != 0;
  msgpack_pack_map(&pk, 3 + student);
  pk_str(&pk, "op");
  pk_str(&pk, "put");
  pk_str(&pk, "type");
  pk_str(&pk, type);
  if (student) {
    pk_str(&pk, "id");
    pk_str(&pk, "s2");
  }
  pk_str(&pk, "set");
  msgpack_pack_map(&pk, n);
  for (i = 0; base[i].key; i++) {
    if (key && strcmp(base[i].key, key) == 0)
      continue;
    pk_str(&pk, base[i].key);
    if (base[i].str)
      pk_str(&pk, base[i].str);
    else
      msgpack_pack_double(&pk, base[i].num);
  }
  if (key) {
    pk_str(&pk, key);
    msgpack_sbuffer_write(b, val->data, val->size);
  }
}

/* A hostile-input test's state: a daemon with student s1, milestone mid
 * and one evidence, a connection, the export to compare against, and the
 * valid fields of a new evidence, milestone and student. */
typedef struct {
  cairn_client *c;
  char mid[80];
  msgpack_sbuffer before, req, val;
  msgpack_packer vpk; /* over val */
  field evidence[4], milestone[9], student[2];
} hostile;

static void hostile_start(const node *n, hostile *h) {
  const field ev[] = {{"milestone", h->mid, 0}, {"observed", "2026-11-09", 0},
                      {"value", NULL, 2}, {NULL, NULL, 0}};
  const field ms[] = {{"student", "s1", 0},       {"type", "academic", 0},
                      {"statement", "Reads.", 0}, {"scale", "0-4", 0},
                      {"baseline", NULL, 1},      {"target", NULL, 3},
                      {"start", "2026-11-02", 0}, {"end", "2026-12-14", 0},
                      {NULL, NULL, 0}};
  const field st[] = {{"name", "Ana", 0}, {NULL, NULL, 0}};
  cairn_reply *r = NULL;

  assert_int_equal(cairn_client_open(&h->c, n->dir), 0);
  make_milestone(h->c, h->mid, sizeof h->mid);
  memcpy(h->evidence, ev, sizeof ev);
  memcpy(h->milestone, ms, sizeof ms);
  memcpy(h->student, st, sizeof st);
  msgpack_sbuffer_init(&h->before);
  msgpack_sbuffer_init(&h->req);
  msgpack_sbuffer_init(&h->val);
  msgpack_packer_init(&h->vpk, &h->val, msgpack_sbuffer_write);
  /* the base fields go through: each case below fails for its one reason */
  put_with(&h->req, "evidence", h->evidence, NULL, NULL);
  assert_int_equal(call(h->c, &h->req, &r), 0);
  cairn_reply_free(r);
  export_all(h->c, &h->before);
}

static void hostile_end(hostile *h) {
  msgpack_sbuffer_destroy(&h->before);
  msgpack_sbuffer_destroy(&h->req);
  msgpack_sbuffer_destroy(&h->val);
  cairn_client_close(h->c);
}

/* Puts a new record of type (evidence, milestone or student) with key set
 * to the one msgpack value in h->val; expects the refusal. */
static void refuse_field(hostile *h, const char *type, const char *key, int code,
                         const char *what, const char *label) {
  const field *base = strcmp(type, "evidence") == 0    ? h->evidence
                      : strcmp(type, "milestone") == 0 ? h->milestone
                                                       : h->student;

  put_with(&h->req, type, base, key, &h->val);
  msgpack_sbuffer_clear(&h->val);
  expect_refused(h->c, &h->req, code, what, &h->before, label);
}

/* A field's value, as msgpack bytes written by hand, and its refusal. */
typedef struct {
  const char *type, *key, *value;
  size_t len;
  int code;
  const char *what;
} bad_field;
#define BAD_FIELD(type, key, lit, code, what)                                                \
  {(type), (key), (lit), sizeof(lit) - 1, (code), (what)}

static void refuse_fields(hostile *h, const bad_field *bad, size_t n) {
  for (size_t i = 0; i < n; i++) {
    msgpack_sbuffer_write(&h->val, bad[i].value, bad[i].len);
    refuse_field(h, bad[i].type, bad[i].key, bad[i].code, bad[i].what, bad[i].what);
  }
}

/* A whole request, msgpack bytes written by hand, and its refusal. */
typedef struct {
  const char *bytes;
  size_t len;
  int code;
  const char *what;
} bad_request;
#define BAD_REQUEST(lit, code, what) {(lit), sizeof(lit) - 1, (code), (what)}

static void refuse_requests(hostile *h, const bad_request *bad, size_t n) {
  for (size_t i = 0; i < n; i++) {
    msgpack_sbuffer_write(&h->req, bad[i].bytes, bad[i].len);
    expect_refused(h->c, &h->req, bad[i].code, bad[i].what, &h->before, bad[i].what);
  }
}

/* The request prefix || a string of len bytes of 'x' || suffix, each
 * side msgpack written by hand; expects the refusal. */
static void refuse_big_arg(hostile *h, const char *prefix, size_t len, const char *suffix,
                           int code, const char *what) {
  char *big = malloc(len);
  msgpack_packer pk;

  memset(big, 'x', len);
  msgpack_packer_init(&pk, &h->req, msgpack_sbuffer_write);
  msgpack_sbuffer_write(&h->req, prefix, strlen(prefix));
  msgpack_pack_str_with_body(&pk, big, len);
  msgpack_sbuffer_write(&h->req, suffix, strlen(suffix));
  free(big);
  expect_refused(h->c, &h->req, code, what, &h->before, what);
}

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_hostile_numbers(void **state) {
  static const bad_field bad[] = {
      BAD_FIELD("evidence", "value", "\xcb\x7f\xf8\0\0\0\0\0\0", CAIRN_ERANGE,
                "value: not a finite number"), /* NaN */
      BAD_FIELD("evidence", "value", "\xcb\x7f\xf0\0\0\0\0\0\0", CAIRN_ERANGE,
                "value: not a finite number"), /* +inf */
      BAD_FIELD("evidence", "value", "\xcb\xff\xf0\0\0\0\0\0\0", CAIRN_ERANGE,
                "value: not a finite number"), /* -inf */
      BAD_FIELD("evidence", "value", "\xca\x7f\xc0\0\0", CAIRN_ERANGE,
                "value: not a finite number"), /* float32 NaN */
      BAD_FIELD("evidence", "value", "\xca\xff\x80\0\0", CAIRN_ERANGE,
                "value: not a finite number"), /* float32 -inf */
      BAD_FIELD("evidence", "value", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", CAIRN_ERANGE,
                "value: the scale is 0-4: a number from 0 to 4, not 1.84467e+19"), /* 2^64 - 1 */
      BAD_FIELD("evidence", "value", "\xcb\xff\xef\xff\xff\xff\xff\xff\xff", CAIRN_ERANGE,
                "value: the scale is 0-4: a number from 0 to 4, not -1.79769e+308"), /* -DBL_MAX */
      BAD_FIELD("evidence", "value", "\xa1" "3", CAIRN_EINVAL, "value: must be a number"),
      BAD_FIELD("evidence", "value", "\xc0", CAIRN_EINVAL, "value: must be a number"),
      BAD_FIELD("milestone", "baseline", "\xcb\x7f\xf8\0\0\0\0\0\0", CAIRN_ERANGE,
                "baseline: not a finite number"),
      BAD_FIELD("milestone", "target", "\xcb\x7f\xf0\0\0\0\0\0\0", CAIRN_ERANGE,
                "target: not a finite number"),
      BAD_FIELD("milestone", "developing_at", "\xcb\x7f\xf8\0\0\0\0\0\0", CAIRN_ERANGE,
                "developing_at: not a finite number"),
      BAD_FIELD("milestone", "exceed_margin", "\xcb\xff\xf0\0\0\0\0\0\0", CAIRN_ERANGE,
                "exceed_margin: not a finite number"),
      BAD_FIELD("milestone", "wrong_side_n", "\xfb", CAIRN_ERANGE,
                "wrong_side_n: must be a whole number from 1 to 1000"), /* -5 */
  };
  hostile h;

  hostile_start(*state, &h);
  refuse_fields(&h, bad, LEN(bad));
  hostile_end(&h);
}

static void test_hostile_sizes(void **state) {
  enum { MIB = 1024 * 1024 };
  node *n = *state;
  char *big = malloc(MIB);
  msgpack_sbuffer note;
  msgpack_packer npk;
  hostile h;

  memset(big, 'x', MIB);
  hostile_start(n, &h);
  msgpack_pack_str_with_body(&h.vpk, big, 100 * 1024);
  refuse_field(&h, "evidence", "note", CAIRN_ETOOBIG, "note: longer than 2000 bytes", "100 KB");
  msgpack_pack_str_with_body(&h.vpk, big, MIB - 200); /* the most one frame holds */
  refuse_field(&h, "evidence", "note", CAIRN_ETOOBIG, "note: longer than 2000 bytes", "1 MiB");
  msgpack_pack_str_with_body(&h.vpk, big, 100 * 1024);
  refuse_field(&h, "student", "name", CAIRN_ETOOBIG, "name: longer than 200 bytes", "name");
  msgpack_pack_array(&h.vpk, 1);
  msgpack_pack_str_with_body(&h.vpk, big, 600 * 1024);
  refuse_field(&h, "milestone", "if_then", CAIRN_ETOOBIG, "if_then item 1: longer than",
               "if/then");
  msgpack_pack_array(&h.vpk, 5000);
  for (int i = 0; i < 5000; i++)
    msgpack_pack_str_with_body(&h.vpk, "x", 1);
  refuse_field(&h, "milestone", "checks", CAIRN_ETOOBIG, "checks: more than 64 items",
               "5000 checks");
  /* the request's own arguments */
  refuse_big_arg(&h, "\x84\xa2op\xa3put\xa4type", 200 * 1024, "\xa2id\xa2s1\xa3set\x80",
                 CAIRN_ETOOBIG, "type: longer than 31 bytes");
  refuse_big_arg(&h, "\x86\xa2op\xa3put\xa4type\xa7student\xa2id\xa2s1\xa4" "edit\xc3\xa3why",
                 500 * 1024, "\xa3set\x81\xa5grade\xa1" "6", CAIRN_ETOOBIG,
                 "reason: longer than 1000 bytes");
  refuse_big_arg(&h, "\x82\xa2op\xa4show\xa2id", 300 * 1024, "", CAIRN_ETOOBIG,
                 "id: longer than 64 bytes");
  /* a note of 1 MiB makes a frame over the 1 MiB maximum: that connection
   * closes, before cairnd reads (or allocates for) its payload */
  msgpack_sbuffer_init(&note);
  msgpack_packer_init(&npk, &note, msgpack_sbuffer_write);
  msgpack_pack_str_with_body(&npk, big, MIB);
  put_with(&h.req, "evidence", h.evidence, "note", &note);
  msgpack_sbuffer_destroy(&note);
  assert_true(h.req.size > CAIRN_FRAME_MAX);
  expect_closed(n, h.req.data, (uint32_t)h.req.size, &h.before, "frame over 1 MiB");
  msgpack_sbuffer_clear(&h.req);
  hostile_end(&h);
  free(big);
}

static void test_hostile_text(void **state) {
  static const struct {
    const char *bytes;
    size_t len;
  } bad[] = {
      {"bad \xff\xfe bytes", 11},    {"over\xc0\xaflong", 10}, /* overlong '/' */
      {"\xed\xa0\x80 surrogate", 13}, {"cut \xe2\x82", 6},     /* truncated sequence */
      {"\xf4\x90\x80\x80", 4},        {"nul\0inside", 10},      /* above U+10FFFF; NUL */
  };
  static const bad_request names[] = {
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa8" "evidence\xa3set\x81\xa6val\xffue\xa1x",
                  CAIRN_EINVAL, "unknown field 'val?ue' for evidence"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa9" "evid\xc3\x28nce\xa3set\x80", CAIRN_EUTF8,
                  "type: invalid UTF-8"),
      BAD_REQUEST("\x82\xa2op\xa4show\xa2id\xa4s\xff\xfe" "1", CAIRN_EUTF8, "id: invalid UTF-8"),
      BAD_REQUEST("\x82\xa2op\xa6status\xa7student\xa2\xc3\x28", CAIRN_EUTF8,
                  "student: invalid UTF-8"),
      BAD_REQUEST("\x81\xa2op\xa6pi\xffng\x80", CAIRN_EUTF8, "op: invalid UTF-8"),
      BAD_REQUEST("\x81\xa2op\xa9ping\0junk", CAIRN_EUTF8, "op: invalid UTF-8"),
  };
  hostile h;

  hostile_start(*state, &h);
  for (size_t i = 0; i < LEN(bad); i++) {
    msgpack_pack_str_with_body(&h.vpk, bad[i].bytes, bad[i].len);
    refuse_field(&h, "evidence", "note", CAIRN_EUTF8, "note: invalid UTF-8", bad[i].bytes);
    msgpack_pack_str_with_body(&h.vpk, bad[i].bytes, bad[i].len);
    refuse_field(&h, "student", "name", CAIRN_EUTF8, "name: invalid UTF-8", bad[i].bytes);
    msgpack_pack_array(&h.vpk, 2);
    msgpack_pack_str_with_body(&h.vpk, "fine", 4);
    msgpack_pack_str_with_body(&h.vpk, bad[i].bytes, bad[i].len);
    refuse_field(&h, "student", "accommodations", CAIRN_EUTF8,
                 "accommodations item 2: invalid UTF-8", bad[i].bytes);
  }
  refuse_requests(&h, names, LEN(names));
  hostile_end(&h);
}

static void test_hostile_dates(void **state) {
  static const char *const unreal[] = {"2026-02-30", "2026-13-01", "0000-00-00", "2025-02-29",
                                       "2026-04-31", "2026-00-10", "9999-12-32"};
  static const char *const shapeless[] = {"2026-1-5",      "26-11-09", "2026/11/09",
                                          "2026-11-09T00", "",         "yesterday"};
  static const bad_field bad[] = {
      BAD_FIELD("evidence", "observed", "\xce\x01\x35\x2a\x35", CAIRN_EINVAL,
                "observed: must be a date YYYY-MM-DD"), /* 20261109 */
      BAD_FIELD("milestone", "checks", "\x91\xaa" "2026-11-31", CAIRN_EDATE,
                "checks item 1: 2026-11-31 is not a real date"),
      BAD_FIELD("milestone", "end", "\xaa" "2026-10-01", CAIRN_EDATE, "end: before start"),
      BAD_FIELD("evidence", "observed", "\xaa" "1899-12-31", CAIRN_EDATE,
                "observed: 1899-12-31: the year must be from 1900 to 9999"),
      BAD_FIELD("milestone", "start", "\xaa" "1800-01-01", CAIRN_EDATE,
                "start: 1800-01-01: the year must be from 1900 to 9999"),
      /* implausible: the milestone runs from 2026-11-02 to 12-14 */
      BAD_FIELD("evidence", "observed", "\xaa" "2099-05-05", CAIRN_EDATE,
                "observed: 2099-05-05 is after tomorrow"),
      BAD_FIELD("evidence", "observed", "\xaa" "9999-12-31", CAIRN_EDATE,
                "observed: 9999-12-31 is after tomorrow"),
      BAD_FIELD("evidence", "observed", "\xaa" "1999-01-01", CAIRN_EDATE,
                "observed: 1999-01-01 is more than"),
      BAD_FIELD("evidence", "observed", "\xaa" "2026-09-20", CAIRN_EDATE,
                "observed: 2026-09-20 is more than"),
  };
  hostile h;
  char what[64];
  msgpack_packer pk;

  hostile_start(*state, &h);
  msgpack_packer_init(&pk, &h.req, msgpack_sbuffer_write);
  for (size_t i = 0; i < LEN(unreal); i++) {
    snprintf(what, sizeof what, "observed: %s is not a real date", unreal[i]);
    msgpack_pack_str_with_body(&h.vpk, unreal[i], 10);
    refuse_field(&h, "evidence", "observed", CAIRN_EDATE, what, unreal[i]);
    snprintf(what, sizeof what, "start: %s is not a real date", unreal[i]);
    msgpack_pack_str_with_body(&h.vpk, unreal[i], 10);
    refuse_field(&h, "milestone", "start", CAIRN_EDATE, what, unreal[i]);
    snprintf(what, sizeof what, "today: %s is not a real date", unreal[i]);
    msgpack_pack_map(&pk, 2);
    pk_str(&pk, "op");
    pk_str(&pk, "status");
    pk_str(&pk, "today");
    pk_str(&pk, unreal[i]);
    expect_refused(h.c, &h.req, CAIRN_EDATE, what, &h.before, unreal[i]);
  }
  for (size_t i = 0; i < LEN(shapeless); i++) {
    msgpack_pack_str_with_body(&h.vpk, shapeless[i], strlen(shapeless[i]));
    refuse_field(&h, "evidence", "observed", CAIRN_EDATE, "observed: must be a date YYYY-MM-DD",
                 shapeless[i]);
  }
  refuse_fields(&h, bad, LEN(bad));
  hostile_end(&h);
}

/* No control character enters (FORMAT.md 3.3): terminal escapes, OSC 8
 * links, a bell, C1 controls, in a field or a request argument. */
static void test_hostile_control_characters(void **state) {
  static const bad_field fields[] = {
      BAD_FIELD("student", "name", "\xa7" "Ana\x1b[2J", CAIRN_EINVAL,
                "name: contains a control character (U+001B)"),
      BAD_FIELD("evidence", "note", "\xd9\x24\x1b]8;;http://evil.example\x07" "click\x1b]8;;\x07",
                CAIRN_EINVAL, "note: contains a control character (U+001B)"),
      BAD_FIELD("evidence", "note", "\xa5" "bell\x07", CAIRN_EINVAL,
                "note: contains a control character (U+0007)"),
      BAD_FIELD("evidence", "note", "\xa5" "csi\xc2\x9b", CAIRN_EINVAL,
                "note: contains a control character (U+009B)"),
      BAD_FIELD("evidence", "by", "\xa3" "a\nb", CAIRN_EINVAL, "by: must be one line"),
      BAD_FIELD("milestone", "statement", "\xa4" "a\rb\x7f", CAIRN_EINVAL,
                "statement: contains a control character (U+000D)"),
      BAD_FIELD("milestone", "if_then", "\x91\xa3\x1b[m", CAIRN_EINVAL,
                "if_then item 1: contains a control character (U+001B)"),
      BAD_FIELD("student", "classroom", "\xa4r12\x1b", CAIRN_EINVAL,
                "classroom: contains a control character (U+001B)"),
  };
  static const bad_request requests[] = {
      BAD_REQUEST("\x86\xa2op\xa3put\xa4type\xa7student\xa2id\xa2s1\xa4" "edit\xc3\xa3why"
                  "\xa5typo\x1b\xa3set\x81\xa5grade\xa1" "6",
                  CAIRN_EINVAL, "reason: contains a control character (U+001B)"),
      BAD_REQUEST("\x82\xa2op\xa6" "export\xacscope_campus\xa6north\x07", CAIRN_EINVAL,
                  "scope_campus: contains a control character (U+0007)"),
      BAD_REQUEST("\x82\xa2op\xa6status\xa5today\xaa" "2026-11-0\x1b", CAIRN_EINVAL,
                  "today: contains a control character (U+001B)"),
      BAD_REQUEST("\x82\xa2op\xa6" "enroll\xa6" "campus\xa4n\xc2\x85s", CAIRN_EINVAL,
                  "campus: contains a control character (U+0085)"),
  };
  hostile h;

  hostile_start(*state, &h);
  refuse_fields(&h, fields, LEN(fields));
  refuse_requests(&h, requests, LEN(requests));
  /* a note keeps its lines and tabs */
  msgpack_pack_str_with_body(&h.vpk, "claim clear\n\tone piece", 22);
  put_with(&h.req, "evidence", h.evidence, "note", &h.val);
  msgpack_sbuffer_clear(&h.val);
  cairn_reply *r = NULL;
  assert_int_equal(call(h.c, &h.req, &r), 0);
  cairn_reply_free(r);
  hostile_end(&h);
}

/* Ids follow the grammar wherever a request names one (FORMAT.md 3.1). */
static void test_hostile_ids(void **state) {
  static const bad_request requests[] = {
      BAD_REQUEST("\x84\xa2op\xa3put\xa4type\xa7student\xa2id\xa3-rf\xa3set\x81\xa4name\xa3"
                  "Ana",
                  CAIRN_EINVAL, "id: '-rf' is not an id"),
      BAD_REQUEST("\x84\xa2op\xa3put\xa4type\xa7student\xa2id\xa2..\xa3set\x81\xa4name\xa3"
                  "Ana",
                  CAIRN_EINVAL, "id: '..' is not an id"),
      BAD_REQUEST("\x84\xa2op\xa3put\xa4type\xa7student\xa2id\xa1.\xa3set\x81\xa4name\xa3"
                  "Ana",
                  CAIRN_EINVAL, "id: '.' is not an id"),
      BAD_REQUEST("\x82\xa2op\xa4show\xa2id\xa5../s1", CAIRN_EINVAL, "id: '../s1' is not an id"),
      BAD_REQUEST("\x82\xa2op\xa6status\xa7student\xa3-rf", CAIRN_EINVAL,
                  "student: '-rf' is not an id"),
  };
  static const bad_field fields[] = {
      BAD_FIELD("milestone", "student", "\xa2..", CAIRN_EINVAL, "student: '..' is not an id"),
      BAD_FIELD("milestone", "student", "\xa3-rf", CAIRN_EINVAL, "student: '-rf' is not an id"),
  };
  hostile h;

  hostile_start(*state, &h);
  refuse_requests(&h, requests, LEN(requests));
  refuse_fields(&h, fields, LEN(fields));
  hostile_end(&h);
}

static void test_hostile_shapes(void **state) {
  /* inside a put's set */
  static const bad_field fields[] = {
      BAD_FIELD("evidence", "colour", "\xa1x", CAIRN_EINVAL,
                "unknown field 'colour' for evidence"),
      BAD_FIELD("evidence", "statement", "\xa1x", CAIRN_EINVAL,
                "unknown field 'statement' for evidence"), /* another type's field */
      BAD_FIELD("evidence", "note", "\xc3", CAIRN_EINVAL, "note: must be a string"),
      BAD_FIELD("evidence", "retracted", "\xa3yes", CAIRN_EINVAL,
                "retracted: must be true or false"),
      BAD_FIELD("student", "accommodations", "\xa3" "ext", CAIRN_EINVAL,
                "accommodations: must be a list of strings"),
      BAD_FIELD("student", "accommodations", "\x81\xa1" "a\xa1" "b", CAIRN_EINVAL,
                "accommodations: must be a list of strings"), /* a map for a list */
      BAD_FIELD("student", "accommodations", "\x91\x07", CAIRN_EINVAL,
                "accommodations item 1: must be a string"),
      BAD_FIELD("milestone", "direction", "\xa8sideways", CAIRN_EINVAL,
                "direction: must be one of up, down"),
      BAD_FIELD("evidence", "milestone", "\x90", CAIRN_EINVAL,
                "milestone: not a milestone id"), /* an array for a reference */
      BAD_FIELD("evidence", "note",
                "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                "\x91\x01",
                CAIRN_EINVAL, "note: must be a string"), /* 20 nested arrays */
  };
  /* the request map itself */
  static const bad_request requests[] = {
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa8homework\xa3set\x80", CAIRN_EINVAL,
                  "type: unknown record type 'homework'"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa8" "Evidence\xa3set\x80", CAIRN_EINVAL,
                  "type: unknown record type 'Evidence'"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa7student\xa3set\x80", CAIRN_EINVAL,
                  "id: required to create a student"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa8" "evidence\xa3set\x92\xa5value\x02",
                  CAIRN_EINVAL, "set: must be a map"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\x03\xa3set\x80", CAIRN_EINVAL,
                  "type: must be a string"),
      BAD_REQUEST("\x84\xa2op\xa3put\xa4type\xa7student\xa2id\x91\xa2s2\xa3set\x81\xa4name"
                  "\xa3" "Ana",
                  CAIRN_EINVAL, "id: must be a string"),
      /* edit as a string: refused, not taken as false (which creates) */
      BAD_REQUEST("\x85\xa2op\xa3put\xa4type\xa7student\xa2id\xa2s2\xa4" "edit\xa5" "false"
                  "\xa3set\x81\xa4name\xa3" "Ana",
                  CAIRN_EINVAL, "edit: must be true or false"),
      /* a key given twice: which would count? */
      BAD_REQUEST("\x85\xa2op\xa3put\xa4type\xa7student\xa4type\xa8" "evidence\xa2id\xa2s2"
                  "\xa3set\x81\xa4name\xa3" "Ana",
                  CAIRN_EINVAL, "type: given twice"),
      BAD_REQUEST("\x82\xa2op\xa4ping\xa2op\xa3put", CAIRN_EINVAL, "op: given twice"),
      BAD_REQUEST("\x83\xa2op\xa3put\xa4type\xa8" "evidence\xa3set\x82\xa5value\x02\xa5value"
                  "\x03",
                  CAIRN_EINVAL, "value: set twice"),
      /* an argument the op does not take: refused, not ignored (a misspelt
       * edit would create a record) */
      BAD_REQUEST("\x85\xa2op\xa3put\xa4type\xa7student\xa2id\xa2s2\xa4" "edti\xc3\xa3set\x81"
                  "\xa4name\xa3" "Ana",
                  CAIRN_EINVAL, "put: unknown argument 'edti'"),
      BAD_REQUEST("\x82\xa2op\xa4ping\x01\x02", CAIRN_EINVAL,
                  "ping: argument names must be strings"),
      BAD_REQUEST("\x82\xa2op\xa6" "export\xa5" "after\xa6page 2", CAIRN_EINVAL,
                  "after: must be binary"),
      BAD_REQUEST("\x81\xa2op\xa4" "frob", CAIRN_EINVAL, "op: unknown operation 'frob'"),
  };
  /* what is not one msgpack map with an op closes that connection only */
  static const struct {
    const char *bytes;
    uint32_t len;
  } closes[] = {
      {"\x92\xa2op\xa4ping", 9},            /* an array for the request */
      {"\x81\xa4type\xa3" "foo", 10},       /* no op */
      {"\x81\xa2op\xa4ping\xc0", 10},       /* bytes after the map */
      {"\x81\xa2op\xcb\x7f\xf8\0\0\0\0\0\0", 13}, /* a NaN op */
  };
  node *n = *state;
  uint8_t deep[80];
  hostile h;

  hostile_start(n, &h);
  refuse_fields(&h, fields, LEN(fields));
  refuse_requests(&h, requests, LEN(requests));
  for (size_t i = 0; i < LEN(closes); i++)
    expect_closed(n, closes[i].bytes, closes[i].len, &h.before, closes[i].bytes);
  /* {"op": "put", "set": [[[...]]]}: 60 levels, past the nesting limit */
  memcpy(deep, "\x82\xa2op\xa3put\xa3set", 12);
  memset(deep + 12, 0x91, 60);
  deep[72] = 0x01;
  expect_closed(n, deep, 73, &h.before, "60 nested arrays");
  hostile_end(&h);
}


/* ---- stored text on a terminal ---- */

static int read_all(int fd, void *p, size_t n) {
  size_t got = 0;

  while (got < n) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Reads one frame (4-byte big-endian length, then the payload) from fd
 * into buf (cap bytes); returns its whole length, or -1. */
static ssize_t read_frame(int fd, uint8_t *buf, size_t cap) {
  uint32_t len;

  if (read_all(fd, buf, 4) != 0)
    return -1;
  len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
  if (len > cap - 4 || read_all(fd, buf + 4, len) != 0)
    return -1;
  return (ssize_t)len + 4;
}

/* A stand-in for data that holds control characters: a proxy on
 * dir/cairnd.sock that passes each request to the cairnd at upstream and
 * each reply back with '~' turned into ESC, '^' into BEL and the pound
 * sign (c2 a3) into the C1 control CSI (c2 9b), lengths unchanged, as if
 * the stored text held them. Returns the proxy's pid. */
static pid_t start_control_proxy(const char *dir, const char *upstream) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  pid_t pid;

  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/cairnd.sock", dir);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(lfd, 4), 0);
  pid = fork();
  if (pid != 0) {
    close(lfd);
    return pid;
  }
  for (;;) {
    static uint8_t buf[1 << 20];
    struct sockaddr_un up = {.sun_family = AF_UNIX};
    int cfd = accept(lfd, NULL, NULL), ufd = socket(AF_UNIX, SOCK_STREAM, 0);
    ssize_t n;

    snprintf(up.sun_path, sizeof up.sun_path, "%s", upstream);
    if (cfd < 0 || connect(ufd, (struct sockaddr *)&up, sizeof up) != 0)
      _exit(2);
    while ((n = read_frame(cfd, buf, sizeof buf)) > 0) {
      if (write(ufd, buf, (size_t)n) != n || (n = read_frame(ufd, buf, sizeof buf)) < 0)
        _exit(3);
      for (ssize_t i = 4; i < n; i++) {
        if (buf[i] == '~')
          buf[i] = 0x1b;
        else if (buf[i] == '^')
          buf[i] = 0x07;
        else if (buf[i] == 0xc2 && i + 1 < n && buf[i + 1] == 0xa3)
          buf[++i] = 0x9b;
      }
      if (write(cfd, buf, (size_t)n) != n)
        _exit(4);
    }
    close(cfd);
    close(ufd);
  }
}

/* Puts a record of type (id NULL: a generated one) whose set holds the
 * pairs kv (NULL-terminated); a value "#N" is the number N. The new id
 * goes to id_out (room for 72). */
static void put_raw(cairn_client *c, const char *type, const char *id, const char *const *kv,
                    char *id_out) {
  msgpack_sbuffer b;
  msgpack_packer pk;
  cairn_reply *r = NULL;
  const msgpack_object *got;
  uint32_t n = 0;

  while (kv[2 * n] != NULL)
    n++;
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, id != NULL ? 4 : 3);
  pk_str(&pk, "op");
  pk_str(&pk, "put");
  pk_str(&pk, "type");
  pk_str(&pk, type);
  if (id != NULL) {
    pk_str(&pk, "id");
    pk_str(&pk, id);
  }
  pk_str(&pk, "set");
  msgpack_pack_map(&pk, n);
  for (uint32_t i = 0; i < 2 * n; i++) {
    if (i % 2 == 1 && kv[i][0] == '#')
      msgpack_pack_double(&pk, atof(kv[i] + 1));
    else
      pk_str(&pk, kv[i]);
  }
  assert_int_equal(call(c, &b, &r), 0);
  got = cairn_reply_get(r, "id");
  assert_true(got != NULL && got->type == MSGPACK_OBJECT_STR && got->via.str.size < 72);
  snprintf(id_out, 72, "%.*s", (int)got->via.str.size, got->via.str.ptr);
  cairn_reply_free(r);
  msgpack_sbuffer_destroy(&b);
}

/* Names, statements and notes are printed by `cairn status` and `cairn
 * show` with every control character escaped: an ESC sequence, an OSC 8
 * link, a bell or a C1 control in stored text cannot reach the terminal. */
static void test_cli_escapes_stored_text(void **state) {
  static const char *const student[] = {
      "name", "Ana~[2J~]8;;http://example.invalid/~\\link~]8;;~\\ bell^ csi\xc2\xa3" "31m",
      NULL};
  static const char *const milestone[] = {
      "student", "esc-1", "type", "academic", "statement", "I will~[31m stop^ here\xc2\xa3",
      "scale", "0-4", "baseline", "#1.5", "target", "#3", "start", "2026-11-02",
      "end", "2026-12-14", "support", "stems~[5m", NULL};
  node *n = *state;
  char proxy[80], out[96], text[16384], mid[72];
  cairn_client *c;

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  put_raw(c, "student", "esc-1", student, mid);
  put_raw(c, "milestone", NULL, milestone, mid);
  cairn_client_close(c);

  snprintf(proxy, sizeof proxy, "%s/proxy", n->dir); /* removed with n->dir */
  assert_int_equal(mkdir(proxy, 0700), 0);
  n->proxy = start_control_proxy(proxy, n->sock);
  snprintf(out, sizeof out, "%s/out", proxy);
  {
    char *status[] = {CAIRN_PATH, "--data", proxy, "status", NULL};
    char *json[] = {CAIRN_PATH, "--data", proxy, "status", "--json", NULL};
    char *show_student[] = {CAIRN_PATH, "--data", proxy, "show", "esc-1", NULL};
    char *show_milestone[] = {CAIRN_PATH, "--data", proxy, "show", mid, NULL};
    char **runs[] = {status, json, show_student, show_milestone};

    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
      assert_int_equal(run(runs[i], out), 0);
      slurp(out, text, sizeof text);
      print_message("%s\n", text);
      assert_non_null(strstr(text, "Ana") != NULL ? text : strstr(text, "I will"));
      assert_null(strchr(text, 0x1b));
      assert_null(strchr(text, 0x07));
      assert_null(strstr(text, "\xc2\x9b"));
    }
  }
}

/* A status that would not fit one frame is refused with a line saying
 * what to do; the connection stays. */
static void test_status_too_big_for_one_frame(void **state) {
  enum { N = 2000 }; /* about 650 bytes each in the reply: over 1 MiB */
  node *n = *state;
  cairn_client *c;
  cairn_reply *r = NULL;
  msgpack_sbuffer b;
  msgpack_packer pk;
  char mid[80];
  int i, rc;

  assert_int_equal(cairn_client_open(&c, n->dir), 0);
  make_milestone(c, mid, sizeof mid); /* student s1 */
  msgpack_sbuffer_init(&b);
  msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
  for (i = 0; i < N; i++) { /* N milestones of s1, pipelined */
    pack_milestone_put(&pk);
    assert_int_equal(cairn_client_send(c, b.data, b.size, 10000), 0);
    msgpack_sbuffer_clear(&b);
    if (i >= 100) {
      assert_int_equal(cairn_client_recv(c, 10000, &r), 0);
      cairn_reply_free(r);
    }
  }
  for (i = 0; i < 100; i++) {
    assert_int_equal(cairn_client_recv(c, 10000, &r), 0);
    cairn_reply_free(r);
  }
  msgpack_pack_map(&pk, 1);
  pk_str(&pk, "op");
  pk_str(&pk, "status");
  rc = call(c, &b, &r);
  assert_int_equal(rc, CAIRN_ETOOBIG);
  assert_non_null(strstr(cairn_reply_message(r), "one student"));
  cairn_reply_free(r);
  assert_int_equal(ping(n), 0); /* the connection and the daemon are fine */
  cairn_client_close(c);
  msgpack_sbuffer_destroy(&b);
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
      cmocka_unit_test_setup_teardown(test_hostile_numbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_sizes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_dates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_shapes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_escapes_stored_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_too_big_for_one_frame, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_control_characters, setup, teardown),
  };
  signal(SIGPIPE, SIG_IGN);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
