/* lib/base/spawn: output capture and caps, explicit environment, closed fds, timeouts, errors, forked helpers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/spawn.h"

/*
 * This binary is also the child for checks a shell cannot make exactly
 * (a shell has fds of its own): run with CRIO_SPAWN_HELPER=1 in its
 * environment it prints its open fds, its blocked and ignored signals and
 * whether it leads its process group, then exits before Criterion starts.
 */
__attribute__((constructor)) static void spawn_helper(void)
{
    if (!getenv("CRIO_SPAWN_HELPER"))
        return;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            printf("fd %s\n", e->d_name);
    if (d)
        closedir(d);
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7))
            fputs(line, stdout);
    if (f)
        fclose(f);
    printf("pgid==pid %d\n", getpgid(0) == getpid());
    fflush(stdout);
    _exit(0);
}

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static int run(crio_spawn_result *r, crio_spawn_opts o)
{
    return crio_spawn_run(r, &o);
}

#define SH(...) ((const char *const[]){ "/bin/sh", "-c", __VA_ARGS__, NULL })

Test(spawn, captures_stdout_stderr_and_exit_status)
{
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("echo out; echo err >&2; exit 3"),
                                            .out = CRIO_SPAWN_PIPE, .err = CRIO_SPAWN_PIPE }),
                 0, "%s", errmsg());
    cr_assert_str_eq(r.out, "out\n");
    cr_assert_eq(r.out_len, 4);
    cr_assert_str_eq(r.err, "err\n");
    cr_assert_eq(r.exit_code, 3);
    cr_assert_eq(r.signal, 0);
    cr_assert_gt(r.pid, 0);
    cr_assert_not(r.out_truncated);
    crio_spawn_result_free(&r);
}

Test(spawn, uncaptured_streams_are_empty_strings)
{
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("echo lost; echo lost >&2") }), 0, "%s", errmsg());
    cr_assert_str_eq(r.out, "");
    cr_assert_str_eq(r.err, "");
    cr_assert_eq(r.exit_code, 0);
    crio_spawn_result_free(&r);
}

Test(spawn, cap_keeps_first_bytes_and_child_is_not_blocked)
{
    crio_spawn_result r;
    /* 4 MiB is far more than a pipe holds: the child finishes only if the rest is drained. */
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("head -c 4194304 /dev/zero | tr '\\0' x; echo tail >&2"),
                                            .out = CRIO_SPAWN_PIPE, .err = CRIO_SPAWN_PIPE, .out_cap = 1000,
                                            .timeout_ms = 20000 }),
                 0, "%s", errmsg());
    cr_assert_eq(r.out_len, 1000);
    cr_assert_eq(strlen(r.out), 1000);
    cr_assert_eq(strspn(r.out, "x"), 1000);
    cr_assert(r.out_truncated);
    cr_assert_str_eq(r.err, "tail\n");
    cr_assert_not(r.err_truncated);
    cr_assert_eq(r.exit_code, 0);
    crio_spawn_result_free(&r);
}

Test(spawn, environment_is_exactly_the_given_one)
{
    setenv("CRIO_SPAWN_LEAK", "1", 1);
    crio_spawn_result r;
    const char *const env[] = { "FOO=bar", "EMPTY=", NULL };
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/usr/bin/env", NULL }, .envp = env,
                                            .out = CRIO_SPAWN_PIPE }),
                 0, "%s", errmsg());
    cr_assert_str_eq(r.out, "FOO=bar\nEMPTY=\n");
    crio_spawn_result_free(&r);
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/usr/bin/env", NULL },
                                            .out = CRIO_SPAWN_PIPE }),
                 0, "%s", errmsg());
    cr_assert_str_eq(r.out, "", "NULL envp is an empty environment");
    crio_spawn_result_free(&r);
}

static const char *const helper_env[] = { "CRIO_SPAWN_HELPER=1", NULL };

