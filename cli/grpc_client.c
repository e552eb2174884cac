/*
 * A gRPC client over HTTP/2 on a unix socket, built on nghttp2's client
 * session: one blocking, poll-driven socket per client (see grpc_client.h).
 */
#include "grpc_client.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <crio/version.h>

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *crio_grpc_code_name(int code)
{
    if (code < 0 || (size_t)code >= sizeof(code_names) / sizeof(code_names[0]))
        return "UNKNOWN";
    return code_names[code];
}

void crio_grpc_status_clear(crio_grpc_status *st)
{
    if (!st)
        return;
    free(st->message);
    st->message = NULL;
    st->code = CRIO_GRPC_OK;
}

/* Sets a status; returns 0, or -ENOMEM when the message cannot be formatted. */
__attribute__((format(printf, 3, 4))) static int status_set(crio_grpc_status *st, int code,
                                                            const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    free(st->message);
    st->message = NULL;
    st->code = code;
    if (n < 0)
        return -ENOMEM;
    st->message = msg;
    return 0;
}

/* ---- Pure helpers ---- */

int crio_grpc_endpoint_path(char **out, const char *endpoint)
{
    const char *path;

    *out = NULL;
    if (!endpoint)
        return -EINVAL;
    if (strncmp(endpoint, "unix://", 7) == 0) {
        /* unix:///abs/path: the authority must be empty. */
        path = endpoint + 7;
        if (path[0] != '/')
            return -EINVAL;
    } else if (strncmp(endpoint, "unix:", 5) == 0) {
        path = endpoint + 5;
    } else if (strstr(endpoint, "://") != NULL) {
        return -EINVAL; /* tcp://, npipe://, ... */
    } else {
        path = endpoint;
    }
    if (path[0] == '\0')
        return -EINVAL;
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -ENAMETOOLONG;
    *out = strdup(path);
    return *out ? 0 : -ENOMEM;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

char *crio_grpc_percent_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len &&
            (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

char *crio_grpc_timeout_format(char buf[16], long timeout_ms)
{
    /* Units from the finest we use; each value must fit in 8 digits. */
    static const struct {
        long ms;
        char unit;
    } units[] = { { 1, 'm' }, { 1000, 'S' }, { 60 * 1000L, 'M' }, { 3600 * 1000L, 'H' } };
    unsigned long ms = timeout_ms > 0 ? (unsigned long)timeout_ms : 1;

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        unsigned long v = (ms + (unsigned long)units[i].ms - 1) / (unsigned long)units[i].ms;
        if (v <= 99999999UL) {
            snprintf(buf, 16, "%lu%c", v, units[i].unit);
            return buf;
        }
    }
    snprintf(buf, 16, "99999999H");
    return buf;
}

void crio_grpc_frame_header(unsigned char hdr[5], uint32_t len)
{
    hdr[0] = 0;
    hdr[1] = (unsigned char)(len >> 24);
    hdr[2] = (unsigned char)(len >> 16);
    hdr[3] = (unsigned char)(len >> 8);
    hdr[4] = (unsigned char)len;
}

void crio_grpc_reader_init(crio_grpc_reader *r, size_t max_len)
{
    memset(r, 0, sizeof(*r));
    r->max_len = max_len;
}

void crio_grpc_reader_reset(crio_grpc_reader *r)
{
    size_t max_len = r->max_len;

    free(r->buf);
    crio_grpc_reader_init(r, max_len);
}

bool crio_grpc_reader_pending(const crio_grpc_reader *r)
{
    return r->hdr_len > 0;
}

int crio_grpc_reader_feed(crio_grpc_reader *r, const void *data, size_t len,
                          crio_grpc_message_fn fn, void *payload)
{
    static const unsigned char empty[1];
    const unsigned char *p = data;
    size_t max = r->max_len ? r->max_len : CRIO_GRPC_MAX_MESSAGE;

    while (len > 0) {
        if (r->hdr_len < 5) {
            size_t n = 5 - r->hdr_len < len ? 5 - r->hdr_len : len;
            memcpy(r->hdr + r->hdr_len, p, n);
            r->hdr_len += n;
            p += n;
            len -= n;
            if (r->hdr_len < 5)
                break;
            if (r->hdr[0] != 0)
                return CRIO_GRPC_READ_COMPRESSED;
            uint32_t l = (uint32_t)r->hdr[1] << 24 | (uint32_t)r->hdr[2] << 16 |
                         (uint32_t)r->hdr[3] << 8 | (uint32_t)r->hdr[4];
            if (l > max) {
                r->too_large = l;
                return CRIO_GRPC_READ_TOO_LARGE;
            }
            r->msg_len = l;
            r->buf_len = 0;
            if (l == 0) {
                r->hdr_len = 0;
                if (fn(empty, 0, payload))
                    return CRIO_GRPC_READ_STOPPED;
                continue;
            }
            if (len == 0)
                break;
        }

        size_t need = r->msg_len - r->buf_len;
        if (r->buf_len == 0 && len >= need) {
            /* The whole message is in this chunk: no copy. */
            const unsigned char *msg = p;
            p += need;
            len -= need;
            r->hdr_len = 0;
            if (fn(msg, need, payload))
                return CRIO_GRPC_READ_STOPPED;
            continue;
        }

        size_t n = need < len ? need : len;
        if (r->buf_len + n > r->buf_cap) {
            /* Grow geometrically up to the announced length, so a peer that
             * announces a large message but sends little costs little. */
            size_t cap = r->buf_cap ? r->buf_cap * 2 : 4096;
            if (cap < r->buf_len + n)
                cap = r->buf_len + n;
            if (cap > r->msg_len)
                cap = r->msg_len;
            unsigned char *nb = realloc(r->buf, cap);
            if (!nb)
                return CRIO_GRPC_READ_NOMEM;
            r->buf = nb;
            r->buf_cap = cap;
        }
        memcpy(r->buf + r->buf_len, p, n);
        r->buf_len += n;
        p += n;
        len -= n;
        if (r->buf_len == r->msg_len) {
            r->hdr_len = 0;
            r->buf_len = 0;
            if (fn(r->buf, r->msg_len, payload))
                return CRIO_GRPC_READ_STOPPED;
        }
    }
    return CRIO_GRPC_READ_OK;
}

/* ---- The client ---- */

/*
 * The flow-control window we announce, for each stream and for the
 * connection: large responses flow without waiting for WINDOW_UPDATEs.  It
 * costs no memory: every DATA frame is consumed as soon as it is read.
 */
#define CLIENT_WINDOW ((int32_t)16 * 1024 * 1024)

struct call;

struct crio_grpc_client {
    char *socket_path;
    nghttp2_session_callbacks *callbacks;
    bool trace;              /* CRIO_GRPC_TRACE: log every frame to stderr */

    /* The connection: fd -1 and session NULL when there is none. */
    int fd;
    nghttp2_session *session;
    bool got_settings;       /* the server's SETTINGS arrived: HTTP/2 is up */
    bool goaway;             /* GOAWAY received: no new stream on this connection */
    uint32_t goaway_error;
    int32_t goaway_last_id;
    bool write_blocked;      /* the last send found the socket buffer full */
    int send_errno;          /* nonzero: sending failed, the connection is dying */
    bool nomem;              /* nghttp2 ran out of memory in a callback */

    struct call *call;       /* the call in progress, or NULL */
    unsigned char rbuf[64 * 1024];
};

/* The state of one call, shared by the nghttp2 callbacks. */
struct call {
    /* The request: the message prefix and the caller's buffer. */
    unsigned char prefix[5];
    const unsigned char *req;
    size_t req_len;
    size_t sent;             /* bytes of prefix + request handed to nghttp2 */
    int32_t stream_id;       /* 0 until the request is submitted */

    /* The response. */
    crio_grpc_reader reader;
    int read_rc;             /* the reader's failure, if it stopped the call */
    bool stopped;            /* the reader stopped: the stream must be reset */
    bool unary;
    crio_grpc_message_fn fn; /* streaming */
    void *payload;
    bool cancelled;          /* the streaming callback asked to stop */
    void *msg;               /* unary: the response message */
    size_t msg_len;
    unsigned nmsgs;
    bool nomem;

    int http_status;         /* :status of the response (0 before its headers) */
    bool have_status;        /* grpc-status seen (headers or trailers) */
    bool bad_status;         /* ... but not a number */
    int grpc_status;
    char *grpc_message;      /* raw (percent-encoded) */
    char *content_type;

    /* How the stream ended. */
    bool remote_done;        /* END_STREAM received: the response is complete */
    bool closed;             /* nghttp2 closed the stream ... */
    uint32_t close_code;     /* ... with this HTTP/2 error code */
    bool peer_reset;         /* RST_STREAM received ... */
    uint32_t rst_code;       /* ... with this code */
    int not_sent;            /* nghttp2 could not send the request (its error) */
    int lib_error;           /* nghttp2's error, for a protocol failure */
    int sys_errno;           /* the socket's error when the connection was lost */
};

/* How the event loop of a call ended. */
enum outcome {
    OUT_DONE,     /* the stream ended (response complete, reset or refused) */
    OUT_STOPPED,  /* our reader stopped it (callback, bad or oversized message) */
    OUT_TIMEOUT,  /* the client's own deadline passed */
    OUT_LOST,     /* the connection closed or failed under the call */
    OUT_PROTO,    /* the server broke the HTTP/2 protocol */
    OUT_NOMEM
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The call a stream belongs to, or NULL (connection frames, earlier calls). */
static struct call *stream_call(crio_grpc_client *c, int32_t stream_id)
{
    return stream_id > 0 && c->call && c->call->stream_id == stream_id ? c->call : NULL;
}

static const char *frame_name(uint8_t type)
{
    static const char *const names[] = { "DATA",          "HEADERS", "PRIORITY", "RST_STREAM",
                                         "SETTINGS",      "PUSH_PROMISE", "PING", "GOAWAY",
                                         "WINDOW_UPDATE", "CONTINUATION" };
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "UNKNOWN";
}

static void trace_frame(const char *dir, const nghttp2_frame *f)
{
    fprintf(stderr, "grpc-client: %s %s stream=%" PRId32 " length=%zu flags=0x%02x", dir,
            frame_name(f->hd.type), f->hd.stream_id, f->hd.length, f->hd.flags);
    if (f->hd.type == NGHTTP2_RST_STREAM)
        fprintf(stderr, " error=%s", nghttp2_http2_strerror(f->rst_stream.error_code));
    else if (f->hd.type == NGHTTP2_GOAWAY)
        fprintf(stderr, " last_stream_id=%" PRId32 " error=%s", f->goaway.last_stream_id,
                nghttp2_http2_strerror(f->goaway.error_code));
    fputc('\n', stderr);
}

/* Writes without blocking and without SIGPIPE; nghttp2 keeps what is left. */
static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
    crio_grpc_client *c = user;

    for (;;) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
            c->write_blocked = true;
            return NGHTTP2_ERR_WOULDBLOCK;
        }
        c->send_errno = errno;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

/* The request body: the 5-byte prefix, then the caller's message. */
static ssize_t read_body(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct call *call = stream_call(user, stream_id);
    size_t total, n = 0;

    if (!call)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* a call that has ended: reset it */
    total = 5 + call->req_len;
    while (n < len && call->sent < total) {
        size_t chunk;
        if (call->sent < 5) {
            chunk = 5 - call->sent < len - n ? 5 - call->sent : len - n;
            memcpy(buf + n, call->prefix + call->sent, chunk);
        } else {
            chunk = total - call->sent < len - n ? total - call->sent : len - n;
            memcpy(buf + n, call->req + (call->sent - 5), chunk);
        }
        n += chunk;
        call->sent += chunk;
    }
    if (call->sent == total)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    crio_grpc_client *c = user;

    if (c->trace)
        trace_frame("send", f);
    return 0;
}

static int on_frame_not_send(nghttp2_session *s, const nghttp2_frame *f, int lib_error,
                             void *user)
{
    struct call *call = stream_call(user, f->hd.stream_id);

    if (call && f->hd.type == NGHTTP2_HEADERS)
        call->not_sent = lib_error;
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    crio_grpc_client *c = user;
    struct call *call = stream_call(c, f->hd.stream_id);

    if (c->trace)
        trace_frame("recv", f);
    switch (f->hd.type) {
    case NGHTTP2_SETTINGS:
        if (!(f->hd.flags & NGHTTP2_FLAG_ACK))
            c->got_settings = true;
        break;
    case NGHTTP2_GOAWAY:
        /* Streams up to last_stream_id go on (nghttp2 closes the others with
         * REFUSED_STREAM); the next call opens a new connection. */
        c->goaway = true;
        c->goaway_error = f->goaway.error_code;
        c->goaway_last_id = f->goaway.last_stream_id;
        break;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
        if (call && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
            call->remote_done = true;
        break;
    case NGHTTP2_RST_STREAM:
        if (call) {
            call->peer_reset = true;
            call->rst_code = f->rst_stream.error_code;
        }
        break;
    default:
        break;
    }
    return 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    struct call *call = stream_call(user, f->hd.stream_id);
    const char *v = (const char *)value;

    if (!call || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    /* nghttp2 has checked the names (lower case) and :status (3 digits). */
    if (name_is(name, namelen, ":status")) {
        int code = 0;
        for (size_t i = 0; i < valuelen && v[i] >= '0' && v[i] <= '9' && i < 3; i++)
            code = code * 10 + (v[i] - '0');
        call->http_status = code;
    } else if (name_is(name, namelen, "grpc-status")) {
        int code = 0;
        call->have_status = true;
        call->bad_status = valuelen == 0 || valuelen > 9;
        for (size_t i = 0; i < valuelen && !call->bad_status; i++) {
            if (v[i] < '0' || v[i] > '9')
                call->bad_status = true;
            else
                code = code * 10 + (v[i] - '0');
        }
        call->grpc_status = code;
    } else if (name_is(name, namelen, "grpc-message")) {
        free(call->grpc_message);
        call->grpc_message = strndup(v, valuelen);
        if (!call->grpc_message)
            call->nomem = true;
    } else if (name_is(name, namelen, "content-type")) {
        free(call->content_type);
        call->content_type = strndup(v, valuelen);
        if (!call->content_type)
            call->nomem = true;
    }
    return 0;
}

static int on_message(const void *msg, size_t len, void *payload)
{
    struct call *call = payload;

    call->nmsgs++;
    if (!call->unary) {
        if (call->fn(msg, len, call->payload)) {
            call->cancelled = true;
            return 1;
        }
        return 0;
    }
    if (call->nmsgs > 1)
        return 1; /* a second message in a unary call: a protocol violation */
    call->msg = malloc(len ? len : 1);
    if (!call->msg) {
        call->nomem = true;
        return 1;
    }
    memcpy(call->msg, msg, len);
    call->msg_len = len;
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                   size_t len, void *user)
{
    struct call *call = stream_call(user, stream_id);

    if (!call || call->stopped || call->nomem)
        return 0; /* what follows a stop is dropped; the stream gets reset */
    call->read_rc = crio_grpc_reader_feed(&call->reader, data, len, on_message, call);
    if (call->read_rc == CRIO_GRPC_READ_NOMEM)
        call->nomem = true;
    if (call->read_rc != CRIO_GRPC_READ_OK)
        call->stopped = true;
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *user)
{
    struct call *call = stream_call(user, stream_id);

    if (call) {
        call->closed = true;
        call->close_code = error_code;
    }
    return 0;
}

int crio_grpc_client_new(crio_grpc_client **out, const char *socket_path)
{
    crio_grpc_client *c;
    nghttp2_session_callbacks *cb;
    int r;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fd = -1;
    r = crio_grpc_endpoint_path(&c->socket_path, socket_path);
    if (r < 0) {
        free(c);
        return r;
    }
    if (nghttp2_session_callbacks_new(&c->callbacks) != 0) {
        crio_grpc_client_free(c);
        return -ENOMEM;
    }
    cb = c->callbacks;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    const char *trace = getenv("CRIO_GRPC_TRACE");
    c->trace = trace && trace[0];
    *out = c;
    return 0;
}

/* Forgets the connection (the next call opens a new one). */
static void conn_drop(crio_grpc_client *c)
{
    nghttp2_session_del(c->session);
    c->session = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->got_settings = c->goaway = c->write_blocked = false;
    c->goaway_error = 0;
    c->goaway_last_id = 0;
    c->send_errno = 0;
}

/* Hands nghttp2's pending frames to the socket, without blocking. */
static int conn_flush(crio_grpc_client *c)
{
    if (!c->session || c->send_errno)
        return 0;
    c->write_blocked = false;
    int rv = nghttp2_session_send(c->session);
    return rv == NGHTTP2_ERR_NOMEM ? -ENOMEM : 0;
}

void crio_grpc_client_free(crio_grpc_client *c)
{
    if (!c)
        return;
    if (c->session) {
        /* Say goodbye if the socket takes it at once; close regardless. */
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        conn_flush(c);
    }
    conn_drop(c);
    nghttp2_session_callbacks_del(c->callbacks);
    free(c->socket_path);
    free(c);
}

const char *crio_grpc_client_socket_path(const crio_grpc_client *c)
{
    return c->socket_path;
}

/*
 * Reads whatever the server sent since the last call (a GOAWAY, a PING, the
 * rest of a reply the client gave up on, the end of the connection) and tells
 * whether the connection can carry a new call.
 */
static bool conn_usable(crio_grpc_client *c)
{
    if (!c->session)
        return false;
    for (;;) {
        ssize_t got = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
        if (got > 0) {
            if (nghttp2_session_mem_recv(c->session, c->rbuf, (size_t)got) < 0)
                return false;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return false; /* the server closed the connection (or it failed) */
    }
    if (conn_flush(c) < 0 || c->nomem)
        return false;
    return !c->send_errno && !c->goaway && nghttp2_session_check_request_allowed(c->session);
}

/*
 * Connects and sets up the HTTP/2 session (the client preface and SETTINGS go
 * out with the first request).  Returns 0, 1 when it failed with a status in
 * *st, or -ENOMEM.
 */
static int conn_open(crio_grpc_client *c, const char *path, long timeout_ms, int64_t deadline,
                     crio_grpc_status *st)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    nghttp2_session *s = NULL;
    int fd, r;

    /* crio_grpc_endpoint_path checked that the path fits. */
    memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        return status_set(st, CRIO_GRPC_UNAVAILABLE, "connect to %s: %s", c->socket_path,
                          strerror(e)) < 0 ? -ENOMEM : 1;
    }
    if (deadline >= 0) {
        /* A unix socket connect waits while the listen backlog is full; this
         * bounds the wait (it then fails with EAGAIN). */
        int64_t left = deadline - now_ms();
        if (left < 1)
            left = 1;
        struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    do
        r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        close(fd);
        if (deadline >= 0 && (e == EAGAIN || e == EWOULDBLOCK))
            r = status_set(st, CRIO_GRPC_DEADLINE_EXCEEDED,
                           "%s: deadline of %ldms exceeded while connecting to %s", path,
                           timeout_ms, c->socket_path);
        else
            r = status_set(st, CRIO_GRPC_UNAVAILABLE, "connect to %s: %s", c->socket_path,
                           strerror(e));
        return r < 0 ? -ENOMEM : 1;
    }

    static const nghttp2_settings_entry settings[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CLIENT_WINDOW },
    };
    if (nghttp2_session_client_new(&s, c->callbacks, c) != 0 ||
        nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings,
                                sizeof(settings) / sizeof(settings[0])) != 0 ||
        nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, CLIENT_WINDOW) != 0) {
        nghttp2_session_del(s);
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->session = s;
    return 0;
}

