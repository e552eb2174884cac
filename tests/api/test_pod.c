/* Pods and containers through the public API, with real runc, overlay and crio-monitor. */
#include <crio.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char fixtures[128];
static crio_config *cfg;
static crio *c;

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

/* A handle on a fresh root with the busybox fixture imported and a loopback-only CNI network. */
static void open_handle(const char *tmpl, const char *driver)
{
    snprintf(dir, sizeof dir, "%s", tmpl);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(fixtures, sizeof fixtures, "%s/../fixture-images",
             getenv("CRIO_TEST_BUILD") ? getenv("CRIO_TEST_BUILD") : "build/tests");
    run("/usr/bin/python3 tests/fixtures/images.py build %s >/dev/null", fixtures);
    char root[128], runroot[128], regs[128], logs[128], net[128];
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(runroot, sizeof runroot, "%s/run", dir);
    snprintf(regs, sizeof regs, "%s/registries.conf", dir);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(net, sizeof net, "%s/net.d", dir);
    run("mkdir %s && echo '{\"cniVersion\":\"1.0.0\",\"name\":\"lo\",\"plugins\":[{\"type\":\"loopback\"}]}' "
        ">%s/lo.conflist", net, net);
    cr_assert_eq(crio_config_new(&cfg), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.root", root), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.runroot", runroot), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.log_dir", logs), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.storage_driver", driver), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.image.registries_conf", regs), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.network.network_dir", net), 0);
    cr_assert_eq(crio_open(&c, cfg), 0, "%s", errmsg());
    char layout[256];
    snprintf(layout, sizeof layout, "%s/busybox", fixtures);
    cr_assert_eq(crio_image_import(NULL, c, layout, "localhost/busybox:1"), 0, "%s", errmsg());
}

static void setup(void)
{
    open_handle("/tmp/crio-apipod-XXXXXX", "overlay");
}

static void teardown(void)
{
    /* Whatever a failed test left goes with its pods. */
    crio_pod_list *l = NULL;
    if (c && crio_pod_list_get(&l, c, NULL) == 0) {
        for (size_t i = 0; i < crio_pod_list_count(l); i++)
            crio_pod_remove(c, crio_pod_id(crio_pod_list_at(l, i)));
        crio_pod_list_free(l);
    }
    crio_close(c);
    c = NULL;
    crio_config_free(cfg);
    run("rm -rf %s", dir);
}

TestSuite(pod, .init = setup, .fini = teardown, .timeout = 120);

static char *run_pod(const char *name)
{
    crio_pod_config *pc = NULL;
    cr_assert_eq(crio_pod_config_new(&pc), 0);
    cr_assert_eq(crio_pod_config_set_metadata(pc, name, "uid-1", "default", 0), 0);
    char logdir[128];
    snprintf(logdir, sizeof logdir, "%s/podlogs/%s", dir, name);
    cr_assert_eq(crio_pod_config_set_log_directory(pc, logdir), 0);
    cr_assert_eq(crio_pod_config_set_label(pc, "app", name), 0);
    /* Each container its own PID namespace, as the kubelet asks unless shareProcessNamespace. */
    cr_assert_eq(crio_pod_config_set_namespace_mode(pc, CRIO_NS_PID, CRIO_NS_CONTAINER), 0);
    char *id = NULL;
    cr_assert_eq(crio_pod_run(&id, c, pc, NULL), 0, "%s", errmsg());
    crio_pod_config_free(pc);
    return id;
}

