/* crio.conf: defaults, files and drop-ins, flags, strictness, round trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <crio/config.h>

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/crio-config-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Returns the path, valid for the rest of the test (one per name written). */
static char *write_file(const char *name, const char *text)
{
    static char path[16][256];
    static int k;
    char *p = path[k++ % 16];
    snprintf(p, 256, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *str(const crio_config *c, const char *key)
{
    const char *v = NULL;
    cr_assert_eq(crio_config_get_string(c, key, &v), 0, "%s", key);
    return v;
}

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults)
{
    crio_config *c;
    cr_assert_eq(crio_config_new(&c), 0);
    cr_assert_str_eq(str(c, "crio.root"), "/var/lib/crio");
    cr_assert_str_eq(str(c, "crio.api.listen"), "/run/crio/crio.sock");
    cr_assert_str_eq(str(c, "crio.runtime.default_runtime"), "runc");
    cr_assert_str_eq(str(c, "crio.runtime.runtimes.runc.runtime_root"), "/run/runc");
    int64_t n;
    cr_assert_eq(crio_config_get_int(c, "crio.api.grpc_max_recv_msg_size", &n), 0);
    cr_assert_eq(n, 16 * 1024 * 1024);
    const char *const *caps;
    size_t ncaps;
    cr_assert_eq(crio_config_get_list(c, "crio.runtime.default_capabilities", &caps, &ncaps), 0);
    cr_assert_eq(ncaps, 9);
    cr_assert_str_eq(caps[0], "CHOWN");
    cr_assert_null(caps[ncaps]);
    cr_assert_eq(crio_config_validate(c), 0);
    cr_assert_eq(crio_config_get_int(c, "crio.root", &n), CRIO_EINVAL, "wrong type");
    cr_assert_eq(crio_config_get_string(c, "crio.nope", NULL), CRIO_ENOTFOUND);
    crio_config_free(c);
}

Test(config, file_then_dropins_in_lexical_order)
{
    char *main = write_file("crio.conf",
                            "[crio]\nroot = \"/srv/crio\"\n[crio.api]\nlisten = \"/run/a.sock\"\n"
                            "[crio.runtime]\nlog_level = \"debug\"\n");
    char d[128];
    snprintf(d, sizeof d, "%s/crio.conf.d", dir);
    mkdir(d, 0755);
    write_file("crio.conf.d/20-b.conf", "[crio.api]\nlisten = \"/run/b.sock\"\n");
    write_file("crio.conf.d/10-a.conf", "[crio.api]\nlisten = \"/run/not-this.sock\"\nstream_port = \"10010\"\n");
    write_file("crio.conf.d/30-ignored.txt", "this is not toml");
    crio_config *c;
    cr_assert_eq(crio_config_load(&c, main, d), 0, "%s", errmsg());
    cr_assert_str_eq(str(c, "crio.root"), "/srv/crio");
    cr_assert_str_eq(str(c, "crio.api.listen"), "/run/b.sock", "20-b overrides 10-a overrides crio.conf");
    cr_assert_str_eq(str(c, "crio.api.stream_port"), "10010");
    cr_assert_str_eq(str(c, "crio.runtime.log_level"), "debug");
    cr_assert_eq(crio_config_set(c, "crio.api.listen", "/run/flag.sock"), 0);
    cr_assert_str_eq(str(c, "crio.api.listen"), "/run/flag.sock", "flags override files");
    crio_config_free(c);
}

Test(config, runtime_handlers_merge)
{
    char *f = write_file("c.conf",
                         "[crio.runtime]\ndefault_runtime = \"crun\"\n"
                         "[crio.runtime.runtimes.crun]\nruntime_path = \"/usr/bin/crun\"\n"
                         "allowed_annotations = [\"io.kubernetes.cri-o.Devices\"]\n"
                         "[crio.runtime.runtimes.runc]\nruntime_root = \"/run/other-runc\"\n");
    crio_config *c;
    cr_assert_eq(crio_config_load(&c, f, dir), 0, "%s", errmsg());
    cr_assert_eq(crio_config_runtime_count(c), 2);
    cr_assert_str_eq(crio_config_runtime_name(c, 0), "runc");
    cr_assert_str_eq(crio_config_runtime_name(c, 1), "crun");
    cr_assert_null(crio_config_runtime_name(c, 2));
    cr_assert_str_eq(str(c, "crio.runtime.runtimes.crun.runtime_path"), "/usr/bin/crun");
    cr_assert_str_eq(str(c, "crio.runtime.runtimes.crun.runtime_type"), "oci", "defaults for a new handler");
    cr_assert_str_eq(str(c, "crio.runtime.runtimes.runc.runtime_root"), "/run/other-runc");
    cr_assert_eq(crio_config_set(c, "crio.runtime.runtimes.kata.runtime_path", "/opt/kata"), 0);
    cr_assert_eq(crio_config_runtime_count(c), 3);
    crio_config_free(c);
}

Test(config, unknown_key_is_an_error_naming_it)
{
    char *f = write_file("c.conf", "[crio.api]\nlisten = \"/x.sock\"\nbogus = 1\n");
    crio_config *c = NULL;
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    cr_assert_null(c);
    cr_assert(strstr(errmsg(), "crio.api.bogus"), "%s", errmsg());
    cr_assert(strstr(errmsg(), ":3:"), "names the line: %s", errmsg());
    f = write_file("c.conf", "[crio.storage]\nx = 1\n");
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "crio.storage"), "%s", errmsg());
    f = write_file("c.conf", "[crio.runtime.runtimes.runc]\nruntime_pth = \"/x\"\n");
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "crio.runtime.runtimes.runc.runtime_pth"), "%s", errmsg());
    cr_assert_eq(crio_config_new(&c), 0);
    cr_assert_eq(crio_config_set(c, "crio.api.nope", "1"), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "crio.api.nope"), "%s", errmsg());
    crio_config_free(c);
}

