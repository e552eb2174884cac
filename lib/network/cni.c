/*
 * CNI execution core (see cni.h).  Plugins are run with crio_spawn_run: an
 * explicit environment, no inherited fds, a deadline and capped output, so
 * a broken or hostile plugin can neither leak our fds nor flood our memory
 * nor hang a pod start forever.
 */
#include "network/cni.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"
#include "base/spawn.h"

/* NSFS_MAGIC from linux/magic.h, spelled out to avoid the header dependency. */
#define CNI_NSFS_MAGIC 0x6e736673
/* Plugins look up helpers (iptables, ip) in PATH; give them a fixed, sane one. */
#define CNI_ENV_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CNI_MAX_ID 128
#define CNI_MAX_FILES 1024

struct crio_cni {
    char **plugin_dirs; /* NULL-terminated */
    char *cni_path;     /* plugin_dirs joined by ':' for CNI_PATH */
    char *network;      /* the default network's name, NULL when not ready */
    cJSON *list;        /* its normalized conflist */
    char *why;          /* why not ready */
    int64_t timeout_ms;
};

struct crio_cni_result {
    char *json;
    char *config;
    char *network;
    char **ips;
    size_t n_ips;
    int64_t plugin_ns;
};

/* ---- loading ---- */

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Checks a conflist and returns NULL when usable, else a static reason.
 * cniVersion is required: without it plugins assume 0.1.0 and produce
 * results nothing downstream understands.
 */
static const char *conflist_invalid(const cJSON *list)
{
    const char *name = crio_json_string(list, "name");
    if (!name || !*name)
        return "missing \"name\"";
    if (strchr(name, '/'))
        return "\"name\" contains '/'";
    const char *ver = crio_json_string(list, "cniVersion");
    if (!ver || !*ver)
        return "missing \"cniVersion\"";
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(list, "plugins");
    if (!cJSON_IsArray(plugins) || cJSON_GetArraySize(plugins) == 0)
        return "no \"plugins\"";
    const cJSON *p;
    cJSON_ArrayForEach(p, plugins) {
        if (!cJSON_IsObject(p))
            return "a plugin entry is not an object";
        const char *type = crio_json_string(p, "type");
        /* The type names a binary in the plugin dirs: no path tricks. */
        if (!type || !*type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, ".."))
            return "a plugin has no valid \"type\"";
    }
    return NULL;
}

/* Parses one file into a conflist (a single-plugin .conf/.json is wrapped); NULL + *why on failure. */
static cJSON *load_file(const char *path, bool is_list, const char **why)
{
    cJSON *doc = NULL;
    if (crio_json_read_file(&doc, path, CRIO_CNI_MAX_CONFIG) < 0) {
        *why = crio_error_message(crio_error_last());
        return NULL;
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        *why = "not a JSON object";
        return NULL;
    }
    if (!is_list) {
        /* As libcni's ConfListFromConf: the list takes the plugin's name and version. */
        cJSON *list = cJSON_CreateObject();
        cJSON *plugins = cJSON_AddArrayToObject(list, "plugins");
        const char *name = crio_json_string(doc, "name");
        const char *ver = crio_json_string(doc, "cniVersion");
        if (!list || !plugins || (name && !cJSON_AddStringToObject(list, "name", name)) ||
            (ver && !cJSON_AddStringToObject(list, "cniVersion", ver))) {
            cJSON_Delete(list);
            cJSON_Delete(doc);
            *why = "out of memory";
            return NULL;
        }
        cJSON_AddItemToArray(plugins, doc);
        doc = list;
    }
    const char *bad = conflist_invalid(doc);
    if (bad) {
        cJSON_Delete(doc);
        *why = bad;
        return NULL;
    }
    return doc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The config file names of `dir`, sorted; *n = 0 when the dir is missing. */
static int list_config_files(char ***out, size_t *n, const char *dir)
{
    *out = NULL;
    *n = 0;
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : crio_error_sys(errno, "open CNI config dir %s", dir);
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < CNI_MAX_FILES) {
        if (e->d_name[0] == '.' ||
            !(has_suffix(e->d_name, ".conflist") || has_suffix(e->d_name, ".conf") ||
              has_suffix(e->d_name, ".json")))
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (grown)
            names = grown;
        char *copy = grown ? strdup(e->d_name) : NULL;
        if (!copy) {
            for (size_t i = 0; i < count; i++)
                free(names[i]);
            free(names);
            return crio_error_oom();
        }
        names[count++] = copy;
    }
    if (count)
        qsort(names, count, sizeof *names, cmp_names);
    *out = names;
    *n = count;
    return 0;
}

