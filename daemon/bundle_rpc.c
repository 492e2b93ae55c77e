/* bundle_rpc.c: the bundle_export and bundle_import requests (bundle_rpc.h). */
#include "bundle_rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "bundle.h"
#include "config.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "record.h"
#include "rpc_int.h"

/* Reading the own log for an export: per read_scoped call. */
#define READ_ENTRIES 1000
#define READ_BYTES (512 * 1024)

typedef struct export_job {
  rpc_call call; /* the pending request */
  const uint8_t *sk;
  uint8_t self[CAIRN_KEY_BYTES];
  uint8_t to[2][CAIRN_KEY_BYTES]; /* up: the central, then the hub (if any); down: the device */
  size_t n_to;
  int down;           /* a bundle for the device to[0] (--for), not this node's own entries up */
  int hub;            /* this node is a hub (a downward bundle stays in its campus) */
  char path[PATH_MAX];
  /* out */
  size_t entries, bytes, authors;
  uint64_t from, last;
  cairn_scope scope; /* down: the device's */
  char why[PATH_MAX + 128];
} export_job;

typedef struct import_job {
  rpc_call call;
  const uint8_t *sk;
  char path[PATH_MAX];
  int opened; /* payload holds the bundle's entries (a retried job keeps them) */
  uint8_t *payload;
  size_t payload_len;
  uint8_t author[CAIRN_KEY_BYTES];
  cairn_apply_result res;
  char why[PATH_MAX + 128];
  cairn_metrics *metrics; /* borrowed from the cairn_rpc; counts the import */
  int classroom;          /* this node is a classroom: only its central or hub write for it */
  uint8_t above[2][CAIRN_KEY_BYTES]; /* a classroom's central and upstream hub, pinned */
  size_t n_above;
} import_job;

/* ---- replies (the shapes of rpc.c's) ---- */

/* Takes the request's path argument: a string, absolute, shorter than
 * PATH_MAX. Returns 0 or packs the error and returns a negative code. */
static int arg_path(const msgpack_object *req, char out[PATH_MAX], msgpack_packer *pk) {
  const msgpack_object *o = cairn_record_map_get(req, "path");

  if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, "path: required, a string");
    return CAIRN_EINVAL;
  }
  if (o->via.str.size >= PATH_MAX || memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL ||
      o->via.str.ptr[0] != '/') {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, "path: must be an absolute file name");
    return CAIRN_EINVAL;
  }
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = '\0';
  return 0;
}

/* A new job of size bytes (zeroed) for a request whose path argument goes
 * into path; NULL with the error packed into pk. */
static void *path_job(const msgpack_object *req, size_t size, char path[PATH_MAX],
                      msgpack_packer *pk) {
  void *j;
  if (arg_path(req, path, pk) != 0)
    return NULL;
  if ((j = calloc(1, size)) == NULL)
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
  return j;
}

/* Registers call as slot's pending request and queues fn on the writer. */
static cairn_handled submit(cairn_rpc *r, cairn_slot *slot, rpc_call *call,
                            cairn_writer_job_fn fn, cairn_writer_done_cb done, void *job,
                            msgpack_packer *pk) {
  cairn_write_req *wr = cairn_writer_job_new(fn, job);

  if (wr == NULL) {
    free(job);
    cairn__rpc_pack_error(pk, CAIRN_ENOMEM, NULL);
    return CAIRN_HANDLED_REPLY;
  }
  call->slot = slot;
  cairn_server_slot_pending(slot, call);
  cairn_writer_submit(r->writer, wr, done, job);
  return CAIRN_HANDLED_LATER;
}

/* Starts a reply frame for call's slot; NULL when the client went away. */
static cairn_slot *reply_start(rpc_call *call, msgpack_sbuffer *frame, msgpack_packer *pk) {
  if (call->slot == NULL)
    return NULL;
  cairn_server_frame_init(frame);
  msgpack_packer_init(pk, frame, msgpack_sbuffer_write);
  return call->slot;
}

/* Starts the reply to a request that wrote the file at path: the error
 * (rc, why) when it failed; else ok with the path and room for `more`
 * pairs the caller packs. NULL when the client went away. */
static cairn_slot *reply_file(rpc_call *call, int rc, const char *why, const char *path,
                              size_t more, msgpack_sbuffer *frame, msgpack_packer *pk) {
  cairn_slot *slot = reply_start(call, frame, pk);
  if (slot == NULL)
    return NULL;
  if (rc != 0) {
    cairn__rpc_pack_error(pk, rc, why);
  } else {
    cairn__rpc_pack_ok(pk, 1 + more);
    cairn__rpc_pack_str(pk, "path");
    cairn__rpc_pack_str(pk, path);
  }
  return slot;
}

/* ---- export ---- */

/* Starts a new file at path: refuses an existing path, and opens a temp
 * file beside it (0600) whose name goes into tmp. Returns the fd, or a
 * negative code with why set. */