Test(spawn, child_sees_only_stdio_and_passed_fds)
{
    /* Deliberately without O_CLOEXEC: spawn must close it anyway. */
    int leak = open("/dev/null", O_RDONLY);
    int leak_high = dup2(leak, 200);
    cr_assert_geq(leak, 3);
    cr_assert_eq(leak_high, 200);
    crio_spawn_result r;
    const char *const argv[] = { "/proc/self/exe", NULL };
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = argv, .envp = helper_env, .out = CRIO_SPAWN_PIPE }), 0, "%s",
                 errmsg());
    cr_assert(strstr(r.out, "fd 0\n") && strstr(r.out, "fd 1\n") && strstr(r.out, "fd 2\n"), "%s", r.out);
    int nfds = 0;
    for (const char *p = r.out; (p = strstr(p, "fd ")); p++)
        nfds++;
    cr_assert_eq(nfds, 3, "child fds:\n%s", r.out);
    crio_spawn_result_free(&r);

    /* A passed fd arrives as 3, and only it. */
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("echo through-3 >&3; cd /proc/$$/fd && test -e 3 && "
                                                       "! test -e 200"),
                                            .pass_fds = &p[1], .n_pass_fds = 1 }),
                 0, "%s", errmsg());
    cr_assert_eq(r.exit_code, 0);
    close(p[1]);
    char buf[64] = "";
    cr_assert_eq(read(p[0], buf, sizeof buf - 1), 10);
    cr_assert_str_eq(buf, "through-3\n");
    close(p[0]);
    crio_spawn_result_free(&r);
    close(leak);
    close(leak_high);
}

Test(spawn, low_source_fds_are_not_clobbered)
{
    /* A daemon may have closed its stdio: pipes can then get fds 0..2. */
    int saved0 = dup(0), saved1 = dup(1);
    close(0);
    close(1);
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert(p[0] <= 1 && p[1] <= 1, "pipe got %d %d", p[0], p[1]);
    crio_spawn_result r;
    int e = run(&r, (crio_spawn_opts){ .argv = SH("echo via-pass >&3; echo via-out"), .out = CRIO_SPAWN_PIPE,
                                       .pass_fds = &p[1], .n_pass_fds = 1 });
    close(p[1]);
    char buf[64] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    dup2(saved0, 0);
    dup2(saved1, 1);
    close(saved0);
    close(saved1);
    cr_assert_eq(e, 0, "%s", errmsg());
    cr_assert_eq(n, 9);
    cr_assert_str_eq(buf, "via-pass\n");
    cr_assert_str_eq(r.out, "via-out\n");
    crio_spawn_result_free(&r);
}

Test(spawn, child_gets_clean_signals_and_own_group)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe;
    sigaction(SIGPIPE, &ign, &oldpipe);
    crio_spawn_result r;
    const char *const argv[] = { "/proc/self/exe", NULL };
    int e = run(&r, (crio_spawn_opts){ .argv = argv, .envp = helper_env, .out = CRIO_SPAWN_PIPE });
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGPIPE, &oldpipe, NULL);
    cr_assert_eq(e, 0, "%s", errmsg());
    cr_assert(strstr(r.out, "SigBlk:\t0000000000000000\n"), "%s", r.out);
    /* glibc's posix_spawn keeps its internal signals 32 and 33 ignored; the standard ones are reset. */
    const char *sigign = strstr(r.out, "SigIgn:\t");
    cr_assert_not_null(sigign, "%s", r.out);
    unsigned long long mask = strtoull(sigign + 8, NULL, 16);
    cr_assert_eq(mask & 0x7fffffffULL, 0, "SigIgn %llx", mask);
    cr_assert(strstr(r.out, "pgid==pid 1\n"), "%s", r.out);
    crio_spawn_result_free(&r);
}

Test(spawn, stdin_from_buffer_larger_than_socket_buffers)
{
    size_t n = 3 * 1024 * 1024;
    char *in = malloc(n);
    cr_assert_not_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)('a' + i % 26);
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/bin/cat", NULL },
                                            .in = CRIO_SPAWN_PIPE, .input = in, .input_len = n,
                                            .out = CRIO_SPAWN_PIPE, .out_cap = n, .timeout_ms = 20000 }),
                 0, "%s", errmsg());
    cr_assert_eq(r.out_len, n);
    cr_assert_eq(memcmp(r.out, in, n), 0);
    crio_spawn_result_free(&r);
    free(in);
}