static char *create_ctr(const char *pod, const char *name, const char *script)
{
    crio_container_config *cc = NULL;
    cr_assert_eq(crio_container_config_new(&cc), 0);
    cr_assert_eq(crio_container_config_set_metadata(cc, name, 0), 0);
    cr_assert_eq(crio_container_config_set_image(cc, "localhost/busybox:1"), 0);
    cr_assert_eq(crio_container_config_add_command(cc, "/bin/sh"), 0);
    cr_assert_eq(crio_container_config_add_arg(cc, "-c"), 0);
    cr_assert_eq(crio_container_config_add_arg(cc, script), 0);
    char lp[128];
    snprintf(lp, sizeof lp, "%s.log", name);
    cr_assert_eq(crio_container_config_set_log_path(cc, lp), 0);
    char *id = NULL;
    cr_assert_eq(crio_container_create(&id, c, pod, cc), 0, "%s", errmsg());
    crio_container_config_free(cc);
    return id;
}

static crio_container_state state_of(const char *id)
{
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, id), 0, "%s", errmsg());
    crio_container_state s = crio_container_state_get(ct);
    crio_container_free(ct);
    return s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wait_state(const char *id, crio_container_state want, double timeout)
{
    double end = now() + timeout;
    while (state_of(id) != want) {
        cr_assert_lt(now(), end, "container %s did not reach state %d", id, (int)want);
        usleep(10000);
    }
}

/* Events, recorded for the assertions. */
struct events {
    pthread_mutex_t mu;
    char log[4096];
};

static void on_event(const crio_event *ev, void *payload)
{
    struct events *e = payload;
    static const char *const names[] = { "CREATED", "STARTED", "STOPPED", "DELETED" };
    pthread_mutex_lock(&e->mu);
    size_t len = strlen(e->log);
    snprintf(e->log + len, sizeof e->log - len, "%s:%.12s ", names[crio_event_type_get(ev)],
             crio_event_container_id(ev));
    pthread_mutex_unlock(&e->mu);
}