static int new_file_open(const char *path, char tmp[PATH_MAX + 8], char *why, size_t whylen) {
  struct stat st;
  int fd;

  if (lstat(path, &st) == 0) {
    snprintf(why, whylen, "%s exists; choose another name", path);
    return CAIRN_EEXISTS;
  }
  if (snprintf(tmp, PATH_MAX + 8, "%s.XXXXXX", path) >= PATH_MAX + 8) {
    snprintf(why, whylen, "%s: path too long", path);
    return CAIRN_EINVAL;
  }
  if ((fd = mkstemp(tmp)) < 0) {
    int rc = cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: cannot create a file there: %s", path, strerror(errno));
    return rc;
  }
  return fd;
}

/* Ends a file begun with new_file_open whose writing ended with rc: on 0,
 * fsyncs it, renames it to path and fsyncs the directory; otherwise (or
 * when that fails) removes the temp file. Returns the outcome, why set
 * when it is not 0 (and not set already). */
static int new_file_finish(int fd, const char *tmp, const char *path, int rc, char *why,
                           size_t whylen) {
  if (rc == 0 && fsync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc != 0) {
    if (why[0] == '\0')
      snprintf(why, whylen, "%s: writing failed: %s", path, cairn_strerror(rc));
    close(fd);
    unlink(tmp);
    return rc;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    rc = cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: cannot put the file in place: %s", path, strerror(errno));
    unlink(tmp);
    return rc;
  }
  if ((rc = cairn_file_sync_parent(path)) != 0)
    snprintf(why, whylen, "%s: syncing its directory failed: %s", path, cairn_strerror(rc));
  return rc;
}

/* Writes len bytes to path durably: a temp file beside it (0600), fsync,
 * rename, fsync of the directory. Refuses an existing path. */
static int write_new_file(const char *path, const uint8_t *buf, size_t len, char *why,
                          size_t whylen) {
  char tmp[PATH_MAX + 8];
  int fd = new_file_open(path, tmp, why, whylen);

  if (fd < 0)
    return fd;
  return new_file_finish(fd, tmp, path, cairn_file_write_all(fd, buf, len), why, whylen);
}

/* Appends author's log from seq next through head to out, redacted for
 * scope (NULL: nothing but quarantined entries), as a sync batch carries
 * it. Adds to j->entries; *last: the last seq appended (unchanged when
 * none). Returns 0, CAIRN_ETOOBIG (j->why set) or a store error. */
static int export_run(cairn_store *s, export_job *j, const uint8_t *author, uint64_t next,
                      uint64_t head, const cairn_scope *scope, msgpack_sbuffer *out,
                      uint64_t *last) {
  int rc = 0;

  while (rc == 0 && next <= head) {
    size_t count = 0;
    uint64_t at = 0;
    rc = cairn_store_read_scoped(s, author, next, READ_ENTRIES, READ_BYTES, scope, out, &count,
                                 &at);
    if (rc == 0 && count == 0)
      break;
    if (rc == 0 && out->size > CAIRN_BUNDLE_MAX) {
      snprintf(j->why, sizeof j->why, "more than %u MiB of entries to export; sync instead",
               CAIRN_BUNDLE_MAX >> 20);
      rc = CAIRN_ETOOBIG;
    }
    j->entries += count;
    *last = at;
    next = at + 1;
  }
  return rc;
}

/* Writer thread, up: this node's own log after the central's receipt. */
static int collect_own(cairn_store *s, export_job *j, msgpack_sbuffer *out) {
  uint8_t sig[CAIRN_SIG_BYTES];
  uint64_t held = 0;
  int rc = cairn_store_receipt_get(s, j->self, &held, sig);

  if (rc == CAIRN_ENOTFOUND)
    held = 0;
  else if (rc != 0)
    return rc;
  j->from = held + 1;
  j->last = held;
  return export_run(s, j, j->self, held + 1, cairn_store_own_seq(s), NULL, out, &j->last);
}

/* Writer thread, down: checks the device to[0] may have a bundle from
 * this node, and fills j->scope with its scope. Returns 0, or
 * CAIRN_ENOTFOUND / CAIRN_EPERM / CAIRN_EINVAL with j->why set. */
