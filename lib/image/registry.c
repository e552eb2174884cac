/* The registry HTTP API v2 client: requests, authentication, verified transfers. */
#include "image/registry.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/dlopen.h"
#include "base/error.h"
#include "base/json.h"
#include "base/log.h"

#define TOKEN_BODY_MAX (1024 * 1024)
#define ERROR_BODY_MAX (64 * 1024)

enum scheme { SCHEME_UNKNOWN, SCHEME_HTTPS, SCHEME_HTTP };

struct token {
    struct token *next;
    char *scope;
    char *value;
    struct timespec expires;
};

struct crio_registry {
    char *host;
    bool insecure;
    enum scheme scheme;
    char *username, *password, *identity_token, *registry_token;
    crio_registry_limits limits;
    pthread_mutex_t mu; /* scheme, tokens, basic_ok */
    struct token *tokens;
    bool basic_wanted;  /* the registry asked for Basic auth */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
    crio_registry *r = userptr;
    pthread_mutex_lock(&r->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    crio_registry *r = userptr;
    pthread_mutex_unlock(&r->share_mu[data]);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* Decodes base64 "user:pass" (the CRI AuthConfig.auth form). */
static int split_auth(const char *auth, char **user, char **pass)
{
    size_t len = strlen(auth);
    _cleanup_free_ unsigned char *out = malloc(len + 4);
    if (!out)
        return crio_error_oom();
    int n = sym_EVP_DecodeBlock(out, (const unsigned char *)auth, (int)len);
    if (n < 0)
        return crio_error_set(CRIO_EINVAL, "auth: not valid base64");
    while (len > 0 && auth[len - 1] == '=') { /* EVP_DecodeBlock counts padding as zeros */
        n--;
        len--;
    }
    out[n] = '\0';
    char *colon = strchr((char *)out, ':');
    if (!colon)
        return crio_error_set(CRIO_EINVAL, "auth: want base64 of \"username:password\"");
    *colon = '\0';
    *user = strdup((char *)out);
    *pass = strdup(colon + 1);
    return *user && *pass ? 0 : crio_error_oom();
}

void crio_registry_free(crio_registry *r)
{
    if (!r)
        return;
    while (r->tokens) {
        struct token *t = r->tokens;
        r->tokens = t->next;
        free(t->scope);
        free(t->value);
        free(t);
    }
    if (r->share)
        sym_curl_share_cleanup(r->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&r->share_mu[i]);
    pthread_mutex_destroy(&r->mu);
    free(r->host);
    free(r->username);
    if (r->password)
        memset(r->password, 0, strlen(r->password));
    free(r->password);
    free(r->identity_token);
    free(r->registry_token);
    free(r);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_registry, crio_registry_free)

int crio_registry_new(crio_registry **out, const char *host, bool insecure, const crio_registry_auth *auth)
{
    /* Every other function here works on a client this made: the libraries are loaded. */
    int e = crio_dl_curl();
    if (e < 0 || (e = crio_dl_crypto()) < 0)
        return e;
    _cleanup_(crio_registry_freep) crio_registry *r = calloc(1, sizeof *r);
    if (!r)
        return crio_error_oom();
    pthread_mutex_init(&r->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&r->share_mu[i], NULL);
    r->host = strdup(host);
    r->insecure = insecure;
    r->limits = (crio_registry_limits){ 10000, 30, 3, 250 };
    if (!r->host)
        return crio_error_oom();
    if (auth) {
        r->username = dup_or_null(auth->username);
        r->password = dup_or_null(auth->password);
        r->identity_token = dup_or_null(auth->identity_token);
        r->registry_token = dup_or_null(auth->registry_token);
        if (auth->auth && *auth->auth && !r->username) {
            if ((e = split_auth(auth->auth, &r->username, &r->password)) < 0)
                return e;
        }
    }
    /* Connections (and DNS) are shared by the client's concurrent transfers. */
    r->share = sym_curl_share_init();
    if (!r->share)
        return crio_error_oom();
    sym_curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, share_lock);
    sym_curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    sym_curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
    sym_curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    sym_curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = TAKE_PTR(r);
    return 0;
}

void crio_registry_set_limits(crio_registry *r, const crio_registry_limits *limits)
{
    r->limits = *limits;
}

/* ---- WWW-Authenticate and error bodies ---- */

int crio_auth_challenge_parse(crio_auth_challenge *out, const char *value)
{
    memset(out, 0, sizeof *out);
    const char *p = value;
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= sizeof out->scheme)
        return crio_error_set(CRIO_EINVAL, "invalid WWW-Authenticate \"%s\"", value);
    memcpy(out->scheme, p, n);
    p += n;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *key = p;
        size_t klen = strcspn(p, "=");
        if (!p[klen])
            return crio_error_set(CRIO_EINVAL, "invalid WWW-Authenticate \"%s\"", value);
        p += klen + 1;
        char val[1024];
        size_t vlen = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                if (vlen < sizeof val - 1)
                    val[vlen++] = *p;
            }
            if (*p != '"')
                return crio_error_set(CRIO_EINVAL, "invalid WWW-Authenticate \"%s\": unterminated quote", value);
            p++;
        } else {
            for (; *p && *p != ','; p++)
                if (vlen < sizeof val - 1)
                    val[vlen++] = *p;
        }
        val[vlen] = '\0';
        char *dst = NULL;
        size_t cap = 0;
