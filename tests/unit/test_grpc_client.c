/* Unit tests of crioctl's pure parts: gRPC framing, percent-decoding,
 * endpoints, timeouts, durations, JSON and table output; and of the gRPC
 * client's connection handling against a scripted HTTP/2 peer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "grpc_client.h"

/* ---- Length-prefixed message reader ---- */

struct collected {
    int n;
    size_t len[16];
    char data[16][256];
    int stop_after; /* 0: never */
};

static int collect(const void *msg, size_t len, void *payload)
{
    struct collected *c = payload;

    cr_assert_lt(c->n, 16);
    cr_assert_not_null(msg);
    c->len[c->n] = len;
    memcpy(c->data[c->n], msg, len < 256 ? len : 256);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

/* Appends a framed message to buf; returns the new length. */
static size_t frame(unsigned char *buf, size_t at, const char *msg)
{
    size_t len = strlen(msg);

    crio_grpc_frame_header(buf + at, (uint32_t)len);
    memcpy(buf + at + 5, msg, len);
    return at + 5 + len;
}

Test(grpc_reader, frame_header_is_big_endian)
{
    unsigned char h[5];

    crio_grpc_frame_header(h, 0x01020304);
    cr_assert_eq(h[0], 0);
    cr_assert_eq(h[1], 1);
    cr_assert_eq(h[2], 2);
    cr_assert_eq(h[3], 3);
    cr_assert_eq(h[4], 4);
}

Test(grpc_reader, whole_messages_in_one_chunk)
{
    unsigned char buf[256];
    size_t n = frame(buf, 0, "hello");
    n = frame(buf, n, "");
    n = frame(buf, n, "world!");
    crio_grpc_reader r;
    struct collected c = { 0 };

    crio_grpc_reader_init(&r, 0);
    cr_assert_eq(crio_grpc_reader_feed(&r, buf, n, collect, &c), CRIO_GRPC_READ_OK);
    cr_assert_eq(c.n, 3);
    cr_assert_eq(c.len[0], 5);
    cr_assert_arr_eq(c.data[0], "hello", 5);
    cr_assert_eq(c.len[1], 0);
    cr_assert_eq(c.len[2], 6);
    cr_assert_arr_eq(c.data[2], "world!", 6);
    cr_assert_not(crio_grpc_reader_pending(&r));
    crio_grpc_reader_reset(&r);
}

Test(grpc_reader, messages_split_at_every_byte)
{
    unsigned char buf[256];
    size_t n = frame(buf, 0, "first message");
    n = frame(buf, n, "second");
    crio_grpc_reader r;
    struct collected c = { 0 };

    crio_grpc_reader_init(&r, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(crio_grpc_reader_feed(&r, buf + i, 1, collect, &c), CRIO_GRPC_READ_OK);
        if (i == 4) /* the prefix alone */
            cr_assert(crio_grpc_reader_pending(&r));
    }
    cr_assert_eq(c.n, 2);
    cr_assert_eq(c.len[0], 13);
    cr_assert_arr_eq(c.data[0], "first message", 13);
    cr_assert_eq(c.len[1], 6);
    cr_assert_arr_eq(c.data[1], "second", 6);
    cr_assert_not(crio_grpc_reader_pending(&r));
    crio_grpc_reader_reset(&r);
}

Test(grpc_reader, every_split_point_of_two_messages)
{
    unsigned char buf[256];
    size_t n = frame(buf, 0, "abcdefgh");
    n = frame(buf, n, "xyz");

    for (size_t cut = 0; cut <= n; cut++) {
        crio_grpc_reader r;
        struct collected c = { 0 };
        crio_grpc_reader_init(&r, 0);
        cr_assert_eq(crio_grpc_reader_feed(&r, buf, cut, collect, &c), CRIO_GRPC_READ_OK);
        cr_assert_eq(crio_grpc_reader_feed(&r, buf + cut, n - cut, collect, &c), CRIO_GRPC_READ_OK);
        cr_assert_eq(c.n, 2, "cut at %zu", cut);
        cr_assert_arr_eq(c.data[0], "abcdefgh", 8, "cut at %zu", cut);
        cr_assert_eq(c.len[1], 3, "cut at %zu", cut);
        cr_assert_arr_eq(c.data[1], "xyz", 3, "cut at %zu", cut);
        crio_grpc_reader_reset(&r);
    }
}

static int check_big(const void *msg, size_t len, void *payload)
{
    const unsigned char *m = msg;

    cr_assert_eq(len, 100000);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(m[i], (unsigned char)(i * 7), "byte %zu", i);
    (*(int *)payload)++;
    return 0;
}

Test(grpc_reader, large_message_in_uneven_chunks)
{
    size_t len = 100000;
    unsigned char *buf = malloc(5 + len);
    crio_grpc_reader r;
    int got = 0;

    crio_grpc_frame_header(buf, (uint32_t)len);
    for (size_t i = 0; i < len; i++)
        buf[5 + i] = (unsigned char)(i * 7);
    crio_grpc_reader_init(&r, 0);
    for (size_t at = 0, step = 1; at < 5 + len; at += step, step = step * 3 % 4099 + 1) {
        size_t n = at + step <= 5 + len ? step : 5 + len - at;
        cr_assert_eq(crio_grpc_reader_feed(&r, buf + at, n, check_big, &got), CRIO_GRPC_READ_OK);
    }
    cr_assert_eq(got, 1);
    cr_assert_not(crio_grpc_reader_pending(&r));
    crio_grpc_reader_reset(&r);
    free(buf);
}

Test(grpc_reader, partial_message_is_pending)
{
    unsigned char buf[64];
    size_t n = frame(buf, 0, "truncated");
    crio_grpc_reader r;
    struct collected c = { 0 };

    crio_grpc_reader_init(&r, 0);
    cr_assert_eq(crio_grpc_reader_feed(&r, buf, n - 1, collect, &c), CRIO_GRPC_READ_OK);
    cr_assert_eq(c.n, 0);
    cr_assert(crio_grpc_reader_pending(&r));
    crio_grpc_reader_reset(&r);
    cr_assert_not(crio_grpc_reader_pending(&r));
}

Test(grpc_reader, compressed_flag_is_refused)
{
    unsigned char buf[16] = { 1, 0, 0, 0, 1, 'x' };
    crio_grpc_reader r;
    struct collected c = { 0 };

    crio_grpc_reader_init(&r, 0);
    cr_assert_eq(crio_grpc_reader_feed(&r, buf, 6, collect, &c), CRIO_GRPC_READ_COMPRESSED);
    cr_assert_eq(c.n, 0);
    crio_grpc_reader_reset(&r);
}

Test(grpc_reader, message_over_the_cap_is_refused)
{
    unsigned char h[5];
    crio_grpc_reader r;
    struct collected c = { 0 };

    /* A custom cap. */
    crio_grpc_reader_init(&r, 10);
    crio_grpc_frame_header(h, 11);
    cr_assert_eq(crio_grpc_reader_feed(&r, h, 5, collect, &c), CRIO_GRPC_READ_TOO_LARGE);
    cr_assert_eq(r.too_large, 11);
    crio_grpc_reader_reset(&r);

    /* Exactly at the cap is fine. */
    unsigned char buf[32];
    size_t n = frame(buf, 0, "0123456789");
    crio_grpc_reader_init(&r, 10);
    cr_assert_eq(crio_grpc_reader_feed(&r, buf, n, collect, &c), CRIO_GRPC_READ_OK);
    cr_assert_eq(c.n, 1);
    crio_grpc_reader_reset(&r);

    /* The default cap: 64 MiB. */
    crio_grpc_reader_init(&r, 0);
    crio_grpc_frame_header(h, (uint32_t)CRIO_GRPC_MAX_MESSAGE + 1);
    cr_assert_eq(crio_grpc_reader_feed(&r, h, 5, collect, &c), CRIO_GRPC_READ_TOO_LARGE);
    crio_grpc_reader_reset(&r);
    crio_grpc_frame_header(h, (uint32_t)CRIO_GRPC_MAX_MESSAGE);
    cr_assert_eq(crio_grpc_reader_feed(&r, h, 5, collect, &c), CRIO_GRPC_READ_OK);
    cr_assert(crio_grpc_reader_pending(&r));
    crio_grpc_reader_reset(&r);
}

Test(grpc_reader, callback_can_stop)
{
    unsigned char buf[64];
    size_t n = frame(buf, 0, "a");
    n = frame(buf, n, "b");
    n = frame(buf, n, "c");
    crio_grpc_reader r;
    struct collected c = { .stop_after = 2 };

    crio_grpc_reader_init(&r, 0);
    cr_assert_eq(crio_grpc_reader_feed(&r, buf, n, collect, &c), CRIO_GRPC_READ_STOPPED);
    cr_assert_eq(c.n, 2);
    crio_grpc_reader_reset(&r);
}

/* ---- Percent-decoding ---- */

static void check_decode(const char *in, const char *want)
{
    char *got = crio_grpc_percent_decode(in, strlen(in));
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want, "decoding [%s]", in);
    free(got);
}