Test(spawn, stdin_default_is_dev_null_and_unread_input_is_no_sigpipe)
{
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/bin/cat", NULL },
                                            .out = CRIO_SPAWN_PIPE, .timeout_ms = 5000 }),
                 0, "%s", errmsg());
    cr_assert_str_eq(r.out, "");
    crio_spawn_result_free(&r);
    /* The child exits without reading 8 MiB: our write fails, the test process survives. */
    size_t n = 8 << 20;
    char *in = calloc(1, n);
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/bin/true", NULL },
                                            .in = CRIO_SPAWN_PIPE, .input = in, .input_len = n,
                                            .timeout_ms = 5000 }),
                 0, "%s", errmsg());
    cr_assert_eq(r.exit_code, 0);
    crio_spawn_result_free(&r);
    free(in);
}

static bool process_gone(pid_t pid)
{
    /* Init here may not reap at once: a zombie counts as gone. */
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    bool zombie = fgets(buf, sizeof buf, f) && strstr(buf, ") Z ");
    fclose(f);
    return zombie;
}

static void wait_gone(pid_t pid, int ms)
{
    for (int i = 0; i < ms && !process_gone(pid); i++)
        usleep(1000);
    cr_assert(process_gone(pid), "pid %d still alive after %d ms", (int)pid, ms);
}

static pid_t timeout_pid;
static void note_timeout(pid_t pid, void *payload)
{
    timeout_pid = pid;
    *(int *)payload += 1;
}

Test(spawn, timeout_kills_child_and_its_group_quickly)
{
    crio_spawn_result r;
    int calls = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The grandchild's pid goes out first, then both sleep far past the deadline. */
    int e = run(&r, (crio_spawn_opts){ .argv = SH("sleep 60 & echo $!; echo partial >&2; sleep 60"),
                                       .out = CRIO_SPAWN_PIPE, .err = CRIO_SPAWN_PIPE, .timeout_ms = 300,
                                       .on_timeout = note_timeout, .payload = &calls });
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_eq(e, CRIO_ETIMEDOUT, "%d %s", e, errmsg());
    cr_assert_lt(ms, 1500, "took %.0f ms", ms);
    cr_assert_geq(ms, 290, "took %.0f ms", ms);
    cr_assert_eq(calls, 1);
    cr_assert_eq(timeout_pid, r.pid);
    cr_assert_eq(r.signal, SIGKILL);
    cr_assert_eq(r.exit_code, 128 + SIGKILL);
    cr_assert(strstr(errmsg(), "sh: timed out after 300 ms"), "%s", errmsg());
    cr_assert(strstr(errmsg(), "partial"), "stderr so far is in the message: %s", errmsg());
    pid_t grandchild = (pid_t)atoi(r.out);
    cr_assert_gt(grandchild, 1, "%s", r.out);
    wait_gone(grandchild, 2000);
    crio_spawn_result_free(&r);
}

Test(spawn, exit_does_not_wait_for_descendants_holding_stdout)
{
    crio_spawn_result r;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int e = run(&r, (crio_spawn_opts){ .argv = SH("sleep 30 & echo bg=$!"), .out = CRIO_SPAWN_PIPE,
                                       .timeout_ms = 10000 });
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_eq(e, 0, "%s", errmsg());
    cr_assert_lt(ms, 2000, "took %.0f ms", ms);
    cr_assert(strncmp(r.out, "bg=", 3) == 0, "%s", r.out);
    pid_t bg = (pid_t)atoi(r.out + 3);
    cr_assert_gt(bg, 1);
    kill(bg, SIGKILL);
    wait_gone(bg, 2000);
    crio_spawn_result_free(&r);
}