static int check_device(cairn_store *s, export_job *j) {
  char role[16] = "", hex[9];
  cairn_store_join joined;
  int rc = cairn_store_device_scope(s, j->to[0], &j->scope, role);

  sodium_bin2hex(hex, sizeof hex, j->to[0], 4);
  if (rc == CAIRN_ENOTFOUND || rc == CAIRN_EPERM) {
    snprintf(j->why, sizeof j->why,
             rc == CAIRN_EPERM ? "device %s is revoked: no bundle is written for it"
                               : "device %s is not an enrolled device: no bundle is written for it",
             hex);
    return rc;
  }
  if (rc != 0)
    return rc;
  if (memcmp(j->to[0], j->self, CAIRN_KEY_BYTES) == 0 || strcmp(role, "central") == 0) {
    snprintf(j->why, sizeof j->why,
             "device %s is %s: a bundle --for goes down, to a hub or classroom (bundle export "
             "without --for carries this node's own entries up)",
             hex, strcmp(role, "central") == 0 ? "the central" : "this node");
    return CAIRN_EINVAL;
  }
  if (!j->hub)
    return 0;
  /* A hub writes for the devices below it: its campus's classrooms. */
  if ((rc = cairn_store_join_get(s, &joined)) != 0) {
    snprintf(j->why, sizeof j->why, "this hub's own scope is unknown: %s", cairn_strerror(rc));
    return rc;
  }
  if (strcmp(role, "classroom") != 0 || strcmp(j->scope.campus, joined.scope.campus) != 0) {
    snprintf(j->why, sizeof j->why,
             "device %s is not a classroom of this hub's campus %s: the central writes its bundle",
             hex, joined.scope.campus);
    return CAIRN_EPERM;
  }
  return 0;
}

/* Writer thread, down: what a sync would send the device to[0] (PROTOCOL.md
 * section 7, "Down"): every author's log it needs
 * (cairn_store_author_goes_down), from seq 1, redacted for its scope, the
 * central's first; never its own log. */
static int collect_down(cairn_store *s, export_job *j, msgpack_sbuffer *out) {
  cairn_vv_item *vv = NULL;
  size_t n = 0;
  int rc = check_device(s, j);

  if (rc == 0)
    rc = cairn_store_version_vector(s, &vv, &n);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint64_t last = 0;
    size_t before = j->entries;
    if (memcmp(vv[i].author, j->to[0], CAIRN_KEY_BYTES) == 0 ||
        !cairn_store_author_goes_down(s, vv[i].author, &j->scope))
      continue;
    rc = export_run(s, j, vv[i].author, 1, vv[i].seq, &j->scope, out, &last);
    if (j->entries > before)
      j->authors++;
  }
  free(vv);
  return rc;
}

/* Writer thread: collects the entries (this node's own going up, or a
 * device's going down), seals and writes the bundle. */
static int run_export(cairn_store *s, void *arg) {
  export_job *j = arg;
  uint8_t *file = NULL;
  msgpack_sbuffer out;
  size_t file_len = 0;
  int rc;

  j->entries = j->authors = 0;
  msgpack_sbuffer_init(&out);
  rc = j->down ? collect_down(s, j, &out) : collect_own(s, j, &out);
  if (rc == 0)
    rc = cairn_bundle_seal(j->sk, (const uint8_t(*)[CAIRN_KEY_BYTES])j->to, j->n_to,
                           (const uint8_t *)out.data, out.size, &file, &file_len);
  msgpack_sbuffer_destroy(&out);
  if (rc == 0)
    rc = write_new_file(j->path, file, file_len, j->why, sizeof j->why);
  free(file);
  j->bytes = file_len;
  return rc;
}

static void export_done(cairn_write_req *req, void *arg) {
  export_job *j = arg;
  msgpack_sbuffer frame;
  msgpack_packer pk;
  cairn_slot *slot;
  char hex[65];

  sodium_bin2hex(hex, sizeof hex, j->to[0], CAIRN_KEY_BYTES);
  if (req->job_rc == 0 && j->down)
    cairn_log_info("bundle export for device %.8s: %zu entries of %zu logs to %s", hex,
                   j->entries, j->authors, j->path);
  else if (req->job_rc == 0)
    cairn_log_info("bundle export: %zu entries (#%llu to #%llu) to %s", j->entries,
                   (unsigned long long)j->from, (unsigned long long)j->last, j->path);
  else
    cairn_log_warn("bundle export to %s failed: %s", j->path,
                   j->why[0] ? j->why : cairn_strerror(req->job_rc));
  if ((slot = reply_file(&j->call, req->job_rc, j->why, j->path, 5, &frame, &pk)) != NULL) {
    if (req->job_rc == 0) {
      cairn__rpc_pack_str(&pk, "entries");
      msgpack_pack_uint64(&pk, j->entries);
      cairn__rpc_pack_str(&pk, "bytes");
      msgpack_pack_uint64(&pk, j->bytes);
    }
    if (req->job_rc == 0 && j->down) {
      cairn__rpc_pack_str(&pk, "authors");
      msgpack_pack_uint64(&pk, j->authors);
      cairn__rpc_pack_str(&pk, "for");
      cairn__rpc_pack_str(&pk, hex);
      cairn__rpc_pack_str(&pk, "scope");
      msgpack_pack_array(&pk, 2);
      cairn__rpc_pack_str(&pk, j->scope.campus);
      cairn__rpc_pack_str(&pk, j->scope.classroom);
    } else if (req->job_rc == 0) {
      cairn__rpc_pack_str(&pk, "from");
      msgpack_pack_uint64(&pk, j->from);
      cairn__rpc_pack_str(&pk, "to");
      msgpack_pack_uint64(&pk, j->last);
      cairn__rpc_pack_str(&pk, "hub");
      cairn__rpc_pack_bool(&pk, j->n_to > 1);
    }
    cairn_server_reply(slot, &frame);
  }
  free(j);
}

