/*
 * OOM kills in the container's memory cgroup.  The oom_kill counter (v1
 * memory.oom_control, v2 memory.events) is what decides; the v1 eventfd and
 * the v2 inotify watch only make sure a kill is seen while the cgroup still
 * exists, in case it is removed before the monitor looks at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "monitor.h"

static const char *counter_file(const struct oom_watch *w)
{
    return w->version == 1 ? "memory.oom_control" : "memory.events";
}

/* Reads "oom_kill N"; false when the file is gone (so is the cgroup). */
static bool read_oom_kills(const struct oom_watch *w, uint64_t *kills)
{
    char buf[1024];
    if (mon_read_small(w->dirfd, counter_file(w), buf, sizeof buf) < 0)
        return false;
    *kills = 0;
    for (char *line = buf; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "oom_kill ", 9) == 0) {
            *kills = strtoull(line + 9, NULL, 10);
            break;
        }
        line = next;
    }
    return true;
}

/* v1: an eventfd the kernel signals on OOM (and on the cgroup's removal). */
static int watch_v1(int dirfd, const char *dir)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int cfd = openat(dirfd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
    int ecfd = openat(dirfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
    char line[32];
    int n = snprintf(line, sizeof line, "%d %d", efd, cfd);
    bool ok = efd >= 0 && cfd >= 0 && ecfd >= 0 && mon_write_all(ecfd, line, (size_t)n) == 0;
    if (!ok) {
        /* The oom_kill counter read at exit still tells. */
        mon_log(MON_WARN, "OOM events of %s: %s", dir, strerror(errno));
        if (efd >= 0)
            close(efd);
        efd = -1;
    }
    /* The registration holds what it needs; the control files can go. */
    if (cfd >= 0)
        close(cfd);
    if (ecfd >= 0)
        close(ecfd);
    return efd;
}

/* v2: memory.events changes are notified to inotify watchers. */
static int watch_v2(const char *dir)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/memory.events", dir) >= sizeof path)
        return -1;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0 && inotify_add_watch(fd, path, IN_MODIFY) < 0) {
        mon_log(MON_WARN, "watch %s: %s", path, strerror(errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

void oom_watch_start(struct oom_watch *w, const char *dir)
{
    *w = (struct oom_watch){ .dirfd = -1, .fd = -1 };
    if (!dir || !*dir)
        return;
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        mon_log(MON_WARN, "OOM watch: %s: %s", dir, strerror(errno));
        return;
    }
    if (faccessat(dfd, "memory.oom_control", F_OK, 0) == 0) {
        w->version = 1;
    } else if (faccessat(dfd, "memory.events", F_OK, 0) == 0) {
        w->version = 2;
    } else {
        mon_log(MON_WARN, "OOM watch: %s is not a memory cgroup", dir);
        close(dfd);
        return;
    }
    w->dirfd = dfd;
    if (!read_oom_kills(w, &w->baseline))
        w->baseline = 0;
    w->fd = w->version == 1 ? watch_v1(dfd, dir) : watch_v2(dir);
}

void oom_watch_event(struct oom_watch *w)
{
    if (w->version == 1) {
        uint64_t count;
        if (read(w->fd, &count, sizeof count) != (ssize_t)sizeof count)
            return;
        /* Removal of the cgroup signals too: only a living cgroup had an OOM. */
        if (faccessat(w->dirfd, "memory.oom_control", F_OK, 0) == 0)
            w->seen = true;
        return;
    }
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(w->fd, buf, sizeof buf) > 0) {
        /* Only that the file changed matters. */
    }
    uint64_t kills;
    if (read_oom_kills(w, &kills) && kills > w->baseline)
        w->seen = true;
}

bool oom_watch_killed(struct oom_watch *w)
{
    if (w->dirfd < 0)
        return false;
    /* An event may be pending that the loop has not read yet. */
    if (w->fd >= 0)
        oom_watch_event(w);
    uint64_t kills;
    if (read_oom_kills(w, &kills) && kills > w->baseline)
        w->seen = true;
    return w->seen;
}

void oom_watch_stop(struct oom_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->dirfd >= 0)
        close(w->dirfd);
    w->fd = w->dirfd = -1;
}
