/* The public API as a program linking libcrio.so sees it. */
#include <crio.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static crio_config *cfg;

static void setup(void)
{
    strcpy(dir, "/tmp/crio-api-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char root[128], runroot[128], net[128];
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(runroot, sizeof runroot, "%s/run", dir);
    snprintf(net, sizeof net, "%s/net.d", dir);
    mkdir(net, 0755);
    cr_assert_eq(crio_config_new(&cfg), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.root", root), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.runroot", runroot), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.network.network_dir", net), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.runtime.runtimes.runc.runtime_path", "/bin/true"), 0);
}

static void teardown(void)
{
    crio_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(handle, .init = setup, .fini = teardown);

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

Test(handle, version_matches_header)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CRIO_VERSION_MAJOR, CRIO_VERSION_MINOR, CRIO_VERSION_PATCH);
    cr_assert_str_eq(crio_version(), want);
    cr_assert_str_eq(crio_runtime_api_version(), "v1");
}

Test(handle, second_open_of_same_root_names_holder)
{
    crio *a = NULL, *b = NULL;
    cr_assert_eq(crio_open(&a, cfg), 0, "%s", errmsg());
    cr_assert_eq(crio_open(&b, cfg), CRIO_EBUSY);
    cr_assert_null(b);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    cr_assert(strstr(errmsg(), pid), "names the holder: %s", errmsg());
    cr_assert(strstr(errmsg(), dir), "names the root: %s", errmsg());
    crio_close(a);
    cr_assert_eq(crio_open(&b, cfg), 0, "lock released by close: %s", errmsg());
    crio_close(b);
}

Test(handle, another_process_cannot_open_held_root)
{
    crio *a = NULL;
    cr_assert_eq(crio_open(&a, cfg), 0);
    pid_t child = fork();
    if (child == 0) {
        crio *b = NULL;
        int r = crio_open(&b, cfg);
        _exit(r == CRIO_EBUSY ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    crio_close(a);
}

Test(handle, status_reports_runtime_and_network)
{
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), 0);
    crio_status *st = NULL;
    cr_assert_eq(crio_status_get(&st, c), 0);
    cr_assert_eq(crio_status_condition_count(st), 2);
    cr_assert_str_eq(crio_status_condition_type(st, 0), CRIO_CONDITION_RUNTIME_READY);
    cr_assert_eq(crio_status_condition_ok(st, 0), 1, "%s", crio_status_condition_message(st, 0));
    cr_assert_str_eq(crio_status_condition_type(st, 1), CRIO_CONDITION_NETWORK_READY);
    cr_assert_eq(crio_status_condition_ok(st, 1), 0);
    cr_assert_str_eq(crio_status_condition_reason(st, 1), "NetworkPluginNotReady");
    cr_assert_null(crio_status_condition_type(st, 2));
    cr_assert_eq(crio_status_handler_count(st), 1);
    cr_assert_str_eq(crio_status_handler_name(st, 0), "runc");
    char *json = NULL;
    cr_assert_eq(crio_status_info_json(&json, st), 0);
    cr_assert(strstr(json, "\"config\""));
    cr_assert(strstr(json, dir));
    crio_free(json);
    crio_status_free(st);

    /* An invalid config is not a network; a valid one appears: NetworkReady follows without a restart. */
    char path[160];
    snprintf(path, sizeof path, "%s/net.d/10-test.conflist", dir);
    FILE *f = fopen(path, "w");
    fputs("{}", f);
    fclose(f);
    cr_assert_eq(crio_status_get(&st, c), 0);
    cr_assert_eq(crio_status_condition_ok(st, 1), 0);
    crio_status_free(st);
    f = fopen(path, "w");
    fputs("{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"loopback\"}]}", f);
    fclose(f);
    cr_assert_eq(crio_status_get(&st, c), 0);
    cr_assert_eq(crio_status_condition_ok(st, 1), 1, "%s", crio_status_condition_message(st, 1));
    crio_status_free(st);
    /* Emptied again: not ready, at once. */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(crio_status_get(&st, c), 0);
    cr_assert_eq(crio_status_condition_ok(st, 1), 0);
    cr_assert_str_eq(crio_status_condition_reason(st, 1), "NetworkPluginNotReady");
    crio_status_free(st);
    crio_close(c);
}

