/*
 * The gRPC server: unix-socket connections on a libuv loop, HTTP/2 by nghttp2,
 * each call's handler on the thread pool (unary) or its own thread (server
 * streaming), replies written back through the loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <malloc.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "grpc/grpc.h"

#define READ_BUF_SIZE (64 * 1024)
#define MAX_PATH_LEN 512
#define MAX_CONCURRENT_STREAMS 1000
#define STREAM_WINDOW (1 << 20)

struct conn;
struct call;

struct msg {
    struct msg *next;
    size_t len;
    uint8_t data[];
};

struct grpc_stream_writer {
    struct call *call;
    /* Guarded by the server's mutex. */
    struct msg *head, *tail;
    bool done;        /* the call is over: stop producing */
    bool finished;    /* the handler returned; `reply` holds the final status */
    bool notify;      /* queued on the server's notify list */
    struct grpc_stream_writer *notify_next;
    grpc_reply reply;
    uint8_t *req;
    size_t req_len;
};

enum call_state { CALL_READING, CALL_RUNNING, CALL_RESPONDED };

struct call {
    grpc_server *srv;
    struct conn *conn;          /* NULL once the connection is gone */
    struct call *prev, *next;   /* in conn->calls */
    int32_t stream_id;
    enum call_state state;
    bool stream_closed;         /* nghttp2 closed the stream */
    bool work_pending;          /* a handler still runs */
    bool rst_after_send;        /* reset the stream once the reply is out (client still sending) */
    bool reply_sent;            /* the frame ending our side of the stream went out */
    bool timer_on;
    bool is_post, grpc_content, bad_encoding, too_big;
    bool has_timeout;
    uint64_t timeout_ns;
    uint64_t start_ns;
    char path[MAX_PATH_LEN];
    const grpc_method *method;
    uint8_t *req;
    size_t req_len, req_cap;
    uv_work_t work;
    uv_timer_t timer;
    grpc_reply reply;
    /* Response body being sent: prefix + message(s). */
    uint8_t *out;
    size_t out_len, out_off;
    bool out_eof;               /* unary: after `out` the trailers follow */
    int final_status;
    char *final_message;
    grpc_stream_writer *writer; /* streaming calls */
    bool deferred;
};

struct conn {
    grpc_server *srv;
    uv_pipe_t pipe;
    nghttp2_session *session;
    struct conn *prev, *next;
    struct call *calls;
    bool closing;
    bool terminated;            /* GOAWAY(terminate) submitted at shutdown */
    bool dirty;                 /* on srv->dirty: replies to write in the check phase */
    struct conn *dirty_next;
    size_t writes_pending;
    char readbuf[READ_BUF_SIZE];
};

struct grpc_server {
    uv_loop_t *loop;
    grpc_server_options opts;
    uv_pipe_t listener;
    bool listening;
    char *socket_path;
    struct conn *conns;
    size_t active_calls;
    size_t handles_open;        /* listener, async, connections still closing */
    bool shutting_down;
    void (*shutdown_done)(grpc_server *, void *);
    char error[512];
    void *shutdown_arg;
    uv_async_t async;
    uv_check_t check;           /* writes srv->dirty once per loop iteration */
    uv_timer_t idle_trim;       /* a second after the last call: the heap goes back to the OS */
    struct conn *dirty;
    pthread_mutex_t mu;
    grpc_stream_writer *notify_head;
    nghttp2_session_callbacks *callbacks;
};

static void conn_flush(struct conn *c);
static void conn_flush_later(struct conn *c);
static void flush_dirty(grpc_server *srv);
static void conn_close(struct conn *c);
static void call_release(struct call *call);
static void shutdown_check(grpc_server *srv);

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

/* ---- replies ---- */

static void set_final(struct call *call, int status, const char *message)
{
    call->final_status = status;
    free(call->final_message);
    call->final_message = message && *message ? grpc_percent_encode(message) : NULL;
}

static void call_done_stats(struct call *call, int status)
{
    grpc_server *srv = call->srv;
    if (srv->opts.on_call_done)
        srv->opts.on_call_done(call->path, status, (now_ns() - call->start_ns) / 1000, srv->opts.ctx);
}

