/* error.c: strings for the CAIRN_E* table. */
#include "error.h"

#include <errno.h>

const char *cairn_strerror(int err) {
  switch (err) {
  case CAIRN_OK:
    return "success";
#define XX(name, msg)                                                          \
  case CAIRN_E##name:                                                          \
    return msg;
    CAIRN_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char *cairn_err_name(int err) {
  switch (err) {
  case CAIRN_OK:
    return "OK";
#define XX(name, msg)                                                          \
  case CAIRN_E##name:                                                          \
    return "E" #name;
    CAIRN_ERRNO_MAP(XX)
#undef XX
  }
  return "EUNKNOWN";
}

int cairn_err_from_errno(int e) {
  if (e < 0)
    e = -e;
  switch (e) {
  case 0:
    return CAIRN_OK;
  case ENOSPC:
  case EDQUOT:
    return CAIRN_ENOSPC;
  case ENOMEM:
    return CAIRN_ENOMEM;
  case EACCES:
  case EPERM:
    return CAIRN_EPERM;
  case ENOENT:
    return CAIRN_ENOTFOUND;
  case EEXIST:
    return CAIRN_EEXISTS;
  case EINVAL:
    return CAIRN_EINVAL;
  case EAGAIN:
    return CAIRN_EAGAIN;
  default:
    return CAIRN_EIO;
  }
}
