/*
 * Cgroups: naming for both drivers, and the cgroupfs work (create, join,
 * remove, read figures) in every mounted hierarchy.
 *
 * The hierarchies are found once in /proc/self/mountinfo: each distinct
 * cgroup (v1) superblock, named ones like name=systemd included, as runc's
 * cgroupfs driver also joins them, and the cgroup2 mount.  On a hybrid host
 * (v1 controllers plus an empty /sys/fs/cgroup/unified) a figure is read
 * from the v1 controller that owns it; a controller absent from v1 is read
 * from v2 when the v2 root lists it in cgroup.controllers.
 */
#include "pod/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"

#define MAX_HIERARCHIES 32
/* Control files are tiny; memory.stat is the largest (~2 KiB on v2). */
#define CONTROL_FILE_MAX (64 * 1024)
/* v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (~2^63); anything this large is no limit. */
#define V1_UNLIMITED_FLOOR (UINT64_C(1) << 62)
/* systemd's default slice for a runc "::name" cgroupsPath, as runc uses. */
#define SYSTEMD_DEFAULT_SLICE "system.slice"

typedef struct hierarchy {
    char *mount;       /* its mount point */
    char *controllers; /* v1: the super options ("rw,cpu,cpuacct"); v2: cgroup.controllers, comma-joined */
    bool unified;
} hierarchy;

static pthread_mutex_t hier_lock = PTHREAD_MUTEX_INITIALIZER;
static hierarchy hiers[MAX_HIERARCHIES];
static size_t n_hiers;
static bool hiers_loaded;

/* ---- finding the hierarchies ---- */

/* Whether comma-separated `list` has the item `name`. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchrnul(p, ',');
        if ((size_t)(end - p) == n && strncmp(p, name, n) == 0)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
            r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The v2 root's cgroup.controllers ("cpu io memory") as "cpu,io,memory". */
static char *v2_controllers(const char *mount)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.controllers", mount);
    char *text = NULL;
    if (crio_fs_read_file(&text, NULL, path, CONTROL_FILE_MAX) < 0) {
        crio_error_clear();
        return strdup("");
    }
    char *end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        *--end = '\0';
    for (char *p = text; *p; p++)
        if (*p == ' ')
            *p = ',';
    return text;
}

/* Records one mountinfo line's hierarchy, unless its superblock is already known (a second mount of it). */
static int add_hierarchy(char *const f[], size_t nf, size_t dash, char seen[][32])
{
    const char *fstype = f[dash + 1];
    bool v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0)
        return 0;
    if (n_hiers == MAX_HIERARCHIES)
        return 0;
    for (size_t i = 0; i < n_hiers; i++)
        if (strcmp(seen[i], f[2]) == 0)
            return 0;
    unescape_octal(f[4]);
    hierarchy h = { .mount = strdup(f[4]), .unified = v2 };
    h.controllers = v2 ? v2_controllers(f[4]) : strdup(dash + 3 < nf ? f[dash + 3] : "");
    if (!h.mount || !h.controllers) {
        free(h.mount);
        free(h.controllers);
        return crio_error_oom();
    }
    snprintf(seen[n_hiers], sizeof seen[0], "%s", f[2]);
    hiers[n_hiers++] = h;
    return 0;
}

/* Splits a mountinfo line into fields; returns how many, and the index of "-" in *dash. */
static size_t split_mountinfo(char *line, char *f[], size_t max, size_t *dash)
{
    size_t n = 0;
    *dash = 0;
    for (char *save = NULL, *t = strtok_r(line, " \n", &save); t && n < max; t = strtok_r(NULL, " \n", &save)) {
        if (!*dash && n >= 6 && strcmp(t, "-") == 0)
            *dash = n;
        f[n++] = t;
    }
    return n;
}

