/* config.c: DATA/cairn.conf. One table of options drives the defaults,
 * parsing and validation on load, and the commented file written on save. */
#include "config.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "error.h"
#include "text.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* inih (built with its defaults) reads lines of at most INI_MAX_LINE - 3
 * bytes; a longer line is refused on load and never written on save. */
#define LINE_MAX_BYTES (INI_MAX_LINE - 3)

typedef enum { OPT_ENUM, OPT_TEXT, OPT_INT } option_type;

typedef struct option {
  const char *section;
  const char *name;
  option_type type;
  size_t offset;             /* of the field in cairn_config */
  size_t size;               /* TEXT: the buffer, NUL included */
  int64_t min, max;          /* INT: bounds */
  int64_t def;               /* INT, ENUM: the default value */
  const char *const *names;  /* ENUM: NULL-terminated */
  const int *values;         /* ENUM: the value of each name */
  const char *help;
} option;

static const char *const role_names[] = {"classroom", "hub", "central", NULL};
static const int role_values[] = {CAIRN_ROLE_CLASSROOM, CAIRN_ROLE_HUB, CAIRN_ROLE_CENTRAL};
static const char *const log_names[] = {"error", "warning", "info", "debug", NULL};
static const int log_values[] = {CAIRN_LOG_ERR, CAIRN_LOG_WARNING, CAIRN_LOG_INFO,
                                 CAIRN_LOG_DEBUG};

/* Enums are stored and read as int; the 64-bit options as int64_t (the
 * bounds of map_size_mb keep it far below INT64_MAX). */
_Static_assert(sizeof(cairn_role) == sizeof(int), "cairn_role is int-sized");
_Static_assert(sizeof(cairn_log_level) == sizeof(int), "cairn_log_level is int-sized");

#define ENUM_OPT(sec, field, nm, vals, d, h)                                                 \
  {.section = (sec), .name = #field, .type = OPT_ENUM,                                       \
   .offset = offsetof(cairn_config, field), .def = (d), .names = (nm), .values = (vals),     \
   .help = (h)}
#define TEXT_OPT(sec, field, h)                                                              \
  {.section = (sec), .name = #field, .type = OPT_TEXT,                                       \
   .offset = offsetof(cairn_config, field), .size = sizeof(((cairn_config *)0)->field),      \
   .help = (h)}
#define INT_OPT(sec, field, lo, hi, d, h)                                                    \
  {.section = (sec), .name = #field, .type = OPT_INT,                                        \
   .offset = offsetof(cairn_config, field), .min = (lo), .max = (hi), .def = (d),            \
   .help = (h)}

