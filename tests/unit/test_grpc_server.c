/* The gRPC server core with test handlers, driven by the project's client. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grpc/grpc.h"
#include "grpc_client.h"

static sem_t release_slow;
static atomic_int slow_started, slow_finished, forever_returned;
static atomic_int last_status_for_slow = -1;

static void reply_bytes(grpc_reply *r, const void *p, size_t n)
{
    r->body = malloc(n ? n : 1);
    memcpy(r->body, p, n);
    r->len = n;
    r->status = GRPC_OK;
}

static void h_echo(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *r, void *ctx)
{
    reply_bytes(r, req, len);
}

/* Blocks until the test releases it: "slow" without guessing durations. */
static void h_slow(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *r, void *ctx)
{
    atomic_fetch_add(&slow_started, 1);
    sem_wait(&release_slow);
    reply_bytes(r, "slow", 4);
    atomic_fetch_add(&slow_finished, 1);
}

static void h_fail(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *r, void *ctx)
{
    r->status = GRPC_NOT_FOUND;
    r->message = strdup("no such thing: 100% gone \xc3\xa9");
}

static void h_stream(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                     grpc_reply *r, void *ctx)
{
    for (int i = 0; i < 3; i++) {
        char msg[16];
        snprintf(msg, sizeof msg, "m%d", i);
        grpc_stream_send(w, (const uint8_t *)msg, strlen(msg));
    }
    r->status = GRPC_OK;
}

static void h_forever(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                      grpc_reply *r, void *ctx)
{
    grpc_stream_send(w, (const uint8_t *)"first", 5);
    while (!grpc_stream_done(w))
        usleep(1000);
    r->status = GRPC_CANCELLED;
    atomic_store(&forever_returned, 1);
}

static const grpc_method methods[] = {
    { .path = "/test.Svc/Echo", .unary = h_echo },
    { .path = "/test.Svc/Quick", .unary = h_echo, .on_loop = true },
    { .path = "/test.Svc/Slow", .unary = h_slow },
    { .path = "/test.Svc/Fail", .unary = h_fail },
    { .path = "/test.Svc/Stream", .stream = h_stream },
    { .path = "/test.Svc/Forever", .stream = h_forever },
};

static struct {
    uv_loop_t loop;
    uv_async_t stop;
    grpc_server *srv;
    pthread_t thread;
    char sock[128];
    char dir[64];
    atomic_int shutdown_finished;
} S;

static void on_done(const char *path, int status, uint64_t usec, void *ctx)
{
    if (strcmp(path, "/test.Svc/Slow") == 0)
        atomic_store(&last_status_for_slow, status);
}

static void shutdown_cb(grpc_server *srv, void *arg)
{
    atomic_store(&S.shutdown_finished, 1);
}

static void stop_cb(uv_async_t *a)
{
    uv_close((uv_handle_t *)&S.stop, NULL);
    grpc_server_shutdown(S.srv, shutdown_cb, NULL);
}

static void *loop_thread(void *arg)
{
    uv_run(&S.loop, UV_RUN_DEFAULT);
    return NULL;
}