Test(grpc_percent, decodes_utf8_and_percent)
{
    check_decode("caf%C3%A9 100%25 s%c3%bbr %E2%9C%93", "café 100% sûr ✓");
    check_decode("plain text", "plain text");
    check_decode("", "");
}

Test(grpc_percent, keeps_invalid_sequences)
{
    check_decode("%zz", "%zz");
    check_decode("50%", "50%");
    check_decode("%4", "%4");
    check_decode("%4g%41", "%4gA");
    check_decode("%%41", "%A");
}

Test(grpc_percent, honours_the_length)
{
    char *got = crio_grpc_percent_decode("ab%41cd", 5); /* "ab%41" */
    cr_assert_str_eq(got, "abA");
    free(got);
    got = crio_grpc_percent_decode("ab%41", 4); /* "ab%4": incomplete */
    cr_assert_str_eq(got, "ab%4");
    free(got);
}

/* ---- Endpoints ---- */

static void check_endpoint(const char *in, int want_rc, const char *want)
{
    char *path = (char *)"unchanged";
    int rc = crio_grpc_endpoint_path(&path, in);
    cr_assert_eq(rc, want_rc, "endpoint [%s]: rc %d", in, rc);
    if (want) {
        cr_assert_str_eq(path, want, "endpoint [%s]", in);
        free(path);
    } else {
        cr_assert_null(path, "endpoint [%s]", in);
    }
}

Test(grpc_endpoint, forms)
{
    check_endpoint("unix:///run/crio/crio.sock", 0, "/run/crio/crio.sock");
    check_endpoint("unix:/tmp/x.sock", 0, "/tmp/x.sock");
    check_endpoint("/var/run/crio.sock", 0, "/var/run/crio.sock");
    check_endpoint("unix:relative.sock", 0, "relative.sock");
    check_endpoint("relative.sock", 0, "relative.sock");
}