/* The upstream's pinned key (upstream_key of cairn.conf) into key.
 * Returns 0, or CAIRN_ENOTFOUND when there is none. */
static int upstream_key(const cairn_rpc *r, uint8_t key[CAIRN_KEY_BYTES]) {
  const char *hex = r->config->upstream_key;
  if (strlen(hex) != 2 * CAIRN_KEY_BYTES ||
      sodium_hex2bin(key, CAIRN_KEY_BYTES, hex, 2 * CAIRN_KEY_BYTES, NULL, NULL, NULL) != 0)
    return CAIRN_ENOTFOUND;
  return 0;
}

/* bundle_export with `for`: a downward bundle for that device, written by
 * the central or a hub. */
static cairn_handled export_for(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                const msgpack_object *f, msgpack_packer *pk) {
  char prefix[65], id[65], why[256] = "", path[PATH_MAX];
  export_job *j;
  int rc;

  if (r->config->role == CAIRN_ROLE_CLASSROOM) {
    cairn__rpc_pack_error(pk, CAIRN_EPERM,
                          "for: only the central or a hub writes a bundle for another device");
    return CAIRN_HANDLED_REPLY;
  }
  if (f->type != MSGPACK_OBJECT_STR || f->via.str.size >= sizeof prefix ||
      memchr(f->via.str.ptr, '\0', f->via.str.size) != NULL) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL, "for: a device id (as cairn devices shows it)");
    return CAIRN_HANDLED_REPLY;
  }
  memcpy(prefix, f->via.str.ptr, f->via.str.size);
  prefix[f->via.str.size] = '\0';
  if ((rc = cairn__rpc_resolve_device(r, prefix, id, why, sizeof why)) != 0) {
    cairn__rpc_pack_error(pk, rc, why);
    return CAIRN_HANDLED_REPLY;
  }
  if ((j = path_job(req, sizeof *j, path, pk)) == NULL)
    return CAIRN_HANDLED_REPLY;
  j->sk = r->sk;
  j->down = 1;
  j->hub = r->config->role == CAIRN_ROLE_HUB;
  memcpy(j->self, cairn_store_device(r->store), CAIRN_KEY_BYTES);
  sodium_hex2bin(j->to[0], CAIRN_KEY_BYTES, id, 2 * CAIRN_KEY_BYTES, NULL, NULL, NULL);
  j->n_to = 1; /* that device alone opens it */
  memcpy(j->path, path, sizeof path);
  return submit(r, slot, &j->call, run_export, export_done, j, pk);
}

cairn_handled cairn_bundle_rpc_export(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk) {
  const uint8_t *central = cairn_store_central(r->store);
  const msgpack_object *f = cairn_record_map_get(req, "for");
  export_job *j;
  uint8_t hub[CAIRN_KEY_BYTES];
  char path[PATH_MAX];

  if (f != NULL && f->type != MSGPACK_OBJECT_NIL)
    return export_for(r, slot, req, f, pk);
  if (r->config->role == CAIRN_ROLE_CENTRAL) {
    cairn__rpc_pack_error(pk, CAIRN_EINVAL,
                          "the central does not export its own entries: import bundles here, or "
                          "write one for a device below it with --for DEVICE");
    return CAIRN_HANDLED_REPLY;
  }
  if (central == NULL) {
    cairn__rpc_pack_error(pk, CAIRN_ENOTFOUND,
               "this node has not joined a network: a bundle is sealed to the central's key; "
               "join once with: cairn join TOKEN");
    return CAIRN_HANDLED_REPLY;
  }
  if ((j = path_job(req, sizeof *j, path, pk)) == NULL)
    return CAIRN_HANDLED_REPLY;
  j->sk = r->sk;
  memcpy(j->self, cairn_store_device(r->store), CAIRN_KEY_BYTES);
  memcpy(j->to[0], central, CAIRN_KEY_BYTES);
  j->n_to = 1;
  /* The upstream hub can open it too, when the node syncs through one. */
  if (upstream_key(r, hub) == 0 && memcmp(hub, central, CAIRN_KEY_BYTES) != 0)
    memcpy(j->to[j->n_to++], hub, CAIRN_KEY_BYTES);
  memcpy(j->path, path, sizeof path);
  return submit(r, slot, &j->call, run_export, export_done, j, pk);
}

/* ---- backup ---- */

typedef struct backup_job {
  rpc_call call;
  cairn_backup_header h;
  char path[PATH_MAX];
  char config_path[PATH_MAX];
  char config[CAIRN_BACKUP_CONFIG_MAX + 1];
  uint64_t bytes;
  int encrypt; /* sealed to backup_public_key */
  char why[PATH_MAX + 128];
} backup_job;

