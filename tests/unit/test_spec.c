/* OCI runtime spec generation: process, user, mounts, namespaces, security, resources; and runc accepts it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "pod/config.h"
#include "spec/spec.h"

static char dir[64];
static char rootfs[128];
static crio_spec_input in;

static const char *const default_caps[] = { "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "SETGID", "SETUID",
                                            "SETPCAP", "NET_BIND_SERVICE", "KILL", NULL };

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

/* A path under the test's directory, valid for the rest of the test. */
static const char *at(const char *name)
{
    static char paths[32][256];
    static int k;
    char *p = paths[k++ % 32];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *name, const char *text)
{
    const char *p = at(name);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\"", p);
    cr_assert_eq(system(cmd), 0);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    strcpy(dir, "/tmp/spec-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
    cr_assert_eq(mkdir(rootfs, 0755), 0);
    write_file("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                    "# a comment\n"
                                    "app:x:1000:1001:App:/home/app:/bin/sh\n"
                                    "svc:x:2000:2000::/:/bin/false\n");
    write_file("rootfs/etc/group", "root:x:0:root\n"
                                   "wheel:x:10:root,app\n"
                                   "apps:x:1001:\n"
                                   "docker:x:999:svc,app\n"
                                   "staff:x:50:other\n");
    memset(&in, 0, sizeof in);
    in.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    in.pod_id = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    in.rootfs = rootfs;
    in.netns_path = "/run/netns/pod";
    in.ipcns_path = "/run/ipcns/pod";
    in.utsns_path = "/run/utsns/pod";
    in.hostname = "pod-host";
    in.cgroups_path = "/kubepods/pod1/crio-1";
    in.default_capabilities = default_caps;
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(spec, .init = setup, .fini = teardown);

/* Generates a spec from CRI JSON (through the config builders, as the lifecycle code does). */
static int generate(cJSON **spec, const char *ctr_json, const char *pod_json, const char *image_json)
{
    crio_container_config *ctr = NULL;
    crio_pod_config *pod = NULL;
    cr_assert_eq(crio_container_config_new(&ctr), 0);
    cr_assert_eq(crio_pod_config_new(&pod), 0);
    cr_assert_eq(crio_container_config_update_json(ctr, ctr_json ? ctr_json : "{}"), 0, "%s", errmsg());
    cr_assert_eq(crio_pod_config_update_json(pod, pod_json ? pod_json : "{}"), 0, "%s", errmsg());
    cJSON *image = image_json ? cJSON_Parse(image_json) : NULL;
    cr_assert(!image_json || image, "bad image JSON in the test");
    in.container = crio_container_config_json_tree(ctr);
    in.pod = crio_pod_config_json_tree(pod);
    in.image_config = image;
    *spec = NULL;
    int r = crio_spec_generate(spec, &in);
    cr_assert(r == 0 || !*spec);
    cJSON_Delete(image);
    crio_container_config_free(ctr);
    crio_pod_config_free(pod);
    in.container = in.pod = in.image_config = NULL;
    return r;
}

static cJSON *must_generate(const char *ctr_json, const char *pod_json, const char *image_json)
{
    cJSON *spec = NULL;
    int r = generate(&spec, ctr_json, pod_json, image_json);
    cr_assert_eq(r, 0, "generate: %s", errmsg());
    return spec;
}

static void expect_error(const char *ctr_json, const char *pod_json, const char *image_json, const char *needle)
{
    cJSON *spec = NULL;
    cr_assert_eq(generate(&spec, ctr_json, pod_json, image_json), CRIO_EINVAL, "want CRIO_EINVAL (%s)", needle);
    cr_assert(strstr(errmsg(), needle), "error \"%s\" lacks \"%s\"", errmsg(), needle);
}

static const cJSON *get(const cJSON *spec, const char *path)
{
    return crio_spec_cri_get(spec, path);
}

/* The strings of an array joined by " ". */
static const char *joined(const cJSON *arr)
{
    static char buf[2048];
    buf[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        cr_assert(cJSON_IsString(e));
        if (buf[0])
            strcat(buf, " ");
        strcat(buf, e->valuestring);
    }
    return buf;
}

static bool has_string(const cJSON *arr, const char *s)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        if (cJSON_IsString(e) && strcmp(e->valuestring, s) == 0)
            return true;
    }
    return false;
}

static const char *env_of(const cJSON *spec, const char *key)
{
    size_t n = strlen(key);
    const cJSON *e;
    cJSON_ArrayForEach(e, get(spec, "process.env")) {
        if (strncmp(e->valuestring, key, n) == 0 && e->valuestring[n] == '=')
            return e->valuestring + n + 1;
    }
    return NULL;
}

static int mount_index(const cJSON *spec, const char *dest)
{
    int i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, get(spec, "mounts")) {
        if (strcmp(crio_json_string(m, "destination"), dest) == 0)
            return i;
        i++;
    }
    return -1;
}

static const cJSON *mount_at(const cJSON *spec, const char *dest)
{
    int i = mount_index(spec, dest);
    return i < 0 ? NULL : cJSON_GetArrayItem(get(spec, "mounts"), i);
}

static bool mount_has_option(const cJSON *spec, const char *dest, const char *opt)
{
    const cJSON *m = mount_at(spec, dest);
    cr_assert_not_null(m, "no mount at %s", dest);
    return has_string(get(m, "options"), opt);
}

/* The namespace entry of `type`: NULL when absent (the host's), else its path ("" for a new one). */
static const char *ns_path(const cJSON *spec, const char *type)
{
    const cJSON *ns;
    cJSON_ArrayForEach(ns, get(spec, "linux.namespaces")) {
        if (strcmp(crio_json_string(ns, "type"), type) == 0) {
            const char *p = crio_json_string(ns, "path");
            return p ? p : "";
        }
    }
    return NULL;
}

static int64_t num(const cJSON *spec, const char *path)
{
    const cJSON *v = get(spec, path);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
    return (int64_t)v->valuedouble;
}

#define IMAGE_EP_CMD "{\"config\":{\"Entrypoint\":[\"/ep\",\"-x\"],\"Cmd\":[\"c1\",\"c2\"]}}"

/* ---- process.args ---- */