static void start_server(size_t max_recv)
{
    /* As in crio-server: a peer that hangs up must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    sem_init(&release_slow, 0, 0);
    atomic_store(&slow_started, 0);
    atomic_store(&slow_finished, 0);
    atomic_store(&forever_returned, 0);
    atomic_store(&last_status_for_slow, -1);
    atomic_store(&S.shutdown_finished, 0);
    strcpy(S.dir, "/tmp/crio-grpc-test-XXXXXX");
    cr_assert_not_null(mkdtemp(S.dir));
    snprintf(S.sock, sizeof S.sock, "%s/sub/grpc.sock", S.dir);
    uv_loop_init(&S.loop);
    grpc_server_options o = { .methods = methods, .n_methods = sizeof methods / sizeof methods[0],
                              .max_recv_msg_size = max_recv, .on_call_done = on_done };
    cr_assert_eq(grpc_server_new(&S.srv, &S.loop, &o), 0);
    cr_assert_eq(grpc_server_listen(S.srv, S.sock, 0660), 0, "%s", grpc_server_error(S.srv));
    uv_async_init(&S.loop, &S.stop, stop_cb);
    pthread_create(&S.thread, NULL, loop_thread, NULL);
}

static void stop_server(void)
{
    uv_async_send(&S.stop);
    pthread_join(S.thread, NULL);
    cr_assert_eq(atomic_load(&S.shutdown_finished), 1);
    cr_assert_eq(access(S.sock, F_OK), -1, "socket removed at shutdown");
    grpc_server_free(S.srv);
    uv_loop_close(&S.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", S.dir);
    cr_assert_eq(system(cmd), 0);
}

static bool wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(1000);
    }
    return atomic_load(v) >= want;
}

struct slow_call {
    crio_grpc_client *c;
    long timeout_ms;
    crio_grpc_status st;
    char body[16];
};

static void *do_slow(void *arg)
{
    struct slow_call *sc = arg;
    void *resp = NULL;
    size_t len = 0;
    crio_grpc_call(sc->c, "/test.Svc/Slow", "", 0, &resp, &len, sc->timeout_ms, &sc->st);
    if (resp && len < sizeof sc->body)
        memcpy(sc->body, resp, len);
    free(resp);
    return NULL;
}

static int call(crio_grpc_client *c, const char *path, const char *req, char **out, long timeout_ms,
                crio_grpc_status *st)
{
    void *resp = NULL;
    size_t len = 0;
    int r = crio_grpc_call(c, path, req, strlen(req), &resp, &len, timeout_ms, st);
    if (out) {
        *out = calloc(1, len + 1);
        if (resp)
            memcpy(*out, resp, len);
    }
    free(resp);
    return r;
}

/* A failed assertion must not leave a handler blocked: the pool would never drain. */
static void release_blocked_handlers(void)
{
    for (int i = 0; i < 16; i++)
        sem_post(&release_slow);
}

TestSuite(grpc_server, .fini = release_blocked_handlers, .timeout = 60);

Test(grpc_server, slow_call_does_not_delay_another)
{
    start_server(0);
    crio_grpc_client *a, *b;
    cr_assert_eq(crio_grpc_client_new(&a, S.sock), 0);
    cr_assert_eq(crio_grpc_client_new(&b, S.sock), 0);
    struct slow_call sc = { .c = a };
    pthread_t t;
    pthread_create(&t, NULL, do_slow, &sc);
    cr_assert(wait_for(&slow_started, 1, 5000), "slow handler started");
    /* While the slow call holds a pool thread, another call completes. */
    crio_grpc_status st = { 0 };
    char *out = NULL;
    cr_assert_eq(call(b, "/test.Svc/Echo", "hello", &out, 5000, &st), 0);
    cr_assert_eq(st.code, 0, "echo: %s", st.message ? st.message : "");
    cr_assert_str_eq(out, "hello");
    cr_assert_eq(atomic_load(&slow_finished), 0, "echo answered while slow still ran");
    free(out);
    /* So does a handler that runs on the loop thread. */
    cr_assert_eq(call(b, "/test.Svc/Quick", "quick", &out, 5000, &st), 0);
    cr_assert_eq(st.code, 0);
    cr_assert_str_eq(out, "quick");
    cr_assert_eq(atomic_load(&slow_finished), 0);
    free(out);
    sem_post(&release_slow);
    pthread_join(t, NULL);
    cr_assert_eq(sc.st.code, 0);
    cr_assert_str_eq(sc.body, "slow");
    crio_grpc_status_clear(&st);
    crio_grpc_status_clear(&sc.st);
    crio_grpc_client_free(a);
    crio_grpc_client_free(b);
    stop_server();
}

Test(grpc_server, many_calls_over_eight_clients)
{
    start_server(0);
    enum { N = 8 };
    crio_grpc_client *c[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(crio_grpc_client_new(&c[i], S.sock), 0);
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < N; i++) {
            char req[32], *out = NULL;
            snprintf(req, sizeof req, "r%d-c%d", round, i);
            crio_grpc_status st = { 0 };
            cr_assert_eq(call(c[i], "/test.Svc/Echo", req, &out, 5000, &st), 0);
            cr_assert_eq(st.code, 0, "round %d conn %d: %d %s", round, i, st.code, st.message ? st.message : "");
            cr_assert_str_eq(out, req);
            free(out);
        }
    for (int i = 0; i < N; i++)
        crio_grpc_client_free(c[i]);
    stop_server();
}

Test(grpc_server, status_and_message_reach_the_client)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    crio_grpc_status st = { 0 };
    cr_assert_eq(call(c, "/test.Svc/Fail", "", NULL, 5000, &st), 0);
    cr_assert_eq(st.code, GRPC_NOT_FOUND);
    cr_assert_str_eq(st.message, "no such thing: 100% gone \xc3\xa9", "percent-encoded and decoded");
    crio_grpc_status_clear(&st);
    cr_assert_eq(call(c, "/test.Svc/Nope", "", NULL, 5000, &st), 0);
    cr_assert_eq(st.code, GRPC_UNIMPLEMENTED);
    cr_assert(strstr(st.message, "/test.Svc/Nope"), "names the method: %s", st.message);
    crio_grpc_status_clear(&st);
    /* The connection still serves calls after errors. */
    char *out = NULL;
    cr_assert_eq(call(c, "/test.Svc/Echo", "ok", &out, 5000, &st), 0);
    cr_assert_str_eq(out, "ok");
    free(out);
    crio_grpc_client_free(c);
    stop_server();
}