/* Reads the config file's text into j->config. Returns 0 or an error. */
static int read_config(backup_job *j) {
  int fd = open(j->config_path, O_RDONLY | O_CLOEXEC);
  size_t got = 0;

  if (fd < 0) {
    snprintf(j->why, sizeof j->why, "%s: %s", j->config_path, strerror(errno));
    return cairn_err_from_errno(errno);
  }
  for (;;) {
    ssize_t n = read(fd, j->config + got, sizeof j->config - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fd);
      if (n < 0) {
        snprintf(j->why, sizeof j->why, "%s: %s", j->config_path, strerror(errno));
        return CAIRN_EIO;
      }
      break;
    }
    got += (size_t)n;
    if (got == sizeof j->config) {
      close(fd);
      snprintf(j->why, sizeof j->why, "%s: longer than %u bytes", j->config_path,
               CAIRN_BACKUP_CONFIG_MAX);
      return CAIRN_ETOOBIG;
    }
  }
  j->h.config = j->config;
  j->h.config_len = got;
  return 0;
}

/* Copies the store into an unnamed temp file beside path. Returns its fd
 * (at offset 0) and its size, or a negative code. */
static int store_copy(cairn_store *s, backup_job *j, uint64_t *size) {
  char tmp[PATH_MAX + 16];
  struct stat st;
  int fd, rc;

  snprintf(tmp, sizeof tmp, "%s.store.XXXXXX", j->path);
  if ((fd = mkstemp(tmp)) < 0) {
    snprintf(j->why, sizeof j->why, "%s: cannot create a file there: %s", j->path,
             strerror(errno));
    return cairn_err_from_errno(errno);
  }
  unlink(tmp);
  if ((rc = cairn_store_copy(s, fd)) == 0 && (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0))
    rc = cairn_err_from_errno(errno);
  if (rc != 0) {
    snprintf(j->why, sizeof j->why, "copying the store failed: %s", cairn_strerror(rc));
    close(fd);
    return rc;
  }
  *size = (uint64_t)st.st_size;
  return fd;
}

/* Where the backup's bytes go: the file as they are, or sealed chunk by
 * chunk (an encrypted backup, protocol/backup.h). */
typedef struct backup_out {
  int fd;
  int sealed;
  cairn_backup_seal seal;
  uint8_t *plain;  /* a chunk being filled (sealed) */
  size_t plain_len;
  uint8_t *chunk;  /* a chunk sealed */
  uint64_t bytes;  /* written to the file */
} backup_out;

/* Starts o on fd; sealed to pk when pk is not NULL. Returns 0 or a code. */
static int out_start(backup_out *o, int fd, const uint8_t *pk) {
  uint8_t start[CAIRN_BACKUP_SEALED_START];
  int rc;

  memset(o, 0, sizeof *o);
  o->fd = fd;
  if (pk == NULL)
    return 0;
  o->sealed = 1;
  o->plain = malloc(CAIRN_BACKUP_SEAL_CHUNK);
  o->chunk = malloc(CAIRN_BACKUP_SEAL_CHUNK + CAIRN_BACKUP_SEAL_ABYTES);
  if (o->plain == NULL || o->chunk == NULL)
    return CAIRN_ENOMEM;
  if ((rc = cairn_backup_seal_start(&o->seal, pk, start)) != 0 ||
      (rc = cairn_file_write_all(fd, start, sizeof start)) != 0)
    return rc;
  o->bytes = sizeof start;
  return 0;
}

static int out_chunk(backup_out *o, int final) {
  size_t n = o->plain_len + CAIRN_BACKUP_SEAL_ABYTES;

  cairn_backup_seal_chunk(&o->seal, o->plain, o->plain_len, final, o->chunk);
  o->plain_len = 0;
  o->bytes += n;
  return cairn_file_write_all(o->fd, o->chunk, n);
}

/* Writes n bytes of the (plain) backup. Returns 0 or a code. */
static int out_write(backup_out *o, const uint8_t *p, size_t n) {
  int rc = 0;

  if (!o->sealed) {
    o->bytes += n;
    return cairn_file_write_all(o->fd, p, n);
  }
  while (rc == 0 && n > 0) {
    size_t k = CAIRN_BACKUP_SEAL_CHUNK - o->plain_len;
    if (k > n)
      k = n;
    memcpy(o->plain + o->plain_len, p, k);
    o->plain_len += k;
    p += k;
    n -= k;
    if (o->plain_len == CAIRN_BACKUP_SEAL_CHUNK)
      rc = out_chunk(o, 0);
  }
  return rc;
}

/* Ends o: the last (shorter) chunk, tagged final, when sealed; frees and
 * wipes what o holds. Returns rc, or the last chunk's error. */