static char *join_dirs(const char *const *dirs)
{
    size_t len = 1;
    for (size_t i = 0; dirs[i]; i++)
        len += strlen(dirs[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; dirs[i]; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, dirs[i]);
    }
    return s;
}

void crio_cni_free(crio_cni *cni)
{
    if (!cni)
        return;
    for (size_t i = 0; cni->plugin_dirs && cni->plugin_dirs[i]; i++)
        free(cni->plugin_dirs[i]);
    free(cni->plugin_dirs);
    free(cni->cni_path);
    free(cni->network);
    cJSON_Delete(cni->list);
    free(cni->why);
    free(cni);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(crio_cni, crio_cni_free)

int crio_cni_load(crio_cni **out, const char *network_dir, const char *const *plugin_dirs,
                  const char *default_network)
{
    *out = NULL;
    if (!network_dir || !plugin_dirs || !plugin_dirs[0])
        return crio_error_set(CRIO_EINVAL, "CNI: no network dir or plugin dirs");
    _cleanup_(crio_cni_freep) crio_cni *cni = calloc(1, sizeof *cni);
    if (!cni)
        return crio_error_oom();
    cni->timeout_ms = CRIO_CNI_DEFAULT_TIMEOUT_MS;
    size_t nd = 0;
    while (plugin_dirs[nd])
        nd++;
    if (!(cni->plugin_dirs = calloc(nd + 1, sizeof *cni->plugin_dirs)))
        return crio_error_oom();
    for (size_t i = 0; i < nd; i++)
        if (!(cni->plugin_dirs[i] = strdup(plugin_dirs[i])))
            return crio_error_oom();
    if (!(cni->cni_path = join_dirs(plugin_dirs)))
        return crio_error_oom();

    char **names;
    size_t n;
    int r = list_config_files(&names, &n, network_dir);
    if (r < 0)
        return r;
    bool want_named = default_network && *default_network;
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        const char *why = NULL;
        cJSON *list = NULL;
        if (snprintf(path, sizeof path, "%s/%s", network_dir, names[i]) >= (int)sizeof path)
            why = "path too long";
        else
            list = load_file(path, has_suffix(names[i], ".conflist"), &why);
        if (!list) {
            crio_log_warn("CNI: skipping %s: %s", path, why);
            continue;
        }
        valid++;
        const char *name = crio_json_string(list, "name");
        if (!cni->list && (!want_named || !strcmp(name, default_network))) {
            cni->list = list;
            if (!(cni->network = strdup(name))) {
                for (size_t j = 0; j < n; j++)
                    free(names[j]);
                free(names);
                return crio_error_oom();
            }
            crio_log_info("CNI: default network %s from %s", name, path);
        } else {
            cJSON_Delete(list);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);

    if (!cni->list) {
        int len;
        if (want_named && valid)
            len = asprintf(&cni->why, "default network \"%s\" not found in %s", default_network,
                           network_dir);
        else
            len = asprintf(&cni->why, "no valid CNI network config in %s", network_dir);
        if (len < 0) {
            cni->why = NULL;
            return crio_error_oom();
        }
    }
    *out = TAKE_PTR(cni);
    return 0;
}

bool crio_cni_ready(const crio_cni *cni, char **why)
{
    if (why)
        *why = NULL;
    if (cni && cni->list)
        return true;
    if (why)
        *why = strdup(cni && cni->why ? cni->why : "CNI not loaded");
    return false;
}

const char *crio_cni_network_name(const crio_cni *cni)
{
    return cni ? cni->network : NULL;
}

char *crio_cni_config_json(const crio_cni *cni)
{
    return cni && cni->list ? cJSON_PrintUnformatted(cni->list) : NULL;
}

void crio_cni_set_timeout(crio_cni *cni, int64_t timeout_ms)
{
    cni->timeout_ms = timeout_ms < 0 ? 0 : timeout_ms;
}

/* ---- results ---- */

void crio_cni_result_free(crio_cni_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_ips; i++)
        free(r->ips[i]);
    free(r->ips);
    free(r->json);
    free(r->config);
    free(r->network);
    free(r);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(crio_cni_result, crio_cni_result_free)

/* Whether `ip` (no prefix) is a loopback address: never a pod's IP. */
static bool is_loopback(const char *ip)
{
    return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1");
}

/* Adds "10.1.2.3" from "10.1.2.3/24" (0.3.x+: ips[].address; 0.2.0: ip4.ip / ip6.ip). */
static int result_add_ip(crio_cni_result *r, const char *cidr)
{
    if (!cidr || !*cidr)
        return 0;
    size_t len = strcspn(cidr, "/");
    if (len == 0 || len > 45) /* INET6_ADDRSTRLEN - 1 */
        return 0;
    _cleanup_free_ char *ip = strndup(cidr, len);
    if (!ip)
        return crio_error_oom();
    if (is_loopback(ip))
        return 0;
    char **grown = realloc(r->ips, (r->n_ips + 1) * sizeof *grown);
    if (!grown)
        return crio_error_oom();
    r->ips = grown;
    r->ips[r->n_ips++] = TAKE_PTR(ip);
    return 0;
}

/*
 * Whether an ips[] entry belongs to `ifname`: entries tie themselves to
 * interfaces[] by index; one without an index, or with a bad one, is kept.
 */
static bool ip_on_iface(const cJSON *doc, const cJSON *ip, const char *ifname)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
    const cJSON *ifaces = cJSON_GetObjectItemCaseSensitive(doc, "interfaces");
    if (!cJSON_IsNumber(idx) || !cJSON_IsArray(ifaces) || idx->valuedouble < 0 ||
        idx->valuedouble >= cJSON_GetArraySize(ifaces))
        return true;
    const char *name = crio_json_string(cJSON_GetArrayItem(ifaces, (int)idx->valuedouble), "name");
    return !name || !strcmp(name, ifname);
}