Test(pod, container_prints_and_exits)
{
    struct events ev = { PTHREAD_MUTEX_INITIALIZER, "" };
    crio_subscription *sub = NULL;
    cr_assert_eq(crio_events_subscribe(&sub, c, on_event, &ev), 0);
    char *pod = run_pod("hello");
    char *ctr = create_ctr(pod, "hello", "echo hello from libcrio; echo to stderr >&2");
    cr_assert_eq(state_of(ctr), CRIO_CONTAINER_CREATED);
    cr_assert_eq(crio_container_start(c, ctr), 0, "%s", errmsg());
    wait_state(ctr, CRIO_CONTAINER_EXITED, 20);
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, ctr), 0);
    cr_assert_eq(crio_container_exit_code(ct), 0);
    cr_assert_str_eq(crio_container_reason(ct), "Completed");
    cr_assert_gt(crio_container_started_at(ct), 0);
    cr_assert_geq(crio_container_finished_at(ct), crio_container_started_at(ct));
    cr_assert_str_eq(crio_container_image(ct), "localhost/busybox:1");
    char want_log[256];
    snprintf(want_log, sizeof want_log, "%s/podlogs/hello/hello.log", dir);
    cr_assert_str_eq(crio_container_log_path(ct), want_log);
    cr_assert(strstr(crio_container_info_json(ct), "runtimeSpec"));
    crio_container_free(ct);
    /* The CRI log format: time, stream, tag, text. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+) stdout F hello from libcrio$' %s && "
             "grep -Eq ' stderr F to stderr$' %s", want_log, want_log);
    cr_assert_eq(system(cmd), 0, "log %s has the wrong content", want_log);
    cr_assert_eq(crio_container_remove(c, ctr), 0, "%s", errmsg());
    cr_assert_eq(crio_container_get(&ct, c, ctr), CRIO_ENOTFOUND);
    crio_events_unsubscribe(sub);
    char want[512];
    snprintf(want, sizeof want, "CREATED:%.12s STARTED:%.12s STOPPED:%.12s DELETED:%.12s ", ctr, ctr, ctr, ctr);
    cr_assert_str_eq(ev.log, want);
    cr_assert_eq(crio_pod_stop(c, pod), 0, "%s", errmsg());
    cr_assert_eq(crio_pod_stop(c, pod), 0, "stop is idempotent: %s", errmsg());
    cr_assert_eq(crio_pod_remove(c, pod), 0, "%s", errmsg());
    cr_assert_eq(crio_pod_remove(c, pod), 0, "remove of an absent pod succeeds");
    free(ctr);
    free(pod);
}

Test(pod, exit_code_and_reason)
{
    char *pod = run_pod("exitcode");
    char *ctr = create_ctr(pod, "fail", "exit 3");
    cr_assert_eq(crio_container_start(c, ctr), 0, "%s", errmsg());
    wait_state(ctr, CRIO_CONTAINER_EXITED, 20);
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, ctr), 0);
    cr_assert_eq(crio_container_exit_code(ct), 3);
    cr_assert_str_eq(crio_container_reason(ct), "Error");
    crio_container_free(ct);
    free(ctr);
    free(pod);
}

Test(pod, stop_honours_sigterm_and_kills_after_timeout)
{
    char *pod = run_pod("stopper");
    /* A shell that handles TERM exits at once; plain sleep as PID 1 ignores TERM and needs KILL. */
    char *polite = create_ctr(pod, "polite", "trap 'exit 0' TERM; while :; do sleep 0.1; done");
    char *stubborn = create_ctr(pod, "stubborn", "exec sleep 1000");
    cr_assert_eq(crio_container_start(c, polite), 0, "%s", errmsg());
    cr_assert_eq(crio_container_start(c, stubborn), 0, "%s", errmsg());
    double t0 = now();
    cr_assert_eq(crio_container_stop(c, polite, 10), 0, "%s", errmsg());
    cr_assert_lt(now() - t0, 5.0, "a container that handles SIGTERM stops at once");
    t0 = now();
    cr_assert_eq(crio_container_stop(c, stubborn, 1), 0, "%s", errmsg());
    double took = now() - t0;
    cr_assert_geq(took, 0.9, "SIGKILL came before the timeout (%.2fs)", took);
    cr_assert_lt(took, 6.0);
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, stubborn), 0);
    cr_assert_eq(crio_container_state_get(ct), CRIO_CONTAINER_EXITED);
    cr_assert_eq(crio_container_exit_code(ct), 137);
    crio_container_free(ct);
    cr_assert_eq(crio_container_get(&ct, c, polite), 0);
    cr_assert_eq(crio_container_exit_code(ct), 0);
    crio_container_free(ct);
    free(polite);
    free(stubborn);
    free(pod);
}

Test(pod, exec_sync)
{
    char *pod = run_pod("exec");
    char *ctr = create_ctr(pod, "sleeper", "exec sleep 1000");
    cr_assert_eq(crio_container_start(c, ctr), 0, "%s", errmsg());
    const char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 5" };
    crio_exec_result *r = NULL;
    cr_assert_eq(crio_container_exec_sync(&r, c, ctr, argv, 3, 10), 0, "%s", errmsg());
    size_t n = 0;
    const char *out = crio_exec_result_stdout(r, &n);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(out, "out\n", 4), 0);
    const char *err = crio_exec_result_stderr(r, &n);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(err, "err\n", 4), 0);
    cr_assert_eq(crio_exec_result_exit_code(r), 5);
    crio_exec_result_free(r);
    const char *slow[] = { "/bin/sleep", "30" };
    double t0 = now();
    cr_assert_eq(crio_container_exec_sync(&r, c, ctr, slow, 2, 1), CRIO_ETIMEDOUT);
    cr_assert_lt(now() - t0, 10.0);
    free(ctr);
    free(pod);
}