Test(spec, args_command_and_args)
{
    cJSON *s = must_generate("{\"command\":[\"/bin/x\"],\"args\":[\"a\",\"b\"]}", NULL, IMAGE_EP_CMD);
    cr_assert_str_eq(joined(get(s, "process.args")), "/bin/x a b");
    cJSON_Delete(s);
}

Test(spec, args_command_only_drops_image_cmd)
{
    cJSON *s = must_generate("{\"command\":[\"/bin/x\"]}", NULL, IMAGE_EP_CMD);
    cr_assert_str_eq(joined(get(s, "process.args")), "/bin/x");
    cJSON_Delete(s);
}

Test(spec, args_only_keeps_entrypoint)
{
    cJSON *s = must_generate("{\"args\":[\"a\"]}", NULL, IMAGE_EP_CMD);
    cr_assert_str_eq(joined(get(s, "process.args")), "/ep -x a");
    cJSON_Delete(s);
}

Test(spec, args_neither_uses_entrypoint_and_cmd)
{
    cJSON *s = must_generate(NULL, NULL, IMAGE_EP_CMD);
    cr_assert_str_eq(joined(get(s, "process.args")), "/ep -x c1 c2");
    cJSON_Delete(s);
    s = must_generate(NULL, NULL, "{\"config\":{\"Cmd\":[\"sh\"],\"Entrypoint\":null}}");
    cr_assert_str_eq(joined(get(s, "process.args")), "sh");
    cJSON_Delete(s);
}

Test(spec, args_empty_is_an_error)
{
    expect_error(NULL, NULL, "{\"config\":{}}", "no command");
    expect_error(NULL, NULL, NULL, "no command");
    expect_error("{\"args\":[]}", NULL, "{\"config\":{\"Entrypoint\":[]}}", "no command");
}

/* ---- env, cwd, terminal ---- */

Test(spec, env_precedence)
{
    static const char *const defaults[] = { "B=def", "C=def", "bogus", NULL };
    in.default_env = defaults;
    cJSON *s = must_generate("{\"command\":[\"x\"],\"envs\":[{\"key\":\"A\",\"value\":\"cri\"},{\"key\":\"D\"}]}",
                             NULL, "{\"config\":{\"Env\":[\"A=img\",\"B=img\",\"PATH=/img/bin\",\"HOSTNAME=img\"]}}");
    cr_assert_str_eq(env_of(s, "A"), "cri");
    cr_assert_str_eq(env_of(s, "B"), "def");
    cr_assert_str_eq(env_of(s, "C"), "def");
    cr_assert_str_eq(env_of(s, "D"), "");
    cr_assert_str_eq(env_of(s, "PATH"), "/img/bin");
    cr_assert_str_eq(env_of(s, "HOSTNAME"), "pod-host");
    cr_assert_null(env_of(s, "bogus"));
    /* Overrides keep their place: the image's order first. */
    cr_assert_str_eq(joined(get(s, "process.env")), "A=cri B=def PATH=/img/bin HOSTNAME=pod-host C=def D=");
    cJSON_Delete(s);
}

Test(spec, env_default_path_and_cri_hostname)
{
    in.hostname = NULL;
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_str_eq(env_of(s, "PATH"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    cr_assert_null(env_of(s, "HOSTNAME"));
    cr_assert_null(get(s, "hostname"));
    cJSON_Delete(s);
    in.hostname = "h";
    s = must_generate("{\"command\":[\"x\"],\"envs\":[{\"key\":\"HOSTNAME\",\"value\":\"mine\"}]}", NULL, NULL);
    cr_assert_str_eq(env_of(s, "HOSTNAME"), "mine");
    cr_assert_str_eq(crio_json_string(s, "hostname"), "h");
    cJSON_Delete(s);
}

Test(spec, cwd_and_terminal)
{
    cJSON *s = must_generate("{\"command\":[\"x\"],\"working_dir\":\"/w\",\"tty\":true,\"stdin\":true}", NULL,
                             "{\"config\":{\"WorkingDir\":\"/img\"}}");
    cr_assert_str_eq(crio_json_string(get(s, "process"), "cwd"), "/w");
    cr_assert(cJSON_IsTrue(get(s, "process.terminal")));
    cr_assert_null(get(s, "process.stdin"), "stdin is not part of the spec");
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"]}", NULL, "{\"config\":{\"WorkingDir\":\"/img\"}}");
    cr_assert_str_eq(crio_json_string(get(s, "process"), "cwd"), "/img");
    cr_assert(cJSON_IsFalse(get(s, "process.terminal")));
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"]}", NULL, "{\"config\":{\"WorkingDir\":\"app\"}}");
    cr_assert_str_eq(crio_json_string(get(s, "process"), "cwd"), "/app");
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_str_eq(crio_json_string(get(s, "process"), "cwd"), "/");
    cJSON_Delete(s);
    expect_error("{\"command\":[\"x\"],\"working_dir\":\"rel\"}", NULL, NULL, "working_dir rel");
}

/* ---- user ---- */

static void expect_user(const char *ctr_json, const char *image_user, int64_t uid, int64_t gid, const char *extra)
{
    char image[256];
    snprintf(image, sizeof image, "{\"config\":{\"User\":\"%s\",\"Cmd\":[\"x\"]}}", image_user);
    cJSON *s = must_generate(ctr_json, NULL, image);
    cr_assert_eq(num(s, "process.user.uid"), uid, "uid for %s", image_user);
    cr_assert_eq(num(s, "process.user.gid"), gid, "gid for %s", image_user);
    char got[256] = "";
    const cJSON *e;
    cJSON_ArrayForEach(e, get(s, "process.user.additionalGids")) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", got[0] ? "," : "", (int)e->valuedouble);
    }
    cr_assert_str_eq(got, extra, "additionalGids for %s / %s", image_user, ctr_json ? ctr_json : "{}");
    cJSON_Delete(s);
}

Test(spec, user_from_image)
{
    expect_user(NULL, "", 0, 0, "0,10");
    expect_user(NULL, "1000", 1000, 1001, "10,999");
    expect_user(NULL, "app", 1000, 1001, "10,999");
    expect_user(NULL, "app:wheel", 1000, 10, "10,999");
    expect_user(NULL, "app:7", 1000, 7, "10,999");
    expect_user(NULL, "1000:5", 1000, 5, "10,999");
    expect_user(NULL, "4242", 4242, 0, "");
    expect_user(NULL, "4242:apps", 4242, 1001, "");
}