Test(spawn, missing_binary_is_unavailable_with_its_name)
{
    crio_spawn_result r;
    const char *const argv[] = { "/nonexistent/crio-helper", NULL };
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = argv, .out = CRIO_SPAWN_PIPE }), CRIO_EUNAVAILABLE);
    cr_assert(strstr(errmsg(), "/nonexistent/crio-helper"), "%s", errmsg());
    cr_assert(strstr(errmsg(), "No such file or directory"), "%s", errmsg());
    cr_assert_null(r.out);
    crio_spawn_result_free(&r);
    /* Not executable. */
    const char *const argv2[] = { "/etc/passwd", NULL };
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = argv2 }), CRIO_EUNAVAILABLE);
    cr_assert(strstr(errmsg(), "Permission denied"), "%s", errmsg());
}

Test(spawn, bad_options_are_invalid)
{
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = NULL }), CRIO_EINVAL);
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("true"), .out = CRIO_SPAWN_FD, .out_fd = -1 }),
                 CRIO_EINVAL);
    int bad = 999;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("true"), .pass_fds = &bad, .n_pass_fds = 1 }),
                 CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "fd 999"), "%s", errmsg());
}

Test(spawn, output_to_callers_fd)
{
    char path[] = "/tmp/rt-spawn-out-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("echo to-file; echo err-too >&2"), .out = CRIO_SPAWN_FD,
                                            .out_fd = fd, .err = CRIO_SPAWN_FD, .err_fd = fd }),
                 0, "%s", errmsg());
    char buf[64] = "";
    cr_assert_eq(pread(fd, buf, sizeof buf - 1, 0), 16);
    cr_assert_str_eq(buf, "to-file\nerr-too\n");
    close(fd);
    unlink(path);
    crio_spawn_result_free(&r);
}

Test(spawn, signal_death_and_messages)
{
    crio_spawn_result r;
    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("kill -9 $$"), .err = CRIO_SPAWN_PIPE }), 0);
    cr_assert_eq(r.signal, 9);
    cr_assert_eq(r.exit_code, 137);
    char buf[128];
    cr_assert_str_eq(crio_spawn_describe(buf, sizeof buf, &r), "killed by signal 9");
    crio_spawn_result_free(&r);

    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("printf '  bad thing \\n\\n\\tsecond\\r\\n' >&2; exit 2"),
                                            .err = CRIO_SPAWN_PIPE }),
                 0);
    cr_assert_eq(crio_spawn_error(CRIO_EINTERNAL, &r, "plugin %s ADD", "bridge"), CRIO_EINTERNAL);
    cr_assert_str_eq(errmsg(), "plugin bridge ADD: bad thing; second");
    crio_spawn_result_free(&r);

    cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = SH("exit 4"), .err = CRIO_SPAWN_PIPE }), 0);
    cr_assert_str_eq(crio_spawn_describe(buf, sizeof buf, &r), "exit status 4");
    /* A small buffer is cut, not overrun. */
    cr_assert_str_eq(crio_spawn_describe(buf, 5, &r), "exit");
    crio_spawn_result_free(&r);
}

struct worker {
    int id, failures;
};

static void *spawn_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 25; i++) {
        char script[64], want[32];
        snprintf(script, sizeof script, "echo %d-%d", w->id, i);
        snprintf(want, sizeof want, "%d-%d\n", w->id, i);
        crio_spawn_result r;
        crio_spawn_opts o = { .argv = SH(script), .out = CRIO_SPAWN_PIPE, .timeout_ms = 10000 };
        if (crio_spawn_run(&r, &o) != 0 || strcmp(r.out, want) != 0 || r.exit_code != 0)
            w->failures++;
        crio_spawn_result_free(&r);
    }
    return NULL;
}

Test(spawn, concurrent_threads_each_get_their_own_output)
{
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ .id = i };
        cr_assert_eq(pthread_create(&t[i], NULL, spawn_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0, "thread %d", i);
    }
}