Test(config, wrong_type_is_an_error)
{
    char *f = write_file("c.conf", "[crio.api]\ngrpc_max_recv_msg_size = \"big\"\n");
    crio_config *c = NULL;
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "grpc_max_recv_msg_size"), "%s", errmsg());
    cr_assert(strstr(errmsg(), "integer"), "%s", errmsg());
    f = write_file("c.conf", "[crio.runtime]\ndefault_capabilities = [\"CHOWN\", 3]\n");
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), ":2:"), "%s", errmsg());
}

Test(config, syntax_error_names_file_line_column)
{
    char *f = write_file("c.conf", "[crio]\nroot = \"/a\"\nrunroot \"/b\"\n");
    crio_config *c = NULL;
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_EINVAL);
    char want[160];
    snprintf(want, sizeof want, "%s:3:", f);
    cr_assert(strstr(errmsg(), want), "%s", errmsg());
}

Test(config, invalid_values)
{
    crio_config *c;
    cr_assert_eq(crio_config_new(&c), 0);
    cr_assert_eq(crio_config_set(c, "crio.runtime.cgroup_manager", "weird"), 0);
    cr_assert_eq(crio_config_validate(c), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "cgroup_manager"), "%s", errmsg());
    cr_assert_eq(crio_config_set(c, "crio.runtime.cgroup_manager", "systemd"), 0);
    cr_assert_eq(crio_config_set(c, "crio.root", "relative/path"), 0);
    cr_assert_eq(crio_config_validate(c), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "crio.root"), "%s", errmsg());
    cr_assert_eq(crio_config_set(c, "crio.root", "/abs"), 0);
    cr_assert_eq(crio_config_set(c, "crio.runtime.default_runtime", "missing"), 0);
    cr_assert_eq(crio_config_validate(c), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "missing"), "%s", errmsg());
    cr_assert_eq(crio_config_set(c, "crio.runtime.default_runtime", "runc"), 0);
    cr_assert_eq(crio_config_set(c, "crio.api.thread_pool_size", "0"), 0);
    cr_assert_eq(crio_config_validate(c), CRIO_EINVAL);
    cr_assert_eq(crio_config_set(c, "crio.api.thread_pool_size", "ten"), CRIO_EINVAL);
    cr_assert_eq(crio_config_set(c, "crio.runtime.selinux", "yes"), CRIO_EINVAL);
    cr_assert_eq(crio_config_set(c, "crio.runtime.log_level", "loud"), 0);
    cr_assert_eq(crio_config_set(c, "crio.api.thread_pool_size", "4"), 0);
    cr_assert_eq(crio_config_validate(c), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "log_level"), "%s", errmsg());
    crio_config_free(c);
}

Test(config, merge_failure_leaves_config_unchanged)
{
    crio_config *c;
    cr_assert_eq(crio_config_new(&c), 0);
    cr_assert_eq(crio_config_merge_string(c, "[crio]\nroot = \"/changed\"\nbogus = 1\n", "x.conf"), CRIO_EINVAL);
    cr_assert_str_eq(str(c, "crio.root"), "/var/lib/crio");
    crio_config_free(c);
}

Test(config, explicit_missing_file_is_an_error)
{
    char f[128];
    snprintf(f, sizeof f, "%s/absent.conf", dir);
    crio_config *c = NULL;
    cr_assert_eq(crio_config_load(&c, f, dir), CRIO_ENOTFOUND);
    cr_assert(strstr(errmsg(), "absent.conf"), "%s", errmsg());
}

Test(config, to_toml_round_trips)
{
    char *f = write_file("c.conf",
                         "[crio]\nroot = \"/srv/with \\\"quotes\\\" and \\\\ back\"\n"
                         "[crio.runtime]\ndefault_env = [\"A=1\", \"B=tab\\there\"]\nselinux = true\n"
                         "[crio.runtime.runtimes.\"my.handler\"]\nruntime_path = \"/bin/h\"\n");
    crio_config *c;
    cr_assert_eq(crio_config_load(&c, f, dir), 0, "%s", errmsg());
    char *t1 = NULL;
    cr_assert_eq(crio_config_to_toml(&t1, c), 0);
    char *g = write_file("printed.conf", t1);
    crio_config *c2;
    cr_assert_eq(crio_config_load(&c2, g, dir), 0, "%s\n%s", errmsg(), t1);
    char *t2 = NULL;
    cr_assert_eq(crio_config_to_toml(&t2, c2), 0);
    cr_assert_str_eq(t1, t2);
    cr_assert_str_eq(str(c2, "crio.root"), "/srv/with \"quotes\" and \\ back");
    cr_assert_str_eq(str(c2, "crio.runtime.runtimes.my.handler.runtime_path"), "/bin/h");
    int b;
    cr_assert_eq(crio_config_get_bool(c2, "crio.runtime.selinux", &b), 0);
    cr_assert_eq(b, 1);
    free(t1);
    free(t2);
    crio_config_free(c);
    crio_config_free(c2);
}

Test(config, copy_is_deep)
{
    crio_config *a, *b;
    cr_assert_eq(crio_config_new(&a), 0);
    cr_assert_eq(crio_config_copy(&b, a), 0);
    cr_assert_eq(crio_config_set(a, "crio.root", "/changed"), 0);
    cr_assert_str_eq(str(b, "crio.root"), "/var/lib/crio");
    crio_config_free(a);
    crio_config_free(b);
}