Test(spec, user_from_cri)
{
    expect_user("{\"linux\":{\"security_context\":{\"run_as_user\":{\"value\":2000}}}}", "app", 2000, 2000, "999");
    expect_user("{\"linux\":{\"security_context\":{\"run_as_user\":{}}}}", "app", 0, 0, "0,10");
    expect_user("{\"linux\":{\"security_context\":{\"run_as_user\":{\"value\":3000},\"run_as_group\":{\"value\":7}}}}",
                "app", 3000, 7, "");
    expect_user("{\"linux\":{\"security_context\":{\"run_as_username\":\"svc\"}}}", "", 2000, 2000, "999");
    expect_user("{\"linux\":{\"security_context\":{\"run_as_group\":{\"value\":\"8\"}}}}", "app", 1000, 8, "10,999");
    expect_user("{\"linux\":{\"security_context\":{\"supplemental_groups\":[42,10]}}}", "app", 1000, 1001,
                "10,999,42");
    expect_user("{\"linux\":{\"security_context\":{\"supplemental_groups\":[42],"
                "\"supplemental_groups_policy\":\"Strict\"}}}",
                "app", 1000, 1001, "42");
}

Test(spec, user_unknown_names)
{
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"nobody\",\"Cmd\":[\"x\"]}}", "user \"nobody\"");
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"app:nogroup\",\"Cmd\":[\"x\"]}}", "group \"nogroup\"");
    expect_error("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"run_as_username\":\"ghost\"}}}", NULL, NULL,
                 "user \"ghost\"");
}

Test(spec, user_without_etc_files_only_numeric)
{
    cr_assert_eq(unlink(at("rootfs/etc/passwd")), 0);
    cr_assert_eq(unlink(at("rootfs/etc/group")), 0);
    expect_user(NULL, "5:6", 5, 6, "");
    expect_user(NULL, "", 0, 0, "");
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"app\",\"Cmd\":[\"x\"]}}", "no /etc/passwd");
}

Test(spec, user_fifo_passwd_does_not_block)
{
    cr_assert_eq(unlink(at("rootfs/etc/passwd")), 0);
    cr_assert_eq(mkfifo(at("rootfs/etc/passwd"), 0644), 0);
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"app\",\"Cmd\":[\"x\"]}}", "user \"app\"");
}

/* A hostile image: /etc/passwd a symlink to a file outside the rootfs that names "evil". */
static void link_passwd_outside(const char *target)
{
    write_file("outside/passwd", "evil:x:6666:6666::/:/bin/sh\n");
    cr_assert_eq(unlink(at("rootfs/etc/passwd")), 0);
    cr_assert_eq(symlink(target, at("rootfs/etc/passwd")), 0);
}

Test(spec, user_symlinked_passwd_cannot_escape_absolute)
{
    link_passwd_outside(at("outside/passwd"));
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"evil\",\"Cmd\":[\"x\"]}}", "user \"evil\"");
    crio_spec_force_fallback_resolver(true);
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"evil\",\"Cmd\":[\"x\"]}}", "user \"evil\"");
    crio_spec_force_fallback_resolver(false);
}

Test(spec, user_symlinked_passwd_cannot_escape_relative)
{
    link_passwd_outside("../../outside/passwd");
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"evil\",\"Cmd\":[\"x\"]}}", "user \"evil\"");
    crio_spec_force_fallback_resolver(true);
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"evil\",\"Cmd\":[\"x\"]}}", "user \"evil\"");
    crio_spec_force_fallback_resolver(false);
}

