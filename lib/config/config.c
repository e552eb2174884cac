/* crio.conf: schema, defaults, merging TOML files and flags, printing back. */
#include <crio/config.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/toml.h"
#include "config/config_internal.h"

enum ktype { K_STR, K_INT, K_BOOL, K_LIST };

struct kdef {
    const char *table; /* "crio", "crio.api", ...; "" for a runtime handler's table */
    const char *key;
    enum ktype type;
    const char *def_str;     /* K_STR; K_LIST: comma-separated */
    int64_t def_int;         /* K_INT, K_BOOL */
};

/* The global keys.  Order is the print order; add new keys at the end of their table. */
static const struct kdef global_keys[] = {
    { "crio", "root", K_STR, "/var/lib/crio", 0 },
    { "crio", "runroot", K_STR, "/run/crio", 0 },
    { "crio", "storage_driver", K_STR, "overlay", 0 },
    { "crio", "storage_option", K_LIST, "", 0 },
    { "crio", "log_dir", K_STR, "/var/log/crio/pods", 0 },
    { "crio.api", "listen", K_STR, "/run/crio/crio.sock", 0 },
    { "crio.api", "stream_address", K_STR, "127.0.0.1", 0 },
    { "crio.api", "stream_port", K_STR, "0", 0 },
    { "crio.api", "grpc_max_send_msg_size", K_INT, NULL, 16 * 1024 * 1024 },
    { "crio.api", "grpc_max_recv_msg_size", K_INT, NULL, 16 * 1024 * 1024 },
    { "crio.api", "thread_pool_size", K_INT, NULL, 16 },
    { "crio.runtime", "default_runtime", K_STR, "runc", 0 },
    { "crio.runtime", "monitor_path", K_STR, "", 0 },
    { "crio.runtime", "cgroup_manager", K_STR, "cgroupfs", 0 },
    { "crio.runtime", "log_level", K_STR, "info", 0 },
    { "crio.runtime", "log_size_max", K_INT, NULL, -1 },
    { "crio.runtime", "default_capabilities", K_LIST,
      "CHOWN,DAC_OVERRIDE,FSETID,FOWNER,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,KILL", 0 },
    { "crio.runtime", "default_sysctls", K_LIST, "", 0 },
    { "crio.runtime", "default_ulimits", K_LIST, "", 0 },
    { "crio.runtime", "default_env", K_LIST, "", 0 },
    { "crio.runtime", "selinux", K_BOOL, NULL, 0 },
    { "crio.runtime", "seccomp_profile", K_STR, "", 0 },
    { "crio.runtime", "apparmor_profile", K_STR, "crio-default", 0 },
    { "crio.runtime", "no_pivot", K_BOOL, NULL, 0 },
    { "crio.runtime", "shm_size", K_STR, "64m", 0 },
    { "crio.image", "default_transport", K_STR, "docker://", 0 },
    { "crio.image", "global_auth_file", K_STR, "", 0 },
    { "crio.image", "pause_image", K_STR, "registry.k8s.io/pause:3.9", 0 },
    { "crio.image", "pause_image_auth_file", K_STR, "", 0 },
    { "crio.image", "pause_command", K_STR, "/pause", 0 },
    { "crio.image", "signature_policy", K_STR, "", 0 },
    { "crio.image", "registries", K_LIST, "", 0 },
    { "crio.image", "insecure_registries", K_LIST, "", 0 },
    { "crio.image", "registries_conf", K_STR, "/etc/containers/registries.conf", 0 },
    { "crio.image", "max_concurrent_downloads", K_INT, NULL, 3 },
    { "crio.image", "big_files_temporary_dir", K_STR, "", 0 },
    { "crio.network", "cni_default_network", K_STR, "", 0 },
    { "crio.network", "network_dir", K_STR, "/etc/cni/net.d/", 0 },
    { "crio.network", "plugin_dirs", K_LIST, "/opt/cni/bin/,/usr/lib/cni/", 0 },
    { "crio.network", "plugin_timeout", K_INT, NULL, 60 },
};
#define N_GLOBAL CRIO_ARRAY_SIZE(global_keys)