static int out_end(backup_out *o, int rc) {
  if (rc == 0 && o->sealed)
    rc = out_chunk(o, 1);
  if (o->plain != NULL)
    sodium_memzero(o->plain, CAIRN_BACKUP_SEAL_CHUNK);
  free(o->plain);
  free(o->chunk);
  sodium_memzero(&o->seal, sizeof o->seal);
  return rc;
}

/* The public key an encrypted backup is sealed to: backup_public_key of
 * cairn.conf as it is now (read again, so that setting it needs no
 * restart). Returns 0 or CAIRN_ECONFIG with j->why. */
static int backup_recipient(backup_job *j, uint8_t pk[CAIRN_BACKUP_KEY_BYTES]) {
  cairn_config c;
  int rc = cairn_config_load(j->config_path, &c, j->why, sizeof j->why);

  if (rc != 0)
    return CAIRN_ECONFIG;
  if (c.backup_public_key[0] == '\0') {
    snprintf(j->why, sizeof j->why,
             "--encrypt: no backup_public_key in [backup] of %s (make a key pair with: cairn "
             "backup-key new --to FILE, on another machine)",
             j->config_path);
    return CAIRN_ECONFIG;
  }
  if (cairn_backup_public_key_parse(c.backup_public_key, pk) != 0) {
    snprintf(j->why, sizeof j->why,
             "backup_public_key in %s: not a public key (44 characters of base64, as cairn "
             "backup-key new prints it)",
             j->config_path);
    return CAIRN_ECONFIG;
  }
  return 0;
}

/* Writer thread: the backup file, streamed through a hash (and sealed
 * when encrypted). */
static int run_backup(cairn_store *s, void *arg) {
  backup_job *j = arg;
  char tmp[PATH_MAX + 8];
  crypto_generichash_state hs;
  uint8_t hash[CAIRN_BACKUP_HASH_BYTES], pk[CAIRN_BACKUP_KEY_BYTES];
  msgpack_sbuffer start;
  backup_out o;
  uint8_t *buf = NULL, *keys = NULL;
  size_t keys_len = 0;
  int rc, fd, copy;

  j->why[0] = '\0';
  if ((rc = read_config(j)) != 0)
    return rc;
  if (j->encrypt && (rc = backup_recipient(j, pk)) != 0)
    return rc;
  if ((fd = new_file_open(j->path, tmp, j->why, sizeof j->why)) < 0)
    return fd;
  if ((copy = store_copy(s, j, &j->h.store_bytes)) < 0)
    return new_file_finish(fd, tmp, j->path, copy, j->why, sizeof j->why);
  /* the key store after the store: it holds every key the copy needs */
  if ((rc = cairn_store_keys_copy(s, &keys, &keys_len)) != 0) {
    snprintf(j->why, sizeof j->why, "copying the key store failed: %s", cairn_strerror(rc));
    close(copy);
    return new_file_finish(fd, tmp, j->path, rc, j->why, sizeof j->why);
  }
  j->h.keys_bytes = keys_len;
  msgpack_sbuffer_init(&start);
  crypto_generichash_init(&hs, NULL, 0, sizeof hash);
  rc = out_start(&o, fd, j->encrypt ? pk : NULL);
  if (rc == 0)
    rc = cairn_backup_pack_start(&start, &j->h);
  if (rc == 0) {
    crypto_generichash_update(&hs, (const uint8_t *)start.data, start.size);
    rc = out_write(&o, (const uint8_t *)start.data, start.size);
  }
  msgpack_sbuffer_destroy(&start);
  if (rc == 0 && (buf = malloc(1 << 20)) == NULL)
    rc = CAIRN_ENOMEM;
  for (uint64_t left = j->h.store_bytes; rc == 0 && left > 0;) {
    ssize_t n = read(copy, buf, left < (1u << 20) ? (size_t)left : (1u << 20));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = n < 0 ? cairn_err_from_errno(errno) : CAIRN_EIO;
      break;
    }
    crypto_generichash_update(&hs, buf, (size_t)n);
    rc = out_write(&o, buf, (size_t)n);
    left -= (uint64_t)n;
  }
  free(buf);
  close(copy);
  if (rc == 0 && keys_len > 0) {
    crypto_generichash_update(&hs, keys, keys_len);
    rc = out_write(&o, keys, keys_len);
  }
  sodium_memzero(keys, keys_len);
  free(keys);
  crypto_generichash_final(&hs, hash, sizeof hash);
  if (rc == 0)
    rc = out_write(&o, hash, sizeof hash);
  rc = out_end(&o, rc);
  j->bytes = o.bytes;
  return new_file_finish(fd, tmp, j->path, rc, j->why, sizeof j->why);
}