/* Drives the connection until the call's stream ends or something fails. */
static enum outcome run(crio_grpc_client *c, struct call *call, int64_t deadline)
{
    for (;;) {
        if (c->nomem || call->nomem)
            return OUT_NOMEM;
        if (call->stopped)
            return OUT_STOPPED;
        if (call->remote_done || call->closed)
            return OUT_DONE;
        if (conn_flush(c) < 0)
            return OUT_NOMEM;
        /* Sending can close the stream (a request nghttp2 could not send). */
        if (call->closed)
            continue;

        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0)
                return OUT_TIMEOUT;
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (c->write_blocked && !c->send_errno)
            p.events |= POLLOUT;
        int n = poll(&p, 1, timeout);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            call->sys_errno = errno;
            return OUT_LOST;
        }
        if (n == 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue; /* the deadline is checked above; POLLOUT: send again */

        /* Everything read is processed before an end of file is looked at:
         * a server that replies and closes has its reply taken. */
        ssize_t got = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
        if (got > 0) {
            ssize_t rv = nghttp2_session_mem_recv(c->session, c->rbuf, (size_t)got);
            if (rv == NGHTTP2_ERR_NOMEM)
                return OUT_NOMEM;
            if (rv < 0) {
                call->lib_error = (int)rv;
                return OUT_PROTO;
            }
        } else if (got == 0) {
            call->sys_errno = 0;
            return OUT_LOST;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            call->sys_errno = errno;
            return OUT_LOST;
        }
    }
}