static int load_hierarchies(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "cgroups: open /proc/self/mountinfo");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    char seen[MAX_HIERARCHIES][32];
    while (getline(&line, &cap, f) > 0) {
        char *fields[64];
        size_t dash, nf = split_mountinfo(line, fields, CRIO_ARRAY_SIZE(fields), &dash);
        if (dash && dash + 1 < nf) {
            int r = add_hierarchy(fields, nf, dash, seen);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* The hierarchies, found at the first call: they do not change while a daemon runs. */
static int hierarchies(const hierarchy **out, size_t *n)
{
    pthread_mutex_lock(&hier_lock);
    int r = 0;
    if (!hiers_loaded) {
        r = load_hierarchies();
        hiers_loaded = r == 0;
        if (r < 0) {
            for (size_t i = 0; i < n_hiers; i++) {
                free(hiers[i].mount);
                free(hiers[i].controllers);
            }
            n_hiers = 0;
        }
    }
    pthread_mutex_unlock(&hier_lock);
    *out = hiers;
    *n = r < 0 ? 0 : n_hiers;
    if (r == 0 && n_hiers == 0)
        return crio_error_set(CRIO_EINTERNAL, "cgroups: no cgroup hierarchy is mounted");
    return r;
}

/* The first hierarchy of that version having `controller` (NULL: any); NULL when none. */
static const hierarchy *find_hierarchy(bool unified, const char *controller)
{
    const hierarchy *h;
    size_t n;
    if (hierarchies(&h, &n) < 0) {
        crio_error_clear();
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (h[i].unified == unified && (!controller || list_has(h[i].controllers, controller)))
            return &h[i];
    return NULL;
}

/* The hierarchy holding `controller`: the v1 one, else v2 when it has it enabled at its root. */
static const hierarchy *hierarchy_for(const char *controller)
{
    const hierarchy *h = find_hierarchy(false, controller);
    return h ? h : find_hierarchy(true, controller);
}

/* ---- paths and names ---- */

/* A cgroupfs path must be absolute, with no "." or ".." component; "/" itself only when allowed. */
static int check_fs_path(const char *path, bool allow_root)
{
    if (!path || path[0] != '/' || strlen(path) > PATH_MAX / 2)
        return crio_error_set(CRIO_EINVAL, "cgroup path \"%s\": not an absolute path", path ? path : "");
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return crio_error_set(CRIO_EINVAL, "cgroup path \"%s\": no \".\" or \"..\" allowed", path);
        p += len;
    }
    if (!allow_root && strspn(path, "/") == strlen(path))
        return crio_error_set(CRIO_EINVAL, "cgroup path \"%s\": the root cgroup is not allowed", path);
    return 0;
}

/* A copy of `path` without trailing slashes (keeping "/"). */
static char *strip_trailing_slashes(const char *path)
{
    char *s = strdup(path);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Ids become single path components and, with systemd, single unit-name parts. */
static int check_id(const char *what, const char *id)
{
    if (!id || !*id)
        return crio_error_set(CRIO_EINVAL, "%s id: empty", what);
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return crio_error_set(CRIO_EINVAL, "%s id \"%s\": only letters, digits, '-' and '_' allowed", what,
                                  id);
    return 0;
}

/* A slice name: "-.slice" (the root) or dash-joined non-empty parts and ".slice", without '/'. */
static int check_slice(const char *slice)
{
    if (!ends_with(slice, ".slice") || strchr(slice, '/'))
        return crio_error_set(CRIO_EINVAL, "systemd slice \"%s\": not a slice name", slice);
    if (strcmp(slice, "-.slice") == 0)
        return 0;
    size_t n = strlen(slice) - strlen(".slice");
    if (n == 0 || slice[0] == '-' || slice[n - 1] == '-' || strstr(slice, "--"))
        return crio_error_set(CRIO_EINVAL, "systemd slice \"%s\": bad '-' placement", slice);
    return 0;
}

static bool driver_is(const char *driver, const char *name)
{
    return driver && strcmp(driver, name) == 0;
}

static int check_driver(const char *driver)
{
    if (driver_is(driver, "cgroupfs") || driver_is(driver, "systemd"))
        return 0;
    return crio_error_set(CRIO_EINVAL, "cgroup driver \"%s\": not cgroupfs or systemd", driver ? driver : "");
}

static int cgroupfs_pod_path(char **out, const char *parent, const char *pod_id)
{
    if (!parent || !*parent)
        parent = "/crio";
    if (ends_with(parent, ".slice"))
        return crio_error_set(CRIO_EINVAL, "cgroup parent \"%s\": a systemd slice with the cgroupfs driver",
                              parent);
    int r = check_fs_path(parent, true);
    if (r < 0)
        return r;
    _cleanup_free_ char *p = strip_trailing_slashes(parent);
    if (!p || asprintf(out, "%s/pod%s", strcmp(p, "/") == 0 ? "" : p, pod_id) < 0)
        return crio_error_oom();
    return 0;
}

static int systemd_pod_path(char **out, const char *parent, const char *pod_id)
{
    if (!parent || !*parent)
        parent = "crio.slice";
    int r = check_slice(parent);
    if (r < 0)
        return r;
    /* '-' nests slices, so the id's dashes become '_', as the kubelet does for pod UIDs. */
    _cleanup_free_ char *id = strdup(pod_id);
    if (!id)
        return crio_error_oom();
    for (char *p = id; *p; p++)
        if (*p == '-')
            *p = '_';
    int n = strcmp(parent, "-.slice") == 0
                ? asprintf(out, "pod%s.slice", id)
                : asprintf(out, "%.*s-pod%s.slice", (int)(strlen(parent) - strlen(".slice")), parent, id);
    return n < 0 ? crio_error_oom() : 0;
}

int crio_cgroup_pod_path(char **out, const char *driver, const char *parent, const char *pod_id)
{
    int r = check_driver(driver);
    if (r < 0 || (r = check_id("pod", pod_id)) < 0)
        return r;
    if (driver_is(driver, "systemd"))
        return systemd_pod_path(out, parent, pod_id);
    return cgroupfs_pod_path(out, parent, pod_id);
}

int crio_cgroup_container_path(char **out, const char *driver, const char *pod_cgroup, const char *ctr_id)
{
    int r = check_driver(driver);
    if (r < 0 || (r = check_id("container", ctr_id)) < 0)
        return r;
    if (!pod_cgroup)
        return crio_error_set(CRIO_EINVAL, "container cgroup: no pod cgroup");
    if (driver_is(driver, "systemd")) {
        if ((r = check_slice(pod_cgroup)) < 0)
            return r;
        return asprintf(out, "%s:crio:%s", pod_cgroup, ctr_id) < 0 ? crio_error_oom() : 0;
    }
    if ((r = check_fs_path(pod_cgroup, true)) < 0)
        return r;
    _cleanup_free_ char *p = strip_trailing_slashes(pod_cgroup);
    if (!p || asprintf(out, "%s/crio-%s", strcmp(p, "/") == 0 ? "" : p, ctr_id) < 0)
        return crio_error_oom();
    return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" (the root). */
static int expand_slice(char **out, const char *slice)
{
    int r = check_slice(slice);
    if (r < 0)
        return r;
    if (strcmp(slice, "-.slice") == 0)
        return (*out = strdup("")) ? 0 : crio_error_oom();
    size_t n = strlen(slice) - strlen(".slice");
    /* Each '-' adds one "/<prefix>.slice" of at most the whole name's length. */
    size_t cap = 1, dashes = 0;
    for (size_t i = 0; i < n; i++)
        dashes += slice[i] == '-';
    cap += (dashes + 1) * (n + strlen("/.slice"));
    char *buf = malloc(cap), *w = buf;
    if (!buf)
        return crio_error_oom();
    for (size_t i = 0; i <= n; i++)
        if (i == n || slice[i] == '-')
            w += sprintf(w, "/%.*s.slice", (int)i, slice);
    *out = buf;
    return 0;
}

/* runc's systemd syntax "slice:prefix:name" -> the cgroupfs path systemd gives that unit. */
static int systemd_fs_path(char **out, const char *cgroups_path)
{
    const char *c1 = strchr(cgroups_path, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':'))
        return crio_error_set(CRIO_EINVAL, "cgroupsPath \"%s\": neither an absolute path nor slice:prefix:name",
                              cgroups_path);
    _cleanup_free_ char *slice = strndup(cgroups_path, (size_t)(c1 - cgroups_path));
    _cleanup_free_ char *prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
    const char *name = c2 + 1;
    if (!slice || !prefix)
        return crio_error_oom();
    if (!*name || strchr(name, '/') || strchr(prefix, '/'))
        return crio_error_set(CRIO_EINVAL, "cgroupsPath \"%s\": bad unit name", cgroups_path);
    _cleanup_free_ char *dir = NULL;
    int r = expand_slice(&dir, *slice ? slice : SYSTEMD_DEFAULT_SLICE);
    if (r < 0)
        return crio_error_wrap(r, "cgroupsPath \"%s\"", cgroups_path);
    /* As runc: a name that is a slice is the unit itself; otherwise a scope "prefix-name.scope". */
    if (ends_with(name, ".slice"))
        r = asprintf(out, "%s/%s", dir, name);
    else
        r = asprintf(out, "%s/%s%s%s.scope", dir, prefix, *prefix ? "-" : "", name);
    return r < 0 ? crio_error_oom() : 0;
}

int crio_cgroup_fs_path(char **out, const char *cgroups_path)
{
    if (!cgroups_path || !*cgroups_path)
        return crio_error_set(CRIO_EINVAL, "cgroupsPath: empty");
    if (cgroups_path[0] != '/')
        return systemd_fs_path(out, cgroups_path);
    int r = check_fs_path(cgroups_path, true);
    if (r < 0)
        return r;
    return (*out = strip_trailing_slashes(cgroups_path)) ? 0 : crio_error_oom();
}

/* ---- create ---- */

/* Reads a small control file, trimmed of trailing white space.  -1 with errno on failure. */
static int read_control(char *buf, size_t len, const char *dir, const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    while ((n = read(fd, buf, len - 1)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -1;
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    return 0;
}

/* Writes a control file in one write() (the kernel takes each write as one command).  -1 with errno. */
static int write_control(const char *dir, const char *file, const char *value)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    while ((n = write(fd, value, strlen(value))) < 0 && errno == EINTR)
        ;
    return n < 0 ? -1 : 0;
}

/*
 * A new v1 cpuset cgroup has empty cpus and mems, and no task can join it
 * until both are set: copy them from the parent, as runc does.  The files
 * lack the "cpuset." prefix when the hierarchy is mounted with noprefix.
 */
static int init_cpuset(const char *dir)
{
    _cleanup_free_ char *parent = strdup(dir);
    if (!parent)
        return crio_error_oom();
    *strrchr(parent, '/') = '\0';
    static const char *const names[][2] = { { "cpuset.cpus", "cpus" }, { "cpuset.mems", "mems" } };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(names); i++) {
        const char *name = names[i][0];
        char cur[4096], up[4096];
        if (read_control(cur, sizeof cur, dir, name) < 0 && errno == ENOENT)
            name = names[i][1];
        if (read_control(cur, sizeof cur, dir, name) < 0 || read_control(up, sizeof up, parent, name) < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "cgroup %s: read %s", dir, name);
        if (!*cur && write_control(dir, name, up) < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "cgroup %s: write %s \"%s\"", dir, name, up);
    }
    return 0;
}

/*
 * On v2 a child only gets a controller's files when its parent enables it
 * in cgroup.subtree_control.  Best effort, one controller at a time: the
 * kernel refuses some (a parent with processes of its own, a threaded
 * subtree), and the cgroup is still usable without them.
 */
static void v2_enable_controllers(const char *parent)
{
    char avail[1024];
    if (read_control(avail, sizeof avail, parent, "cgroup.controllers") < 0)
        return;
    char enabled[1024];
    if (read_control(enabled, sizeof enabled, parent, "cgroup.subtree_control") < 0)
        return;
    for (char *save = NULL, *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
        char want[64];
        snprintf(want, sizeof want, " %s ", c);
        char padded[1100];
        snprintf(padded, sizeof padded, " %s ", enabled);
        if (strstr(padded, want))
            continue;
        snprintf(want, sizeof want, "+%s", c);
        write_control(parent, "cgroup.subtree_control", want);
    }
}

/* Removes the directories of `dir` from the leaf up to (including) length `stop`. */
static void rmdir_up(char *dir, size_t stop)
{
    while (strlen(dir) >= stop) {
        rmdir(dir);
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = '\0';
    }
}

/*
 * mkdir -p of `path` under one hierarchy.  *created is the length of the
 * first directory this call made (0: none), for undoing.
 */
static int create_in(const hierarchy *h, const char *path, size_t *created)
{
    char dir[PATH_MAX];
    size_t len = (size_t)snprintf(dir, sizeof dir, "%s", h->mount);
    bool cpuset = !h->unified && list_has(h->controllers, "cpuset");
    *created = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (h->unified)
            v2_enable_controllers(dir);
        len += (size_t)snprintf(dir + len, sizeof dir - len, "/%.*s", (int)n, p);
        p += n;
        if (mkdir(dir, 0755) == 0) {
            if (!*created)
                *created = len;
        } else if (errno != EEXIST) {
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "create cgroup %s", dir);
        }
        /* Also for an existing directory: one made by someone else may be left uninitialized. */
        int r = cpuset ? init_cpuset(dir) : 0;
        if (r < 0)
            return r;
    }
    return 0;
}

int crio_cgroup_create(const char *path)
{
    int r = check_fs_path(path, false);
    const hierarchy *h;
    size_t n;
    if (r < 0 || (r = hierarchies(&h, &n)) < 0)
        return r;
    size_t created[MAX_HIERARCHIES] = { 0 };
    for (size_t i = 0; i < n; i++) {
        r = create_in(&h[i], path, &created[i]);
        if (r < 0) {
            /* Undo what this call made, so a failure leaves nothing behind. */
            for (size_t j = 0; j <= i; j++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s%s", h[j].mount, path);
                if (created[j])
                    rmdir_up(dir, created[j]);
            }
            return r;
        }
    }
    return 0;
}

/* ---- join ---- */

int crio_cgroup_enter(const char *path, pid_t pid)
{
    int r = check_fs_path(path, true);
    const hierarchy *h;
    size_t n;
    if (r < 0 || (r = hierarchies(&h, &n)) < 0)
        return r;
    char value[32];
    snprintf(value, sizeof value, "%d\n", (int)pid);
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", h[i].mount, path);
        if (write_control(dir, "cgroup.procs", value) < 0)
            return crio_error_set_errno(errno == ENOENT ? CRIO_ENOTFOUND : CRIO_EINTERNAL, errno,
                                        "move process %d into cgroup %s", (int)pid, dir);
    }
    return 0;
}