Test(grpc_endpoint, refused)
{
    check_endpoint("", -EINVAL, NULL);
    check_endpoint("unix:", -EINVAL, NULL);
    check_endpoint("unix://", -EINVAL, NULL);
    check_endpoint("unix://host/path", -EINVAL, NULL);
    check_endpoint("tcp://127.0.0.1:10010", -EINVAL, NULL);
    check_endpoint("npipe:////./pipe/containerd", -EINVAL, NULL);
    check_endpoint(NULL, -EINVAL, NULL);
}

Test(grpc_endpoint, length_limit)
{
    char p[200] = "unix://";
    /* sun_path holds 108 bytes: 107 characters and the NUL. */
    memset(p + 7, 'a', 107);
    p[7] = '/';
    p[7 + 107] = '\0';
    char *path = NULL;
    cr_assert_eq(crio_grpc_endpoint_path(&path, p), 0);
    cr_assert_eq(strlen(path), 107);
    free(path);
    p[7 + 107] = 'a';
    p[7 + 108] = '\0';
    check_endpoint(p, -ENAMETOOLONG, NULL);
}

Test(grpc_client, new_refuses_bad_endpoint)
{
    crio_grpc_client *c = (crio_grpc_client *)1;
    cr_assert_eq(crio_grpc_client_new(&c, "tcp://localhost:1"), -EINVAL);
    cr_assert_null(c);
    cr_assert_eq(crio_grpc_client_new(&c, "unix:///tmp/crio-test.sock"), 0);
    cr_assert_str_eq(crio_grpc_client_socket_path(c), "/tmp/crio-test.sock");
    crio_grpc_client_free(c);
    crio_grpc_client_free(NULL);
}

Test(grpc_client, missing_socket_is_unavailable)
{
    crio_grpc_client *c;
    crio_grpc_status st = { 0 };
    void *resp = (void *)1;
    size_t len = 1;

    cr_assert_eq(crio_grpc_client_new(&c, "/nonexistent/dir/crio.sock"), 0);
    cr_assert_eq(crio_grpc_call(c, "/runtime.v1.RuntimeService/Version", "", 0, &resp, &len, 1000,
                                &st),
                 0);
    cr_assert_eq(st.code, CRIO_GRPC_UNAVAILABLE);
    cr_assert_str_eq(st.message,
                     "connect to /nonexistent/dir/crio.sock: No such file or directory");
    cr_assert_null(resp);
    cr_assert_eq(len, 0);
    crio_grpc_status_clear(&st);
    cr_assert_eq(st.code, 0);
    cr_assert_null(st.message);
    crio_grpc_client_free(c);
}

/* ---- The client against a scripted HTTP/2 peer ----
 *
 * Not the project's server (test_grpc_server drives that): a bare nghttp2
 * server session in a thread, its replies chosen by the request path, to show
 * what a real server cannot show deterministically: that the connection is
 * reused (the peer counts accepts), that a call survives a graceful GOAWAY,
 * that a server closing between calls costs nothing, and how the client's
 * own deadline and cancel look on the wire.
 */

struct peer {
    int lfd;
    char dir[64];
    char sock[128];
    pthread_t thread;
    atomic_int stop;
    atomic_int accepts;  /* connections accepted */
    atomic_int closed;   /* connections the peer is done with */
    atomic_int rst_code; /* the last RST_STREAM received; -1: none */

    /* The connection being served (peer thread only). */
    nghttp2_session *s;
    int fd;
    bool close_after_flush;
    bool hold_open; /* the reply's stream stays open after its messages */
    char path[64];
    unsigned char *body; /* the request, as received (framed) */
    size_t body_len, body_cap;
    unsigned char *reply;
    size_t reply_len, reply_off;

    /* The last request's headers (written before the reply goes out). */
    char te[32], ua[64], ct[32], authority[32], timeout[16];
};