Test(handle, missing_runtime_is_not_ready)
{
    cr_assert_eq(crio_config_set(cfg, "crio.runtime.runtimes.runc.runtime_path", "/nonexistent/runc"), 0);
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), 0);
    crio_status *st = NULL;
    cr_assert_eq(crio_status_get(&st, c), 0);
    cr_assert_eq(crio_status_condition_ok(st, 0), 0);
    cr_assert(strstr(crio_status_condition_message(st, 0), "/nonexistent/runc"), "%s",
              crio_status_condition_message(st, 0));
    crio_status_free(st);
    crio_close(c);
}

Test(handle, reload_applies_log_level_and_refuses_root_change)
{
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), 0);
    crio_config *next = NULL;
    cr_assert_eq(crio_config_copy(&next, cfg), 0);
    cr_assert_eq(crio_config_set(next, "crio.runtime.log_level", "debug"), 0);
    cr_assert_eq(crio_reload(c, next), 0, "%s", errmsg());
    cr_assert_eq(crio_log_get_level(), CRIO_LOG_DEBUG);
    const char *lvl = NULL;
    cr_assert_eq(crio_config_get_string(crio_get_config(c), "crio.runtime.log_level", &lvl), 0);
    cr_assert_str_eq(lvl, "debug");
    cr_assert_eq(crio_config_set(next, "crio.root", "/somewhere/else"), 0);
    cr_assert_eq(crio_reload(c, next), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "crio.root"), "%s", errmsg());
    crio_config_free(next);
    crio_close(c);
    crio_log_set_level(CRIO_LOG_INFO);
}

static int lines;
static void count_lines(crio_log_level level, const char *msg, void *payload)
{
    if (strstr(msg, (const char *)payload))
        lines++;
}

Test(handle, log_handler_receives_library_lines)
{
    lines = 0;
    crio_log_set_handler(count_lines, dir);
    /* The handle's configuration sets the library's level. */
    cr_assert_eq(crio_config_set(cfg, "crio.runtime.log_level", "debug"), 0);
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), 0);
    crio_close(c);
    crio_log_set_handler(NULL, NULL);
    crio_log_set_level(CRIO_LOG_INFO);
    cr_assert_geq(lines, 1, "the debug line naming the root reached the handler");
}

/* The configuration directory is read again only when something in it changed, also after a reload. */
Test(handle, network_dir_is_read_only_after_a_change)
{
    char path[160];
    snprintf(path, sizeof path, "%s/net.d/10-a.conflist", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"plugins\":[{\"type\":\"loopback\"}]}", f);
    fclose(f);
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), 0, "%s", errmsg());
    crio_config *next = NULL;
    cr_assert_eq(crio_config_copy(&next, cfg), 0);
    cr_assert_eq(crio_reload(c, next), 0, "%s", errmsg()); /* the watch is replaced */
    crio_config_free(next);
    lines = 0;
    crio_log_set_handler(count_lines, "CNI: default network");
    crio_status *st = NULL;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(crio_status_get(&st, c), 0);
        cr_assert_eq(crio_status_condition_ok(st, 1), 1);
        crio_status_free(st);
    }
    cr_assert_eq(lines, 0, "the directory was read again %d times without a change", lines);
    /* A change is read once. */
    cr_assert_eq(unlink(path), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(crio_status_get(&st, c), 0);
        cr_assert_eq(crio_status_condition_ok(st, 1), 0);
        crio_status_free(st);
    }
    f = fopen(path, "w");
    fputs("{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"plugins\":[{\"type\":\"loopback\"}]}", f);
    fclose(f);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(crio_status_get(&st, c), 0);
        cr_assert_eq(crio_status_condition_ok(st, 1), 1);
        crio_status_free(st);
    }
    crio_log_set_handler(NULL, NULL);
    cr_assert_eq(lines, 1, "the new file was loaded %d times", lines);
    crio_close(c);
}

Test(handle, open_rejects_invalid_config)
{
    cr_assert_eq(crio_config_set(cfg, "crio.runroot", "not/absolute"), 0);
    crio *c = NULL;
    cr_assert_eq(crio_open(&c, cfg), CRIO_EINVAL);
    cr_assert_null(c);
    cr_assert(strstr(errmsg(), "crio.runroot"), "%s", errmsg());
    cr_assert_eq(crio_open(NULL, cfg), CRIO_EINVAL);
}
