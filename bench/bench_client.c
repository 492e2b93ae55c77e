/* bench_client.c: phases 1 and 2 through libcairn against a real cairnd:
 * the round trip of one durable add, and the throughput of many clients
 * whose puts the writer groups into shared commits. */
#include "bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

/* Puts sent before the latency phase starts timing: connection set-up,
 * page cache and the daemon's first map growth stay out of the figures. */
#define WARMUP_PUTS 50

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Packs {"op":"put","type":type,("id":id,)"set": and leaves the set's
 * value to the caller. */
void bench_pack_put_head(msgpack_packer *pk, const char *type, const char *id) {
  msgpack_pack_map(pk, id != NULL ? 4 : 3);
  pack_str(pk, "op");
  pack_str(pk, "put");
  pack_str(pk, "type");
  pack_str(pk, type);
  if (id != NULL) {
    pack_str(pk, "id");
    pack_str(pk, id);
  }
  pack_str(pk, "set");
}

/* Sends one put and, when id_out is not NULL, copies the reply's id. */
int bench_call_put(cairn_client *c, const msgpack_sbuffer *req, char *id_out, size_t idlen) {
  cairn_reply *r;
  int rc = cairn_client_call(c, req->data, req->size, 0, &r);

  if (rc != 0) {
    fprintf(stderr, "bench: put: %s%s%s\n", cairn_strerror(rc), r != NULL ? ": " : "",
            r != NULL ? cairn_reply_message(r) : "");
  } else if (id_out != NULL) {
    const msgpack_object *id = cairn_reply_get(r, "id");
    if (id == NULL || id->type != MSGPACK_OBJECT_STR || id->via.str.size >= idlen) {
      fprintf(stderr, "bench: put: the reply has no id\n");
      rc = CAIRN_EMALFORMED;
    } else {
      memcpy(id_out, id->via.str.ptr, id->via.str.size);
      id_out[id->via.str.size] = '\0';
    }
  }
  cairn_reply_free(r);
  return rc;
}

/* Creates the student and its milestone, and packs into req the evidence
 * put every later request repeats. Copies the milestone id into mid. */
int bench_setup_records(cairn_client *c, msgpack_sbuffer *req, const char *classroom,
                        const char *student, char *mid, size_t midlen) {
  msgpack_packer pk;
  char sid[72];
  int rc;

  msgpack_packer_init(&pk, req, msgpack_sbuffer_write);
  bench_pack_put_head(&pk, "student", student);
  bench_pack_student_set(&pk, classroom);
  rc = bench_call_put(c, req, sid, sizeof sid);
  req->size = 0;
  if (rc == 0) {
    bench_pack_put_head(&pk, "milestone", NULL);
    bench_pack_milestone_set(&pk, student);
    rc = bench_call_put(c, req, mid, midlen);
    req->size = 0;
  }
  bench_pack_put_head(&pk, "evidence", NULL);
  bench_pack_evidence_set(&pk, mid);
  return rc;
}

/* One repetition of phase 1 on connection c: n timed puts into ms[]. */
static int latency_rep(cairn_client *c, const msgpack_sbuffer *req, size_t n, double *ms) {
  size_t i;
  int rc = 0;

  for (i = 0; i < n && rc == 0; i++) {
    uint64_t t0 = bench_now_ns();
    rc = bench_interrupted ? CAIRN_EINTERNAL : bench_call_put(c, req, NULL, 0);
    ms[i] = (double)(bench_now_ns() - t0) / 1e6;
  }
  return rc;
}

int bench_client_latency(const bench_bins *bins, const bench_sizes *z, bench_stats *out) {
  bench_daemon d;
  cairn_client *c = NULL;
  msgpack_sbuffer req;
  char mid[72] = "";
  double *ms = malloc(z->latency_n * sizeof *ms), *per = malloc(3 * z->reps * sizeof *per);
  size_t i;
  int rc = ms == NULL || per == NULL ? CAIRN_ENOMEM : bench_daemon_start(&d, bins);

  msgpack_sbuffer_init(&req);
  if (rc == 0 && (rc = cairn_client_open(&c, d.data)) != 0)
    fprintf(stderr, "bench: %s: %s\n", d.data, cairn_strerror(rc));
  if (rc == 0)
    rc = bench_setup_records(c, &req, "r", BENCH_STUDENT_ID, mid, sizeof mid);
  for (i = 0; i < WARMUP_PUTS && rc == 0; i++)
    rc = bench_call_put(c, &req, NULL, 0);
  for (i = 0; i < z->reps && rc == 0; i++) {
    bench_stats st;
    fprintf(stderr, "bench: latency: %zu sequential puts, repetition %zu/%zu\n", z->latency_n,
            i + 1, z->reps);
    rc = latency_rep(c, &req, z->latency_n, ms);
    st = bench_summarize(ms, z->latency_n);
    per[i] = st.p50, per[z->reps + i] = st.p99, per[2 * z->reps + i] = st.mean;
  }
  if (rc == 0) {
    out->p50 = bench_median(per, z->reps);
    out->p99 = bench_median(per + z->reps, z->reps);
    out->mean = bench_median(per + 2 * z->reps, z->reps);
  }
  cairn_client_close(c);
  if (ms != NULL && per != NULL) {
    int stop = bench_daemon_stop(&d);
    rc = rc != 0 ? rc : stop;
    bench_daemon_remove(&d);
  }
  msgpack_sbuffer_destroy(&req);
  free(ms);
  free(per);
  return rc;
}

/* The threads of phase 2 wait at this gate until all exist. */
typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int open;
  int abort; /* a thread could not be created: run nothing */
} gate;