/* gRPC's mapping of HTTP statuses, for a response without grpc-status. */
static int http_to_grpc(int http)
{
    switch (http) {
    case 400:
        return CRIO_GRPC_INTERNAL;
    case 401:
        return CRIO_GRPC_UNAUTHENTICATED;
    case 403:
        return CRIO_GRPC_PERMISSION_DENIED;
    case 404:
        return CRIO_GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return CRIO_GRPC_UNAVAILABLE;
    default:
        return CRIO_GRPC_UNKNOWN;
    }
}

/* gRPC's mapping of HTTP/2 RST_STREAM error codes. */
static int rst_to_grpc(uint32_t code)
{
    switch (code) {
    case NGHTTP2_REFUSED_STREAM:
        return CRIO_GRPC_UNAVAILABLE;
    case NGHTTP2_CANCEL:
        return CRIO_GRPC_CANCELLED;
    case NGHTTP2_ENHANCE_YOUR_CALM:
        return CRIO_GRPC_RESOURCE_EXHAUSTED;
    case NGHTTP2_INADEQUATE_SECURITY:
        return CRIO_GRPC_PERMISSION_DENIED;
    default:
        return CRIO_GRPC_INTERNAL;
    }
}

/* Maps a response whose headers (and trailers, if any) were read to a status. */
static int response_status(crio_grpc_client *c, struct call *call, const char *path,
                           crio_grpc_status *st)
{
    int http = call->http_status;

    if (http != 200 && !(call->have_status && !call->bad_status && call->grpc_status != 0))
        return status_set(st, http_to_grpc(http),
                          "%s: HTTP status %d from %s (content-type %s), not a gRPC response",
                          path, http, c->socket_path,
                          call->content_type ? call->content_type : "none");
    if (!call->have_status)
        return status_set(st, CRIO_GRPC_INTERNAL,
                          "%s: the server closed the stream without a grpc-status", path);
    if (call->bad_status)
        return status_set(st, CRIO_GRPC_INTERNAL, "%s: malformed grpc-status from the server",
                          path);
    if (call->grpc_status != CRIO_GRPC_OK) {
        st->code = call->grpc_status <= CRIO_GRPC_UNAUTHENTICATED ? call->grpc_status
                                                                  : CRIO_GRPC_UNKNOWN;
        free(st->message);
        st->message = NULL;
        if (call->grpc_message) {
            st->message = crio_grpc_percent_decode(call->grpc_message, strlen(call->grpc_message));
            if (!st->message)
                return -ENOMEM;
        }
        return 0;
    }
    if (crio_grpc_reader_pending(&call->reader))
        return status_set(st, CRIO_GRPC_INTERNAL,
                          "%s: the stream ended inside a response message", path);
    if (call->unary && call->nmsgs == 0)
        return status_set(st, CRIO_GRPC_INTERNAL, "%s: no response message for a unary call",
                          path);
    crio_grpc_status_clear(st);
    return 0;
}

