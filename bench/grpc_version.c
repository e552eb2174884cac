/*
 * grpc_version: a lean gRPC load client for crio-server.
 *
 * Speaks HTTP/2 with nghttp2's client API over a blocking unix socket, one
 * thread per connection, and sends /runtime.v1.RuntimeService/Version calls.
 * Every reply is checked: HTTP :status 200, grpc-status 0, and a body that is
 * one length-prefixed VersionResponse whose runtime_name (field 2) is
 * "libcrio".  A C client, so that the client's own cost stays small next to
 * the server's.
 *
 *   grpc_version --socket PATH [--connections N] [--calls M] [--inflight K]
 *                [--warmup W] [--label NAME]
 *
 * M calls per connection are measured after W warm-up calls per connection
 * (all connections warm up, then start together).  --inflight K keeps K
 * streams open per connection; K = 1 is strict request/response round trips.
 * Latency is from submitting a call to its stream closing, CLOCK_MONOTONIC.
 *
 * Output, one line:
 *   version LABEL: conns=N inflight=K calls=T p50=NNus p99=NNus max=NNus calls/s=NNNN errors=E
 * Exit status 0 only when every call succeeded.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define METHOD_PATH "/runtime.v1.RuntimeService/Version"
#define MAX_INFLIGHT 1000
#define BODY_CAP 512

/* VersionRequest{version: "v1"} with its 5-byte gRPC prefix. */
static const uint8_t request_body[] = { 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0x02, 'v', '1' };

static const char *socket_path;
static int n_conns = 1, n_inflight = 1;
static long n_calls = 10000, n_warmup = 1000;
static const char *label = "run";
static pthread_barrier_t start_barrier;

struct slot {
    struct worker *w;
    bool busy;
    int32_t stream_id;
    uint64_t start_ns;
    size_t req_off;
    int http_status;
    int grpc_status;        /* -1 until seen */
    size_t body_len;
    bool body_overflow;
    uint8_t body[BODY_CAP];
};

struct worker {
    int id;
    int fd;
    nghttp2_session *session;
    struct slot *slots;
    long submitted, completed, target;  /* in the current phase */
    bool measuring;
    uint64_t *lat_ns;                   /* n_calls entries */
    long n_lat;
    long errors;
    long refused;                       /* of errors: REFUSED_STREAM (server shutting down) */
    char first_error[256];
    uint8_t *wbuf;
    size_t wcap;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void worker_error(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_error(struct worker *w, const char *fmt, ...)
{
    w->errors++;
    if (!w->first_error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->first_error, sizeof w->first_error, fmt, ap);
        va_end(ap);
    }
}

/* ---- minimal protobuf check: field 2 (runtime_name) == "libcrio" ---- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static bool version_reply_ok(const uint8_t *body, size_t len)
{
    if (len < 5 || body[0] != 0)
        return false;
    uint32_t mlen = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
    if ((size_t)mlen != len - 5)
        return false;
    const uint8_t *p = body + 5, *end = body + len;
    bool name_ok = false;
    while (p < end) {
        uint64_t key, v;
        if (!read_varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case 0:
            if (!read_varint(&p, end, &v))
                return false;
            break;
        case 2:
            if (!read_varint(&p, end, &v) || v > (uint64_t)(end - p))
                return false;
            if ((key >> 3) == 2 && v == 7 && memcmp(p, "libcrio", 7) == 0)
                name_ok = true;
            p += v;
            break;
        case 1:
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return false;
            p += 4;
            break;
        default:
            return false;
        }
    }
    return name_ok;
}

/* ---- nghttp2 callbacks ---- */

static ssize_t body_read_cb(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    struct slot *s = source->ptr;
    size_t left = sizeof request_body - s->req_off;
    size_t n = left < length ? left : length;
    memcpy(buf, request_body + s->req_off, n);
    s->req_off += n;
    if (s->req_off == sizeof request_body)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct slot *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        s->http_status = 0;
        for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; i++)
            s->http_status = s->http_status * 10 + (value[i] - '0');
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        s->grpc_status = 0;
        for (size_t i = 0; i < valuelen; i++) {
            if (value[i] < '0' || value[i] > '9') {
                s->grpc_status = 9999;
                break;
            }
            s->grpc_status = s->grpc_status * 10 + (value[i] - '0');
        }
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    struct slot *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s)
        return 0;
    if (s->body_len + len > BODY_CAP) {
        s->body_overflow = true;
        return 0;
    }
    memcpy(s->body + s->body_len, data, len);
    s->body_len += len;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    struct worker *w = user_data;
    struct slot *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s || !s->busy || s->stream_id != stream_id)
        return 0;
    uint64_t end = mono_ns();
    if (error_code == NGHTTP2_REFUSED_STREAM)
        w->refused++;
    if (error_code != NGHTTP2_NO_ERROR)
        worker_error(w, "stream reset: %s (%ld)", nghttp2_http2_strerror(error_code), (long)error_code);
    else if (s->http_status != 200)
        worker_error(w, "HTTP status %d", s->http_status);
    else if (s->grpc_status < 0)
        worker_error(w, "no grpc-status in the reply");
    else if (s->grpc_status != 0)
        worker_error(w, "grpc-status %d", s->grpc_status);
    else if (s->body_overflow || !version_reply_ok(s->body, s->body_len))
        worker_error(w, "reply body (%zu bytes%s) is not a VersionResponse from libcrio", s->body_len,
                     s->body_overflow ? ", more dropped" : "");
    else if (w->measuring && w->n_lat < n_calls)
        w->lat_ns[w->n_lat++] = end - s->start_ns;
    s->busy = false;
    w->completed++;
    return 0;
}

