/* file.c: durable-file helpers. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

int cairn_file_sync_parent(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  int fd, rc = 0;
  if (!slash) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    if ((size_t)(slash - path) >= sizeof dir)
      return CAIRN_EINVAL;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
  }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  if (fsync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  close(fd);
  return rc;
}


int cairn_file_write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;

  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return cairn_err_from_errno(errno);
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}
