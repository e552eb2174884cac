/*
 * Pod and container configuration builders.
 *
 * A configuration is one cJSON tree holding a CRI PodSandboxConfig or
 * ContainerConfig.  Input (JSON text or a tree) is first normalised against
 * a schema of api.proto into a new tree: keys become the proto field names
 * (the protobuf JSON mapping allows both "containerPath" and
 * "container_path"), integers given as strings (proto JSON writes every
 * int64 as a string) become numbers, enum names become their numbers, and a
 * value of the wrong type fails with the field's full path.  Only then is it
 * merged into the stored tree, so a failed update changes nothing.  Map
 * fields (labels, annotations, sysctls, unified, ...) are left as given:
 * their keys are data, not field names.
 *
 * Setters write the same tree, so the typed API and JSON updates compose.
 */
#include "pod/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "spec/spec.h"

/* Configurations are small; annotations are bounded by Kubernetes at 256 KiB. */
#define CONFIG_JSON_MAX (4u << 20)

/* Integers beyond 2^53 would be rounded by a JSON number (a double): refuse them. */
#define EXACT_INT_MAX 9007199254740992.0

/* ---------------------------------------------------------------- schema */

typedef enum { K_STRING, K_BOOL, K_INT32, K_UINT32, K_INT64, K_UINT64, K_ENUM, K_MESSAGE, K_MAP } field_kind;

typedef struct field {
    const char *name;              /* the api.proto field name */
    field_kind kind;
    bool repeated;
    const struct field *message;   /* K_MESSAGE: its fields, ended by a NULL name */
    const char *const *enum_names; /* K_ENUM: names indexed by value, NULL-terminated */
} field;

#define F(n, k) { n, k, false, NULL, NULL }
#define FR(n, k) { n, k, true, NULL, NULL }
#define FM(n, m) { n, K_MESSAGE, false, m, NULL }
#define FMR(n, m) { n, K_MESSAGE, true, m, NULL }
#define FE(n, e) { n, K_ENUM, false, NULL, e }
#define F_END { NULL, K_STRING, false, NULL, NULL }

static const char *const protocol_names[] = { "TCP", "UDP", "SCTP", NULL };
static const char *const propagation_names[] = { "PROPAGATION_PRIVATE", "PROPAGATION_HOST_TO_CONTAINER",
                                                  "PROPAGATION_BIDIRECTIONAL", NULL };
static const char *const ns_mode_names[] = { "POD", "CONTAINER", "NODE", "TARGET", NULL };
static const char *const groups_policy_names[] = { "Merge", "Strict", NULL };
static const char *const profile_type_names[] = { "RuntimeDefault", "Unconfined", "Localhost", NULL };
static const char *const signal_names[] = {
    "RUNTIME_DEFAULT", "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE", "SIGHUP",
    "SIGILL", "SIGINT", "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR", "SIGQUIT",
    "SIGSEGV", "SIGSTKFLT", "SIGSTOP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
    "SIGURG", "SIGUSR1", "SIGUSR2", "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ", "SIGRTMIN",
    "SIGRTMINPLUS1", "SIGRTMINPLUS2", "SIGRTMINPLUS3", "SIGRTMINPLUS4", "SIGRTMINPLUS5", "SIGRTMINPLUS6",
    "SIGRTMINPLUS7", "SIGRTMINPLUS8", "SIGRTMINPLUS9", "SIGRTMINPLUS10", "SIGRTMINPLUS11", "SIGRTMINPLUS12",
    "SIGRTMINPLUS13", "SIGRTMINPLUS14", "SIGRTMINPLUS15", "SIGRTMAXMINUS14", "SIGRTMAXMINUS13",
    "SIGRTMAXMINUS12", "SIGRTMAXMINUS11", "SIGRTMAXMINUS10", "SIGRTMAXMINUS9", "SIGRTMAXMINUS8",
    "SIGRTMAXMINUS7", "SIGRTMAXMINUS6", "SIGRTMAXMINUS5", "SIGRTMAXMINUS4", "SIGRTMAXMINUS3",
    "SIGRTMAXMINUS2", "SIGRTMAXMINUS1", "SIGRTMAX", NULL
};

static const field id_mapping_fields[] = {
    F("host_id", K_UINT32), F("container_id", K_UINT32), F("length", K_UINT32), F_END
};
static const field user_namespace_fields[] = {
    FE("mode", ns_mode_names), FMR("uids", id_mapping_fields), FMR("gids", id_mapping_fields), F_END
};
static const field namespace_option_fields[] = {
    FE("network", ns_mode_names), FE("pid", ns_mode_names), FE("ipc", ns_mode_names),
    F("target_id", K_STRING), FM("userns_options", user_namespace_fields), F_END
};
static const field selinux_option_fields[] = {
    F("user", K_STRING), F("role", K_STRING), F("type", K_STRING), F("level", K_STRING), F_END
};
static const field int64_value_fields[] = { F("value", K_INT64), F_END };
static const field security_profile_fields[] = {
    FE("profile_type", profile_type_names), F("localhost_ref", K_STRING), F_END
};
static const field hugepage_limit_fields[] = { F("page_size", K_STRING), F("limit", K_UINT64), F_END };
static const field linux_resources_fields[] = {
    F("cpu_period", K_INT64), F("cpu_quota", K_INT64), F("cpu_shares", K_INT64),
    F("memory_limit_in_bytes", K_INT64), F("oom_score_adj", K_INT64), F("cpuset_cpus", K_STRING),
    F("cpuset_mems", K_STRING), FMR("hugepage_limits", hugepage_limit_fields), F("unified", K_MAP),
    F("memory_swap_limit_in_bytes", K_INT64), F_END
};
static const field image_spec_fields[] = {
    F("image", K_STRING), F("annotations", K_MAP), F("user_specified_image", K_STRING),
    F("runtime_handler", K_STRING), F("image_ref", K_STRING), F_END
};

