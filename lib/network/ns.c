/*
 * Pinned namespaces.  A forked helper unshares the namespaces and sets them
 * up; the caller bind-mounts the helper's /proc/PID/ns files onto empty
 * files, then lets the helper exit.  The caller's own thread never changes
 * namespace, so this is safe in a multi-threaded daemon.
 *
 * Mount propagation: the pins inherit the propagation of the mount holding
 * DIR and nothing is made private.  Bind mounts of net/ipc/uts nsfs files
 * work on shared, slave and private mounts alike (the kernel's loop check
 * only concerns mount-namespace files).  A shared DIR is in fact the better
 * case, which is why `ip netns` makes /run/netns shared: the umount in
 * crio_ns_unpin then reaches the copies that peer and slave mount
 * namespaces hold, whereas a private pin copied into a mount namespace
 * cloned later (a container, `unshare -m`) would keep the namespace alive
 * there after we unpin it.
 */
#include "network/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/spawn.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* A pin stacked more deeply than this is not ours to peel off. */
#define UNPIN_MAX_LAYERS 16

static const struct {
    int bit;
    int clone_flag;
    const char *name;
} kinds[] = {
    { CRIO_PIN_NET, CLONE_NEWNET, "net" },
    { CRIO_PIN_IPC, CLONE_NEWIPC, "ipc" },
    { CRIO_PIN_UTS, CLONE_NEWUTS, "uts" },
};
#define ALL_PINS (CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS)

/* What the helper reports once: the step that failed (STEP_READY: none) and its errno. */
enum { STEP_READY, STEP_UNSHARE, STEP_LOOPBACK, STEP_HOSTNAME };
static const char *const step_names[] = { "ready", "unshare", "bring up loopback", "set hostname" };
struct helper_report {
    int step;
    int err;
};

typedef struct helper {
    pid_t pid;
    int report_fd;  /* read end: one helper_report */
    int release_fd; /* write end: closing it lets the helper exit */
} helper;

bool crio_ns_is_pinned(const char *path)
{
    /* O_PATH|O_NOFOLLOW: a symlink to /proc/self/ns/net is not a pin. */
    _cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct statfs sfs;
    return fd >= 0 && fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == NSFS_MAGIC;
}

/* `ip link set lo up` without the ip binary.  Async-signal-safe. */
static int loopback_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

/*
 * The helper's whole life.  It was forked from a possibly multi-threaded
 * process, so it only makes async-signal-safe calls: no malloc, no locks.
 */
