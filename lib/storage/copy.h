/* Copying a layer tree exactly (the vfs driver's layers are full copies). */
#ifndef CRIO_STORAGE_COPY_H
#define CRIO_STORAGE_COPY_H

/*
 * Copies everything under directory `src_fd` into the empty directory
 * `dst_fd`: regular files (data via copy_file_range), directories, symlinks,
 * device nodes and fifos, hard links (kept as links), owners, modes
 * (setuid/setgid/sticky included), timestamps and extended attributes
 * (trusted.* and security.* included, as root).  Never follows a symlink.
 * Errors: the errno of the failing operation, naming the path.
 */
int crio_copy_tree(int src_fd, int dst_fd);

#endif
