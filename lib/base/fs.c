#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"

int crio_fs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
    _cleanup_free_ char *dircopy = strdup(path);
    _cleanup_free_ char *basecopy = strdup(path);
    if (!dircopy || !basecopy)
        return crio_error_oom();
    const char *dir = dirname(dircopy);
    const char *base = basename(basecopy);
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s/.tmp-%s-XXXXXX", dir, base) < 0)
        return crio_error_oom();

    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return crio_error_sys(errno, "write %s: create temporary file", path);
    if (fchmod(fd, mode) < 0 || crio_fs_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
        int e = errno;
        unlink(tmp);
        return crio_error_sys(e, "write %s", path);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return crio_error_sys(e, "write %s: rename", path);
    }
    if (!durable)
        return 0;
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        return crio_error_sys(errno, "write %s: sync directory", path);
    return 0;
}

int crio_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_atomic(path, data, len, mode, true);
}

int crio_fs_write_atomic_volatile(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_atomic(path, data, len, mode, false);
}

int crio_fs_remove_temporaries(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : crio_error_sys(errno, "open directory %s", dir);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, ".tmp-", 5) == 0 && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    return removed;
}

int crio_fs_read_file(char **out, size_t *len, const char *path, size_t max)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return crio_error_sys(errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return crio_error_sys(errno, "stat %s", path);
    if (S_ISDIR(st.st_mode))
        return crio_error_set(CRIO_EINVAL, "%s: is a directory", path);
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max)
        return crio_error_set(CRIO_ENOMEM, "read %s: larger than %zu bytes", path, max);
    /* Regular files are read in one allocation; pipes and devices grow. */
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096, used = 0;
    _cleanup_free_ char *buf = malloc(cap);
    if (!buf)
        return crio_error_oom();
    for (;;) {
        if (used == cap - 1) {
            if (cap - 1 > max)
                return crio_error_set(CRIO_ENOMEM, "read %s: larger than %zu bytes", path, max);
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                return crio_error_oom();
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return crio_error_sys(errno, "read %s", path);
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max)
            return crio_error_set(CRIO_ENOMEM, "read %s: larger than %zu bytes", path, max);
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    *out = TAKE_PTR(buf);
    return 0;
}

int crio_fs_mkdir_p(const char *path, mode_t mode)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return crio_error_oom();
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, mode) < 0 && errno != EEXIST)
                return crio_error_sys(errno, "create directory %s", p);
            *s = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return crio_error_sys(errno, "create directory %s", path);
    if (!S_ISDIR(st.st_mode))
        return crio_error_set(CRIO_EEXISTS, "create directory %s: exists and is not a directory", path);
    return 0;
}

static int remove_children(int fd, const char *what)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return crio_error_sys(errno, "remove %s", what);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = crio_fs_remove_tree(dirfd(d), e->d_name);
    }
    closedir(d);
    return rc;
}

int crio_fs_remove_tree(int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return crio_error_sys(errno, "remove %s", name);
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : crio_error_sys(errno, "remove %s", name);
    int rc = remove_children(fd, name);
    if (rc < 0)
        return rc;
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return crio_error_sys(errno, "remove directory %s", name);
    return 0;
}
