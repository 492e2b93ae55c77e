/*
 * error.h: the one table of cairn error codes.
 *
 * Every cairn function that can fail returns 0 on success or one of the
 * negative CAIRN_E* codes below. LMDB, libuv, libsodium and errno values are
 * translated once, at the edge of the module that called them.
 *
 * cairn_strerror() and cairn_err_name() return pointers to static strings;
 * the caller never frees them. An unknown code yields "unknown error" /
 * "EUNKNOWN", never NULL.
 */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

/* XX(name, sentence): codes are -1, -2, ... in this order. Append only:
 * the numbers travel on the local socket. */
#define CAIRN_ERRNO_MAP(XX)                                                  \
  XX(INVAL, "invalid argument")                                              \
  XX(NOMEM, "out of memory")                                                 \
  XX(AGAIN, "need more input")                                               \
  XX(MALFORMED, "malformed message")                                         \
  XX(TOOBIG, "too large")                                                    \
  XX(BADSIG, "signature does not verify")                                    \
  XX(BADCHAIN, "hash chain is broken")                                       \
  XX(GAP, "sequence number gap")                                             \
  XX(VERSION, "unsupported format version")                                  \
  XX(NOTFOUND, "not found")                                                  \
  XX(EXISTS, "already exists")                                               \
  XX(RANGE, "value out of range")                                            \
  XX(UTF8, "invalid UTF-8")                                                  \
  XX(DATE, "invalid date")                                                   \
  XX(IO, "input/output error")                                               \
  XX(NOSPC, "disk full")                                                     \
  XX(MAPFULL, "database map full")                                           \
  XX(LOCKED, "data directory is in use by another cairnd")                   \
  XX(CORRUPT, "data is corrupt")                                             \
  XX(PERM, "permission denied")                                              \
  XX(NOTRUNNING, "cairnd is not running")                                    \
  XX(CLOSED, "connection closed")                                            \
  XX(NOKEY, "no device key")                                                 \
  XX(CONFIG, "bad configuration")                                            \
  XX(INTERNAL, "internal error")                                             \
  XX(RESTORED, "restored from a backup: sync with the upstream before writing") \
  XX(ERASED, "the student was erased")

/* Positions in the table (internal); the public codes are their negation. */
enum cairn__errno_pos {
  CAIRN__P_ZERO = 0,
#define CAIRN__ERR_POS(name, msg) CAIRN__P_##name,
  CAIRN_ERRNO_MAP(CAIRN__ERR_POS)
#undef CAIRN__ERR_POS
  CAIRN__P_COUNT
};

/* The codes: CAIRN_EINVAL == -1, CAIRN_ENOMEM == -2, ... */
enum cairn_errno {
  CAIRN_OK = 0,
#define CAIRN__ERR_NEG(name, msg) CAIRN_E##name = -CAIRN__P_##name,
  CAIRN_ERRNO_MAP(CAIRN__ERR_NEG)
#undef CAIRN__ERR_NEG
};

/* Returns a short English sentence for err ("disk full"). Static storage. */
const char *cairn_strerror(int err);

/* Returns the symbolic name of err without prefix ("ENOSPC"). Static storage. */
const char *cairn_err_name(int err);

/* Translates a positive or negative errno value into a CAIRN_E* code
 * (ENOSPC -> CAIRN_ENOSPC, ENOMEM -> CAIRN_ENOMEM, EACCES -> CAIRN_EPERM,
 * anything else -> CAIRN_EIO). */
int cairn_err_from_errno(int e);

#endif