/* PodSandboxConfig */
static const field pod_metadata_fields[] = {
    F("name", K_STRING), F("uid", K_STRING), F("namespace", K_STRING), F("attempt", K_UINT32), F_END
};
static const field dns_config_fields[] = {
    FR("servers", K_STRING), FR("searches", K_STRING), FR("options", K_STRING), F_END
};
static const field port_mapping_fields[] = {
    FE("protocol", protocol_names), F("container_port", K_INT32), F("host_port", K_INT32),
    F("host_ip", K_STRING), F_END
};
static const field sandbox_security_context_fields[] = {
    FM("namespace_options", namespace_option_fields), FM("selinux_options", selinux_option_fields),
    FM("run_as_user", int64_value_fields), FM("run_as_group", int64_value_fields),
    F("readonly_rootfs", K_BOOL), FR("supplemental_groups", K_INT64),
    FE("supplemental_groups_policy", groups_policy_names), F("privileged", K_BOOL),
    FM("seccomp", security_profile_fields), FM("apparmor", security_profile_fields),
    F("seccomp_profile_path", K_STRING), F_END
};
static const field linux_pod_fields[] = {
    F("cgroup_parent", K_STRING), FM("security_context", sandbox_security_context_fields),
    F("sysctls", K_MAP), FM("overhead", linux_resources_fields), FM("resources", linux_resources_fields), F_END
};
static const field windows_ns_option_fields[] = { FE("network", ns_mode_names), F_END };
static const field windows_sandbox_security_context_fields[] = {
    F("run_as_username", K_STRING), F("credential_spec", K_STRING), F("host_process", K_BOOL),
    FM("namespace_options", windows_ns_option_fields), F_END
};
static const field windows_pod_fields[] = { FM("security_context", windows_sandbox_security_context_fields), F_END };
static const field pod_config_fields[] = {
    FM("metadata", pod_metadata_fields), F("hostname", K_STRING), F("log_directory", K_STRING),
    FM("dns_config", dns_config_fields), FMR("port_mappings", port_mapping_fields), F("labels", K_MAP),
    F("annotations", K_MAP), FM("linux", linux_pod_fields), FM("windows", windows_pod_fields), F_END
};

/* ContainerConfig */
static const field container_metadata_fields[] = { F("name", K_STRING), F("attempt", K_UINT32), F_END };
static const field key_value_fields[] = { F("key", K_STRING), F("value", K_STRING), F_END };
static const field mount_fields[] = {
    F("container_path", K_STRING), F("host_path", K_STRING), F("readonly", K_BOOL),
    F("selinux_relabel", K_BOOL), FE("propagation", propagation_names), FMR("uidMappings", id_mapping_fields),
    FMR("gidMappings", id_mapping_fields), F("recursive_read_only", K_BOOL), FM("image", image_spec_fields),
    F("image_sub_path", K_STRING), F_END
};
static const field device_fields[] = {
    F("container_path", K_STRING), F("host_path", K_STRING), F("permissions", K_STRING), F_END
};
static const field capability_fields[] = {
    FR("add_capabilities", K_STRING), FR("drop_capabilities", K_STRING),
    FR("add_ambient_capabilities", K_STRING), F_END
};
static const field container_security_context_fields[] = {
    FM("capabilities", capability_fields), F("privileged", K_BOOL),
    FM("namespace_options", namespace_option_fields), FM("selinux_options", selinux_option_fields),
    FM("run_as_user", int64_value_fields), FM("run_as_group", int64_value_fields),
    F("run_as_username", K_STRING), F("readonly_rootfs", K_BOOL), FR("supplemental_groups", K_INT64),
    FE("supplemental_groups_policy", groups_policy_names), F("no_new_privs", K_BOOL),
    FR("masked_paths", K_STRING), FR("readonly_paths", K_STRING), FM("seccomp", security_profile_fields),
    FM("apparmor", security_profile_fields), F("apparmor_profile", K_STRING),
    F("seccomp_profile_path", K_STRING), F_END
};
static const field linux_container_fields[] = {
    FM("resources", linux_resources_fields), FM("security_context", container_security_context_fields), F_END
};
static const field cpu_affinity_fields[] = { F("cpu_mask", K_UINT64), F("cpu_group", K_UINT32), F_END };
static const field windows_resources_fields[] = {
    F("cpu_shares", K_INT64), F("cpu_count", K_INT64), F("cpu_maximum", K_INT64),
    F("memory_limit_in_bytes", K_INT64), F("rootfs_size_in_bytes", K_INT64),
    FMR("affinity_cpus", cpu_affinity_fields), F_END
};
static const field windows_container_security_context_fields[] = {
    F("run_as_username", K_STRING), F("credential_spec", K_STRING), F("host_process", K_BOOL), F_END
};
static const field windows_container_fields[] = {
    FM("resources", windows_resources_fields), FM("security_context", windows_container_security_context_fields),
    F_END
};
static const field cdi_device_fields[] = { F("name", K_STRING), F_END };
static const field container_config_fields[] = {
    FM("metadata", container_metadata_fields), FM("image", image_spec_fields), FR("command", K_STRING),
    FR("args", K_STRING), F("working_dir", K_STRING), FMR("envs", key_value_fields),
    FMR("mounts", mount_fields), FMR("devices", device_fields), F("labels", K_MAP), F("annotations", K_MAP),
    F("log_path", K_STRING), F("stdin", K_BOOL), F("stdin_once", K_BOOL), F("tty", K_BOOL),
    FM("linux", linux_container_fields), FM("windows", windows_container_fields),
    FMR("CDI_devices", cdi_device_fields), FE("stop_signal", signal_names), F_END
};

/* ---------------------------------------------------------- normalising */

/* Where the normaliser is, for error messages: "pod config" and "linux.sysctls". */
typedef struct norm_ctx {
    const char *what;
    char path[256];
} norm_ctx;