/* True when the server's GOAWAY excluded the call's stream (never processed). */
static bool refused_by_goaway(const crio_grpc_client *c, const struct call *call)
{
    return c->goaway && call->stream_id > c->goaway_last_id;
}

/* Maps the end of a call's event loop to a status. */
static int call_status(crio_grpc_client *c, struct call *call, enum outcome o, const char *path,
                       long timeout_ms, crio_grpc_status *st)
{
    bool final = call->have_status && !call->bad_status;

    switch (o) {
    case OUT_NOMEM:
        return -ENOMEM;
    case OUT_STOPPED:
        if (call->cancelled)
            return status_set(st, CRIO_GRPC_CANCELLED, "%s: cancelled by the caller", path);
        switch (call->read_rc) {
        case CRIO_GRPC_READ_TOO_LARGE:
            return status_set(st, CRIO_GRPC_RESOURCE_EXHAUSTED,
                              "%s: response message of %" PRIu32
                              " bytes is larger than the limit of %zu bytes",
                              path, call->reader.too_large,
                              call->reader.max_len ? call->reader.max_len
                                                   : CRIO_GRPC_MAX_MESSAGE);
        case CRIO_GRPC_READ_COMPRESSED:
            return status_set(st, CRIO_GRPC_INTERNAL,
                              "%s: response message with compressed flag %u, but no "
                              "compression was negotiated",
                              path, call->reader.hdr[0]);
        case CRIO_GRPC_READ_NOMEM:
            return -ENOMEM;
        default:
            return status_set(st, CRIO_GRPC_INTERNAL,
                              "%s: more than one response message for a unary call", path);
        }
    case OUT_TIMEOUT:
        return status_set(st, CRIO_GRPC_DEADLINE_EXCEEDED, "%s: deadline of %ldms exceeded",
                          path, timeout_ms);
    case OUT_PROTO:
        return status_set(st, CRIO_GRPC_INTERNAL, "%s: HTTP/2 protocol error on %s: %s", path,
                          c->socket_path, nghttp2_strerror(call->lib_error));
    case OUT_LOST: {
        /* The final header block arrived; losing the connection after it
         * does not change the server's verdict. */
        if (call->remote_done || final)
            return response_status(c, call, path, st);
        const char *detail = call->sys_errno ? strerror(call->sys_errno)
                             : c->send_errno ? strerror(c->send_errno)
                                             : "the server closed the connection";
        if (!c->got_settings)
            return status_set(st, CRIO_GRPC_UNAVAILABLE,
                              "connect to %s: the connection closed before the HTTP/2 "
                              "handshake completed (%s)",
                              c->socket_path, detail);
        if (refused_by_goaway(c, call))
            return status_set(st, CRIO_GRPC_UNAVAILABLE,
                              "%s: %s went away (GOAWAY) before taking the call", path,
                              c->socket_path);
        if (c->goaway && c->goaway_error != NGHTTP2_NO_ERROR)
            return status_set(st, CRIO_GRPC_UNAVAILABLE,
                              "%s: connection to %s lost: %s (GOAWAY %s)", path, c->socket_path,
                              detail, nghttp2_http2_strerror(c->goaway_error));
        return status_set(st, CRIO_GRPC_UNAVAILABLE, "%s: connection to %s lost: %s", path,
                          c->socket_path, detail);
    }
    case OUT_DONE:
        break;
    }
    if (call->remote_done || final)
        return response_status(c, call, path, st);
    if (call->peer_reset)
        return status_set(st, rst_to_grpc(call->rst_code), "%s: stream reset by %s: %s", path,
                          c->socket_path, nghttp2_http2_strerror(call->rst_code));
    if (call->not_sent == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED || refused_by_goaway(c, call))
        return status_set(st, CRIO_GRPC_UNAVAILABLE,
                          "%s: %s went away (GOAWAY) before taking the call", path,
                          c->socket_path);
    if (call->not_sent)
        return status_set(st, CRIO_GRPC_INTERNAL, "%s: cannot send the request to %s: %s", path,
                          c->socket_path, nghttp2_strerror(call->not_sent));
    return status_set(st, CRIO_GRPC_INTERNAL,
                      "%s: HTTP/2 protocol error on %s: the stream was closed with %s", path,
                      c->socket_path, nghttp2_http2_strerror(call->close_code));
}

