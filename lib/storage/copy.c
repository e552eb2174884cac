/* An exact tree copy for the vfs driver, relative to directory fds throughout. */
#include "storage/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"

/* Hard links: the first path seen for each multiply-linked inode. */
struct link_map {
    struct { dev_t dev; ino_t ino; char *path; } *v;
    size_t n, cap;
};

static const char *link_find(const struct link_map *m, const struct stat *st)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].ino == st->st_ino && m->v[i].dev == st->st_dev)
            return m->v[i].path;
    return NULL;
}

static int link_add(struct link_map *m, const struct stat *st, const char *path)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        void *nv = realloc(m->v, nc * sizeof *m->v);
        if (!nv)
            return crio_error_oom();
        m->v = nv;
        m->cap = nc;
    }
    if (!(m->v[m->n].path = strdup(path)))
        return crio_error_oom();
    m->v[m->n].dev = st->st_dev;
    m->v[m->n].ino = st->st_ino;
    m->n++;
    return 0;
}

/* Copies extended attributes through /proc/self/fd paths (works for symlinks and devices too). */
static int copy_xattrs(int sfd, const char *name, int dfd, const char *what)
{
    char spath[64 + 256], dpath[64 + 256];
    snprintf(spath, sizeof spath, "/proc/self/fd/%d/%s", sfd, name);
    snprintf(dpath, sizeof dpath, "/proc/self/fd/%d/%s", dfd, name);
    char list[8192];
    ssize_t n = llistxattr(spath, list, sizeof list);
    if (n < 0)
        return errno == ENOTSUP || errno == ENODATA ? 0 : crio_error_sys(errno, "copy %s: list xattrs", what);
    for (char *k = list; k < list + n; k += strlen(k) + 1) {
        char val[65536];
        ssize_t vl = lgetxattr(spath, k, val, sizeof val);
        if (vl < 0)
            return crio_error_sys(errno, "copy %s: read xattr %s", what, k);
        if (lsetxattr(dpath, k, val, (size_t)vl, 0) < 0 && errno != ENOTSUP)
            return crio_error_sys(errno, "copy %s: set xattr %s", what, k);
    }
    return 0;
}

static int copy_file(int sfd, int dfd, const char *name, const struct stat *st, const char *what)
{
    _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return crio_error_sys(errno, "copy %s", what);
    _cleanup_close_ int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return crio_error_sys(errno, "copy %s", what);
    off_t left = st->st_size;
    while (left > 0) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            char buf[1 << 16];
            n = read(in, buf, sizeof buf);
            if (n > 0 && write(out, buf, (size_t)n) != n)
                return crio_error_sys(errno ? errno : EIO, "copy %s", what);
        }
        if (n < 0)
            return crio_error_sys(errno, "copy %s", what);
        if (n == 0)
            break;
        left -= n;
    }
    return 0;
}

/* Owner, mode and times, in that order (chown clears setuid bits). */
static int copy_meta(int dfd, const char *name, const struct stat *st, const char *what)
{
    if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return crio_error_sys(errno, "copy %s: chown", what);
    if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
        return crio_error_sys(errno, "copy %s: chmod", what);
    struct timespec ts[2] = { st->st_atim, st->st_mtim };
    if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return crio_error_sys(errno, "copy %s: times", what);
    return 0;
}

struct copy_ctx {
    int dst_root;
    struct link_map links;
};

/* `rel` is the directory's path relative to the roots ("" at the top). */
static int copy_dir(struct copy_ctx *cx, int sfd, int dfd, const char *rel, int depth)
{
    if (depth > 512)
        return crio_error_set(CRIO_EINVAL, "copy %s: tree too deep", rel);
    int dup_fd = dup(sfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return crio_error_sys(errno, "copy %s", rel);
    }
    rewinddir(d);
    int e = 0;
    struct dirent *ent;
    while (e == 0 && (ent = readdir(d))) {
        const char *name = ent->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        char what[4096];
        snprintf(what, sizeof what, "%s%s%s", rel, *rel ? "/" : "", name);
        struct stat st;
        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            e = crio_error_sys(errno, "copy %s", what);
            break;
        }
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
            const char *first = link_find(&cx->links, &st);
            if (first) {
                if (linkat(cx->dst_root, first, dfd, name, 0) < 0)
                    e = crio_error_sys(errno, "copy %s: link to %s", what, first);
                continue;
            }
            if ((e = link_add(&cx->links, &st, what)) < 0)
                break;
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR: {
            if (mkdirat(dfd, name, 0700) < 0) {
                e = crio_error_sys(errno, "copy %s", what);
                break;
            }
            int s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (s2 < 0 || d2 < 0)
                e = crio_error_sys(errno, "copy %s", what);
            else
                e = copy_dir(cx, s2, d2, what, depth + 1);
            if (s2 >= 0)
                close(s2);
            if (d2 >= 0)
                close(d2);
            break;
        }
        case S_IFREG:
            e = copy_file(sfd, dfd, name, &st, what);
            break;
        case S_IFLNK: {
            char target[4096];
            ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
            if (n < 0) {
                e = crio_error_sys(errno, "copy %s", what);
                break;
            }
            target[n] = '\0';
            if (symlinkat(target, dfd, name) < 0)
                e = crio_error_sys(errno, "copy %s", what);
            break;
        }
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
            if (mknodat(dfd, name, st.st_mode & S_IFMT, st.st_rdev) < 0)
                e = crio_error_sys(errno, "copy %s", what);
            break;
        default:
            e = crio_error_set(CRIO_EINVAL, "copy %s: unknown file type", what);
        }
        if (e == 0)
            e = copy_xattrs(sfd, name, dfd, what);
        if (e == 0)
            e = copy_meta(dfd, name, &st, what);
    }
    closedir(d);
    return e;
}

int crio_copy_tree(int src_fd, int dst_fd)
{
    struct copy_ctx cx = { .dst_root = dst_fd };
    int e = copy_dir(&cx, src_fd, dst_fd, "", 0);
    /* The root directory itself: its owner, mode, times and xattrs. */
    struct stat st;
    if (e == 0 && fstat(src_fd, &st) == 0) {
        if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 || fchmod(dst_fd, st.st_mode & 07777) < 0)
            e = crio_error_sys(errno, "copy tree root");
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        if (e == 0 && futimens(dst_fd, ts) < 0)
            e = crio_error_sys(errno, "copy tree root: times");
        if (e == 0)
            e = copy_xattrs(src_fd, ".", dst_fd, "tree root");
    }
    for (size_t i = 0; i < cx.links.n; i++)
        free(cx.links.v[i].path);
    free(cx.links.v);
    return e;
}