/* Criterion's assertions belong to the test's thread: the peer aborts. */
#define PEER_CHECK(x)                                                                  \
    do {                                                                               \
        if (!(x)) {                                                                    \
            fprintf(stderr, "%s:%d: peer check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

#define PEER_NV(n, v) \
    { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

static ssize_t peer_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *u)
{
    struct peer *p = u;
    ssize_t n = send(p->fd, data, len, MSG_NOSIGNAL);
    return n > 0 ? n : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t peer_read_reply(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                               uint32_t *flags, nghttp2_data_source *src, void *u)
{
    struct peer *p = u;
    size_t n = p->reply_len - p->reply_off < len ? p->reply_len - p->reply_off : len;

    if (n == 0 && p->hold_open)
        return NGHTTP2_ERR_DEFERRED; /* never resumed: no trailers */
    memcpy(buf, p->reply + p->reply_off, n);
    p->reply_off += n;
    if (p->reply_off == p->reply_len && !p->hold_open) {
        nghttp2_nv t[] = { PEER_NV("grpc-status", "0") };
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        PEER_CHECK(nghttp2_submit_trailer(s, id, t, 1) == 0);
    }
    return (ssize_t)n;
}

/* Replies 200 with `len` bytes of (already framed) messages and grpc-status 0. */
static void peer_reply(struct peer *p, int32_t id, const void *data, size_t len)
{
    nghttp2_nv h[] = { PEER_NV(":status", "200"), PEER_NV("content-type", "application/grpc") };
    nghttp2_data_provider d = { .read_callback = peer_read_reply };

    free(p->reply);
    p->reply = malloc(len ? len : 1);
    memcpy(p->reply, data, len);
    p->reply_len = len;
    p->reply_off = 0;
    p->hold_open = false;
    PEER_CHECK(nghttp2_submit_response(p->s, id, h, 2, &d) == 0);
}

static void peer_respond(struct peer *p, int32_t id)
{
    const char *m = p->path + strlen("/t/");

    if (strcmp(m, "Echo") == 0) {
        peer_reply(p, id, p->body, p->body_len);
    } else if (strcmp(m, "GoawayThenReply") == 0) {
        /* As a server shutting down: GOAWAY covering the call, the reply,
         * then the end of the connection. */
        PEER_CHECK(nghttp2_submit_goaway(p->s, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, NULL, 0) == 0);
        peer_reply(p, id, p->body, p->body_len);
        p->close_after_flush = true;
    } else if (strcmp(m, "ReplyAndClose") == 0) {
        peer_reply(p, id, p->body, p->body_len);
        p->close_after_flush = true;
    } else if (strcmp(m, "Refuse") == 0) {
        /* A GOAWAY that leaves this stream out: it was never processed. */
        PEER_CHECK(nghttp2_submit_goaway(p->s, NGHTTP2_FLAG_NONE, id - 2, NGHTTP2_NO_ERROR,
                                           NULL, 0) == 0);
        p->close_after_flush = true;
    } else if (strcmp(m, "TrailersOnly") == 0) {
        nghttp2_nv h[] = { PEER_NV(":status", "200"), PEER_NV("content-type", "application/grpc"),
                           PEER_NV("grpc-status", "5"), PEER_NV("grpc-message", "not%20here") };
        PEER_CHECK(nghttp2_submit_response(p->s, id, h, 4, NULL) == 0);
    } else if (strcmp(m, "Http503") == 0) {
        nghttp2_nv h[] = { PEER_NV(":status", "503"), PEER_NV("content-type", "text/plain") };
        PEER_CHECK(nghttp2_submit_response(p->s, id, h, 2, NULL) == 0);
    } else if (strcmp(m, "Reset") == 0) {
        PEER_CHECK(nghttp2_submit_rst_stream(p->s, NGHTTP2_FLAG_NONE, id,
                                               NGHTTP2_ENHANCE_YOUR_CALM) == 0);
    } else if (strcmp(m, "Stream") == 0 || strcmp(m, "StreamOpen") == 0) {
        unsigned char buf[32];
        size_t n = 0;
        for (const char *x = "abc"; *x; x++) {
            crio_grpc_frame_header(buf + n, 1);
            buf[n + 5] = (unsigned char)*x;
            n += 6;
        }
        peer_reply(p, id, buf, n);
        p->hold_open = strcmp(m, "StreamOpen") == 0;
    } else if (strcmp(m, "Big") == 0) {
        size_t len = (size_t)4 << 20;
        unsigned char *buf = malloc(5 + len);
        crio_grpc_frame_header(buf, (uint32_t)len);
        memset(buf + 5, 'x', len);
        peer_reply(p, id, buf, 5 + len);
        free(buf);
    }
    /* "Silent": no answer at all. */
}

static void copy_value(char *dst, size_t cap, const uint8_t *v, size_t len)
{
    snprintf(dst, cap, "%.*s", (int)len, (const char *)v);
}

static int peer_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *u)
{
    struct peer *p = u;
    const char *n = (const char *)name;

    if (strcmp(n, ":path") == 0)
        copy_value(p->path, sizeof p->path, value, valuelen);
    else if (strcmp(n, "te") == 0)
        copy_value(p->te, sizeof p->te, value, valuelen);
    else if (strcmp(n, "user-agent") == 0)
        copy_value(p->ua, sizeof p->ua, value, valuelen);
    else if (strcmp(n, "content-type") == 0)
        copy_value(p->ct, sizeof p->ct, value, valuelen);
    else if (strcmp(n, ":authority") == 0)
        copy_value(p->authority, sizeof p->authority, value, valuelen);
    else if (strcmp(n, "grpc-timeout") == 0)
        copy_value(p->timeout, sizeof p->timeout, value, valuelen);
    return 0;
}

static int peer_on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    struct peer *p = u;

    p->body_len = 0;
    p->path[0] = p->te[0] = p->ua[0] = p->ct[0] = p->authority[0] = p->timeout[0] = '\0';
    return 0;
}

static int peer_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                        size_t len, void *u)
{
    struct peer *p = u;

    if (p->body_len + len > p->body_cap) {
        p->body_cap = (p->body_len + len) * 2;
        p->body = realloc(p->body, p->body_cap);
        PEER_CHECK(p->body);
    }
    memcpy(p->body + p->body_len, data, len);
    p->body_len += len;
    return 0;
}

static int peer_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    struct peer *p = u;

    if (f->hd.type == NGHTTP2_RST_STREAM)
        atomic_store(&p->rst_code, (int)f->rst_stream.error_code);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        peer_respond(p, f->hd.stream_id);
    return 0;
}

