/*
 * OCI runtime spec generation.
 *
 * The spec is built section by section from the CRI ContainerConfig (what
 * the kubelet asks for), the PodSandboxConfig (what the pod shares), the
 * image config (what the image defaults to) and the daemon's defaults, in
 * that order of precedence.  Every choice a runtime would otherwise make on
 * its own (namespaces, default mounts, devices, capabilities, masked paths)
 * is written out, so that the same config.json means the same container
 * under runc and crun.
 *
 * Security: names in the image's USER are resolved from the container's own
 * /etc/passwd and /etc/group, which are hostile input.  They are opened
 * relative to the rootfs fd with openat2(RESOLVE_IN_ROOT), so that a
 * symlink or ".." in the image can only lead to another file inside it
 * (where openat2 is missing, a walk refuses every symlink instead); only
 * regular files are read, opened non-blocking, and at most ETC_FILE_MAX
 * bytes of them.
 */
#include "spec/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/json.h"
#include "base/log.h"

#define OCI_VERSION "1.0.2"
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ETC_FILE_MAX (4u << 20) /* bound on a container's /etc/passwd or /etc/group */
#define ETC_LINE_MAX 4096       /* longer lines are skipped, as glibc's parser would fail them */
#define ID_MAX 4294967294u      /* (uid_t)-1 means "no change" to the kernel: not an id */
#define EXACT_INT_MAX 9007199254740992.0

/* CRI enum values (api.proto). */
enum { NS_MODE_POD = 0, NS_MODE_CONTAINER = 1, NS_MODE_NODE = 2, NS_MODE_TARGET = 3 };
enum { PROPAGATION_PRIVATE = 0, PROPAGATION_HOST_TO_CONTAINER = 1, PROPAGATION_BIDIRECTIONAL = 2 };
enum { GROUPS_POLICY_MERGE = 0, GROUPS_POLICY_STRICT = 1 };

/* ------------------------------------------------------------ helpers */

const cJSON *crio_spec_cri_get(const cJSON *tree, const char *path)
{
    const cJSON *cur = tree;
    const char *p = path ? path : "";
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const cJSON *next = NULL;
        const cJSON *e;
        if (cJSON_IsObject(cur))
            cJSON_ArrayForEach(e, cur) {
                if (e->string && strlen(e->string) == n && memcmp(e->string, p, n) == 0) {
                    next = e;
                    break;
                }
            }
        cur = next;
        p += n + (dot ? 1 : 0);
    }
    return cur;
}

const char *crio_spec_cri_string(const cJSON *tree, const char *path)
{
    const cJSON *v = crio_spec_cri_get(tree, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t crio_spec_cri_int(const cJSON *tree, const char *path, int64_t def)
{
    const cJSON *v = crio_spec_cri_get(tree, path);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18))
        return def;
    return (int64_t)v->valuedouble;
}

bool crio_spec_cri_bool(const cJSON *tree, const char *path, bool def)
{
    const cJSON *v = crio_spec_cri_get(tree, path);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* The builders below return 0 or CRIO_ENOMEM, and always consume the item they are given. */
static int put_item(cJSON *obj, const char *key, cJSON *item)
{
    if (!item || !cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

static int push_item(cJSON *arr, cJSON *item)
{
    if (!item || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

static int put_str(cJSON *obj, const char *key, const char *v)
{
    return put_item(obj, key, cJSON_CreateString(v));
}

static int put_num(cJSON *obj, const char *key, double v)
{
    return put_item(obj, key, cJSON_CreateNumber(v));
}

static int put_bool(cJSON *obj, const char *key, bool v)
{
    return put_item(obj, key, cJSON_CreateBool(v));
}

static int push_str(cJSON *arr, const char *v)
{
    return push_item(arr, cJSON_CreateString(v));
}

/* A uint64 as JSON: a number when a double holds it exactly, else its digits verbatim. */
static cJSON *json_u64(uint64_t v)
{
    if ((double)v <= EXACT_INT_MAX)
        return cJSON_CreateNumber((double)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(buf);
}

/* Sets obj[key], replacing a member of the same name. */
static int set_item(cJSON *obj, const char *key, cJSON *item)
{
    if (item && cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item))
            return 0;
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return put_item(obj, key, item);
}

static bool nonempty(const char *s)
{
    return s && *s;
}

/* ------------------------------------------------------------ context */

typedef enum { NS_HOST, NS_NEW, NS_JOIN } ns_how;

typedef struct gen {
    const crio_spec_input *in;
    const cJSON *ctr, *pod;
    const cJSON *sc;  /* the container's linux.security_context (may be NULL) */
    const cJSON *img; /* the image config's "config" (may be NULL) */
    cJSON *spec;
    bool privileged;
    bool readonly_rootfs;
    ns_how net, pid, ipc, uts;
    bool host_net, host_ipc;
    char name[128]; /* the container, for warnings */
} gen;

/* The image config's "config" object; a bare config object is taken as it is. */
static const cJSON *image_config_of(const cJSON *doc)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "config");
    if (cJSON_IsObject(c))
        return c;
    return cJSON_IsObject(doc) ? doc : NULL;
}

/* ------------------------------------------------------------- process */

/*
 * The CRI's rules: `command` replaces the image's ENTRYPOINT and `args` its
 * CMD; a command given without args does not take the image's CMD either
 * (CMD only makes sense as the arguments of ENTRYPOINT).
 */
static int build_args(cJSON *process, const gen *g)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(g->ctr, "command");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(g->ctr, "args");
    bool have_cmd = cJSON_GetArraySize(cmd) > 0;
    bool have_args = cJSON_GetArraySize(args) > 0;
    const cJSON *first = have_cmd ? cmd : cJSON_GetObjectItemCaseSensitive(g->img, "Entrypoint");
    const cJSON *second = have_args ? args : have_cmd ? NULL : cJSON_GetObjectItemCaseSensitive(g->img, "Cmd");

    cJSON *out = cJSON_AddArrayToObject(process, "args");
    if (!out)
        return crio_error_oom();
    const cJSON *parts[] = { first, second };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(parts); i++) {
        const cJSON *e;
        if (!cJSON_IsArray(parts[i]))
            continue;
        cJSON_ArrayForEach(e, parts[i]) {
            if (!cJSON_IsString(e))
                return crio_error_set(CRIO_EINVAL, "process args: an element is not a string");
            int r = push_str(out, e->valuestring);
            if (r < 0)
                return r;
        }
    }
    if (cJSON_GetArraySize(out) == 0)
        return crio_error_set(CRIO_EINVAL, "no command: the container config has no command or args, "
                                           "and the image no ENTRYPOINT or CMD");
    return 0;
}

/* The entry of `env` ("K=V" strings) whose key is key[0..len), or NULL. */
static cJSON *env_find(cJSON *env, const char *key, size_t len)
{
    cJSON *e;
    cJSON_ArrayForEach(e, env) {
        const char *s = e->valuestring;
        if (strncmp(s, key, len) == 0 && s[len] == '=')
            return e;
    }
    return NULL;
}

/* Sets "key=value" in `env`: in place of an entry with the same key, else appended. */
static int env_set(cJSON *env, const char *key, size_t keylen, const char *value)
{
    size_t n = keylen + 1 + strlen(value) + 1;
    _cleanup_free_ char *kv = malloc(n);
    if (!kv)
        return crio_error_oom();
    snprintf(kv, n, "%.*s=%s", (int)keylen, key, value);
    cJSON *old = env_find(env, key, keylen);
    cJSON *item = cJSON_CreateString(kv);
    if (!item)
        return crio_error_oom();
    if (!old)
        return push_item(env, item);
    if (!cJSON_ReplaceItemViaPointer(env, old, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

/* Sets a "K=V" entry; one without '=' or with an empty key is skipped, as a shell would refuse it. */
static int env_set_entry(cJSON *env, const char *kv, const char *source)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        crio_log_debug("container env: skipping \"%s\" from %s: not KEY=VALUE", kv, source);
        return 0;
    }
    return env_set(env, kv, (size_t)(eq - kv), eq + 1);
}

/*
 * The image's Env, then the daemon's default_env, then HOSTNAME (the pod's
 * name for itself wins over the image's), then the CRI envs, which override
 * all of them by key; PATH when nothing set one.
 */
static int build_env(cJSON *process, const gen *g)
{
    cJSON *env = cJSON_AddArrayToObject(process, "env");
    if (!env)
        return crio_error_oom();
    int r = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(g->img, "Env")) {
        if (cJSON_IsString(e) && (r = env_set_entry(env, e->valuestring, "the image")) < 0)
            return r;
    }
    for (const char *const *d = g->in->default_env; d && *d; d++)
        if ((r = env_set_entry(env, *d, "default_env")) < 0)
            return r;
    if (nonempty(g->in->hostname) && (r = env_set(env, "HOSTNAME", 8, g->in->hostname)) < 0)
        return r;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(g->ctr, "envs")) {
        const char *key = crio_json_string(e, "key");
        const char *value = crio_json_string(e, "value");
        if (!nonempty(key) || strchr(key, '='))
            return crio_error_set(CRIO_EINVAL, "env: bad key \"%s\"", key ? key : "");
        if ((r = env_set(env, key, strlen(key), value ? value : "")) < 0)
            return r;
    }
    if (!env_find(env, "PATH", 4))
        r = push_str(env, DEFAULT_PATH_ENV);
    return r;
}