static size_t path_push_field(norm_ctx *c, const char *name)
{
    size_t len = strlen(c->path);
    snprintf(c->path + len, sizeof c->path - len, "%s%s", len ? "." : "", name);
    return len;
}

static size_t path_push_index(norm_ctx *c, int i)
{
    size_t len = strlen(c->path);
    snprintf(c->path + len, sizeof c->path - len, "[%d]", i);
    return len;
}

static void path_pop(norm_ctx *c, size_t len)
{
    c->path[len] = '\0';
}

static int field_error(const norm_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int field_error(const norm_ctx *c, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (!c->path[0])
        return crio_error_set(CRIO_EINVAL, "%s: %s", c->what, detail);
    return crio_error_set(CRIO_EINVAL, "%s: field %s: %s", c->what, c->path, detail);
}

/*
 * Whether `key` names field `proto`: its proto name, or its JSON name, which
 * protobuf derives by dropping each '_' and upper-casing the letter after it
 * ("container_path" -> "containerPath", "CDI_devices" -> "CDIDevices").
 */
static bool key_names_field(const char *key, const char *proto)
{
    if (strcmp(key, proto) == 0)
        return true;
    const char *p = proto;
    const char *k = key;
    while (*p) {
        char want = *p;
        if (*p == '_' && p[1]) {
            p++;
            want = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        }
        if (*k != want)
            return false;
        k++;
        p++;
    }
    return *k == '\0';
}

static const field *find_field(const field *fields, const char *key)
{
    for (const field *f = fields; f->name; f++)
        if (key_names_field(key, f->name))
            return f;
    return NULL;
}

static const char *kind_want(field_kind k)
{
    switch (k) {
    case K_STRING:
        return "want a string";
    case K_BOOL:
        return "want a bool";
    case K_MESSAGE:
    case K_MAP:
        return "want an object";
    case K_ENUM:
        return "want a string or a number";
    default:
        return "want a number";
    }
}

static void integer_range(field_kind k, double *lo, double *hi)
{
    switch (k) {
    case K_INT32:
        *lo = -2147483648.0, *hi = 2147483647.0;
        break;
    case K_UINT32:
        *lo = 0, *hi = 4294967295.0;
        break;
    case K_INT64:
        *lo = -EXACT_INT_MAX, *hi = EXACT_INT_MAX;
        break;
    default:
        *lo = 0, *hi = EXACT_INT_MAX;
        break;
    }
}

/* An integer field: a JSON number, or (proto JSON's int64 form) a decimal string. */
static int normalize_integer(cJSON **out, const cJSON *in, const field *f, const norm_ctx *c)
{
    double v;
    if (cJSON_IsNumber(in)) {
        v = in->valuedouble;
    } else if (cJSON_IsString(in)) {
        const char *s = in->valuestring;
        char *end = NULL;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (!*s || *end || errno == ERANGE)
            return field_error(c, "want a number (\"%.64s\" is not an integer)", s);
        if (n > (long long)EXACT_INT_MAX || n < -(long long)EXACT_INT_MAX)
            return field_error(c, "%s is out of range", s);
        v = (double)n;
    } else {
        return field_error(c, "want a number");
    }
    double lo, hi;
    integer_range(f->kind, &lo, &hi);
    if (!(v >= lo && v <= hi))
        return field_error(c, "%.0f is out of range", v);
    if (v != (double)(int64_t)v)
        return field_error(c, "want an integer, not %g", v);
    *out = cJSON_CreateNumber(v);
    return *out ? 0 : crio_error_oom();
}

static int normalize_enum(cJSON **out, const cJSON *in, const field *f, const norm_ctx *c)
{
    int n = 0;
    while (f->enum_names[n])
        n++;
    if (cJSON_IsString(in)) {
        for (int i = 0; i < n; i++)
            if (strcmp(in->valuestring, f->enum_names[i]) == 0) {
                *out = cJSON_CreateNumber(i);
                return *out ? 0 : crio_error_oom();
            }
        return field_error(c, "unknown value \"%.64s\" (want %s, ...)", in->valuestring, f->enum_names[0]);
    }
    if (cJSON_IsNumber(in)) {
        double v = in->valuedouble;
        if (!(v >= 0 && v < n) || v != (double)(int)v)
            return field_error(c, "%g is not a value of the enum (0..%d)", v, n - 1);
        *out = cJSON_CreateNumber(v);
        return *out ? 0 : crio_error_oom();
    }
    return field_error(c, "want a string or a number");
}

/* Adds obj[key] = item; the item is consumed even when that fails. */
static int add_member(cJSON *obj, const char *key, cJSON *item)
{
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

/* A map<string,string>: keys kept as given; null values stay (they delete when merged). */
static int normalize_map(cJSON **out, const cJSON *in, norm_ctx *c)
{
    if (!cJSON_IsObject(in))
        return field_error(c, "want an object");
    _cleanup_json_ cJSON *m = cJSON_CreateObject();
    if (!m)
        return crio_error_oom();
    const cJSON *e;
    cJSON_ArrayForEach(e, in) {
        if (!cJSON_IsString(e) && !cJSON_IsNull(e)) {
            size_t mark = path_push_field(c, e->string);
            int r = field_error(c, "want a string");
            path_pop(c, mark);
            return r;
        }
        cJSON *copy = cJSON_Duplicate(e, false);
        if (!copy)
            return crio_error_oom();
        /* A repeated key: the last one wins, as when merging. */
        cJSON_DeleteItemFromObjectCaseSensitive(m, e->string);
        int r = add_member(m, e->string, copy);
        if (r < 0)
            return r;
    }
    *out = TAKE_PTR(m);
    return 0;
}

/* Messages nest: normalize_single recurses into normalize_message. */
static int normalize_message(cJSON **out, const cJSON *in, const field *fields, norm_ctx *c);

static int normalize_single(cJSON **out, const cJSON *in, const field *f, norm_ctx *c)
{
    switch (f->kind) {
    case K_STRING:
        if (!cJSON_IsString(in))
            return field_error(c, "want a string");
        *out = cJSON_CreateString(in->valuestring);
        return *out ? 0 : crio_error_oom();
    case K_BOOL:
        if (!cJSON_IsBool(in))
            return field_error(c, "want a bool");
        *out = cJSON_CreateBool(cJSON_IsTrue(in));
        return *out ? 0 : crio_error_oom();
    case K_ENUM:
        return normalize_enum(out, in, f, c);
    case K_MESSAGE:
        return normalize_message(out, in, f->message, c);
    case K_MAP:
        return normalize_map(out, in, c);
    default:
        return normalize_integer(out, in, f, c);
    }
}

static int normalize_repeated(cJSON **out, const cJSON *in, const field *f, norm_ctx *c)
{
    if (!cJSON_IsArray(in))
        return field_error(c, "want an array");
    _cleanup_json_ cJSON *a = cJSON_CreateArray();
    if (!a)
        return crio_error_oom();
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, in) {
        size_t mark = path_push_index(c, i++);
        cJSON *v = NULL;
        /* proto JSON has no null elements in a repeated field. */
        int r = cJSON_IsNull(e) ? field_error(c, "%s", kind_want(f->kind)) : normalize_single(&v, e, f, c);
        path_pop(c, mark);
        if (r < 0)
            return r;
        cJSON_AddItemToArray(a, v);
    }
    *out = TAKE_PTR(a);
    return 0;
}

/*
 * A message: each member renamed to its proto field name and checked; null
 * stays null (proto JSON's "default value", which the merge turns into a
 * deletion).  Members of no known field are dropped with a warning.
 */
static int normalize_message(cJSON **out, const cJSON *in, const field *fields, norm_ctx *c)
{
    if (!cJSON_IsObject(in))
        return field_error(c, "want an object");
    _cleanup_json_ cJSON *m = cJSON_CreateObject();
    if (!m)
        return crio_error_oom();
    const cJSON *e;
    cJSON_ArrayForEach(e, in) {
        const field *f = find_field(fields, e->string);
        /* Errors name the field by its proto name, however the input spelled it. */
        size_t mark = path_push_field(c, f ? f->name : e->string);
        if (!f) {
            crio_log_warn("%s: ignoring unknown field %s", c->what, c->path);
            path_pop(c, mark);
            continue;
        }
        cJSON *v = NULL;
        int r;
        if (cJSON_IsNull(e))
            r = (v = cJSON_CreateNull()) ? 0 : crio_error_oom();
        else if (f->repeated)
            r = normalize_repeated(&v, e, f, c);
        else
            r = normalize_single(&v, e, f, c);
        path_pop(c, mark);
        if (r < 0)
            return r;
        /* Both spellings of one field: the later wins, as in a merge. */
        cJSON_DeleteItemFromObjectCaseSensitive(m, f->name);
        r = add_member(m, f->name, v);
        if (r < 0)
            return r;
    }
    *out = TAKE_PTR(m);
    return 0;
}

/* ------------------------------------------------------------- merging */

/* Sets obj[key] = item, replacing any member of that name; frees item on failure. */
static int json_set(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return crio_error_oom();
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) {
            cJSON_Delete(item);
            return crio_error_oom();
        }
        return 0;
    }
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