typedef struct worker {
  pthread_t thread;
  cairn_client *c;
  const msgpack_sbuffer *req;
  size_t n;
  size_t window; /* requests kept in flight on the connection */
  gate *g;
  int rc;
} worker;

/* Receives the reply to the oldest put in flight. */
static int recv_put(cairn_client *c) {
  cairn_reply *r;
  int rc = cairn_client_recv(c, 0, &r);

  if (rc != 0)
    fprintf(stderr, "bench: put: %s%s%s\n", cairn_strerror(rc), r != NULL ? ": " : "",
            r != NULL ? cairn_reply_message(r) : "");
  cairn_reply_free(r);
  return rc;
}

static void *work(void *arg) {
  worker *w = arg;
  size_t i, sent = 0;

  pthread_mutex_lock(&w->g->mu);
  while (!w->g->open)
    pthread_cond_wait(&w->g->cv, &w->g->mu);
  if (w->g->abort)
    w->rc = CAIRN_EINTERNAL;
  pthread_mutex_unlock(&w->g->mu);
  /* Keep w->window puts in flight: send until the window is full, then
   * one receive makes room for one more send. */
  for (i = 0; i < w->n && w->rc == 0; i++) {
    while (sent < w->n && sent - i < w->window && w->rc == 0)
      if ((w->rc = cairn_client_send(w->c, w->req->data, w->req->size, 0)) == 0)
        sent++;
    if (w->rc == 0)
      w->rc = bench_interrupted ? CAIRN_EINTERNAL : recv_put(w->c);
  }
  return NULL;
}

static void gate_open(gate *g, int abort) {
  pthread_mutex_lock(&g->mu);
  g->open = 1;
  g->abort = abort;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* Starts the workers (connections already open), opens the gate and sets
 * *seconds from then until the last one finished. */
static int run_workers(worker *w, size_t clients, double *seconds) {
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  size_t i, started;
  uint64_t t0;
  int rc = 0;

  for (started = 0; started < clients; started++) {
    w[started].g = &g;
    if (pthread_create(&w[started].thread, NULL, work, &w[started]) != 0) {
      fprintf(stderr, "bench: cannot start client thread %zu\n", started + 1);
      rc = CAIRN_ENOMEM;
      break;
    }
  }
  t0 = bench_now_ns();
  gate_open(&g, rc != 0);
  for (i = 0; i < started; i++) {
    pthread_join(w[i].thread, NULL);
    rc = rc != 0 ? rc : w[i].rc;
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  return rc;
}

/* One repetition of phase 2 on a fresh daemon. */
static int throughput_once(const bench_bins *bins, const bench_sizes *z, size_t clients,
                           size_t window, double *rate, double *per_commit) {
  bench_daemon d;
  msgpack_sbuffer req;
  char mid[72] = "";
  worker *w = calloc(clients, sizeof *w);
  size_t i, opened = 0;
  uint64_t entries = 0, commits = 0;
  double seconds = 0;
  int rc = w == NULL ? CAIRN_ENOMEM : bench_daemon_start(&d, bins);

  msgpack_sbuffer_init(&req);
  for (; rc == 0 && opened < clients; opened++) {
    w[opened].req = &req;
    w[opened].n = z->puts_per_client;
    w[opened].window = window;
    if ((rc = cairn_client_open(&w[opened].c, d.data)) != 0)
      fprintf(stderr, "bench: connection %zu: %s\n", opened + 1, cairn_strerror(rc));
  }
  if (rc == 0)
    rc = bench_setup_records(w[0].c, &req, "r", BENCH_STUDENT_ID, mid, sizeof mid);
  if (rc == 0)
    rc = run_workers(w, clients, &seconds);
  for (i = 0; i < opened; i++)
    cairn_client_close(w[i].c);
  if (w != NULL) {
    int stop = bench_daemon_stop(&d);
    rc = rc != 0 ? rc : stop;
    if (rc == 0)
      rc = bench_daemon_commits(&d, bench_id_seq(mid), &entries, &commits);
    bench_daemon_remove(&d);
  }
  if (rc == 0 && (commits == 0 || entries != clients * z->puts_per_client)) {
    fprintf(stderr, "bench: the log holds %llu evidence entries in %llu commits, not %zu\n",
            (unsigned long long)entries, (unsigned long long)commits,
            clients * z->puts_per_client);
    rc = CAIRN_EINTERNAL;
  }
  if (rc == 0) {
    *rate = (double)entries / seconds;
    *per_commit = (double)entries / (double)commits;
  }
  msgpack_sbuffer_destroy(&req);
  free(w);
  return rc;
}

int bench_client_throughput(const bench_bins *bins, const bench_sizes *z, size_t clients,
                            size_t window, bench_throughput *out) {
  double *v = malloc(2 * z->reps * sizeof *v);
  size_t i;
  int rc = v == NULL ? CAIRN_ENOMEM : 0;

  for (i = 0; i < z->reps && rc == 0; i++) {
    fprintf(stderr, "bench: throughput: %zu clients x %zu puts, %zu in flight each, "
            "repetition %zu/%zu\n", clients, z->puts_per_client, window, i + 1, z->reps);
    rc = throughput_once(bins, z, clients, window, &v[i], &v[z->reps + i]);
  }
  if (rc == 0) {
    out->clients = clients;
    out->window = window;
    out->rate = bench_median(v, z->reps);
    out->per_commit = bench_median(v + z->reps, z->reps);
  }
  free(v);
  return rc;
}