static int build_cwd(cJSON *process, const gen *g)
{
    const char *wd = crio_json_string(g->ctr, "working_dir");
    if (nonempty(wd)) {
        if (wd[0] != '/')
            return crio_error_set(CRIO_EINVAL, "working_dir %s: not an absolute path", wd);
        return put_str(process, "cwd", wd);
    }
    wd = crio_json_string(g->img, "WorkingDir");
    if (!nonempty(wd))
        return put_str(process, "cwd", "/");
    if (wd[0] == '/')
        return put_str(process, "cwd", wd);
    /* Docker resolves a relative WORKDIR against "/". */
    size_t n = strlen(wd) + 2;
    _cleanup_free_ char *abs = malloc(n);
    if (!abs)
        return crio_error_oom();
    snprintf(abs, n, "/%s", wd);
    return put_str(process, "cwd", abs);
}

/* ------------------------------------------------------ /etc in the image */

static int force_fallback;  /* test hook */
static int openat2_missing; /* set once openat2 returned ENOSYS */

void crio_spec_force_fallback_resolver(bool on)
{
    __atomic_store_n(&force_fallback, on ? 1 : 0, __ATOMIC_RELAXED);
}

/*
 * Without openat2: one component at a time, refusing every symlink
 * (O_NOFOLLOW), so nothing can lead out of `root`.  A symlinked /etc/passwd
 * then counts as absent: safe, if stricter than RESOLVE_IN_ROOT.
 */
static int open_by_walk(int root, const char *relpath, int flags)
{
    _cleanup_close_ int dir = -1;
    int at = root;
    const char *p = relpath;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            break;
        char comp[256];
        size_t n = (size_t)(slash - p);
        if (n == 0 || n >= sizeof comp)
            return -EINVAL;
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next = openat(at, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return -errno;
        if (dir >= 0)
            close(dir);
        at = dir = next;
        p = slash + 1;
    }
    int fd = openat(at, p, flags | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

/* Opens `relpath` for reading without leaving `root`; the fd, or -errno. */
static int open_in_root(int root, const char *relpath)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK; /* a FIFO must not block us */
    if (!__atomic_load_n(&force_fallback, __ATOMIC_RELAXED) && !__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
        struct open_how how = {
            .flags = (uint64_t)flags,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root, relpath, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno != ENOSYS)
            return -errno;
        crio_log_debug("spec: no openat2 in this kernel; resolving /etc files component by component");
        __atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
    }
    return open_by_walk(root, relpath, flags);
}

/*
 * Reads the container's `relpath` ("etc/passwd").  *out is NULL when there
 * is no such regular file to read (absent, a directory, a device, a
 * symlink the walk refused): then only numeric ids resolve.
 */
static int read_etc_file(char **out, int root, const char *relpath)
{
    *out = NULL;
    _cleanup_close_ int fd = open_in_root(root, relpath);
    if (fd < 0) {
        int e = -fd;
        if (e == ENOENT || e == ENOTDIR || e == ELOOP || e == EXDEV || e == EACCES) {
            crio_log_debug("spec: no /%s in the container (%s)", relpath, strerror(e));
            return 0;
        }
        return crio_error_set_errno(CRIO_EINTERNAL, e, "open /%s in the container", relpath);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return crio_error_set_errno(CRIO_EINTERNAL, errno, "stat /%s in the container", relpath);
    if (!S_ISREG(st.st_mode)) {
        crio_log_debug("spec: /%s in the container is not a regular file", relpath);
        return 0;
    }
    size_t cap = 4096, len = 0;
    _cleanup_free_ char *buf = malloc(cap);
    if (!buf)
        return crio_error_oom();
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > ETC_FILE_MAX)
                return crio_error_set(CRIO_EINVAL, "/%s in the container is over %u bytes", relpath,
                                      ETC_FILE_MAX);
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                return crio_error_oom();
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return crio_error_set_errno(CRIO_EINTERNAL, errno, "read /%s in the container", relpath);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = TAKE_PTR(buf);
    return 0;
}

typedef struct etc_db {
    char *passwd; /* NULL: the image has none */
    char *group;
} etc_db;

static void etc_db_release(etc_db *db)
{
    free(db->passwd);
    free(db->group);
}

static int etc_db_load(etc_db *db, const crio_spec_input *in)
{
    _cleanup_close_ int owned = -1;
    int root = in->rootfs_fd;
    if (root <= 0) {
        owned = open(in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (owned < 0)
            return crio_error_set_errno(CRIO_EINVAL, errno, "rootfs %s", in->rootfs);
        root = owned;
    }
    int r = read_etc_file(&db->passwd, root, "etc/passwd");
    return r < 0 ? r : read_etc_file(&db->group, root, "etc/group");
}

/* Splits `line` (modified) at ':' into at most `max` fields; returns how many. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            break;
        *colon = '\0';
        p = colon + 1;
    }
    return n;
}

/*
 * Calls `fn` with the fields of each entry of a passwd/group text until it
 * returns true.  Comments, NIS "+"/"-" lines and overlong lines are skipped.
 */
static void for_each_entry(const char *text, int nfields, bool (*fn)(char **f, void *payload), void *payload)
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && n < ETC_LINE_MAX && *p != '#' && *p != '+' && *p != '-') {
            char line[ETC_LINE_MAX];
            char *f[8];
            memcpy(line, p, n);
            line[n] = '\0';
            if (split_fields(line, f, nfields) == nfields && fn(f, payload))
                return;
        }
        p = nl ? nl + 1 : NULL;
    }
}

static bool parse_id(const char *s, uint32_t *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > ID_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

typedef struct pw_query {
    const char *name; /* by name, or by uid when NULL */
    uint32_t uid;
    bool found;
    char found_name[256];
    uint32_t found_uid, found_gid;
} pw_query;

static bool pw_match(char **f, void *payload)
{
    pw_query *q = payload;
    uint32_t uid, gid;
    if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return false;
    if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
        return false;
    q->found = true;
    snprintf(q->found_name, sizeof q->found_name, "%s", f[0]);
    q->found_uid = uid;
    q->found_gid = gid;
    return true;
}

/* The passwd entry by name (or uid when name is NULL). */
static bool passwd_lookup(const etc_db *db, const char *name, uint32_t uid, pw_query *q)
{
    memset(q, 0, sizeof *q);
    q->name = name;
    q->uid = uid;
    if (db->passwd)
        for_each_entry(db->passwd, 7, pw_match, q);
    return q->found;
}

typedef struct gr_query {
    const char *name;
    bool found;
    uint32_t gid;
} gr_query;

static bool gr_match(char **f, void *payload)
{
    gr_query *q = payload;
    uint32_t gid;
    if (strcmp(f[0], q->name) != 0 || !parse_id(f[2], &gid))
        return false;
    q->found = true;
    q->gid = gid;
    return true;
}

static bool group_lookup(const etc_db *db, const char *name, uint32_t *gid)
{
    gr_query q = { .name = name };
    if (db->group)
        for_each_entry(db->group, 4, gr_match, &q);
    *gid = q.gid;
    return q.found;
}

/* A growing list of gids without duplicates. */
typedef struct gid_list {
    uint32_t *v;
    size_t n, cap;
    int err;
} gid_list;

static void gid_list_add(gid_list *l, uint32_t gid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == gid)
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint32_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->err = CRIO_ENOMEM;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = gid;
}

