#define _GNU_SOURCE /* memmem */
/* test_store_erase.c: erasing a student (docs/FORMAT.md section 3.4): the
 * central's erasure withholds every entry about the student, deletes their
 * records, compacts the file so that none of their words is left in it,
 * reaches a classroom that held them, and keeps out what arrives later
 * about them; the chains still verify; a crash in the compaction is
 * finished by the next open. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "error.h"
#include "record.h"
#include "store.h"
#include "store_fixture.h"

#define NAME "Zephyrine Quill"
#define NOTE "wrote about the violet kite festival"

/* 1 when the bytes of file path hold needle. */
static int file_holds(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 1 << 20, n = 0, got;
  char *buf = malloc(cap);
  assert_non_null(buf);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  int found = memmem(buf, n, needle, strlen(needle)) != NULL;
  free(buf);
  return found;
}

static int store_holds(const device *d, const char *needle) {
  char path[128];
  snprintf(path, sizeof path, "%s/store/data.mdb", d->dir);
  return file_holds(path, needle);
}

/* Student sid at North/8B named name, a milestone (into ms), and n
 * evidence entries with a note. */
static void student_with_evidence(cairn_store *s, const char *sid, const char *name, char *ms,
                                  int n) {
  const char *note = strcmp(name, NAME) == 0 ? NOTE : "an ordinary day";
  setb b;
  set_begin(&b, 3);
  set_str(&b, "name", name);
  set_str(&b, "campus", "North");
  set_str(&b, "classroom", "8B");
  assert_int_equal(put1(s, CAIRN_REC_STUDENT, sid, 0, &b, NULL, NULL, NULL), 0);
  add_milestone(s, sid, ms);
  for (int i = 0; i < n; i++) {
    char day[16];
    snprintf(day, sizeof day, "2026-03-%02d", 3 + i % 25);
    set_begin(&b, 4);
    set_str(&b, "milestone", ms);
    set_str(&b, "observed", day);
    set_num(&b, "value", 1 + i % 3);
    set_str(&b, "note", note);
    assert_int_equal(put1(s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, NULL, NULL), 0);
  }
}

static int erase(cairn_store *s, const char *sid, const char *reason, char *message) {
  setb b;
  set_begin(&b, 1);
  set_str(&b, "reason", reason);
  return put1(s, CAIRN_REC_ERASURE, sid, 0, &b, NULL, NULL, message);
}

/* The export of s without the records of ids (NULL-terminated) and
 * without erasure records: what an erasure must leave as it was. */
static void export_others(cairn_store *s, const char *const *ids, msgpack_sbuffer *out) {
  reply r;
  export_of(s, &r.sb);
  const msgpack_object *recs = reply_decode(&r);
  msgpack_packer pk;
  msgpack_sbuffer_init(out);
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  for (uint32_t i = 0; i < recs->via.array.size; i++) {
    const msgpack_object *rec = &recs->via.array.ptr[i];
    const msgpack_object *id = cairn_record_map_get(rec, "id");
    const msgpack_object *type = cairn_record_map_get(rec, "type");
    const msgpack_object *fields = cairn_record_map_get(rec, "fields");
    const msgpack_object *up[3] = {id, cairn_record_map_get(fields, "milestone"),
                                   cairn_record_map_get(fields, "student")};
    int skip = type->via.str.size == 7 && memcmp(type->via.str.ptr, "erasure", 7) == 0;
    for (size_t k = 0; ids[k] != NULL && !skip; k++)
      for (int u = 0; u < 3 && !skip; u++)
        skip = up[u] != NULL && up[u]->type == MSGPACK_OBJECT_STR &&
               up[u]->via.str.size == strlen(ids[k]) &&
               memcmp(up[u]->via.str.ptr, ids[k], up[u]->via.str.size) == 0;
    if (!skip)
      msgpack_pack_object(&pk, *rec);
  }
  reply_free(&r);
}

static void assert_same_others(cairn_store *s, const char *const *ids,
                               const msgpack_sbuffer *before) {
  msgpack_sbuffer after;
  export_others(s, ids, &after);
  assert_int_equal(after.size, before->size);
  assert_memory_equal(after.data, before->data, before->size);
  msgpack_sbuffer_destroy(&after);
}

