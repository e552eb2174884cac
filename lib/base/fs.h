/* File helpers: atomic writes, bounded reads, directory creation. */
#ifndef CRIO_BASE_FS_H
#define CRIO_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replaces `path` atomically with `len` bytes of `data`: a temporary file in
 * the same directory is written, fsynced and renamed over `path`, then the
 * directory is fsynced.  A crash leaves the old or the new file, never a torn
 * one; a stale temporary is named ".tmp-<name>-XXXXXX" so that a later start
 * can remove it (crio_fs_remove_temporaries).
 */
int crio_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * As crio_fs_write_atomic, without the fsyncs: a crash of the process still
 * leaves the old or the new file, a power loss may leave either or neither.
 * For what cannot outlive a reboot anyway: files under the runroot, and
 * records of objects still being made (after a reboot nothing they could
 * describe exists, and a start cleans up what has no record).
 */
int crio_fs_write_atomic_volatile(const char *path, const void *data, size_t len, mode_t mode);

/* Writes all `len` bytes (retrying short writes and EINTR); -1 with errno on failure. */
int crio_fs_write_all(int fd, const void *data, size_t len);

/* Removes ".tmp-*" files left in `dir` by interrupted atomic writes.  Returns the count removed, or <0. */
int crio_fs_remove_temporaries(const char *dir);

/*
 * Reads a whole file into a NUL-terminated buffer the caller frees.
 * Errors: the open/read errno mapped to a code; CRIO_ENOMEM when the file is
 * larger than `max` bytes (the message says so).
 */
int crio_fs_read_file(char **out, size_t *len, const char *path, size_t max);

/*
 * Removes `name` under directory `dirfd` (AT_FDCWD for a path) and, for a
 * directory, everything below it, never following symlinks.  A missing
 * entry is not an error.
 */
int crio_fs_remove_tree(int dirfd, const char *name);

/* mkdir -p with `mode` for the directories it creates. */
int crio_fs_mkdir_p(const char *path, mode_t mode);

#endif