static void gid_list_release(gid_list *l)
{
    free(l->v);
}

typedef struct member_query {
    const char *user;
    gid_list *gids;
} member_query;

static bool member_match(char **f, void *payload)
{
    member_query *q = payload;
    uint32_t gid;
    if (!parse_id(f[2], &gid))
        return false;
    char *save = NULL;
    for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, q->user) == 0) {
            gid_list_add(q->gids, gid);
            break;
        }
    return false; /* every group counts */
}

/* The resolved user: what process.user gets. */
typedef struct user_ids {
    uint32_t uid, gid;
    bool gid_known;
    char name[256]; /* "" when the uid has no passwd entry */
} user_ids;

static int cri_id(uint32_t *out, const cJSON *int64_value, const char *what)
{
    int64_t v = crio_spec_cri_int(int64_value, "value", 0);
    if (v < 0 || v > (int64_t)ID_MAX)
        return crio_error_set(CRIO_EINVAL, "%s %lld is out of range", what, (long long)v);
    *out = (uint32_t)v;
    return 0;
}

static int user_by_name(user_ids *u, const etc_db *db, const char *name)
{
    pw_query q;
    if (!passwd_lookup(db, name, 0, &q))
        return crio_error_set(CRIO_EINVAL, "user \"%s\": %s", name,
                              db->passwd ? "no such user in the container's /etc/passwd"
                                         : "the container has no /etc/passwd (only numeric users)");
    u->uid = q.found_uid;
    u->gid = q.found_gid;
    u->gid_known = true;
    snprintf(u->name, sizeof u->name, "%s", q.found_name);
    return 0;
}

/* The image's USER: "uid", "name", "uid:gid", "name:group" (or mixed). */
static int user_from_image(user_ids *u, const etc_db *db, const char *spec)
{
    char buf[512];
    if (strlen(spec) >= sizeof buf)
        return crio_error_set(CRIO_EINVAL, "image user \"%.64s...\" is too long", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    char *group = strchr(buf, ':');
    if (group)
        *group++ = '\0';
    int r = 0;
    if (!parse_id(buf, &u->uid) && (r = user_by_name(u, db, buf)) < 0)
        return r;
    if (!nonempty(group))
        return 0;
    if (parse_id(group, &u->gid)) {
        u->gid_known = true;
        return 0;
    }
    if (!group_lookup(db, group, &u->gid))
        return crio_error_set(CRIO_EINVAL, "group \"%s\": %s", group,
                              db->group ? "no such group in the container's /etc/group"
                                        : "the container has no /etc/group (only numeric groups)");
    u->gid_known = true;
    return 0;
}

/*
 * CRI run_as_user, else run_as_username, else the image's USER; then
 * run_as_group overrides the group.  A user given by uid takes its primary
 * group (and its name, for group memberships) from /etc/passwd when listed.
 */
static int resolve_user_ids(user_ids *u, const gen *g, const etc_db *db)
{
    memset(u, 0, sizeof *u);
    const cJSON *run_as_user = crio_spec_cri_get(g->sc, "run_as_user");
    const char *username = crio_spec_cri_string(g->sc, "run_as_username");
    const char *image_user = crio_json_string(g->img, "User");
    int r = 0;
    if (cJSON_IsObject(run_as_user))
        r = cri_id(&u->uid, run_as_user, "run_as_user");
    else if (nonempty(username))
        r = user_by_name(u, db, username);
    else if (nonempty(image_user))
        r = user_from_image(u, db, image_user);
    if (r < 0)
        return r;
    pw_query q;
    if (!u->name[0] && passwd_lookup(db, NULL, u->uid, &q)) {
        snprintf(u->name, sizeof u->name, "%s", q.found_name);
        if (!u->gid_known)
            u->gid = q.found_gid;
        u->gid_known = true;
    }
    const cJSON *run_as_group = crio_spec_cri_get(g->sc, "run_as_group");
    if (cJSON_IsObject(run_as_group))
        return cri_id(&u->gid, run_as_group, "run_as_group");
    return 0;
}

/* Groups the user is a member of in /etc/group (unless the policy is Strict), then the CRI's supplemental groups. */
static int additional_gids(gid_list *l, const gen *g, const etc_db *db, const user_ids *u)
{
    int64_t policy = crio_spec_cri_int(g->sc, "supplemental_groups_policy", GROUPS_POLICY_MERGE);
    if (policy != GROUPS_POLICY_STRICT && u->name[0] && db->group) {
        member_query q = { .user = u->name, .gids = l };
        for_each_entry(db->group, 4, member_match, &q);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, crio_spec_cri_get(g->sc, "supplemental_groups")) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(v >= 0 && v <= ID_MAX))
            return crio_error_set(CRIO_EINVAL, "supplemental group %g is out of range", v);
        gid_list_add(l, (uint32_t)v);
    }
    return l->err ? crio_error_oom() : 0;
}

static int build_user(cJSON *process, const gen *g)
{
    _cleanup_(etc_db_release) etc_db db = { 0 };
    int r = etc_db_load(&db, g->in);
    if (r < 0)
        return r;
    user_ids u;
    if ((r = resolve_user_ids(&u, g, &db)) < 0)
        return r;
    _cleanup_(gid_list_release) gid_list gids = { 0 };
    r = additional_gids(&gids, g, &db, &u);
    if (r < 0)
        return r;
    cJSON *user = cJSON_AddObjectToObject(process, "user");
    if (!user)
        return crio_error_oom();
    if ((r = put_num(user, "uid", u.uid)) < 0 || (r = put_num(user, "gid", u.gid)) < 0)
        return r;
    if (gids.n == 0)
        return 0;
    cJSON *extra = cJSON_AddArrayToObject(user, "additionalGids");
    if (!extra)
        return crio_error_oom();
    for (size_t i = 0; i < gids.n; i++)
        if ((r = push_item(extra, cJSON_CreateNumber(gids.v[i]))) < 0)
            return r;
    return 0;
}

/* --------------------------------------------------------- capabilities */

static const char *const cap_names[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
};
#define CAP_COUNT ((int)CRIO_ARRAY_SIZE(cap_names))

/* A capability by name, with or without "CAP_", any case; -1 when unknown. */
static int cap_lookup(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0)
        name += 4;
    for (int i = 0; i < CAP_COUNT; i++)
        if (strcasecmp(name, cap_names[i]) == 0)
            return i;
    return -1;
}

/*
 * "All capabilities": those in our own bounding set.  A runtime started by
 * us cannot grant one we lack (capset fails), so naming it would only make
 * every privileged container fail on a host that withholds one.
 */
static uint64_t caps_all(void)
{
    uint64_t all = 0;
    for (int i = 0; i < CAP_COUNT; i++)
        if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
            all |= 1ull << i;
    return all ? all : (1ull << CAP_COUNT) - 1;
}

static bool list_has_all(const cJSON *list)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (cJSON_IsString(e) && strcasecmp(e->valuestring, "ALL") == 0)
            return true;
    }
    return false;
}

/* Adds (or removes) the named capabilities of a CRI list, "ALL" aside. */
static int caps_apply(uint64_t *set, const cJSON *list, bool add, const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        if (!cJSON_IsString(e) || strcasecmp(e->valuestring, "ALL") == 0)
            continue;
        int c = cap_lookup(e->valuestring);
        if (c < 0)
            return crio_error_set(CRIO_EINVAL, "capabilities.%s: unknown capability \"%s\"", field, e->valuestring);
        if (add)
            *set |= 1ull << c;
        else
            *set &= ~(1ull << c);
    }
    return 0;
}