/* The central erases a student of its own: records gone, the chain still
 * verifies, the file (once compacted) holds neither name nor note; the
 * other student is as they were; nothing more is written about them. */
static void test_erase_at_the_central(void **state) {
  (void)state;
  device c;
  char ms[72], other_ms[72], ev[72], msg[256];
  device_new(&c, NULL);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  student_with_evidence(c.s, "ana-8", NAME, ms, 40);
  student_with_evidence(c.s, "bo-9", "Bo Other", other_ms, 3);
  const char *const gone[] = {"ana-8", ms, NULL};
  msgpack_sbuffer before;
  export_others(c.s, gone, &before);
  assert_int_equal(cairn_store_student_erased(c.s, "ana-8"), 0);
  assert_int_equal(cairn_store_compaction_wanted(c.s), 0);

  assert_int_equal(erase(c.s, "ana-8", "family request under the records policy", msg), 0);
  assert_int_equal(cairn_store_student_erased(c.s, "ana-8"), 1);
  assert_int_equal(cairn_store_student_erased(c.s, "bo-9"), 0);
  assert_false(export_has(c.s, ms));
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show_type(c.s, CAIRN_REC_STUDENT, "ana-8", &h), CAIRN_ENOTFOUND);
  assert_int_equal(cairn_store_show_type(c.s, CAIRN_REC_ERASURE, "ana-8", &h), 0);
  cairn_store_history_free(h);
  assert_check_clean(c.s);
  assert_same_others(c.s, gone, &before);

  assert_int_equal(cairn_store_compaction_wanted(c.s), 1);
  assert_int_equal(cairn_store_compact(c.s), 0);
  assert_int_equal(cairn_store_compaction_wanted(c.s), 0);
  assert_false(store_holds(&c, NAME));
  assert_false(store_holds(&c, NOTE));
  /* at rest no name is in clear, the other student's neither */
  assert_false(store_holds(&c, "Bo Other"));
  assert_check_clean(c.s);
  assert_same_others(c.s, gone, &before);

  /* nothing more about them, and their id is not used again */
  assert_int_equal(add_evidence(c.s, ms, "2026-03-20", 2, ev, msg), CAIRN_EERASED);
  assert_non_null(strstr(msg, "erased"));
  setb b;
  set_begin(&b, 1);
  set_str(&b, "name", "Someone Else");
  assert_int_equal(put1(c.s, CAIRN_REC_STUDENT, "ana-8", 0, &b, NULL, NULL, msg), CAIRN_EERASED);
  assert_int_equal(erase(c.s, "ana-8", "again", msg), CAIRN_EEXISTS);
  assert_int_equal(erase(c.s, "nobody-1", "typo", msg), CAIRN_ENOTFOUND);
  assert_int_equal(add_evidence(c.s, other_ms, "2026-03-20", 2, ev, msg), 0);
  assert_check_clean(c.s);

  /* the store reopens compacted and clean */
  cairn_store_close(c.s);
  device_open(&c, NULL);
  assert_int_equal(cairn_store_student_erased(c.s, "ana-8"), 1);
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&before);
  device_free(&c);
}

/* Only the central erases: a classroom's own erasure is refused, and one
 * it forged is kept out by the central. */
