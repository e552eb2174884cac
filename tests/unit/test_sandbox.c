/*
 * lib/network/ns, lib/pod/cgroup, lib/pod/sandbox_files: pinned namespaces,
 * cgroups (naming, create/remove, figures), a pod's files, shm and the
 * pause process.  Needs root; every mount, cgroup and process a test makes
 * is undone by the suite's fini, also when an assertion failed.
 */
#include <criterion/criterion.h>
#include <crio/common.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "network/ns.h"
#include "pod/cgroup.h"
#include "pod/sandbox_files.h"

static char tmp[64];
static char pod[128]; /* tmp/pod: the pod directory most tests use */
static char cg[64];   /* this test's cgroup, unique per test process */
static pid_t kids[8];
static int n_kids;

/* ---- helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mount points (field 5 of mountinfo) at or below `prefix`, deepest last; returns the count. */
static int mounts_under(const char *prefix, char out[][256], int max)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    cr_assert_not_null(f);
    char line[4096];
    int n = 0;
    size_t plen = strlen(prefix);
    while (fgets(line, sizeof line, f)) {
        char mnt[256];
        if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
            continue;
        if (strncmp(mnt, prefix, plen) == 0 && (mnt[plen] == '\0' || mnt[plen] == '/')) {
            if (out && n < max)
                snprintf(out[n], sizeof out[n], "%s", mnt);
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Unmounts whatever a failed test left under tmp, newest first. */
static void unmount_all_under(const char *prefix)
{
    for (int round = 0; round < 8; round++) {
        char m[64][256];
        int n = mounts_under(prefix, m, 64);
        if (n == 0)
            return;
        for (int i = (n < 64 ? n : 64) - 1; i >= 0; i--)
            umount2(m[i], MNT_DETACH);
    }
}

static void track(pid_t pid)
{
    cr_assert_lt(n_kids, (int)(sizeof kids / sizeof kids[0]));
    kids[n_kids++] = pid;
}

static void setup(void)
{
    strcpy(tmp, "/tmp/sbx-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(pod, sizeof pod, "%s/pod", tmp);
    snprintf(cg, sizeof cg, "/crio-test-sbx-%d", (int)getpid());
    n_kids = 0;
}

static void teardown(void)
{
    for (int i = 0; i < n_kids; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    crio_sandbox_stop_pause(pod);
    crio_sandbox_unmount_shm(pod);
    crio_ns_unpin(pod);
    crio_cgroup_remove(cg);
    unmount_all_under(tmp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static ino_t ino_of(const char *fmt, const char *arg)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, fmt, arg);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return st.st_ino;
}

static char *slurp(const char *path)
{
    char *text = NULL;
    cr_assert_eq(crio_fs_read_file(&text, NULL, path, 1 << 20), 0, "read %s: %s", path,
                 crio_error_message(crio_error_last()));
    return text;
}

static void assert_file(const char *name, const char *want)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", pod, name);
    char *got = slurp(path);
    cr_assert_str_eq(got, want, "%s", name);
    free(got);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Runs fn in a forked child (so setns does not touch the test process); returns its exit status. */
static int in_child(int (*fn)(const void *), const void *arg)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(fn(arg));
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Waits for a byte on fd with a deadline. */
static void await_byte(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    cr_assert_eq(poll(&p, 1, ms), 1, "no word from the child in %d ms", ms);
    char b;
    cr_assert_eq(read(fd, &b, 1), 1);
}

/* ---- namespaces ---- */

TestSuite(ns, .init = setup, .fini = teardown);

static const char *const kinds[] = { "net", "ipc", "uts" };

/* In the child: joins the pins; 0 when lo is up, the hostname is the pod's and the inode the pin's. */
static int check_inside(const void *arg)
{
    const char *dir = arg;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/net", dir);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
        return 10;
    struct stat pin, self;
    if (fstat(fd, &pin) < 0 || stat("/proc/self/ns/net", &self) < 0 || pin.st_ino != self.st_ino)
        return 11;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = { 0 };
    strcpy(ifr.ifr_name, "lo");
    if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return 12;
    if (!(ifr.ifr_flags & IFF_UP))
        return 13;
    snprintf(path, sizeof path, "%s/uts", dir);
    fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWUTS) < 0)
        return 14;
    char host[HOST_NAME_MAX + 1];
    if (gethostname(host, sizeof host) < 0 || strcmp(host, "sbx-pod") != 0)
        return 15;
    snprintf(path, sizeof path, "%s/ipc", dir);
    fd = open(path, O_RDONLY);
    return fd >= 0 && setns(fd, CLONE_NEWIPC) == 0 ? 0 : 16;
}

Test(ns, pin_creates_new_namespaces)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS, "sbx-pod"), 0, "%s",
                 crio_error_message(crio_error_last()));
    char path[PATH_MAX];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", pod, kinds[i]);
        cr_assert(crio_ns_is_pinned(path), "%s", path);
        cr_assert_neq(ino_of("%s", path), ino_of("/proc/self/ns/%s", kinds[i]), "%s is the host's", kinds[i]);
        struct statfs sfs;
        cr_assert_eq(statfs(path, &sfs), 0);
        cr_assert_eq((unsigned long)sfs.f_type, (unsigned long)NSFS_MAGIC);
    }
    char host[HOST_NAME_MAX + 1];
    gethostname(host, sizeof host);
    cr_assert_str_neq(host, "sbx-pod", "the caller's hostname changed");
}

