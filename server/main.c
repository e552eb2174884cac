/* crio-server: serves libcrio to the kubelet over CRI gRPC on a unix socket. */
#include <crio.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <uv.h>

#include "cri/cri.h"
#include "grpc/grpc.h"

struct flag_override {
    const char *key;
    const char *value;
};

static struct {
    const char *config_file, *config_dir;
    struct flag_override overrides[16];
    size_t n_overrides;
    bool syslog;
} opts;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_line(crio_log_level level, const char *message, void *payload)
{
    if (opts.syslog) {
        static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };
        syslog(prio[level <= CRIO_LOG_TRACE ? level : CRIO_LOG_TRACE], "%s", message);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One write per line, so that lines from several threads never interleave. */
    char line[4096];
    int n = snprintf(line, sizeof line, "time=\"%s.%06ldZ\" level=%s msg=\"", when, ts.tv_nsec / 1000,
                     crio_log_level_name(level));
    for (const char *p = message; *p && n < (int)sizeof line - 4; p++) {
        if (*p == '"' || *p == '\\')
            line[n++] = '\\';
        line[n++] = *p == '\n' ? ' ' : *p;
    }
    line[n++] = '"';
    line[n++] = '\n';
    pthread_mutex_lock(&log_mu);
    fwrite(line, 1, (size_t)n, stderr);
    pthread_mutex_unlock(&log_mu);
}

static void logf_(crio_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(crio_log_level level, const char *fmt, ...)
{
    if (level > crio_log_get_level())
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_line(level, buf, NULL);
}

static const char *last_error(void)
{
    return crio_error_message(crio_error_last());
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: crio-server [OPTIONS] [config]\n"
            "\n"
            "Serves the Kubernetes Container Runtime Interface (runtime.v1) from libcrio\n"
            "on a unix socket.  `crio-server config` prints the effective configuration.\n"
            "\n"
            "Options:\n"
            "  --config FILE          configuration file (default %s)\n"
            "  --config-dir DIR       drop-in directory, *.conf in lexical order (default %s)\n"
            "  --listen PATH          socket path ([crio.api] listen)\n"
            "  --root DIR             persistent state ([crio] root)\n"
            "  --runroot DIR          run-time state ([crio] runroot)\n"
            "  --log-level LEVEL      error, warn, info, debug or trace ([crio.runtime] log_level)\n"
            "  --cgroup-manager NAME  cgroupfs or systemd ([crio.runtime] cgroup_manager)\n"
            "  --log-syslog           log to syslog instead of stderr\n"
            "  --version              print the version and exit\n"
            "  -h, --help             this help\n",
            CRIO_CONFIG_DEFAULT_FILE, CRIO_CONFIG_DEFAULT_DIR);
}

/* Loads files, then applies the command-line flags over them. */
static int load_config(crio_config **out)
{
    crio_config *cfg = NULL;
    int e = crio_config_load(&cfg, opts.config_file, opts.config_dir);
    if (e < 0)
        return e;
    for (size_t i = 0; i < opts.n_overrides; i++) {
        e = crio_config_set(cfg, opts.overrides[i].key, opts.overrides[i].value);
        if (e < 0) {
            crio_config_free(cfg);
            return e;
        }
    }
    if ((e = crio_config_validate(cfg)) < 0) {
        crio_config_free(cfg);
        return e;
    }
    *out = cfg;
    return 0;
}

static void add_override(const char *key, const char *value)
{
    opts.overrides[opts.n_overrides].key = key;
    opts.overrides[opts.n_overrides].value = value;
    opts.n_overrides++;
}

struct server_state {
    uv_loop_t *loop;
    crio *handle;
    grpc_server *grpc;
    uv_async_t signal_async;  /* the signal thread's wake-up */
    bool stopping;
    cri_ctx ctx;
};

static void on_call_done(const char *path, int status, uint64_t usec, void *ctx)
{
    if (status == GRPC_OK)
        logf_(CRIO_LOG_DEBUG, "%s: OK in %" PRIu64 " us", path, usec);
    else
        logf_(status == GRPC_UNIMPLEMENTED || status == GRPC_CANCELLED ? CRIO_LOG_DEBUG : CRIO_LOG_INFO,
              "%s: %s in %" PRIu64 " us", path, grpc_code_name(status), usec);
}

static void on_grpc_log(const char *what, const char *detail, void *ctx)
{
    logf_(CRIO_LOG_INFO, "%s: %s", what, detail);
}

/*
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread (the mask
 * is set before any thread starts) and taken by one thread with sigwait(),
 * which hands them to the loop.  So no signal ever finds its default action
 * in place -- not even one arriving during the last instants of a clean exit.
 */
static sigset_t handled_signals;
static atomic_int pending_signals; /* bit per signal number */
static pthread_mutex_t signal_mu = PTHREAD_MUTEX_INITIALIZER;
static bool signal_async_closed;   /* under signal_mu: late signals are dropped */