Test(grpc_server, oversized_request_is_resource_exhausted)
{
    start_server(1024);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    char *big = malloc(4096);
    memset(big, 'x', 4095);
    big[4095] = '\0';
    crio_grpc_status st = { 0 };
    cr_assert_eq(call(c, "/test.Svc/Echo", big, NULL, 5000, &st), 0);
    cr_assert_eq(st.code, GRPC_RESOURCE_EXHAUSTED, "got %d %s", st.code, st.message ? st.message : "");
    crio_grpc_status_clear(&st);
    big[1000] = '\0';
    char *out = NULL;
    cr_assert_eq(call(c, "/test.Svc/Echo", big, &out, 5000, &st), 0);
    cr_assert_eq(st.code, 0);
    cr_assert_eq(strlen(out), 1000);
    free(out);
    free(big);
    crio_grpc_client_free(c);
    stop_server();
}

Test(grpc_server, deadline_answers_deadline_exceeded)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    struct slow_call sc = { .c = c, .timeout_ms = 200 };
    do_slow(&sc);
    cr_assert_eq(sc.st.code, GRPC_DEADLINE_EXCEEDED);
    /* The server itself answered DEADLINE_EXCEEDED (not only the client). */
    cr_assert(wait_for(&last_status_for_slow, GRPC_DEADLINE_EXCEEDED, 5000));
    cr_assert_eq(atomic_load(&last_status_for_slow), GRPC_DEADLINE_EXCEEDED);
    sem_post(&release_slow);
    cr_assert(wait_for(&slow_finished, 1, 5000), "handler completes; its late reply is dropped");
    crio_grpc_status_clear(&sc.st);
    crio_grpc_client_free(c);
    stop_server();
}

struct collected {
    char msgs[8][16];
    int n;
    int cancel_after;
};

static int collect(const void *msg, size_t len, void *payload)
{
    struct collected *col = payload;
    if (col->n < 8 && len < 16) {
        memcpy(col->msgs[col->n], msg, len);
        col->msgs[col->n][len] = '\0';
    }
    col->n++;
    return col->cancel_after && col->n >= col->cancel_after;
}

Test(grpc_server, server_streaming)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    struct collected col = { 0 };
    crio_grpc_status st = { 0 };
    cr_assert_eq(crio_grpc_call_stream(c, "/test.Svc/Stream", "", 0, collect, &col, 5000, &st), 0);
    cr_assert_eq(st.code, 0, "%s", st.message ? st.message : "");
    cr_assert_eq(col.n, 3);
    cr_assert_str_eq(col.msgs[0], "m0");
    cr_assert_str_eq(col.msgs[2], "m2");
    crio_grpc_status_clear(&st);
    crio_grpc_client_free(c);
    stop_server();
}