static void test_erase_only_by_the_central(void **state) {
  (void)state;
  device c, k;
  char ms[72], msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", msg), 0);
  sync_to(c.s, k.s, NULL);
  student_with_evidence(k.s, "ana-8", NAME, ms, 2);
  assert_int_equal(erase(k.s, "ana-8", "not mine to erase", msg), CAIRN_EPERM);
  assert_non_null(strstr(msg, "central"));

  msgpack_sbuffer body, forged;
  msgpack_packer pk;
  msgpack_sbuffer_init(&body);
  msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  pack_s(&pk, "id");
  pack_s(&pk, "ana-8");
  pack_s(&pk, "new");
  msgpack_pack_true(&pk);
  pack_s(&pk, "set");
  msgpack_pack_map(&pk, 1);
  pack_s(&pk, "reason");
  pack_s(&pk, "forged");
  pack_s(&pk, "scope");
  msgpack_pack_array(&pk, 2);
  pack_s(&pk, "North");
  pack_s(&pk, "8B");
  sync_batch(k.s, c.s, NULL, &forged); /* its log so far, then the forged entry */
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)forged.data, forged.size, &res),
                   0);
  msgpack_sbuffer_clear(&forged);
  craft_next_entry(&k, CAIRN_REC_ERASURE, &body, &forged);
  assert_int_equal(cairn_store_apply_synced(c.s, (const uint8_t *)forged.data, forged.size, &res),
                   0);
  assert_int_equal(res.quarantined, 1);
  assert_int_equal(res.erased, 0);
  assert_non_null(strstr(res.reason, "erasures are written by the central"));
  assert_int_equal(cairn_store_student_erased(c.s, "ana-8"), 0);
  assert_true(export_has(c.s, ms));
  assert_check_clean(c.s);
  msgpack_sbuffer_destroy(&body);
  msgpack_sbuffer_destroy(&forged);
  device_free(&c);
  device_free(&k);
}

/* The erasure reaches a classroom that held the student; what that
 * classroom wrote about them meanwhile (offline) is kept out by the
 * central: stored redacted, refused with its reason, never folded; the
 * classroom, once it has the erasure, writes nothing more about them. */
static void test_erase_reaches_a_classroom_and_what_came_after(void **state) {
  (void)state;
  device c, k;
  char ms[72], other_ms[72], ev[72], msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", msg), 0);
  sync_to(c.s, k.s, NULL);
  student_with_evidence(k.s, "ana-8", NAME, ms, 12);
  student_with_evidence(k.s, "bo-9", "Bo Other", other_ms, 2);
  cairn_scope room = scope_of("North", "8B");
  sync_to(k.s, c.s, NULL);
  assert_true(export_has(c.s, ms));
  const char *const gone[] = {"ana-8", ms, NULL};
  msgpack_sbuffer before;
  export_others(k.s, gone, &before);

  assert_int_equal(erase(c.s, "ana-8", "entered for the wrong child", msg), 0);
  /* offline, the classroom goes on writing about them */
  assert_int_equal(add_evidence(k.s, ms, "2026-03-28", 3, ev, msg), 0);
  cairn_apply_result res = sync_to(k.s, c.s, NULL);
  assert_int_equal(res.erased, 1);
  assert_int_equal(res.quarantined, 1);
  assert_non_null(strstr(res.reason, "erased student"));
  assert_false(export_has(c.s, ev));
  assert_false(export_has(c.s, ms));
  assert_check_clean(c.s);
  assert_int_equal(cairn_store_compact(c.s), 0);
  assert_false(store_holds(&c, NAME));
  assert_false(store_holds(&c, NOTE));

  /* back online: the classroom gets the erasure */
  res = sync_to(c.s, k.s, &room);
  assert_int_equal(res.refused, 0);
  assert_int_equal(cairn_store_student_erased(k.s, "ana-8"), 1);
  assert_false(export_has(k.s, ms));
  assert_false(export_has(k.s, ev));
  assert_check_clean(k.s);
  assert_same_others(k.s, gone, &before);
  assert_int_equal(cairn_store_compaction_wanted(k.s), 1);
  assert_int_equal(cairn_store_compact(k.s), 0);
  assert_false(store_holds(&k, NAME));
  assert_false(store_holds(&k, NOTE));
  assert_false(store_holds(&k, "Bo Other"));
  assert_int_equal(add_evidence(k.s, ms, "2026-03-29", 3, ev, msg), CAIRN_EERASED);
  assert_int_equal(add_evidence(k.s, other_ms, "2026-03-29", 3, ev, msg), 0);
  /* both still agree on everything else, and sync on */
  sync_to(k.s, c.s, NULL);
  sync_to(c.s, k.s, &room);
  assert_check_clean(c.s);
  assert_check_clean(k.s);
  assert_true(export_has(c.s, ev));
  msgpack_sbuffer_destroy(&before);
  device_free(&c);
  device_free(&k);
}

/* A node that receives the erasure before the student's entries (a new
 * hub, say) keeps those entries redacted when they arrive. */
