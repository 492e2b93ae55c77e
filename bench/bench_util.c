/* bench_util.c: timing, statistics, temporary directories, cleanup at exit
 * and the request bodies of the local benchmark. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t bench_interrupted;

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v: per_mille 500 is the median. */
static double percentile(const double *v, size_t n, size_t per_mille) {
  size_t rank = (per_mille * n + 999) / 1000;
  return v[rank > 0 ? rank - 1 : 0];
}

bench_stats bench_summarize(double *v, size_t n) {
  bench_stats st;
  double sum = 0;
  size_t i;

  qsort(v, n, sizeof *v, cmp_double);
  for (i = 0; i < n; i++)
    sum += v[i];
  st.p50 = percentile(v, n, 500);
  st.p99 = percentile(v, n, 990);
  st.mean = sum / (double)n;
  return st;
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Directories still to remove at exit. A run makes a few per phase and
 * removes most as it goes. */
#define MAX_TMPDIRS 64
static char tmpdirs[MAX_TMPDIRS][PATH_MAX];
/* Daemons the exit handler stops (0: a free slot); bench_compare's storm
 * runs a central and up to 500 classrooms at once. */
#define MAX_DAEMONS 512
static pid_t live_daemons[MAX_DAEMONS];

const char *bench_tmp_base(void) {
  const char *t = getenv("TMPDIR");
  return t != NULL && t[0] != '\0' ? t : "/tmp";
}

int bench_tmpdir(char *out) {
  size_t i;

  for (i = 0; i < MAX_TMPDIRS && tmpdirs[i][0] != '\0'; i++)
    ;
  if (i == MAX_TMPDIRS) {
    fprintf(stderr, "bench: more than %d temporary directories at once\n", MAX_TMPDIRS);
    return CAIRN_EINTERNAL;
  }
  if (snprintf(out, PATH_MAX, "%s/cairn-bench-XXXXXX", bench_tmp_base()) >= PATH_MAX) {
    fprintf(stderr, "bench: %s: path too long\n", bench_tmp_base());
    return CAIRN_ETOOBIG;
  }
  if (mkdtemp(out) == NULL) {
    fprintf(stderr, "bench: cannot create %s: %s\n", out, strerror(errno));
    return cairn_err_from_errno(errno);
  }
  memcpy(tmpdirs[i], out, strlen(out) + 1);
  return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  if (remove(path) != 0)
    fprintf(stderr, "bench: cannot remove %s: %s\n", path, strerror(errno));
  return 0;
}

void bench_tmp_remove(const char *dir) {
  size_t i;

  for (i = 0; i < MAX_TMPDIRS; i++)
    if (strcmp(tmpdirs[i], dir) == 0) {
      nftw(tmpdirs[i], remove_one, 16, FTW_DEPTH | FTW_PHYS);
      tmpdirs[i][0] = '\0';
    }
}

void bench_track_daemon(pid_t pid) {
  size_t i;

  for (i = 0; i < MAX_DAEMONS; i++)
    if (live_daemons[i] == 0) {
      live_daemons[i] = pid;
      return;
    }
  fprintf(stderr, "bench: more than %d daemons at once; pid %ld is not stopped at exit\n",
          MAX_DAEMONS, (long)pid);
}

void bench_untrack_daemon(pid_t pid) {
  size_t i;

  for (i = 0; i < MAX_DAEMONS; i++)
    if (live_daemons[i] == pid)
      live_daemons[i] = 0;
}

static void cleanup_at_exit(void) {
  size_t i;

  for (i = 0; i < MAX_DAEMONS; i++)
    if (live_daemons[i] > 0) {
      kill(live_daemons[i], SIGTERM);
      waitpid(live_daemons[i], NULL, 0);
      live_daemons[i] = 0;
    }
  for (i = 0; i < MAX_TMPDIRS; i++)
    if (tmpdirs[i][0] != '\0')
      bench_tmp_remove(tmpdirs[i]);
}

static void on_signal(int sig) {
  (void)sig;
  bench_interrupted = 1;
}

void bench_install_cleanup(void) {
  struct sigaction sa;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  atexit(cleanup_at_exit);
}

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_kv(msgpack_packer *pk, const char *k, const char *v) {
  pack_str(pk, k);
  pack_str(pk, v);
}

void bench_pack_student_set(msgpack_packer *pk, const char *classroom) {
  msgpack_pack_map(pk, 3);
  pack_kv(pk, "name", "Bench Student");
  pack_kv(pk, "campus", "c");
  pack_kv(pk, "classroom", classroom);
}

void bench_pack_milestone_set(msgpack_packer *pk, const char *student) {
  msgpack_pack_map(pk, 8);
  pack_kv(pk, "student", student);
  pack_kv(pk, "type", "academic");
  pack_kv(pk, "statement", "x");
  pack_kv(pk, "scale", "0-4");
  pack_str(pk, "baseline");
  msgpack_pack_double(pk, 1.5);
  pack_str(pk, "target");
  msgpack_pack_int(pk, 3);
  pack_kv(pk, "start", "2026-10-01");
  pack_kv(pk, "end", "2026-12-31");
}

/* 200 bytes: the size of a typical teacher's note. */
static const char note[] =
    "Read the grade-level passage aloud with two self-corrections and answered "
    "four of five comprehension questions; needed one prompt to find evidence "
    "in the text. Will try a graphic organizer next week.";

void bench_pack_evidence_set(msgpack_packer *pk, const char *mid) {
  msgpack_pack_map(pk, 4);
  pack_kv(pk, "milestone", mid);
  pack_kv(pk, "observed", "2026-11-02");
  pack_str(pk, "value");
  msgpack_pack_double(pk, 2.5);
  pack_kv(pk, "note", note);
}

uint64_t bench_id_seq(const char *id) {
  const char *dash = strrchr(id, '-');
  return dash != NULL ? strtoull(dash + 1, NULL, 10) : 0;
}

/* Reads the first "model name" of /proc/cpuinfo into out. */
static void cpu_model(char *out, size_t size) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];

  snprintf(out, size, "unknown CPU");
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
      colon += strspn(colon + 1, " \t") + 1;
      colon[strcspn(colon, "\n")] = '\0';
      snprintf(out, size, "%s", colon);
      break;
    }
  }
  if (f != NULL)
    fclose(f);
}