static int caps_to_json(cJSON *caps, const char *key, uint64_t set)
{
    cJSON *arr = cJSON_AddArrayToObject(caps, key);
    if (!arr)
        return crio_error_oom();
    for (int i = 0; i < CAP_COUNT; i++) {
        if (!(set & (1ull << i)))
            continue;
        char name[32];
        snprintf(name, sizeof name, "CAP_%s", cap_names[i]);
        int r = push_str(arr, name);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Privileged: every capability.  Otherwise the daemon's defaults, then the
 * CRI's "ALL" adds and drops, then its named adds, then its named drops
 * (so add ALL + drop X is "all but X", drop ALL + add X is "only X").
 * Ambient capabilities are also inheritable and in every other set: the
 * kernel keeps an ambient capability only while it is permitted and
 * inheritable.
 */
static int build_capabilities(cJSON *process, const gen *g)
{
    const cJSON *cri = crio_spec_cri_get(g->sc, "capabilities");
    const cJSON *add = cJSON_GetObjectItemCaseSensitive(cri, "add_capabilities");
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(cri, "drop_capabilities");
    uint64_t all = caps_all(), set = 0, ambient = 0;
    int r;
    if (g->privileged) {
        set = all;
    } else {
        for (const char *const *d = g->in->default_capabilities; d && *d; d++) {
            int c = cap_lookup(*d);
            if (c < 0)
                return crio_error_set(CRIO_EINVAL, "default_capabilities: unknown capability \"%s\"", *d);
            set |= 1ull << c;
        }
        if (list_has_all(add))
            set = all;
        if (list_has_all(drop))
            set = 0;
        if ((r = caps_apply(&set, add, true, "add_capabilities")) < 0 ||
            (r = caps_apply(&set, drop, false, "drop_capabilities")) < 0)
            return r;
    }
    r = caps_apply(&ambient, cJSON_GetObjectItemCaseSensitive(cri, "add_ambient_capabilities"), true,
                   "add_ambient_capabilities");
    if (r < 0)
        return r;
    set |= ambient;
    cJSON *caps = cJSON_AddObjectToObject(process, "capabilities");
    if (!caps)
        return crio_error_oom();
    if ((r = caps_to_json(caps, "bounding", set)) < 0 || (r = caps_to_json(caps, "effective", set)) < 0 ||
        (r = caps_to_json(caps, "permitted", set)) < 0 || (r = caps_to_json(caps, "inheritable", ambient)) < 0 ||
        (r = caps_to_json(caps, "ambient", ambient)) < 0)
        return r;
    return 0;
}

/* -------------------------------------------------------------- rlimits */

static const char *const rlimit_names[] = {
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
    "rtprio", "rttime", "sigpending", "stack",
};

static bool have_effective_cap(int cap)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

/*
 * CRIO_SPEC_DEFAULT_NOFILE, unless we could not hand that on: the runtime
 * sets the limit from a child of ours, and raising a hard limit above our
 * own takes CAP_SYS_RESOURCE; without it the container would fail to start.
 */
static uint64_t default_nofile(void)
{
    uint64_t want = CRIO_SPEC_DEFAULT_NOFILE;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want &&
        !have_effective_cap(CAP_SYS_RESOURCE))
        want = rl.rlim_max;
    return want;
}

static bool parse_rlimit_value(const char *s, uint64_t *out)
{
    if (strcmp(s, "-1") == 0 || strcmp(s, "unlimited") == 0) {
        *out = UINT64_MAX; /* RLIM_INFINITY */
        return true;
    }
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
        return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

static int rlimit_set(cJSON *rlimits, const char *type, uint64_t soft, uint64_t hard)
{
    cJSON *e;
    cJSON_ArrayForEach(e, rlimits) {
        const char *t = crio_json_string(e, "type");
        if (t && strcmp(t, type) == 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(rlimits, e));
            break;
        }
    }
    _cleanup_json_ cJSON *item = cJSON_CreateObject();
    if (!item || put_str(item, "type", type) < 0 || put_item(item, "hard", json_u64(hard)) < 0 ||
        put_item(item, "soft", json_u64(soft)) < 0)
        return crio_error_oom();
    return push_item(rlimits, TAKE_PTR(item));
}

/* One default_ulimits entry: "nofile=1024:2048" (soft:hard) or "nproc=512" (both). */
static int add_ulimit(cJSON *rlimits, const char *entry, bool *nofile_set)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", entry);
    char *eq = strchr(buf, '=');
    if (!eq)
        return crio_error_set(CRIO_EINVAL, "default_ulimits: \"%s\": want name=soft:hard", entry);
    *eq = '\0';
    char *soft_s = eq + 1;
    char *hard_s = strchr(soft_s, ':');
    if (hard_s)
        *hard_s++ = '\0';
    uint64_t soft, hard;
    if (!parse_rlimit_value(soft_s, &soft) || !parse_rlimit_value(hard_s ? hard_s : soft_s, &hard) || soft > hard)
        return crio_error_set(CRIO_EINVAL, "default_ulimits: \"%s\": want name=soft:hard with soft <= hard", entry);
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(rlimit_names); i++) {
        if (strcasecmp(buf, rlimit_names[i]) != 0)
            continue;
        char type[32];
        snprintf(type, sizeof type, "RLIMIT_%s", rlimit_names[i]);
        for (char *p = type; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        if (strcmp(rlimit_names[i], "nofile") == 0)
            *nofile_set = true;
        return rlimit_set(rlimits, type, soft, hard);
    }
    return crio_error_set(CRIO_EINVAL, "default_ulimits: \"%s\": unknown limit \"%s\"", entry, buf);
}

static int build_rlimits(cJSON *process, const gen *g)
{
    cJSON *rlimits = cJSON_AddArrayToObject(process, "rlimits");
    if (!rlimits)
        return crio_error_oom();
    bool nofile_set = false;
    for (const char *const *u = g->in->default_ulimits; u && *u; u++) {
        int r = add_ulimit(rlimits, *u, &nofile_set);
        if (r < 0)
            return r;
    }
    if (nofile_set)
        return 0;
    uint64_t n = default_nofile();
    return rlimit_set(rlimits, "RLIMIT_NOFILE", n, n);
}

int crio_spec_clamp_oom_score_adj(int64_t wanted, int min)
{
    int64_t v = wanted < min ? min : wanted;
    if (v < -1000)
        v = -1000;
    if (v > 1000)
        v = 1000;
    return (int)v;
}

static int build_process(const gen *g)
{
    cJSON *process = cJSON_AddObjectToObject(g->spec, "process");
    if (!process)
        return crio_error_oom();
    int r;
    /* stdin is the monitor's business (it holds the container's stdio), not the runtime's. */
    if ((r = put_bool(process, "terminal", crio_spec_cri_bool(g->ctr, "tty", false))) < 0 ||
        (r = build_user(process, g)) < 0 || (r = build_args(process, g)) < 0 || (r = build_env(process, g)) < 0 ||
        (r = build_cwd(process, g)) < 0 || (r = build_capabilities(process, g)) < 0 ||
        (r = build_rlimits(process, g)) < 0)
        return r;
    if ((r = put_bool(process, "noNewPrivileges", crio_spec_cri_bool(g->sc, "no_new_privs", false))) < 0)
        return r;
    int64_t adj = crio_spec_cri_int(g->ctr, "linux.resources.oom_score_adj", 0);
    return put_num(process, "oomScoreAdj", crio_spec_clamp_oom_score_adj(adj, g->in->oom_score_adj_min));
}

/* ---------------------------------------------------------- namespaces */

/* The container's namespace options when it has them, else the pod's (proto: unset is POD). */
static int64_t ns_mode(const gen *g, const char *kind)
{
    const cJSON *opts = crio_spec_cri_get(g->sc, "namespace_options");
    if (!cJSON_IsObject(opts))
        opts = crio_spec_cri_get(g->pod, "linux.security_context.namespace_options");
    return crio_spec_cri_int(opts, kind, NS_MODE_POD);
}

static ns_how ns_by_path(const char *path)
{
    return !path ? NS_NEW : !*path ? NS_HOST : NS_JOIN;
}

static ns_how ns_by_mode(int64_t mode, const char *path)
{
    if (mode == NS_MODE_NODE)
        return NS_HOST;
    if (mode == NS_MODE_CONTAINER)
        return NS_NEW;
    return ns_by_path(path);
}

static void plan_namespaces(gen *g)
{
    const crio_spec_input *in = g->in;
    g->net = ns_by_mode(ns_mode(g, "network"), in->netns_path);
    g->pid = ns_by_mode(ns_mode(g, "pid"), in->pidns_path);
    g->ipc = ns_by_mode(ns_mode(g, "ipc"), in->ipcns_path);
    /* Kubernetes ties the UTS namespace to the network: a host-network pod has the node's hostname. */
    g->uts = g->net == NS_HOST ? NS_HOST : ns_by_path(in->utsns_path);
    g->host_net = g->net == NS_HOST;
    g->host_ipc = g->ipc == NS_HOST;
}

