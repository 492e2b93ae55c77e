/*
 * config.h: DATA/cairn.conf, an INI file read with inih.
 *
 * Every option is one row of a table (section, name, type, bounds, default,
 * help) that drives parsing, validation, the written file and --help alike.
 */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CAIRN_ROLE_CLASSROOM, CAIRN_ROLE_HUB, CAIRN_ROLE_CENTRAL } cairn_role;
typedef enum { CAIRN_LOG_ERR = 3, CAIRN_LOG_WARNING = 4, CAIRN_LOG_INFO = 6, CAIRN_LOG_DEBUG = 7 } cairn_log_level;

typedef struct cairn_config {
  cairn_role role;          /* [device] role = classroom|hub|central */
  char campus[65];          /* [device] campus */
  char classroom[65];       /* [device] classroom */
  char name[201];           /* [device] name: a label for people */
  cairn_log_level log_level;/* [daemon] log_level = error|warning|info|debug */
  uint64_t map_size_mb;     /* [daemon] map_size_mb: initial LMDB map, grows when full */
  char listen[128];         /* [sync] listen: host:port to accept sync on ("" none) */
  char advertise[128];      /* [sync] advertise: host:port put in join tokens */
  char upstream[128];       /* [sync] upstream: host:port to sync to ("" none) */
  char upstream_key[65];    /* [sync] upstream_key: pinned upstream device key, hex */
  char network[65];         /* [sync] network: the deployment's network id, hex */
  int64_t clock_tolerance_s;      /* [sync] clock_tolerance_s: how far ahead an entry may be */
  int64_t handshakes_per_address; /* [sync] handshakes_per_address: unauthenticated, at once */
  char web[128];            /* [web] web: host:port of the web page, "off", or "" for the
                               role's default (cairn_config_web_address) */
  char web_host[128];       /* [web] web_host: another host:port the address bar may show */
  int64_t web_session_hours;/* [web] web_session_hours: how long a sign-in lasts */
  char web_tls_cert[256];   /* [web] web_tls_cert: PEM certificate chain ("" no TLS) */
  char web_tls_key[256];    /* [web] web_tls_key: PEM private key */
  char backup_public_key[64]; /* [backup] backup_public_key: X25519, base64 (cairn backup --encrypt) */
  char postgres[192];       /* [mirror] postgres: libpq connection string of the
                               reporting mirror ("" none; central and hub only) */
  int64_t erase_withdrawn_after_days; /* [retention] erase_withdrawn_after_days: the central's
                               cairn retention erases a student withdrawn this many days
                               ago (0: no rule) */
  int64_t clock_offset_ms;  /* [test] clock_offset_ms: test-only clock skew for the HLC */
} cairn_config;

/* Fills c with the defaults of the table. */
void cairn_config_defaults(cairn_config *c);

/* Reads path into c (defaults first). Returns 0; CAIRN_ENOTFOUND when the
 * file is missing; CAIRN_ECONFIG with why = "cairn.conf:7: log_level: must be
 * one of error, warning, info, debug" on the first bad line. */
int cairn_config_load(const char *path, cairn_config *c, char *why, size_t whylen);

/* Checks every option of c as cairn_config_load would read it back (text
 * with cairn_text_check: one line, no control character). Returns 0, or
 * CAIRN_ECONFIG with why naming the first bad option ("campus: contains a
 * control character (U+001B), which cairn does not store"). */
int cairn_config_check(const cairn_config *c, char *why, size_t whylen);

/* Writes c to path atomically (temp file, fsync, rename, fsync dir), mode
 * 0640, with a comment line per option. Returns 0 or a negative code. */
int cairn_config_save(const char *path, const cairn_config *c);

/* The address the web page is served on: c->web, or when it is empty the
 * role's default (CAIRN_CONFIG_WEB_DEFAULT on a classroom, none on a hub
 * or central). Returns the address, or NULL when the page is off. Borrowed
 * from c or static. */
#define CAIRN_CONFIG_WEB_DEFAULT "127.0.0.1:7421"
const char *cairn_config_web_address(const cairn_config *c);

const char *cairn_config_role_name(cairn_role r);         /* "classroom" */
int cairn_config_role_parse(const char *s, cairn_role *r); /* 0 or CAIRN_EINVAL */

/* One option of the table, as the written file's comment gives it, for
 * the manual page cairn.conf(5). */
typedef struct cairn_config_option_doc {
  const char *section, *name, *help; /* static */
  char range[128]; /* "one of classroom, hub, central; default classroom" */
} cairn_config_option_doc;

/* The number of options, in the order of the written file. */
size_t cairn_config_option_count(void);

/* Fills d with option i (< cairn_config_option_count()). */
void cairn_config_option_describe(size_t i, cairn_config_option_doc *d);

#endif
