/*
 * Unpacking one OCI image layer (a tar stream, plain, gzip or zstd) into a
 * layer directory, computing the layer's diff_id on the way.
 *
 * The archive is hostile until proven otherwise: every file system operation
 * is made relative to the target directory's fd, parent directories are
 * resolved with openat2(RESOLVE_IN_ROOT) (or an equivalent component walk
 * with O_NOFOLLOW where the kernel lacks openat2), and a final path component
 * is never followed.  Symlinks in an entry's parent path are followed only
 * inside the target (an absolute or ".."-heavy symlink target is re-rooted
 * at the target directory, as in a chroot); nothing is ever created,
 * modified or linked outside it.
 */
#ifndef CRIO_STORAGE_UNPACK_H
#define CRIO_STORAGE_UNPACK_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    /*
     * The directory is empty and becomes one overlayfs lower layer: an OCI
     * whiteout ".wh.NAME" becomes a 0/0 character device NAME, and an opaque
     * marker "D/.wh..wh..opq" sets trusted.overlay.opaque="y" on D.
     */
    CRIO_UNPACK_OVERLAY,
    /*
     * The directory already holds the lower layers applied (a copy of the
     * parent's tree): ".wh.NAME" deletes NAME, "D/.wh..wh..opq" deletes what
     * D held before this layer.  Entries of this same layer always survive a
     * whiteout or opaque marker of the layer, whatever the archive order.
     */
    CRIO_UNPACK_VFS,
} crio_unpack_mode;

typedef struct {
    char diff_id[7 + 64 + 1]; /* "sha256:<hex>" of the uncompressed tar stream */
    uint64_t tar_bytes;       /* length of the uncompressed tar stream */
    uint64_t entries;         /* tar headers read (files, dirs, links, whiteouts...) */
} crio_unpack_result;

/*
 * Reads the layer blob from `blob_fd` (from its current offset to EOF),
 * detects its compression by magic bytes (gzip 1f 8b, zstd 28 b5 2f fd, else
 * plain tar), and unpacks it into the directory `dirfd`.  The whole
 * uncompressed stream is hashed, including what follows the end-of-archive
 * marker, so `res->diff_id` can be compared with the image config's
 * rootfs.diff_ids; the caller does that comparison.
 *
 * Entry paths are relative to `dirfd`: a leading "/" or "./" is stripped, a
 * ".." component is refused.  Hard links must name a path inside the
 * directory.  Regular files, directories, symlinks, hard links, devices and
 * fifos are created with their owner, mode (setuid/setgid/sticky included),
 * times and extended attributes (trusted.overlay.* and user.overlay.* from
 * the archive are dropped: only the opaque marker sets overlay xattrs).
 * Owners and devices need root.
 *
 * Errors: CRIO_EINVAL for a malformed or corrupt stream (bad magic, truncated
 * gzip/zstd, broken tar) or a refused entry, the message naming the entry;
 * an errno-mapped code for a file system failure.  On failure the directory
 * is left with partial content: the caller removes it.
 */
int crio_layer_unpack(int dirfd, int blob_fd, crio_unpack_mode mode, crio_unpack_result *res);

/*
 * A blob handed over in pieces by its producer (image.c's download) without a
 * pipe in between.  next() stores the next piece in *buf, *len (*len 0 at the
 * end) and returns 0, or a negative CRIO code with the error set; a piece
 * stays valid until the following call.  next() is called from a thread of
 * the unpacker's own, never after it returned the end or an error.
 */
typedef struct {
    int (*next)(void *ctx, const void **buf, size_t *len);
    void *ctx;
    /*
     * The caller verifies res->diff_id (and the blob's digest) before it uses
     * anything unpacked: gzip's CRC-32 is then not computed nor checked (a
     * corrupt stream that inflates is refused by that comparison instead).
     */
    bool no_gzip_crc;
} crio_unpack_source;

/* As crio_layer_unpack, the blob read from `from` instead of a descriptor. */
int crio_layer_unpack_from(int dirfd, const crio_unpack_source *from, crio_unpack_mode mode, crio_unpack_result *res);

/*
 * For tests: when `on`, parent paths are resolved by the user-space
 * component walk even where the kernel has openat2.
 */
void crio_unpack_force_fallback_resolver(bool on);

#endif