static void peer_serve(struct peer *p, nghttp2_session_callbacks *cb)
{
    unsigned char buf[16384];

    PEER_CHECK(nghttp2_session_server_new(&p->s, cb, p) == 0);
    PEER_CHECK(nghttp2_submit_settings(p->s, NGHTTP2_FLAG_NONE, NULL, 0) == 0);
    p->close_after_flush = false;
    while (!atomic_load(&p->stop)) {
        if (nghttp2_session_send(p->s) != 0 || p->close_after_flush)
            break;
        struct pollfd pf = { .fd = p->fd, .events = POLLIN };
        if (poll(&pf, 1, 20) <= 0)
            continue;
        ssize_t got = recv(p->fd, buf, sizeof buf, 0);
        if (got <= 0 || nghttp2_session_mem_recv(p->s, buf, (size_t)got) < 0)
            break;
    }
    nghttp2_session_del(p->s);
    p->s = NULL;
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    nghttp2_session_callbacks *cb;

    PEER_CHECK(nghttp2_session_callbacks_new(&cb) == 0);
    nghttp2_session_callbacks_set_send_callback(cb, peer_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, peer_on_header);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, peer_on_begin_headers);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, peer_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, peer_on_frame_recv);
    while (!atomic_load(&p->stop)) {
        struct pollfd pl = { .fd = p->lfd, .events = POLLIN };
        if (poll(&pl, 1, 20) <= 0)
            continue;
        p->fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (p->fd < 0)
            continue;
        atomic_fetch_add(&p->accepts, 1);
        peer_serve(p, cb);
        close(p->fd);
        atomic_fetch_add(&p->closed, 1);
    }
    nghttp2_session_callbacks_del(cb);
    free(p->reply);
    free(p->body);
    return NULL;
}

static void peer_start(struct peer *p)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    memset(p, 0, sizeof *p);
    atomic_store(&p->rst_code, -1);
    strcpy(p->dir, "/tmp/crio-grpc-peer-XXXXXX");
    cr_assert_not_null(mkdtemp(p->dir));
    snprintf(p->sock, sizeof p->sock, "%s/peer.sock", p->dir);
    strcpy(sa.sun_path, p->sock);
    p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(p->lfd, 0);
    cr_assert_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(p->lfd, 16), 0);
    cr_assert_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_stop(struct peer *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    close(p->lfd);
    unlink(p->sock);
    rmdir(p->dir);
}

static bool wait_until(atomic_int *v, int want)
{
    for (int i = 0; i < 5000 && atomic_load(v) != want; i++)
        usleep(1000);
    return atomic_load(v) == want;
}

/* A unary call expected to succeed and echo `req`. */
static void echo_ok(crio_grpc_client *c, const char *path, const char *req)
{
    crio_grpc_status st = { 0 };
    void *resp = NULL;
    size_t len = 0;

    cr_assert_eq(crio_grpc_call(c, path, req, strlen(req), &resp, &len, 5000, &st), 0);
    cr_assert_eq(st.code, 0, "%s: %s %s", path, crio_grpc_code_name(st.code),
                 st.message ? st.message : "");
    cr_assert_eq(len, strlen(req), "%s", path);
    cr_assert_arr_eq(resp, req, len, "%s", path);
    free(resp);
}

/* A unary call expected to fail with `code`; returns its message (malloc'd). */
static char *call_fails(crio_grpc_client *c, const char *path, long timeout_ms, int code)
{
    crio_grpc_status st = { 0 };
    void *resp = (void *)1;
    size_t len = 1;

    cr_assert_eq(crio_grpc_call(c, path, "q", 1, &resp, &len, timeout_ms, &st), 0);
    cr_assert_eq(st.code, code, "%s: %s %s", path, crio_grpc_code_name(st.code),
                 st.message ? st.message : "");
    cr_assert_null(resp);
    cr_assert_eq(len, 0);
    return st.message;
}

TestSuite(grpc_peer, .timeout = 30);

Test(grpc_peer, one_connection_serves_every_call)
{
    struct peer P;
    crio_grpc_client *c;

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    for (int i = 0; i < 20; i++) {
        char req[32];
        snprintf(req, sizeof req, "hello %d", i);
        echo_ok(c, "/t/Echo", req);
    }
    cr_assert_eq(atomic_load(&P.accepts), 1, "20 calls, one connection");
    /* The request headers of a gRPC call. */
    cr_assert_str_eq(P.te, "trailers");
    cr_assert_str_eq(P.ct, "application/grpc");
    cr_assert_str_eq(P.authority, "localhost");
    cr_assert_str_eq(P.timeout, "5000m");
    cr_assert(strncmp(P.ua, "grpc-c-libcrio/", 15) == 0, "user-agent %s", P.ua);
    crio_grpc_client_free(c);
    cr_assert(wait_until(&P.closed, 1), "the client closed its connection");
    peer_stop(&P);
}

Test(grpc_peer, graceful_goaway_lets_the_call_finish)
{
    struct peer P;
    crio_grpc_client *c;

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    echo_ok(c, "/t/Echo", "before");
    /* GOAWAY (NO_ERROR, covering the stream) before the reply, and the
     * connection closed right after the trailers: the call completes. */
    echo_ok(c, "/t/GoawayThenReply", "during");
    cr_assert_eq(atomic_load(&P.accepts), 1);
    /* The next call takes a new connection. */
    echo_ok(c, "/t/Echo", "after");
    cr_assert_eq(atomic_load(&P.accepts), 2);
    crio_grpc_client_free(c);
    peer_stop(&P);
}

Test(grpc_peer, server_closing_between_calls_costs_nothing)
{
    struct peer P;
    crio_grpc_client *c;

    signal(SIGPIPE, SIG_DFL); /* a write to the closed socket must not raise it */
    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    echo_ok(c, "/t/ReplyAndClose", "one");
    cr_assert(wait_until(&P.closed, 1));
    echo_ok(c, "/t/ReplyAndClose", "two");
    cr_assert_eq(atomic_load(&P.accepts), 2, "reconnected");
    cr_assert(wait_until(&P.closed, 2));
    crio_grpc_client_free(c); /* says GOAWAY to a closed socket */
    peer_stop(&P);
}

