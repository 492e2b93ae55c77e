/*
 * file.h: durable-file helpers shared by the key files and the config file.
 */
#ifndef CAIRN_FILE_H
#define CAIRN_FILE_H

#include <stddef.h>

/* fsyncs the directory that holds path, so that a file just created or
 * renamed into it survives a crash. Returns 0 or a CAIRN_E* code. */
int cairn_file_sync_parent(const char *path);

/* Writes all n bytes of p to fd, retrying short writes and EINTR. Returns
 * 0 or a CAIRN_E* code (CAIRN_ENOSPC when the disk is full). */
int cairn_file_write_all(int fd, const void *p, size_t n);

/* Creates path exclusively, mode 0600, holding the n bytes of p, fsynced,
 * then fsyncs its directory: a secret (a key file). Returns 0;
 * CAIRN_EEXISTS when path exists (nothing is overwritten); or another
 * code, with nothing left behind. */
int cairn_file_create_secret(const char *path, const void *p, size_t n);

#endif