static const option options[] = {
    ENUM_OPT("device", role, role_names, role_values, CAIRN_ROLE_CLASSROOM,
             "what this device is: classroom (a teacher's device), hub (a campus server) "
             "or central (the district office)"),
    TEXT_OPT("device", campus,
             "the campus this device serves, until it joins (then: the one the central "
             "enrolled it for, kept in its store)"),
    TEXT_OPT("device", classroom,
             "the classroom this device serves (classroom devices), until it joins (then: the "
             "join's)"),
    TEXT_OPT("device", name, "a label for people, e.g. Room 12 laptop"),
    ENUM_OPT("daemon", log_level, log_names, log_values, CAIRN_LOG_INFO,
             "how much cairnd logs"),
    INT_OPT("daemon", map_size_mb, 1, 1048576, 64,
            "initial size of the database map in MiB; it grows when full"),
    TEXT_OPT("sync", listen,
             "host:port where this hub or central accepts sync connections (empty: none)"),
    TEXT_OPT("sync", advertise,
             "host:port written into join tokens for devices to reach this central "
             "(empty: the listen address)"),
    TEXT_OPT("sync", upstream,
             "host:port of the hub or central this node syncs to, instead of the one its "
             "join recorded in its store (empty: the join's)"),
    TEXT_OPT("sync", upstream_key,
             "the upstream's device key (hex), instead of the one its join pinned in its "
             "store (empty: the join's)"),
    TEXT_OPT("sync", network,
             "the deployment's network id (hex): the central's, made by cairn init; on "
             "another node empty (its join keeps it in its store) or the join's"),
    INT_OPT("sync", clock_tolerance_s, 1, 86400, 300,
            "seconds an entry may be dated ahead of this clock; further ahead, it is held "
            "until the central orders it"),
    INT_OPT("sync", handshakes_per_address, 1, 100000, 32,
            "connections from one address that may be in their handshake at once; more are "
            "closed (authenticated links are not limited)"),
    TEXT_OPT("web", web,
             "host:port of the teacher's web page, or off (empty: " CAIRN_CONFIG_WEB_DEFAULT
             " on a classroom, off on a hub or central); beyond loopback it needs TLS"),
    TEXT_OPT("web", web_host,
             "another host:port browsers may use for the page (as in its TLS certificate); "
             "any other Host is refused"),
    INT_OPT("web", web_session_hours, 1, 168, 12,
            "hours a sign-in to the web page lasts (sessions live in memory: restarting "
            "cairnd signs everyone out)"),
    TEXT_OPT("web", web_tls_cert, "PEM file of the web page's TLS certificate chain "
                                  "(empty: plain HTTP, loopback only)"),
    TEXT_OPT("web", web_tls_key, "PEM file of the web page's TLS private key"),
    TEXT_OPT("backup", backup_public_key,
             "the public key cairn backup --encrypt seals backups to (base64, as cairn "
             "backup-key new prints it; its secret key stays off this machine)"),
    TEXT_OPT("mirror", postgres,
             "central or hub: the PostgreSQL database to mirror the store into (a libpq "
             "conninfo or postgresql:// URI; no password: PGPASSFILE or passfile=)"),
    INT_OPT("retention", erase_withdrawn_after_days, 0, 36500, 0,
            "central: cairn retention erases every student withdrawn at least this many days "
            "ago (by their withdrawal date), for good; 0: no rule"),
    INT_OPT("test", clock_offset_ms, -315360000000LL, 315360000000LL, 0,
            "TEST ONLY: shifts this node's clock by this many milliseconds to exercise "
            "clock skew; leave at 0"),
};

_Static_assert(ARRAY_LEN(role_names) == ARRAY_LEN(role_values) + 1, "one value per role name");
_Static_assert(ARRAY_LEN(log_names) == ARRAY_LEN(log_values) + 1, "one value per level name");

/* ---- typed access to the field of an option ---- */

static void set_int(cairn_config *c, const option *o, int64_t v) {
  if (o->type == OPT_ENUM) {
    int e = (int)v;
    memcpy((char *)c + o->offset, &e, sizeof e);
  } else {
    memcpy((char *)c + o->offset, &v, sizeof v);
  }
}

static int64_t get_int(const cairn_config *c, const option *o) {
  if (o->type == OPT_ENUM) {
    int e;
    memcpy(&e, (const char *)c + o->offset, sizeof e);
    return e;
  }
  int64_t v;
  memcpy(&v, (const char *)c + o->offset, sizeof v);
  return v;
}

static char *text_field(cairn_config *c, const option *o) { return (char *)c + o->offset; }

static const char *text_field_const(const cairn_config *c, const option *o) {
  return (const char *)c + o->offset;
}

/* Returns the name of value v of an ENUM option, or NULL. */
static const char *enum_name(const option *o, int64_t v) {
  for (size_t i = 0; o->names[i]; i++)
    if (o->values[i] == v)
      return o->names[i];
  return NULL;
}

void cairn_config_defaults(cairn_config *c) {
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < ARRAY_LEN(options); i++)
    if (options[i].type != OPT_TEXT)
      set_int(c, &options[i], options[i].def);
}

const char *cairn_config_web_address(const cairn_config *c) {
  if (strcmp(c->web, "off") == 0)
    return NULL;
  if (c->web[0] != '\0')
    return c->web;
  return c->role == CAIRN_ROLE_CLASSROOM ? CAIRN_CONFIG_WEB_DEFAULT : NULL;
}

const char *cairn_config_role_name(cairn_role r) {
  for (size_t i = 0; role_names[i]; i++)
    if (role_values[i] == (int)r)
      return role_names[i];
  return "unknown";
}