static int result_from_json(crio_cni_result **out, const cJSON *doc, const char *ifname)
{
    _cleanup_(crio_cni_result_freep) crio_cni_result *r = calloc(1, sizeof *r);
    if (!r || !(r->json = cJSON_PrintUnformatted(doc)))
        return crio_error_oom();
    const cJSON *ips = cJSON_GetObjectItemCaseSensitive(doc, "ips");
    if (!cJSON_IsArray(ips))
        ips = NULL;
    const cJSON *ip;
    int rc;
    cJSON_ArrayForEach(ip, ips)
        if (ip_on_iface(doc, ip, ifname) && (rc = result_add_ip(r, crio_json_string(ip, "address"))) < 0)
            return rc;
    static const char *const legacy[] = { "ip4", "ip6" };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(legacy); i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(doc, legacy[i]);
        if (cJSON_IsObject(o) && (rc = result_add_ip(r, crio_json_string(o, "ip"))) < 0)
            return rc;
    }
    *out = TAKE_PTR(r);
    return 0;
}

int crio_cni_result_parse(crio_cni_result **out, const char *json, size_t len)
{
    *out = NULL;
    _cleanup_json_ cJSON *doc = NULL;
    int r = crio_json_parse(&doc, json, len, CRIO_CNI_MAX_OUTPUT, "CNI result");
    if (r < 0)
        return r;
    if (!cJSON_IsObject(doc))
        return crio_error_set(CRIO_EINVAL, "CNI result: not a JSON object");
    return result_from_json(out, doc, "eth0");
}

size_t crio_cni_result_ip_count(const crio_cni_result *r)
{
    return r ? r->n_ips : 0;
}

const char *crio_cni_result_ip(const crio_cni_result *r, size_t i)
{
    return r && i < r->n_ips ? r->ips[i] : NULL;
}

const char *crio_cni_result_json(const crio_cni_result *r)
{
    return r ? r->json : NULL;
}