/* Drops null members below `j` (inside arrays, where the merge does not see them). */
static void strip_nulls(cJSON *j)
{
    cJSON *e = j ? j->child : NULL;
    while (e) {
        cJSON *next = e->next;
        if (cJSON_IsNull(e) && cJSON_IsObject(j))
            cJSON_Delete(cJSON_DetachItemViaPointer(j, e));
        else
            strip_nulls(e);
        e = next;
    }
}

/*
 * Merges normalised `src` into `dst`: objects member by member (recursively;
 * a missing one is created), null deletes, anything else replaces.
 */
static int merge_object(cJSON *dst, const cJSON *src)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, src) {
        if (cJSON_IsNull(e)) {
            cJSON_DeleteItemFromObjectCaseSensitive(dst, e->string);
            continue;
        }
        if (cJSON_IsObject(e)) {
            cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, e->string);
            if (!cJSON_IsObject(cur)) {
                cur = cJSON_CreateObject();
                int r = json_set(dst, e->string, cur);
                if (r < 0)
                    return r;
            }
            int r = merge_object(cur, e);
            if (r < 0)
                return r;
            continue;
        }
        cJSON *copy = cJSON_Duplicate(e, true);
        strip_nulls(copy);
        int r = json_set(dst, e->string, copy);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Normalises `src` and merges it into *tree, all or nothing: the merge runs
 * on a copy that replaces *tree only when everything succeeded.
 */
static int merge_checked(cJSON **tree, const cJSON *src, const field *schema, const char *what)
{
    norm_ctx c = { .what = what };
    _cleanup_json_ cJSON *norm = NULL;
    int r = normalize_message(&norm, src, schema, &c);
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *next = cJSON_Duplicate(*tree, true);
    if (!next)
        return crio_error_oom();
    r = merge_object(next, norm);
    if (r < 0)
        return r;
    cJSON_Delete(*tree);
    *tree = TAKE_PTR(next);
    return 0;
}

static int merge_text(cJSON **tree, const char *json, const field *schema, const char *what)
{
    if (!json)
        return crio_error_set(CRIO_EINVAL, "%s: no JSON given", what);
    _cleanup_json_ cJSON *doc = NULL;
    int r = crio_json_parse(&doc, json, strlen(json), CONFIG_JSON_MAX, what);
    if (r < 0)
        return r;
    if (!cJSON_IsObject(doc))
        return crio_error_set(CRIO_EINVAL, "%s: want a JSON object", what);
    return merge_checked(tree, doc, schema, what);
}

/* ------------------------------------------------------- tree building */