/* Keys of [crio.runtime.runtimes.NAME]. */
static const struct kdef runtime_keys[] = {
    { "", "runtime_path", K_STR, "", 0 },
    { "", "runtime_root", K_STR, "", 0 },
    { "", "runtime_type", K_STR, "oci", 0 },
    { "", "monitor_path", K_STR, "", 0 },
    { "", "privileged_without_host_devices", K_BOOL, NULL, 0 },
    { "", "allowed_annotations", K_LIST, "", 0 },
};
#define N_RUNTIME CRIO_ARRAY_SIZE(runtime_keys)

static const char *const known_tables[] = { "crio", "crio.api", "crio.runtime", "crio.image",
                                            "crio.network" };
#define RUNTIMES_TABLE "crio.runtime.runtimes"

struct cval {
    char *s;
    int64_t i;
    char **list; /* NULL-terminated */
    size_t n;
};

struct runtime {
    char *name;
    struct cval v[N_RUNTIME];
};

struct crio_config {
    struct cval v[N_GLOBAL];
    struct runtime *rt;
    size_t nrt;
};

static void cval_clear(struct cval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        free(v->list[i]);
    free(v->list);
    memset(v, 0, sizeof *v);
}

static int list_from_csv(struct cval *v, const char *csv)
{
    v->list = calloc(1, sizeof(char *));
    if (!v->list)
        return crio_error_oom();
    v->n = 0;
    if (!csv || !*csv)
        return 0;
    const char *p = csv;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char **nl = realloc(v->list, (v->n + 2) * sizeof(char *));
        if (!nl)
            return crio_error_oom();
        v->list = nl;
        if (!(v->list[v->n] = strndup(p, len)))
            return crio_error_oom();
        v->list[++v->n] = NULL;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int cval_default(struct cval *v, const struct kdef *k)
{
    switch (k->type) {
    case K_STR:
        return (v->s = strdup(k->def_str)) ? 0 : crio_error_oom();
    case K_INT:
    case K_BOOL:
        v->i = k->def_int;
        return 0;
    case K_LIST:
        return list_from_csv(v, k->def_str);
    }
    return 0;
}

static int cval_copy(struct cval *dst, const struct cval *src, enum ktype type)
{
    memset(dst, 0, sizeof *dst);
    dst->i = src->i;
    if (type == K_STR && !(dst->s = strdup(src->s)))
        return crio_error_oom();
    if (type == K_LIST) {
        if (!(dst->list = calloc(src->n + 1, sizeof(char *))))
            return crio_error_oom();
        for (size_t i = 0; i < src->n; i++) {
            if (!(dst->list[i] = strdup(src->list[i])))
                return crio_error_oom();
            dst->n = i + 1;
        }
    }
    return 0;
}

static void runtime_clear(struct runtime *r)
{
    free(r->name);
    for (size_t i = 0; i < N_RUNTIME; i++)
        cval_clear(&r->v[i]);
}

void crio_config_free(crio_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < N_GLOBAL; i++)
        cval_clear(&cfg->v[i]);
    for (size_t i = 0; i < cfg->nrt; i++)
        runtime_clear(&cfg->rt[i]);
    free(cfg->rt);
    free(cfg);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_config, crio_config_free)

static struct runtime *runtime_find(const crio_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nrt; i++)
        if (strcmp(cfg->rt[i].name, name) == 0)
            return &cfg->rt[i];
    return NULL;
}

static int runtime_add(struct runtime **out, crio_config *cfg, const char *name)
{
    struct runtime *nrt = realloc(cfg->rt, (cfg->nrt + 1) * sizeof *nrt);
    if (!nrt)
        return crio_error_oom();
    cfg->rt = nrt;
    struct runtime *r = &cfg->rt[cfg->nrt];
    memset(r, 0, sizeof *r);
    if (!(r->name = strdup(name)))
        return crio_error_oom();
    cfg->nrt++;
    for (size_t i = 0; i < N_RUNTIME; i++) {
        int e = cval_default(&r->v[i], &runtime_keys[i]);
        if (e < 0)
            return e;
    }
    *out = r;
    return 0;
}

int crio_config_new(crio_config **out)
{
    _cleanup_(crio_config_freep) crio_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return crio_error_oom();
    for (size_t i = 0; i < N_GLOBAL; i++) {
        int e = cval_default(&cfg->v[i], &global_keys[i]);
        if (e < 0)
            return e;
    }
    struct runtime *r;
    int e = runtime_add(&r, cfg, "runc");
    if (e < 0)
        return e;
    free(r->v[1].s);
    if (!(r->v[1].s = strdup("/run/runc")))
        return crio_error_oom();
    *out = TAKE_PTR(cfg);
    return 0;
}