Test(ns, inside_lo_is_up_and_hostname_set)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS, "sbx-pod"), 0);
    cr_assert_eq(in_child(check_inside, pod), 0);
}

Test(ns, pins_outlive_the_helper)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS, "sbx-pod"), 0);
    ino_t net = ino_of("%s/net", pod);
    /* The helper is gone: no child of ours is left, running or zombie. */
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
    cr_assert_eq(errno, ECHILD);
    /* Held by the mounts alone, the namespaces are still there and still the same. */
    cr_assert_eq(in_child(check_inside, pod), 0);
    cr_assert_eq(ino_of("%s/net", pod), net);
}

Test(ns, net_stats_read_inside_the_pinned_namespace)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0);
    char net[PATH_MAX], cmd[PATH_MAX + 128];
    snprintf(net, sizeof net, "%s/net", pod);
    ino_t own = ino_of("%s", "/proc/thread-self/ns/net");
    crio_ns_iface_stats *v = NULL;
    size_t n = 9;
    /* Only lo so far, and lo is not counted. */
    cr_assert_eq(crio_ns_net_stats(&v, &n, net, "eth0"), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(n, 0);
    snprintf(cmd, sizeof cmd, "nsenter --net=%s ip link add d0 type veth peer name eth0", net);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    cr_assert_eq(crio_ns_net_stats(&v, &n, net, "eth0"), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(v[0].name, "eth0", "the default interface comes first");
    cr_assert_str_eq(v[1].name, "d0");
    free(v);
    /* The caller's namespace never changed; a path that is not a pin is refused. */
    cr_assert_eq(ino_of("%s", "/proc/thread-self/ns/net"), own);
    cr_assert_eq(crio_ns_net_stats(&v, &n, pod, NULL), CRIO_ENOTFOUND);
    cr_assert_null(v);
}

Test(ns, unpin_removes_everything)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS, "sbx-pod"), 0);
    cr_assert_eq(mounts_under(pod, NULL, 0), 3);
    cr_assert_eq(crio_ns_unpin(pod), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(mounts_under(pod, NULL, 0), 0);
    cr_assert(!exists(pod), "DIR made by pin stays after unpin");
    cr_assert_eq(crio_ns_unpin(pod), 0, "a second unpin fails");
}

Test(ns, unpin_keeps_a_directory_with_other_files)
{
    cr_assert_eq(crio_fs_mkdir_p(pod, 0755), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/hosts", pod);
    cr_assert_eq(crio_fs_write_atomic(path, "x", 1, 0644), 0);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_IPC, NULL), 0);
    snprintf(path, sizeof path, "%s/net", pod);
    cr_assert(!exists(path), "only the kinds asked for are pinned");
    cr_assert_eq(crio_ns_unpin(pod), 0);
    cr_assert_eq(mounts_under(pod, NULL, 0), 0);
    snprintf(path, sizeof path, "%s/hosts", pod);
    cr_assert(exists(path));
    snprintf(path, sizeof path, "%s/ipc", pod);
    cr_assert(!exists(path));
}