static void *signal_thread(void *arg)
{
    uv_async_t *async = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&handled_signals, &sig) != 0)
            continue;
        atomic_fetch_or(&pending_signals, 1 << sig);
        pthread_mutex_lock(&signal_mu);
        if (!signal_async_closed)
            uv_async_send(async);
        pthread_mutex_unlock(&signal_mu);
    }
    return NULL;
}

static void shutdown_done(grpc_server *srv, void *arg)
{
    struct server_state *s = arg;
    pthread_mutex_lock(&signal_mu);
    signal_async_closed = true;
    uv_close((uv_handle_t *)&s->signal_async, NULL);
    pthread_mutex_unlock(&signal_mu);
}

static void on_stop_signal(struct server_state *s, int signum)
{
    if (s->stopping) {
        logf_(CRIO_LOG_INFO, "second %s: still waiting for %zu calls to finish", strsignal(signum),
              grpc_server_active_calls(s->grpc));
        return;
    }
    s->stopping = true;
    logf_(CRIO_LOG_INFO, "received %s: shutting down after %zu in-flight calls", strsignal(signum),
          grpc_server_active_calls(s->grpc));
    grpc_server_shutdown(s->grpc, shutdown_done, s);
}

static void on_sighup(struct server_state *s)
{
    crio_config *cfg = NULL;
    if (load_config(&cfg) < 0) {
        logf_(CRIO_LOG_ERROR, "reload configuration: %s (keeping the old one)", last_error());
        return;
    }
    if (crio_reload(s->handle, cfg) < 0)
        logf_(CRIO_LOG_ERROR, "reload configuration: %s (keeping the old one)", last_error());
    crio_config_free(cfg);
}

static void on_signals(uv_async_t *h)
{
    struct server_state *s = h->data;
    int bits = atomic_exchange(&pending_signals, 0);
    if (bits & (1 << SIGHUP) && !s->stopping)
        on_sighup(s);
    if (bits & (1 << SIGTERM))
        on_stop_signal(s, SIGTERM);
    if (bits & (1 << SIGINT))
        on_stop_signal(s, SIGINT);
}

static int serve(crio_config *cfg)
{
    struct server_state s = { 0 };
    const char *listen = NULL;
    int64_t threads = 16, max_recv = 0, max_send = 0;
    crio_config_get_string(cfg, "crio.api.listen", &listen);
    crio_config_get_int(cfg, "crio.api.thread_pool_size", &threads);
    crio_config_get_int(cfg, "crio.api.grpc_max_recv_msg_size", &max_recv);
    crio_config_get_int(cfg, "crio.api.grpc_max_send_msg_size", &max_send);

    /* libuv sizes its pool from the environment at first use. */
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%" PRId64, threads);
    setenv("UV_THREADPOOL_SIZE", nthreads, 1);

    if (crio_open(&s.handle, cfg) < 0) {
        fprintf(stderr, "crio-server: %s\n", last_error());
        return 1;
    }
    s.loop = uv_default_loop();
    grpc_method *methods = NULL;
    size_t n_methods = 0;
    if (cri_methods_build(&methods, &n_methods) < 0) {
        fprintf(stderr, "crio-server: out of memory\n");
        crio_close(s.handle);
        return 1;
    }
    s.ctx.handle = s.handle;
    grpc_server_options go = {
        .methods = methods, .n_methods = n_methods, .ctx = &s.ctx,
        .max_recv_msg_size = (size_t)max_recv, .max_send_msg_size = (size_t)max_send,
        .on_call_done = on_call_done, .on_log = on_grpc_log,
    };
    int rc = 1;
    if (grpc_server_new(&s.grpc, s.loop, &go) < 0 || grpc_server_listen(s.grpc, listen, 0660) < 0) {
        fprintf(stderr, "crio-server: %s\n", s.grpc ? grpc_server_error(s.grpc) : "out of memory");
        if (s.grpc) {
            grpc_server_shutdown(s.grpc, NULL, NULL);
            uv_run(s.loop, UV_RUN_DEFAULT);
        }
        goto out;
    }
    uv_async_init(s.loop, &s.signal_async, on_signals);
    s.signal_async.data = &s;
    pthread_t sig_thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&sig_thread, &attr, signal_thread, &s.signal_async) != 0) {
        fprintf(stderr, "crio-server: cannot start the signal thread\n");
        pthread_attr_destroy(&attr);
        signal_async_closed = true;
        uv_close((uv_handle_t *)&s.signal_async, NULL);
        grpc_server_shutdown(s.grpc, NULL, NULL);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto out;
    }
    pthread_attr_destroy(&attr);
    logf_(CRIO_LOG_INFO, "libcrio %s serving CRI runtime.v1 on %s (%zu methods, %s threads)", crio_version(),
          listen, n_methods, nthreads);
#ifdef __GLIBC__
    malloc_trim(0); /* what start-up parsed and recovered and then freed goes back before the first call */
#endif
    uv_run(s.loop, UV_RUN_DEFAULT);
    logf_(CRIO_LOG_INFO, "stopped");
    rc = 0;
out:
    grpc_server_free(s.grpc);
    uv_loop_close(s.loop);
    cri_methods_free(methods, n_methods);
    crio_close(s.handle);
    return rc;
}