int crio_config_copy(crio_config **out, const crio_config *src)
{
    _cleanup_(crio_config_freep) crio_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return crio_error_oom();
    for (size_t i = 0; i < N_GLOBAL; i++) {
        int e = cval_copy(&cfg->v[i], &src->v[i], global_keys[i].type);
        if (e < 0)
            return e;
    }
    if (src->nrt && !(cfg->rt = calloc(src->nrt, sizeof *cfg->rt)))
        return crio_error_oom();
    for (size_t r = 0; r < src->nrt; r++) {
        cfg->nrt = r + 1;
        if (!(cfg->rt[r].name = strdup(src->rt[r].name)))
            return crio_error_oom();
        for (size_t i = 0; i < N_RUNTIME; i++) {
            int e = cval_copy(&cfg->rt[r].v[i], &src->rt[r].v[i], runtime_keys[i].type);
            if (e < 0)
                return e;
        }
    }
    *out = TAKE_PTR(cfg);
    return 0;
}

/* Swaps the contents of two configurations (to commit a merge done on a copy). */
static void config_swap(crio_config *a, crio_config *b)
{
    crio_config t = *a;
    *a = *b;
    *b = t;
}

/* ---- lookup by dotted path ---- */

static int key_lookup(const crio_config *cfg, const char *path, const struct kdef **def,
                      struct cval **val, bool create, crio_config *mcfg)
{
    for (size_t i = 0; i < N_GLOBAL; i++) {
        size_t tl = strlen(global_keys[i].table);
        if (strncmp(path, global_keys[i].table, tl) == 0 && path[tl] == '.' &&
            strcmp(path + tl + 1, global_keys[i].key) == 0) {
            *def = &global_keys[i];
            *val = (struct cval *)&cfg->v[i];
            return 0;
        }
    }
    const size_t pl = strlen(RUNTIMES_TABLE);
    if (strncmp(path, RUNTIMES_TABLE ".", pl + 1) == 0) {
        const char *name = path + pl + 1;
        const char *dot = strrchr(name, '.');
        if (dot && dot > name) {
            _cleanup_free_ char *rname = strndup(name, (size_t)(dot - name));
            if (!rname)
                return crio_error_oom();
            for (size_t i = 0; i < N_RUNTIME; i++) {
                if (strcmp(dot + 1, runtime_keys[i].key) != 0)
                    continue;
                struct runtime *r = runtime_find(cfg, rname);
                if (!r && create) {
                    int e = runtime_add(&r, mcfg, rname);
                    if (e < 0)
                        return e;
                }
                if (!r)
                    return crio_error_set(CRIO_ENOTFOUND, "no runtime handler \"%s\"", rname);
                *def = &runtime_keys[i];
                *val = &r->v[i];
                return 0;
            }
        }
    }
    return crio_error_set(CRIO_ENOTFOUND, "unknown configuration key \"%s\"", path);
}

static const char *ktype_name(enum ktype t)
{
    switch (t) {
    case K_STR: return "a string";
    case K_INT: return "an integer";
    case K_BOOL: return "a boolean";
    case K_LIST: return "an array of strings";
    }
    return "?";
}

static int get_typed(const crio_config *cfg, const char *key, enum ktype want, const struct cval **out)
{
    const struct kdef *def = NULL;
    struct cval *val = NULL;
    int e = key_lookup(cfg, key, &def, &val, false, NULL);
    if (e < 0)
        return e;
    if (def->type != want)
        return crio_error_set(CRIO_EINVAL, "configuration key \"%s\" is %s, not %s", key,
                              ktype_name(def->type), ktype_name(want));
    *out = val;
    return 0;
}

int crio_config_get_string(const crio_config *cfg, const char *key, const char **out)
{
    const struct cval *v = NULL;
    int e = get_typed(cfg, key, K_STR, &v);
    if (e == 0)
        *out = v->s;
    return e;
}

int crio_config_get_int(const crio_config *cfg, const char *key, int64_t *out)
{
    const struct cval *v = NULL;
    int e = get_typed(cfg, key, K_INT, &v);
    if (e == 0)
        *out = v->i;
    return e;
}