Test(ns, pin_refuses_a_live_pin_and_bad_arguments)
{
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0);
    ino_t net = ino_of("%s/net", pod);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_UTS, NULL), CRIO_EEXISTS);
    cr_assert_eq(ino_of("%s/net", pod), net, "the failed pin touched the live one");
    cr_assert_eq(mounts_under(pod, NULL, 0), 1);

    char other[PATH_MAX], long_name[HOST_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    snprintf(other, sizeof other, "%s/other", tmp);
    cr_assert_eq(crio_ns_pin(other, CRIO_PIN_UTS, long_name), CRIO_EINVAL);
    cr_assert_eq(crio_ns_pin(other, 0, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_ns_pin(other, 8, NULL), CRIO_EINVAL);
    cr_assert(!exists(other), "a refused pin left its directory");
}

/*
 * The propagation choice (ns.c): on a shared mount the pins propagate to
 * the peer, and unpin's umount reaches the peer's copies too.
 */
Test(ns, pins_on_a_shared_mount_propagate_and_unpin_everywhere)
{
    char a[128], b[128], dir[256], peer[256];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    cr_assert_eq(mkdir(a, 0755), 0);
    cr_assert_eq(mkdir(b, 0755), 0);
    cr_assert_eq(mount("sbx", a, "tmpfs", 0, "size=1m"), 0);
    cr_assert_eq(mount(NULL, a, NULL, MS_SHARED, NULL), 0);
    cr_assert_eq(mount(a, b, NULL, MS_BIND, NULL), 0); /* b: a peer of a */
    snprintf(dir, sizeof dir, "%s/pod", a);
    snprintf(peer, sizeof peer, "%s/pod/net", b);
    cr_assert_eq(crio_ns_pin(dir, CRIO_PIN_NET | CRIO_PIN_UTS, "sbx-pod"), 0, "%s",
                 crio_error_message(crio_error_last()));
    cr_assert(crio_ns_is_pinned(peer), "the pin did not propagate to the peer");
    cr_assert_eq(ino_of("%s", peer), ino_of("%s/net", dir));
    cr_assert_eq(crio_ns_unpin(dir), 0);
    snprintf(dir, sizeof dir, "%s/pod", b);
    cr_assert_eq(mounts_under(dir, NULL, 0), 0, "a copy stayed in the peer");
    snprintf(dir, sizeof dir, "%s/pod", a);
    cr_assert_eq(mounts_under(dir, NULL, 0), 0);
}

/* ---- cgroup naming ---- */

Test(cgroup_name, cgroupfs_paths)
{
    static const struct {
        const char *parent, *id, *want;
    } cases[] = {
        { "/kubepods/burstable", "abc", "/kubepods/burstable/podabc" },
        { "/kubepods/", "abc", "/kubepods/podabc" },
        { NULL, "abc", "/crio/podabc" },
        { "", "abc", "/crio/podabc" },
        { "/", "a-b_c", "/poda-b_c" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        cr_assert_eq(crio_cgroup_pod_path(&out, "cgroupfs", cases[i].parent, cases[i].id), 0, "case %zu", i);
        cr_assert_str_eq(out, cases[i].want);
        free(out);
    }
    char *out = NULL;
    cr_assert_eq(crio_cgroup_container_path(&out, "cgroupfs", "/kubepods/podabc", "c1"), 0);
    cr_assert_str_eq(out, "/kubepods/podabc/crio-c1");
    free(out);
    static const char *const bad_parents[] = { "kubepods.slice", "relative", "/a/../b", "/a/./b" };
    for (size_t i = 0; i < sizeof bad_parents / sizeof bad_parents[0]; i++)
        cr_assert_eq(crio_cgroup_pod_path(&out, "cgroupfs", bad_parents[i], "abc"), CRIO_EINVAL, "%s",
                     bad_parents[i]);
    cr_assert_eq(crio_cgroup_pod_path(&out, "cgroupfs", NULL, "a/b"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_pod_path(&out, "cgroupfs", NULL, ""), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_pod_path(&out, "lxcfs", NULL, "abc"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_container_path(&out, "cgroupfs", "/p", "../x"), CRIO_EINVAL);
}

Test(cgroup_name, systemd_paths)
{
    static const struct {
        const char *parent, *id, *want;
    } cases[] = {
        { "kubepods-burstable.slice", "abc", "kubepods-burstable-podabc.slice" },
        { "kubepods.slice", "12-34", "kubepods-pod12_34.slice" },
        { NULL, "abc", "crio-podabc.slice" },
        { "-.slice", "abc", "podabc.slice" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        cr_assert_eq(crio_cgroup_pod_path(&out, "systemd", cases[i].parent, cases[i].id), 0, "case %zu", i);
        cr_assert_str_eq(out, cases[i].want);
        free(out);
    }
    char *out = NULL;
    cr_assert_eq(crio_cgroup_container_path(&out, "systemd", "kubepods-burstable-podabc.slice", "c1"), 0);
    cr_assert_str_eq(out, "kubepods-burstable-podabc.slice:crio:c1");
    free(out);
    static const char *const bad[] = { "/kubepods", "kubepods", "a--b.slice", "-a.slice", "a-.slice",
                                       "a/b.slice", ".slice" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(crio_cgroup_pod_path(&out, "systemd", bad[i], "abc"), CRIO_EINVAL, "%s", bad[i]);
    cr_assert_eq(crio_cgroup_container_path(&out, "systemd", "/kubepods/pod1", "c1"), CRIO_EINVAL);
}

Test(cgroup_name, fs_path_of_either_syntax)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "kubepods-burstable-pod1.slice:crio:ID",
          "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/crio-ID.scope" },
        { "system.slice:docker:x", "/system.slice/docker-x.scope" },
        { "-.slice:crio:x", "/crio-x.scope" },
        { ":crio:x", "/system.slice/crio-x.scope" },
        { "a.slice::x", "/a.slice/x.scope" },
        { "a-b.slice:crio:c.slice", "/a.slice/a-b.slice/c.slice" },
        { "/kubepods/pod1/crio-x", "/kubepods/pod1/crio-x" },
        { "/kubepods/pod1/", "/kubepods/pod1" },
        { "/", "/" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        cr_assert_eq(crio_cgroup_fs_path(&out, cases[i].in), 0, "%s: %s", cases[i].in,
                     crio_error_message(crio_error_last()));
        cr_assert_str_eq(out, cases[i].want, "%s", cases[i].in);
        free(out);
    }
    static const char *const bad[] = { "",          "relative/path", "a.slice:crio",  "a.slice:crio:x:y",
                                       "a:crio:x",  "a--b.slice:c:x", "a/b.slice:c:x", "a.slice:crio:",
                                       "a.slice:crio:x/y", "/a/../b" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        cr_assert_eq(crio_cgroup_fs_path(&out, bad[i]), CRIO_EINVAL, "%s", bad[i]);
    }
}

/* ---- cgroups on this host ---- */

TestSuite(cgroup, .init = setup, .fini = teardown);

/* The cgroup mount points, found independently of the library (one per superblock). */
static int host_hierarchies(char out[][256], int max)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    cr_assert_not_null(f);
    char line[4096], seen[32][32];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        char dev[32], mnt[256];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %31s %*s %255s", dev, mnt) != 2)
            continue;
        if (strncmp(dash, " - cgroup ", 10) != 0 && strncmp(dash, " - cgroup2 ", 11) != 0)
            continue;
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup |= strcmp(seen[i], dev) == 0;
        if (dup)
            continue;
        strcpy(seen[n], dev);
        strcpy(out[n++], mnt);
    }
    fclose(f);
    return n;
}

static int count_dirs(const char *sub)
{
    char h[32][256], path[PATH_MAX];
    int n = host_hierarchies(h, 32), found = 0;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%.255s%.255s", h[i], sub);
        struct stat st;
        found += stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    }
    return found;
}

static char *cpuset_file(const char *sub, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpuset%s/%s", sub, name);
    return slurp(path);
}

Test(cgroup, create_and_remove_in_every_hierarchy)
{
    char h[32][256], sub[128];
    int n = host_hierarchies(h, 32);
    cr_assert_gt(n, 0);
    snprintf(sub, sizeof sub, "%s/pod1", cg);
    cr_assert_eq(crio_cgroup_create(sub), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(count_dirs(cg), n);
    cr_assert_eq(count_dirs(sub), n);
    cr_assert_eq(crio_cgroup_create(sub), 0, "create is not idempotent");

    /* cpuset: both levels got the root's cpus and mems, so tasks can join. */
    if (exists("/sys/fs/cgroup/cpuset/cpuset.cpus")) {
        const char *names[] = { "cpuset.cpus", "cpuset.mems" };
        for (int i = 0; i < 2; i++) {
            char *root = cpuset_file("", names[i]), *mid = cpuset_file(cg, names[i]),
                 *leaf = cpuset_file(sub, names[i]);
            cr_assert_neq(strlen(root), 1, "root %s empty", names[i]);
            cr_assert_str_eq(mid, root, "%s", names[i]);
            cr_assert_str_eq(leaf, root, "%s", names[i]);
            free(root);
            free(mid);
            free(leaf);
        }
    }
    cr_assert_eq(crio_cgroup_remove(cg), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(count_dirs(cg), 0);
    cr_assert_eq(crio_cgroup_remove(cg), 0, "removing an absent cgroup fails");
}

Test(cgroup, refuses_bad_paths)
{
    cr_assert_eq(crio_cgroup_create("/"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_create("relative"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_create("/a/../b"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_remove("/"), CRIO_EINVAL);
    cr_assert_eq(crio_cgroup_remove("//"), CRIO_EINVAL);
    crio_cgroup_stats s;
    cr_assert_eq(crio_cgroup_stats_read(&s, cg), CRIO_ENOTFOUND);
    cr_assert_eq(crio_cgroup_enter(cg, getpid()), CRIO_ENOTFOUND);
}

Test(cgroup, memory_dir)
{
    char *dir = crio_cgroup_memory_dir("/kubepods/pod1");
    cr_assert_not_null(dir);
    if (exists("/sys/fs/cgroup/memory/memory.usage_in_bytes"))
        cr_assert_str_eq(dir, "/sys/fs/cgroup/memory/kubepods/pod1");
    free(dir);
    cr_assert_null(crio_cgroup_memory_dir("relative"));
}

/* Where the busy loop's work goes, so that the compiler keeps it. */
static volatile uint64_t burn_sink;

/*
 * A child that waits to be moved into the cgroup, then burns `cpu_ms` of
 * CPU time and touches 8 MiB, reports, and sleeps until killed.
 */
static pid_t start_worker(int cpu_ms)
{
    int go[2], done[2];
    cr_assert_eq(pipe(go), 0);
    cr_assert_eq(pipe(done), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char b;
        if (read(go[0], &b, 1) != 1)
            _exit(1);
        struct timespec ts;
        do {
            for (int i = 0; i < 100000; i++)
                burn_sink += (uint64_t)i;
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        } while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < cpu_ms);
        /* Touched through a volatile pointer: an unused malloc+memset may be optimized away. */
        volatile char *mem = malloc(8 << 20);
        if (!mem)
            _exit(2);
        for (size_t i = 0; i < (8u << 20); i += 4096)
            mem[i] = 1;
        if (write(done[1], "d", 1) != 1)
            _exit(3);
        for (;;)
            pause();
    }
    track(pid);
    close(go[0]);
    close(done[1]);
    cr_assert_eq(crio_cgroup_enter(cg, pid), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(write(go[1], "g", 1), 1);
    await_byte(done[0], 20000);
    close(go[1]);
    close(done[0]);
    return pid;
}

Test(cgroup, stats_of_a_busy_cgroup)
{
    cr_assert_eq(crio_cgroup_create(cg), 0, "%s", crio_error_message(crio_error_last()));
    char *mem = crio_cgroup_memory_dir(cg);
    cr_assert_not_null(mem);
    char limit[PATH_MAX];
    snprintf(limit, sizeof limit, "%s/memory.limit_in_bytes", mem);
    if (!exists(limit))
        snprintf(limit, sizeof limit, "%s/memory.max", mem);
    free(mem);
    crio_cgroup_stats s;
    cr_assert_eq(crio_cgroup_stats_read(&s, cg), 0);
    cr_assert_eq(s.memory_limit, UINT64_MAX, "no limit reads as UINT64_MAX");
    cr_assert_eq(s.pids, 0);
    int fd = open(limit, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "268435456", 9), 9);
    close(fd);

    start_worker(50);
    cr_assert_eq(crio_cgroup_stats_read(&s, cg), 0, "%s", crio_error_message(crio_error_last()));
    /* The child burned 50 ms by its own clock; cpuacct's accounting may differ slightly, never by half. */
    cr_assert_geq(s.cpu_usage_ns, 25 * 1000000ULL, "cpu %llu ns", (unsigned long long)s.cpu_usage_ns);
    cr_assert_geq(s.memory_usage, 8u << 20, "memory %llu", (unsigned long long)s.memory_usage);
    cr_assert_gt(s.memory_working_set, 0);
    cr_assert_leq(s.memory_working_set, s.memory_usage);
    cr_assert_geq(s.memory_rss, 8u << 20, "rss %llu", (unsigned long long)s.memory_rss);
    cr_assert_geq(s.page_faults, 2048, "8 MiB touched: at least 2048 faults");
    cr_assert_eq(s.memory_limit, 268435456);
    cr_assert_eq(s.pids, 1);
}

Test(cgroup, remove_waits_then_reports_busy)
{
    cr_assert_eq(crio_cgroup_create(cg), 0);
    pid_t pid = start_worker(0);
    int64_t t0 = now_ms();
    cr_assert_eq(crio_cgroup_remove(cg), CRIO_EBUSY);
    int64_t took = now_ms() - t0;
    cr_assert_geq(took, CRIO_CGROUP_REMOVE_WAIT_MS - 20, "gave up after %lld ms", (long long)took);
    cr_assert_lt(took, CRIO_CGROUP_REMOVE_WAIT_MS + 2000, "waited %lld ms", (long long)took);
    cr_assert_neq(strstr(crio_error_message(crio_error_last()), cg), NULL);
    cr_assert_gt(count_dirs(cg), 0);

    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    n_kids = 0;
    cr_assert_eq(crio_cgroup_remove(cg), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(count_dirs(cg), 0);
}

/* ---- hostname, hosts, resolv.conf ---- */

TestSuite(files, .init = setup, .fini = teardown);

static cJSON *config(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON %s", json);
    return j;
}

static const char hosts_of_pod_a[] = "127.0.0.1\tlocalhost\n"
                                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                     "127.0.1.1\tpod-a\n";

Test(files, exact_contents)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    cJSON *c = config("{\"dns_config\": {\"servers\": [\"10.96.0.10\", \"8.8.8.8\"],"
                      " \"searches\": [\"ns.svc.cluster.local\", \"svc.cluster.local\"],"
                      " \"options\": [\"ndots:5\", \"edns0\"]}}");
    cr_assert_eq(crio_sandbox_write_files(pod, "pod-a", c), 0, "%s", crio_error_message(crio_error_last()));
    cJSON_Delete(c);
    assert_file("hostname", "pod-a\n");
    assert_file("hosts", hosts_of_pod_a);
    assert_file("resolv.conf", "nameserver 10.96.0.10\n"
                               "nameserver 8.8.8.8\n"
                               "search ns.svc.cluster.local svc.cluster.local\n"
                               "options ndots:5 edns0\n");
    struct stat st;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/resolv.conf", pod);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644);
    cr_assert_eq(crio_fs_remove_temporaries(pod), 0, "a temporary file was left");
}

Test(files, camel_case_and_partial_dns_config)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    cJSON *c = config("{\"dnsConfig\": {\"searches\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]}}");
    cr_assert_eq(crio_sandbox_write_files(pod, "pod-a", c), 0, "%s", crio_error_message(crio_error_last()));
    cJSON_Delete(c);
    assert_file("resolv.conf", "search a b c d e f\n");
}

Test(files, no_dns_config_copies_the_hosts_resolv_conf)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    char *host = exists("/etc/resolv.conf") ? slurp("/etc/resolv.conf") : strdup("");
    const char *configs[] = { "{}", "{\"dns_config\": {}}", "{\"dns_config\": {\"servers\": []}}" };
    for (size_t i = 0; i < 3; i++) {
        cJSON *c = config(configs[i]);
        cr_assert_eq(crio_sandbox_write_files(pod, "pod-a", c), 0, "%s", configs[i]);
        cJSON_Delete(c);
        assert_file("resolv.conf", host);
    }
    cr_assert_eq(crio_sandbox_write_files(pod, "pod-a", NULL), 0);
    assert_file("resolv.conf", host);
    free(host);
}

Test(files, null_hostname_is_the_hosts)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    char host[HOST_NAME_MAX + 1], want[HOST_NAME_MAX + 2];
    cr_assert_eq(gethostname(host, sizeof host), 0);
    cr_assert_eq(crio_sandbox_write_files(pod, NULL, NULL), 0);
    snprintf(want, sizeof want, "%s\n", host);
    assert_file("hostname", want);
}

Test(files, injection_and_bad_configs_are_refused_before_writing)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    static const char *const bad[] = {
        "{\"dns_config\": {\"servers\": [\"1.1.1.1\\nnameserver 6.6.6.6\"]}}",
        "{\"dns_config\": {\"servers\": [\"1.1.1.1\\r\"]}}",
        "{\"dns_config\": {\"searches\": [\"a\\noptions debug\"]}}",
        "{\"dns_config\": {\"options\": [\"ndots:5\\nnameserver 6.6.6.6\"]}}",
        "{\"dns_config\": {\"searches\": [\"a b\"]}}",
        "{\"dns_config\": {\"servers\": [\"\"]}}",
        "{\"dns_config\": {\"searches\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]}}",
        "{\"dns_config\": {\"servers\": \"1.1.1.1\"}}",
        "{\"dns_config\": {\"servers\": [1]}}",
        "{\"dns_config\": []}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *c = config(bad[i]);
        cr_assert_eq(crio_sandbox_write_files(pod, "pod-a", c), CRIO_EINVAL, "accepted %s", bad[i]);
        cJSON_Delete(c);
    }
    cr_assert_eq(crio_sandbox_write_files(pod, "pod-a\nevil", NULL), CRIO_EINVAL);
    cr_assert_eq(crio_sandbox_write_files(pod, "pod a", NULL), CRIO_EINVAL);
    char path[PATH_MAX];
    const char *names[] = { "hostname", "hosts", "resolv.conf" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", pod, names[i]);
        cr_assert(!exists(path), "%s was written", names[i]);
    }
}

/* ---- shm ---- */

Test(files, shm_mount_has_the_size_and_flags)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    uint64_t size;
    cr_assert_eq(crio_parse_size(&size, "64m"), 0);
    cr_assert_eq(crio_sandbox_mount_shm(pod, size), 0, "%s", crio_error_message(crio_error_last()));
    char shm[PATH_MAX];
    snprintf(shm, sizeof shm, "%s/shm", pod);
    struct statfs sfs;
    cr_assert_eq(statfs(shm, &sfs), 0);
    cr_assert_eq((unsigned long)sfs.f_type, (unsigned long)TMPFS_MAGIC);
    cr_assert_eq((uint64_t)sfs.f_blocks * (uint64_t)sfs.f_bsize, 64u << 20);
    struct statvfs svfs;
    cr_assert_eq(statvfs(shm, &svfs), 0);
    cr_assert_eq(svfs.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC), ST_NOSUID | ST_NODEV | ST_NOEXEC);
    struct stat st;
    cr_assert_eq(stat(shm, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 01777);
    cr_assert_eq(crio_sandbox_mount_shm(pod, size), CRIO_EEXISTS);
    cr_assert_eq(mounts_under(shm, NULL, 0), 1);

    cr_assert_eq(crio_sandbox_unmount_shm(pod), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(mounts_under(shm, NULL, 0), 0);
    cr_assert(!exists(shm));
    cr_assert_eq(crio_sandbox_unmount_shm(pod), 0, "a second unmount fails");
    cr_assert_eq(crio_sandbox_mount_shm(pod, 0), CRIO_EINVAL);
}

Test(size, parser_table)
{
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {
        { "65536", 65536 },       { "0", 0 },
        { "512k", 512 << 10 },    { "512K", 512 << 10 },
        { "64m", 64 << 20 },      { "64M", 64 << 20 },
        { "64Mi", 64 << 20 },     { "64MB", 64 << 20 },
        { "64MiB", 64 << 20 },    { "1g", 1ULL << 30 },
        { "2t", 2ULL << 40 },     { "1p", 1ULL << 50 },
        { "15e", 15ULL << 60 },   { "100b", 100 },
        { "18446744073709551615", UINT64_MAX },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        cr_assert_eq(crio_parse_size(&v, ok[i].in), 0, "%s", ok[i].in);
        cr_assert_eq(v, ok[i].want, "%s: %llu", ok[i].in, (unsigned long long)v);
    }
    static const char *const bad[] = { "",    "m",   "-1", "+1",  " 64m", "64m ", "64 m", "1.5g",
                                       "64x", "64mm", "64ib", "16e", "18446744073709551616",
                                       "99999999999999999999k" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        cr_assert_eq(crio_parse_size(&v, bad[i]), CRIO_EINVAL, "accepted \"%s\"", bad[i]);
    }
    uint64_t v;
    cr_assert_eq(crio_parse_size(&v, NULL), CRIO_EINVAL);
}

/* ---- the pause process ---- */

TestSuite(pause, .init = setup, .fini = teardown);

/*
 * The real crio-pause when it is built next to this test ($(B)/crio-pause),
 * else a stand-in compiled here: PID 1 of its namespace, asleep until killed.
 */
static void pause_binary(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = '\0';
    for (int i = 0; i < 3; i++)
        *strrchr(exe, '/') = '\0';
    snprintf(out, len, "%.4000s/crio-pause", exe);
    if (access(out, X_OK) == 0)
        return;
    char src[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(src, sizeof src, "%s/pause.c", tmp);
    snprintf(out, len, "%s/pause", tmp);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs("#include <signal.h>\n#include <unistd.h>\n"
          "static void bye(int s) { (void)s; _exit(0); }\n"
          "int main(void) { signal(SIGTERM, bye); signal(SIGINT, bye); for (;;) pause(); }\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -O1 -o %s %s", out, src);
    cr_assert_eq(system(cmd), 0, "compile the pause stand-in");
}

/* Field `field` (>= 3) of /proc/PID/stat, counted after the command name; false when gone. */
static bool proc_stat_field(pid_t pid, int field, unsigned long long *out, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')') + 2;
    if (state)
        *state = *p;
    for (int i = 3; i < field; i++)
        p = strchr(p, ' ') + 1;
    *out = strtoull(p, NULL, 10);
    return true;
}

/* The recorded process no longer runs: gone, a zombie, or its pid reused. */
static bool gone(pid_t pid, unsigned long long start)
{
    unsigned long long st;
    char state;
    return !proc_stat_field(pid, 22, &st, &state) || st != start || state == 'Z';
}

static bool in_cgroup_everywhere(pid_t pid)
{
    char h[32][256], path[PATH_MAX];
    int n = host_hierarchies(h, 32);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%.255s%.63s/cgroup.procs", h[i], cg);
        char *procs = slurp(path), want[32];
        snprintf(want, sizeof want, "%d", (int)pid);
        bool found = false;
        for (char *save = NULL, *t = strtok_r(procs, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
            found |= strcmp(t, want) == 0;
        free(procs);
        if (!found)
            return false;
    }
    return true;
}

Test(pause, runs_as_pid_1_in_the_pods_namespaces_and_cgroup)
{
    char bin[PATH_MAX];
    pause_binary(bin, sizeof bin);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET | CRIO_PIN_IPC | CRIO_PIN_UTS, "sbx-pod"), 0);
    cr_assert_eq(crio_cgroup_create(cg), 0);
    pid_t pid = 0;
    cr_assert_eq(crio_sandbox_start_pause(&pid, pod, bin, cg), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_gt(pid, 1);

    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
    for (size_t i = 0; i < 3; i++) {
        char pin[PATH_MAX], ns[128];
        snprintf(pin, sizeof pin, "%s/%s", pod, kinds[i]);
        snprintf(ns, sizeof ns, "%s/ns/%s", proc, kinds[i]);
        cr_assert_eq(ino_of("%s", ns), ino_of("%s", pin), "pause is not in the pod's %s namespace", kinds[i]);
    }
    cr_assert_neq(ino_of("%s/ns/pid", proc), ino_of("%s", "/proc/self/ns/pid"), "no PID namespace of its own");
    unsigned long long ppid, start;
    cr_assert(proc_stat_field(pid, 4, &ppid, NULL));
    cr_assert_neq((pid_t)ppid, getpid(), "pause is our child");
    cr_assert(in_cgroup_everywhere(pid), "pause is not in %s in every hierarchy", cg);

    /* PID 1 of its namespace: NSpid lists the host pid, then 1. */
    char status_path[96], want[64];
    snprintf(status_path, sizeof status_path, "%s/status", proc);
    char *status = slurp(status_path);
    snprintf(want, sizeof want, "\nNSpid:\t%d\t1\n", (int)pid);
    cr_assert_neq(strstr(status, want), NULL, "%s", status);
    free(status);

    /* The record matches the process. */
    char rec[PATH_MAX];
    snprintf(rec, sizeof rec, "%s/pause.pid", pod);
    cJSON *j = NULL;
    cr_assert_eq(crio_json_read_file(&j, rec, 4096), 0);
    cr_assert(proc_stat_field(pid, 22, &start, NULL));
    cr_assert_eq(crio_json_int(j, "pid", -1), pid);
    cr_assert_eq((unsigned long long)crio_json_int(j, "start_time", -1), start);
    cJSON_Delete(j);

    cr_assert_eq(crio_sandbox_stop_pause(pod), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert(gone(pid, start), "pause still runs after stop returned");
    cr_assert(!exists(rec));
    cr_assert_eq(crio_sandbox_stop_pause(pod), 0, "a second stop fails");
    cr_assert_eq(crio_cgroup_remove(cg), 0, "%s", crio_error_message(crio_error_last()));
}

Test(pause, without_pins_or_cgroup_it_keeps_the_callers)
{
    char bin[PATH_MAX];
    pause_binary(bin, sizeof bin);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_IPC, NULL), 0); /* a host-network pod */
    pid_t pid = 0;
    cr_assert_eq(crio_sandbox_start_pause(&pid, pod, bin, NULL), 0, "%s", crio_error_message(crio_error_last()));
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
    cr_assert_eq(ino_of("%s/ns/net", proc), ino_of("%s", "/proc/self/ns/net"));
    cr_assert_eq(ino_of("%s/ns/ipc", proc), ino_of("%s/ipc", pod));
    unsigned long long start;
    cr_assert(proc_stat_field(pid, 22, &start, NULL));
    cr_assert_eq(crio_sandbox_stop_pause(pod), 0);
    cr_assert(gone(pid, start));
}