/* A request nghttp2 would not send (a GOAWAY came first): it ends here, refused. */
static int on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int lib_error_code,
                             void *user_data)
{
    struct worker *w = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    for (int i = 0; i < n_inflight; i++)
        if (w->slots[i].busy && w->slots[i].stream_id == frame->hd.stream_id) {
            w->slots[i].busy = false;
            w->completed++;
            w->refused++;
            worker_error(w, "request not sent: %s (%ld)", nghttp2_strerror(lib_error_code), (long)lib_error_code);
            break;
        }
    return 0;
}

/* ---- I/O ---- */

static int submit_call(struct worker *w)
{
    struct slot *s = NULL;
    for (int i = 0; i < n_inflight; i++)
        if (!w->slots[i].busy) {
            s = &w->slots[i];
            break;
        }
    if (!s)
        return -1;
    static const nghttp2_nv hdrs[] = {
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, \
                   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }
        NV(":method", "POST"),
        NV(":scheme", "http"),
        NV(":path", METHOD_PATH),
        NV(":authority", "localhost"),
        NV("content-type", "application/grpc"),
        NV("te", "trailers"),
#undef NV
    };
    s->busy = true;
    s->req_off = 0;
    s->http_status = 0;
    s->grpc_status = -1;
    s->body_len = 0;
    s->body_overflow = false;
    nghttp2_data_provider prd = { .source.ptr = s, .read_callback = body_read_cb };
    s->start_ns = mono_ns();
    int32_t id = nghttp2_submit_request(w->session, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &prd, s);
    if (id < 0) {
        s->busy = false;
        worker_error(w, "submit: %s (%ld)", nghttp2_strerror(id), (long)id);
        return -1;
    }
    s->stream_id = id;
    w->submitted++;
    return 0;
}