/* ---- remove ---- */

/*
 * rmdir of `dir` and every cgroup below it, leaves first.  A cgroup
 * directory holds only control files, which rmdir takes along.  Returns
 * 0 (absent is fine) or -1 with errno; `busy` gets the first directory
 * that failed.
 */
static int remove_tree(const char *dir, char *busy, size_t busy_len)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        snprintf(busy, busy_len, "%s", dir);
        return -1;
    }
    int rc = 0, err = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (remove_tree(sub, busy, busy_len) < 0 && rc == 0) {
            rc = -1;
            err = errno;
        }
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT) {
        rc = -1;
        err = errno;
        snprintf(busy, busy_len, "%s", dir);
    }
    errno = err;
    return rc;
}

/* One pass over the hierarchies still pending.  Returns how many are busy, or <0 for another error. */
static int remove_pass(const hierarchy *h, size_t n, const char *path, bool pending[], char *busy,
                       size_t busy_len)
{
    int n_busy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pending[i])
            continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", h[i].mount, path);
        if (remove_tree(dir, busy, busy_len) == 0)
            pending[i] = false;
        else if (errno == EBUSY)
            n_busy++;
        else
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "remove cgroup %s", busy);
    }
    return n_busy;
}

int crio_cgroup_remove(const char *path)
{
    int r = check_fs_path(path, false);
    const hierarchy *h;
    size_t n;
    if (r < 0 || (r = hierarchies(&h, &n)) < 0)
        return r;
    bool pending[MAX_HIERARCHIES];
    for (size_t i = 0; i < n; i++)
        pending[i] = true;
    char busy[PATH_MAX] = "";
    int64_t deadline = crio_monotonic_ms() + CRIO_CGROUP_REMOVE_WAIT_MS, delay = 10;
    /* Processes just killed take a moment to leave: retry, backing off, until the deadline. */
    while ((r = remove_pass(h, n, path, pending, busy, sizeof busy)) > 0) {
        int64_t left = deadline - crio_monotonic_ms();
        if (left <= 0)
            return crio_error_set(CRIO_EBUSY, "remove cgroup %s: processes remain in %s after %d ms", path, busy,
                                  CRIO_CGROUP_REMOVE_WAIT_MS);
        crio_sleep_ms(delay < left ? delay : left);
        delay = delay * 2 > 100 ? 100 : delay * 2;
    }
    return r;
}