static void stop_timer(struct call *call)
{
    if (call->timer_on)
        uv_timer_stop(&call->timer);
}

/* A reply with no body: HEADERS carrying the status and END_STREAM. */
static void respond_trailers_only(struct call *call, int status, const char *message)
{
    if (call->state == CALL_RESPONDED)
        return;
    call->state = CALL_RESPONDED;
    stop_timer(call);
    call_done_stats(call, status);
    if (!call->conn || call->stream_closed)
        return;
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    char *enc = message && *message ? grpc_percent_encode(message) : NULL;
    nghttp2_nv hdrs[] = {
        { (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"grpc-message", (uint8_t *)(enc ? enc : ""), 12, enc ? strlen(enc) : 0,
          NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_submit_response(call->conn->session, call->stream_id, hdrs, enc ? 4 : 3, NULL);
    free(enc);
    if (call->state == CALL_RESPONDED && call->req_len == 0 && call->too_big)
        call->rst_after_send = true;
}

static void submit_trailers(struct call *call)
{
    char code[16];
    snprintf(code, sizeof code, "%d", call->final_status);
    nghttp2_nv tr[] = {
        { (uint8_t *)"grpc-status", (uint8_t *)code, 11, strlen(code), NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"grpc-message", (uint8_t *)(call->final_message ? call->final_message : ""), 12,
          call->final_message ? strlen(call->final_message) : 0, NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_submit_trailer(call->conn->session, call->stream_id, tr, call->final_message ? 2 : 1);
}

/* Moves queued stream messages into call->out; true when something was moved. */
static bool take_stream_messages(struct call *call)
{
    grpc_stream_writer *w = call->writer;
    pthread_mutex_lock(&call->srv->mu);
    struct msg *list = w->head;
    w->head = w->tail = NULL;
    bool finished = w->finished;
    pthread_mutex_unlock(&call->srv->mu);
    size_t total = 0;
    for (struct msg *m = list; m; m = m->next)
        total += m->len;
    if (total) {
        free(call->out);
        call->out = malloc(total);
        call->out_len = call->out_off = 0;
        for (struct msg *m = list; m; m = m->next) {
            if (call->out)
                memcpy(call->out + call->out_len, m->data, m->len);
            call->out_len += call->out ? m->len : 0;
        }
    }
    while (list) {
        struct msg *n = list->next;
        free(list);
        list = n;
    }
    if (finished && total == 0) {
        /* The handler is done and everything it sent is out: its status ends the
         * stream (recorded here, since the trailers may go before stream_progress runs). */
        if (call->state != CALL_RESPONDED) {
            call->state = CALL_RESPONDED;
            stop_timer(call);
            call_done_stats(call, w->reply.status);
            set_final(call, w->reply.status, w->reply.message);
        }
        call->out_eof = true;
    }
    return total > 0 && call->out;
}

static ssize_t data_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    struct call *call = source->ptr;
    if (call->out_off == call->out_len && call->writer && !call->out_eof)
        take_stream_messages(call);
    size_t left = call->out_len - call->out_off;
    if (left == 0) {
        if (!call->out_eof) {
            call->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        submit_trailers(call);
        return 0;
    }
    size_t n = left < length ? left : length;
    memcpy(buf, call->out + call->out_off, n);
    call->out_off += n;
    if (call->out_off == call->out_len && call->out_eof) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        submit_trailers(call);
    }
    return (ssize_t)n;
}

static void submit_data_response(struct call *call)
{
    nghttp2_nv hdrs[] = {
        { (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_data_provider prd = { .source.ptr = call, .read_callback = data_read_cb };
    nghttp2_submit_response(call->conn->session, call->stream_id, hdrs, 2, &prd);
}

static void respond_unary(struct call *call)
{
    grpc_reply *r = &call->reply;
    if (r->status == GRPC_OK && r->len > call->srv->opts.max_send_msg_size) {
        char msg[160];
        snprintf(msg, sizeof msg, "grpc: trying to send message larger than max (%zu vs. %zu)", r->len,
                 call->srv->opts.max_send_msg_size);
        respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, msg);
        return;
    }
    if (r->status != GRPC_OK) {
        respond_trailers_only(call, r->status, r->message);
        return;
    }
    call->state = CALL_RESPONDED;
    stop_timer(call);
    call_done_stats(call, GRPC_OK);
    if (!call->conn || call->stream_closed)
        return;
    call->out = malloc(5 + r->len);
    if (!call->out) {
        call->state = CALL_RUNNING;
        respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    grpc_frame_prefix(call->out, (uint32_t)r->len);
    if (r->len)
        memcpy(call->out + 5, r->body, r->len);
    call->out_len = 5 + r->len;
    call->out_eof = true;
    set_final(call, GRPC_OK, NULL);
    submit_data_response(call);
}

/* ---- running handlers ---- */

#define IDLE_TRIM_MS 1000

static void idle_trim_cb(uv_timer_t *t)
{
    grpc_server *srv = t->data;
#ifdef __GLIBC__
    if (srv->active_calls == 0)
        malloc_trim(0);
#else
    (void)srv;
#endif
}

/*
 * After a burst of calls the thread pool's malloc arenas hold freed memory;
 * a kubelet never closes its connection, so the server trims its heap once
 * it has had no call for a second rather than when connections close.
 */
static void calls_done(grpc_server *srv)
{
    if (srv->active_calls == 0 && !srv->shutting_down)
        uv_timer_start(&srv->idle_trim, idle_trim_cb, IDLE_TRIM_MS, 0);
}

static void work_cb(uv_work_t *req)
{
    struct call *call = req->data;
    call->method->unary(call->method, call->req, call->req_len, &call->reply, call->srv->opts.ctx);
}

static void after_work_cb(uv_work_t *req, int status)
{
    struct call *call = req->data;
    grpc_server *srv = call->srv;
    call->work_pending = false;
    srv->active_calls--;
    calls_done(srv);
    if (status == UV_ECANCELED && call->reply.status == GRPC_OK && !call->reply.body)
        call->reply.status = GRPC_CANCELLED;
    respond_unary(call);
    struct conn *c = call->conn;
    call_release(call);
    if (c)
        conn_flush_later(c);
    shutdown_check(srv);
}

static void *stream_thread(void *arg)
{
    grpc_stream_writer *w = arg;
    struct call *call = w->call;
    call->method->stream(call->method, w->req, w->req_len, w, &w->reply, call->srv->opts.ctx);
    grpc_server *srv = call->srv;
    pthread_mutex_lock(&srv->mu);
    w->finished = true;
    if (!w->notify) {
        w->notify = true;
        w->notify_next = srv->notify_head;
        srv->notify_head = w;
    }
    pthread_mutex_unlock(&srv->mu);
    uv_async_send(&srv->async);
    return NULL;
}

int grpc_stream_send(grpc_stream_writer *w, const uint8_t *msg, size_t len)
{
    grpc_server *srv = w->call->srv;
    if (len > srv->opts.max_send_msg_size || len > UINT32_MAX)
        return -1;
    struct msg *m = malloc(sizeof *m + 5 + len);
    if (!m)
        return -1;
    m->next = NULL;
    m->len = 5 + len;
    grpc_frame_prefix(m->data, (uint32_t)len);
    if (len)
        memcpy(m->data + 5, msg, len);
    pthread_mutex_lock(&srv->mu);
    if (w->done) {
        pthread_mutex_unlock(&srv->mu);
        free(m);
        return -1;
    }
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
    bool wake = !w->notify;
    if (wake) {
        w->notify = true;
        w->notify_next = srv->notify_head;
        srv->notify_head = w;
    }
    pthread_mutex_unlock(&srv->mu);
    if (wake)
        uv_async_send(&srv->async);
    return 0;
}

bool grpc_stream_done(grpc_stream_writer *w)
{
    pthread_mutex_lock(&w->call->srv->mu);
    bool done = w->done;
    pthread_mutex_unlock(&w->call->srv->mu);
    return done;
}

/* Tells a streaming handler to stop (client gone, deadline, shutdown). */
static void writer_cancel(grpc_stream_writer *w)
{
    pthread_mutex_lock(&w->call->srv->mu);
    w->done = true;
    pthread_mutex_unlock(&w->call->srv->mu);
}

static void writer_free(grpc_stream_writer *w)
{
    for (struct msg *m = w->head, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    free(w->reply.message);
    free(w->reply.body);
    free(w);
}

/* On the loop: a streaming call has new messages, or its handler finished. */
static void stream_progress(grpc_stream_writer *w)
{
    struct call *call = w->call;
    pthread_mutex_lock(&call->srv->mu);
    bool finished = w->finished;
    pthread_mutex_unlock(&call->srv->mu);
    if (finished && call->work_pending) {
        call->work_pending = false;
        call->srv->active_calls--;
        calls_done(call->srv);
        if (call->state != CALL_RESPONDED) {
            call->state = CALL_RESPONDED;
            stop_timer(call);
            call_done_stats(call, w->reply.status);
            set_final(call, w->reply.status, w->reply.message);
        }
    }
    struct conn *c = call->conn;
    if (c && !call->stream_closed && call->deferred) {
        call->deferred = false;
        nghttp2_session_resume_data(c->session, call->stream_id);
    }
    if (finished)
        call_release(call);
    if (c)
        conn_flush(c);
}

static void async_cb(uv_async_t *handle)
{
    grpc_server *srv = handle->data;
    pthread_mutex_lock(&srv->mu);
    grpc_stream_writer *list = srv->notify_head;
    srv->notify_head = NULL;
    for (grpc_stream_writer *w = list; w; w = w->notify_next)
        w->notify = false;
    pthread_mutex_unlock(&srv->mu);
    while (list) {
        grpc_stream_writer *next = list->notify_next;
        stream_progress(list);
        list = next;
    }
    shutdown_check(srv);
}

static void start_stream_call(struct call *call)
{
    grpc_stream_writer *w = calloc(1, sizeof *w);
    if (!w) {
        respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    w->call = call;
    w->req = call->req;
    w->req_len = call->req_len;
    call->writer = w;
    call->state = CALL_RUNNING;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    call->work_pending = true;
    call->srv->active_calls++;
    if (pthread_create(&t, &attr, stream_thread, w) != 0) {
        call->work_pending = false;
        call->srv->active_calls--;
        call->state = CALL_READING;
        respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, "cannot start a thread for the stream");
    } else {
        set_final(call, GRPC_OK, NULL);
        submit_data_response(call);
    }
    pthread_attr_destroy(&attr);
}

static void timer_cb(uv_timer_t *t)
{
    struct call *call = t->data;
    if (call->writer)
        writer_cancel(call->writer);
    struct conn *c = call->conn;
    if (call->state == CALL_RESPONDED && call->writer && c && !call->stream_closed) {
        /* A stream whose headers are out: end it with the status in trailers. */
        set_final(call, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
    } else {
        respond_trailers_only(call, GRPC_DEADLINE_EXCEEDED, "deadline exceeded");
    }
    if (c)
        conn_flush(c);
}

static const grpc_method *find_method(grpc_server *srv, const char *path)
{
    for (size_t i = 0; i < srv->opts.n_methods; i++)
        if (strcmp(srv->opts.methods[i].path, path) == 0)
            return &srv->opts.methods[i];
    return NULL;
}

/* The request is complete (END_STREAM): check it and run its handler. */
static void dispatch(struct call *call)
{
    if (call->state != CALL_READING)
        return;
    char msg[MAX_PATH_LEN + 128];
    if (!call->is_post) {
        respond_trailers_only(call, GRPC_UNIMPLEMENTED, "gRPC requires POST");
        return;
    }
    if (!call->grpc_content) {
        respond_trailers_only(call, GRPC_INTERNAL, "content-type is not application/grpc");
        return;
    }
    call->method = find_method(call->srv, call->path);
    if (!call->method) {
        snprintf(msg, sizeof msg, "unknown method %s", call->path);
        respond_trailers_only(call, GRPC_UNIMPLEMENTED, msg);
        return;
    }
    bool compressed;
    uint32_t len;
    if (grpc_frame_header(call->req, call->req_len, &compressed, &len) < 0 ||
        call->req_len != 5 + (size_t)len) {
        snprintf(msg, sizeof msg, "grpc: malformed request body (%zu bytes is not one length-prefixed message)",
                 call->req_len);
        respond_trailers_only(call, GRPC_INTERNAL, msg);
        return;
    }
    if (compressed) {
        respond_trailers_only(call, GRPC_UNIMPLEMENTED, "grpc: compressed messages are not supported");
        return;
    }
    /* Hand the handler the message without its prefix. */
    memmove(call->req, call->req + 5, len);
    call->req_len = len;
    if (call->srv->shutting_down) {
        respond_trailers_only(call, GRPC_UNAVAILABLE, "server is shutting down");
        return;
    }
    if (call->method->stream) {
        start_stream_call(call);
        return;
    }
    if (call->method->on_loop) {
        /* Answers from memory in microseconds: the two thread hand-offs of
         * the pool would cost more than the call (see grpc_method.on_loop). */
        call->state = CALL_RUNNING;
        call->method->unary(call->method, call->req, call->req_len, &call->reply, call->srv->opts.ctx);
        respond_unary(call);
        return;
    }
    call->state = CALL_RUNNING;
    call->work_pending = true;
    call->srv->active_calls++;
    call->work.data = call;
    int r = uv_queue_work(call->srv->loop, &call->work, work_cb, after_work_cb);
    if (r < 0) {
        call->work_pending = false;
        call->srv->active_calls--;
        call->state = CALL_READING;
        respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, uv_strerror(r));
    }
}

/* ---- call lifetime ---- */

static void call_free_now(struct call *call)
{
    free(call->req);
    free(call->out);
    free(call->final_message);
    free(call->reply.body);
    free(call->reply.message);
    if (call->writer)
        writer_free(call->writer);
    free(call);
}

static void timer_closed(uv_handle_t *h)
{
    call_free_now(h->data);
}

static void call_detach(struct call *call)
{
    struct conn *c = call->conn;
    if (!c)
        return;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
    call->conn = NULL;
}

/* Frees the call once nothing refers to it: the stream is closed (or the
 * connection gone) and no handler runs. */
static void call_release(struct call *call)
{
    if (call->work_pending || (call->conn && !call->stream_closed))
        return;
    call_detach(call);
    if (call->timer_on) {
        call->timer_on = false;
        uv_close((uv_handle_t *)&call->timer, timer_closed);
    } else {
        call_free_now(call);
    }
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    struct conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct call *call = calloc(1, sizeof *call);
    if (!call)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    call->srv = c->srv;
    call->conn = c;
    call->stream_id = frame->hd.stream_id;
    call->start_ns = now_ns();
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, call);
    return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
#define IS(s) (namelen == sizeof(s) - 1 && memcmp(name, s, namelen) == 0)
    if (IS(":path")) {
        size_t n = valuelen < MAX_PATH_LEN - 1 ? valuelen : MAX_PATH_LEN - 1;
        memcpy(call->path, value, n);
        call->path[n] = '\0';
    } else if (IS(":method")) {
        call->is_post = valuelen == 4 && memcmp(value, "POST", 4) == 0;
    } else if (IS("content-type")) {
        call->grpc_content = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
                             (valuelen == 16 || value[16] == '+' || value[16] == ';');
    } else if (IS("grpc-timeout")) {
        call->has_timeout = grpc_parse_timeout((const char *)value, valuelen, &call->timeout_ns);
    }
#undef IS
    return 0;
}

static void arm_deadline(struct call *call)
{
    if (!call->has_timeout || call->state == CALL_RESPONDED)
        return;
    uint64_t ms = call->timeout_ns / 1000000;
    if (ms == 0 && call->timeout_ns)
        ms = 1;
    uv_timer_init(call->srv->loop, &call->timer);
    call->timer.data = call;
    call->timer_on = true;
    uv_timer_start(&call->timer, timer_cb, ms, 0);
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!call)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
        arm_deadline(call);
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
        dispatch(call);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    struct call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call || call->state != CALL_READING)
        return 0;
    size_t max = call->srv->opts.max_recv_msg_size;
    if (call->req_len + len > call->req_cap) {
        /* Check the declared size before buffering beyond the prefix. */
        size_t need = call->req_len + len;
        uint8_t head[5];
        size_t have = call->req_len < 5 ? call->req_len : 5;
        if (have)
            memcpy(head, call->req, have);
        if (have < 5)
            memcpy(head + have, data, (5 - have) < len ? 5 - have : len);
        bool comp;
        uint32_t declared;
        size_t avail = have + len < 5 ? have + len : 5;
        if (grpc_frame_header(head, avail, &comp, &declared) == 0 && declared > max) {
            char msg[160];
            snprintf(msg, sizeof msg, "grpc: received message larger than max (%u vs. %zu)", declared, max);
            call->too_big = true;
            free(call->req);
            call->req = NULL;
            call->req_len = call->req_cap = 0;
            respond_trailers_only(call, GRPC_RESOURCE_EXHAUSTED, msg);
            call->rst_after_send = true;
            return 0;
        }
        if (need > max + 5 + 4096) {
            call->too_big = true;
            respond_trailers_only(call, GRPC_INTERNAL, "grpc: request body exceeds its declared length");
            call->rst_after_send = true;
            return 0;
        }
        size_t cap = call->req_cap ? call->req_cap : 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(call->req, cap);
        if (!nb)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        call->req = nb;
        call->req_cap = cap;
    }
    memcpy(call->req + call->req_len, data, len);
    call->req_len += len;
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
        if (call)
            call->reply_sent = true;
        /* The reply is out but the client still sends (oversized body, or a
         * request cut short by shutdown): end the stream. */
        if (call && (call->rst_after_send || call->srv->shutting_down) &&
            nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0)
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    struct call *call = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!call)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    call->stream_closed = true;
    if (call->state != CALL_RESPONDED) {
        /* The client cancelled before the reply. */
        call->state = CALL_RESPONDED;
        stop_timer(call);
        call_done_stats(call, GRPC_CANCELLED);
    }
    if (call->writer)
        writer_cancel(call->writer);
    call_release(call);
    return 0;
}

/* ---- connections ---- */

struct write_req {
    uv_write_t req;
    struct conn *conn;
    size_t len;
    uint8_t data[];
};

static void after_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->conn;
    c->writes_pending--;
    free(w);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->closing)
        return;
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
        c->writes_pending == 0)
        conn_close(c);
    else if (c->srv->shutting_down)
        shutdown_check(c->srv); /* the last reply on this connection may just have gone out */
}

static void conn_flush(struct conn *c)
{
    if (c->closing)
        return;
    size_t cap = 0, len = 0;
    struct write_req *w = NULL;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            free(w);
            conn_close(c);
            return;
        }
        if (n == 0)
            break;
        if (len + (size_t)n > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            while (ncap < len + (size_t)n)
                ncap *= 2;
            struct write_req *nw = realloc(w, sizeof *w + ncap);
            if (!nw) {
                free(w);
                conn_close(c);
                return;
            }
            w = nw;
            cap = ncap;
        }
        memcpy(w->data + len, data, (size_t)n);
        len += (size_t)n;
    }
    if (w) {
        w->conn = c;
        w->len = len;
        uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)len);
        c->writes_pending++;
        int r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, after_write);
        if (r < 0) {
            c->writes_pending--;
            free(w);
            conn_close(c);
            return;
        }
    }
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
        c->writes_pending == 0)
        conn_close(c);
}