Test(spec, user_symlinked_etc_resolves_inside_rootfs)
{
    /* /etc -> /data/etc is resolved inside the rootfs (openat2), or refused (the walk): never the host's /etc. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/data && mv %s/etc %s/data/etc", rootfs, rootfs, rootfs);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(symlink("/data/etc", at("rootfs/etc")), 0);
    expect_user(NULL, "app", 1000, 1001, "10,999");
    crio_spec_force_fallback_resolver(true);
    expect_error(NULL, NULL, "{\"config\":{\"User\":\"app\",\"Cmd\":[\"x\"]}}", "user \"app\"");
    crio_spec_force_fallback_resolver(false);
}

Test(spec, user_from_rootfs_fd)
{
    int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    in.rootfs_fd = fd;
    in.rootfs = "/nonexistent-but-unused";
    expect_user(NULL, "app", 1000, 1001, "10,999");
    close(fd);
}

/* ---- mounts ---- */

Test(spec, default_mounts)
{
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    const char *order[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup" };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        cr_assert_eq(mount_index(s, order[i]), (int)i, "%s", order[i]);
    cr_assert_str_eq(crio_json_string(mount_at(s, "/dev/shm"), "type"), "tmpfs");
    cr_assert(mount_has_option(s, "/sys", "ro"));
    cr_assert(mount_has_option(s, "/sys/fs/cgroup", "ro"));
    cr_assert_str_eq(crio_json_string(mount_at(s, "/sys/fs/cgroup"), "type"), "cgroup");
    cr_assert_eq(mount_index(s, "/etc/hosts"), -1, "no pod files given");
    cJSON_Delete(s);
}

Test(spec, pod_files_and_shm)
{
    in.hostname_path = "/run/pod/hostname";
    in.hosts_path = "/run/pod/hosts";
    in.resolv_path = "/run/pod/resolv.conf";
    in.shm_path = "/run/pod/shm";
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_str_eq(crio_json_string(mount_at(s, "/etc/hosts"), "source"), "/run/pod/hosts");
    cr_assert_str_eq(crio_json_string(mount_at(s, "/etc/hostname"), "source"), "/run/pod/hostname");
    cr_assert_str_eq(crio_json_string(mount_at(s, "/etc/resolv.conf"), "source"), "/run/pod/resolv.conf");
    cr_assert(mount_has_option(s, "/etc/hosts", "rbind"));
    cr_assert(!mount_has_option(s, "/etc/hosts", "ro"));
    cr_assert_str_eq(crio_json_string(mount_at(s, "/dev/shm"), "type"), "bind");
    cr_assert_str_eq(crio_json_string(mount_at(s, "/dev/shm"), "source"), "/run/pod/shm");
    cJSON_Delete(s);

    /* The CRI config's own /etc/hosts wins; a read-only rootfs makes the pod's files read-only. */
    write_file("kubelet-hosts", "127.0.0.1 localhost\n");
    char ctr[512];
    snprintf(ctr, sizeof ctr,
             "{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/etc/hosts\",\"host_path\":\"%s\"}],"
             "\"linux\":{\"security_context\":{\"readonly_rootfs\":true}}}",
             at("kubelet-hosts"));
    s = must_generate(ctr, NULL, NULL);
    cr_assert_str_eq(crio_json_string(mount_at(s, "/etc/hosts"), "source"), at("kubelet-hosts"));
    cr_assert(mount_has_option(s, "/etc/resolv.conf", "ro"));
    cr_assert(cJSON_IsTrue(get(s, "root.readonly")));
    cr_assert_str_eq(crio_json_string(get(s, "root"), "path"), rootfs);
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, get(s, "mounts")) n += strcmp(crio_json_string(m, "destination"), "/etc/hosts") == 0;
    cr_assert_eq(n, 1);
    cJSON_Delete(s);
}

Test(spec, cri_mounts_sorted_ro_propagation)
{
    cr_assert_eq(mkdir(at("a"), 0755), 0);
    cr_assert_eq(mkdir(at("b"), 0755), 0);
    cr_assert_eq(mkdir(at("c"), 0755), 0);
    char ctr[1024];
    snprintf(ctr, sizeof ctr,
             "{\"command\":[\"x\"],\"mounts\":["
             "{\"container_path\":\"/data/sub/\",\"host_path\":\"%s\",\"readonly\":true},"
             "{\"container_path\":\"/data\",\"host_path\":\"%s\",\"propagation\":\"PROPAGATION_HOST_TO_CONTAINER\"},"
             "{\"container_path\":\"//z/./\",\"host_path\":\"%s\",\"propagation\":\"PROPAGATION_BIDIRECTIONAL\"}]}",
             at("a"), at("b"), at("c"));
    cJSON *s = must_generate(ctr, NULL, NULL);
    int data = mount_index(s, "/data"), z = mount_index(s, "/z"), sub = mount_index(s, "/data/sub");
    cr_assert(data > mount_index(s, "/sys/fs/cgroup"), "CRI mounts come after the defaults");
    cr_assert(data < z && z < sub, "parents first, then config order: %d %d %d", data, z, sub);
    cr_assert_str_eq(crio_json_string(mount_at(s, "/data"), "type"), "bind");
    cr_assert_str_eq(crio_json_string(mount_at(s, "/data"), "source"), at("b"));
    cr_assert_str_eq(joined(get(mount_at(s, "/data/sub"), "options")), "rbind rprivate ro");
    cr_assert_str_eq(joined(get(mount_at(s, "/data"), "options")), "rbind rslave");
    cr_assert_str_eq(joined(get(mount_at(s, "/z"), "options")), "rbind rshared");
    cr_assert_str_eq(crio_json_string(get(s, "linux"), "rootfsPropagation"), "rshared");
    cJSON_Delete(s);
}

Test(spec, cri_mount_errors)
{
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/x\",\"host_path\":\"/nonexistent-y\"}]}",
                 NULL, NULL, "mount /x: source /nonexistent-y: No such file");
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"rel\",\"host_path\":\"/tmp\"}]}", NULL, NULL,
                 "mount rel: the container path must be absolute");
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/a/../b\",\"host_path\":\"/tmp\"}]}", NULL,
                 NULL, "mount /a/../b");
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/x\",\"host_path\":\"tmp\"}]}", NULL, NULL,
                 "mount /x: source tmp: not an absolute path");
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/x\",\"host_path\":\"/tmp\"},"
                 "{\"container_path\":\"/x/\",\"host_path\":\"/tmp\"}]}",
                 NULL, NULL, "more than one mount");
    expect_error("{\"command\":[\"x\"],\"mounts\":[{\"container_path\":\"/x\",\"host_path\":\"/tmp\","
                 "\"recursive_read_only\":true}]}",
                 NULL, NULL, "recursive read-only");
}

/* ---- namespaces ---- */

Test(spec, namespaces_joined_by_path)
{
    in.pidns_path = "/proc/42/ns/pid";
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_str_eq(ns_path(s, "network"), "/run/netns/pod");
    cr_assert_str_eq(ns_path(s, "ipc"), "/run/ipcns/pod");
    cr_assert_str_eq(ns_path(s, "uts"), "/run/utsns/pod");
    cr_assert_str_eq(ns_path(s, "pid"), "/proc/42/ns/pid");
    cr_assert_str_eq(ns_path(s, "mount"), "");
    cr_assert_null(ns_path(s, "user"));
    cr_assert_null(ns_path(s, "cgroup"));
    cr_assert_str_eq(crio_json_string(s, "hostname"), "pod-host");
    cr_assert_str_eq(crio_json_string(get(s, "linux"), "cgroupsPath"), "/kubepods/pod1/crio-1");
    cJSON_Delete(s);
}