char *crio_cgroup_memory_dir(const char *path)
{
    if (check_fs_path(path, true) < 0) {
        crio_error_clear();
        return NULL;
    }
    const hierarchy *h = hierarchy_for("memory");
    char *dir = NULL;
    if (h && asprintf(&dir, "%s%s", h->mount, path) < 0)
        dir = NULL;
    return dir;
}

/* ---- figures ---- */

/* Reads one number from DIR/FILE ("max" reads as UINT64_MAX).  Returns false when absent. */
static bool read_u64(uint64_t *out, const char *dir, const char *file)
{
    char buf[64];
    if (read_control(buf, sizeof buf, dir, file) < 0)
        return false;
    if (strcmp(buf, "max") == 0) {
        *out = UINT64_MAX;
        return true;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return false;
    *out = v;
    return true;
}

typedef struct stat_key {
    const char *key;
    uint64_t *value;
} stat_key;

/* Reads the "key value" lines of DIR/FILE that `keys` name.  Returns false when absent. */
static bool read_stat_file(const char *dir, const char *file, const stat_key *keys, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    _cleanup_free_ char *text = NULL;
    if (crio_fs_read_file(&text, NULL, path, CONTROL_FILE_MAX) < 0) {
        crio_error_clear();
        return false;
    }
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        for (size_t i = 0; i < n; i++)
            if (strcmp(line, keys[i].key) == 0)
                *keys[i].value = strtoull(sp + 1, NULL, 10);
    }
    return true;
}