/*
 * Handlers that finish together (one wake-up of the loop runs every completed
 * after_work_cb) have their replies written in one uv_write per connection,
 * in the check phase right after, instead of one write per call.
 */
static void check_cb(uv_check_t *h)
{
    flush_dirty(h->data);
}

static void flush_dirty(grpc_server *srv)
{
    uv_check_stop(&srv->check);
    while (srv->dirty) {
        struct conn *c = srv->dirty;
        srv->dirty = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        conn_flush(c);
    }
}

static void conn_flush_later(struct conn *c)
{
    if (c->closing || c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
    uv_check_start(&c->srv->check, check_cb);
}

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    grpc_server *srv = c->srv;
    free(c);
    srv->handles_open--;
#ifdef __GLIBC__
    /* Idle again: give the heap that served a burst of calls back to the OS. */
    if (!srv->conns && srv->active_calls == 0)
        malloc_trim(0);
#endif
    shutdown_check(srv);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    grpc_server *srv = c->srv;
    if (c->dirty) {
        for (struct conn **pp = &srv->dirty; *pp; pp = &(*pp)->dirty_next)
            if (*pp == c) {
                *pp = c->dirty_next;
                break;
            }
        c->dirty = false;
    }
    while (c->calls) {
        struct call *call = c->calls;
        call->stream_closed = true;
        if (call->writer)
            writer_cancel(call->writer);
        if (call->state != CALL_RESPONDED) {
            call->state = CALL_RESPONDED;
            stop_timer(call);
            call_done_stats(call, GRPC_CANCELLED);
        }
        call_detach(call);
        call_release(call);
    }
    nghttp2_session_del(c->session);
    c->session = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    *buf = uv_buf_init(c->readbuf, sizeof c->readbuf);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->closing)
        return;
    ssize_t r = nghttp2_session_mem_recv(c->session, (const uint8_t *)buf->base, (size_t)nread);
    if (r < 0) {
        if (c->srv->opts.on_log)
            c->srv->opts.on_log("connection closed on an HTTP/2 protocol error", nghttp2_strerror((int)r),
                                c->srv->opts.ctx);
        /* nghttp2 queued a GOAWAY for most errors: send it, then close. */
        conn_flush(c);
        conn_close(c);
        return;
    }
    conn_flush(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    grpc_server *srv = listener->data;
    if (status < 0 || srv->shutting_down)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = srv;
    uv_pipe_init(srv->loop, &c->pipe, 0);
    c->pipe.data = c;
    srv->handles_open++;
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0 ||
        nghttp2_session_server_new(&c->session, srv->callbacks, c) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->pipe, conn_closed);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    nghttp2_settings_entry settings[] = {
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 16 * STREAM_WINDOW);
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
    conn_flush(c);
}