int crio_config_get_bool(const crio_config *cfg, const char *key, int *out)
{
    const struct cval *v = NULL;
    int e = get_typed(cfg, key, K_BOOL, &v);
    if (e == 0)
        *out = v->i != 0;
    return e;
}

int crio_config_get_list(const crio_config *cfg, const char *key, const char *const **items,
                         size_t *count)
{
    const struct cval *v = NULL;
    int e = get_typed(cfg, key, K_LIST, &v);
    if (e == 0) {
        *items = (const char *const *)v->list;
        *count = v->n;
    }
    return e;
}

size_t crio_config_runtime_count(const crio_config *cfg)
{
    return cfg->nrt;
}

const char *crio_config_runtime_name(const crio_config *cfg, size_t i)
{
    return i < cfg->nrt ? cfg->rt[i].name : NULL;
}

const char *crio_config_str(const crio_config *cfg, const char *key)
{
    const char *s = NULL;
    return crio_config_get_string(cfg, key, &s) == 0 ? s : NULL;
}

int64_t crio_config_int(const crio_config *cfg, const char *key)
{
    int64_t v = 0;
    crio_config_get_int(cfg, key, &v);
    return v;
}

const char *crio_config_runtime_str(const crio_config *cfg, const char *handler, const char *key)
{
    struct runtime *r = runtime_find(cfg, handler);
    if (!r)
        return NULL;
    for (size_t i = 0; i < N_RUNTIME; i++)
        if (runtime_keys[i].type == K_STR && strcmp(runtime_keys[i].key, key) == 0)
            return r->v[i].s;
    return NULL;
}

/* ---- setting from text ---- */

static int parse_int(int64_t *out, const char *s)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int crio_config_set(crio_config *cfg, const char *key, const char *value)
{
    const struct kdef *def = NULL;
    struct cval *val = NULL;
    if (!value)
        return crio_error_set(CRIO_EINVAL, "configuration key \"%s\": no value", key);
    int e = key_lookup(cfg, key, &def, &val, true, cfg);
    if (e < 0)
        return e == CRIO_ENOTFOUND ? crio_error_set(CRIO_EINVAL, "unknown configuration key \"%s\"", key)
                                   : e;
    struct cval nv = { 0 };
    switch (def->type) {
    case K_STR:
        if (!(nv.s = strdup(value)))
            return crio_error_oom();
        break;
    case K_INT:
        if (parse_int(&nv.i, value) < 0)
            return crio_error_set(CRIO_EINVAL, "configuration key \"%s\": \"%s\" is not an integer", key,
                                  value);
        break;
    case K_BOOL:
        if (strcmp(value, "true") == 0)
            nv.i = 1;
        else if (strcmp(value, "false") == 0)
            nv.i = 0;
        else
            return crio_error_set(CRIO_EINVAL, "configuration key \"%s\": \"%s\" is not true or false",
                                  key, value);
        break;
    case K_LIST:
        if ((e = list_from_csv(&nv, value)) < 0) {
            cval_clear(&nv);
            return e;
        }
        break;
    }
    cval_clear(val);
    *val = nv;
    return 0;
}

/* ---- merging TOML ---- */

static int type_error(const char *file, const crio_toml *v, const char *path, enum ktype want)
{
    return crio_error_set(CRIO_EINVAL, "%s:%d:%d: \"%s\" must be %s, not %s", file, v->line, v->column,
                          path, ktype_name(want), v->type == CRIO_TOML_INT ? "an integer"
                                                  : v->type == CRIO_TOML_BOOL ? "a boolean"
                                                  : v->type == CRIO_TOML_STRING ? "a string"
                                                  : v->type == CRIO_TOML_ARRAY ? "an array"
                                                                               : "a table");
}