static void backup_done(cairn_write_req *req, void *arg) {
  backup_job *j = arg;
  msgpack_sbuffer frame;
  msgpack_packer pk;
  cairn_slot *slot;

  if (req->job_rc == 0)
    cairn_log_info("backup: %llu bytes (the store's copy %llu)%s to %s",
                   (unsigned long long)j->bytes, (unsigned long long)j->h.store_bytes,
                   j->encrypt ? ", encrypted," : "", j->path);
  else
    cairn_log_warn("backup to %s failed: %s", j->path,
                   j->why[0] ? j->why : cairn_strerror(req->job_rc));
  if ((slot = reply_file(&j->call, req->job_rc, j->why, j->path, 3, &frame, &pk)) != NULL) {
    if (req->job_rc == 0) {
      cairn__rpc_pack_str(&pk, "bytes");
      msgpack_pack_uint64(&pk, j->bytes);
      cairn__rpc_pack_str(&pk, "store_bytes");
      msgpack_pack_uint64(&pk, j->h.store_bytes);
      cairn__rpc_pack_str(&pk, "encrypted");
      cairn__rpc_pack_bool(&pk, j->encrypt);
    }
    cairn_server_reply(slot, &frame);
  }
  sodium_memzero(j->h.secret, sizeof j->h.secret);
  free(j);
}

/* What a backup's header says of this node. */
static void backup_job_fill(backup_job *j, const char *config_path, const uint8_t *device,
                            const char *role, const uint8_t *sk) {
  snprintf(j->config_path, sizeof j->config_path, "%s", config_path);
  sodium_bin2hex(j->h.device, sizeof j->h.device, device, CAIRN_KEY_BYTES);
  snprintf(j->h.role, sizeof j->h.role, "%s", role);
  j->h.made = (int64_t)time(NULL);
  memcpy(j->h.secret, sk, sizeof j->h.secret);
}

cairn_handled cairn_bundle_rpc_backup(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk) {
  backup_job *j;
  char path[PATH_MAX];

  if ((j = path_job(req, sizeof *j, path, pk)) == NULL)
    return CAIRN_HANDLED_REPLY;
  memcpy(j->path, path, sizeof path);
  {
    const msgpack_object *e = cairn_record_map_get(req, "encrypt");
    j->encrypt = e != NULL && e->type == MSGPACK_OBJECT_BOOLEAN && e->via.boolean;
  }
  backup_job_fill(j, r->config_path, cairn_store_device(r->store),
                  cairn_config_role_name(r->config->role), r->sk);
  return submit(r, slot, &j->call, run_backup, backup_done, j, pk);
}

int cairn_bundle_rpc_backup_write(cairn_store *s, const char *path, const char *config_path,
                                  const char *role, const uint8_t *sk, uint64_t *bytes,
                                  char *why, size_t whylen) {
  backup_job *j = calloc(1, sizeof *j);
  int rc;

  *bytes = 0;
  if (j == NULL) {
    snprintf(why, whylen, "out of memory");
    return CAIRN_ENOMEM;
  }
  if (snprintf(j->path, sizeof j->path, "%s", path) >= (int)sizeof j->path) {
    snprintf(why, whylen, "%s: path too long", path);
    free(j);
    return CAIRN_EINVAL;
  }
  backup_job_fill(j, config_path, cairn_store_device(s), role, sk);
  if ((rc = run_backup(s, j)) == 0)
    *bytes = j->bytes;
  else
    snprintf(why, whylen, "%s", j->why[0] ? j->why : cairn_strerror(rc));
  sodium_memzero(j->h.secret, sizeof j->h.secret);
  free(j);
  return rc;
}

/* ---- import ---- */

/* Reads the whole bundle file at path into *buf (caller frees), refusing
 * anything but a regular file of at most CAIRN_BUNDLE_MAX bytes before
 * reading it. */
static int read_bundle_file(const char *path, uint8_t **buf, size_t *len, char *why,
                            size_t whylen) {
  struct stat st;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

  *buf = NULL;
  *len = 0;
  if (fd < 0) {
    rc = cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: %s", path, strerror(errno));
    return rc;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "%s: not a regular file", path);
    close(fd);
    return CAIRN_EINVAL;
  }
  if ((uint64_t)st.st_size > CAIRN_BUNDLE_MAX) {
    snprintf(why, whylen, "%s: larger than %u MiB: not a bundle cairn wrote", path,
             CAIRN_BUNDLE_MAX >> 20);
    close(fd);
    return CAIRN_ETOOBIG;
  }
  if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
    close(fd);
    return CAIRN_ENOMEM;
  }
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) { /* a file that shrank is read as the truncated file it is */
      if (n < 0) {
        rc = cairn_err_from_errno(errno);
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
      }
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  if (rc != 0) {
    free(*buf);
    *buf = NULL;
    return rc;
  }
  *len = got;
  return 0;
}

/* Whether the bundle's author is one of the keys a classroom pinned: its
 * central or its upstream hub. */
static int from_above(const import_job *j) {
  for (size_t i = 0; i < j->n_above; i++)
    if (sodium_memcmp(j->above[i], j->author, CAIRN_KEY_BYTES) == 0)
      return 1;
  return 0;
}

/* Writer thread: reads and opens the bundle (once: a job retried after the
 * map grew keeps it), checks its author, applies its entries. */