const char *crio_cni_result_config(const crio_cni_result *r)
{
    return r ? r->config : NULL;
}

const char *crio_cni_result_network(const crio_cni_result *r)
{
    return r ? r->network : NULL;
}

int64_t crio_cni_result_plugin_ns(const crio_cni_result *r)
{
    return r ? r->plugin_ns : 0;
}

/* ---- execution ---- */

/* Container ids name cache files and go into CNI_ARGS: keep them plain. */
static bool valid_id(const char *id)
{
    if (!id || !*id || id[0] == '.' || strlen(id) > CNI_MAX_ID)
        return false;
    for (const char *p = id; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* CNI_ARGS is "K=V;K=V": a value with ';' or '=' would forge other keys. */
static bool valid_arg(const char *v)
{
    return !v || (!strpbrk(v, ";=") && strlen(v) < 256);
}

static int check_attach(const crio_cni_attach *a)
{
    if (!a || !valid_id(a->container_id))
        return crio_error_set(CRIO_EINVAL, "CNI: invalid container id");
    if (!valid_arg(a->pod_namespace) || !valid_arg(a->pod_name) || !valid_arg(a->pod_uid))
        return crio_error_set(CRIO_EINVAL, "CNI: pod namespace, name or uid has ';' or '='");
    if (a->ifname && (!*a->ifname || strlen(a->ifname) > 15 || strchr(a->ifname, '/')))
        return crio_error_set(CRIO_EINVAL, "CNI: invalid interface name");
    return 0;
}

/* The plugin binary's path, or CRIO_EUNAVAILABLE naming the plugin and where it was looked for. */
static int find_plugin(char *path, size_t len, const crio_cni *cni, const char *type)
{
    for (size_t i = 0; cni->plugin_dirs[i]; i++) {
        if (snprintf(path, len, "%s/%s", cni->plugin_dirs[i], type) >= (int)len)
            continue;
        if (access(path, X_OK) == 0)
            return 0;
    }
    return crio_error_set(CRIO_EUNAVAILABLE, "CNI plugin \"%s\" not found in %s", type, cni->cni_path);
}

/*
 * The plugin's stdin: its own config with the list's name and cniVersion,
 * runtimeConfig for the capabilities it declares, and prevResult.
 */
static char *plugin_stdin(const cJSON *list, const cJSON *plugin, const cJSON *prev, const cJSON *rtconf)
{
    _cleanup_json_ cJSON *conf = cJSON_Duplicate(plugin, true);
    if (!conf)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(conf, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(conf, "cniVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(conf, "prevResult");
    cJSON_DeleteItemFromObjectCaseSensitive(conf, "runtimeConfig");
    if (!cJSON_AddStringToObject(conf, "name", crio_json_string(list, "name")) ||
        !cJSON_AddStringToObject(conf, "cniVersion", crio_json_string(list, "cniVersion")))
        return NULL;
    /* runtimeConfig carries only what the plugin declared it can take. */
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(plugin, "capabilities"), *arg;
    cJSON *rt = NULL;
    cJSON_ArrayForEach(arg, rtconf) {
        if (!crio_json_bool(caps, arg->string, false))
            continue;
        if (!rt && !(rt = cJSON_AddObjectToObject(conf, "runtimeConfig")))
            return NULL;
        cJSON *copy = cJSON_Duplicate(arg, true);
        if (!copy || !cJSON_AddItemToObject(rt, arg->string, copy)) {
            cJSON_Delete(copy);
            return NULL;
        }
    }
    if (prev) {
        cJSON *copy = cJSON_Duplicate(prev, true);
        if (!copy)
            return NULL;
        cJSON_AddItemToObject(conf, "prevResult", copy);
    }
    return cJSON_PrintUnformatted(conf);
}

/*
 * Turns a failed run into the error: the plugin's error JSON {code, msg,
 * details} on stdout when it printed one (the spec's way), else its stderr
 * or exit status.
 */
static int plugin_failed(const crio_spawn_result *res, const char *type, const char *cmd)
{
    _cleanup_json_ cJSON *doc = NULL;
    if (res->out_len && !res->out_truncated)
        doc = cJSON_ParseWithLength(res->out, res->out_len);
    const char *msg = crio_json_string(doc, "msg");
    if (msg) {
        const char *details = crio_json_string(doc, "details");
        return crio_error_set(CRIO_EINTERNAL, "CNI plugin %s %s failed: %s%s%s (code %d)", type, cmd,
                              msg, details && *details ? ": " : "", details ? details : "",
                              (int)crio_json_int(doc, "code", 0));
    }
    return crio_spawn_error(CRIO_EINTERNAL, res, "CNI plugin %s %s failed", type, cmd);
}

/* What the netns is for DEL: the path while it is a namespace, else "" (the plugins then skip it). */
static const char *del_netns(const char *netns)
{
    struct statfs st;
    if (!netns || !*netns || statfs(netns, &st) < 0 || (unsigned long)st.f_type != CNI_NSFS_MAGIC)
        return "";
    return netns;
}

/* One ADD, DEL or CHECK of a network list. */
struct invocation {
    const crio_cni *cni; /* plugin dirs, timeout */
    const crio_cni_attach *a;
    const cJSON *list;
    cJSON *rtconf;       /* the parsed a->runtime_config, or NULL */
    int64_t plugin_ns;   /* time spent in the plugins */
};

static void invocation_done(struct invocation *inv)
{
    cJSON_Delete(inv->rtconf);
}

/*
 * Runs one plugin.  For ADD, *result gets its parsed stdout (NULL when it
 * printed nothing, which a 1.0.0 plugin must not do but older ones did).
 */
static int run_plugin(cJSON **result, struct invocation *inv, const cJSON *plugin, const char *cmd,
                      const cJSON *prev, const char *netns)
{
    const crio_cni *cni = inv->cni;
    const crio_cni_attach *a = inv->a;
    if (result)
        *result = NULL;
    const char *type = crio_json_string(plugin, "type");
    char path[PATH_MAX];
    int r = find_plugin(path, sizeof path, cni, type);
    if (r < 0)
        return r;
    _cleanup_free_ char *input = plugin_stdin(inv->list, plugin, prev, inv->rtconf);
    if (!input)
        return crio_error_oom();

    _cleanup_free_ char *e_cmd = NULL, *e_id = NULL, *e_ns = NULL, *e_if = NULL, *e_path = NULL,
                        *e_args = NULL;
    if (asprintf(&e_cmd, "CNI_COMMAND=%s", cmd) < 0 || asprintf(&e_id, "CNI_CONTAINERID=%s", a->container_id) < 0 ||
        asprintf(&e_ns, "CNI_NETNS=%s", netns ? netns : "") < 0 ||
        asprintf(&e_if, "CNI_IFNAME=%s", a->ifname ? a->ifname : "eth0") < 0 ||
        asprintf(&e_path, "CNI_PATH=%s", cni->cni_path) < 0 ||
        asprintf(&e_args,
                 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
                 "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
                 a->pod_namespace ? a->pod_namespace : "", a->pod_name ? a->pod_name : "",
                 a->container_id, a->pod_uid ? a->pod_uid : "") < 0)
        return crio_error_oom();
    const char *const envp[] = { e_cmd, e_id, e_ns, e_if, e_path, e_args, CNI_ENV_PATH, NULL };
    const char *const argv[] = { path, NULL };
    crio_spawn_opts o = {
        .argv = argv,
        .envp = envp,
        .in = CRIO_SPAWN_PIPE,
        .input = input,
        .input_len = strlen(input),
        .out = CRIO_SPAWN_PIPE,
        .err = CRIO_SPAWN_PIPE,
        .out_cap = CRIO_CNI_MAX_OUTPUT,
        .err_cap = 64 * 1024,
        .timeout_ms = cni->timeout_ms,
    };
    crio_spawn_result res = { 0 };
    int64_t t0 = crio_monotonic_ns();
    r = crio_spawn_run(&res, &o);
    inv->plugin_ns += crio_monotonic_ns() - t0;
    if (r < 0) {
        crio_error_wrap(r, "CNI plugin %s %s", type, cmd);
        crio_spawn_result_free(&res);
        return r;
    }
    if (res.exit_code != 0) {
        r = plugin_failed(&res, type, cmd);
        crio_spawn_result_free(&res);
        return r;
    }
    if (result && res.out_len) {
        if (res.out_truncated)
            r = crio_error_set(CRIO_EINTERNAL, "CNI plugin %s %s: result over %d bytes", type, cmd,
                               CRIO_CNI_MAX_OUTPUT);
        else if ((r = crio_json_parse(result, res.out, res.out_len, CRIO_CNI_MAX_OUTPUT, "CNI result")) < 0)
            crio_error_wrap(r, "CNI plugin %s %s", type, cmd);
        else if (!cJSON_IsObject(*result)) {
            cJSON_Delete(*result);
            *result = NULL;
            r = crio_error_set(CRIO_EINTERNAL, "CNI plugin %s %s: result is not an object", type, cmd);
        }
    }
    crio_spawn_result_free(&res);
    return r;
}

/*
 * DEL for plugins [0, upto) in reverse.  Every plugin runs even after one
 * fails, so that one broken plugin does not leak what the others hold; the
 * first error is returned.
 */
static int del_plugins(struct invocation *inv, int upto, const cJSON *prev)
{
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(inv->list, "plugins");
    const char *netns = del_netns(inv->a->netns);
    int first = 0;
    _cleanup_free_ char *first_msg = NULL;
    for (int k = upto - 1; k >= 0; k--) {
        int r = run_plugin(NULL, inv, cJSON_GetArrayItem(plugins, k), "DEL", prev, netns);
        if (r < 0 && !first) {
            first = r;
            first_msg = strdup(crio_error_message(crio_error_last()));
        } else if (r < 0) {
            crio_log_warn("%s", crio_error_message(crio_error_last()));
        }
    }
    if (first)
        return crio_error_set(first, "%s", first_msg ? first_msg : "CNI DEL failed");
    return 0;
}

/* Parses the attach's runtime config into inv->rtconf (an object, or NULL). */
static int parse_runtime_config(struct invocation *inv)
{
    const char *text = inv->a->runtime_config;
    if (!text || !*text)
        return 0;
    int r = crio_json_parse(&inv->rtconf, text, strlen(text), CRIO_CNI_MAX_CONFIG, "CNI runtime config");
    if (r == 0 && !cJSON_IsObject(inv->rtconf))
        r = crio_error_set(CRIO_EINVAL, "CNI runtime config: not a JSON object");
    return r;
}

/* Parses a configuration list the caller kept, checking it as a loaded one is checked. */
static int parse_config_text(cJSON **out, const char *config_json)
{
    int r = crio_json_parse(out, config_json, strlen(config_json), CRIO_CNI_MAX_CONFIG, "CNI config");
    if (r < 0)
        return r;
    const char *bad = conflist_invalid(*out);
    if (bad) {
        cJSON_Delete(*out);
        *out = NULL;
        return crio_error_set(CRIO_EDATALOSS, "CNI config: %s", bad);
    }
    return 0;
}

int crio_cni_add(crio_cni_result **out, const crio_cni *cni, const crio_cni_attach *a, const char *config_json)
{
    *out = NULL;
    if (!cni || (!cni->list && !config_json))
        return crio_error_set(CRIO_EBUSY, "CNI network not ready: %s",
                              cni && cni->why ? cni->why : "not loaded");
    int r = check_attach(a);
    if (r < 0)
        return r;
    if (!a->netns || !*a->netns)
        return crio_error_set(CRIO_EINVAL, "CNI ADD: no netns");
    _cleanup_json_ cJSON *given = NULL;
    if (config_json && (r = parse_config_text(&given, config_json)) < 0)
        return r;
    const cJSON *list = given ? given : cni->list;
    const char *network = crio_json_string(list, "name");
    _cleanup_(invocation_done) struct invocation inv = { .cni = cni, .a = a, .list = list };
    if ((r = parse_runtime_config(&inv)) < 0)
        return r;
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(list, "plugins");
    int n = cJSON_GetArraySize(plugins);
    _cleanup_json_ cJSON *prev = NULL;
    for (int k = 0; k < n; k++) {
        cJSON *res = NULL;
        r = run_plugin(&res, &inv, cJSON_GetArrayItem(plugins, k), "ADD", prev, a->netns);
        if (r < 0) {
            /* Keep the ADD error; the rollback's own failures are only logged. */
            int code = r;
            _cleanup_free_ char *msg = strdup(crio_error_message(crio_error_last()));
            if (del_plugins(&inv, k + 1, prev) < 0)
                crio_log_warn("CNI rollback of %s: %s", a->container_id,
                              crio_error_message(crio_error_last()));
            return crio_error_set(code, "%s", msg ? msg : "CNI ADD failed");
        }
        if (res) {
            cJSON_Delete(prev);
            prev = res;
        }
    }
    if (!prev) {
        del_plugins(&inv, n, NULL);
        return crio_error_set(CRIO_EINTERNAL, "CNI ADD on network %s: no plugin printed a result", network);
    }
    _cleanup_(crio_cni_result_freep) crio_cni_result *result = NULL;
    if ((r = result_from_json(&result, prev, a->ifname ? a->ifname : "eth0")) < 0 ||
        !(result->config = cJSON_PrintUnformatted(list)) || !(result->network = strdup(network))) {
        del_plugins(&inv, n, prev);
        return r < 0 ? r : crio_error_oom();
    }
    result->plugin_ns = inv.plugin_ns;
    *out = TAKE_PTR(result);
    return 0;
}

int crio_cni_del(const crio_cni *cni, const crio_cni_attach *a, const char *config_json,
                 const char *result_json)
{
    if (!cni)
        return crio_error_set(CRIO_EINVAL, "CNI DEL: not loaded");
    int r = check_attach(a);
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *cached = NULL, *prev = NULL;
    _cleanup_(invocation_done) struct invocation inv = { .cni = cni, .a = a, .list = cni->list };
    if (config_json) {
        if ((r = parse_config_text(&cached, config_json)) < 0)
            return r;
        inv.list = cached;
    }
    if (!inv.list)
        return crio_error_set(CRIO_EBUSY, "CNI DEL: network not ready and no cached config");
    if ((r = parse_runtime_config(&inv)) < 0)
        return r;
    if (result_json && *result_json &&
        (r = crio_json_parse(&prev, result_json, strlen(result_json), CRIO_CNI_MAX_OUTPUT,
                             "cached CNI result")) < 0)
        return r;
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(inv.list, "plugins");
    return del_plugins(&inv, cJSON_GetArraySize(plugins), prev);
}

/* Whether a cniVersion is at least 0.4.0, where CHECK begins. */
static bool version_has_check(const char *v)
{
    unsigned major = 0, minor = 0;
    if (!v || sscanf(v, "%u.%u", &major, &minor) != 2)
        return false;
    return major > 0 || minor >= 4;
}

int crio_cni_check(const crio_cni *cni, const crio_cni_attach *a, const char *config_json,
                   const char *result_json)
{
    if (!cni || !config_json || !result_json)
        return crio_error_set(CRIO_EINVAL, "CNI CHECK: missing configuration or result");
    int r = check_attach(a);
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *list = NULL, *prev = NULL;
    if ((r = parse_config_text(&list, config_json)) < 0)
        return r;
    const char *ver = crio_json_string(list, "cniVersion");
    if (!version_has_check(ver))
        return crio_error_set(CRIO_ENOTSUP, "CNI CHECK: not in cniVersion %s", ver);
    if ((r = crio_json_parse(&prev, result_json, strlen(result_json), CRIO_CNI_MAX_OUTPUT, "cached CNI result")) < 0)
        return r;
    if (!a->netns || !*a->netns)
        return crio_error_set(CRIO_EINVAL, "CNI CHECK: no netns");
    _cleanup_(invocation_done) struct invocation inv = { .cni = cni, .a = a, .list = list };
    if ((r = parse_runtime_config(&inv)) < 0)
        return r;
    const cJSON *plugin;
    cJSON_ArrayForEach(plugin, cJSON_GetObjectItemCaseSensitive(list, "plugins"))
        if ((r = run_plugin(NULL, &inv, plugin, "CHECK", prev, a->netns)) < 0)
            return r;
    return 0;
}