Test(grpc_peer, stream_left_out_by_goaway_is_unavailable)
{
    struct peer P;
    crio_grpc_client *c;

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    echo_ok(c, "/t/Echo", "first");
    free(call_fails(c, "/t/Refuse", 5000, CRIO_GRPC_UNAVAILABLE));
    echo_ok(c, "/t/Echo", "again");
    cr_assert_eq(atomic_load(&P.accepts), 2);
    crio_grpc_client_free(c);
    peer_stop(&P);
}

Test(grpc_peer, statuses_from_headers_http_and_resets)
{
    struct peer P;
    crio_grpc_client *c;
    char *msg;

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    msg = call_fails(c, "/t/TrailersOnly", 5000, CRIO_GRPC_NOT_FOUND);
    cr_assert_str_eq(msg, "not here");
    free(msg);
    msg = call_fails(c, "/t/Http503", 5000, CRIO_GRPC_UNAVAILABLE);
    cr_assert(strstr(msg, "HTTP status 503"), "%s", msg);
    free(msg);
    msg = call_fails(c, "/t/Reset", 5000, CRIO_GRPC_RESOURCE_EXHAUSTED);
    cr_assert(strstr(msg, "ENHANCE_YOUR_CALM"), "%s", msg);
    free(msg);
    echo_ok(c, "/t/Echo", "still fine");
    cr_assert_eq(atomic_load(&P.accepts), 1, "errors keep the connection");
    crio_grpc_client_free(c);
    peer_stop(&P);
}

Test(grpc_peer, own_deadline_cancels_the_stream)
{
    struct peer P;
    crio_grpc_client *c;
    struct timespec t0, t1;

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    free(call_fails(c, "/t/Silent", 100, CRIO_GRPC_DEADLINE_EXCEEDED));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert(ms >= 140 && ms < 2000, "the deadline plus the grace: %ld ms", ms);
    cr_assert_str_eq(P.timeout, "100m");
    cr_assert(wait_until(&P.rst_code, NGHTTP2_CANCEL), "RST_STREAM(CANCEL) sent");
    echo_ok(c, "/t/Echo", "next");
    cr_assert_eq(atomic_load(&P.accepts), 1);
    crio_grpc_client_free(c);
    peer_stop(&P);
}

struct counted {
    int n;
    int cancel_after; /* 0: never */
};

static int count_or_cancel(const void *msg, size_t len, void *payload)
{
    struct counted *k = payload;

    if (len != 1 || *(const char *)msg != "abc"[k->n % 3])
        return -1;
    k->n++;
    return k->cancel_after && k->n >= k->cancel_after;
}

Test(grpc_peer, streaming_large_messages_and_cancel)
{
    struct peer P;
    crio_grpc_client *c;
    crio_grpc_status st = { 0 };
    void *resp = NULL;
    size_t len = 0;
    struct counted k = { 0 };

    peer_start(&P);
    cr_assert_eq(crio_grpc_client_new(&c, P.sock), 0);
    cr_assert_eq(crio_grpc_call_stream(c, "/t/Stream", "", 0, count_or_cancel, &k, 5000, &st), 0);
    cr_assert_eq(st.code, 0, "%s", st.message ? st.message : "");
    cr_assert_eq(k.n, 3);
    /* A stream the server keeps open: cancelling resets it. */
    k = (struct counted){ .cancel_after = 1 };
    cr_assert_eq(crio_grpc_call_stream(c, "/t/StreamOpen", "", 0, count_or_cancel, &k, 5000, &st), 0);
    cr_assert_eq(st.code, CRIO_GRPC_CANCELLED, "%s", st.message ? st.message : "");
    cr_assert_eq(k.n, 1);
    crio_grpc_status_clear(&st);
    cr_assert(wait_until(&P.rst_code, NGHTTP2_CANCEL), "RST_STREAM(CANCEL) sent");
    /* 4 MiB: more than HTTP/2's default windows. */
    cr_assert_eq(crio_grpc_call(c, "/t/Big", "", 0, &resp, &len, 5000, &st), 0);
    cr_assert_eq(st.code, 0, "%s", st.message ? st.message : "");
    cr_assert_eq(len, (size_t)4 << 20);
    cr_assert_eq(((char *)resp)[len - 1], 'x');
    free(resp);
    /* A 1 MiB request: more than the peer's default window. */
    char *big = malloc((1 << 20) + 1);
    memset(big, 'r', 1 << 20);
    big[1 << 20] = '\0';
    echo_ok(c, "/t/Echo", big);
    free(big);
    echo_ok(c, "/t/Echo", "last");
    cr_assert_eq(atomic_load(&P.accepts), 1);
    crio_grpc_client_free(c);
    peer_stop(&P);
}

/* ---- Timeouts and codes ---- */

static void check_timeout(long ms, const char *want)
{
    char buf[16];
    cr_assert_str_eq(crio_grpc_timeout_format(buf, ms), want, "timeout %ld ms", ms);
}

Test(grpc_timeout, header_values)
{
    check_timeout(1, "1m");
    check_timeout(2000, "2000m");
    check_timeout(99999999, "99999999m");
    check_timeout(100000000, "100000S");
    check_timeout(100000001, "100001S"); /* rounded up */
    check_timeout(99999999L * 1000 + 1, "1666667M");
    check_timeout(LONG_MAX, "99999999H"); /* clamped */
}

