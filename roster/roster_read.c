/* roster_read.c: reads an export directory's files into the pure reader,
 * each checked against the size limit before its first byte is read, and
 * then streamed in 64 KiB pieces. */
#include "roster_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define PIECE (64u * 1024u)

/* Opens file f of the export and checks what fstat tells before reading:
 * a regular file no larger than the limit. Returns 0 with *fd, or an error
 * (recorded; *fd is -1). A missing file is CAIRN_ENOTFOUND, not recorded. */
static int open_checked(cairn_roster_reader *rd, int dfd, cairn_roster_file f, int *fd,
                        uint64_t *size) {
  const char *name = cairn_roster_file_name(f);
  struct stat st;

  *fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (*fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return CAIRN_ENOTFOUND;
    return cairn__roster_fail(rd, f, 0, cairn_err_from_errno(e), "cannot be opened: %s", strerror(e));
  }
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return cairn__roster_fail(rd, f, 0, CAIRN_EIO, "not a regular file");
  }
  if ((uint64_t)st.st_size > rd->file_max) {
    close(*fd);
    *fd = -1;
    return cairn__roster_fail(rd, f, 0, CAIRN_ETOOBIG,
                              "%llu bytes, more than the %llu bytes one file may have",
                              (unsigned long long)st.st_size, (unsigned long long)rd->file_max);
  }
  *size = (uint64_t)st.st_size;
  return 0;
}

/* Streams fd into the reader as file f. */
static int stream(cairn_roster_reader *rd, cairn_roster_file f, int fd, unsigned char *buf) {
  if (cairn_roster_reader_begin(rd, f, NULL) != 0)
    return rd->err.code;
  for (;;) {
    ssize_t n = read(fd, buf, PIECE);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cairn__roster_fail(rd, f, 0, CAIRN_EIO, "cannot be read: %s", strerror(errno));
    if (n == 0)
      break;
    if (cairn_roster_reader_feed(rd, buf, (size_t)n, NULL) != 0)
      return rd->err.code;
  }
  return cairn_roster_reader_end(rd, NULL);
}

int cairn_roster_read(const char *dir, const cairn_roster_options *opt, cairn_roster **out,
                      cairn_roster_error *err) {
  cairn_roster_reader *rd;
  unsigned char *buf = NULL;
  int fds[CAIRN_ROSTER_FILES], dfd = -1, rc;
  uint64_t size;

  *out = NULL;
  for (int f = 0; f < CAIRN_ROSTER_FILES; f++)
    fds[f] = -1;
  if ((rd = cairn_roster_reader_new(opt)) == NULL) {
    if (err) {
      memset(err, 0, sizeof *err);
      err->code = CAIRN_ENOMEM;
      err->file = CAIRN_ROSTER_FILES;
      strcpy(err->message, "out of memory");
    }
    return CAIRN_ENOMEM;
  }
  if ((buf = malloc(PIECE)) == NULL) {
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, CAIRN_ENOMEM, "out of memory");
    goto done;
  }
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    int e = errno;
    cairn__roster_fail(rd, CAIRN_ROSTER_FILES, 0, e == ENOENT ? CAIRN_ENOTFOUND : cairn_err_from_errno(e),
                       "the export directory cannot be opened: %s", strerror(e));
    goto done;
  }

  /* The manifest says which files to read. */
  rc = open_checked(rd, dfd, CAIRN_ROSTER_MANIFEST, &fds[CAIRN_ROSTER_MANIFEST], &size);
  if (rc == CAIRN_ENOTFOUND)
    cairn__roster_fail(rd, CAIRN_ROSTER_MANIFEST, 0, CAIRN_ENOTFOUND,
                       "missing: an export starts with its manifest");
  if (rc != 0)
    goto done;
  rd->bytes_total = size;
  if (stream(rd, CAIRN_ROSTER_MANIFEST, fds[CAIRN_ROSTER_MANIFEST], buf) != 0)
    goto done;

  /* Every file it lists is checked before any is read; a missing one is
   * reported by finish, in its place among the whole-export checks. */
  for (int f = CAIRN_ROSTER_MANIFEST + 1; f < CAIRN_ROSTER_FILES; f++) {
    if (cairn_roster_reader_mode(rd, (cairn_roster_file)f) == CAIRN_ROSTER_ABSENT)
      continue;
    rc = open_checked(rd, dfd, (cairn_roster_file)f, &fds[f], &size);
    if (rc == CAIRN_ENOTFOUND)
      continue;
    if (rc != 0)
      goto done;
    rd->bytes_total += size;
  }
  for (int f = CAIRN_ROSTER_MANIFEST + 1; f < CAIRN_ROSTER_FILES; f++)
    if (fds[f] >= 0 && stream(rd, (cairn_roster_file)f, fds[f], buf) != 0)
      goto done;
  cairn_roster_reader_finish(rd, out, NULL);

done:
  rc = *out ? 0 : rd->err.code;
  if (rc && err)
    *err = rd->err;
  for (int f = 0; f < CAIRN_ROSTER_FILES; f++)
    if (fds[f] >= 0)
      close(fds[f]);
  if (dfd >= 0)
    close(dfd);
  free(buf);
  cairn_roster_reader_free(rd);
  return rc;
}