__attribute__((noreturn)) static void helper_main(int clone_flags, const char *hostname, int report_fd,
                                                  int release_fd)
{
    struct helper_report rep = { STEP_READY, 0 };
    if (unshare(clone_flags) < 0)
        rep = (struct helper_report){ STEP_UNSHARE, errno };
    else if ((clone_flags & CLONE_NEWNET) && loopback_up() < 0)
        rep = (struct helper_report){ STEP_LOOPBACK, errno };
    else if ((clone_flags & CLONE_NEWUTS) && hostname && sethostname(hostname, strlen(hostname)) < 0)
        rep = (struct helper_report){ STEP_HOSTNAME, errno };
    if (write(report_fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(1);
    /* Stay alive, holding the namespaces, until the caller has mounted them (EOF). */
    char c;
    while (read(release_fd, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static void helper_reap(helper *h)
{
    if (h->release_fd >= 0)
        close(TAKE_FD(h->release_fd));
    if (h->report_fd >= 0)
        close(TAKE_FD(h->report_fd));
    if (h->pid > 0)
        while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    h->pid = -1;
}

/*
 * Forks the helper and waits for its report.  On success the helper is left
 * alive, holding the namespaces; on failure it is reaped.
 */
static int helper_start(helper *h, int clone_flags, const char *hostname)
{
    pid_t pid;
    crio_helper_fds fds;
    int e = crio_fork_helper(&pid, &fds, "pin namespaces", NULL, 0);
    if (e < 0)
        return e;
    if (pid == 0)
        helper_main(clone_flags, hostname, fds.report, fds.control);
    *h = (helper){ .pid = pid, .report_fd = fds.report, .release_fd = fds.control };
    struct helper_report r;
    ssize_t n;
    while ((n = read(h->report_fd, &r, sizeof r)) < 0 && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof r && r.step == STEP_READY)
        return 0;
    helper_reap(h);
    if (n != (ssize_t)sizeof r)
        return crio_error_set(CRIO_EINTERNAL, "pin namespaces: the helper process died");
    return crio_error_set_errno(CRIO_EINTERNAL, r.err, "pin namespaces: %s", step_names[r.step]);
}

/* Peels off every mount stacked on `path` and removes the file; absent is fine. */
static int unpin_one(const char *path)
{
    for (int i = 0; i < UNPIN_MAX_LAYERS && crio_ns_is_pinned(path); i++)
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "unpin %s: unmount", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "unpin %s: remove", path);
    return 0;
}

/*
 * Moves *i to the first kind from *i on that `which` names and writes its
 * pin's path, DIR/NAME; false when none is left.
 */
static bool next_pin_path(size_t *i, int which, const char *dir, char path[PATH_MAX])
{
    for (; *i < CRIO_ARRAY_SIZE(kinds); (*i)++)
        if (which & kinds[*i].bit) {
            snprintf(path, PATH_MAX, "%s/%s", dir, kinds[*i].name);
            return true;
        }
    return false;
}

static void unpin_kinds(const char *dir, int which)
{
    char path[PATH_MAX];
    for (size_t i = 0; next_pin_path(&i, which, dir, path); i++)
        unpin_one(path);
}

/* Refuses to pin over a live pin, before anything is created (so the failure path never touches it). */
static int check_not_pinned(const char *dir, int which)
{
    char path[PATH_MAX];
    for (size_t i = 0; next_pin_path(&i, which, dir, path); i++)
        if (crio_ns_is_pinned(path))
            return crio_error_set(CRIO_EEXISTS, "pin %s: already pinned", path);
    return 0;
}

/* Creates the empty files the pins are mounted on. */
static int create_pin_files(const char *dir, int which)
{
    char path[PATH_MAX];
    for (size_t i = 0; next_pin_path(&i, which, dir, path); i++) {
        /* A stale empty file from an interrupted pin is reused. */
        int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "pin %s: create", path);
        close(fd);
    }
    return 0;
}

/* Mounts the live helper's namespaces onto the pin files. */
static int mount_pins(const char *dir, int which, pid_t pid)
{
    char src[64], dst[PATH_MAX];
    for (size_t i = 0; next_pin_path(&i, which, dir, dst); i++) {
        snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kinds[i].name);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "pin %s: bind mount %s", dst, src);
    }
    return 0;
}

static int check_pin_args(const char *dir, int which, const char *hostname)
{
    if (!dir || !*dir || strlen(dir) > PATH_MAX - 8)
        return crio_error_set(CRIO_EINVAL, "pin namespaces: bad directory");
    if (which == 0 || (which & ~ALL_PINS))
        return crio_error_set(CRIO_EINVAL, "pin namespaces in %s: bad kinds 0x%x", dir, (unsigned)which);
    if (hostname && (!*hostname || strlen(hostname) > HOST_NAME_MAX))
        return crio_error_set(CRIO_EINVAL, "pin namespaces in %s: hostname must have 1 to %d characters", dir,
                              HOST_NAME_MAX);
    return 0;
}

/* Creates, sets up and mounts the namespaces, DIR and its files existing. */
static int pin_into(const char *dir, int which, const char *hostname)
{
    int r = create_pin_files(dir, which);
    if (r < 0)
        return r;
    int flags = 0;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(kinds); i++)
        if (which & kinds[i].bit)
            flags |= kinds[i].clone_flag;

    helper h;
    r = helper_start(&h, flags, hostname);
    if (r < 0)
        return r;
    r = mount_pins(dir, which, h.pid);
    helper_reap(&h);
    return r;
}

int crio_ns_pin(const char *dir, int which, const char *hostname)
{
    int r = check_pin_args(dir, which, hostname);
    if (r < 0 || (r = check_not_pinned(dir, which)) < 0)
        return r;
    struct stat st;
    bool made_dir = stat(dir, &st) < 0;
    r = crio_fs_mkdir_p(dir, 0755);
    if (r < 0)
        return r;
    r = pin_into(dir, which, hostname);
    if (r < 0) {
        /* Nothing stays: the pins mounted so far, the files, DIR if we made it. */
        unpin_kinds(dir, which);
        if (made_dir)
            rmdir(dir);
    }
    return r;
}

int crio_ns_unpin(const char *dir)
{
    char path[PATH_MAX];
    int rc = 0;
    for (size_t i = 0; next_pin_path(&i, ALL_PINS, dir, path); i++) {
        int r = unpin_one(path);
        if (r < 0 && rc == 0)
            rc = r;
    }
    /* DIR may also hold the pod's other files: it goes only when empty. */
    if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "unpin: remove %s", dir);
    return rc;
}