/* The directory of cgroupfs `path` in the hierarchy `h` (NULL: none, and false). */
static bool hierarchy_dir(char dir[PATH_MAX], const hierarchy *h, const char *path)
{
    if (!h)
        return false;
    snprintf(dir, PATH_MAX, "%s%s", h->mount, path);
    return true;
}

static bool read_cpu(crio_cgroup_stats *s, const char *path)
{
    char dir[PATH_MAX];
    if (hierarchy_dir(dir, hierarchy_for("cpuacct"), path))
        return read_u64(&s->cpu_usage_ns, dir, "cpuacct.usage");
    /* v2 has cpu.stat in every cgroup, the cpu controller enabled or not. */
    if (!hierarchy_dir(dir, find_hierarchy(true, NULL), path))
        return false;
    uint64_t usec = 0;
    stat_key k[] = { { "usage_usec", &usec } };
    bool ok = read_stat_file(dir, "cpu.stat", k, CRIO_ARRAY_SIZE(k));
    s->cpu_usage_ns = usec * 1000;
    return ok;
}

/* The memory figures' files and memory.stat keys, which v1 and v2 name differently. */
typedef struct memory_files {
    const char *usage, *limit;
    const char *inactive_file, *rss, *pgfault, *pgmajfault;
} memory_files;