Test(grpc_codes, names)
{
    cr_assert_str_eq(crio_grpc_code_name(0), "OK");
    cr_assert_str_eq(crio_grpc_code_name(CRIO_GRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
    cr_assert_str_eq(crio_grpc_code_name(CRIO_GRPC_UNAVAILABLE), "UNAVAILABLE");
    cr_assert_str_eq(crio_grpc_code_name(16), "UNAUTHENTICATED");
    cr_assert_str_eq(crio_grpc_code_name(17), "UNKNOWN");
    cr_assert_str_eq(crio_grpc_code_name(-1), "UNKNOWN");
}

/* ---- Durations (crictl's --timeout) ---- */

static void check_duration(const char *in, int want_rc, long want_ms)
{
    long ms = -1;
    int rc = crioctl_parse_duration(in, &ms);
    cr_assert_eq(rc, want_rc, "duration [%s]: rc %d", in, rc);
    if (rc == 0)
        cr_assert_eq(ms, want_ms, "duration [%s]: %ld ms", in, ms);
}

Test(duration, valid)
{
    check_duration("2s", 0, 2000);
    check_duration("500ms", 0, 500);
    check_duration("1m", 0, 60000);
    check_duration("1m30s", 0, 90000);
    check_duration("1h", 0, 3600000);
    check_duration("1.5s", 0, 1500);
    check_duration(".5s", 0, 500);
    check_duration("1.s", 0, 1000);
    check_duration("2h45m0.5s", 0, 9900500);
    check_duration("0", 0, 0);
    check_duration("0s", 0, 0);
    check_duration("+3s", 0, 3000);
    check_duration("10", 0, 10000); /* bare seconds, as in crictl.yaml */
    check_duration("1us", 0, 1);    /* rounded up to a whole millisecond */
    check_duration("1500us", 0, 2);
    check_duration("2000000ns", 0, 2);
    check_duration("3\xc2\xb5s", 0, 1);
    check_duration("1000\xce\xbcs", 0, 1);
}

Test(duration, invalid)
{
    check_duration("", -EINVAL, 0);
    check_duration("s", -EINVAL, 0);
    check_duration("2x", -EINVAL, 0);
    check_duration("2", 0, 2000);
    check_duration("2 s", -EINVAL, 0);
    check_duration("-1s", -EINVAL, 0);
    check_duration(".s", -EINVAL, 0);
    check_duration("1.5", -EINVAL, 0);
    check_duration("1s2", -EINVAL, 0);
    check_duration("ms", -EINVAL, 0);
    check_duration(NULL, -EINVAL, 0);
    check_duration("3000000h", -ERANGE, 0);
    check_duration("99999999999999999999", -ERANGE, 0);
}

Test(output, formats)
{
    crioctl_output o = CRIOCTL_OUTPUT_DEFAULT;

    cr_assert_eq(crioctl_parse_output("table", &o), 0);
    cr_assert_eq(o, CRIOCTL_OUTPUT_TABLE);
    cr_assert_eq(crioctl_parse_output("json", &o), 0);
    cr_assert_eq(o, CRIOCTL_OUTPUT_JSON);
    cr_assert_eq(crioctl_parse_output("yaml", &o), 0);
    cr_assert_eq(o, CRIOCTL_OUTPUT_YAML);
    cr_assert_eq(crioctl_parse_output("xml", &o), -EINVAL);
    cr_assert_eq(crioctl_parse_output("JSON", &o), -EINVAL);
    cr_assert_str_eq(crioctl_output_name(CRIOCTL_OUTPUT_JSON), "json");
}

Test(commands, table_lookup)
{
    cr_assert_not_null(crioctl_command_find("version"));
    cr_assert_not_null(crioctl_command_find("info"));
    cr_assert_not_null(crioctl_command_find("runtime-config"));
    cr_assert_eq(crioctl_command_find("h"), crioctl_command_find("help"));
    cr_assert_null(crioctl_command_find("nope"));
    for (const crioctl_command *c = crioctl_commands; c->name; c++) {
        cr_assert_not_null(c->run, "%s", c->name);
        cr_assert_not_null(c->summary, "%s", c->name);
    }
}

/* ---- JSON output ---- */

static void check_json(const cJSON *j, const char *want)
{
    char *got = crioctl_json_format(j);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want);
    free(got);
}

Test(json, format_like_go)
{
    cJSON *o = cJSON_Parse("{\"a\": 1, \"b\": [true, false, null], \"c\": {}, \"d\": [],"
                           " \"e\": \"q\\\"\\\\\\n\\t\\u0001é\", \"f\": -2.5, \"g\": {\"h\": [{}]}}");
    cr_assert_not_null(o);
    check_json(o, "{\n"
                  "  \"a\": 1,\n"
                  "  \"b\": [\n"
                  "    true,\n"
                  "    false,\n"
                  "    null\n"
                  "  ],\n"
                  "  \"c\": {},\n"
                  "  \"d\": [],\n"
                  "  \"e\": \"q\\\"\\\\\\n\\t\\u0001é\",\n"
                  "  \"f\": -2.5,\n"
                  "  \"g\": {\n"
                  "    \"h\": [\n"
                  "      {}\n"
                  "    ]\n"
                  "  }\n"
                  "}");
    cJSON_Delete(o);
}

Test(json, raw_values_are_reindented_verbatim)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "info", cJSON_CreateRaw(" {\"big\":12345678901234567890,"
                                                    "\"s\":\"a, b: {c}\" , \"l\":[ ],\"e\":{}}"));
    check_json(o, "{\n"
                  "  \"info\": {\n"
                  "    \"big\": 12345678901234567890,\n"
                  "    \"s\": \"a, b: {c}\",\n"
                  "    \"l\": [],\n"
                  "    \"e\": {}\n"
                  "  }\n"
                  "}");
    cJSON_Delete(o);
}