Test(spec, namespaces_by_mode)
{
    in.pidns_path = "/proc/42/ns/pid";
    /* Pod: host network and IPC, own PID per container. */
    const char *pod = "{\"linux\":{\"security_context\":{\"namespace_options\":{\"network\":\"NODE\",\"ipc\":\"NODE\","
                      "\"pid\":\"CONTAINER\"}}}}";
    cJSON *s = must_generate("{\"command\":[\"x\"]}", pod, NULL);
    cr_assert_null(ns_path(s, "network"));
    cr_assert_null(ns_path(s, "ipc"));
    cr_assert_null(ns_path(s, "uts"), "UTS follows the host network");
    cr_assert_null(get(s, "hostname"), "no hostname in the host's UTS namespace");
    cr_assert_str_eq(ns_path(s, "pid"), "");
    cJSON_Delete(s);

    /* The container's own options win over the pod's. */
    s = must_generate("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"namespace_options\":{\"pid\":\"NODE\"}}}}",
                      pod, NULL);
    cr_assert_null(ns_path(s, "pid"));
    cr_assert_str_eq(ns_path(s, "network"), "/run/netns/pod", "unset in the container's options: POD");
    cJSON_Delete(s);

    s = must_generate("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"namespace_options\":{\"pid\":\"TARGET\"}}}}",
                      NULL, NULL);
    cr_assert_str_eq(ns_path(s, "pid"), "/proc/42/ns/pid");
    cJSON_Delete(s);

    /* No paths: new namespaces; "" paths: the host's. */
    in.netns_path = in.ipcns_path = in.utsns_path = in.pidns_path = NULL;
    s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_str_eq(ns_path(s, "network"), "");
    cr_assert_str_eq(ns_path(s, "ipc"), "");
    cr_assert_str_eq(ns_path(s, "uts"), "");
    cr_assert_str_eq(ns_path(s, "pid"), "");
    cJSON_Delete(s);
    in.netns_path = in.utsns_path = "";
    s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_null(ns_path(s, "network"));
    cr_assert_null(ns_path(s, "uts"));
    cJSON_Delete(s);
}

/* ---- privileged, capabilities ---- */

Test(spec, privileged_needs_privileged_pod)
{
    const char *ctr = "{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"privileged\":true}}}";
    expect_error(ctr, NULL, NULL, "privileged but its pod is not");
    cJSON *s = must_generate(ctr, "{\"linux\":{\"security_context\":{\"privileged\":true}}}", NULL);
    const cJSON *bounding = get(s, "process.capabilities.bounding");
    cr_assert_geq(cJSON_GetArraySize(bounding), 30);
    cr_assert(has_string(bounding, "CAP_SYS_ADMIN"));
    cr_assert(has_string(get(s, "process.capabilities.effective"), "CAP_NET_ADMIN"));
    cr_assert_null(get(s, "linux.maskedPaths"));
    cr_assert_null(get(s, "linux.readonlyPaths"));
    cr_assert(!mount_has_option(s, "/sys", "ro"));
    cr_assert(!mount_has_option(s, "/sys/fs/cgroup", "ro"));
    const cJSON *rules = get(s, "linux.resources.devices");
    cr_assert_eq(cJSON_GetArraySize(rules), 1);
    cr_assert(cJSON_IsTrue(get(cJSON_GetArrayItem(rules, 0), "allow")));
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(rules, 0), "access"), "rwm");
    cJSON_Delete(s);
    /* The input flag allows it as well. */
    in.pod_privileged = true;
    s = must_generate(ctr, NULL, NULL);
    cJSON_Delete(s);
}

static const char *caps_of(const char *ctr_json)
{
    cJSON *s = must_generate(ctr_json, NULL, NULL);
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s", joined(get(s, "process.capabilities.effective")));
    cr_assert_str_eq(buf, joined(get(s, "process.capabilities.bounding")));
    cr_assert_str_eq(buf, joined(get(s, "process.capabilities.permitted")));
    cJSON_Delete(s);
    return buf;
}

Test(spec, capabilities_defaults_add_drop)
{
    cr_assert_str_eq(caps_of("{\"command\":[\"x\"]}"), "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL "
                                                     "CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_NET_BIND_SERVICE");
    cr_assert_str_eq(caps_of("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"capabilities\":{"
                             "\"add_capabilities\":[\"NET_ADMIN\",\"cap_sys_time\"],"
                             "\"drop_capabilities\":[\"CHOWN\",\"CAP_KILL\",\"DAC_OVERRIDE\",\"FOWNER\"]}}}}"),
                     "CAP_FSETID CAP_SETGID CAP_SETUID CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_SYS_TIME");
    cr_assert_str_eq(caps_of("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"capabilities\":{"
                             "\"drop_capabilities\":[\"ALL\"],\"add_capabilities\":[\"NET_RAW\"]}}}}"),
                     "CAP_NET_RAW");
    const char *all_but = caps_of("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"capabilities\":{"
                                  "\"add_capabilities\":[\"ALL\"],\"drop_capabilities\":[\"SYS_ADMIN\"]}}}}");
    cr_assert(strstr(all_but, "CAP_SYS_PTRACE"), "%s", all_but);
    cr_assert_null(strstr(all_but, "CAP_SYS_ADMIN"), "%s", all_but);
    expect_error("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"capabilities\":{"
                 "\"add_capabilities\":[\"FLY\"]}}}}",
                 NULL, NULL, "unknown capability \"FLY\"");
    static const char *const bad_defaults[] = { "CHOWN", "NOPE", NULL };
    in.default_capabilities = bad_defaults;
    expect_error("{\"command\":[\"x\"]}", NULL, NULL, "default_capabilities: unknown capability \"NOPE\"");
}

Test(spec, capabilities_ambient)
{
    cJSON *s = must_generate("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"capabilities\":{"
                             "\"drop_capabilities\":[\"ALL\"],\"add_ambient_capabilities\":[\"NET_BIND_SERVICE\"]}}}}",
                             NULL, NULL);
    cr_assert_str_eq(joined(get(s, "process.capabilities.ambient")), "CAP_NET_BIND_SERVICE");
    cr_assert_str_eq(joined(get(s, "process.capabilities.inheritable")), "CAP_NET_BIND_SERVICE");
    cr_assert_str_eq(joined(get(s, "process.capabilities.permitted")), "CAP_NET_BIND_SERVICE");
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    cr_assert_eq(cJSON_GetArraySize(get(s, "process.capabilities.inheritable")), 0);
    cr_assert_eq(cJSON_GetArraySize(get(s, "process.capabilities.ambient")), 0);
    cr_assert(cJSON_IsFalse(get(s, "process.noNewPrivileges")));
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"no_new_privs\":true}}}", NULL, NULL);
    cr_assert(cJSON_IsTrue(get(s, "process.noNewPrivileges")));
    cJSON_Delete(s);
}

/* ---- oom, resources, devices ---- */

