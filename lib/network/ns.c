/*
 * Pinned namespaces.  A short-lived thread unshares the namespaces (net, ipc
 * and uts belong to a thread, not to the whole process), sets them up and
 * bind-mounts its /proc/thread-self/ns files onto empty files; the mounts
 * keep the namespaces alive after it exits.  No other thread ever changes
 * namespace, so this is safe in a multi-threaded daemon, and it costs a
 * thread rather than a fork of the daemon.
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
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"

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

/* The steps of a pin, for the error message. */
enum { STEP_READY, STEP_UNSHARE, STEP_LOOPBACK, STEP_HOSTNAME, STEP_MOUNT };
static const char *const step_names[] = { "ready", "unshare", "bring up loopback", "set hostname", "bind mount" };

/* One pin, as the pinning thread sees it. */
struct pin_job {
    const char *dir;
    int which, clone_flags;
    const char *hostname;
    int step, err;         /* what failed (STEP_READY: nothing) and its errno */
    char failed[PATH_MAX]; /* the pin a mount failed on */
};

bool crio_ns_is_pinned(const char *path)
{
    /* O_PATH|O_NOFOLLOW: a symlink to /proc/self/ns/net is not a pin. */
    _cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    struct statfs sfs;
    return fd >= 0 && fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == NSFS_MAGIC;
}

/* `ip link set lo up` without the ip binary. */
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

/*
 * The pinning thread: it enters new namespaces of its own, sets them up and
 * mounts them onto the pin files.  Its namespaces die with it unless pinned.
 */
static void *pin_thread(void *arg)
{
    struct pin_job *j = arg;
    char src[64];
    if (unshare(j->clone_flags) < 0) {
        j->step = STEP_UNSHARE;
    } else if ((j->clone_flags & CLONE_NEWNET) && loopback_up() < 0) {
        j->step = STEP_LOOPBACK;
    } else if ((j->clone_flags & CLONE_NEWUTS) && j->hostname && sethostname(j->hostname, strlen(j->hostname)) < 0) {
        j->step = STEP_HOSTNAME;
    } else {
        for (size_t i = 0; next_pin_path(&i, j->which, j->dir, j->failed); i++) {
            snprintf(src, sizeof src, "/proc/thread-self/ns/%s", kinds[i].name);
            if (mount(src, j->failed, NULL, MS_BIND, NULL) < 0) {
                j->step = STEP_MOUNT;
                break;
            }
        }
    }
    j->err = j->step == STEP_READY ? 0 : errno;
    return NULL;
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

/* Creates, sets up and mounts the namespaces, DIR existing. */
static int pin_into(const char *dir, int which, const char *hostname)
{
    int r = create_pin_files(dir, which);
    if (r < 0)
        return r;
    struct pin_job *j = calloc(1, sizeof *j);
    if (!j)
        return crio_error_oom();
    *j = (struct pin_job){ .dir = dir, .which = which, .hostname = hostname };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(kinds); i++)
        if (which & kinds[i].bit)
            j->clone_flags |= kinds[i].clone_flag;
    pthread_t t;
    int e = pthread_create(&t, NULL, pin_thread, j);
    if (e != 0) {
        free(j);
        return crio_error_set_errno(CRIO_EINTERNAL, e, "pin namespaces: start a thread");
    }
    pthread_join(t, NULL);
    if (j->step == STEP_MOUNT)
        r = crio_error_set_errno(CRIO_EINTERNAL, j->err, "pin %s: bind mount", j->failed);
    else if (j->step != STEP_READY)
        r = crio_error_set_errno(CRIO_EINTERNAL, j->err, "pin namespaces: %s", step_names[j->step]);
    free(j);
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

/* ---- interface counters ---- */

struct stats_job {
    int fd; /* the netns */
    crio_ns_iface_stats *v;
    size_t n;
    int err; /* errno of what failed, 0 */
    const char *what;
};

/* Parses /proc/net/dev's lines after its two headers. */
static int parse_net_dev(struct stats_job *j, FILE *f)
{
    char line[512];
    for (int i = 0; i < 2 && fgets(line, sizeof line, f); i++)
        ;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *name = line + strspn(line, " ");
        unsigned long long c[11];
        if (!strcmp(name, "lo") || strlen(name) >= IFNAMSIZ ||
            sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &c[0], &c[1], &c[2], &c[3],
                   &c[4], &c[5], &c[6], &c[7], &c[8], &c[9], &c[10]) != 11)
            continue;
        crio_ns_iface_stats *grown = realloc(j->v, (j->n + 1) * sizeof *grown);
        if (!grown)
            return ENOMEM;
        j->v = grown;
        crio_ns_iface_stats *s = &j->v[j->n++];
        memset(s, 0, sizeof *s);
        memcpy(s->name, name, strlen(name));
        /* Receive: bytes packets errs ...; transmit starts at the 9th column. */
        s->rx_bytes = c[0];
        s->rx_errors = c[2];
        s->tx_bytes = c[8];
        s->tx_errors = c[10];
    }
    return 0;
}

/* Enters the namespace (only this thread does) and reads its /proc/thread-self/net/dev. */
static void *stats_thread(void *arg)
{
    struct stats_job *j = arg;
    if (setns(j->fd, CLONE_NEWNET) < 0) {
        j->err = errno;
        j->what = "enter the network namespace";
        return NULL;
    }
    FILE *f = fopen("/proc/thread-self/net/dev", "re");
    if (!f) {
        j->err = errno;
        j->what = "read /proc/net/dev";
        return NULL;
    }
    j->err = parse_net_dev(j, f);
    j->what = "read /proc/net/dev";
    fclose(f);
    return NULL;
}

int crio_ns_net_stats(crio_ns_iface_stats **out, size_t *n, const char *netns, const char *first)
{
    *out = NULL;
    *n = 0;
    if (!crio_ns_is_pinned(netns))
        return crio_error_set(CRIO_ENOTFOUND, "network namespace %s: not pinned", netns);
    struct stats_job j = { .fd = open(netns, O_RDONLY | O_CLOEXEC) };
    if (j.fd < 0)
        return crio_error_sys(errno, "network namespace %s", netns);
    pthread_t t;
    int e = pthread_create(&t, NULL, stats_thread, &j);
    if (e == 0)
        pthread_join(t, NULL);
    close(j.fd);
    if (e != 0 || j.err) {
        free(j.v);
        return crio_error_set_errno(CRIO_EINTERNAL, e ? e : j.err, "network namespace %s: %s", netns,
                                    e ? "start a thread" : j.what);
    }
    for (size_t i = 1; first && i < j.n; i++)
        if (!strcmp(j.v[i].name, first)) {
            crio_ns_iface_stats tmp = j.v[0];
            j.v[0] = j.v[i];
            j.v[i] = tmp;
            break;
        }
    *out = j.v;
    *n = j.n;
    return 0;
}