#define KEY(name, field)                                                            \
    if (klen == sizeof(name) - 1 && strncasecmp(key, name, klen) == 0) {            \
        dst = out->field;                                                           \
        cap = sizeof out->field;                                                    \
    }
        KEY("realm", realm) KEY("service", service) KEY("scope", scope) KEY("error", error)
#undef KEY
        if (dst)
            snprintf(dst, cap, "%s", val);
    }
    return 0;
}

char *crio_registry_error_message(const char *body, size_t len)
{
    if (!body || len == 0)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        return NULL;
    char *msg = NULL;
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    const cJSON *first = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    if (first) {
        const char *code = crio_json_string(first, "code");
        const char *m = crio_json_string(first, "message");
        if (asprintf(&msg, "%s%s%s", code ? code : "", code && m ? ": " : "", m ? m : "") < 0)
            msg = NULL;
    }
    cJSON_Delete(j);
    return msg;
}

/* ---- transfers ---- */

struct xfer {
    /* memory sink (fd < 0 and no sink) */
    char *buf;
    size_t len, cap, max;
    /* file sink */
    int fd;
    off_t fd_start;     /* -1: a pipe or a sink, which cannot be rewound for a retry */
    /* stream sink (instead of fd; fd is then -1 and fd_start -1) */
    crio_registry_sink_fn sink;
    void *sink_ctx;
    EVP_MD_CTX *md;
    uint64_t done;
    int64_t expect;
    int write_errno;
    bool over_limit;
    crio_registry_progress_fn progress;
    void *payload;
    uint64_t last_progress;
    /* response */
    CURL *easy;
    long status;
    char *www_auth;
    char *content_type;
    char *errbody;
    size_t errlen;
};

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * n;
    char **dst = NULL;
    size_t skip = 0;
    if (len > 17 && strncasecmp(data, "www-authenticate:", 17) == 0) {
        dst = &x->www_auth;
        skip = 17;
    } else if (len > 13 && strncasecmp(data, "content-type:", 13) == 0) {
        dst = &x->content_type;
        skip = 13;
    } else if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect): forget the previous one's headers. */
        free(x->www_auth);
        free(x->content_type);
        x->www_auth = x->content_type = NULL;
    }
    if (dst) {
        const char *v = data + skip;
        size_t vlen = len - skip;
        while (vlen && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        free(*dst);
        *dst = strndup(v, vlen);
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct xfer *x = userp;
    size_t len = size * n;
    long status = 0;
    sym_curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        /* An error page: keep the start of it for the message. */
        size_t room = ERROR_BODY_MAX - x->errlen;
        size_t take = len < room ? len : room;
        if (take) {
            char *nb = realloc(x->errbody, x->errlen + take + 1);
            if (!nb)
                return 0;
            x->errbody = nb;
            memcpy(x->errbody + x->errlen, data, take);
            x->errlen += take;
            x->errbody[x->errlen] = '\0';
        }
        return len;
    }
    if (x->fd < 0 && !x->sink) {
        if (x->len + len > x->max) {
            x->over_limit = true;
            return 0;
        }
        if (x->len + len + 1 > x->cap) {
            size_t nc = x->cap ? x->cap : 16384;
            while (nc < x->len + len + 1)
                nc *= 2;
            char *nb = realloc(x->buf, nc);
            if (!nb)
                return 0;
            x->buf = nb;
            x->cap = nc;
        }
        memcpy(x->buf + x->len, data, len);
        x->len += len;
        x->buf[x->len] = '\0';
        return len;
    }
    if (x->expect >= 0 && x->done + len > (uint64_t)x->expect) {
        x->over_limit = true;
        return 0;
    }
    sym_EVP_DigestUpdate(x->md, data, len);
    if (x->sink) {
        int se = x->sink(x->sink_ctx, data, len);
        if (se) {
            x->write_errno = se;
            return 0;
        }
    }
    for (size_t off = 0; x->fd >= 0 && off < len;) {
        ssize_t w = write(x->fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            x->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    x->done += len;
    if (x->progress && (x->done - x->last_progress >= (1u << 20) || x->done == (uint64_t)x->expect)) {
        x->last_progress = x->done;
        x->progress(x->done, x->expect < 0 ? 0 : (uint64_t)x->expect, x->payload);
    }
    return len;
}

/* Forgets a failed attempt's data so that the next attempt starts clean. */
static int xfer_reset(struct xfer *x)
{
    uint64_t had_data = x->done;
    x->len = 0;
    x->status = 0;
    x->done = 0;
    x->last_progress = 0;
    x->over_limit = false;
    x->write_errno = 0;
    free(x->www_auth);
    free(x->content_type);
    free(x->errbody);
    x->www_auth = x->content_type = x->errbody = NULL;
    x->errlen = 0;
    if (x->fd >= 0 || x->sink) {
        if (x->fd_start < 0) {
            if (had_data) /* a pipe cannot take the data back (get() does not come here for one) */
                return crio_error_set(CRIO_EABORTED, "a stream cannot restart after %llu bytes",
                                      (unsigned long long)had_data);
        } else if (ftruncate(x->fd, x->fd_start) < 0 || lseek(x->fd, x->fd_start, SEEK_SET) < 0) {
            return crio_error_sys(errno, "reset download file");
        }
        if (sym_EVP_DigestInit_ex(x->md, sym_EVP_sha256(), NULL) != 1)
            return crio_error_set(CRIO_EINTERNAL, "sha256 init");
    }
    return 0;
}

static void xfer_done(struct xfer *x)
{
    free(x->buf);
    free(x->www_auth);
    free(x->content_type);
    free(x->errbody);
    if (x->md)
        sym_EVP_MD_CTX_free(x->md);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static bool token_valid(const struct token *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec < t->expires.tv_sec;
}

/* A cached token for `scope`, copied (NULL when none is valid). */
static char *token_get(crio_registry *r, const char *scope)
{
    char *v = NULL;
    pthread_mutex_lock(&r->mu);
    for (struct token *t = r->tokens; t; t = t->next)
        if (strcmp(t->scope, scope) == 0 && token_valid(t)) {
            v = strdup(t->value);
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return v;
}

static void token_put(crio_registry *r, const char *scope, const char *value, long expires_in)
{
    struct token *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->scope = strdup(scope);
    t->value = strdup(value);
    clock_gettime(CLOCK_MONOTONIC, &t->expires);
    /* Renew a little before the registry's clock says it expires. */
    t->expires.tv_sec += expires_in > 20 ? expires_in - 10 : expires_in;
    if (!t->scope || !t->value) {
        free(t->scope);
        free(t->value);
        free(t);
        return;
    }
    pthread_mutex_lock(&r->mu);
    for (struct token **pp = &r->tokens; *pp;) {
        if (strcmp((*pp)->scope, scope) == 0) {
            struct token *old = *pp;
            *pp = old->next;
            free(old->scope);
            free(old->value);
            free(old);
        } else {
            pp = &(*pp)->next;
        }
    }
    t->next = r->tokens;
    r->tokens = t;
    pthread_mutex_unlock(&r->mu);
}

static void apply_common(crio_registry *r, CURL *e, struct xfer *x)
{
    sym_curl_easy_setopt(e, CURLOPT_SHARE, r->share);
    sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r->limits.connect_timeout_ms);
    sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    sym_curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r->limits.stall_timeout_s);
    sym_curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    sym_curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    sym_curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    sym_curl_easy_setopt(e, CURLOPT_USERAGENT, "libcrio/" "0.1");
    /* Blobs arrive in larger pieces: fewer callbacks, writes and digest updates (default 16 KiB). */
    sym_curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    sym_curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    sym_curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    sym_curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    if (r->insecure) {
        sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        sym_curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* Fetches a bearer token for `scope` from the challenge's realm. */
static int fetch_token(crio_registry *r, const crio_auth_challenge *ch, const char *scope)
{
    CURL *e = sym_curl_easy_init();
    if (!e)
        return crio_error_oom();
    struct xfer x = { .fd = -1, .max = TOKEN_BODY_MAX, .easy = e };
    char *svc = sym_curl_easy_escape(e, ch->service, 0);
    char *sc = sym_curl_easy_escape(e, scope, 0);
    char *url = NULL, *form = NULL;
    int rc = 0;
    if (!svc || !sc) {
        rc = crio_error_oom();
        goto out;
    }
    apply_common(r, e, &x);
    if (r->identity_token) {
        /* OAuth2 refresh-token grant, as docker login's identity tokens need. */
        char *rt = sym_curl_easy_escape(e, r->identity_token, 0);
        if (!rt || asprintf(&form, "grant_type=refresh_token&refresh_token=%s&service=%s&scope=%s&client_id=libcrio",
                            rt, svc, sc) < 0) {
            sym_curl_free(rt);
            rc = crio_error_oom();
            goto out;
        }
        sym_curl_free(rt);
        sym_curl_easy_setopt(e, CURLOPT_URL, ch->realm);
        sym_curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
    } else {
        if (asprintf(&url, "%s%sservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", svc, sc) < 0) {
            rc = crio_error_oom();
            goto out;
        }
        sym_curl_easy_setopt(e, CURLOPT_URL, url);
        if (r->username) {
            sym_curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            sym_curl_easy_setopt(e, CURLOPT_USERNAME, r->username);
            sym_curl_easy_setopt(e, CURLOPT_PASSWORD, r->password ? r->password : "");
        }
    }
    CURLcode cc = sym_curl_easy_perform(e);
    sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x.status);
    if (cc != CURLE_OK) {
        rc = crio_error_set(CRIO_EUNAVAILABLE, "token server %s: %s", ch->realm, sym_curl_easy_strerror(cc));
        goto out;
    }
    if (x.status == 401 || x.status == 403) {
        _cleanup_free_ char *m = crio_registry_error_message(x.errbody, x.errlen);
        rc = crio_error_set(CRIO_EAUTH, "token server %s refused the credentials (HTTP %ld)%s%s", ch->realm,
                            x.status, m ? ": " : "", m ? m : "");
        goto out;
    }
    if (x.status != 200) {
        rc = crio_error_set(CRIO_EUNAVAILABLE, "token server %s: HTTP %ld", ch->realm, x.status);
        goto out;
    }
    cJSON *j = cJSON_ParseWithLength(x.buf ? x.buf : "", x.len);
    const char *tok = crio_json_string(j, "token");
    if (!tok || !*tok)
        tok = crio_json_string(j, "access_token");
    if (!tok || !*tok) {
        cJSON_Delete(j);
        rc = crio_error_set(CRIO_EAUTH, "token server %s: no token in its answer", ch->realm);
        goto out;
    }
    long expires = (long)crio_json_int(j, "expires_in", 60);
    token_put(r, scope, tok, expires > 0 ? expires : 60);
    cJSON_Delete(j);
out:
    sym_curl_free(svc);
    sym_curl_free(sc);
    free(url);
    free(form);
    xfer_done(&x);
    sym_curl_easy_cleanup(e);
    return rc;
}

static bool retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static bool tls_failure(CURLcode cc)
{
    return cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_WEIRD_SERVER_REPLY || cc == CURLE_COULDNT_CONNECT;
}

/*
 * GETs `path` ("/v2/<repo>/manifests/<ref>") into `x`, authenticating with
 * `scope` as the registry asks, retrying transient failures.  Returns 0 with
 * x->status 200, or an error code with context.
 */
static int get(crio_registry *r, const char *path, const char *accept, const char *scope, struct xfer *x,
               const char *what)
{
    CURL *e = sym_curl_easy_init();
    if (!e)
        return crio_error_oom();
    x->easy = e;
    bool authed = false;
    int attempt = 0, rc = 0;
    long backoff = r->limits.backoff_ms;
    for (;;) {
        if ((rc = xfer_reset(x)) < 0)
            break;
        sym_curl_easy_reset(e);
        apply_common(r, e, x);
        pthread_mutex_lock(&r->mu);
        enum scheme sch = r->scheme;
        bool basic = r->basic_wanted;
        pthread_mutex_unlock(&r->mu);
        if (sch == SCHEME_UNKNOWN)
            sch = SCHEME_HTTPS;
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s://%s%s", sch == SCHEME_HTTP ? "http" : "https", r->host, path) < 0) {
            rc = crio_error_oom();
            break;
        }
        sym_curl_easy_setopt(e, CURLOPT_URL, url);
        struct curl_slist *hdrs = NULL;
        _cleanup_free_ char *authz = NULL;
        if (accept) {
            _cleanup_free_ char *a = NULL;
            if (asprintf(&a, "Accept: %s", accept) > 0)
                hdrs = sym_curl_slist_append(hdrs, a);
        }
        _cleanup_free_ char *tok = r->registry_token ? strdup(r->registry_token) : token_get(r, scope);
        if (tok && asprintf(&authz, "Authorization: Bearer %s", tok) > 0)
            hdrs = sym_curl_slist_append(hdrs, authz);
        else if (basic && r->username) {
            sym_curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            sym_curl_easy_setopt(e, CURLOPT_USERNAME, r->username);
            sym_curl_easy_setopt(e, CURLOPT_PASSWORD, r->password ? r->password : "");
        }
        if (hdrs)
            sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        CURLcode cc = sym_curl_easy_perform(e);
        sym_curl_slist_free_all(hdrs);
        if (authz)
            memset(authz, 0, strlen(authz));
        sym_curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->status);

        if (cc != CURLE_OK) {
            if (x->over_limit) {
                rc = x->fd < 0 && !x->sink ? crio_error_set(CRIO_EINVAL, "%s: larger than %zu bytes", what, x->max)
                               : crio_error_set(CRIO_EDATALOSS, "%s: more data than the %lld bytes its descriptor gives",
                                                what, (long long)x->expect);
                break;
            }
            if (x->write_errno) {
                rc = crio_error_sys(x->write_errno, "%s: write", what);
                break;
            }
            if (r->insecure && sch == SCHEME_HTTPS && tls_failure(cc)) {
                /* An insecure registry may not speak TLS at all: use plain HTTP. */
                pthread_mutex_lock(&r->mu);
                if (r->scheme == SCHEME_UNKNOWN || r->scheme == SCHEME_HTTPS)
                    r->scheme = SCHEME_HTTP;
                pthread_mutex_unlock(&r->mu);
                crio_log_debug("registry %s: no TLS, using plain HTTP", r->host);
                continue;
            }
            if (retryable(cc) && (x->fd >= 0 || x->sink) && x->fd_start < 0 && x->done > 0) {
                /* Part of the blob went down a pipe already: only the caller can start again. */
                rc = crio_error_set(CRIO_EABORTED, "%s: %s://%s: %s after %llu bytes of a stream", what,
                                    sch == SCHEME_HTTP ? "http" : "https", r->host, sym_curl_easy_strerror(cc),
                                    (unsigned long long)x->done);
                break;
            }
            if (retryable(cc) && ++attempt < r->limits.attempts) {
                crio_log_info("registry %s: %s: %s; retrying in %ld ms", r->host, what, sym_curl_easy_strerror(cc),
                              backoff);
                sleep_ms(backoff);
                backoff *= 2;
                continue;
            }
            rc = crio_error_set(cc == CURLE_OPERATION_TIMEDOUT ? CRIO_ETIMEDOUT
                                : cc == CURLE_PARTIAL_FILE   ? CRIO_EDATALOSS
                                                             : CRIO_EUNAVAILABLE,
                                "%s: %s://%s: %s", what, sch == SCHEME_HTTP ? "http" : "https", r->host,
                                sym_curl_easy_strerror(cc));
            break;
        }
        pthread_mutex_lock(&r->mu);
        if (r->scheme == SCHEME_UNKNOWN)
            r->scheme = sch;
        pthread_mutex_unlock(&r->mu);
        if (x->status == 200)
            break;
        _cleanup_free_ char *m = crio_registry_error_message(x->errbody, x->errlen);
        if (x->status == 401 && !authed && x->www_auth) {
            crio_auth_challenge ch;
            if ((rc = crio_auth_challenge_parse(&ch, x->www_auth)) < 0)
                break;
            authed = true;
            if (strcasecmp(ch.scheme, "Basic") == 0) {
                if (!r->username) {
                    rc = crio_error_set(CRIO_EAUTH, "%s: %s requires credentials (Basic)", what, r->host);
                    break;
                }
                pthread_mutex_lock(&r->mu);
                r->basic_wanted = true;
                pthread_mutex_unlock(&r->mu);
                continue;
            }
            if (strcasecmp(ch.scheme, "Bearer") == 0 && ch.realm[0] && !r->registry_token) {
                if ((rc = fetch_token(r, &ch, scope)) < 0)
                    break;
                continue;
            }
        }
        if (x->status == 401 || x->status == 403) {
            rc = crio_error_set(CRIO_EAUTH, "%s: %s: HTTP %ld%s%s", what, r->host, x->status, m ? ": " : "",
                                m ? m : "");
            break;
        }
        if (x->status == 404) {
            rc = crio_error_set(CRIO_ENOTFOUND, "%s: not found on %s%s%s", what, r->host, m ? ": " : "", m ? m : "");
            break;
        }
        if ((x->status >= 500 || x->status == 429) && ++attempt < r->limits.attempts) {
            crio_log_info("registry %s: %s: HTTP %ld; retrying in %ld ms", r->host, what, x->status, backoff);
            sleep_ms(backoff);
            backoff *= 2;
            continue;
        }
        rc = crio_error_set(x->status >= 500 || x->status == 429 ? CRIO_EUNAVAILABLE : CRIO_EINVAL,
                            "%s: %s: HTTP %ld%s%s", what, r->host, x->status, m ? ": " : "", m ? m : "");
        break;
    }
    sym_curl_easy_cleanup(e);
    x->easy = NULL;
    return rc;
}

static char *repo_scope(const char *repo)
{
    char *s = NULL;
    return asprintf(&s, "repository:%s:pull", repo) < 0 ? NULL : s;
}

int crio_registry_get_manifest(crio_registry *r, const char *repo, const char *reference, char **body,
                               size_t *len, char **media_type, char digest[72])
{
    _cleanup_free_ char *path = NULL, *scope = repo_scope(repo), *what = NULL;
    if (!scope || asprintf(&path, "/v2/%s/manifests/%s", repo, reference) < 0 ||
        asprintf(&what, "manifest %s/%s:%s", r->host, repo, reference) < 0)
        return crio_error_oom();
    struct xfer x = { .fd = -1, .max = CRIO_MANIFEST_MAX };
    static const char accept[] = CRIO_MEDIA_OCI_INDEX ", " CRIO_MEDIA_OCI_MANIFEST ", " CRIO_MEDIA_DOCKER_LIST
                                 ", " CRIO_MEDIA_DOCKER_MANIFEST;
    int rc = get(r, path, accept, scope, &x, what);
    if (rc < 0) {
        xfer_done(&x);
        return rc;
    }
    unsigned char md[32];
    sym_EVP_Digest(x.buf ? x.buf : "", x.len, md, NULL, sym_EVP_sha256(), NULL);
    crio_digest_format(digest, md);
    if (strchr(reference, ':') && strcmp(reference, digest) != 0) {
        xfer_done(&x);
        return crio_error_set(CRIO_EDATALOSS, "%s: content has digest %s", what, digest);
    }
    /* The media type: the header, without parameters. */
    char *mt = x.content_type ? x.content_type : "";
    mt[strcspn(mt, ";")] = '\0';
    *media_type = strdup(mt);
    *body = x.buf ? x.buf : strdup("");
    *len = x.len;
    x.buf = NULL;
    xfer_done(&x);
    return *media_type && *body ? 0 : crio_error_oom();
}

/*
 * `fd` may also be a pipe (image.c streams layers into the unpacker): a
 * failure before the first byte of the body is retried as for a file, but a
 * transfer cut after some data cannot be rewound and fails with
 * CRIO_EABORTED, for the caller to start again.
 */
static int get_blob(crio_registry *r, const char *repo, const char *digest, int64_t size, int fd,
                    crio_registry_sink_fn sink, void *sink_ctx, crio_registry_progress_fn progress, void *payload)
{
    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return crio_error_set(CRIO_ENOTSUP, "blob %s: only sha256 digests are supported", digest);
    _cleanup_free_ char *path = NULL, *scope = repo_scope(repo), *what = NULL;
    if (!scope || asprintf(&path, "/v2/%s/blobs/%s", repo, digest) < 0 ||
        asprintf(&what, "blob %s", digest) < 0)
        return crio_error_oom();
    struct xfer x = { .fd = fd, .expect = size, .progress = progress, .payload = payload, .sink = sink,
                      .sink_ctx = sink_ctx };
    bool is_pipe = true; /* a sink cannot be rewound either */
    x.fd_start = -1;
    if (!sink) {
        x.fd_start = lseek(fd, 0, SEEK_CUR);
        is_pipe = x.fd_start < 0 && errno == ESPIPE;
    }
    x.md = sym_EVP_MD_CTX_new();
    if ((x.fd_start < 0 && !is_pipe) || !x.md) {
        xfer_done(&x);
        return x.md ? crio_error_sys(errno, "%s: download file", what) : crio_error_oom();
    }
    int rc = get(r, path, NULL, scope, &x, what);
    if (rc == 0) {
        unsigned char md[32];
        char got[72];
        sym_EVP_DigestFinal_ex(x.md, md, NULL);
        crio_digest_format(got, md);
        if (size >= 0 && x.done != (uint64_t)size)
            rc = crio_error_set(CRIO_EDATALOSS, "%s: got %llu bytes, want %lld", what,
                                (unsigned long long)x.done, (long long)size);
        else if (strcmp(got, digest) != 0)
            rc = crio_error_set(CRIO_EDATALOSS, "%s: digest mismatch: content is %s", what, got);
    }
    xfer_done(&x);
    return rc;
}

int crio_registry_get_blob(crio_registry *r, const char *repo, const char *digest, int64_t size, int fd,
                           crio_registry_progress_fn progress, void *payload)
{
    return get_blob(r, repo, digest, size, fd, NULL, NULL, progress, payload);
}

int crio_registry_get_blob_sink(crio_registry *r, const char *repo, const char *digest, int64_t size,
                                crio_registry_sink_fn sink, void *sink_ctx, crio_registry_progress_fn progress,
                                void *payload)
{
    return get_blob(r, repo, digest, size, -1, sink, sink_ctx, progress, payload);
}