static int assign_value(struct cval *dst, const struct kdef *def, const crio_toml *v, const char *file,
                        const char *path)
{
    struct cval nv = { 0 };
    switch (def->type) {
    case K_STR:
        if (v->type != CRIO_TOML_STRING)
            return type_error(file, v, path, K_STR);
        if (!(nv.s = strdup(v->u.str)))
            return crio_error_oom();
        break;
    case K_INT:
        if (v->type != CRIO_TOML_INT)
            return type_error(file, v, path, K_INT);
        nv.i = v->u.num;
        break;
    case K_BOOL:
        if (v->type != CRIO_TOML_BOOL)
            return type_error(file, v, path, K_BOOL);
        nv.i = v->u.boolean;
        break;
    case K_LIST:
        if (v->type != CRIO_TOML_ARRAY)
            return type_error(file, v, path, K_LIST);
        if (!(nv.list = calloc(v->u.array.len + 1, sizeof(char *))))
            return crio_error_oom();
        for (size_t i = 0; i < v->u.array.len; i++) {
            const crio_toml *it = v->u.array.items[i];
            if (it->type != CRIO_TOML_STRING) {
                cval_clear(&nv);
                return crio_error_set(CRIO_EINVAL, "%s:%d:%d: \"%s\" must be an array of strings", file,
                                      it->line, it->column, path);
            }
            if (!(nv.list[i] = strdup(it->u.str))) {
                cval_clear(&nv);
                return crio_error_oom();
            }
            nv.n = i + 1;
        }
        break;
    }
    cval_clear(dst);
    *dst = nv;
    return 0;
}

static bool is_known_table(const char *path)
{
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(known_tables); i++)
        if (strcmp(path, known_tables[i]) == 0)
            return true;
    return false;
}

static int merge_runtime(crio_config *cfg, const char *name, const crio_toml *t, const char *file)
{
    if (t->type != CRIO_TOML_TABLE)
        return crio_error_set(CRIO_EINVAL, "%s:%d:%d: \"%s.%s\" must be a table", file, t->line, t->column,
                              RUNTIMES_TABLE, name);
    if (!*name)
        return crio_error_set(CRIO_EINVAL, "%s:%d:%d: a runtime handler needs a name", file, t->line,
                              t->column);
    struct runtime *r = runtime_find(cfg, name);
    if (!r) {
        int e = runtime_add(&r, cfg, name);
        if (e < 0)
            return e;
    }
    for (size_t i = 0; i < t->u.table.len; i++) {
        const char *k = t->u.table.keys[i];
        const crio_toml *v = t->u.table.values[i];
        size_t j;
        for (j = 0; j < N_RUNTIME; j++)
            if (strcmp(runtime_keys[j].key, k) == 0)
                break;
        if (j == N_RUNTIME)
            return crio_error_set(CRIO_EINVAL, "%s:%d:%d: unknown configuration key \"%s.%s.%s\"", file,
                                  v->line, v->column, RUNTIMES_TABLE, name, k);
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s.%s.%s", RUNTIMES_TABLE, name, k) < 0)
            return crio_error_oom();
        int e = assign_value(&r->v[j], &runtime_keys[j], v, file, path);
        if (e < 0)
            return e;
    }
    return 0;
}

static int merge_table(crio_config *cfg, const char *prefix, const crio_toml *t, const char *file)
{
    for (size_t i = 0; i < t->u.table.len; i++) {
        const char *k = t->u.table.keys[i];
        const crio_toml *v = t->u.table.values[i];
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", k) < 0)
            return crio_error_oom();
        int e;
        if (strcmp(path, RUNTIMES_TABLE) == 0) {
            if (v->type != CRIO_TOML_TABLE)
                return crio_error_set(CRIO_EINVAL, "%s:%d:%d: \"%s\" must be a table", file, v->line,
                                      v->column, path);
            for (size_t j = 0; j < v->u.table.len; j++)
                if ((e = merge_runtime(cfg, v->u.table.keys[j], v->u.table.values[j], file)) < 0)
                    return e;
            continue;
        }
        if (v->type == CRIO_TOML_TABLE && is_known_table(path)) {
            if ((e = merge_table(cfg, path, v, file)) < 0)
                return e;
            continue;
        }
        const struct kdef *def = NULL;
        for (size_t j = 0; j < N_GLOBAL; j++)
            if (strcmp(global_keys[j].table, prefix) == 0 && strcmp(global_keys[j].key, k) == 0)
                def = &global_keys[j];
        if (!def)
            return crio_error_set(CRIO_EINVAL, "%s:%d:%d: unknown configuration %s \"%s\"", file, v->line,
                                  v->column, v->type == CRIO_TOML_TABLE ? "table" : "key", path);
        if ((e = assign_value(&cfg->v[def - global_keys], def, v, file, path)) < 0)
            return e;
    }
    return 0;
}

