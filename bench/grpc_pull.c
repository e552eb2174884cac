/*
 * grpc_pull: one CRI PullImage call to crio-server, timed.
 *
 * Speaks HTTP/2 with nghttp2's client API over a blocking unix socket (as
 * bench/grpc_version does) and sends /runtime.v1.ImageService/PullImage with
 * PullImageRequest{image: {image: REF}}.  The reply must be HTTP 200,
 * grpc-status 0 and one length-prefixed PullImageResponse with a non-empty
 * image_ref (field 1).
 *
 *   grpc_pull --socket PATH --image REF [--timeout SECONDS] [--label NAME]
 *
 * The time is from just before the request is written to the end of the
 * reply's stream (CLOCK_MONOTONIC); the connection is set up before that.
 *
 * Output, one line:
 *   pull LABEL: seconds=S.SSS image_ref=REF
 * Exit status 0 only when the call succeeded; otherwise the gRPC status and
 * message go to stderr.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
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

#define METHOD_PATH "/runtime.v1.ImageService/PullImage"
#define BODY_CAP 4096

static uint8_t req[5 + 4 + 4096];
static size_t req_len, req_off;

static int http_status, grpc_status = -1;
static char grpc_message[512];
static uint8_t body[BODY_CAP];
static size_t body_len;
static bool body_overflow, closed;
static uint32_t close_error;
static int32_t stream_id;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = b | (v ? 0x80 : 0);
    } while (v);
    return n;
}

/* PullImageRequest{ image (1): ImageSpec{ image (1): ref } }, with the gRPC prefix. */
static void build_request(const char *ref)
{
    size_t rl = strlen(ref);
    uint8_t spec[4096 + 16];
    size_t sl = 0;
    spec[sl++] = 0x0a;
    sl += put_varint(spec + sl, rl);
    memcpy(spec + sl, ref, rl);
    sl += rl;
    uint8_t *m = req + 5;
    size_t ml = 0;
    m[ml++] = 0x0a;
    ml += put_varint(m + ml, sl);
    memcpy(m + ml, spec, sl);
    ml += sl;
    req[0] = 0;
    req[1] = (uint8_t)(ml >> 24);
    req[2] = (uint8_t)(ml >> 16);
    req[3] = (uint8_t)(ml >> 8);
    req[4] = (uint8_t)ml;
    req_len = 5 + ml;
}

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

/* The image_ref (field 1) of a PullImageResponse, or false. */
static bool parse_reply(char *out, size_t cap)
{
    if (body_overflow || body_len < 5 || body[0] != 0)
        return false;
    uint32_t mlen = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
    if ((size_t)mlen != body_len - 5)
        return false;
    const uint8_t *p = body + 5, *end = body + body_len;
    out[0] = '\0';
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
            if ((key >> 3) == 1 && v < cap) {
                memcpy(out, p, v);
                out[v] = '\0';
            }
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
    return out[0] != '\0';
}

static ssize_t body_read_cb(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    size_t left = req_len - req_off;
    size_t n = left < length ? left : length;
    memcpy(buf, req + req_off, n);
    req_off += n;
    if (req_off == req_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != stream_id)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        http_status = 0;
        for (size_t i = 0; i < valuelen && value[i] >= '0' && value[i] <= '9'; i++)
            http_status = http_status * 10 + (value[i] - '0');
    } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
        grpc_status = 0;
        for (size_t i = 0; i < valuelen; i++) {
            if (value[i] < '0' || value[i] > '9') {
                grpc_status = 9999;
                break;
            }
            grpc_status = grpc_status * 10 + (value[i] - '0');
        }
    } else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
        size_t n = valuelen < sizeof grpc_message - 1 ? valuelen : sizeof grpc_message - 1;
        memcpy(grpc_message, value, n);
        grpc_message[n] = '\0';
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *user_data)
{
    if (id != stream_id)
        return 0;
    if (body_len + len > BODY_CAP) {
        body_overflow = true;
        return 0;
    }
    memcpy(body + body_len, data, len);
    body_len += len;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error_code, void *user_data)
{
    if (id == stream_id) {
        closed = true;
        close_error = error_code;
    }
    return 0;
}

static int flush(nghttp2_session *s, int fd)
{
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(s, &data);
        if (n < 0) {
            fprintf(stderr, "grpc_pull: send: %s\n", nghttp2_strerror((int)n));
            return -1;
        }
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, data + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                fprintf(stderr, "grpc_pull: write: %s\n", strerror(errno));
                return -1;
            }
            off += w;
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: grpc_pull --socket PATH --image REF [--timeout SECONDS] [--label NAME]\n");
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL, *image = NULL, *label = "run";
    long timeout = 600;
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
        else if (strcmp(a, "--image") == 0)
            image = v;
        else if (strcmp(a, "--label") == 0)
            label = v;
        else if (strcmp(a, "--timeout") == 0)
            timeout = strtol(v, NULL, 10);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!socket_path || !image || strlen(image) > 4000 || timeout < 1) {
        usage(stderr);
        return 2;
    }
    build_request(image);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "grpc_pull: connect %s: %s\n", socket_path, strerror(errno));
        return 1;
    }
    struct timeval tv = { .tv_sec = timeout };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    nghttp2_session_callbacks *cbs;
    nghttp2_session *s;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        return 1;
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    if (nghttp2_session_client_new(&s, cbs, NULL) != 0)
        return 1;
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = { { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings, 1);

    static const nghttp2_nv hdrs[] = {
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, \
                   NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }
        NV(":method", "POST"),     NV(":scheme", "http"),
        NV(":path", METHOD_PATH),  NV(":authority", "localhost"),
        NV("content-type", "application/grpc"), NV("te", "trailers"),
#undef NV
    };
    nghttp2_data_provider prd = { .read_callback = body_read_cb };
    double t0 = now();
    stream_id = nghttp2_submit_request(s, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &prd, NULL);
    if (stream_id < 0) {
        fprintf(stderr, "grpc_pull: submit: %s\n", nghttp2_strerror(stream_id));
        return 1;
    }
    uint8_t rbuf[65536];
    while (!closed) {
        if (flush(s, fd) < 0)
            return 1;
        ssize_t n = read(fd, rbuf, sizeof rbuf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "grpc_pull: read: %s\n",
                    n == 0 ? "server closed the connection"
                           : errno == EAGAIN ? "no reply within the timeout" : strerror(errno));
            return 1;
        }
        ssize_t r = nghttp2_session_mem_recv(s, rbuf, (size_t)n);
        if (r < 0) {
            fprintf(stderr, "grpc_pull: recv: %s\n", nghttp2_strerror((int)r));
            return 1;
        }
    }
    double t = now() - t0;
    char ref[BODY_CAP];
    int rc = 0;
    if (close_error != NGHTTP2_NO_ERROR) {
        fprintf(stderr, "grpc_pull: stream reset: %s\n", nghttp2_http2_strerror(close_error));
        rc = 1;
    } else if (http_status != 200 || grpc_status != 0) {
        fprintf(stderr, "grpc_pull: %s: HTTP %d, grpc-status %d: %s\n", image, http_status, grpc_status,
                grpc_message);
        rc = 1;
    } else if (!parse_reply(ref, sizeof ref)) {
        fprintf(stderr, "grpc_pull: the reply (%zu bytes) is not a PullImageResponse with an image_ref\n", body_len);
        rc = 1;
    } else {
        printf("pull %s: seconds=%.3f image_ref=%s\n", label, t, ref);
    }
    nghttp2_session_del(s);
    close(fd);
    return rc;
}