/*
 * The server enforces grpc-timeout and answers DEADLINE_EXCEEDED with its own
 * message; the client's hard limit comes a little later so that answer can
 * arrive, and still ends the call if the server never answers.
 */
static long client_deadline_ms(long timeout_ms)
{
    if (timeout_ms <= 0)
        return 0;
    long grace = timeout_ms / 10;
    return timeout_ms + (grace < 50 ? 50 : grace > 1000 ? 1000 : grace);
}

#define NV(name, value, len)                                                                     \
    { (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (len), NGHTTP2_NV_FLAG_NONE }

static int do_call(crio_grpc_client *c, struct call *call, const char *path, const void *req,
                   size_t req_len, long timeout_ms, crio_grpc_status *st)
{
    static const char user_agent[] = "grpc-c-libcrio/" CRIO_VERSION_STRING;
    char tbuf[16];
    int r;

    crio_grpc_status_clear(st);
    crio_grpc_reader_init(&call->reader, CRIO_GRPC_MAX_MESSAGE);
    if (!path || path[0] != '/') {
        r = status_set(st, CRIO_GRPC_INTERNAL, "invalid method path %s", path ? path : "(null)");
        goto out;
    }
    if (req_len > 0 && !req) {
        r = status_set(st, CRIO_GRPC_INTERNAL, "%s: no request buffer", path);
        goto out;
    }
    if (req_len > UINT32_MAX - 5) {
        r = status_set(st, CRIO_GRPC_RESOURCE_EXHAUSTED,
                       "%s: request message of %zu bytes is too large", path, req_len);
        goto out;
    }
    crio_grpc_frame_header(call->prefix, (uint32_t)req_len);
    call->req = req;
    call->req_len = req_len;

    int64_t deadline = timeout_ms > 0 ? now_ms() + client_deadline_ms(timeout_ms) : -1;
    c->nomem = false;
    if (!conn_usable(c)) {
        /* Never used, closed by the server, or told to go away: a call
         * that was not sent yet can take a new connection. */
        conn_drop(c);
        r = conn_open(c, path, timeout_ms, deadline, st);
        if (r != 0) {
            r = r > 0 ? 0 : r;
            goto out;
        }
    }

    nghttp2_nv nva[8] = {
        NV(":method", "POST", 4),
        NV(":scheme", "http", 4),
        NV(":authority", "localhost", 9),
        NV(":path", path, strlen(path)),
        NV("content-type", "application/grpc", 16),
        NV("te", "trailers", 8),
        NV("user-agent", user_agent, sizeof(user_agent) - 1),
    };
    size_t nnv = 7;
    if (timeout_ms > 0) {
        crio_grpc_timeout_format(tbuf, timeout_ms);
        nva[nnv++] = (nghttp2_nv)NV("grpc-timeout", tbuf, strlen(tbuf));
    }
    nghttp2_data_provider body = { .source.ptr = NULL, .read_callback = read_body };
    int32_t id = nghttp2_submit_request(c->session, NULL, nva, nnv, &body, NULL);
    if (id < 0) {
        r = id == NGHTTP2_ERR_NOMEM
                ? -ENOMEM
                : status_set(st, CRIO_GRPC_UNAVAILABLE, "%s: cannot start a stream on %s: %s",
                             path, c->socket_path, nghttp2_strerror(id));
        goto out;
    }
    call->stream_id = id;
    c->call = call;

    enum outcome o = run(c, call, deadline);
    r = call_status(c, call, o, path, timeout_ms, st);

    if (o == OUT_LOST || o == OUT_PROTO) {
        conn_flush(c); /* nghttp2's GOAWAY after a protocol error, if it goes */
        conn_drop(c);
    } else {
        /* A stream still open (deadline, stop, a response that ended before
         * the request was sent) is reset, so the connection can go on. */
        if (!call->closed && nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, id,
                                                       call->remote_done ? NGHTTP2_NO_ERROR
                                                                         : NGHTTP2_CANCEL) != 0)
            c->nomem = true;
        if (conn_flush(c) < 0 || c->nomem)
            conn_drop(c); /* the session state is unknown */
    }
    c->call = NULL;

out:
    if (r == -ENOMEM)
        crio_grpc_status_clear(st);
    crio_grpc_reader_reset(&call->reader);
    free(call->grpc_message);
    free(call->content_type);
    call->grpc_message = call->content_type = NULL;
    return r;
}

int crio_grpc_call(crio_grpc_client *c, const char *path, const void *req, size_t req_len,
                   void **resp, size_t *resp_len, long timeout_ms, crio_grpc_status *st)
{
    struct call call = { .unary = true };
    int r;

    *resp = NULL;
    *resp_len = 0;
    r = do_call(c, &call, path, req, req_len, timeout_ms, st);
    if (r == 0 && st->code == CRIO_GRPC_OK) {
        *resp = call.msg;
        *resp_len = call.msg_len;
    } else {
        free(call.msg);
    }
    return r;
}

int crio_grpc_call_stream(crio_grpc_client *c, const char *path, const void *req,
                          size_t req_len, crio_grpc_message_fn on_msg, void *payload,
                          long timeout_ms, crio_grpc_status *st)
{
    struct call call = { .unary = false, .fn = on_msg, .payload = payload };

    return do_call(c, &call, path, req, req_len, timeout_ms, st);
}