Test(pod, names_are_reserved)
{
    char *pod = run_pod("dup");
    crio_pod_config *pc = NULL;
    cr_assert_eq(crio_pod_config_new(&pc), 0);
    cr_assert_eq(crio_pod_config_set_metadata(pc, "dup", "uid-1", "default", 0), 0);
    char *id2 = NULL;
    cr_assert_eq(crio_pod_run(&id2, c, pc, NULL), CRIO_EEXISTS);
    cr_assert(strstr(errmsg(), "reserved"), "%s", errmsg());
    cr_assert(strstr(errmsg(), pod), "the message names the owner: %s", errmsg());
    cr_assert_eq(crio_pod_run(&id2, c, pc, "no-such-handler"), CRIO_EINVAL);
    crio_pod_config_free(pc);
    char *ctr = create_ctr(pod, "one", "true");
    crio_container_config *cc = NULL;
    cr_assert_eq(crio_container_config_new(&cc), 0);
    cr_assert_eq(crio_container_config_set_metadata(cc, "one", 0), 0);
    cr_assert_eq(crio_container_config_set_image(cc, "localhost/busybox:1"), 0);
    char *ctr2 = NULL;
    cr_assert_eq(crio_container_create(&ctr2, c, pod, cc), CRIO_EEXISTS);
    cr_assert_eq(crio_container_config_set_metadata(cc, "two", 0), 0);
    cr_assert_eq(crio_container_config_set_image(cc, "localhost/no-such-image:1"), 0);
    cr_assert_eq(crio_container_create(&ctr2, c, pod, cc), CRIO_ENOTFOUND);
    cr_assert_eq(crio_container_create(&ctr2, c, "0123456789ab", cc), CRIO_ENOTFOUND);
    crio_container_config_free(cc);
    /* The image is in use: it cannot go. */
    cr_assert_eq(crio_image_remove(c, "localhost/busybox:1"), CRIO_EBUSY);
    cr_assert(strstr(errmsg(), ctr), "%s", errmsg());
    free(ctr);
    free(pod);
}

Test(pod, reopened_handle_recovers_running_and_exited)
{
    char *pod = run_pod("recover");
    char *runner = create_ctr(pod, "runner", "exec sleep 1000");
    char *quitter = create_ctr(pod, "quitter", "exec sleep 1001");
    cr_assert_eq(crio_container_start(c, runner), 0, "%s", errmsg());
    cr_assert_eq(crio_container_start(c, quitter), 0, "%s", errmsg());
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, quitter), 0);
    int64_t qpid = crio_container_pid(ct);
    crio_container_free(ct);
    cr_assert_gt(qpid, 0);
    crio_close(c);
    c = NULL;
    /* While nobody watches, one container exits. */
    kill((pid_t)qpid, SIGKILL);
    double end = now() + 10;
    while (kill((pid_t)qpid, 0) == 0)
        cr_assert_lt(now(), end);
    cr_assert_eq(crio_open(&c, cfg), 0, "%s", errmsg());
    wait_state(quitter, CRIO_CONTAINER_EXITED, 10);
    cr_assert_eq(crio_container_get(&ct, c, quitter), 0);
    cr_assert_eq(crio_container_exit_code(ct), 137, "exit code %d reason %s message %s",
                 crio_container_exit_code(ct), crio_container_reason(ct), crio_container_message(ct));
    cr_assert_gt(crio_container_finished_at(ct), 0);
    crio_container_free(ct);
    cr_assert_eq(crio_container_get(&ct, c, runner), 0);
    cr_assert_eq(crio_container_state_get(ct), CRIO_CONTAINER_RUNNING);
    cr_assert_gt(crio_container_pid(ct), 0);
    cr_assert_eq(kill((pid_t)crio_container_pid(ct), 0), 0, "the running container still runs");
    crio_container_free(ct);
    crio_pod *p = NULL;
    cr_assert_eq(crio_pod_get(&p, c, pod), 0);
    cr_assert_eq(crio_pod_state_get(p), CRIO_POD_READY);
    crio_pod_free(p);
    free(runner);
    free(quitter);
    free(pod);
}