Test(pause, stop_spares_a_reused_pid)
{
    /* A live process of ours stands for whoever got the pause's pid after it died. */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    track(pid);
    unsigned long long start;
    cr_assert(proc_stat_field(pid, 22, &start, NULL));
    cr_assert_eq(mkdir(pod, 0755), 0);
    char rec[PATH_MAX], json[128];
    snprintf(rec, sizeof rec, "%s/pause.pid", pod);
    snprintf(json, sizeof json, "{\"pid\": %d, \"start_time\": %llu}", (int)pid, start + 1);
    cr_assert_eq(crio_fs_write_atomic(rec, json, strlen(json), 0644), 0);

    cr_assert_eq(crio_sandbox_stop_pause(pod), 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "the stranger was killed");
    cr_assert_eq(kill(pid, 0), 0);
    cr_assert(!exists(rec), "the stale record stays");
}

Test(pause, stop_without_record_and_bad_record)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    cr_assert_eq(crio_sandbox_stop_pause(pod), 0);
    char rec[PATH_MAX];
    snprintf(rec, sizeof rec, "%s/pause.pid", pod);
    cr_assert_eq(crio_fs_write_atomic(rec, "{\"pid\": 1}", 10, 0644), 0);
    cr_assert_eq(crio_sandbox_stop_pause(pod), CRIO_EDATALOSS, "pid 1 without a start time accepted");
}

