/* crio-monitor: its own messages, and small file helpers without heap use. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static enum mon_level log_level = MON_WARN;

int mon_log_set_level(const char *name)
{
    static const struct { const char *name; enum mon_level level; } names[] = {
        { "fatal", MON_ERROR }, { "panic", MON_ERROR }, { "error", MON_ERROR }, { "warn", MON_WARN },
        { "warning", MON_WARN }, { "info", MON_INFO },  { "debug", MON_DEBUG }, { "trace", MON_DEBUG },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            log_level = names[i].level;
            return 0;
        }
    return -1;
}

void mon_log(enum mon_level level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    if (level > log_level)
        return;
    int saved = errno;
    char line[1024];
    int n = snprintf(line, sizeof line, "crio-monitor[%d]: %s: ", (int)getpid(), names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* One write per message: the daemon may point several monitors at one file. */
    if (write(STDERR_FILENO, line, len) < 0) {
        /* Nowhere left to report it. */
    }
    errno = saved;
}

int mon_write_all(int fd, const void *data, size_t len)
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

ssize_t mon_read_small(int dirfd, const char *name, char *buf, size_t cap)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used < cap - 1) {
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

void mon_json_escape(char *dst, size_t cap, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
        char esc[7];
        size_t n = 0;
        if (*s == '"' || *s == '\\') {
            esc[n++] = '\\';
            esc[n++] = (char)*s;
        } else if (*s == '\n') {
            esc[n++] = '\\';
            esc[n++] = 'n';
        } else if (*s == '\t') {
            esc[n++] = '\\';
            esc[n++] = 't';
        } else if (*s < 0x20 || *s == 0x7f) {
            memcpy(esc, "\\u00", 4);
            n = 4;
            esc[n++] = hex[*s >> 4];
            esc[n++] = hex[*s & 15];
        } else {
            esc[n++] = (char)*s;
        }
        if (o + n >= cap)
            break;
        memcpy(dst + o, esc, n);
        o += n;
    }
    dst[o] = '\0';
}

static int fsync_parent_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int r = fsync(dfd);
    int e = errno;
    close(dfd);
    errno = e;
    return r;
}

int mon_write_atomic(const char *path, const char *data, size_t len)
{
    /* Split path into dir and base without libgen (which may modify its argument). */
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const char *base = slash ? slash + 1 : path;
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    } else {
        errno = ENAMETOOLONG;
        return -1;
    }

    /* The ".tmp-" prefix is what libcrio's crio_fs_remove_temporaries() sweeps. */
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", dir, base) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    bool ok = fchmod(fd, 0644) == 0 && mon_write_all(fd, data, len) == 0 && fsync(fd) == 0;
    int e = errno;
    if (close(fd) < 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) < 0) {
        e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return fsync_parent_dir(dir);
}

int64_t mon_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