static void test_erase_before_the_entries(void **state) {
  (void)state;
  device c, k, h;
  char ms[72], msg[256];
  central_and_classroom(&c, &k);
  assert_int_equal(enroll(c.s, k.pk, "North", "8B", msg), 0);
  sync_to(c.s, k.s, NULL);
  student_with_evidence(k.s, "ana-8", NAME, ms, 3);
  sync_to(k.s, c.s, NULL);
  assert_int_equal(erase(c.s, "ana-8", "retention", msg), 0);
  /* a third store, trusting the same central, gets the central's own log
   * first (device records, the erasure) */
  device_new(&h, NULL);
  assert_int_equal(cairn_store_set_central(h.s, c.pk), 0);
  msgpack_sbuffer central_log;
  log_of(c.s, c.pk, 1, &central_log);
  cairn_apply_result res;
  assert_int_equal(cairn_store_apply_synced(h.s, (const uint8_t *)central_log.data,
                                            central_log.size, &res),
                   0);
  msgpack_sbuffer_destroy(&central_log);
  assert_int_equal(cairn_store_student_erased(h.s, "ana-8"), 1);
  /* then the classroom's log as the classroom would send it, whole */
  res = sync_to(k.s, h.s, NULL);
  assert_true(res.erased >= 3);
  assert_false(export_has(h.s, ms));
  assert_check_clean(h.s);
  assert_int_equal(cairn_store_compact(h.s), 0);
  assert_false(store_holds(&h, NAME));
  assert_false(store_holds(&h, NOTE));
  device_free(&c);
  device_free(&k);
  device_free(&h);
}

/* Evidence written (by k2) under a milestone this node does not hold yet
 * is folded on its own; when the milestone arrives after the erasure,
 * that evidence goes too. */
static void test_erase_what_came_before_its_parent(void **state) {
  (void)state;
  device c, k1, k2, h;
  char ms[72], msg[256];
  central_and_classroom(&c, &k1);
  device_new(&k2, NULL);
  assert_int_equal(cairn_store_set_central(k2.s, c.pk), 0);
  assert_int_equal(enroll(c.s, k1.pk, "North", "8B", msg), 0);
  assert_int_equal(enroll(c.s, k2.pk, "North", "8B", msg), 0);
  sync_to(c.s, k1.s, NULL);
  sync_to(c.s, k2.s, NULL);
  setb b;
  set_begin(&b, 3);
  set_str(&b, "name", NAME);
  set_str(&b, "campus", "North");
  set_str(&b, "classroom", "8B");
  assert_int_equal(put1(k1.s, CAIRN_REC_STUDENT, "ana-8", 0, &b, NULL, NULL, NULL), 0);
  add_milestone(k1.s, "ana-8", ms);
  sync_to(k1.s, c.s, NULL);
  sync_to(c.s, k2.s, NULL);
  set_begin(&b, 4);
  set_str(&b, "milestone", ms);
  set_str(&b, "observed", "2026-03-10");
  set_num(&b, "value", 2);
  set_str(&b, "note", NOTE);
  assert_int_equal(put1(k2.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, NULL, NULL), 0);
  sync_to(k2.s, c.s, NULL);

  /* h holds the devices and k2's evidence, not k1's student or milestone */
  device_new(&h, NULL);
  assert_int_equal(cairn_store_set_central(h.s, c.pk), 0);
  msgpack_sbuffer lg;
  cairn_apply_result res;
  log_of(c.s, c.pk, 1, &lg);
  assert_int_equal(cairn_store_apply_synced(h.s, (const uint8_t *)lg.data, lg.size, &res), 0);
  msgpack_sbuffer_destroy(&lg);
  log_of(k2.s, k2.pk, 1, &lg);
  assert_int_equal(cairn_store_apply_synced(h.s, (const uint8_t *)lg.data, lg.size, &res), 0);
  msgpack_sbuffer_destroy(&lg);
  assert_int_equal(res.refused, 0);

  assert_int_equal(erase(c.s, "ana-8", "retention", msg), 0);
  log_of(c.s, c.pk, 1, &lg);
  assert_int_equal(cairn_store_apply_synced(h.s, (const uint8_t *)lg.data, lg.size, &res), 0);
  msgpack_sbuffer_destroy(&lg);
  assert_int_equal(cairn_store_student_erased(h.s, "ana-8"), 1);
  log_of(k1.s, k1.pk, 1, &lg);
  assert_int_equal(cairn_store_apply_synced(h.s, (const uint8_t *)lg.data, lg.size, &res), 0);
  msgpack_sbuffer_destroy(&lg);
  assert_int_equal(res.erased, 2); /* the student and the milestone */
  assert_false(export_has(h.s, ms));
  assert_check_clean(h.s);
  assert_int_equal(cairn_store_compact(h.s), 0);
  assert_false(store_holds(&h, NOTE));
  assert_false(store_holds(&h, NAME));
  device_free(&c);
  device_free(&k1);
  device_free(&k2);
  device_free(&h);
}