Test(spec, oom_score_adj_clamped)
{
    cr_assert_eq(crio_spec_clamp_oom_score_adj(-500, 0), 0);
    cr_assert_eq(crio_spec_clamp_oom_score_adj(-500, -1000), -500);
    cr_assert_eq(crio_spec_clamp_oom_score_adj(500, 0), 500);
    cr_assert_eq(crio_spec_clamp_oom_score_adj(5000, 0), 1000);
    cr_assert_eq(crio_spec_clamp_oom_score_adj(-5000, -2000), -1000);
    cr_assert_eq(crio_spec_clamp_oom_score_adj(0, 300), 300);
    in.oom_score_adj_min = 0;
    cJSON *s = must_generate("{\"command\":[\"x\"],\"linux\":{\"resources\":{\"oom_score_adj\":-998}}}", NULL, NULL);
    cr_assert_eq(num(s, "process.oomScoreAdj"), 0);
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"],\"linux\":{\"resources\":{\"oomScoreAdj\":\"1000\"}}}", NULL, NULL);
    cr_assert_eq(num(s, "process.oomScoreAdj"), 1000);
    cJSON_Delete(s);
}

Test(spec, resources_mapping)
{
    cJSON *cri = cJSON_Parse("{\"cpu_period\":100000,\"cpu_quota\":50000,\"cpu_shares\":512,"
                             "\"memory_limit_in_bytes\":268435456,\"oom_score_adj\":100,\"cpuset_cpus\":\"0-1\","
                             "\"cpuset_mems\":\"0\",\"hugepage_limits\":[{\"page_size\":\"2MB\",\"limit\":4194304}],"
                             "\"unified\":{\"memory.high\":\"1000000\"},\"memory_swap_limit_in_bytes\":536870912}");
    cJSON *oci = NULL;
    cr_assert_eq(crio_spec_resources(&oci, cri), 0, "%s", errmsg());
    cr_assert_eq(num(oci, "cpu.shares"), 512);
    cr_assert_eq(num(oci, "cpu.quota"), 50000);
    cr_assert_eq(num(oci, "cpu.period"), 100000);
    cr_assert_str_eq(crio_json_string(get(oci, "cpu"), "cpus"), "0-1");
    cr_assert_str_eq(crio_json_string(get(oci, "cpu"), "mems"), "0");
    cr_assert_eq(num(oci, "memory.limit"), 268435456);
    cr_assert_eq(num(oci, "memory.swap"), 536870912);
    const cJSON *hp = cJSON_GetArrayItem(get(oci, "hugepageLimits"), 0);
    cr_assert_str_eq(crio_json_string(hp, "pageSize"), "2MB");
    cr_assert_eq(crio_json_int(hp, "limit", 0), 4194304);
    cr_assert_str_eq(crio_json_string(get(oci, "unified"), "memory.high"), "1000000");
    cr_assert_null(get(oci, "oomScoreAdj"));
    cJSON_Delete(oci);
    cJSON_Delete(cri);

    /* Only what is set; no swap unless given. */
    cri = cJSON_Parse("{\"memory_limit_in_bytes\":1048576,\"cpu_quota\":-1}");
    cr_assert_eq(crio_spec_resources(&oci, cri), 0);
    cr_assert_eq(num(oci, "memory.limit"), 1048576);
    cr_assert_null(get(oci, "memory.swap"));
    cr_assert_eq(num(oci, "cpu.quota"), -1);
    cr_assert_null(get(oci, "cpu.shares"));
    cr_assert_null(get(oci, "hugepageLimits"));
    cJSON_Delete(oci);
    cJSON_Delete(cri);
    cr_assert_eq(crio_spec_resources(&oci, NULL), 0);
    char *text = cJSON_PrintUnformatted(oci);
    cr_assert_str_eq(text, "{}");
    free(text);
    cJSON_Delete(oci);
    cri = cJSON_Parse("{\"cpu_shares\":-2}");
    cr_assert_eq(crio_spec_resources(&oci, cri), CRIO_EINVAL);
    cJSON_Delete(cri);
}

Test(spec, resources_and_devices_in_spec)
{
    cJSON *s = must_generate("{\"command\":[\"x\"],\"linux\":{\"resources\":{\"memory_limit_in_bytes\":\"33554432\","
                             "\"cpu_shares\":2}},\"devices\":[{\"host_path\":\"/dev/null\",\"container_path\":\"/dev/"
                             "mynull\",\"permissions\":\"rw\"}]}",
                             NULL, NULL);
    cr_assert_eq(num(s, "linux.resources.memory.limit"), 33554432);
    cr_assert_eq(num(s, "linux.resources.cpu.shares"), 2);
    const cJSON *rules = get(s, "linux.resources.devices");
    const cJSON *first = cJSON_GetArrayItem(rules, 0);
    cr_assert(cJSON_IsFalse(get(first, "allow")), "deny all first");
    cr_assert_null(get(first, "type"));
    int allowed_null = 0, allowed_pts = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        if (cJSON_IsTrue(get(r, "allow")) && crio_json_int(r, "major", -1) == 1 && crio_json_int(r, "minor", -1) == 3)
            allowed_null++;
        if (crio_json_int(r, "major", -1) == 136 && !get(r, "minor"))
            allowed_pts++;
    }
    cr_assert_eq(allowed_null, 2, "the default rule and the device's own");
    cr_assert_eq(allowed_pts, 1);
    const cJSON *last = cJSON_GetArrayItem(rules, cJSON_GetArraySize(rules) - 1);
    cr_assert_str_eq(crio_json_string(last, "access"), "rw");
    const cJSON *dev = cJSON_GetArrayItem(get(s, "linux.devices"), 0);
    cr_assert_str_eq(crio_json_string(dev, "path"), "/dev/mynull");
    cr_assert_str_eq(crio_json_string(dev, "type"), "c");
    cr_assert_eq(crio_json_int(dev, "major", -1), 1);
    cr_assert_eq(crio_json_int(dev, "minor", -1), 3);
    cJSON_Delete(s);

    write_file("notadev", "x");
    char ctr[256];
    snprintf(ctr, sizeof ctr, "{\"command\":[\"x\"],\"devices\":[{\"host_path\":\"%s\"}]}", at("notadev"));
    expect_error(ctr, NULL, NULL, "not a device node");
    expect_error("{\"command\":[\"x\"],\"devices\":[{\"host_path\":\"/dev/null\",\"permissions\":\"rwx\"}]}", NULL,
                 NULL, "permissions \"rwx\"");
}