int cairn_config_role_parse(const char *s, cairn_role *r) {
  for (size_t i = 0; role_names[i]; i++) {
    if (strcmp(role_names[i], s) == 0) {
      *r = (cairn_role)role_values[i];
      return 0;
    }
  }
  return CAIRN_EINVAL;
}

/* ---- validation, shared by load and save ---- */

static int say(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes one line to msg and returns CAIRN_ECONFIG. */
static int say(char *msg, size_t msglen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msglen, fmt, ap);
  va_end(ap);
  return CAIRN_ECONFIG;
}

static int text_ok(const option *o, const char *s, char *msg, size_t msglen) {
  size_t len = strlen(s);
  if (len > o->size - 1)
    return say(msg, msglen, "%s: longer than %zu bytes", o->name, o->size - 1);
  if (cairn_text_check(o->name, s, len, 0, msg, msglen) != 0)
    return CAIRN_ECONFIG;
  /* What loads must save and read back the same: inih strips outer blanks,
   * takes " ;" (or a leading ";") as a comment, and reads lines of at most
   * LINE_MAX_BYTES, which "name = value" must fit. */
  if (s[0] == ';' || s[0] == ' ' || (len > 0 && s[len - 1] == ' ') || strstr(s, " ;"))
    return say(msg, msglen, "%s: must not start with ';', start or end with a space, "
                            "or contain ' ;'", o->name);
  if (strlen(o->name) + 3 + len > LINE_MAX_BYTES)
    return say(msg, msglen, "%s: too long to fit on one line of cairn.conf", o->name);
  return 0;
}

static int int_refused(const option *o, char *msg, size_t msglen) {
  return say(msg, msglen, "%s: must be a whole number from %lld to %lld", o->name,
             (long long)o->min, (long long)o->max);
}

static int int_ok(const option *o, int64_t v, char *msg, size_t msglen) {
  return v < o->min || v > o->max ? int_refused(o, msg, msglen) : 0;
}

static int enum_refused(const option *o, char *msg, size_t msglen) {
  char allowed[128] = "";
  size_t used = 0;
  for (size_t i = 0; o->names[i]; i++)
    used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "",
                             o->names[i]);
  return say(msg, msglen, "%s: must be one of %s", o->name, allowed);
}

/* Parses [-]DIGITS exactly; anything else (spaces, '+', 0x, 1e3) is refused. */
static int parse_int(const char *s, int64_t *v) {
  const char *d = s[0] == '-' ? s + 1 : s;
  char *end;
  if (!*d || strspn(d, "0123456789") != strlen(d))
    return CAIRN_EINVAL;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno != 0 || *end)
    return CAIRN_EINVAL;
  *v = x;
  return 0;
}

/* Applies one name = value to c. Returns 0 or CAIRN_ECONFIG with msg. */
static int apply(cairn_config *c, const option *o, const char *value, char *msg, size_t msglen) {
  int64_t v;
  int rc;
  switch (o->type) {
  case OPT_ENUM:
    for (size_t i = 0; o->names[i]; i++) {
      if (strcmp(o->names[i], value) == 0) {
        set_int(c, o, o->values[i]);
        return 0;
      }
    }
    return enum_refused(o, msg, msglen);
  case OPT_TEXT:
    rc = text_ok(o, value, msg, msglen);
    if (rc == 0)
      memcpy(text_field(c, o), value, strlen(value) + 1);
    return rc;
  case OPT_INT:
    if (parse_int(value, &v) != 0)
      return int_refused(o, msg, msglen);
    rc = int_ok(o, v, msg, msglen);
    if (rc == 0)
      set_int(c, o, v);
    return rc;
  }
  return say(msg, msglen, "%s: option type %d has no parser", o->name, (int)o->type);
}

/* ---- load ---- */

/* Feeds inih one line at a time, counting lines so a handler error can name
 * its line. A line too long for inih is replaced by a blank one and noted. */
typedef struct line_reader {
  FILE *f;
  int line;
  int too_long; /* first such line, or 0 */
} line_reader;