Test(pause, failures_leave_nothing)
{
    cr_assert_eq(mkdir(pod, 0755), 0);
    char rec[PATH_MAX], bad[PATH_MAX];
    snprintf(rec, sizeof rec, "%s/pause.pid", pod);
    pid_t pid = 0;
    snprintf(bad, sizeof bad, "%s/missing", tmp);
    cr_assert_eq(crio_sandbox_start_pause(&pid, pod, bad, NULL), CRIO_ENOTFOUND);

    /* Executable, but not a program: execve fails in the pause child, after the fork. */
    snprintf(bad, sizeof bad, "%s/not-a-program", tmp);
    cr_assert_eq(crio_fs_write_atomic(bad, "garbage\n", 8, 0755), 0);
    cr_assert_eq(crio_sandbox_start_pause(&pid, pod, bad, NULL), CRIO_EINTERNAL);
    cr_assert_neq(strstr(crio_error_message(crio_error_last()), "execute"), NULL, "%s",
                  crio_error_message(crio_error_last()));
    cr_assert(!exists(rec));

    /* A cgroup that does not exist: the helper is killed before any pause is forked. */
    char bin[PATH_MAX];
    pause_binary(bin, sizeof bin);
    cr_assert_eq(crio_sandbox_start_pause(&pid, pod, bin, cg), CRIO_ENOTFOUND);
    cr_assert(!exists(rec));
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a helper was left unreaped");
}