static int run_import(cairn_store *s, void *arg) {
  import_job *j = arg;
  char role[16], hex[9];
  cairn_scope scope;
  int rc;

  if (!j->opened) {
    uint8_t *file;
    size_t len;
    if ((rc = read_bundle_file(j->path, &file, &len, j->why, sizeof j->why)) != 0)
      return rc;
    rc = cairn_bundle_open(file, len, j->sk, j->author, &j->payload, &j->payload_len, j->why,
                           sizeof j->why);
    free(file);
    /* A classroom reads only what comes down to it: the author (known
     * once the signature verified) must be its central or its hub. */
    if (j->classroom && (rc == 0 || rc == CAIRN_EPERM) && !from_above(j)) {
      sodium_bin2hex(hex, sizeof hex, j->author, 4);
      snprintf(j->why, sizeof j->why,
               "%s written by device %s: only the central or this node's hub writes a bundle "
               "for a classroom; nothing applied",
               rc == 0 ? "the bundle was" : "the bundle is not addressed to this node, and was",
               hex);
      return CAIRN_EPERM;
    }
    if (rc != 0)
      return rc;
    j->opened = 1;
  }
  sodium_bin2hex(hex, sizeof hex, j->author, 4);
  rc = cairn_store_device_scope(s, j->author, &scope, role);
  if (rc == CAIRN_ENOTFOUND && j->classroom)
    rc = 0; /* its pinned hub, whose device record it may not hold */
  if (rc == CAIRN_ENOTFOUND || rc == CAIRN_EPERM) {
    snprintf(j->why, sizeof j->why,
             rc == CAIRN_EPERM ? "the bundle's author %s is a revoked device: nothing applied"
                               : "the bundle's author %s is not an enrolled device: nothing "
                                 "applied",
             hex);
    return CAIRN_EPERM;
  }
  if (rc != 0)
    return rc;
  memset(&j->res, 0, sizeof j->res);
  rc = cairn_store_apply_synced(s, j->payload, j->payload_len, &j->res);
  if (rc != 0)
    snprintf(j->why, sizeof j->why, "the bundle's entries were refused, nothing applied: %s",
             j->res.reason[0] ? j->res.reason : cairn_strerror(rc));
  return rc;
}

static void import_done(cairn_write_req *req, void *arg) {
  import_job *j = arg;
  msgpack_sbuffer frame;
  msgpack_packer pk;
  cairn_slot *slot;
  char hex[65];

  sodium_bin2hex(hex, sizeof hex, j->author, sizeof j->author);
  if (req->job_rc == 0)
    cairn_metrics_bundle_import(j->metrics);
  if (req->job_rc == 0)
    cairn_log_info("bundle import from %.8s (%s): applied %zu, refused %zu%s%s", hex, j->path,
                   j->res.applied, j->res.refused, j->res.refused ? ": " : "", j->res.reason);
  else
    cairn_log_warn("bundle import of %s refused: %s", j->path,
                   j->why[0] ? j->why : cairn_strerror(req->job_rc));
  if ((slot = reply_start(&j->call, &frame, &pk)) != NULL) {
    if (req->job_rc != 0) {
      cairn__rpc_pack_error(&pk, req->job_rc, j->why);
    } else {
      cairn__rpc_pack_ok(&pk, 4);
      cairn__rpc_pack_str(&pk, "applied");
      msgpack_pack_uint64(&pk, j->res.applied);
      cairn__rpc_pack_str(&pk, "refused");
      msgpack_pack_uint64(&pk, j->res.refused);
      cairn__rpc_pack_str(&pk, "reason");
      cairn__rpc_pack_str(&pk, j->res.reason);
      cairn__rpc_pack_str(&pk, "author");
      cairn__rpc_pack_str(&pk, hex);
    }
    cairn_server_reply(slot, &frame);
  }
  if (j->payload != NULL)
    sodium_memzero(j->payload, j->payload_len);
  free(j->payload);
  free(j);
}

cairn_handled cairn_bundle_rpc_import(cairn_rpc *r, cairn_slot *slot, const msgpack_object *req,
                                      msgpack_packer *pk) {
  import_job *j;
  char path[PATH_MAX];

  if ((j = path_job(req, sizeof *j, path, pk)) == NULL)
    return CAIRN_HANDLED_REPLY;
  j->sk = r->sk;
  j->metrics = r->metrics;
  memcpy(j->path, path, sizeof path);
  if (r->config->role == CAIRN_ROLE_CLASSROOM) {
    const uint8_t *central = cairn_store_central(r->store);
    j->classroom = 1;
    if (central != NULL)
      memcpy(j->above[j->n_above++], central, CAIRN_KEY_BYTES);
    if (upstream_key(r, j->above[j->n_above]) == 0)
      j->n_above++;
  }
  return submit(r, slot, &j->call, run_import, import_done, j, pk);
}