static void exit_at(const char *stage, void *arg) {
  if (strcmp(stage, arg) == 0)
    _exit(9);
}

/* A crash at either stage of the compaction: the next open finishes it. */
static void crash_in_compaction(const char *at) {
  device c;
  char ms[72], msg[256];
  device_new(&c, NULL);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  student_with_evidence(c.s, "ana-8", NAME, ms, 30);
  assert_int_equal(erase(c.s, "ana-8", "retention", msg), 0);
  assert_int_equal(cairn_store_compaction_wanted(c.s), 1);
  cairn_store_close(c.s);
  c.s = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    cairn_store_opts o = {.compact_stage = exit_at, .compact_arg = (void *)at};
    cairn_store *s = NULL;
    (void)cairn_store_open(&s, c.dir, c.sk, &o); /* compacts: exits at the stage */
    _exit(0);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 9);
  char tmp[128];
  snprintf(tmp, sizeof tmp, "%s/store/data.mdb.compact", c.dir);
  assert_int_equal(access(tmp, F_OK), strcmp(at, "copied") == 0 ? 0 : -1);
  device_open(&c, NULL);
  assert_int_equal(cairn_store_compaction_wanted(c.s), 0);
  assert_int_equal(access(tmp, F_OK), -1);
  assert_int_equal(cairn_store_student_erased(c.s, "ana-8"), 1);
  assert_false(store_holds(&c, NAME));
  assert_false(store_holds(&c, NOTE));
  assert_check_clean(c.s);
  device_free(&c);
}

/* Copies file from to a new file to (mode 0600). */
static void file_copy(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  assert_non_null(in);
  assert_non_null(out);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    assert_int_equal(fwrite(buf, 1, n, out), n);
  fclose(in);
  assert_int_equal(fclose(out), 0);
}

/* dir/store/data.mdb from a copy of d's store (cairn_store_copy), with the
 * key store file keys beside it. */
static void store_from_copy(const char *dir, const char *copy, const char *keys) {
  char path[256];
  snprintf(path, sizeof path, "%s/store", dir);
  assert_int_equal(mkdir(path, 0750), 0);
  snprintf(path, sizeof path, "%s/store/data.mdb", dir);
  file_copy(copy, path);
  snprintf(path, sizeof path, "%s/store/keys", dir);
  file_copy(keys, path);
}