/* ---- masked and read-only paths ---- */

Test(spec, masked_and_readonly_paths)
{
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    const cJSON *masked = get(s, "linux.maskedPaths");
    cr_assert_eq(cJSON_GetArraySize(masked), 10);
    cr_assert(has_string(masked, "/proc/kcore"));
    cr_assert(has_string(masked, "/sys/devices/virtual/powercap"));
    cr_assert_str_eq(joined(get(s, "linux.readonlyPaths")),
                     "/proc/asound /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger");
    cJSON_Delete(s);
    s = must_generate("{\"command\":[\"x\"],\"linux\":{\"security_context\":{\"masked_paths\":[\"/proc/x\"],"
                      "\"readonly_paths\":[]}}}",
                      NULL, NULL);
    cr_assert_str_eq(joined(get(s, "linux.maskedPaths")), "/proc/x");
    cr_assert_eq(cJSON_GetArraySize(get(s, "linux.readonlyPaths")), 0, "an explicit empty list: none");
    cJSON_Delete(s);
}

/* ---- sysctls, annotations, rlimits ---- */

Test(spec, sysctls)
{
    static const char *const defaults[] = { "net.ipv4.ping_group_range=0 0", "kernel.shmmni=100", NULL };
    in.default_sysctls = defaults;
    const char *pod = "{\"linux\":{\"sysctls\":{\"kernel.shmmni\":\"200\",\"net.core.somaxconn\":\"1024\"}}}";
    cJSON *s = must_generate("{\"command\":[\"x\"]}", pod, NULL);
    cr_assert_str_eq(crio_json_string(get(s, "linux.sysctl"), "net.ipv4.ping_group_range"), "0 0");
    cr_assert_str_eq(crio_json_string(get(s, "linux.sysctl"), "kernel.shmmni"), "200", "the pod's win");
    cr_assert_str_eq(crio_json_string(get(s, "linux.sysctl"), "net.core.somaxconn"), "1024");
    cJSON_Delete(s);

    /* Host network: net.* would change the host's; host IPC likewise for the IPC ones. */
    pod = "{\"linux\":{\"sysctls\":{\"kernel.shmmni\":\"200\",\"net.core.somaxconn\":\"1024\"},"
          "\"security_context\":{\"namespace_options\":{\"network\":\"NODE\"}}}}";
    s = must_generate("{\"command\":[\"x\"]}", pod, NULL);
    cr_assert_null(get(get(s, "linux.sysctl"), "net.core.somaxconn"));
    cr_assert_null(crio_json_string(get(s, "linux.sysctl"), "net.ipv4.ping_group_range"));
    cr_assert_str_eq(crio_json_string(get(s, "linux.sysctl"), "kernel.shmmni"), "200");
    cJSON_Delete(s);
    pod = "{\"linux\":{\"sysctls\":{\"kernel.shmmni\":\"200\"},"
          "\"security_context\":{\"namespace_options\":{\"network\":\"NODE\",\"ipc\":\"NODE\"}}}}";
    in.default_sysctls = NULL;
    s = must_generate("{\"command\":[\"x\"]}", pod, NULL);
    cr_assert_null(get(s, "linux.sysctl"));
    cJSON_Delete(s);
    static const char *const bad[] = { "novalue", NULL };
    in.default_sysctls = bad;
    expect_error("{\"command\":[\"x\"]}", NULL, NULL, "default_sysctls");
}

Test(spec, annotations_and_version)
{
    cJSON *s = must_generate("{\"command\":[\"x\"],\"annotations\":{\"a\":\"1\","
                             "\"io.kubernetes.cri-o.ContainerType\":\"sandbox\"},\"labels\":{\"l\":\"2\"}}",
                             NULL, NULL);
    cr_assert_str_eq(crio_json_string(s, "ociVersion"), "1.0.2");
    const cJSON *ann = get(s, "annotations");
    cr_assert_str_eq(crio_json_string(ann, "a"), "1");
    cr_assert_str_eq(crio_json_string(ann, "io.kubernetes.cri-o.ContainerType"), "container");
    cr_assert_str_eq(crio_json_string(ann, "io.kubernetes.cri-o.SandboxID"), in.pod_id);
    cr_assert_null(crio_json_string(ann, "l"), "labels are not in the spec");
    cJSON_Delete(s);
}

Test(spec, rlimits)
{
    cJSON *s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    const cJSON *rl = cJSON_GetArrayItem(get(s, "process.rlimits"), 0);
    cr_assert_str_eq(crio_json_string(rl, "type"), "RLIMIT_NOFILE");
    int64_t n = crio_json_int(rl, "hard", 0);
    cr_assert(n > 0 && n <= CRIO_SPEC_DEFAULT_NOFILE, "%lld", (long long)n);
    cr_assert_eq(crio_json_int(rl, "soft", 0), n);
    cJSON_Delete(s);
    static const char *const ulimits[] = { "nofile=1024:2048", "nproc=512", "core=-1", NULL };
    in.default_ulimits = ulimits;
    s = must_generate("{\"command\":[\"x\"]}", NULL, NULL);
    const cJSON *list = get(s, "process.rlimits");
    cr_assert_eq(cJSON_GetArraySize(list), 3);
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(list, 0), "type"), "RLIMIT_NOFILE");
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(list, 0), "soft", 0), 1024);
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(list, 0), "hard", 0), 2048);
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(list, 1), "hard", 0), 512);
    char *text = cJSON_PrintUnformatted(cJSON_GetArrayItem(list, 2));
    cr_assert(strstr(text, "\"hard\":18446744073709551615"), "%s", text);
    free(text);
    cJSON_Delete(s);
    static const char *const bad[] = { "nofile=10:5", NULL };
    in.default_ulimits = bad;
    expect_error("{\"command\":[\"x\"]}", NULL, NULL, "default_ulimits");
}

/* ---- stop signal ---- */