/* The object at dotted `path` below `root`, created (with its parents) when missing. */
static cJSON *object_at(cJSON *root, const char *path)
{
    cJSON *cur = root;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, key);
        if (!cJSON_IsObject(next)) {
            next = cJSON_CreateObject();
            if (json_set(cur, key, next) < 0)
                return NULL;
        }
        cur = next;
        p += n + (dot ? 1 : 0);
    }
    return cur;
}

/* Sets member `key` of the object at `path` ("" for the root) to `item` (consumed). */
static int set_at(cJSON *root, const char *path, const char *key, cJSON *item)
{
    cJSON *obj = object_at(root, path);
    if (!obj) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return json_set(obj, key, item);
}

static void remove_at(cJSON *root, const char *path, const char *key)
{
    cJSON *obj = (cJSON *)crio_spec_cri_get(root, path);
    if (cJSON_IsObject(obj))
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
}

/* Appends `item` (consumed) to the array member `key` of the object at `path`. */
static int append_at(cJSON *root, const char *path, const char *key, cJSON *item)
{
    if (!item)
        return crio_error_oom();
    cJSON *obj = object_at(root, path);
    if (!obj) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(arr)) {
        arr = cJSON_CreateArray();
        int r = json_set(obj, key, arr);
        if (r < 0) {
            cJSON_Delete(item);
            return r;
        }
    }
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return crio_error_oom();
    }
    return 0;
}

static int set_string_at(cJSON *root, const char *path, const char *key, const char *value)
{
    return set_at(root, path, key, cJSON_CreateString(value));
}

static int set_bool_at(cJSON *root, const char *path, const char *key, int value)
{
    return set_at(root, path, key, cJSON_CreateBool(value != 0));
}

/* An integer member, refusing what a JSON number cannot hold exactly. */
static int set_int_at(cJSON *root, const char *path, const char *key, int64_t value, const char *what)
{
    if (value > (int64_t)EXACT_INT_MAX || value < -(int64_t)EXACT_INT_MAX)
        return crio_error_set(CRIO_EINVAL, "%s: %s %lld is out of range", what, key, (long long)value);
    return set_at(root, path, key, cJSON_CreateNumber((double)value));
}

static int require_string(const char *value, const char *what, const char *name)
{
    if (!value || !*value)
        return crio_error_set(CRIO_EINVAL, "%s: %s is required", what, name);
    return 0;
}

/* Sets map entry key=value under `path` (labels, annotations, linux.sysctls). */
static int set_map_entry(cJSON *root, const char *path, const char *key, const char *value, const char *what)
{
    int r = require_string(key, what, "a key");
    if (r < 0)
        return r;
    if (!value)
        return crio_error_set(CRIO_EINVAL, "%s: %s: no value", what, key);
    cJSON *map = object_at(root, path);
    if (!map)
        return crio_error_oom();
    return json_set(map, key, cJSON_CreateString(value));
}

static int tree_to_text(char **out, const cJSON *tree, const char *what)
{
    if (!out || !tree)
        return crio_error_set(CRIO_EINVAL, "%s: no configuration", what);
    *out = cJSON_PrintUnformatted(tree);
    return *out ? 0 : crio_error_oom();
}

/* ------------------------------------------------------------ both kinds */

/*
 * A pod and a container configuration differ in their schema and in their
 * name in messages.  What both kinds do is written once here, on the
 * configuration's tree (NULL: no configuration), and each public function
 * of a kind is a wrapper naming its tree and kind.
 */
typedef struct config_kind {
    const char *what; /* the messages' prefix */
    const field *schema;
} config_kind;

#define WHAT_POD "pod config"
#define WHAT_CTR "container config"

static const config_kind pod_kind = { WHAT_POD, pod_config_fields };
static const config_kind container_kind = { WHAT_CTR, container_config_fields };

static cJSON **pod_tree(crio_pod_config *cfg)
{
    return cfg ? &cfg->json : NULL;
}

static cJSON **container_tree(crio_container_config *cfg)
{
    return cfg ? &cfg->json : NULL;
}

static int no_config(const config_kind *k)
{
    return crio_error_set(CRIO_EINVAL, "%s: no configuration", k->what);
}

/* A new configuration's tree: empty, or a checked, normalised copy of `tree`. */
static int tree_new(cJSON **json, const cJSON *tree, const config_kind *k)
{
    _cleanup_json_ cJSON *j = cJSON_CreateObject();
    if (!j)
        return crio_error_oom();
    int r = tree ? merge_checked(&j, tree, k->schema, k->what) : 0;
    if (r == 0)
        *json = TAKE_PTR(j);
    return r;
}

static int tree_update_json(cJSON **json, const char *text, const config_kind *k)
{
    return json ? merge_text(json, text, k->schema, k->what) : no_config(k);
}

static int tree_merge(cJSON **json, const cJSON *tree, const config_kind *k)
{
    return json && tree ? merge_checked(json, tree, k->schema, k->what) : no_config(k);
}

/* Sets a string member that must not be empty; errors name it "path.key". */
static int tree_set_required_string(cJSON **json, const config_kind *k, const char *path, const char *key,
                                    const char *value)
{
    if (!json)
        return no_config(k);
    char name[128];
    snprintf(name, sizeof name, "%s%s%s", path, *path ? "." : "", key);
    int r = require_string(value, k->what, name);
    return r < 0 ? r : set_string_at(*json, path, key, value);
}

static int tree_set_bool(cJSON **json, const config_kind *k, const char *path, const char *key, int value)
{
    return json ? set_bool_at(*json, path, key, value) : no_config(k);
}

/* Sets entry `key` of the map `map`; errors name the entry "<kind> <entry>" ("pod config label"). */
static int tree_set_map_entry(cJSON **json, const config_kind *k, const char *map, const char *entry,
                              const char *key, const char *value)
{
    if (!json)
        return no_config(k);
    char what[64];
    snprintf(what, sizeof what, "%s %s", k->what, entry);
    return set_map_entry(*json, map, key, value, what);
}