/* The device, file system type and size of the temp dir, from df. */
static void temp_disk(char *out, size_t size) {
  char cmd[PATH_MAX + 64], line[512] = "", last[512] = "";
  FILE *p;

  snprintf(out, size, "unknown disk");
  snprintf(cmd, sizeof cmd, "df -h --output=source,fstype,size '%s' 2>/dev/null",
           bench_tmp_base());
  if ((p = popen(cmd, "r")) == NULL)
    return;
  while (fgets(line, sizeof line, p) != NULL)
    memcpy(last, line, sizeof line);
  pclose(p);
  {
    char src[256], type[64], total[64];
    if (sscanf(last, "%255s %63s %63s", src, type, total) == 3)
      snprintf(out, size, "%s (%s, %s)", src, type, total);
  }
}

void bench_machine_line(char *out, size_t size) {
  struct utsname u;
  char cpu[256], disk[512];

  cpu_model(cpu, sizeof cpu);
  temp_disk(disk, sizeof disk);
  if (uname(&u) != 0)
    memset(&u, 0, sizeof u);
  snprintf(out, size, "`%s %s %s`, %s, nproc %ld; temp dir %s on %s", u.sysname, u.release,
           u.machine, cpu, sysconf(_SC_NPROCESSORS_ONLN), bench_tmp_base(), disk);
}

/* Formats a rate with thousands separators: 52,300. */
const char *bench_rate(char *buf, double v) {
  unsigned long long n = (unsigned long long)(v + 0.5);
  char digits[32];
  size_t len, i, o = 0;

  len = (size_t)snprintf(digits, sizeof digits, "%llu", n);
  for (i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

int bench_parse_count(const char *name, const char *arg, size_t max, size_t *out) {
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull(arg, &end, 10);
  if (arg[0] < '0' || arg[0] > '9' || errno != 0 || *end != '\0' || v == 0 || v > max) {
    fprintf(stderr, "bench: --%s wants a number from 1 to %zu, not '%s'\n", name, max, arg);
    return 2;
  }
  *out = (size_t)v;
  return 0;
}

int bench_usage(int opt, const char *usage) {
  fputs(usage, opt == 'h' ? stdout : stderr);
  return opt == 'h' ? 0 : 2;
}

int bench_no_operands(int argc, char **argv, int first, const char *usage) {
  if (first >= argc)
    return 0;
  fprintf(stderr, "bench: unexpected argument '%s'\n%s", argv[first], usage);
  return 2;
}