Test(spec, stop_signal)
{
    cr_assert_eq(crio_spec_parse_signal("SIGQUIT"), SIGQUIT);
    cr_assert_eq(crio_spec_parse_signal("QUIT"), SIGQUIT);
    cr_assert_eq(crio_spec_parse_signal("sigusr1"), SIGUSR1);
    cr_assert_eq(crio_spec_parse_signal("3"), 3);
    cr_assert_eq(crio_spec_parse_signal("9"), SIGKILL);
    cr_assert_eq(crio_spec_parse_signal("SIGRTMIN+2"), SIGRTMIN + 2);
    cr_assert_eq(crio_spec_parse_signal("RTMAX-1"), SIGRTMAX - 1);
    cr_assert_eq(crio_spec_parse_signal("RTMAX"), SIGRTMAX);
    cr_assert_eq(crio_spec_parse_signal("0"), -1);
    cr_assert_eq(crio_spec_parse_signal("65"), -1);
    cr_assert_eq(crio_spec_parse_signal("RTMIN+99"), -1);
    cr_assert_eq(crio_spec_parse_signal("SIGBOGUS"), -1);
    cr_assert_eq(crio_spec_parse_signal(""), -1);
    cr_assert_eq(crio_spec_parse_signal(NULL), -1);

    cJSON *img = cJSON_Parse("{\"config\":{\"StopSignal\":\"SIGWINCH\"}}");
    cr_assert_eq(crio_spec_stop_signal(img), SIGWINCH);
    cJSON_Delete(img);
    img = cJSON_Parse("{\"config\":{\"StopSignal\":\"NOPE\"}}");
    cr_assert_eq(crio_spec_stop_signal(img), SIGTERM);
    cr_assert_eq(crio_spec_stop_signal(NULL), SIGTERM);
    cJSON *ctr = cJSON_Parse("{\"stop_signal\":18}"); /* SIGQUIT in the CRI enum */
    cr_assert_eq(crio_spec_container_stop_signal(ctr, img), SIGQUIT);
    cJSON_Delete(ctr);
    ctr = cJSON_Parse("{\"stop_signal\":36}"); /* SIGRTMINPLUS1 */
    cr_assert_eq(crio_spec_container_stop_signal(ctr, NULL), SIGRTMIN + 1);
    cJSON_Delete(ctr);
    ctr = cJSON_Parse("{\"stop_signal\":64}"); /* SIGRTMAXMINUS1 */
    cr_assert_eq(crio_spec_container_stop_signal(ctr, NULL), SIGRTMAX - 1);
    cJSON_Delete(ctr);
    cr_assert_eq(crio_spec_container_stop_signal(NULL, img), SIGTERM);
    cJSON_Delete(img);
}

Test(spec, input_checks)
{
    cJSON *spec = NULL;
    cr_assert_eq(crio_spec_generate(&spec, NULL), CRIO_EINVAL);
    in.rootfs = "relative";
    expect_error("{\"command\":[\"x\"]}", NULL, NULL, "rootfs");
}

/* ---- runc accepts what we generate ---- */

static bool have_runc(void)
{
    return geteuid() == 0 && system("command -v runc >/dev/null 2>&1") == 0 && access("/bin/busybox", X_OK) == 0;
}

/* Runs `cmd`, returning its output (static) and putting its exit status in *status. */
static const char *run_capture(const char *cmd, int *status)
{
    static char out[8192];
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    *status = pclose(p);
    return out;
}

Test(spec, runc_runs_generated_spec, .timeout = 120)
{
    if (!have_runc())
        cr_skip_test("needs root, runc and /bin/busybox");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/bin %s/proc %s/sys %s/dev %s/etc && cp /bin/busybox %s/bin/busybox", rootfs,
             rootfs, rootfs, rootfs, rootfs, rootfs);
    cr_assert_eq(system(cmd), 0);
    write_file("pod/hostname", "spec-pod\n");
    write_file("pod/hosts", "127.0.0.1 localhost\n");
    write_file("pod/resolv.conf", "nameserver 127.0.0.1\n");
    write_file("vol/greeting", "from-the-volume\n");
    in.hostname = "spec-pod";
    in.hostname_path = at("pod/hostname");
    in.hosts_path = at("pod/hosts");
    in.resolv_path = at("pod/resolv.conf");
    in.netns_path = in.ipcns_path = in.utsns_path = in.pidns_path = NULL;
    char cgroup[64];
    snprintf(cgroup, sizeof cgroup, "/spec-test-%d", (int)getpid());
    in.cgroups_path = cgroup;
    static const char *const env[] = { "FROM_DEFAULT=yes", NULL };
    in.default_env = env;
    char ctr[1024];
    snprintf(ctr, sizeof ctr,
             "{\"command\":[\"/bin/busybox\",\"sh\",\"-c\"],"
             "\"args\":[\"echo hi; /bin/busybox cat /etc/hostname /data/greeting; /bin/busybox hostname; "
             "/bin/busybox id -u; echo $FROM_DEFAULT; /bin/busybox touch /data/x 2>/dev/null || echo ro\"],"
             "\"mounts\":[{\"container_path\":\"/data\",\"host_path\":\"%s\",\"readonly\":true}],"
             "\"linux\":{\"resources\":{\"memory_limit_in_bytes\":67108864,\"cpu_shares\":256},"
             "\"security_context\":{\"run_as_user\":{\"value\":1000}}}}",
             at("vol"));
    cJSON *spec = must_generate(ctr, NULL, NULL);
    char *text = cJSON_Print(spec);
    cJSON_Delete(spec);
    write_file("config.json", text);
    free(text);

    char id[64];
    snprintf(id, sizeof id, "spec-test-%d-%ld", (int)getpid(), (long)random());
    snprintf(cmd, sizeof cmd, "runc --root %s/runc-root run --bundle %s %s </dev/null 2>&1", dir, dir, id);
    int status;
    const char *out = run_capture(cmd, &status);
    char cleanup[512];
    snprintf(cleanup, sizeof cleanup, "runc --root %s/runc-root delete -f %s >/dev/null 2>&1", dir, id);
    if (system(cleanup) != 0) {
        /* `run` deletes the container when it exits: nothing left is the normal case. */
    }
    cr_assert_eq(status, 0, "runc run failed (%d): %s", status, out);
    cr_assert_str_eq(out, "hi\nspec-pod\nfrom-the-volume\nspec-pod\n1000\nyes\nro\n");
}
