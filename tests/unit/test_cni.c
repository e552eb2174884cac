/*
 * lib/network/cni: loading configs, ADD/DEL with the real plugins of
 * containernetworking-plugins (/usr/lib/cni) in a pinned netns, rollback,
 * faults with fake plugins, DEL from what ADD handed back.
 *
 * Every test gets its own temp dir, bridge name, /24 subnet and host-local
 * dataDir, so tests never see each other's state; the fini undoes what a
 * failed test may have left (DEL, bridge, netns pin, temp dir).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/spawn.h"
#include "network/cni.h"
#include "network/ns.h"

#define SYS_PLUGINS "/usr/lib/cni"

static char tmp[64];
static char netdir[128], plugdir[128], datadir[128], pod[128], netns[160];
static char bridge[16];
static char prefix[32]; /* "10.A.B." of the test's subnet */
static const char *dirs[3];
static crio_cni *g_cni;
static crio_cni_attach g_att;

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

/* Runs argv with a plain PATH; returns the exit code, *out gets stdout (may be NULL). */
static int run(char **out, const char *const *argv)
{
    static const char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    crio_spawn_opts o = { .argv = argv, .envp = envp, .out = CRIO_SPAWN_PIPE, .err = CRIO_SPAWN_PIPE,
                          .timeout_ms = 20000 };
    crio_spawn_result r = { 0 };
    int rc = crio_spawn_run(&r, &o);
    if (out)
        *out = rc == 0 ? strdup(r.out) : NULL;
    int code = rc < 0 ? -1 : r.exit_code;
    crio_spawn_result_free(&r);
    return code;
}

static void write_file(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void write_file(const char *dir, const char *name, mode_t mode, const char *fmt, ...)
{
    char path[256], *text;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    va_list ap;
    va_start(ap, fmt);
    cr_assert_geq(vasprintf(&text, fmt, ap), 0);
    va_end(ap);
    cr_assert_eq(crio_fs_write_atomic(path, text, strlen(text), mode), 0, "%s", errmsg());
    free(text);
}

static void setup(void)
{
    strcpy(tmp, "/tmp/cni-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(netdir, sizeof netdir, "%s/net.d", tmp);
    snprintf(plugdir, sizeof plugdir, "%s/bin", tmp);
    snprintf(datadir, sizeof datadir, "%s/ipam", tmp);
    snprintf(pod, sizeof pod, "%s/pod", tmp);
    snprintf(netns, sizeof netns, "%s/net", pod);
    cr_assert_eq(mkdir(netdir, 0755), 0);
    cr_assert_eq(mkdir(plugdir, 0755), 0);
    /* Criterion runs each test in a process of its own: the pid makes names unique. */
    snprintf(bridge, sizeof bridge, "crt%d", (int)(getpid() % 100000));
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    snprintf(prefix, sizeof prefix, "10.%d.%d.", 100 + rand() % 100, rand() % 256);
    dirs[0] = SYS_PLUGINS;
    dirs[1] = plugdir;
    dirs[2] = NULL;
    g_att = (crio_cni_attach){ .container_id = "c0ffee", .netns = netns, .pod_namespace = "default",
                               .pod_name = "web", .pod_uid = "uid-1" };
}

static void teardown(void)
{
    if (g_cni) {
        crio_cni_del(g_cni, &g_att, NULL, NULL); /* a failed test may have left an attachment */
        crio_cni_free(g_cni);
        g_cni = NULL;
    }
    crio_ns_unpin(pod);
    run(NULL, (const char *const[]){ "/usr/sbin/ip", "link", "del", bridge, NULL });
    crio_fs_remove_tree(AT_FDCWD, tmp);
}

TestSuite(cni, .init = setup, .fini = teardown, .timeout = 120);

/* The bridge plugin's config (no name/cniVersion: the list gives them). */
static char *bridge_conf(void)
{
    char *s;
    cr_assert_geq(asprintf(&s,
                           "{\"type\":\"bridge\",\"bridge\":\"%s\",\"isGateway\":true,"
                           "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"%s0/24\"}]],"
                           "\"dataDir\":\"%s\"}}",
                           bridge, prefix, datadir),
                  0);
    return s;
}

static void write_list(const char *file, const char *name, const char *second_plugin)
{
    char *b = bridge_conf();
    write_file(netdir, file, 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"%s\",\"plugins\":[%s%s%s]}", name, b,
               second_plugin ? "," : "", second_plugin ? second_plugin : "");
    free(b);
}

static void load(const char *def)
{
    cr_assert_eq(crio_cni_load(&g_cni, netdir, dirs, def), 0, "%s", errmsg());
    char *why = NULL;
    cr_assert(crio_cni_ready(g_cni, &why), "%s", why);
}

/* How many addresses host-local holds for the network (its files named like IPs). */
static int allocations(const char *network)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", datadir, network);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            n++;
    closedir(d);
    return n;
}

static bool allocated(const char *network, const char *ip)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", datadir, network, ip);
    return access(path, F_OK) == 0;
}