Test(json, names)
{
    char *n = crioctl_json_name("runtime_api_version");
    cr_assert_str_eq(n, "runtimeApiVersion");
    free(n);
    n = crioctl_json_name("id");
    cr_assert_str_eq(n, "id");
    free(n);
}

static void check_pb(const ProtobufCMessage *m, const char *want)
{
    cJSON *j = crioctl_pb_to_json(m);
    cr_assert_not_null(j);
    check_json(j, want);
    cJSON_Delete(j);
}

Test(json, version_response_as_crictl_prints_it)
{
    Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
    v.version = (char *)"0.1.0";
    v.runtime_name = (char *)"libcrio";
    v.runtime_version = (char *)"0.1.0";
    v.runtime_api_version = (char *)"v1";
    check_pb(&v.base, "{\n"
                      "  \"version\": \"0.1.0\",\n"
                      "  \"runtimeName\": \"libcrio\",\n"
                      "  \"runtimeVersion\": \"0.1.0\",\n"
                      "  \"runtimeApiVersion\": \"v1\"\n"
                      "}");
}

Test(json, enums_int64_maps_and_unset_messages)
{
    Runtime__V1__PodSandbox p = RUNTIME__V1__POD_SANDBOX__INIT;
    Runtime__V1__PodSandbox__LabelsEntry l1 = RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
    Runtime__V1__PodSandbox__LabelsEntry l2 = RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
    Runtime__V1__PodSandbox__LabelsEntry *labels[] = { &l1, &l2 };

    p.id = (char *)"abc";
    p.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
    p.created_at = 1700000000123456789LL;
    l1.key = (char *)"zeta";
    l1.value = (char *)"1";
    l2.key = (char *)"alpha";
    l2.value = (char *)"2";
    p.n_labels = 2;
    p.labels = labels;
    check_pb(&p.base, "{\n"
                      "  \"id\": \"abc\",\n"
                      "  \"metadata\": null,\n"
                      "  \"state\": \"SANDBOX_NOTREADY\",\n"
                      "  \"createdAt\": \"1700000000123456789\",\n"
                      "  \"labels\": {\n"
                      "    \"alpha\": \"2\",\n"
                      "    \"zeta\": \"1\"\n"
                      "  },\n"
                      "  \"annotations\": {},\n"
                      "  \"runtimeHandler\": \"\"\n"
                      "}");
}

Test(json, repeated_messages_and_bools)
{
    Runtime__V1__RuntimeStatus s = RUNTIME__V1__RUNTIME_STATUS__INIT;
    Runtime__V1__RuntimeCondition c1 = RUNTIME__V1__RUNTIME_CONDITION__INIT;
    Runtime__V1__RuntimeCondition *conds[] = { &c1 };

    c1.type = (char *)"RuntimeReady";
    c1.status = 1;
    s.n_conditions = 1;
    s.conditions = conds;
    check_pb(&s.base, "{\n"
                      "  \"conditions\": [\n"
                      "    {\n"
                      "      \"type\": \"RuntimeReady\",\n"
                      "      \"status\": true,\n"
                      "      \"reason\": \"\",\n"
                      "      \"message\": \"\"\n"
                      "    }\n"
                      "  ]\n"
                      "}");
    s.n_conditions = 0;
    check_pb(&s.base, "{\n  \"conditions\": []\n}");
}

/* ---- Tables ---- */

static char *print_table(const crioctl_table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(crioctl_table_print(t, f), 0);
    fclose(f);
    return buf;
}

Test(table, columns_like_tabwriter)
{
    crioctl_table *t = crioctl_table_new(10, 3);
    const char *h[] = { "CONTAINER", "IMAGE", "STATE" };
    const char *r1[] = { "abc", "docker.io/library/busybox:latest", "Running" };
    const char *r2[] = { "défg", "x", "Exited" };

    cr_assert_eq(crioctl_table_add(t, 3, h), 0);
    cr_assert_eq(crioctl_table_add(t, 3, r1), 0);
    cr_assert_eq(crioctl_table_add(t, 3, r2), 0);
    char *s = print_table(t);
    cr_assert_str_eq(s, "CONTAINER   IMAGE                              STATE\n"
                        "abc         docker.io/library/busybox:latest   Running\n"
                        "défg        x                                  Exited\n");
    free(s);
    crioctl_table_free(t);

    /* A later, longer cell widens the column. */
    t = crioctl_table_new(0, 1);
    const char *a[] = { "ab", "x" }, *b[] = { "abc", "y" };
    cr_assert_eq(crioctl_table_add(t, 2, a), 0);
    cr_assert_eq(crioctl_table_add(t, 2, b), 0);
    s = print_table(t);
    cr_assert_str_eq(s, "ab  x\nabc y\n");
    free(s);
    crioctl_table_free(t);

    t = crioctl_table_new(10, 3);
    const char *row[] = { "cgroup driver:", "CGROUPFS" };
    cr_assert_eq(crioctl_table_add(t, 2, row), 0);
    s = print_table(t);
    cr_assert_str_eq(s, "cgroup driver:   CGROUPFS\n");
    free(s);
    crioctl_table_free(t);
}

Test(table, text_width_counts_code_points)
{
    cr_assert_eq(crioctl_text_width(""), 0);
    cr_assert_eq(crioctl_text_width("abc"), 3);
    cr_assert_eq(crioctl_text_width("café ✓"), 6);
}