/* Serializes everything nghttp2 has queued and writes it in one go. */
static int flush(struct worker *w)
{
    size_t len = 0;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(w->session, &data);
        if (n < 0) {
            worker_error(w, "send: %s (%ld)", nghttp2_strerror((int)n), (long)n);
            return -1;
        }
        if (n == 0)
            break;
        if (len + (size_t)n > w->wcap) {
            size_t cap = w->wcap ? w->wcap * 2 : 65536;
            while (cap < len + (size_t)n)
                cap *= 2;
            uint8_t *nb = realloc(w->wbuf, cap);
            if (!nb) {
                worker_error(w, "out of memory");
                return -1;
            }
            w->wbuf = nb;
            w->wcap = cap;
        }
        memcpy(w->wbuf + len, data, (size_t)n);
        len += (size_t)n;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(w->fd, w->wbuf + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            worker_error(w, "write: %s (%ld)", strerror(errno), (long)errno);
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/*
 * Runs `count` calls with up to n_inflight open at once.  After a failed call
 * no new call starts, but those already sent are still read to their end, so
 * that every failure is counted (a reply cut short by a shutdown shows).
 */
static int run_phase(struct worker *w, long count, bool measuring)
{
    uint8_t rbuf[65536];
    w->submitted = w->completed = 0;
    w->target = count;
    w->measuring = measuring;
    long errors_before = w->errors;
    while (w->completed < (w->errors != errors_before ? w->submitted : count)) {
        while (w->errors == errors_before && w->submitted < count && w->submitted - w->completed < n_inflight)
            if (submit_call(w) < 0)
                return -1;
        if (flush(w) < 0)
            return -1;
        /* Sending can end calls too (requests refused after a GOAWAY). */
        if (w->errors != errors_before && w->completed >= w->submitted)
            break;
        ssize_t n = read(w->fd, rbuf, sizeof rbuf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            worker_error(w, "read: %s (%ld)", n == 0 ? "server closed the connection" : strerror(errno),
                         (long)(n == 0 ? 0 : errno));
            return -1;
        }
        ssize_t r = nghttp2_session_mem_recv(w->session, rbuf, (size_t)n);
        if (r < 0) {
            worker_error(w, "recv: %s (%ld)", nghttp2_strerror((int)r), (long)r);
            return -1;
        }
    }
    if (w->errors != errors_before)
        return -1;
    return flush(w);
}

static int connect_session(struct worker *w)
{
    w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->fd < 0) {
        worker_error(w, "socket: %s (%ld)", strerror(errno), (long)errno);
        return -1;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
    if (connect(w->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        worker_error(w, "connect: %s (%ld)", strerror(errno), (long)errno);
        return -1;
    }
    /* A stalled server fails the run instead of hanging it. */
    struct timeval tv = { .tv_sec = 30 };
    setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, on_frame_not_send);
    int r = nghttp2_session_client_new(&w->session, cbs, w);
    nghttp2_session_callbacks_del(cbs);
    if (r != 0) {
        worker_error(w, "session: %s (%ld)", nghttp2_strerror(r), (long)r);
        return -1;
    }
    nghttp2_settings_entry settings[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
    };
    nghttp2_submit_settings(w->session, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(w->session, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int r = connect_session(w);
    if (r == 0 && n_warmup > 0)
        r = run_phase(w, n_warmup, false);
    pthread_barrier_wait(&start_barrier);
    if (r == 0)
        run_phase(w, n_calls, true);
    if (w->session)
        nghttp2_session_del(w->session);
    if (w->fd >= 0)
        close(w->fd);
    free(w->wbuf);
    w->wbuf = NULL;
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: grpc_version --socket PATH [--connections N] [--calls M] [--inflight K]\n"
               "                    [--warmup W] [--label NAME]\n");
}

static long parse_num(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "grpc_version: %s wants a number in [%ld, %ld], not \"%s\"\n", opt, min, max, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--socket") == 0)
            socket_path = v;
        else if (strcmp(a, "--connections") == 0)
            n_conns = (int)parse_num(a, v, 1, 1024);
        else if (strcmp(a, "--calls") == 0)
            n_calls = parse_num(a, v, 1, 100000000);
        else if (strcmp(a, "--inflight") == 0)
            n_inflight = (int)parse_num(a, v, 1, MAX_INFLIGHT);
        else if (strcmp(a, "--warmup") == 0)
            n_warmup = parse_num(a, v, 0, 100000000);
        else if (strcmp(a, "--label") == 0)
            label = v;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!socket_path) {
        usage(stderr);
        return 2;
    }

    struct worker *ws = calloc((size_t)n_conns, sizeof *ws);
    pthread_t *tids = calloc((size_t)n_conns, sizeof *tids);
    if (!ws || !tids)
        return 1;
    pthread_barrier_init(&start_barrier, NULL, (unsigned)n_conns + 1);
    for (int i = 0; i < n_conns; i++) {
        ws[i].id = i;
        ws[i].fd = -1;
        ws[i].slots = calloc((size_t)n_inflight, sizeof *ws[i].slots);
        ws[i].lat_ns = malloc((size_t)n_calls * sizeof *ws[i].lat_ns);
        if (!ws[i].slots || !ws[i].lat_ns)
            return 1;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "grpc_version: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_barrier_wait(&start_barrier);
    uint64_t t0 = mono_ns();
    for (int i = 0; i < n_conns; i++)
        pthread_join(tids[i], NULL);
    uint64_t t1 = mono_ns();

    long total = 0, errors = 0;
    for (int i = 0; i < n_conns; i++) {
        total += ws[i].n_lat;
        errors += ws[i].errors;
        if (ws[i].errors)
            fprintf(stderr, "grpc_version: connection %d: %ld errors (%ld refused streams), first: %s\n", i,
                    ws[i].errors, ws[i].refused, ws[i].first_error);
    }
    uint64_t *all = malloc((size_t)(total ? total : 1) * sizeof *all);
    if (!all)
        return 1;
    long k = 0;
    for (int i = 0; i < n_conns; i++) {
        memcpy(all + k, ws[i].lat_ns, (size_t)ws[i].n_lat * sizeof *all);
        k += ws[i].n_lat;
    }
    qsort(all, (size_t)total, sizeof *all, cmp_u64);
    double secs = (double)(t1 - t0) / 1e9;
#define PCT(p) (total ? all[(size_t)(((double)(p) / 100.0) * (double)(total - 1) + 0.5)] / 1000 : 0)
    printf("version %s: conns=%d inflight=%d calls=%ld p50=%lluus p99=%lluus max=%lluus calls/s=%.0f errors=%ld\n",
           label, n_conns, n_inflight, total, (unsigned long long)PCT(50), (unsigned long long)PCT(99),
           (unsigned long long)PCT(100), secs > 0 ? (double)total / secs : 0.0, errors);
#undef PCT
    fflush(stdout);
    for (int i = 0; i < n_conns; i++) {
        free(ws[i].slots);
        free(ws[i].lat_ns);
    }
    free(all);
    free(ws);
    free(tids);
    pthread_barrier_destroy(&start_barrier);
    return errors || total != (long)n_conns * n_calls ? 1 : 0;
}