static int merge_parsed(crio_config *cfg, const crio_toml *root, const char *file)
{
    _cleanup_(crio_config_freep) crio_config *work = NULL;
    int e = crio_config_copy(&work, cfg);
    if (e < 0)
        return e;
    if ((e = merge_table(work, "", root, file)) < 0)
        return e;
    config_swap(cfg, work);
    return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(crio_toml, crio_toml_free)

int crio_config_merge_string(crio_config *cfg, const char *toml, const char *name)
{
    _cleanup_(crio_toml_freep) crio_toml *root = NULL;
    int e = crio_toml_parse(&root, toml, strlen(toml), name ? name : "<string>");
    if (e < 0)
        return e;
    return merge_parsed(cfg, root, name ? name : "<string>");
}

int crio_config_merge_file(crio_config *cfg, const char *path)
{
    _cleanup_(crio_toml_freep) crio_toml *root = NULL;
    int e = crio_toml_parse_file(&root, path);
    if (e < 0)
        return e;
    return merge_parsed(cfg, root, path);
}

static int filter_conf(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int merge_dir(crio_config *cfg, const char *dir, bool must_exist)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, filter_conf, alphasort);
    if (n < 0) {
        if (errno == ENOENT && !must_exist)
            return 0;
        return crio_error_sys(errno, "read configuration directory %s", dir);
    }
    int e = 0;
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = NULL;
        if (e == 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
            e = crio_error_oom();
        if (e == 0) {
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                e = crio_config_merge_file(cfg, path);
        }
        free(names[i]);
    }
    free(names);
    return e;
}

int crio_config_load(crio_config **out, const char *file, const char *dir)
{
    _cleanup_(crio_config_freep) crio_config *cfg = NULL;
    int e = crio_config_new(&cfg);
    if (e < 0)
        return e;
    const char *f = file ? file : CRIO_CONFIG_DEFAULT_FILE;
    struct stat st;
    if (file || stat(f, &st) == 0) {
        if ((e = crio_config_merge_file(cfg, f)) < 0)
            return e;
    }
    if ((e = merge_dir(cfg, dir ? dir : CRIO_CONFIG_DEFAULT_DIR, dir != NULL)) < 0)
        return e;
    if ((e = crio_config_validate(cfg)) < 0)
        return e;
    *out = TAKE_PTR(cfg);
    return 0;
}

/* ---- validation ---- */

static int want_absolute(const crio_config *cfg, const char *key, bool allow_empty)
{
    const char *v = crio_config_str(cfg, key);
    if ((!v || !*v) && allow_empty)
        return 0;
    if (!v || v[0] != '/')
        return crio_error_set(CRIO_EINVAL, "configuration key \"%s\": \"%s\" is not an absolute path", key,
                              v ? v : "");
    return 0;
}