static int add_namespace(cJSON *list, const char *type, ns_how how, const char *path)
{
    if (how == NS_HOST)
        return 0;
    _cleanup_json_ cJSON *ns = cJSON_CreateObject();
    if (!ns || put_str(ns, "type", type) < 0 || (how == NS_JOIN && put_str(ns, "path", path) < 0))
        return crio_error_oom();
    return push_item(list, TAKE_PTR(ns));
}

static int build_namespaces(cJSON *linux_, const gen *g)
{
    cJSON *list = cJSON_AddArrayToObject(linux_, "namespaces");
    if (!list)
        return crio_error_oom();
    const crio_spec_input *in = g->in;
    int r;
    if ((r = add_namespace(list, "pid", g->pid, in->pidns_path)) < 0 ||
        (r = add_namespace(list, "network", g->net, in->netns_path)) < 0 ||
        (r = add_namespace(list, "ipc", g->ipc, in->ipcns_path)) < 0 ||
        (r = add_namespace(list, "uts", g->uts, in->utsns_path)) < 0)
        return r;
    return add_namespace(list, "mount", NS_NEW, NULL);
}

/* -------------------------------------------------------------- mounts */

/* A CRI mount, checked, with its destination cleaned. */
typedef struct cri_mount {
    const cJSON *m;
    char dest[4096];
    int depth;
    int index;
    int64_t propagation;
} cri_mount;

/*
 * Cleans an absolute container path ("//a/./b/" -> "/a/b") into out and
 * returns its depth (components), or -1 for a relative path, a ".." or
 * the root itself.
 */
static int clean_container_path(char *out, size_t size, const char *path)
{
    if (!path || path[0] != '/')
        return -1;
    size_t len = 0;
    int depth = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0)
            break;
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (!(n == 1 && p[0] == '.')) {
            if (len + 1 + n + 1 > size)
                return -1;
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            depth++;
        }
        p += n;
    }
    out[len] = '\0';
    return depth > 0 ? depth : -1;
}

static int check_cri_mount(cri_mount *cm, const cJSON *m, int index)
{
    const char *cpath = crio_json_string(m, "container_path");
    const char *hpath = crio_json_string(m, "host_path");
    cm->m = m;
    cm->index = index;
    cm->depth = clean_container_path(cm->dest, sizeof cm->dest, cpath);
    if (cm->depth < 0)
        return crio_error_set(CRIO_EINVAL, "mount %s: the container path must be absolute, without \"..\", "
                                           "and not \"/\"", cpath ? cpath : "(none)");
    if (!nonempty(hpath) || hpath[0] != '/')
        return crio_error_set(CRIO_EINVAL, "mount %s: source %s: not an absolute path", cm->dest,
                              hpath ? hpath : "(none)");
    struct stat st;
    if (stat(hpath, &st) < 0)
        return crio_error_set_errno(CRIO_EINVAL, errno, "mount %s: source %s", cm->dest, hpath);
    cm->propagation = crio_spec_cri_int(m, "propagation", PROPAGATION_PRIVATE);
    if (cm->propagation < PROPAGATION_PRIVATE || cm->propagation > PROPAGATION_BIDIRECTIONAL)
        return crio_error_set(CRIO_EINVAL, "mount %s: unknown propagation %lld", cm->dest,
                              (long long)cm->propagation);
    /* Features the runtimes this generates for (runc 1.1) cannot do: refused rather than half done. */
    if (crio_spec_cri_bool(m, "recursive_read_only", false))
        return crio_error_set(CRIO_EINVAL, "mount %s: recursive read-only mounts are not supported", cm->dest);
    if (nonempty(crio_spec_cri_string(m, "image.image")))
        return crio_error_set(CRIO_EINVAL, "mount %s: image volumes are not supported", cm->dest);
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "uidMappings")) > 0 ||
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "gidMappings")) > 0)
        return crio_error_set(CRIO_EINVAL, "mount %s: id-mapped mounts are not supported", cm->dest);
    return 0;
}

/* Parents before children: a mount at /a/b must come after one at /a, or /a would hide it. */
static int cri_mount_order(const void *a, const void *b)
{
    const cri_mount *x = a, *y = b;
    if (x->depth != y->depth)
        return x->depth - y->depth;
    return x->index - y->index;
}

typedef struct mount_plan {
    cri_mount *cri;
    size_t n;
} mount_plan;

static void mount_plan_release(mount_plan *p)
{
    free(p->cri);
}

static int plan_cri_mounts(mount_plan *plan, const gen *g)
{
    const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(g->ctr, "mounts");
    int n = cJSON_GetArraySize(mounts);
    if (n == 0)
        return 0;
    plan->cri = calloc((size_t)n, sizeof *plan->cri);
    if (!plan->cri)
        return crio_error_oom();
    const cJSON *m;
    cJSON_ArrayForEach(m, mounts) {
        cri_mount *cm = &plan->cri[plan->n];
        int r = check_cri_mount(cm, m, (int)plan->n);
        if (r < 0)
            return r;
        for (size_t i = 0; i < plan->n; i++)
            if (strcmp(plan->cri[i].dest, cm->dest) == 0)
                return crio_error_set(CRIO_EINVAL, "mount %s: more than one mount at this path", cm->dest);
        plan->n++;
    }
    qsort(plan->cri, plan->n, sizeof *plan->cri, cri_mount_order);
    return 0;
}

static bool cri_mounts_at(const mount_plan *plan, const char *dest)
{
    for (size_t i = 0; i < plan->n; i++)
        if (strcmp(plan->cri[i].dest, dest) == 0)
            return true;
    return false;
}

static int add_mount(cJSON *mounts, const char *dest, const char *type, const char *source,
                     const char *const *options, size_t nopt)
{
    _cleanup_json_ cJSON *m = cJSON_CreateObject();
    if (!m || put_str(m, "destination", dest) < 0 || put_str(m, "type", type) < 0 ||
        put_str(m, "source", source) < 0)
        return crio_error_oom();
    cJSON *opts = cJSON_AddArrayToObject(m, "options");
    if (!opts)
        return crio_error_oom();
    for (size_t i = 0; i < nopt; i++) {
        int r = push_str(opts, options[i]);
        if (r < 0)
            return r;
    }
    return push_item(mounts, TAKE_PTR(m));
}

typedef struct default_mount {
    const char *dest, *type, *source;
    const char *options[7];
    bool ro_unless_privileged; /* a privileged container gets it read-write */
} default_mount;

/* What runc's own template and CRI-O mount, with /dev/shm handled apart. */
static const default_mount default_mounts[] = {
    { "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" }, false },
    { "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }, false },
    { "/dev/pts", "devpts", "devpts", { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
      false },
    { "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }, false },
    { "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev" }, true },
    { "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime" }, true },
};

static size_t count_options(const char *const *options, size_t max)
{
    size_t n = 0;
    while (n < max && options[n])
        n++;
    return n;
}