static void store_dir_remove(const char *dir) {
  static const char *const files[] = {"store/data.mdb", "store/lock.mdb", "store/keys", NULL};
  char path[256];
  for (size_t i = 0; files[i] != NULL; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/store", dir);
  rmdir(path);
  assert_int_equal(rmdir(dir), 0);
}

/* 1 when store dir (opened with sk) shows student sid, 0 when it does not
 * find them. */
static int copy_shows(const char *dir, const uint8_t *sk, const char *sid) {
  cairn_store *s = NULL;
  assert_int_equal(cairn_store_open(&s, dir, sk, NULL), 0);
  cairn_store_history *h = NULL;
  int rc = cairn_store_show_type(s, CAIRN_REC_STUDENT, sid, &h);
  assert_true(rc == 0 || rc == CAIRN_ENOTFOUND);
  cairn_store_history_free(h);
  cairn_store_close(s);
  return rc == 0;
}

/* At rest no student's name or note is in clear, before any erasure; an
 * erasure forgets the student's data key, so that a copy of the data file
 * taken before it (what free pages, an old backup's store or freed disk
 * blocks would hold) no longer opens them with the node's keys, while the
 * other student still opens. With the key store from before the erasure
 * the same copy does open them: what made the difference is the key. */
static void test_erasure_forgets_the_key(void **state) {
  (void)state;
  device c;
  char ms[72], other_ms[72], msg[256], keys[128], old_keys[160], copy[160];
  device_new(&c, NULL);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  student_with_evidence(c.s, "ana-8", NAME, ms, 5);
  student_with_evidence(c.s, "bo-9", "Bo Other", other_ms, 3);
  snprintf(keys, sizeof keys, "%s/store/keys", c.dir);
  assert_false(store_holds(&c, NAME));
  assert_false(store_holds(&c, NOTE));
  assert_false(store_holds(&c, "Bo Other"));
  assert_false(file_holds(keys, NAME));

  char before[] = "/tmp/cairn-erase-copy-XXXXXX", after[] = "/tmp/cairn-erase-keys-XXXXXX";
  assert_non_null(mkdtemp(before));
  assert_non_null(mkdtemp(after));
  snprintf(copy, sizeof copy, "%s.mdb", before);
  snprintf(old_keys, sizeof old_keys, "%s.keys", before);
  int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(cairn_store_copy(c.s, fd), 0);
  close(fd);
  file_copy(keys, old_keys);

  assert_int_equal(erase(c.s, "ana-8", "family request under the records policy", msg), 0);
  assert_int_equal(cairn_store_compact(c.s), 0);
  assert_false(file_holds(keys, NAME));

  /* the old data file with the key store as it is now */
  store_from_copy(after, copy, keys);
  assert_false(copy_shows(after, c.sk, "ana-8"));
  assert_true(copy_shows(after, c.sk, "bo-9"));
  /* the same data file with the key store from before */
  store_from_copy(before, copy, old_keys);
  assert_true(copy_shows(before, c.sk, "ana-8"));

  store_dir_remove(before);
  store_dir_remove(after);
  unlink(copy);
  unlink(old_keys);
  device_free(&c);
}

/* A long note of 1,600 bytes, different for each i: sentences as a
 * teacher's are, which compress about as prose does. */
static void long_note(char *out, size_t len, int i) {
  static const char *const words[] = {"read", "the", "passage", "aloud", "with", "two",
                                      "self-corrections", "and", "answered", "four", "of",
                                      "five", "questions", "needed", "one", "prompt"};
  size_t n = (size_t)snprintf(out, len + 1, "Visit %d: ", i);
  unsigned x = 2654435761u * (unsigned)(i + 1);
  while (n < len) {
    x = x * 1103515245u + 12345u;
    const char *w = words[(x >> 16) % 16];
    for (size_t k = 0; w[k] != '\0' && n < len; k++)
      out[n++] = w[k];
    if (n < len)
      out[n++] = (x >> 8) % 9 == 0 ? '.' : ' ';
  }
  out[len] = '\0';
}

/* Sizes of the values of database name in store dir/store whose seal form
 * (the byte after the seal mark) is form: their count and total bytes. */
static void sealed_values(const char *dir, const char *name, char form, size_t *count,
                          size_t *bytes) {
  char path[128];
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_cursor *cur;
  MDB_val k, v;
  snprintf(path, sizeof path, "%s/store", dir);
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
  assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
  *count = *bytes = 0;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    const uint8_t *p = v.mv_data;
    if (v.mv_size >= 2 && p[0] == 0xc1 && p[1] == (uint8_t)form) {
      (*count)++;
      *bytes += v.mv_size;
    }
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

/* A long note is kept once: compressed before it is sealed in its log
 * entry, well under the note's bytes, while its record, of one write,
 * refers to that entry; a record of two writes (an amended value) holds
 * them, compressed, then sealed. Every
 * note reads back whole, check is clean, and no part of a note is in the
 * file in clear. An erasure still forgets them. */
static void test_long_notes_are_compressed_then_sealed(void **state) {
  (void)state;
  enum { NOTES = 40, LEN = 1600, AMENDED = 5 };
  device c;
  char ms[72], msg[256], note[LEN + 1], fragment[48], ids[NOTES][72];
  device_new(&c, NULL);
  assert_int_equal(cairn_store_set_central(c.s, c.pk), 0);
  student_with_evidence(c.s, "ana-8", NAME, ms, 1);
  for (int i = 0; i < NOTES; i++) {
    setb b;
    long_note(note, LEN, i);
    set_begin(&b, 4);
    set_str(&b, "milestone", ms);
    set_str(&b, "observed", "2026-03-10");
    set_num(&b, "value", 2);
    set_str(&b, "note", note);
    assert_int_equal(put1(c.s, CAIRN_REC_EVIDENCE, NULL, 0, &b, NULL, ids[i], NULL), 0);
  }
  for (int i = 0; i < AMENDED; i++) {
    setb b;
    set_begin(&b, 1);
    set_num(&b, "value", 3);
    assert_int_equal(put1(c.s, CAIRN_REC_EVIDENCE, ids[i], 1, &b, "typed 2 for 3", NULL, NULL), 0);
  }
  assert_check_clean(c.s);
  msgpack_sbuffer out;
  export_of(c.s, &out);
  for (int i = 0; i < NOTES; i++) { /* each note whole in the export */
    long_note(note, LEN, i);
    assert_non_null(memmem(out.data, out.size, note, LEN));
  }
  msgpack_sbuffer_destroy(&out);
  long_note(note, LEN, 7);
  memcpy(fragment, note + 600, sizeof fragment - 1);
  fragment[sizeof fragment - 1] = '\0';
  assert_false(store_holds(&c, fragment));
  assert_false(store_holds(&c, "Visit 7: "));
  cairn_store_close(c.s);
  c.s = NULL;

  size_t n, bytes;
  sealed_values(c.dir, "log", 'e', &n, &bytes);
  assert_int_equal(n, NOTES);
  assert_true(bytes < (size_t)NOTES * (LEN * 3 / 4 + 300)); /* + each entry's clear part */
  sealed_values(c.dir, "records", 'W', &n, &bytes); /* the student, milestone, evidence */
  assert_int_equal(n, NOTES - AMENDED + 3);
  assert_int_equal(bytes, n * (2 + 16 + 8 + 8 + CAIRN_KEY_BYTES)); /* no note in them */
  sealed_values(c.dir, "records", 'r', &n, &bytes); /* the amended: their note and value */
  assert_int_equal(n, AMENDED);
  assert_true(bytes < (size_t)AMENDED * LEN * 3 / 4);

  device_open(&c, NULL);
  assert_int_equal(erase(c.s, "ana-8", "entered for the wrong child", msg), 0);
  assert_int_equal(cairn_store_compact(c.s), 0);
  assert_check_clean(c.s);
  cairn_store_history *h = NULL;
  assert_int_equal(cairn_store_show_type(c.s, CAIRN_REC_STUDENT, "ana-8", &h), CAIRN_ENOTFOUND);
  export_of(c.s, &out);
  assert_null(memmem(out.data, out.size, fragment, strlen(fragment)));
  msgpack_sbuffer_destroy(&out);
  cairn_store_close(c.s);
  c.s = NULL;
  /* none of her records is left, not even as a reference to a withheld
   * entry: only the erasure's own */
  sealed_values(c.dir, "records", 'W', &n, &bytes);
  assert_int_equal(n, 1);
  sealed_values(c.dir, "records", 'r', &n, &bytes);
  assert_int_equal(n, 0);
  sealed_values(c.dir, "records", 'R', &n, &bytes);
  assert_int_equal(n, 0);
  device_free(&c);
}

static void test_crash_after_the_copy(void **state) {
  (void)state;
  crash_in_compaction("copied");
}

static void test_crash_after_the_rename(void **state) {
  (void)state;
  crash_in_compaction("renamed");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_erase_at_the_central),
      cmocka_unit_test(test_erase_only_by_the_central),
      cmocka_unit_test(test_erase_reaches_a_classroom_and_what_came_after),
      cmocka_unit_test(test_erase_before_the_entries),
      cmocka_unit_test(test_erase_what_came_before_its_parent),
      cmocka_unit_test(test_erasure_forgets_the_key),
      cmocka_unit_test(test_long_notes_are_compressed_then_sealed),
      cmocka_unit_test(test_crash_after_the_copy),
      cmocka_unit_test(test_crash_after_the_rename),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