/* ---- server ---- */

static int fail(grpc_server *srv, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(grpc_server *srv, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(srv->error, sizeof srv->error, fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(srv->error);
        snprintf(srv->error + n, sizeof srv->error - n, ": %s", strerror(err));
    }
    return -1;
}

const char *grpc_server_error(const grpc_server *srv)
{
    return srv->error;
}

/* mkdir -p for the socket's parent directory. */
static int mkdir_parents(char *dir)
{
    for (char *s = dir + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -1;
            *s = c;
            if (!c)
                return 0;
        }
    }
}

int grpc_server_new(grpc_server **out, uv_loop_t *loop, const grpc_server_options *opts)
{
    grpc_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return -1;
    srv->loop = loop;
    srv->opts = *opts;
    if (!srv->opts.max_recv_msg_size)
        srv->opts.max_recv_msg_size = 16 << 20;
    if (!srv->opts.max_send_msg_size)
        srv->opts.max_send_msg_size = 16 << 20;
    pthread_mutex_init(&srv->mu, NULL);
    if (nghttp2_session_callbacks_new(&srv->callbacks) != 0) {
        free(srv);
        return -1;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(srv->callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(srv->callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(srv->callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(srv->callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(srv->callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(srv->callbacks, on_frame_send);
    uv_async_init(loop, &srv->async, async_cb);
    srv->async.data = srv;
    srv->handles_open++;
    uv_check_init(loop, &srv->check);
    srv->check.data = srv;
    srv->handles_open++;
    uv_timer_init(loop, &srv->idle_trim);
    srv->idle_trim.data = srv;
    uv_unref((uv_handle_t *)&srv->idle_trim); /* never what keeps the loop running */
    srv->handles_open++;
    *out = srv;
    return 0;
}

/* True when something accepts connections on `path` (a live server). */
static bool socket_alive(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return alive;
}

int grpc_server_listen(grpc_server *srv, const char *path, int mode)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path)
        return fail(srv, 0, "listen %s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
    char *dir = strdup(path);
    if (!dir)
        return fail(srv, ENOMEM, "listen %s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir_parents(dir) < 0) {
            int e = errno;
            fail(srv, e, "listen %s: create directory %s", path, dir);
            free(dir);
            return -1;
        }
    }
    free(dir);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(srv, 0, "listen %s: exists and is not a socket", path);
        if (socket_alive(path))
            return fail(srv, 0, "listen %s: another server is answering on this socket", path);
        if (unlink(path) < 0)
            return fail(srv, errno, "listen %s: remove stale socket", path);
        if (srv->opts.on_log)
            srv->opts.on_log("removed stale socket", path, srv->opts.ctx);
    }
    uv_pipe_init(srv->loop, &srv->listener, 0);
    srv->listener.data = srv;
    srv->handles_open++;
    srv->listening = true;
    int r = uv_pipe_bind(&srv->listener, path);
    if (r == 0) {
        if (chmod(path, (mode_t)mode) < 0) {
            int e = errno;
            unlink(path);
            return fail(srv, e, "listen %s: chmod", path);
        }
        r = uv_listen((uv_stream_t *)&srv->listener, 512, on_connection);
    }
    if (r < 0)
        return fail(srv, -r, "listen %s", path);
    srv->socket_path = strdup(path);
    return srv->socket_path ? 0 : fail(srv, ENOMEM, "listen %s", path);
}

static void handle_closed(uv_handle_t *h)
{
    grpc_server *srv = h->data;
    srv->handles_open--;
    shutdown_check(srv);
}

static void close_when_idle(grpc_server *srv)
{
    /* Replies still waiting for the check phase go out before the GOAWAY. */
    flush_dirty(srv);
    for (struct conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        /* A terminating GOAWAY outranks queued DATA: end a connection only
         * once every reply on it is out (its streams are closed). */
        if (c->closing || c->calls || c->terminated)
            continue;
        c->terminated = true;
        nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
        conn_flush(c);
    }
}

static void shutdown_check(grpc_server *srv)
{
    if (!srv->shutting_down)
        return;
    if (srv->active_calls == 0 && srv->conns)
        close_when_idle(srv);
    if (srv->active_calls == 0 && !srv->conns && !uv_is_closing((uv_handle_t *)&srv->async)) {
        uv_close((uv_handle_t *)&srv->async, handle_closed);
        uv_close((uv_handle_t *)&srv->check, handle_closed);
        uv_close((uv_handle_t *)&srv->idle_trim, handle_closed);
        return;
    }
    if (srv->handles_open == 0 && srv->shutdown_done) {
        void (*done)(grpc_server *, void *) = srv->shutdown_done;
        srv->shutdown_done = NULL;
        done(srv, srv->shutdown_arg);
    }
}

void grpc_server_shutdown(grpc_server *srv, void (*done)(grpc_server *, void *), void *arg)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    srv->shutdown_done = done;
    srv->shutdown_arg = arg;
    if (srv->listening) {
        srv->listening = false;
        uv_close((uv_handle_t *)&srv->listener, handle_closed);
        if (srv->socket_path)
            unlink(srv->socket_path);
    }
    /* Announce the shutdown (GOAWAY with the maximum stream id, as gRPC
     * servers do first); streams already open finish, and the final GOAWAY
     * goes out once a connection has no call left (close_when_idle). */
    for (struct conn *c = srv->conns; c; c = c->next) {
        nghttp2_submit_shutdown_notice(c->session);
        for (struct call *call = c->calls; call; call = call->next) {
            if (call->writer)
                writer_cancel(call->writer);
            if (call->state == CALL_READING) /* a request still arriving will not be served */
                respond_trailers_only(call, GRPC_UNAVAILABLE, "server is shutting down");
            else if (call->reply_sent && !call->stream_closed)
                nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_NO_ERROR);
        }
        conn_flush(c);
    }
    shutdown_check(srv);
}

void grpc_server_free(grpc_server *srv)
{
    if (!srv)
        return;
    nghttp2_session_callbacks_del(srv->callbacks);
    pthread_mutex_destroy(&srv->mu);
    free(srv->socket_path);
    free(srv);
}

size_t grpc_server_active_calls(const grpc_server *srv)
{
    return srv->active_calls;
}