/* eth0's IPv4 addresses inside the netns, as `ip -4 -o addr` prints them. */
static char *addr_in_netns(void)
{
    char arg[200], *out = NULL;
    snprintf(arg, sizeof arg, "--net=%s", netns);
    int rc = run(&out, (const char *const[]){ "/usr/bin/nsenter", arg, "/usr/sbin/ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL });
    if (rc != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Ports attached to the bridge (the host ends of the pods' veths). */
static int bridge_ports(void)
{
    char *out = NULL;
    cr_assert_eq(run(&out, (const char *const[]){ "/usr/sbin/ip", "-o", "link", "show", "master", bridge, NULL }), 0);
    int n = 0;
    for (char *p = out; p && (p = strchr(p, '\n')); p++)
        n++;
    free(out);
    return n;
}

static int64_t ms_since(int64_t start)
{
    return crio_monotonic_ms() - start;
}

Test(cni, add_del_bridge_portmap)
{
    write_list("10-net.conflist", "crtnet",
               "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}");
    load(NULL);
    cr_assert_str_eq(crio_cni_network_name(g_cni), "crtnet");
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0, "%s", errmsg());
    /* static: the fini's DEL reads g_att.runtime_config after this frame is gone. */
    static char rtconf[256];
    snprintf(rtconf, sizeof rtconf,
             "{\"portMappings\":[{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}],"
             "\"bandwidth\":{\"ingressRate\":1000000}}",
             18000 + getpid() % 1000);
    g_att.runtime_config = rtconf;

    crio_cni_result *res = NULL;
    int64_t t0 = crio_monotonic_ms();
    cr_assert_eq(crio_cni_add(&res, g_cni, &g_att, NULL), 0, "%s", errmsg());
    int64_t add_ms = ms_since(t0);
    cr_assert_eq(crio_cni_result_ip_count(res), 1, "%s", crio_cni_result_json(res));
    const char *ip = crio_cni_result_ip(res, 0);
    cr_assert(!strncmp(ip, prefix, strlen(prefix)), "%s not in %s0/24", ip, prefix);
    cr_assert_str_eq(crio_cni_result_network(res), "crtnet");
    cr_assert_not_null(strstr(crio_cni_result_config(res), "portmap"));
    cr_assert_gt(crio_cni_result_plugin_ns(res), 0);

    char *inside = addr_in_netns();
    cr_assert_not_null(inside, "no eth0 in the netns");
    char want[64];
    snprintf(want, sizeof want, "inet %s/24", ip);
    cr_assert_not_null(strstr(inside, want), "%s lacks %s", inside, want);
    free(inside);
    cr_assert(allocated("crtnet", ip));
    cr_assert_eq(bridge_ports(), 1);
    char *rules = NULL;
    cr_assert_eq(run(&rules, (const char *const[]){ "/usr/sbin/iptables", "-t", "nat", "-S", NULL }), 0);
    cr_assert_not_null(strstr(rules, "c0ffee"), "no portmap rules for the container");
    free(rules);

    /* What DEL needs round-trips through text, as a caller keeps it. */
    char *conf = strdup(crio_cni_result_config(res)), *result = strdup(crio_cni_result_json(res));
    crio_cni_result *again = NULL;
    cr_assert_eq(crio_cni_result_parse(&again, result, strlen(result)), 0);
    cr_assert_str_eq(crio_cni_result_ip(again, 0), ip);
    crio_cni_result_free(again);

    t0 = crio_monotonic_ms();
    cr_assert_eq(crio_cni_del(g_cni, &g_att, conf, result), 0, "%s", errmsg());
    int64_t del_ms = ms_since(t0);
    cr_assert_not(allocated("crtnet", ip));
    cr_assert_eq(allocations("crtnet"), 0);
    cr_assert_eq(bridge_ports(), 0, "veth left on the bridge");
    cr_assert_null(addr_in_netns(), "eth0 still in the netns");
    cr_assert_eq(run(&rules, (const char *const[]){ "/usr/sbin/iptables", "-t", "nat", "-S", NULL }), 0);
    cr_assert_null(strstr(rules, "c0ffee"), "portmap rules left");
    free(rules);

    /* DEL again: nothing to do, still fine. */
    cr_assert_eq(crio_cni_del(g_cni, &g_att, conf, result), 0, "%s", errmsg());
    /* ADD takes the configuration it is given, with no network loaded at all (what a caller prepared). */
    crio_cni *none = NULL;
    cr_assert_eq(crio_cni_load(&none, "/nonexistent/cni", dirs, NULL), 0);
    crio_cni_result *res2 = NULL;
    cr_assert_eq(crio_cni_add(&res2, none, &g_att, NULL), CRIO_EBUSY);
    cr_assert_eq(crio_cni_add(&res2, none, &g_att, conf), 0, "%s", errmsg());
    cr_assert_str_eq(crio_cni_result_network(res2), "crtnet");
    cr_assert(allocated("crtnet", crio_cni_result_ip(res2, 0)));
    cr_assert_eq(crio_cni_del(none, &g_att, conf, crio_cni_result_json(res2)), 0, "%s", errmsg());
    cr_assert_eq(allocations("crtnet"), 0);
    crio_cni_result_free(res2);
    crio_cni_free(none);
    fprintf(stderr, "cni bridge+portmap: ADD %lld ms, DEL %lld ms\n", (long long)add_ms, (long long)del_ms);
    free(conf);
    free(result);
    crio_cni_result_free(res);
}

/* A single-plugin .conf, 0.4.0 results, DEL after the netns and the config are gone, from what ADD gave back. */
Test(cni, single_conf_del_after_netns_gone_from_what_add_gave)
{
    char *b = bridge_conf();
    /* Insert name and cniVersion into the plugin object itself, as a .conf has them. */
    write_file(netdir, "10-one.conf", 0644, "{\"cniVersion\":\"0.4.0\",\"name\":\"crtone\",%s", b + 1);
    free(b);
    load(NULL);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0, "%s", errmsg());
    crio_cni_result *res = NULL;
    cr_assert_eq(crio_cni_add(&res, g_cni, &g_att, NULL), 0, "%s", errmsg());
    const char *ip = crio_cni_result_ip(res, 0);
    cr_assert_not_null(ip);
    cr_assert(allocated("crtone", ip));
    char *conf = strdup(crio_cni_result_config(res)), *result = strdup(crio_cni_result_json(res));
    /* CHECK passes on a healthy attachment (portmap 1.1.1's CHECK wrongly wants IPv6 chains: not here). */
    cr_assert_eq(crio_cni_check(g_cni, &g_att, crio_cni_result_config(res), crio_cni_result_json(res)), 0, "%s",
                 errmsg());

    /* The pod's netns goes away first (its veth with it); the config dir empties: a restart later. */
    cr_assert_eq(crio_ns_unpin(pod), 0);
    unlink(strcat(strcpy((char[256]){ 0 }, netdir), "/10-one.conf"));
    crio_cni *fresh = NULL;
    cr_assert_eq(crio_cni_load(&fresh, netdir, dirs, NULL), 0);
    cr_assert_not(crio_cni_ready(fresh, NULL));
    /* 0.4.0 has CHECK; the netns is gone, so it fails rather than pass vacuously. */
    cr_assert_lt(crio_cni_check(fresh, &g_att, conf, result), 0);
    cr_assert_eq(crio_cni_del(fresh, &g_att, conf, result), 0, "%s", errmsg());
    cr_assert_not(allocated("crtone", ip));
    cr_assert_eq(crio_cni_del(fresh, &g_att, conf, result), 0, "%s", errmsg());
    /* Nothing was ever added for this one. */
    crio_cni_attach other = g_att;
    other.container_id = "never-added";
    cr_assert_eq(crio_cni_del(fresh, &other, conf, NULL), 0, "%s", errmsg());
    /* The kernel tears the netns down (and the veth with it) asynchronously: poll, bounded. */
    int64_t t0 = crio_monotonic_ms();
    while (bridge_ports() > 0 && ms_since(t0) < 10000)
        usleep(10000);
    cr_assert_eq(bridge_ports(), 0, "veth outlived its netns");
    free(conf);
    free(result);
    crio_cni_free(fresh);
    crio_cni_result_free(res);
}

Test(cni, load_order_default_and_invalid)
{
    write_file(netdir, "00-noplugins.conflist", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"x\",\"plugins\":[]}");
    write_file(netdir, "05-broken.conflist", 0644, "{\"cniVersion\":");
    write_file(netdir, "07-notype.conf", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"y\"}");
    write_file(netdir, "10-a.conf", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"type\":\"loopback\"}");
    write_file(netdir, "20-b.conflist", 0644,
               "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"plugins\":[{\"type\":\"loopback\"}]}");
    write_file(netdir, "30-c.json", 0644, "{\"cniVersion\":\"1.0.0\",\"name\":\"c\",\"type\":\"loopback\"}");
    write_file(netdir, "README", 0644, "not a config");
    load(NULL);
    cr_assert_str_eq(crio_cni_network_name(g_cni), "a");
    crio_cni_free(g_cni);
    g_cni = NULL;
    load("c");
    cr_assert_str_eq(crio_cni_network_name(g_cni), "c");
    crio_cni_free(g_cni);
    g_cni = NULL;

    crio_cni *cni = NULL;
    char *why = NULL;
    cr_assert_eq(crio_cni_load(&cni, netdir, dirs, "zzz"), 0);
    cr_assert_not(crio_cni_ready(cni, &why));
    cr_assert_not_null(strstr(why, "zzz"), "%s", why);
    free(why);
    crio_cni_result *res = NULL;
    cr_assert_eq(crio_cni_add(&res, cni, &g_att, NULL), CRIO_EBUSY);
    crio_cni_free(cni);
}

Test(cni, empty_or_missing_dir_not_ready)
{
    crio_cni *cni = NULL;
    char *why = NULL;
    cr_assert_eq(crio_cni_load(&cni, netdir, dirs, NULL), 0);
    cr_assert_not(crio_cni_ready(cni, &why));
    cr_assert_not_null(strstr(why, netdir), "%s", why);
    cr_assert_null(crio_cni_network_name(cni));
    free(why);
    crio_cni_free(cni);
    cr_assert_eq(crio_cni_load(&cni, "/nonexistent/cni", dirs, NULL), 0);
    cr_assert_not(crio_cni_ready(cni, NULL));
    crio_cni_free(cni);
}

Test(cni, result_parsing_versions)
{
    static const char *const docs[] = {
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"
        "\"ips\":[{\"address\":\"10.1.2.3/24\",\"interface\":0},{\"address\":\"fd00::5/64\"}]}",
        "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.2.3/24\"},"
        "{\"version\":\"6\",\"address\":\"fd00::5/64\"}]}",
        "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.1.2.3/24\"},\"ip6\":{\"ip\":\"fd00::5/64\"}}",
        /* Only eth0's addresses are the pod's: not lo's, not a second interface's. */
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"lo\"},{\"name\":\"eth0\"},{\"name\":\"net1\"}],"
        "\"ips\":[{\"address\":\"127.0.0.1/8\",\"interface\":0},{\"address\":\"10.1.2.3/24\",\"interface\":1},"
        "{\"address\":\"10.9.9.9/24\",\"interface\":2},{\"address\":\"::1/128\"},{\"address\":\"fd00::5/64\"}]}",
    };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(docs); i++) {
        crio_cni_result *r = NULL;
        cr_assert_eq(crio_cni_result_parse(&r, docs[i], strlen(docs[i])), 0, "%s", errmsg());
        cr_assert_eq(crio_cni_result_ip_count(r), 2);
        cr_assert_str_eq(crio_cni_result_ip(r, 0), "10.1.2.3");
        cr_assert_str_eq(crio_cni_result_ip(r, 1), "fd00::5");
        cr_assert_null(crio_cni_result_ip(r, 2));
        cr_assert_null(crio_cni_result_config(r));
        crio_cni_result_free(r);
    }
    crio_cni_result *r = NULL;
    cr_assert_eq(crio_cni_result_parse(&r, "[1]", 3), CRIO_EINVAL);
    cr_assert_lt(crio_cni_result_parse(&r, "{", 1), 0);
    crio_cni *cni = NULL;
    cr_assert_eq(crio_cni_load(&cni, netdir, dirs, NULL), 0);
    cr_assert_eq(crio_cni_check(cni, &g_att, "{\"cniVersion\":\"0.3.1\",\"name\":\"x\",\"plugins\":[{\"type\":\"bridge\"}]}",
                                "{}"),
                 CRIO_ENOTSUP);
    crio_cni_free(cni);
}

Test(cni, missing_plugin_named)
{
    write_file(netdir, "10.conflist", 0644,
               "{\"cniVersion\":\"1.0.0\",\"name\":\"m\",\"plugins\":[{\"type\":\"nosuchplugin\"}]}");
    load(NULL);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0);
    crio_cni_result *res = NULL;
    cr_assert_eq(crio_cni_add(&res, g_cni, &g_att, NULL), CRIO_EUNAVAILABLE);
    cr_assert_not_null(strstr(errmsg(), "nosuchplugin"), "%s", errmsg());
    cr_assert_null(res);
}

/*
 * bridge, then a plugin that fails ADD with CNI error JSON: its message
 * surfaces, and the rollback DELs both, so host-local frees the address.
 * The fake plugin logs each command it gets.
 */
Test(cni, error_json_and_rollback)
{
    write_file(plugdir, "failer", 0755,
               "#!/bin/sh\ncat >/dev/null\necho \"$CNI_COMMAND $CNI_ARGS\" >>%s/failer.log\n"
               "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
               "  echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"boom from failer\",\"details\":\"try again\"}'\n"
               "  exit 1\nfi\nexit 0\n",
               tmp);
    write_list("10.conflist", "crtfail", "{\"type\":\"failer\"}");
    load(NULL);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0);
    crio_cni_result *res = NULL;
    cr_assert_eq(crio_cni_add(&res, g_cni, &g_att, NULL), CRIO_EINTERNAL);
    const char *m = errmsg();
    cr_assert(strstr(m, "boom from failer") && strstr(m, "try again") && strstr(m, "failer"), "%s", m);
    cr_assert_eq(allocations("crtfail"), 0, "rollback left an address allocated");
    cr_assert_eq(bridge_ports(), 0, "rollback left a veth");
    char path[128], *log = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/failer.log", tmp);
    cr_assert_eq(crio_fs_read_file(&log, &len, path, 4096), 0);
    cr_assert(!strncmp(log, "ADD IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                            "K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=uid-1\nDEL ",
                       strlen("ADD IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
                              "K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=uid-1\nDEL ")),
              "%s", log);
    free(log);
}

