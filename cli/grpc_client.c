/* A gRPC client over HTTP/2 on a unix socket, built on libcurl. */
#include "grpc_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include <crio/version.h>

struct crio_grpc_client {
    CURL *curl;
    char *socket_path;
    char errbuf[CURL_ERROR_SIZE];
};

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

int crio_grpc_client_new(crio_grpc_client **out, const char *socket_path)
{
    crio_grpc_client *c;
    int r;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    r = crio_grpc_endpoint_path(&c->socket_path, socket_path);
    if (r < 0) {
        free(c);
        return r;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        crio_grpc_client_free(c);
        return -EIO;
    }
    CURL *h = c->curl;
    if (curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) !=
            CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, "grpc-c-libcrio/" CRIO_VERSION_STRING) !=
            CURLE_OK) {
        crio_grpc_client_free(c);
        return -EIO;
    }
    /*
     * libcurl 7.88.x cannot reuse an HTTP/2 prior-knowledge connection: the
     * second request fails with "Error in the HTTP2 framing layer" (curl
     * issue #10634, fixed in 8.0.0).  There, each call opens a fresh
     * connection (cheap on a unix socket).
     */
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    if (vi && vi->version_num >= 0x075800 && vi->version_num < 0x080000) {
        if (curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
            curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK) {
            crio_grpc_client_free(c);
            return -EIO;
        }
    }
    if (getenv("CRIO_GRPC_CURL_VERBOSE"))
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    *out = c;
    return 0;
}

void crio_grpc_client_free(crio_grpc_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->socket_path);
    free(c);
}

const char *crio_grpc_client_socket_path(const crio_grpc_client *c)
{
    return c->socket_path;
}

/* The state of one call, shared by the curl callbacks. */
struct call {
    crio_grpc_reader reader;
    int read_rc;            /* the reader's failure, if it stopped the transfer */
    bool unary;
    crio_grpc_message_fn fn; /* streaming */
    void *payload;
    bool cancelled;         /* the streaming callback asked to stop */
    void *msg;              /* unary: the response message */
    size_t msg_len;
    unsigned nmsgs;
    bool nomem;

    bool have_status;       /* grpc-status seen (headers or trailers) */
    bool bad_status;        /* ... but not a number */
    int grpc_status;
    char *grpc_message;     /* raw (percent-encoded) */
    char *content_type;
};

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

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct call *call = userdata;
    size_t len = size * nmemb;

    call->read_rc = crio_grpc_reader_feed(&call->reader, ptr, len, on_message, call);
    if (call->read_rc == CRIO_GRPC_READ_NOMEM)
        call->nomem = true;
    return call->read_rc == CRIO_GRPC_READ_OK ? len : 0;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    size_t n = strlen(name);

    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *value = v;
    *value_len = (size_t)(end - v);
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
    struct call *call = userdata;
    size_t len = size * nitems;
    const char *v;
    size_t vlen;

    if (header_is(line, len, "grpc-status", &v, &vlen)) {
        int code = 0;
        call->have_status = true;
        call->bad_status = vlen == 0 || vlen > 9;
        for (size_t i = 0; i < vlen && !call->bad_status; i++) {
            if (v[i] < '0' || v[i] > '9')
                call->bad_status = true;
            else
                code = code * 10 + (v[i] - '0');
        }
        call->grpc_status = code;
    } else if (header_is(line, len, "grpc-message", &v, &vlen)) {
        free(call->grpc_message);
        call->grpc_message = strndup(v, vlen);
        if (!call->grpc_message) {
            call->nomem = true;
            return 0;
        }
    } else if (header_is(line, len, "content-type", &v, &vlen)) {
        free(call->content_type);
        call->content_type = strndup(v, vlen);
        if (!call->content_type) {
            call->nomem = true;
            return 0;
        }
    }
    return len;
}

/* gRPC's mapping of HTTP statuses, for a response without grpc-status. */
static int http_to_grpc(long http)
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

/* HTTP/2 RST_STREAM error codes, as curl reports them ("... (err 8)"). */
static int rst_to_grpc(const char *errbuf)
{
    const char *p = strstr(errbuf, "(err ");
    if (!p)
        return CRIO_GRPC_INTERNAL;
    switch (strtol(p + 5, NULL, 10)) {
    case 7: /* REFUSED_STREAM */
        return CRIO_GRPC_UNAVAILABLE;
    case 8: /* CANCEL */
        return CRIO_GRPC_CANCELLED;
    case 11: /* ENHANCE_YOUR_CALM */
        return CRIO_GRPC_RESOURCE_EXHAUSTED;
    case 12: /* INADEQUATE_SECURITY */
        return CRIO_GRPC_PERMISSION_DENIED;
    default:
        return CRIO_GRPC_INTERNAL;
    }
}

