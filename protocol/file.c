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

int cairn_file_create_secret(const char *path, const void *p, size_t n) {
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600), rc;

  if (fd < 0)
    return errno == EEXIST ? CAIRN_EEXISTS : cairn_err_from_errno(errno);
  rc = cairn_file_write_all(fd, p, n);
  if (rc == 0 && fsync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (close(fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0)
    rc = cairn_file_sync_parent(path);
  if (rc != 0)
    unlink(path);
  return rc;
}