Test(grpc_server, client_cancel_stops_stream_handler)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    struct collected col = { .cancel_after = 1 };
    crio_grpc_status st = { 0 };
    crio_grpc_call_stream(c, "/test.Svc/Forever", "", 0, collect, &col, 5000, &st);
    cr_assert_eq(col.n, 1);
    cr_assert_str_eq(col.msgs[0], "first");
    crio_grpc_status_clear(&st);
    crio_grpc_client_free(c); /* closes the connection if the reset did not */
    cr_assert(wait_for(&forever_returned, 1, 5000), "handler saw the cancel and returned");
    stop_server();
}

Test(grpc_server, shutdown_lets_inflight_call_finish)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    struct slow_call sc = { .c = c, .timeout_ms = 10000 };
    pthread_t t;
    pthread_create(&t, NULL, do_slow, &sc);
    cr_assert(wait_for(&slow_started, 1, 5000));
    uv_async_send(&S.stop);
    /* The socket goes away at once; the in-flight call is still answered. */
    for (int i = 0; i < 5000 && access(S.sock, F_OK) == 0; i++)
        usleep(1000);
    cr_assert_eq(access(S.sock, F_OK), -1);
    cr_assert_eq(atomic_load(&S.shutdown_finished), 0, "shutdown waits for the call");
    sem_post(&release_slow);
    pthread_join(t, NULL);
    cr_assert_eq(sc.st.code, 0, "in-flight call answered: %d %s", sc.st.code, sc.st.message ? sc.st.message : "");
    cr_assert_str_eq(sc.body, "slow");
    pthread_join(S.thread, NULL);
    cr_assert_eq(atomic_load(&S.shutdown_finished), 1);
    crio_grpc_status_clear(&sc.st);
    crio_grpc_client_free(c);
    grpc_server_free(S.srv);
    uv_loop_close(&S.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", S.dir);
    cr_assert_eq(system(cmd), 0);
}

Test(grpc_framing, timeout_parse)
{
    uint64_t ns;
    cr_assert(grpc_parse_timeout("100m", 4, &ns));
    cr_assert_eq(ns, 100000000ULL);
    cr_assert(grpc_parse_timeout("2S", 2, &ns));
    cr_assert_eq(ns, 2000000000ULL);
    cr_assert(grpc_parse_timeout("1H", 2, &ns));
    cr_assert_eq(ns, 3600ULL * 1000000000ULL);
    cr_assert(grpc_parse_timeout("7n", 2, &ns));
    cr_assert_eq(ns, 7);
    cr_assert_not(grpc_parse_timeout("123456789S", 10, &ns), "more than 8 digits");
    cr_assert_not(grpc_parse_timeout("10x", 3, &ns));
    cr_assert_not(grpc_parse_timeout("S", 1, &ns));
    cr_assert_not(grpc_parse_timeout("1-S", 3, &ns));
}

Test(grpc_framing, percent_encode)
{
    char *e = grpc_percent_encode("a b%c\n\xc3\xa9");
    cr_assert_str_eq(e, "a b%25c%0A%C3%A9");
    free(e);
}

Test(grpc_framing, prefix_roundtrip)
{
    uint8_t p[5];
    grpc_frame_prefix(p, 0x01020304);
    bool comp;
    uint32_t len;
    cr_assert_eq(grpc_frame_header(p, 5, &comp, &len), 0);
    cr_assert_not(comp);
    cr_assert_eq(len, 0x01020304);
    cr_assert_eq(grpc_frame_header(p, 4, &comp, &len), -1);
    cr_assert_str_eq(grpc_code_name(GRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
}

/* Bodies far larger than the HTTP/2 windows flow in both directions. */
Test(grpc_server, large_messages_cross_flow_control_windows)
{
    start_server(0);
    crio_grpc_client *c;
    cr_assert_eq(crio_grpc_client_new(&c, S.sock), 0);
    size_t n = 6 * 1024 * 1024;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    void *resp = NULL;
    size_t len = 0;
    crio_grpc_status st = { 0 };
    cr_assert_eq(crio_grpc_call(c, "/test.Svc/Echo", big, n, &resp, &len, 20000, &st), 0);
    cr_assert_eq(st.code, 0, "%d %s", st.code, st.message ? st.message : "");
    cr_assert_eq(len, n);
    cr_assert_eq(memcmp(resp, big, n), 0);
    free(resp);
    free(big);
    crio_grpc_client_free(c);
    stop_server();
}