/* A plugin that hangs on ADD is killed at the deadline; the rollback still runs. */
Test(cni, hanging_plugin_times_out)
{
    write_file(plugdir, "hanger", 0755,
               "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then echo $$ >%s/hanger.pid; exec sleep 1000; fi\n"
               "cat >/dev/null\nexit 0\n",
               tmp);
    write_list("10.conflist", "crthang", "{\"type\":\"hanger\"}");
    load(NULL);
    crio_cni_set_timeout(g_cni, 500);
    cr_assert_eq(crio_ns_pin(pod, CRIO_PIN_NET, NULL), 0);
    crio_cni_result *res = NULL;
    int64_t t0 = crio_monotonic_ms();
    cr_assert_eq(crio_cni_add(&res, g_cni, &g_att, NULL), CRIO_ETIMEDOUT, "%s", errmsg());
    int64_t took = ms_since(t0);
    cr_assert(took >= 500 && took < 10000, "took %lld ms", (long long)took);
    cr_assert_not_null(strstr(errmsg(), "hanger"), "%s", errmsg());
    char path[128], *pid = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/hanger.pid", tmp);
    cr_assert_eq(crio_fs_read_file(&pid, &len, path, 64), 0);
    cr_assert_eq(kill(atoi(pid), 0), -1, "hanging plugin still alive");
    cr_assert_eq(errno, ESRCH);
    free(pid);
    cr_assert_eq(allocations("crthang"), 0);
}