Test(spawn, many_short_runs_are_fast)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const int n = 200;
    for (int i = 0; i < n; i++) {
        crio_spawn_result r;
        cr_assert_eq(run(&r, (crio_spawn_opts){ .argv = (const char *const[]){ "/bin/true", NULL },
                                                .out = CRIO_SPAWN_PIPE, .err = CRIO_SPAWN_PIPE,
                                                .timeout_ms = 5000 }),
                     0, "%s", errmsg());
        crio_spawn_result_free(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / n;
    cr_log_info("spawn+wait of /bin/true: %.3f ms each", ms);
    /* Generous: a fork of a big process or a sleep-based wait would show here. */
    cr_assert_lt(ms, 25.0, "%.3f ms per run", ms);
}

Test(spawn, fork_helper_blocks_signals_and_connects_pipes)
{
    sigset_t before;
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    pid_t pid;
    crio_helper_fds fds;
    cr_assert_eq(crio_fork_helper(&pid, &fds, "test helper", NULL, 0), 0, "%s", errmsg());
    if (pid == 0) {
        /* The helper: reports whether SIGTERM is blocked, then waits for EOF. */
        sigset_t mask;
        pthread_sigmask(SIG_SETMASK, NULL, &mask);
        char c = sigismember(&mask, SIGTERM) ? 'b' : 'u';
        char go;
        if (write(fds.report, &c, 1) != 1 || read(fds.control, &go, 1) != 0)
            _exit(1);
        _exit(0);
    }
    cr_assert(fcntl(fds.report, F_GETFD) & FD_CLOEXEC);
    cr_assert(fcntl(fds.control, F_GETFD) & FD_CLOEXEC);
    char c = 0;
    cr_assert_eq(read(fds.report, &c, 1), 1);
    cr_assert_eq(c, 'b', "the helper's signals are blocked");
    /* Only the helper holds the pipes' other ends: closing ours is its EOF. */
    close(fds.control);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    cr_assert_eq(read(fds.report, &c, 1), 0, "EOF once the helper is gone");
    close(fds.report);
    sigset_t after;
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    cr_assert_eq(sigismember(&after, SIGTERM), sigismember(&before, SIGTERM), "the caller's mask is restored");
}

Test(spawn, fork_helper_keeps_only_its_own_fds)
{
    /* Two helpers at once: the second must not hold the first's pipes (or the first never sees EOF). */
    pid_t a, b;
    crio_helper_fds fa, fb;
    int extra[2];
    cr_assert_eq(pipe2(extra, O_CLOEXEC), 0);
    cr_assert_eq(crio_fork_helper(&a, &fa, "first", NULL, 0), 0, "%s", errmsg());
    if (a == 0) {
        char go;
        _exit(read(fa.control, &go, 1) == 0 ? 0 : 1);
    }
    cr_assert_eq(crio_fork_helper(&b, &fb, "second", &extra[0], 1), 0, "%s", errmsg());
    if (b == 0) {
        /* 'k': the kept fd is open; 'x': the other one and the first helper's pipes are not. */
        char r[2] = { fcntl(extra[0], F_GETFD) >= 0 ? 'k' : '-',
                      fcntl(extra[1], F_GETFD) < 0 && fcntl(fa.control, F_GETFD) < 0 && fcntl(fa.report, F_GETFD) < 0
                          ? 'x' : '-' };
        _exit(write(fb.report, r, 2) == 2 ? 0 : 1);
    }
    char r[2] = { 0 };
    cr_assert_eq(read(fb.report, r, 2), 2);
    cr_assert_eq(r[0], 'k', "the fd asked for is kept");
    cr_assert_eq(r[1], 'x', "nothing else of ours is inherited");
    close(fa.control); /* with the second helper still alive, the first must see EOF */
    int status;
    cr_assert_eq(waitpid(a, &status, 0), a);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(waitpid(b, &status, 0), b);
    close(fa.report);
    close(fb.report);
    close(fb.control);
    close(extra[0]);
    close(extra[1]);
}

Test(clock, sleep_ms_waits_on_the_monotonic_clock)
{
    int64_t t0 = crio_monotonic_ms();
    crio_sleep_ms(30);
    int64_t t1 = crio_monotonic_ms();
    cr_assert_geq(t1 - t0, 30);
    cr_assert_lt(t1 - t0, 5000);
}