int crio_config_validate(const crio_config *cfg)
{
    static const char *const abs_keys[] = { "crio.root", "crio.runroot", "crio.api.listen",
                                            "crio.log_dir", "crio.network.network_dir" };
    int e;
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(abs_keys); i++)
        if ((e = want_absolute(cfg, abs_keys[i], false)) < 0)
            return e;
    if ((e = want_absolute(cfg, "crio.runtime.monitor_path", true)) < 0 ||
        (e = want_absolute(cfg, "crio.image.registries_conf", true)) < 0)
        return e;
    const char *cg = crio_config_str(cfg, "crio.runtime.cgroup_manager");
    if (strcmp(cg, "cgroupfs") != 0 && strcmp(cg, "systemd") != 0)
        return crio_error_set(CRIO_EINVAL,
                              "configuration key \"crio.runtime.cgroup_manager\": \"%s\" is not "
                              "cgroupfs or systemd", cg);
    const char *sd = crio_config_str(cfg, "crio.storage_driver");
    if (strcmp(sd, "overlay") != 0 && strcmp(sd, "vfs") != 0)
        return crio_error_set(CRIO_EINVAL,
                              "configuration key \"crio.storage_driver\": \"%s\" is not overlay or vfs",
                              sd);
    crio_log_level lvl;
    if (crio_log_level_parse(&lvl, crio_config_str(cfg, "crio.runtime.log_level")) < 0)
        return crio_error_wrap(CRIO_EINVAL, "configuration key \"crio.runtime.log_level\"");
    static const struct { const char *key; int64_t min, max; } ranges[] = {
        { "crio.api.grpc_max_send_msg_size", 1024, INT32_MAX },
        { "crio.api.grpc_max_recv_msg_size", 1024, INT32_MAX },
        { "crio.api.thread_pool_size", 1, 1024 },
        { "crio.image.max_concurrent_downloads", 1, 64 },
        { "crio.runtime.log_size_max", -1, INT64_MAX },
    };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(ranges); i++) {
        int64_t v = crio_config_int(cfg, ranges[i].key);
        if (v < ranges[i].min || v > ranges[i].max)
            return crio_error_set(CRIO_EINVAL,
                                  "configuration key \"%s\": %" PRId64 " is outside %" PRId64 "..%" PRId64,
                                  ranges[i].key, v, ranges[i].min, ranges[i].max);
    }
    const char *dr = crio_config_str(cfg, "crio.runtime.default_runtime");
    if (!runtime_find(cfg, dr))
        return crio_error_set(CRIO_EINVAL,
                              "configuration key \"crio.runtime.default_runtime\": no handler \"%s\" "
                              "in [crio.runtime.runtimes]", dr);
    for (size_t i = 0; i < cfg->nrt; i++) {
        const char *type = cfg->rt[i].v[2].s;
        if (strcmp(type, "oci") != 0)
            return crio_error_set(CRIO_EINVAL,
                                  "runtime handler \"%s\": runtime_type \"%s\" is not supported (want oci)",
                                  cfg->rt[i].name, type);
        for (size_t k = 0; k < N_RUNTIME; k++) {
            const char *p = cfg->rt[i].v[k].s;
            if (runtime_keys[k].type == K_STR && strstr(runtime_keys[k].key, "_path") && p && *p &&
                p[0] != '/')
                return crio_error_set(CRIO_EINVAL, "runtime handler \"%s\": %s \"%s\" is not an absolute path",
                                      cfg->rt[i].name, runtime_keys[k].key, p);
        }
    }
    return 0;
}

/* ---- printing ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0)
        sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_toml_string(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\r': sb_puts(b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                sb_printf(b, "\\u%04x", *p);
            else
                sb_add(b, (const char *)p, 1);
        }
    }
    sb_puts(b, "\"");
}

static void sb_value(struct sbuf *b, const struct kdef *def, const struct cval *v)
{
    sb_printf(b, "%s = ", def->key);
    switch (def->type) {
    case K_STR: sb_toml_string(b, v->s); break;
    case K_INT: sb_printf(b, "%" PRId64, v->i); break;
    case K_BOOL: sb_puts(b, v->i ? "true" : "false"); break;
    case K_LIST:
        sb_puts(b, "[");
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                sb_puts(b, ", ");
            sb_toml_string(b, v->list[i]);
        }
        sb_puts(b, "]");
        break;
    }
    sb_puts(b, "\n");
}

static bool is_bare_key(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

int crio_config_to_toml(char **out, const crio_config *cfg)
{
    struct sbuf b = { 0 };
    sb_puts(&b, "# Effective libcrio configuration.\n");
    for (size_t t = 0; t < CRIO_ARRAY_SIZE(known_tables); t++) {
        sb_printf(&b, "\n[%s]\n", known_tables[t]);
        for (size_t i = 0; i < N_GLOBAL; i++)
            if (strcmp(global_keys[i].table, known_tables[t]) == 0)
                sb_value(&b, &global_keys[i], &cfg->v[i]);
        if (strcmp(known_tables[t], "crio.runtime") == 0)
            for (size_t r = 0; r < cfg->nrt; r++) {
                sb_printf(&b, "\n[%s.", RUNTIMES_TABLE);
                if (is_bare_key(cfg->rt[r].name))
                    sb_puts(&b, cfg->rt[r].name);
                else
                    sb_toml_string(&b, cfg->rt[r].name);
                sb_puts(&b, "]\n");
                for (size_t i = 0; i < N_RUNTIME; i++)
                    sb_value(&b, &runtime_keys[i], &cfg->rt[r].v[i]);
            }
    }
    if (b.oom) {
        free(b.p);
        return crio_error_oom();
    }
    *out = b.p;
    return 0;
}