int crio_pod_config_new(crio_pod_config **out)
{
    return crio_pod_config_from_tree(out, NULL);
}

int crio_container_config_new(crio_container_config **out)
{
    return crio_container_config_from_tree(out, NULL);
}

int crio_pod_config_from_tree(crio_pod_config **out, const cJSON *tree)
{
    if (!out)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no output");
    _cleanup_free_ crio_pod_config *cfg = calloc(1, sizeof *cfg);
    int r = cfg ? tree_new(&cfg->json, tree, &pod_kind) : crio_error_oom();
    if (r == 0)
        *out = TAKE_PTR(cfg);
    return r;
}

int crio_container_config_from_tree(crio_container_config **out, const cJSON *tree)
{
    if (!out)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no output");
    _cleanup_free_ crio_container_config *cfg = calloc(1, sizeof *cfg);
    int r = cfg ? tree_new(&cfg->json, tree, &container_kind) : crio_error_oom();
    if (r == 0)
        *out = TAKE_PTR(cfg);
    return r;
}

void crio_pod_config_free(crio_pod_config *cfg)
{
    if (cfg)
        cJSON_Delete(cfg->json);
    free(cfg);
}

void crio_container_config_free(crio_container_config *cfg)
{
    if (cfg)
        cJSON_Delete(cfg->json);
    free(cfg);
}

int crio_pod_config_update_json(crio_pod_config *cfg, const char *json)
{
    return tree_update_json(pod_tree(cfg), json, &pod_kind);
}

int crio_container_config_update_json(crio_container_config *cfg, const char *json)
{
    return tree_update_json(container_tree(cfg), json, &container_kind);
}

int crio_pod_config_merge_tree(crio_pod_config *cfg, const cJSON *tree)
{
    return tree_merge(pod_tree(cfg), tree, &pod_kind);
}

int crio_container_config_merge_tree(crio_container_config *cfg, const cJSON *tree)
{
    return tree_merge(container_tree(cfg), tree, &container_kind);
}

const cJSON *crio_pod_config_json_tree(const crio_pod_config *cfg)
{
    return cfg ? cfg->json : NULL;
}

const cJSON *crio_container_config_json_tree(const crio_container_config *cfg)
{
    return cfg ? cfg->json : NULL;
}

int crio_pod_config_to_json(char **out, const crio_pod_config *cfg)
{
    return tree_to_text(out, crio_pod_config_json_tree(cfg), WHAT_POD);
}

int crio_container_config_to_json(char **out, const crio_container_config *cfg)
{
    return tree_to_text(out, crio_container_config_json_tree(cfg), WHAT_CTR);
}

const char *crio_pod_config_get_string(const crio_pod_config *cfg, const char *path)
{
    return crio_spec_cri_string(crio_pod_config_json_tree(cfg), path);
}

const char *crio_container_config_get_string(const crio_container_config *cfg, const char *path)
{
    return crio_spec_cri_string(crio_container_config_json_tree(cfg), path);
}

int64_t crio_pod_config_get_int(const crio_pod_config *cfg, const char *path, int64_t def)
{
    return crio_spec_cri_int(crio_pod_config_json_tree(cfg), path, def);
}

int64_t crio_container_config_get_int(const crio_container_config *cfg, const char *path, int64_t def)
{
    return crio_spec_cri_int(crio_container_config_json_tree(cfg), path, def);
}

bool crio_pod_config_get_bool(const crio_pod_config *cfg, const char *path, bool def)
{
    return crio_spec_cri_bool(crio_pod_config_json_tree(cfg), path, def);
}

bool crio_container_config_get_bool(const crio_container_config *cfg, const char *path, bool def)
{
    return crio_spec_cri_bool(crio_container_config_json_tree(cfg), path, def);
}

int crio_pod_config_set_label(crio_pod_config *cfg, const char *key, const char *value)
{
    return tree_set_map_entry(pod_tree(cfg), &pod_kind, "labels", "label", key, value);
}

int crio_container_config_set_label(crio_container_config *cfg, const char *key, const char *value)
{
    return tree_set_map_entry(container_tree(cfg), &container_kind, "labels", "label", key, value);
}

int crio_pod_config_set_annotation(crio_pod_config *cfg, const char *key, const char *value)
{
    return tree_set_map_entry(pod_tree(cfg), &pod_kind, "annotations", "annotation", key, value);
}

int crio_container_config_set_annotation(crio_container_config *cfg, const char *key, const char *value)
{
    return tree_set_map_entry(container_tree(cfg), &container_kind, "annotations", "annotation", key, value);
}

/* Both kinds have linux.security_context.privileged. */
int crio_pod_config_set_privileged(crio_pod_config *cfg, int privileged)
{
    return tree_set_bool(pod_tree(cfg), &pod_kind, "linux.security_context", "privileged", privileged);
}

int crio_container_config_set_privileged(crio_container_config *cfg, int privileged)
{
    return tree_set_bool(container_tree(cfg), &container_kind, "linux.security_context", "privileged", privileged);
}

/* ------------------------------------------------------------ pod config */

#define POD_NS "linux.security_context.namespace_options"

int crio_pod_config_set_metadata(crio_pod_config *cfg, const char *name, const char *uid, const char *namespace_,
                                 uint32_t attempt)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no configuration");
    int r = require_string(name, WHAT_POD, "metadata.name");
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *md = cJSON_CreateObject();
    if (!md || !crio_json_add_string(md, "name", name) || !crio_json_add_string(md, "uid", uid) ||
        !crio_json_add_string(md, "namespace", namespace_) || !cJSON_AddNumberToObject(md, "attempt", attempt))
        return crio_error_oom();
    return json_set(cfg->json, "metadata", TAKE_PTR(md));
}