#ifdef __GLIBC__
#define TUNED_MARK "CRIO_SERVER_MALLOC_TUNED"
#define TUNED_SAVED "CRIO_SERVER_GLIBC_TUNABLES"
/*
 * glibc's per-thread malloc caches (tcache) keep freed chunks in each of the
 * 16 pool threads, out of reach of malloc_trim: crio-server's RSS grew round
 * after round of 100 pods although nothing leaked.  The caches can only be
 * turned off by GLIBC_TUNABLES, which glibc reads at start-up, so the server
 * re-executes itself once with it set (an operator's own tcache setting
 * wins), then puts the environment back for the processes it starts.
 * Two arenas instead of 8 per CPU, for the same reason: CRI calls are few
 * and short, and more arenas only hold freed memory.
 */
static void tune_malloc(char **argv)
{
    const char *saved = getenv(TUNED_SAVED);
    if (getenv(TUNED_MARK)) {
        if (saved && *saved)
            setenv("GLIBC_TUNABLES", saved, 1);
        else
            unsetenv("GLIBC_TUNABLES");
        unsetenv(TUNED_SAVED);
        unsetenv(TUNED_MARK);
    } else {
        const char *cur = getenv("GLIBC_TUNABLES");
        char *want = NULL;
        if (!(cur && strstr(cur, "glibc.malloc.tcache_count")) &&
            asprintf(&want, "%s%sglibc.malloc.tcache_count=0", cur ? cur : "", cur && *cur ? ":" : "") > 0) {
            setenv(TUNED_SAVED, cur ? cur : "", 1);
            setenv(TUNED_MARK, "1", 1);
            setenv("GLIBC_TUNABLES", want, 1);
            execv("/proc/self/exe", argv);
            /* No /proc: carry on untuned, with the environment as it was. */
            if (cur)
                setenv("GLIBC_TUNABLES", cur, 1);
            else
                unsetenv("GLIBC_TUNABLES");
            unsetenv(TUNED_SAVED);
            unsetenv(TUNED_MARK);
        }
        free(want);
    }
    mallopt(M_ARENA_MAX, 2);
}
#endif

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    tune_malloc(argv);
#endif
    enum { OPT_CONFIG = 256, OPT_CONFIG_DIR, OPT_LISTEN, OPT_ROOT, OPT_RUNROOT, OPT_LOG_LEVEL,
           OPT_CGROUP_MANAGER, OPT_SYSLOG, OPT_VERSION };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, OPT_CONFIG },
        { "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "root", required_argument, NULL, OPT_ROOT },
        { "runroot", required_argument, NULL, OPT_RUNROOT },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER },
        { "log-syslog", no_argument, NULL, OPT_SYSLOG },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG: opts.config_file = optarg; break;
        case OPT_CONFIG_DIR: opts.config_dir = optarg; break;
        case OPT_LISTEN: add_override("crio.api.listen", optarg); break;
        case OPT_ROOT: add_override("crio.root", optarg); break;
        case OPT_RUNROOT: add_override("crio.runroot", optarg); break;
        case OPT_LOG_LEVEL: add_override("crio.runtime.log_level", optarg); break;
        case OPT_CGROUP_MANAGER: add_override("crio.runtime.cgroup_manager", optarg); break;
        case OPT_SYSLOG: opts.syslog = true; break;
        case OPT_VERSION:
            printf("crio-server version %s (libcrio %s, CRI %s)\n", CRIO_VERSION_STRING, crio_version(),
                   crio_runtime_api_version());
            return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    bool print_config = false;
    if (optind < argc) {
        if (strcmp(argv[optind], "config") != 0 || optind + 1 != argc) {
            fprintf(stderr, "crio-server: unknown command \"%s\" (the only command is \"config\")\n",
                    argv[optind]);
            return 2;
        }
        print_config = true;
    }
    /* Before any thread exists, so that every thread inherits the mask (see signal_thread). */
    sigemptyset(&handled_signals);
    sigaddset(&handled_signals, SIGTERM);
    sigaddset(&handled_signals, SIGINT);
    sigaddset(&handled_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &handled_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (opts.syslog)
        openlog("crio-server", LOG_PID, LOG_DAEMON);
    crio_log_set_handler(log_line, NULL);

    crio_config *cfg = NULL;
    if (load_config(&cfg) < 0) {
        fprintf(stderr, "crio-server: configuration: %s\n", last_error());
        return 1;
    }
    const char *lvl = NULL;
    crio_log_level level;
    if (crio_config_get_string(cfg, "crio.runtime.log_level", &lvl) == 0 && crio_log_level_parse(&level, lvl) == 0)
        crio_log_set_level(level);
    int rc;
    if (print_config) {
        char *toml = NULL;
        rc = crio_config_to_toml(&toml, cfg) < 0;
        if (!rc)
            fputs(toml, stdout);
        crio_free(toml);
    } else {
        rc = serve(cfg);
    }
    crio_config_free(cfg);
    return rc;
}