static int add_default_mounts(cJSON *mounts, const gen *g, const mount_plan *plan)
{
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(default_mounts); i++) {
        const default_mount *d = &default_mounts[i];
        if (cri_mounts_at(plan, d->dest))
            continue;
        const char *opts[8];
        size_t n = count_options(d->options, CRIO_ARRAY_SIZE(d->options));
        memcpy(opts, d->options, n * sizeof *opts);
        if (d->ro_unless_privileged && !g->privileged)
            opts[n++] = "ro";
        int r = add_mount(mounts, d->dest, d->type, d->source, opts, n);
        if (r < 0)
            return r;
        /* /dev/shm right after /dev/pts keeps the /dev mounts together. */
        if (strcmp(d->dest, "/dev/pts") == 0 && !cri_mounts_at(plan, "/dev/shm")) {
            static const char *const shm_tmpfs[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" };
            static const char *const shm_bind[] = { "rbind", "rprivate", "nosuid", "noexec", "nodev" };
            r = nonempty(g->in->shm_path)
                    ? add_mount(mounts, "/dev/shm", "bind", g->in->shm_path, shm_bind, CRIO_ARRAY_SIZE(shm_bind))
                    : add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm_tmpfs, CRIO_ARRAY_SIZE(shm_tmpfs));
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* The pod's /etc/hostname, /etc/hosts and /etc/resolv.conf, unless the CRI config mounts its own. */
static int add_pod_file_mounts(cJSON *mounts, const gen *g, const mount_plan *plan)
{
    const struct {
        const char *dest, *source;
    } files[] = {
        { "/etc/hostname", g->in->hostname_path },
        { "/etc/hosts", g->in->hosts_path },
        { "/etc/resolv.conf", g->in->resolv_path },
    };
    const char *opts[] = { "rbind", "rprivate", "nosuid", "nodev", "noexec", "ro" };
    /* A read-only rootfs means read-only files in it, the pod's included. */
    size_t nopt = CRIO_ARRAY_SIZE(opts) - (g->readonly_rootfs ? 0 : 1);
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(files); i++) {
        if (!nonempty(files[i].source) || cri_mounts_at(plan, files[i].dest))
            continue;
        int r = add_mount(mounts, files[i].dest, "bind", files[i].source, opts, nopt);
        if (r < 0)
            return r;
    }
    return 0;
}

static const char *propagation_option(int64_t p)
{
    return p == PROPAGATION_BIDIRECTIONAL ? "rshared" : p == PROPAGATION_HOST_TO_CONTAINER ? "rslave" : "rprivate";
}

static int add_cri_mounts(cJSON *mounts, const mount_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        const cri_mount *cm = &plan->cri[i];
        const char *opts[] = { "rbind", propagation_option(cm->propagation), "ro" };
        size_t nopt = crio_spec_cri_bool(cm->m, "readonly", false) ? 3 : 2;
        int r = add_mount(mounts, cm->dest, "bind", crio_json_string(cm->m, "host_path"), opts, nopt);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * A shared (or slave) mount only propagates if the container's root mount
 * does too: the root's propagation is raised to the strongest one asked.
 */
static int add_rootfs_propagation(cJSON *linux_, const mount_plan *plan)
{
    int64_t strongest = PROPAGATION_PRIVATE;
    for (size_t i = 0; i < plan->n; i++)
        if (plan->cri[i].propagation > strongest)
            strongest = plan->cri[i].propagation;
    if (strongest == PROPAGATION_PRIVATE)
        return 0;
    return put_str(linux_, "rootfsPropagation", propagation_option(strongest));
}

static int build_mounts(const gen *g, cJSON *linux_)
{
    _cleanup_(mount_plan_release) mount_plan plan = { 0 };
    int r = plan_cri_mounts(&plan, g);
    if (r < 0)
        return r;
    cJSON *mounts = cJSON_AddArrayToObject(g->spec, "mounts");
    if (!mounts)
        return crio_error_oom();
    if ((r = add_default_mounts(mounts, g, &plan)) < 0 || (r = add_pod_file_mounts(mounts, g, &plan)) < 0 ||
        (r = add_cri_mounts(mounts, &plan)) < 0)
        return r;
    return add_rootfs_propagation(linux_, &plan);
}

/* ------------------------------------------------------------- devices */

typedef struct default_device {
    int64_t major, minor; /* minor -1: all */
} default_device;

/* The char devices every container may use (OCI's default devices, and the ptys). */
static const default_device default_devices[] = {
    { 1, 3 },   /* /dev/null */
    { 1, 5 },   /* /dev/zero */
    { 1, 7 },   /* /dev/full */
    { 1, 8 },   /* /dev/random */
    { 1, 9 },   /* /dev/urandom */
    { 5, 0 },   /* /dev/tty */
    { 5, 2 },   /* /dev/ptmx */
    { 136, -1 } /* /dev/pts/<N> */
};

static int add_device_rule(cJSON *rules, bool allow, const char *type, int64_t major, int64_t minor,
                           const char *access)
{
    _cleanup_json_ cJSON *rule = cJSON_CreateObject();
    if (!rule || put_bool(rule, "allow", allow) < 0 || (type && put_str(rule, "type", type) < 0) ||
        (major >= 0 && put_num(rule, "major", (double)major) < 0) ||
        (minor >= 0 && put_num(rule, "minor", (double)minor) < 0) || put_str(rule, "access", access) < 0)
        return crio_error_oom();
    return push_item(rules, TAKE_PTR(rule));
}

static bool valid_device_access(const char *s)
{
    return *s && strspn(s, "rwm") == strlen(s);
}

/* A CRI device: the node (linux.devices) and the cgroup rule allowing it. */
static int add_cri_device(cJSON *nodes, cJSON *rules, const cJSON *d)
{
    const char *host = crio_json_string(d, "host_path");
    const char *cpath = crio_json_string(d, "container_path");
    const char *perms = crio_json_string(d, "permissions");
    if (!nonempty(host) || host[0] != '/')
        return crio_error_set(CRIO_EINVAL, "device %s: not an absolute path", host ? host : "(none)");
    if (!nonempty(cpath))
        cpath = host;
    char dest[4096];
    if (clean_container_path(dest, sizeof dest, cpath) < 0)
        return crio_error_set(CRIO_EINVAL, "device %s: container path %s must be absolute, without \"..\"", host,
                              cpath);
    if (!nonempty(perms))
        perms = "rwm";
    if (!valid_device_access(perms))
        return crio_error_set(CRIO_EINVAL, "device %s: permissions \"%s\" (want letters of \"rwm\")", host, perms);
    struct stat st;
    if (stat(host, &st) < 0)
        return crio_error_set_errno(CRIO_EINVAL, errno, "device %s", host);
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
        return crio_error_set(CRIO_EINVAL, "device %s: not a device node", host);
    const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
    int64_t major_ = major(st.st_rdev), minor_ = minor(st.st_rdev);
    _cleanup_json_ cJSON *node = cJSON_CreateObject();
    if (!node || put_str(node, "path", dest) < 0 || put_str(node, "type", type) < 0 ||
        put_num(node, "major", (double)major_) < 0 || put_num(node, "minor", (double)minor_) < 0 ||
        put_num(node, "fileMode", st.st_mode & 07777) < 0 || put_num(node, "uid", st.st_uid) < 0 ||
        put_num(node, "gid", st.st_gid) < 0)
        return crio_error_oom();
    int r = push_item(nodes, TAKE_PTR(node));
    return r < 0 ? r : add_device_rule(rules, true, type, major_, minor_, perms);
}

/*
 * The device cgroup: a privileged container may use every device; any
 * other only the default ones and those its config names.
 */
static int build_devices(cJSON *linux_, cJSON *resources, const gen *g)
{
    cJSON *rules = cJSON_AddArrayToObject(resources, "devices");
    if (!rules)
        return crio_error_oom();
    int r;
    if (g->privileged) {
        r = add_device_rule(rules, true, NULL, -1, -1, "rwm");
    } else {
        r = add_device_rule(rules, false, NULL, -1, -1, "rwm");
        for (size_t i = 0; r == 0 && i < CRIO_ARRAY_SIZE(default_devices); i++)
            r = add_device_rule(rules, true, "c", default_devices[i].major, default_devices[i].minor, "rwm");
    }
    if (r < 0)
        return r;
    const cJSON *devices = cJSON_GetObjectItemCaseSensitive(g->ctr, "devices");
    if (cJSON_GetArraySize(devices) == 0)
        return 0;
    cJSON *nodes = cJSON_AddArrayToObject(linux_, "devices");
    if (!nodes)
        return crio_error_oom();
    const cJSON *d;
    cJSON_ArrayForEach(d, devices) {
        if ((r = add_cri_device(nodes, rules, d)) < 0)
            return r;
    }
    return 0;
}

/* ----------------------------------------------------------- resources */

static int add_hugepage_limits(cJSON *out, const cJSON *limits)
{
    if (cJSON_GetArraySize(limits) == 0)
        return 0;
    cJSON *arr = cJSON_AddArrayToObject(out, "hugepageLimits");
    if (!arr)
        return crio_error_oom();
    const cJSON *h;
    cJSON_ArrayForEach(h, limits) {
        const char *size = crio_json_string(h, "page_size");
        if (!nonempty(size))
            return crio_error_set(CRIO_EINVAL, "hugepage_limits: a limit without a page_size");
        _cleanup_json_ cJSON *e = cJSON_CreateObject();
        if (!e || put_str(e, "pageSize", size) < 0 || put_num(e, "limit", (double)crio_spec_cri_int(h, "limit", 0)) < 0)
            return crio_error_oom();
        int r = push_item(arr, TAKE_PTR(e));
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_unified(cJSON *out, const cJSON *unified)
{
    if (cJSON_GetArraySize(unified) == 0)
        return 0;
    cJSON *map = cJSON_AddObjectToObject(out, "unified");
    if (!map)
        return crio_error_oom();
    const cJSON *e;
    cJSON_ArrayForEach(e, unified) {
        if (!cJSON_IsString(e))
            return crio_error_set(CRIO_EINVAL, "unified.%s: want a string", e->string);
        int r = put_str(map, e->string, e->valuestring);
        if (r < 0)
            return r;
    }
    return 0;
}

/* CRI's 0 means "not set" for every one of these; a CFS quota of -1 means "no limit" and is passed on. */
static int add_cpu(cJSON *out, const cJSON *res)
{
    int64_t shares = crio_spec_cri_int(res, "cpu_shares", 0), quota = crio_spec_cri_int(res, "cpu_quota", 0),
            period = crio_spec_cri_int(res, "cpu_period", 0);
    const char *cpus = crio_spec_cri_string(res, "cpuset_cpus"), *mems = crio_spec_cri_string(res, "cpuset_mems");
    if (shares < 0 || period < 0)
        return crio_error_set(CRIO_EINVAL, "resources: cpu_shares %lld and cpu_period %lld must not be negative",
                              (long long)shares, (long long)period);
    if (shares == 0 && quota == 0 && period == 0 && !nonempty(cpus) && !nonempty(mems))
        return 0;
    cJSON *cpu = cJSON_AddObjectToObject(out, "cpu");
    if (!cpu)
        return crio_error_oom();
    int r = 0;
    if (shares > 0 && (r = put_num(cpu, "shares", (double)shares)) < 0)
        return r;
    if (quota != 0 && (r = put_num(cpu, "quota", (double)quota)) < 0)
        return r;
    if (period > 0 && (r = put_num(cpu, "period", (double)period)) < 0)
        return r;
    if (nonempty(cpus) && (r = put_str(cpu, "cpus", cpus)) < 0)
        return r;
    if (nonempty(mems) && (r = put_str(cpu, "mems", mems)) < 0)
        return r;
    return 0;
}

/* The swap limit (memory+swap) only when the CRI gives one: OCI leaves it to the runtime otherwise. */
static int add_memory(cJSON *out, const cJSON *res)
{
    int64_t limit = crio_spec_cri_int(res, "memory_limit_in_bytes", 0);
    int64_t swap = crio_spec_cri_int(res, "memory_swap_limit_in_bytes", 0);
    if (limit < 0 || swap < 0)
        return crio_error_set(CRIO_EINVAL, "resources: memory limits must not be negative");
    if (limit == 0 && swap == 0)
        return 0;
    cJSON *mem = cJSON_AddObjectToObject(out, "memory");
    if (!mem)
        return crio_error_oom();
    int r = 0;
    if (limit > 0 && (r = put_num(mem, "limit", (double)limit)) < 0)
        return r;
    if (swap > 0 && (r = put_num(mem, "swap", (double)swap)) < 0)
        return r;
    return 0;
}

int crio_spec_resources(cJSON **out, const cJSON *cri_resources)
{
    _cleanup_json_ cJSON *res = cJSON_CreateObject();
    if (!res)
        return crio_error_oom();
    int r;
    if ((r = add_cpu(res, cri_resources)) < 0 || (r = add_memory(res, cri_resources)) < 0 ||
        (r = add_hugepage_limits(res, crio_spec_cri_get(cri_resources, "hugepage_limits"))) < 0 ||
        (r = add_unified(res, crio_spec_cri_get(cri_resources, "unified"))) < 0)
        return r;
    *out = TAKE_PTR(res);
    return 0;
}

/* -------------------------------------------------------------- sysctls */

static bool sysctl_is_net(const char *key)
{
    return strncmp(key, "net.", 4) == 0 || strncmp(key, "net/", 4) == 0;
}

/* The IPC namespace's sysctls (as runc's list of namespaced ones). */
static bool sysctl_is_ipc(const char *key)
{
    static const char *const prefixes[] = { "kernel.msg", "kernel.shm", "fs.mqueue.", "kernel/msg", "kernel/shm",
                                            "fs/mqueue/" };
    if (strcmp(key, "kernel.sem") == 0 || strcmp(key, "kernel/sem") == 0)
        return true;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(prefixes); i++)
        if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/*
 * A sysctl of a namespace the container shares with the host would change
 * the host: skipped with a warning (runc would refuse the whole container).
 */
static int add_sysctl(cJSON *sysctl, const gen *g, const char *key, const char *value)
{
    if (g->host_net && sysctl_is_net(key)) {
        crio_log_warn("%s: sysctl %s skipped: the pod uses the host's network namespace", g->name, key);
        return 0;
    }
    if (g->host_ipc && sysctl_is_ipc(key)) {
        crio_log_warn("%s: sysctl %s skipped: the pod uses the host's IPC namespace", g->name, key);
        return 0;
    }
    return set_item(sysctl, key, cJSON_CreateString(value));
}

static int build_sysctls(cJSON *linux_, const gen *g)
{
    _cleanup_json_ cJSON *sysctl = cJSON_CreateObject();
    if (!sysctl)
        return crio_error_oom();
    int r;
    for (const char *const *d = g->in->default_sysctls; d && *d; d++) {
        const char *eq = strchr(*d, '=');
        if (!eq || eq == *d)
            return crio_error_set(CRIO_EINVAL, "default_sysctls: \"%s\": want key=value", *d);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *d), *d);
        if ((r = add_sysctl(sysctl, g, key, eq + 1)) < 0)
            return r;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, crio_spec_cri_get(g->pod, "linux.sysctls")) {
        if (cJSON_IsString(e) && (r = add_sysctl(sysctl, g, e->string, e->valuestring)) < 0)
            return r;
    }
    if (cJSON_GetArraySize(sysctl) == 0)
        return 0;
    return put_item(linux_, "sysctl", TAKE_PTR(sysctl));
}

/* ------------------------------------------------ masked, read-only paths */

static const char *const default_masked_paths[] = {
    "/proc/acpi",        "/proc/kcore",       "/proc/keys",    "/proc/latency_stats",
    "/proc/timer_list",  "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",     "/sys/devices/virtual/powercap",
};

static const char *const default_readonly_paths[] = {
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* The CRI's list when it gives one (even empty: the kubelet's "Unmasked" proc mount), else the defaults. */
static int add_path_list(cJSON *linux_, const char *key, const cJSON *cri, const char *const *defaults, size_t n)
{
    cJSON *arr = cJSON_AddArrayToObject(linux_, key);
    if (!arr)
        return crio_error_oom();
    int r = 0;
    if (cJSON_IsArray(cri)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cri) {
            if (cJSON_IsString(e) && (r = push_str(arr, e->valuestring)) < 0)
                return r;
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((r = push_str(arr, defaults[i])) < 0)
            return r;
    return 0;
}

static int build_masked_paths(cJSON *linux_, const gen *g)
{
    /* A privileged container sees the host's /proc and /sys as they are. */
    if (g->privileged)
        return 0;
    int r = add_path_list(linux_, "maskedPaths", crio_spec_cri_get(g->sc, "masked_paths"), default_masked_paths,
                          CRIO_ARRAY_SIZE(default_masked_paths));
    if (r < 0)
        return r;
    return add_path_list(linux_, "readonlyPaths", crio_spec_cri_get(g->sc, "readonly_paths"),
                         default_readonly_paths, CRIO_ARRAY_SIZE(default_readonly_paths));
}

/* ---------------------------------------------------------------- linux */

static int build_linux(const gen *g, cJSON *linux_)
{
    int r;
    if ((r = build_namespaces(linux_, g)) < 0)
        return r;
    if (nonempty(g->in->cgroups_path) && (r = put_str(linux_, "cgroupsPath", g->in->cgroups_path)) < 0)
        return r;
    cJSON *resources = NULL;
    if ((r = crio_spec_resources(&resources, crio_spec_cri_get(g->ctr, "linux.resources"))) < 0)
        return r;
    if ((r = put_item(linux_, "resources", resources)) < 0)
        return r;
    if ((r = build_devices(linux_, resources, g)) < 0 || (r = build_sysctls(linux_, g)) < 0)
        return r;
    return build_masked_paths(linux_, g);
}

static int build_annotations(const gen *g)
{
    cJSON *ann = cJSON_AddObjectToObject(g->spec, "annotations");
    if (!ann)
        return crio_error_oom();
    int r;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(g->ctr, "annotations")) {
        if (cJSON_IsString(e) && (r = put_str(ann, e->string, e->valuestring)) < 0)
            return r;
    }
    /* Ours last, replacing any the config carried: they describe what this container is. */
    if ((r = set_item(ann, "io.kubernetes.cri-o.ContainerType", cJSON_CreateString("container"))) < 0)
        return r;
    if (nonempty(g->in->pod_id) &&
        (r = set_item(ann, "io.kubernetes.cri-o.SandboxID", cJSON_CreateString(g->in->pod_id))) < 0)
        return r;
    return 0;
}

/*
 * The seam for the security modules: seccomp (linux.seccomp), AppArmor
 * (process.apparmorProfile) and SELinux (process.selinuxLabel,
 * linux.mountLabel) from the security context's `seccomp`, `apparmor` and
 * `selinux_options` are applied here, last, once lib/spec has them
 * (roadmap step 5).  Until then a container runs with no seccomp filter and
 * the runtime's default labels.
 */
static int apply_security_profiles(const gen *g)
{
    return 0;
}

/* ----------------------------------------------------------- generating */

static int check_input(const crio_spec_input *in)
{
    if (!in || !cJSON_IsObject(in->container) || !cJSON_IsObject(in->pod))
        return crio_error_set(CRIO_EINVAL, "spec: the container and pod configs are required");
    if (!nonempty(in->rootfs) || in->rootfs[0] != '/')
        return crio_error_set(CRIO_EINVAL, "spec: the rootfs must be an absolute path");
    return 0;
}

static int check_privileged(gen *g)
{
    g->privileged = crio_spec_cri_bool(g->sc, "privileged", false);
    bool pod_allows = g->in->pod_privileged || crio_spec_cri_bool(g->pod, "linux.security_context.privileged", false);
    if (g->privileged && !pod_allows)
        return crio_error_set(CRIO_EINVAL, "%s is privileged but its pod is not", g->name);
    return 0;
}

static void init_gen(gen *g, const crio_spec_input *in, cJSON *spec)
{
    memset(g, 0, sizeof *g);
    g->in = in;
    g->ctr = in->container;
    g->pod = in->pod;
    g->sc = crio_spec_cri_get(in->container, "linux.security_context");
    g->img = image_config_of(in->image_config);
    g->spec = spec;
    g->readonly_rootfs = crio_spec_cri_bool(g->sc, "readonly_rootfs", false);
    const char *name = crio_spec_cri_string(in->container, "metadata.name");
    if (nonempty(in->container_id))
        snprintf(g->name, sizeof g->name, "container %.12s", in->container_id);
    else
        snprintf(g->name, sizeof g->name, "container %s", nonempty(name) ? name : "(unnamed)");
    plan_namespaces(g);
}

static int build_root(const gen *g)
{
    cJSON *root = cJSON_AddObjectToObject(g->spec, "root");
    if (!root)
        return crio_error_oom();
    int r = put_str(root, "path", g->in->rootfs);
    return r < 0 ? r : put_bool(root, "readonly", g->readonly_rootfs);
}

/* A hostname only where the container has a UTS namespace of its own (or the pod's): never the host's. */
static int build_hostname(const gen *g)
{
    if (g->uts == NS_HOST || !nonempty(g->in->hostname))
        return 0;
    return put_str(g->spec, "hostname", g->in->hostname);
}

int crio_spec_generate(cJSON **out, const crio_spec_input *in)
{
    int r = check_input(in);
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *spec = cJSON_CreateObject();
    if (!spec)
        return crio_error_oom();
    gen g;
    init_gen(&g, in, spec);
    if ((r = check_privileged(&g)) < 0)
        return r;
    if ((r = put_str(spec, "ociVersion", OCI_VERSION)) < 0 || (r = build_process(&g)) < 0 ||
        (r = build_root(&g)) < 0 || (r = build_hostname(&g)) < 0)
        return r;
    /* Filled by the mounts (rootfsPropagation) first; attached after them, as a reader expects. */
    _cleanup_json_ cJSON *linux_ = cJSON_CreateObject();
    if (!linux_)
        return crio_error_oom();
    if ((r = build_mounts(&g, linux_)) < 0 || (r = build_linux(&g, linux_)) < 0 ||
        (r = put_item(spec, "linux", TAKE_PTR(linux_))) < 0 || (r = build_annotations(&g)) < 0 ||
        (r = apply_security_profiles(&g)) < 0)
        return r;
    *out = TAKE_PTR(spec);
    return 0;
}

/* ---------------------------------------------------------- stop signal */

static const struct {
    const char *name;
    int signo;
} signal_table[] = {
    { "HUP", SIGHUP },       { "INT", SIGINT },       { "QUIT", SIGQUIT },     { "ILL", SIGILL },
    { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },     { "IOT", SIGABRT },      { "BUS", SIGBUS },
    { "FPE", SIGFPE },       { "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
    { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },     { "TERM", SIGTERM },
    { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },     { "CLD", SIGCHLD },      { "CONT", SIGCONT },
    { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },
    { "URG", SIGURG },       { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM },
    { "PROF", SIGPROF },     { "WINCH", SIGWINCH },   { "IO", SIGIO },         { "POLL", SIGIO },
    { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

/* "RTMIN", "RTMIN+3", "RTMAX", "RTMAX-2" (after any "SIG"); -1 when not one of those. */
static int parse_rt_signal(const char *s)
{
    int base, sign;
    if (strncasecmp(s, "RTMIN", 5) == 0)
        base = SIGRTMIN, sign = 1;
    else if (strncasecmp(s, "RTMAX", 5) == 0)
        base = SIGRTMAX, sign = -1;
    else
        return -1;
    s += 5;
    if (!*s)
        return base;
    if (*s != (sign > 0 ? '+' : '-') || !s[1] || strspn(s + 1, "0123456789") != strlen(s + 1) || strlen(s + 1) > 2)
        return -1;
    int sig = base + sign * atoi(s + 1);
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
}

int crio_spec_parse_signal(const char *s)
{
    if (!nonempty(s))
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        int n = strlen(s) <= 2 ? atoi(s) : -1;
        return n >= 1 && n <= SIGRTMAX ? n : -1;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(signal_table); i++)
        if (strcasecmp(s, signal_table[i].name) == 0)
            return signal_table[i].signo;
    return parse_rt_signal(s);
}

int crio_spec_stop_signal(const cJSON *image_config)
{
    int sig = crio_spec_parse_signal(crio_json_string(image_config_of(image_config), "StopSignal"));
    return sig > 0 ? sig : SIGTERM;
}

/* The CRI Signal enum's values 1..34, in its order (api.proto); 35.. are the real-time signals. */
static const int cri_signals[] = {
    0,                                                   /* RUNTIME_DEFAULT */
    SIGABRT, SIGALRM, SIGBUS,    SIGCHLD, SIGCHLD,        /* 1..5: ABRT ALRM BUS CHLD CLD */
    SIGCONT, SIGFPE,  SIGHUP,    SIGILL,  SIGINT,         /* 6..10: CONT FPE HUP ILL INT */
    SIGIO,   SIGABRT, SIGKILL,   SIGPIPE, SIGIO,          /* 11..15: IO IOT KILL PIPE POLL */
    SIGPROF, SIGPWR,  SIGQUIT,   SIGSEGV, SIGSTKFLT,      /* 16..20: PROF PWR QUIT SEGV STKFLT */
    SIGSTOP, SIGSYS,  SIGTERM,   SIGTRAP, SIGTSTP,        /* 21..25: STOP SYS TERM TRAP TSTP */
    SIGTTIN, SIGTTOU, SIGURG,    SIGUSR1, SIGUSR2,        /* 26..30: TTIN TTOU URG USR1 USR2 */
    SIGVTALRM, SIGWINCH, SIGXCPU, SIGXFSZ,                /* 31..34: VTALRM WINCH XCPU XFSZ */
};

int crio_spec_container_stop_signal(const cJSON *container, const cJSON *image_config)
{
    int64_t v = crio_spec_cri_int(container, "stop_signal", 0);
    if (v >= 1 && v < (int64_t)CRIO_ARRAY_SIZE(cri_signals))
        return cri_signals[v];
    if (v >= 35 && v <= 50) /* SIGRTMIN, SIGRTMINPLUS1..15 */
        return SIGRTMIN + (int)(v - 35);
    if (v >= 51 && v <= 65) /* SIGRTMAXMINUS14..1, SIGRTMAX */
        return SIGRTMAX - (int)(65 - v);
    return crio_spec_stop_signal(image_config);
}