int crio_pod_config_set_hostname(crio_pod_config *cfg, const char *hostname)
{
    return tree_set_required_string(pod_tree(cfg), &pod_kind, "", "hostname", hostname);
}

int crio_pod_config_set_log_directory(crio_pod_config *cfg, const char *dir)
{
    return tree_set_required_string(pod_tree(cfg), &pod_kind, "", "log_directory", dir);
}

int crio_pod_config_set_cgroup_parent(crio_pod_config *cfg, const char *parent)
{
    return tree_set_required_string(pod_tree(cfg), &pod_kind, "linux", "cgroup_parent", parent);
}

static const char *ns_kind_field(crio_ns_kind kind)
{
    switch (kind) {
    case CRIO_NS_NETWORK:
        return "network";
    case CRIO_NS_PID:
        return "pid";
    case CRIO_NS_IPC:
        return "ipc";
    }
    return NULL;
}

int crio_pod_config_set_namespace_mode(crio_pod_config *cfg, crio_ns_kind kind, crio_ns_mode mode)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no configuration");
    const char *name = ns_kind_field(kind);
    if (!name)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": namespace kind %d is out of range", (int)kind);
    if ((int)mode < CRIO_NS_POD || (int)mode > CRIO_NS_TARGET)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": namespace mode %d is out of range", (int)mode);
    /* A target (another container's namespace) is only meaningful for PID. */
    if (mode == CRIO_NS_TARGET && kind != CRIO_NS_PID)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": namespace mode TARGET is for the PID namespace only");
    return set_at(cfg->json, POD_NS, name, cJSON_CreateNumber(mode));
}

static int pod_add_dns(crio_pod_config *cfg, const char *list, const char *value)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no configuration");
    int r = require_string(value, WHAT_POD, list);
    /* resolv.conf is line-based: a line break would inject another directive. */
    if (r == 0 && strpbrk(value, "\n\r"))
        r = crio_error_set(CRIO_EINVAL, WHAT_POD ": dns_config.%s: a line break in \"%s\"", list, value);
    return r < 0 ? r : append_at(cfg->json, "dns_config", list, cJSON_CreateString(value));
}

int crio_pod_config_add_dns_server(crio_pod_config *cfg, const char *server)
{
    return pod_add_dns(cfg, "servers", server);
}

int crio_pod_config_add_dns_search(crio_pod_config *cfg, const char *domain)
{
    return pod_add_dns(cfg, "searches", domain);
}

int crio_pod_config_add_dns_option(crio_pod_config *cfg, const char *option)
{
    return pod_add_dns(cfg, "options", option);
}

int crio_pod_config_set_sysctl(crio_pod_config *cfg, const char *key, const char *value)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no configuration");
    int r = require_string(value, WHAT_POD " sysctl", "a value");
    return r < 0 ? r : set_map_entry(cfg->json, "linux.sysctls", key, value, WHAT_POD " sysctl");
}

static int protocol_number(const char *protocol)
{
    for (int i = 0; protocol_names[i]; i++)
        if (strcasecmp(protocol, protocol_names[i]) == 0)
            return i;
    return -1;
}

int crio_pod_config_add_port_mapping(crio_pod_config *cfg, const char *protocol, int32_t container_port,
                                     int32_t host_port, const char *host_ip)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": no configuration");
    int proto = protocol ? protocol_number(protocol) : -1;
    if (proto < 0)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": port mapping: protocol \"%s\" (want TCP, UDP or SCTP)",
                              protocol ? protocol : "(null)");
    if (container_port < 1 || container_port > 65535)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": port mapping: container port %d is out of range", container_port);
    /* 0: the port is not published on the host. */
    if (host_port < 0 || host_port > 65535)
        return crio_error_set(CRIO_EINVAL, WHAT_POD ": port mapping: host port %d is out of range", host_port);
    _cleanup_json_ cJSON *pm = cJSON_CreateObject();
    if (!pm || !cJSON_AddNumberToObject(pm, "protocol", proto) ||
        !cJSON_AddNumberToObject(pm, "container_port", container_port) ||
        !cJSON_AddNumberToObject(pm, "host_port", host_port) ||
        !crio_json_add_string(pm, "host_ip", host_ip && *host_ip ? host_ip : NULL))
        return crio_error_oom();
    return append_at(cfg->json, "", "port_mappings", TAKE_PTR(pm));
}

crio_ns_mode crio_pod_config_namespace_mode(const crio_pod_config *cfg, crio_ns_kind kind)
{
    const char *name = ns_kind_field(kind);
    const cJSON *opts = crio_spec_cri_get(crio_pod_config_json_tree(cfg), POD_NS);
    int64_t mode = name ? crio_json_int(opts, name, CRIO_NS_POD) : CRIO_NS_POD;
    return mode >= CRIO_NS_POD && mode <= CRIO_NS_TARGET ? (crio_ns_mode)mode : CRIO_NS_POD;
}

/* ------------------------------------------------------ container config */

#define CTR_SC "linux.security_context"
#define CTR_RES "linux.resources"

int crio_container_config_set_metadata(crio_container_config *cfg, const char *name, uint32_t attempt)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    int r = require_string(name, WHAT_CTR, "metadata.name");
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *md = cJSON_CreateObject();
    if (!md || !cJSON_AddStringToObject(md, "name", name) || !cJSON_AddNumberToObject(md, "attempt", attempt))
        return crio_error_oom();
    return json_set(cfg->json, "metadata", TAKE_PTR(md));
}

int crio_container_config_set_image(crio_container_config *cfg, const char *image)
{
    /* Only image.image: annotations or a runtime handler set by JSON stay. */
    return tree_set_required_string(container_tree(cfg), &container_kind, "image", "image", image);
}

static int container_append_string(crio_container_config *cfg, const char *list, const char *value)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    /* An empty argument is a real argument; only NULL is refused. */
    if (!value)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": %s: no value", list);
    return append_at(cfg->json, "", list, cJSON_CreateString(value));
}