static char *read_line(char *str, int num, void *stream) {
  line_reader *r = stream;
  size_t n;
  int ch;
  if (!fgets(str, num, r->f))
    return NULL;
  r->line++;
  n = strlen(str);
  if (n > 0 && str[n - 1] == '\n')
    return str;
  ch = fgetc(r->f);
  if (ch == EOF || ch == '\n')
    return str;
  while (ch != EOF && ch != '\n')
    ch = fgetc(r->f);
  if (!r->too_long)
    r->too_long = r->line;
  strcpy(str, "\n");
  return str;
}

typedef struct load_ctx {
  cairn_config *c;
  line_reader reader;
  unsigned char seen[ARRAY_LEN(options)];
  int fail_line; /* first line refused by on_option, or 0 */
  char msg[256];
} load_ctx;

static int on_option(void *user, const char *section, const char *name, const char *value) {
  load_ctx *x = user;
  char msg[sizeof x->msg];
  int rc = CAIRN_ECONFIG;
  size_t i;

  for (i = 0; i < ARRAY_LEN(options); i++)
    if (strcmp(options[i].section, section) == 0 && strcmp(options[i].name, name) == 0)
      break;
  if (i == ARRAY_LEN(options)) {
    char shown_key[CAIRN_TEXT_SHOWN_MAX], shown_sec[CAIRN_TEXT_SHOWN_MAX];
    cairn_text_shown(shown_key, name, strlen(name));
    cairn_text_shown(shown_sec, section, strlen(section));
    say(msg, sizeof msg, "unknown option '%s' in [%s]", shown_key, shown_sec);
  } else if (x->seen[i]) {
    say(msg, sizeof msg, "%s: set twice", options[i].name);
  } else {
    x->seen[i] = 1;
    rc = apply(x->c, &options[i], value, msg, sizeof msg);
  }
  if (rc != 0 && !x->fail_line) {
    x->fail_line = x->reader.line;
    memcpy(x->msg, msg, sizeof msg);
  }
  return rc == 0;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

int cairn_config_load(const char *path, cairn_config *c, char *why, size_t whylen) {
  load_ctx x = {.c = c};
  int rc, first;

  cairn_config_defaults(c);
  x.reader.f = fopen(path, "re");
  if (!x.reader.f) {
    rc = errno == ENOENT ? CAIRN_ENOTFOUND : cairn_err_from_errno(errno);
    snprintf(why, whylen, "%s: %s", path, cairn_strerror(rc));
    return rc;
  }
  rc = ini_parse_stream(read_line, &x.reader, on_option, &x);
  fclose(x.reader.f);
  if (rc < 0) {
    snprintf(why, whylen, "%s: out of memory", path);
    return CAIRN_ENOMEM;
  }
  first = rc;
  if (x.reader.too_long && (first == 0 || x.reader.too_long < first))
    first = x.reader.too_long;
  if (first == 0)
    return 0;
  if (first == x.reader.too_long)
    snprintf(why, whylen, "%s:%d: line longer than %d bytes", base_name(path), first,
             LINE_MAX_BYTES);
  else if (first == x.fail_line)
    snprintf(why, whylen, "%s:%d: %s", base_name(path), first, x.msg);
  else
    snprintf(why, whylen, "%s:%d: expected [section] or name = value", base_name(path), first);
  return CAIRN_ECONFIG;
}

/* ---- save ---- */

/* Appends to a fixed buffer; *used past len means it did not fit. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(*used < len ? buf + *used : NULL, *used < len ? len - *used : 0, fmt, ap);
  va_end(ap);
  *used += n > 0 ? (size_t)n : 0;
}

/* Checks the value c holds for option o as loading it would: 0, or
 * CAIRN_ECONFIG with msg naming o. */
static int option_check(const cairn_config *c, const option *o, char *msg, size_t msglen) {
  const char *text;
  switch (o->type) {
  case OPT_ENUM:
    return enum_name(o, get_int(c, o)) != NULL ? 0 : enum_refused(o, msg, msglen);
  case OPT_TEXT:
    text = text_field_const(c, o);
    if (memchr(text, '\0', o->size) == NULL)
      return say(msg, msglen, "%s: longer than %zu bytes", o->name, o->size - 1);
    return text_ok(o, text, msg, msglen);
  case OPT_INT:
    return int_ok(o, get_int(c, o), msg, msglen);
  }
  return say(msg, msglen, "%s: option type %d has no check", o->name, (int)o->type);
}

int cairn_config_check(const cairn_config *c, char *why, size_t whylen) {
  for (size_t i = 0; i < ARRAY_LEN(options); i++) {
    int rc = option_check(c, &options[i], why, whylen);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The "name = value" line of o, after checking that it reads back as it is. */
static int option_line(const cairn_config *c, const option *o, char *line, size_t linelen) {
  char msg[256];
  const char *text;
  int n = -1;
  if (option_check(c, o, msg, sizeof msg) != 0)
    return CAIRN_EINVAL;
  switch (o->type) {
  case OPT_ENUM:
    n = snprintf(line, linelen, "%s = %s", o->name, enum_name(o, get_int(c, o)));
    break;
  case OPT_TEXT:
    text = text_field_const(c, o);
    /* "name = " when empty too: every line reads "name = value", so that
     * one pattern finds an option set or not (an empty [sync] upstream is
     * one a hand may set: join_state.h) */
    n = snprintf(line, linelen, "%s = %s", o->name, text);
    break;
  case OPT_INT:
    n = snprintf(line, linelen, "%s = %lld", o->name, (long long)get_int(c, o));
    break;
  }
  return n < 0 || n > LINE_MAX_BYTES ? CAIRN_EINVAL : 0;
}

/* The "(...)" after an option's help: its values or bounds and default. */
static void option_range(const option *o, char *buf, size_t len) {
  size_t used = 0;
  switch (o->type) {
  case OPT_ENUM:
    append(buf, len, &used, "one of");
    for (size_t i = 0; o->names[i]; i++)
      append(buf, len, &used, "%s %s", i ? "," : "", o->names[i]);
    append(buf, len, &used, "; default %s", enum_name(o, o->def));
    break;
  case OPT_TEXT:
    append(buf, len, &used, "at most %zu bytes; default empty", o->size - 1);
    break;
  case OPT_INT:
    append(buf, len, &used, "%lld to %lld; default %lld", (long long)o->min, (long long)o->max,
           (long long)o->def);
    break;
  }
}

int cairn_config_save(const char *path, const cairn_config *c) {
  char buf[8192], line[LINE_MAX_BYTES + 1], range[128], tmp[PATH_MAX];
  const char *section = "";
  size_t used = 0;
  int fd, rc;

  append(buf, sizeof buf, &used,
         "# cairn.conf: read by cairnd at start. Lines starting with # are comments.\n");
  for (size_t i = 0; i < ARRAY_LEN(options); i++) {
    const option *o = &options[i];
    rc = option_line(c, o, line, sizeof line);
    if (rc != 0)
      return rc;
    if (strcmp(section, o->section) != 0) {
      section = o->section;
      append(buf, sizeof buf, &used, "\n[%s]\n", section);
    }
    option_range(o, range, sizeof range);
    append(buf, sizeof buf, &used, "# %s (%s)\n%s\n", o->help, range, line);
  }
  if (used >= sizeof buf)
    return CAIRN_EINTERNAL;

  if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp)
    return CAIRN_EINVAL;
  fd = mkstemp(tmp);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  rc = fchmod(fd, 0640) != 0 ? cairn_err_from_errno(errno) : 0;
  if (rc == 0)
    rc = cairn_file_write_all(fd, buf, used);
  if (rc == 0 && fsync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc != 0) {
    unlink(tmp);
    return rc;
  }
  return cairn_file_sync_parent(path);
}

size_t cairn_config_option_count(void) { return ARRAY_LEN(options); }

void cairn_config_option_describe(size_t i, cairn_config_option_doc *d) {
  const option *o = &options[i];
  d->section = o->section;
  d->name = o->name;
  d->help = o->help;
  option_range(o, d->range, sizeof d->range);
}