static const memory_files memory_v1 = { "memory.usage_in_bytes", "memory.limit_in_bytes", "total_inactive_file",
                                        "total_rss", "total_pgfault", "total_pgmajfault" };
static const memory_files memory_v2 = { "memory.current", "memory.max", "inactive_file", "anon", "pgfault",
                                        "pgmajfault" };

static bool read_memory(crio_cgroup_stats *s, const char *path)
{
    const hierarchy *h = hierarchy_for("memory");
    char dir[PATH_MAX];
    if (!hierarchy_dir(dir, h, path))
        return false;
    const memory_files *f = h->unified ? &memory_v2 : &memory_v1;
    uint64_t inactive = 0;
    bool ok = read_u64(&s->memory_usage, dir, f->usage);
    read_u64(&s->memory_limit, dir, f->limit);
    if (!h->unified && s->memory_limit >= V1_UNLIMITED_FLOOR)
        s->memory_limit = UINT64_MAX;
    stat_key k[] = { { f->inactive_file, &inactive },
                     { f->rss, &s->memory_rss },
                     { f->pgfault, &s->page_faults },
                     { f->pgmajfault, &s->major_page_faults } };
    read_stat_file(dir, "memory.stat", k, CRIO_ARRAY_SIZE(k));
    /* The kubelet's working set: usage less the inactive file cache it could drop. */
    s->memory_working_set = s->memory_usage > inactive ? s->memory_usage - inactive : 0;
    return ok;
}

static bool read_pids(crio_cgroup_stats *s, const char *path)
{
    char dir[PATH_MAX];
    return hierarchy_dir(dir, hierarchy_for("pids"), path) && read_u64(&s->pids, dir, "pids.current");
}

int crio_cgroup_stats_read(crio_cgroup_stats *out, const char *path)
{
    memset(out, 0, sizeof *out);
    int r = check_fs_path(path, true);
    if (r < 0)
        return r;
    bool found = read_cpu(out, path);
    found |= read_memory(out, path);
    found |= read_pids(out, path);
    if (!found)
        return crio_error_set(CRIO_ENOTFOUND, "cgroup %s: not found in any hierarchy", path);
    return 0;
}