int crio_container_config_add_command(crio_container_config *cfg, const char *arg)
{
    return container_append_string(cfg, "command", arg);
}

int crio_container_config_add_arg(crio_container_config *cfg, const char *arg)
{
    return container_append_string(cfg, "args", arg);
}

int crio_container_config_set_working_dir(crio_container_config *cfg, const char *dir)
{
    return tree_set_required_string(container_tree(cfg), &container_kind, "", "working_dir", dir);
}

/* The element of array `arr` whose member `key` is the string `value`, or NULL. */
static cJSON *find_by_member(cJSON *arr, const char *key, const char *value)
{
    cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const char *v = crio_json_string(e, key);
        if (v && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

int crio_container_config_set_env(crio_container_config *cfg, const char *key, const char *value)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    int r = require_string(key, WHAT_CTR " env", "a key");
    if (r < 0)
        return r;
    if (strchr(key, '='))
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": env key \"%s\" has a '='", key);
    if (!value)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": env %s: no value", key);
    cJSON *existing = find_by_member(cJSON_GetObjectItemCaseSensitive(cfg->json, "envs"), "key", key);
    if (existing)
        return json_set(existing, "value", cJSON_CreateString(value));
    _cleanup_json_ cJSON *kv = cJSON_CreateObject();
    if (!kv || !cJSON_AddStringToObject(kv, "key", key) || !cJSON_AddStringToObject(kv, "value", value))
        return crio_error_oom();
    return append_at(cfg->json, "", "envs", TAKE_PTR(kv));
}

int crio_container_config_add_mount(crio_container_config *cfg, const char *container_path, const char *host_path,
                                    int readonly)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    int r = require_string(container_path, WHAT_CTR " mount", "a container path");
    if (r == 0)
        r = require_string(host_path, WHAT_CTR " mount", "a host path");
    if (r < 0)
        return r;
    _cleanup_json_ cJSON *m = cJSON_CreateObject();
    if (!m || !cJSON_AddStringToObject(m, "container_path", container_path) ||
        !cJSON_AddStringToObject(m, "host_path", host_path) || !cJSON_AddBoolToObject(m, "readonly", readonly != 0))
        return crio_error_oom();
    /* One mount per destination: a second one would only hide the first. */
    cJSON *mounts = cJSON_GetObjectItemCaseSensitive(cfg->json, "mounts");
    cJSON *existing = find_by_member(mounts, "container_path", container_path);
    if (existing) {
        if (!cJSON_ReplaceItemViaPointer(mounts, existing, m))
            return crio_error_oom();
        m = NULL;
        return 0;
    }
    return append_at(cfg->json, "", "mounts", TAKE_PTR(m));
}

int crio_container_config_set_log_path(crio_container_config *cfg, const char *path)
{
    return tree_set_required_string(container_tree(cfg), &container_kind, "", "log_path", path);
}

int crio_container_config_set_tty(crio_container_config *cfg, int tty)
{
    return tree_set_bool(container_tree(cfg), &container_kind, "", "tty", tty);
}

int crio_container_config_set_stdin(crio_container_config *cfg, int stdin_open, int stdin_once)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    int r = set_bool_at(cfg->json, "", "stdin", stdin_open);
    return r < 0 ? r : set_bool_at(cfg->json, "", "stdin_once", stdin_once);
}

int crio_container_config_set_memory_limit(crio_container_config *cfg, int64_t bytes)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    if (bytes < 0)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": memory limit %lld is negative", (long long)bytes);
    return set_int_at(cfg->json, CTR_RES, "memory_limit_in_bytes", bytes, WHAT_CTR);
}

int crio_container_config_set_cpu(crio_container_config *cfg, int64_t shares, int64_t quota, int64_t period)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    if (shares < 0 || period < 0)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": cpu shares %lld and period %lld must not be negative",
                              (long long)shares, (long long)period);
    /* -1 is the CFS quota's "unlimited"; below it means nothing. */
    if (quota < -1)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": cpu quota %lld is out of range", (long long)quota);
    int r = set_int_at(cfg->json, CTR_RES, "cpu_shares", shares, WHAT_CTR);
    if (r == 0)
        r = set_int_at(cfg->json, CTR_RES, "cpu_quota", quota, WHAT_CTR);
    if (r == 0)
        r = set_int_at(cfg->json, CTR_RES, "cpu_period", period, WHAT_CTR);
    return r;
}

static int set_int64_value_at(cJSON *root, const char *path, const char *key, int64_t value)
{
    _cleanup_json_ cJSON *v = cJSON_CreateObject();
    if (!v || !cJSON_AddNumberToObject(v, "value", (double)value))
        return crio_error_oom();
    return set_at(root, path, key, TAKE_PTR(v));
}

int crio_container_config_set_user(crio_container_config *cfg, int64_t uid, int64_t gid)
{
    if (!cfg)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": no configuration");
    if (uid < 0 || uid > 4294967294LL)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": uid %lld is out of range", (long long)uid);
    if (gid > 4294967294LL)
        return crio_error_set(CRIO_EINVAL, WHAT_CTR ": gid %lld is out of range", (long long)gid);
    int r = set_int64_value_at(cfg->json, CTR_SC, "run_as_user", uid);
    if (r < 0)
        return r;
    /* A uid and a user name are alternatives in the CRI: the uid now decides. */
    remove_at(cfg->json, CTR_SC, "run_as_username");
    if (gid < 0) {
        remove_at(cfg->json, CTR_SC, "run_as_group");
        return 0;
    }
    return set_int64_value_at(cfg->json, CTR_SC, "run_as_group", gid);
}

int crio_container_config_set_readonly_rootfs(crio_container_config *cfg, int readonly)
{
    return tree_set_bool(container_tree(cfg), &container_kind, CTR_SC, "readonly_rootfs", readonly);
}

