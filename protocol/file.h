/*
 * file.h: durable-file helpers shared by the key file and the config file.
 */
#ifndef CAIRN_FILE_H
#define CAIRN_FILE_H

/* fsyncs the directory that holds path, so that a file just created or
 * renamed into it survives a crash. Returns 0 or a CAIRN_E* code. */
int cairn_file_sync_parent(const char *path);

#endif