Test(pod, list_filters)
{
    char *a = run_pod("list-a");
    char *b = run_pod("list-b");
    crio_pod_filter *f = NULL;
    cr_assert_eq(crio_pod_filter_new(&f), 0);
    cr_assert_eq(crio_pod_filter_add_label(f, "app", "list-b"), 0);
    crio_pod_list *l = NULL;
    cr_assert_eq(crio_pod_list_get(&l, c, f), 0);
    cr_assert_eq(crio_pod_list_count(l), 1);
    cr_assert_str_eq(crio_pod_id(crio_pod_list_at(l, 0)), b);
    crio_pod_list_free(l);
    crio_pod_filter_free(f);
    cr_assert_eq(crio_pod_stop(c, a), 0);
    cr_assert_eq(crio_pod_filter_new(&f), 0);
    cr_assert_eq(crio_pod_filter_set_state(f, CRIO_POD_NOTREADY), 0);
    cr_assert_eq(crio_pod_list_get(&l, c, f), 0);
    cr_assert_eq(crio_pod_list_count(l), 1);
    cr_assert_str_eq(crio_pod_id(crio_pod_list_at(l, 0)), a);
    crio_pod_list_free(l);
    crio_pod_filter_free(f);
    char *ca = create_ctr(b, "x", "true");
    crio_container_filter *cf = NULL;
    cr_assert_eq(crio_container_filter_new(&cf), 0);
    cr_assert_eq(crio_container_filter_set_pod_id(cf, b), 0);
    cr_assert_eq(crio_container_filter_set_state(cf, CRIO_CONTAINER_CREATED), 0);
    crio_container_list *cl = NULL;
    cr_assert_eq(crio_container_list_get(&cl, c, cf), 0);
    cr_assert_eq(crio_container_list_count(cl), 1);
    cr_assert_str_eq(crio_container_id(crio_container_list_at(cl, 0)), ca);
    crio_container_list_free(cl);
    crio_container_filter_free(cf);
    free(ca);
    free(a);
    free(b);
}

/* Where overlay is unavailable, the vfs driver gives each container a private copy of its image. */
static void setup_vfs(void)
{
    open_handle("/tmp/crio-apivfs-XXXXXX", "vfs");
}

TestSuite(vfs, .init = setup_vfs, .fini = teardown, .timeout = 120);

Test(vfs, container_writes_to_its_own_copy)
{
    char *pod = run_pod("vfs");
    char *a = create_ctr(pod, "writer", "echo mine > /bin/marker; cat /bin/marker");
    char *b = create_ctr(pod, "reader", "test ! -e /bin/marker");
    cr_assert_eq(crio_container_start(c, a), 0, "%s", errmsg());
    wait_state(a, CRIO_CONTAINER_EXITED, 20);
    cr_assert_eq(crio_container_start(c, b), 0, "%s", errmsg());
    wait_state(b, CRIO_CONTAINER_EXITED, 20);
    crio_container *ct = NULL;
    cr_assert_eq(crio_container_get(&ct, c, a), 0);
    cr_assert_eq(crio_container_exit_code(ct), 0);
    crio_container_free(ct);
    cr_assert_eq(crio_container_get(&ct, c, b), 0);
    cr_assert_eq(crio_container_exit_code(ct), 0, "the other container saw the first one's file");
    crio_container_free(ct);
    crio_stats *st = NULL;
    cr_assert_eq(crio_container_stats_get(&st, c, a), 0, "%s", errmsg());
    cr_assert_gt(crio_stats_writable_bytes(st), 1000000, "a vfs container's layer is the whole tree: %llu bytes",
                 (unsigned long long)crio_stats_writable_bytes(st));
    crio_stats_free(st);
    /* Removal takes the copy with it. */
    cr_assert_eq(crio_container_remove(c, a), 0, "%s", errmsg());
    char path[256];
    snprintf(path, sizeof path, "%s/root/containers/%s", dir, a);
    cr_assert_neq(access(path, F_OK), 0, "%s is still there", path);
    free(a);
    free(b);
    free(pod);
}
