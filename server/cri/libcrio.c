/*
 * libcrio.v1.Images: what the CRI lacks — a pull that streams its progress,
 * and image import.  Served next to the CRI on the same socket (crioctl uses
 * it for `pull` and `image import`).
 */
#include <crio/image.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cri/cri.h"
#include "libcrio.pb-c.h"

/* At most one progress event per blob in this interval (plus the one that completes it). */
#define PROGRESS_INTERVAL_NS (100 * 1000 * 1000ULL)

/* The state of one streaming pull, shared by the library's pulling threads. */
struct pull_stream {
    grpc_stream_writer *w;
    pthread_mutex_t mu; /* guards all below, and orders the events of a blob */
    bool gone;          /* the call is over (client gone, deadline): send nothing more */
    struct blob_state {
        char *digest;
        uint64_t last_ns; /* when its last event was sent; 0: never */
    } *blobs;
    size_t n, cap;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Serializes and queues one event; called with ps->mu held. */
static void send_event_locked(struct pull_stream *ps, const Libcrio__V1__PullEvent *ev)
{
    if (ps->gone)
        return;
    uint8_t small[512];
    size_t n = libcrio__v1__pull_event__get_packed_size(ev);
    uint8_t *buf = n <= sizeof small ? small : malloc(n);
    if (!buf)
        return; /* progress is best effort; the final status is not */
    libcrio__v1__pull_event__pack(ev, buf);
    if (grpc_stream_send(ps->w, buf, n) < 0)
        ps->gone = true; /* the pull goes on to its end; nobody listens */
    if (buf != small)
        free(buf);
}

/* The rate-limit slot of a digest, added on first sight; NULL when out of memory. */
static struct blob_state *blob_slot(struct pull_stream *ps, const char *digest)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->blobs[i].digest, digest) == 0)
            return &ps->blobs[i];
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        struct blob_state *b = realloc(ps->blobs, cap * sizeof *b);
        if (!b)
            return NULL;
        ps->blobs = b;
        ps->cap = cap;
    }
    char *d = strdup(digest);
    if (!d)
        return NULL;
    ps->blobs[ps->n] = (struct blob_state){ .digest = d, .last_ns = 0 };
    return &ps->blobs[ps->n++];
}

/* crio_pull_progress_fn: called from the pulling threads, possibly at once. */
static void on_progress(const char *digest, uint64_t done, uint64_t total, void *payload)
{
    struct pull_stream *ps = payload;
    pthread_mutex_lock(&ps->mu);
    if (!ps->gone && digest) {
        struct blob_state *b = blob_slot(ps, digest);
        uint64_t now = mono_ns();
        bool complete = total > 0 && done >= total;
        if (b && (complete || b->last_ns == 0 || now - b->last_ns >= PROGRESS_INTERVAL_NS)) {
            b->last_ns = now ? now : 1;
            Libcrio__V1__PullEvent ev = LIBCRIO__V1__PULL_EVENT__INIT;
            ev.digest = (char *)digest;
            ev.done = done;
            ev.total = total;
            send_event_locked(ps, &ev);
        }
    }
    pthread_mutex_unlock(&ps->mu);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/*
 * What PullImage answers as image_ref: the pinned digest (the library lists
 * the one just pulled first), else the id.
 */
static const char *image_ref(const crio_image *img)
{
    return crio_image_repo_digest_count(img) ? crio_image_repo_digest(img, 0) : crio_image_id(img);
}

void cri_libcrio_pull(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                      grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Libcrio__V1__PullRequest *in =
        (Libcrio__V1__PullRequest *)cri_decode(&libcrio__v1__pull_request__descriptor, req, len, reply);
    if (!in)
        return;
    if (!in->image || !*in->image) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "Pull: no image given");
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    struct pull_stream ps = { .w = w };
    pthread_mutex_init(&ps.mu, NULL);
    crio_pull_options *opts = NULL;
    crio_image *img = NULL;
    int e = crio_pull_options_new(&opts);
    if (e == 0)
        e = crio_pull_options_set_auth(opts, nonempty(in->username), nonempty(in->password), nonempty(in->auth),
                                       nonempty(in->identity_token), nonempty(in->registry_token));
    if (e == 0)
        e = crio_pull_options_set_progress(opts, on_progress, &ps);
    if (e == 0)
        e = crio_image_pull(&img, cx->handle, in->image, opts);
    crio_pull_options_free(opts);
    if (e < 0) {
        cri_reply_error(reply, e);
    } else {
        /* The pulling threads are joined: no progress call races the final event. */
        Libcrio__V1__PullEvent ev = LIBCRIO__V1__PULL_EVENT__INIT;
        ev.image_ref = (char *)image_ref(img);
        ev.image_id = (char *)crio_image_id(img);
        pthread_mutex_lock(&ps.mu);
        send_event_locked(&ps, &ev);
        pthread_mutex_unlock(&ps.mu);
        reply->status = GRPC_OK;
        crio_image_free(img);
    }
    for (size_t i = 0; i < ps.n; i++)
        free(ps.blobs[i].digest);
    free(ps.blobs);
    pthread_mutex_destroy(&ps.mu);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_libcrio_import(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Libcrio__V1__ImportRequest *in =
        (Libcrio__V1__ImportRequest *)cri_decode(&libcrio__v1__import_request__descriptor, req, len, reply);
    if (!in)
        return;
    crio_image *img = NULL;
    if (!in->path || !*in->path) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "Import: no path given");
    } else if (in->path[0] != '/') {
        /* The server's working directory means nothing to the client. */
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "Import: path \"%s\" is not absolute", in->path);
    } else {
        int e = crio_image_import(&img, cx->handle, in->path, nonempty(in->name));
        if (e < 0)
            cri_reply_error(reply, e);
    }
    if (img) {
        size_t nt = crio_image_repo_tag_count(img);
        const char **tags = calloc(nt + 1, sizeof *tags);
        if (!tags) {
            cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        } else {
            for (size_t i = 0; i < nt; i++)
                tags[i] = crio_image_repo_tag(img, i);
            Libcrio__V1__ImportResponse resp = LIBCRIO__V1__IMPORT_RESPONSE__INIT;
            resp.image_id = (char *)crio_image_id(img);
            resp.n_repo_tags = nt;
            resp.repo_tags = (char **)tags;
            resp.image_ref = (char *)image_ref(img);
            cri_reply_message(reply, &resp.base);
            free(tags);
        }
        crio_image_free(img);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