/* Maps a failed transfer to a status. */
static int transfer_failed(crio_grpc_client *c, struct call *call, CURLcode rc, const char *path,
                           long timeout_ms, crio_grpc_status *st)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    long os_errno = 0;

    /* Our own callbacks stopped the transfer. */
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK) {
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
        case CRIO_GRPC_READ_STOPPED:
            if (call->unary && call->nmsgs > 1)
                return status_set(st, CRIO_GRPC_INTERNAL,
                                  "%s: more than one response message for a unary call", path);
            break;
        default:
            break;
        }
    }

    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return status_set(st, CRIO_GRPC_DEADLINE_EXCEEDED, "%s: deadline of %ldms exceeded",
                          path, timeout_ms);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno)
            return status_set(st, CRIO_GRPC_UNAVAILABLE, "connect to %s: %s", c->socket_path,
                              strerror((int)os_errno));
        /* Connected, but the HTTP/2 connection setup failed. */
        return status_set(st, CRIO_GRPC_UNAVAILABLE,
                          "connect to %s: the connection closed before the HTTP/2 "
                          "handshake completed (%s)",
                          c->socket_path, detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return status_set(st, CRIO_GRPC_UNAVAILABLE, "%s: connection to %s lost: %s", path,
                          c->socket_path, detail);
    case CURLE_HTTP2_STREAM:
        return status_set(st, rst_to_grpc(c->errbuf), "%s: stream reset by %s: %s", path,
                          c->socket_path, detail);
    case CURLE_HTTP2:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return status_set(st, CRIO_GRPC_INTERNAL, "%s: HTTP/2 protocol error on %s: %s", path,
                          c->socket_path, detail);
    default:
        return status_set(st, CRIO_GRPC_UNKNOWN, "%s: %s", path, detail);
    }
}

/* Maps a completed transfer (headers and trailers read) to a status. */
static int transfer_done(crio_grpc_client *c, struct call *call, const char *path,
                         crio_grpc_status *st)
{
    long http = 0;

    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
    if (http != 200 && !(call->have_status && !call->bad_status && call->grpc_status != 0))
        return status_set(st, http_to_grpc(http),
                          "%s: HTTP status %ld from %s (content-type %s), not a gRPC response",
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

static int do_call(crio_grpc_client *c, struct call *call, const char *path, const void *req,
                   size_t req_len, long timeout_ms, crio_grpc_status *st)
{
    CURL *e = c->curl;
    struct curl_slist *headers = NULL, *h;
    unsigned char *body = NULL;
    char *url = NULL;
    char tbuf[16], theader[48];
    int r = -ENOMEM;
    CURLcode rc;

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

    body = malloc(5 + req_len);
    if (!body || asprintf(&url, "http://localhost%s", path) < 0) {
        url = NULL;
        goto out;
    }
    crio_grpc_frame_header(body, (uint32_t)req_len);
    if (req_len)
        memcpy(body + 5, req, req_len);

    static const char *const fixed[] = { "content-type: application/grpc", "te: trailers",
                                         "Accept:", "Expect:" };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        h = curl_slist_append(headers, fixed[i]);
        if (!h)
            goto out;
        headers = h;
    }
    if (timeout_ms > 0) {
        snprintf(theader, sizeof(theader), "grpc-timeout: %s",
                 crio_grpc_timeout_format(tbuf, timeout_ms));
        h = curl_slist_append(headers, theader);
        if (!h)
            goto out;
        headers = h;
    }

    c->errbuf[0] = '\0';
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(5 + req_len)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, client_deadline_ms(timeout_ms)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, call) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, call) != CURLE_OK) {
        r = status_set(st, CRIO_GRPC_INTERNAL, "%s: cannot set up the request", path);
        goto reset;
    }

    rc = curl_easy_perform(e);
    if (call->nomem || rc == CURLE_OUT_OF_MEMORY) {
        r = -ENOMEM;
        goto reset;
    }
    if (rc != CURLE_OK && call->have_status && !call->bad_status &&
        !(rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)) {
        /* The final header block arrived (it ends the stream); a failure
         * after it does not change the server's verdict. */
        rc = CURLE_OK;
    }
    if (rc != CURLE_OK)
        r = transfer_failed(c, call, rc, path, timeout_ms, st);
    else
        r = transfer_done(c, call, path, st);

reset:
    /* Leave no pointer to this call's buffers in the handle. */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
out:
    if (r == -ENOMEM)
        crio_grpc_status_clear(st);
    crio_grpc_reader_reset(&call->reader);
    free(call->grpc_message);
    free(call->content_type);
    call->grpc_message = call->content_type = NULL;
    curl_slist_free_all(headers);
    free(body);
    free(url);
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
