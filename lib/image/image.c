/* Images: pull, look up, list, remove, measure (crio/image.h). */
#include <crio/image.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <dirent.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/dlopen.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "config/config_internal.h"
#include "config/registries.h"
#include "handle_internal.h"
#include "pod/pod_internal.h"
#include "image/archive.h"
#include "image/reference.h"
#include "image/registry.h"
#include "storage/copy.h"
#include "storage/store.h"
#include "storage/unpack.h"

#define CONFIG_MAX (4 * 1024 * 1024)
#define MAX_LAYERS 256

/* ---- snapshots ---- */

struct crio_image {
    char *id;
    char **tags;
    size_t ntags;
    char **digests;
    size_t ndigests;
    uint64_t size;
    char *user;
    int pinned;
    char *config_json;
};

struct crio_image_list {
    crio_image **items;
    size_t n;
};

struct crio_pull_options {
    char *username, *password, *auth, *identity_token, *registry_token;
    crio_pull_progress_fn progress;
    void *payload;
};

const char *crio_image_id(const crio_image *img) { return img->id; }
size_t crio_image_repo_tag_count(const crio_image *img) { return img->ntags; }
const char *crio_image_repo_tag(const crio_image *img, size_t i) { return i < img->ntags ? img->tags[i] : NULL; }
size_t crio_image_repo_digest_count(const crio_image *img) { return img->ndigests; }
const char *crio_image_repo_digest(const crio_image *img, size_t i)
{
    return i < img->ndigests ? img->digests[i] : NULL;
}
uint64_t crio_image_size(const crio_image *img) { return img->size; }
const char *crio_image_user(const crio_image *img) { return img->user ? img->user : ""; }
int crio_image_pinned(const crio_image *img) { return img->pinned; }
const char *crio_image_config_json(const crio_image *img) { return img->config_json ? img->config_json : "{}"; }

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void crio_image_free(crio_image *img)
{
    if (!img)
        return;
    free(img->id);
    strv_free(img->tags, img->ntags);
    strv_free(img->digests, img->ndigests);
    free(img->user);
    free(img->config_json);
    free(img);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_image, crio_image_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_registry, crio_registry_free)

static int strv_from_json(char ***out, size_t *n, const cJSON *arr)
{
    int count = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    char **v = calloc((size_t)count + 1, sizeof *v);
    if (!v)
        return crio_error_oom();
    size_t k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it))
            continue;
        if (!(v[k] = strdup(it->valuestring))) {
            strv_free(v, k);
            return crio_error_oom();
        }
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

/* Builds a snapshot from a record (and its config blob). */
static int image_from_record(crio_image **out, crio *c, const cJSON *rec)
{
    _cleanup_(crio_image_freep) crio_image *img = calloc(1, sizeof *img);
    if (!img)
        return crio_error_oom();
    const char *id = crio_json_string(rec, "id");
    const char *user = crio_json_string(rec, "user");
    if (!id || !(img->id = strdup(id)) || !(img->user = strdup(user ? user : "")))
        return crio_error_oom();
    int e;
    if ((e = strv_from_json(&img->tags, &img->ntags, cJSON_GetObjectItemCaseSensitive(rec, "repo_tags"))) < 0 ||
        (e = strv_from_json(&img->digests, &img->ndigests, cJSON_GetObjectItemCaseSensitive(rec, "repo_digests"))) < 0)
        return e;
    img->size = (uint64_t)crio_json_int(rec, "size", 0);
    img->pinned = crio_json_bool(rec, "pinned", false);
    const char *cfg = crio_json_string(rec, "config_digest");
    size_t len;
    if (cfg && crio_store_blob_read(c->store, cfg, &img->config_json, &len, CONFIG_MAX) < 0)
        crio_log_warn("image %s: config %s unreadable: %s", id, cfg, crio_error_message(crio_error_last()));
    *out = TAKE_PTR(img);
    return 0;
}

/* ---- options ---- */

int crio_pull_options_new(crio_pull_options **out)
{
    return (*out = calloc(1, sizeof **out)) ? 0 : crio_error_oom();
}

void crio_pull_options_free(crio_pull_options *o)
{
    if (!o)
        return;
    char *secrets[] = { o->password, o->auth, o->identity_token, o->registry_token };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(secrets); i++)
        if (secrets[i])
            memset(secrets[i], 0, strlen(secrets[i]));
    free(o->username);
    free(o->password);
    free(o->auth);
    free(o->identity_token);
    free(o->registry_token);
    free(o);
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = NULL;
    if (v && *v && !(*dst = strdup(v)))
        return crio_error_oom();
    return 0;
}

int crio_pull_options_set_auth(crio_pull_options *o, const char *username, const char *password, const char *auth,
                               const char *identity_token, const char *registry_token)
{
    int e;
    if ((e = set_str(&o->username, username)) < 0 || (e = set_str(&o->password, password)) < 0 ||
        (e = set_str(&o->auth, auth)) < 0 || (e = set_str(&o->identity_token, identity_token)) < 0 ||
        (e = set_str(&o->registry_token, registry_token)) < 0)
        return e;
    return 0;
}

int crio_pull_options_set_progress(crio_pull_options *o, crio_pull_progress_fn fn, void *payload)
{
    o->progress = fn;
    o->payload = payload;
    return 0;
}

/* ---- platform ---- */

static void host_platform(const char **arch, const char **variant)
{
    struct utsname u;
    uname(&u);
    *variant = NULL;
    if (!strcmp(u.machine, "x86_64"))
        *arch = "amd64";
    else if (!strcmp(u.machine, "aarch64"))
        *arch = "arm64", *variant = "v8";
    else if (!strncmp(u.machine, "armv7", 5))
        *arch = "arm", *variant = "v7";
    else if (!strncmp(u.machine, "armv6", 5))
        *arch = "arm", *variant = "v6";
    else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
        *arch = "386";
    else if (!strcmp(u.machine, "ppc64le"))
        *arch = "ppc64le";
    else if (!strcmp(u.machine, "s390x"))
        *arch = "s390x";
    else if (!strcmp(u.machine, "riscv64"))
        *arch = "riscv64";
    else
        *arch = "unknown";
}

/* The digest of the index entry for this host (borrowed from `index`). */
static int select_platform(const char **digest, const cJSON *index, const char *what)
{
    const char *arch, *variant;
    host_platform(&arch, &variant);
    const cJSON *m, *fallback = NULL;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(index, "manifests")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "platform");
        const char *os = crio_json_string(p, "os"), *a = crio_json_string(p, "architecture");
        const char *v = crio_json_string(p, "variant");
        if (!os || strcmp(os, "linux") || !a || strcmp(a, arch))
            continue;
        if (!variant || (v && !strcmp(v, variant))) {
            fallback = m;
            break;
        }
        if (!fallback && (!v || (!strcmp(arch, "arm64") && !strcmp(v, "v8"))))
            fallback = m;
    }
    const char *d = fallback ? crio_json_string(fallback, "digest") : NULL;
    if (!d)
        return crio_error_set(CRIO_ENOTFOUND, "%s: no manifest for linux/%s%s%s in the index", what, arch,
                              variant ? "/" : "", variant ? variant : "");
    if (!crio_digest_valid(d))
        return crio_error_set(CRIO_EINVAL, "%s: index entry has an invalid digest", what);
    *digest = d;
    return 0;
}

/* ---- pulling ---- */

/* Where an image's manifests and blobs come from: a registry or an OCI layout. */
struct source {
    int (*manifest)(void *ctx, const char *reference, char **body, size_t *len, char **media_type,
                    char digest[72]);
    int (*blob)(void *ctx, const char *digest, int64_t size, int fd, crio_registry_progress_fn progress,
                void *payload);
    void *ctx;
    /*
     * Set when layers may stream into the unpacker: the blob is handed to
     * `sink` as it arrives (a transfer cut after some data then fails with
     * CRIO_EABORTED).
     */
    int (*blob_sink)(void *ctx, const char *digest, int64_t size, crio_registry_sink_fn sink, void *sink_ctx,
                     crio_registry_progress_fn progress, void *payload);
};

struct registry_source {
    crio_registry *reg;
    const char *repo;
};

static int registry_manifest(void *ctx, const char *reference, char **body, size_t *len, char **mt, char digest[72])
{
    struct registry_source *rs = ctx;
    return crio_registry_get_manifest(rs->reg, rs->repo, reference, body, len, mt, digest);
}

static int registry_blob(void *ctx, const char *digest, int64_t size, int fd, crio_registry_progress_fn progress,
                         void *payload)
{
    struct registry_source *rs = ctx;
    return crio_registry_get_blob(rs->reg, rs->repo, digest, size, fd, progress, payload);
}

static int registry_blob_sink(void *ctx, const char *digest, int64_t size, crio_registry_sink_fn sink,
                              void *sink_ctx, crio_registry_progress_fn progress, void *payload)
{
    struct registry_source *rs = ctx;
    return crio_registry_get_blob_sink(rs->reg, rs->repo, digest, size, sink, sink_ctx, progress, payload);
}

struct layer_job {
    const char *digest;   /* compressed blob */
    int64_t size;
    char diff_id[72];
    char chain_id[72];
    char parent[72];
};

struct pull {
    crio *c;
    const struct source *src;
    const crio_pull_options *opts;
    struct layer_job *layers;
    size_t nlayers;
    size_t *order;     /* indexes into layers, in the order workers take them */
    atomic_size_t next;
    pthread_mutex_t mu;
    int err;           /* first error */
    char *errmsg;
    uint64_t total_size;
};

static void progress_cb(uint64_t done, uint64_t total, void *payload)
{
    struct { const struct pull *p; const char *digest; } *pp = payload;
    pp->p->opts->progress(pp->digest, done, total, pp->p->opts->payload);
}

static void record_error(struct pull *p, int code)
{
    pthread_mutex_lock(&p->mu);
    if (!p->err) {
        p->err = code;
        p->errmsg = strdup(crio_error_message(crio_error_last()));
    }
    pthread_mutex_unlock(&p->mu);
}

/*
 * Unpacks the blob read from `blob_fd` into a new layer directory (*dir) and
 * checks its diff_id; the caller publishes it.
 */
static int unpack_layer(crio_store *st, struct layer_job *l, int blob_fd, const crio_unpack_source *from, char **dir,
                        crio_unpack_result *res)
{
    int e = crio_store_layer_tmp(st, dir);
    if (e < 0)
        return e;
    _cleanup_free_ char *diff = NULL;
    if (asprintf(&diff, "%s/diff", *dir) < 0)
        return crio_error_oom();
    _cleanup_close_ int dfd = open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return crio_error_sys(errno, "open %s", diff);
    bool vfs = !strcmp(crio_store_driver(st), "vfs");
    if (vfs && l->parent[0]) {
        /* vfs: a layer is the whole tree, its parent's copied and this layer applied. */
        _cleanup_free_ char *pdir = NULL;
        _cleanup_close_ int pfd = -1;
        if ((e = crio_store_layer_dir(&pdir, st, l->parent)) == 0 &&
            (pfd = open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            e = crio_error_sys(errno, "layer %s: parent %s", l->digest, l->parent);
        if (e == 0)
            e = crio_copy_tree(pfd, dfd);
        if (e < 0)
            return crio_error_wrap(e, "layer %s", l->digest);
    }
    crio_unpack_mode mode = vfs ? CRIO_UNPACK_VFS : CRIO_UNPACK_OVERLAY;
    e = from ? crio_layer_unpack_from(dfd, from, mode, res) : crio_layer_unpack(dfd, blob_fd, mode, res);
    if (e < 0)
        return crio_error_wrap(e, "layer %s", l->digest);
    if (strcmp(res->diff_id, l->diff_id) != 0)
        return crio_error_set(CRIO_EDATALOSS, "layer %s: uncompressed content is %s, the config says %s", l->digest,
                              res->diff_id, l->diff_id);
    return 0;
}

/*
 * A streamed layer's blob on its way from the download thread (curl's write
 * callback) to the unpacker's reader thread: QN chunks of QCHUNK bytes,
 * filled by the download and lent to the reader in order.  It replaces a
 * pipe, which cost two copies through the kernel, a page allocation and
 * memory-cgroup charge per 4 KiB and two system calls per piece; here the
 * bytes are copied once, and the threads meet once per QCHUNK: curl's
 * buffer size, and small enough that a chunk is still in the L2 cache when
 * the reader inflates it (1 MiB chunks cost ~10% more CPU per pull).
 */
#define QN 4
#define QCHUNK (256u << 10)

struct blob_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[QN];
    size_t len[QN];
    unsigned head, count; /* filled chunks: head, head+1, ... (mod QN); the one being filled is not counted */
    bool held;            /* the reader is reading buf[head] */
    size_t fill;          /* bytes in buf[(head + count) % QN], the download's (only it touches them) */
    bool eof;             /* the download ended: no more chunks */
    bool gone;            /* the reader ended: what comes is dropped */
};

static int blob_queue_init(struct blob_queue *q)
{
    memset(q, 0, sizeof *q);
    for (int i = 0; i < QN; i++)
        if (!(q->buf[i] = malloc(QCHUNK))) {
            while (i--)
                free(q->buf[i]);
            return crio_error_oom();
        }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    return 0;
}

static void blob_queue_destroy(struct blob_queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    for (int i = 0; i < QN; i++)
        free(q->buf[i]);
}

/*
 * The download's sink.  Once the reader is gone (done, or failed) the rest
 * is dropped but still downloaded: the download runs to its end and checks
 * the digest, and its error, if any, is the one reported (as when the blob
 * is downloaded to a file before it is unpacked).
 */
static int blob_queue_put(void *ctx, const void *data, size_t len)
{
    struct blob_queue *q = ctx;
    const unsigned char *p = data;
    while (len) {
        pthread_mutex_lock(&q->mu);
        while (q->count == QN && !q->gone) /* every chunk filled or lent out */
            pthread_cond_wait(&q->cv, &q->mu);
        bool gone = q->gone;
        unsigned slot = (q->head + q->count) % QN;
        pthread_mutex_unlock(&q->mu);
        if (gone)
            return 0;
        /* The slot is the download's until it is counted: no lock for the copy. */
        size_t n = QCHUNK - q->fill < len ? QCHUNK - q->fill : len;
        memcpy(q->buf[slot] + q->fill, p, n);
        q->fill += n;
        p += n;
        len -= n;
        if (q->fill == QCHUNK) {
            pthread_mutex_lock(&q->mu);
            q->len[slot] = q->fill;
            q->count++;
            q->fill = 0;
            pthread_cond_broadcast(&q->cv);
            pthread_mutex_unlock(&q->mu);
        }
    }
    return 0;
}

/* The download ended (whatever its result): the partial chunk goes out, then the end. */
static void blob_queue_close(struct blob_queue *q)
{
    pthread_mutex_lock(&q->mu);
    if (q->fill && !q->gone) {
        q->len[(q->head + q->count) % QN] = q->fill;
        q->count++;
    }
    q->fill = 0;
    q->eof = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* crio_unpack_source.next: returns the chunk lent before and lends the next one. */
static int blob_queue_next(void *ctx, const void **buf, size_t *len)
{
    struct blob_queue *q = ctx;
    pthread_mutex_lock(&q->mu);
    if (q->held) {
        q->held = false;
        q->head = (q->head + 1) % QN;
        q->count--;
        pthread_cond_broadcast(&q->cv);
    }
    while (q->count == 0 && !q->eof)
        pthread_cond_wait(&q->cv, &q->mu);
    *buf = NULL;
    *len = 0;
    if (q->count > 0) {
        q->held = true;
        *buf = q->buf[q->head];
        *len = q->len[q->head];
    }
    pthread_mutex_unlock(&q->mu);
    return 0;
}

/* The unpacker is done with the queue: the download drops the rest. */
static void blob_queue_leave(struct blob_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->gone = true;
    q->held = false;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* The download side of a streamed layer. */
struct stream_dl {
    struct pull *p;
    struct layer_job *l;
    struct blob_queue *q;
    int err;
    char msg[1024];
};

static void *stream_dl_main(void *arg)
{
    struct stream_dl *d = arg;
    struct { const struct pull *p; const char *digest; } pp = { d->p, d->l->digest };
    int e = d->p->src->blob_sink(d->p->src->ctx, d->l->digest, d->l->size, blob_queue_put, d->q,
                                 d->p->opts && d->p->opts->progress ? progress_cb : NULL, &pp);
    blob_queue_close(d->q);
    if (e < 0) {
        d->err = e;
        snprintf(d->msg, sizeof d->msg, "%s", crio_error_message(crio_error_last()));
    }
    return NULL;
}

/*
 * Downloads and unpacks a layer at once, through a blob_queue: no temporary
 * blob file (written, read back, and written to disk by the pull's
 * crio_store_sync), and the layer unpacks while it downloads.  The unpacker is
 * hardened against hostile archives either way; nothing is published unless
 * the blob matches its digest and size (checked by the download at its end)
 * and the tar stream matches the diff_id.  Returns CRIO_EABORTED when the
 * transfer was cut after some data (a stream cannot be rewound for the
 * registry client's retries) or no thread could start: the caller then
 * downloads to a file.
 */
static int fetch_layer_streamed(struct pull *p, struct layer_job *l)
{
    crio_store *st = p->c->store;
    struct blob_queue q;
    int e = blob_queue_init(&q);
    if (e < 0)
        return e;
    struct stream_dl d = { .p = p, .l = l, .q = &q };
    pthread_t thread;
    e = pthread_create(&thread, NULL, stream_dl_main, &d);
    if (e) {
        blob_queue_destroy(&q);
        return crio_error_set(CRIO_EABORTED, "layer %s: no thread to stream it: %s", l->digest, strerror(e));
    }
    _cleanup_free_ char *dir = NULL;
    crio_unpack_result res;
    /* unpack_layer compares the diff_id, and the download checks the blob's digest: no CRC-32 needed. */
    crio_unpack_source from = { blob_queue_next, &q, true };
    e = unpack_layer(st, l, -1, &from, &dir, &res);
    blob_queue_leave(&q);
    pthread_join(thread, NULL);
    blob_queue_destroy(&q);
    if (d.err)
        e = crio_error_set(d.err, "%s", d.msg);
    if (e == 0)
        e = crio_store_layer_commit(st, dir, l->chain_id, l->diff_id, l->parent, res.tar_bytes);
    if (e < 0 && dir)
        crio_fs_remove_tree(AT_FDCWD, dir);
    return e;
}

static int fetch_layer(struct pull *p, struct layer_job *l)
{
    if (p->src->blob_sink) {
        int e = fetch_layer_streamed(p, l);
        if (e != CRIO_EABORTED)
            return e;
        crio_log_info("layer %s: %s; downloading it again to a file", l->digest,
                      crio_error_message(crio_error_last()));
        crio_error_clear();
    }
    crio_store *st = p->c->store;
    _cleanup_free_ char *tmp = NULL, *dir = NULL;
    _cleanup_close_ int fd = -1;
    int e = crio_store_tmp_file(st, &fd, &tmp);
    if (e < 0)
        return e;
    struct { const struct pull *p; const char *digest; } pp = { p, l->digest };
    e = p->src->blob(p->src->ctx, l->digest, l->size, fd, p->opts && p->opts->progress ? progress_cb : NULL, &pp);
    if (e == 0 && lseek(fd, 0, SEEK_SET) < 0)
        e = crio_error_sys(errno, "layer %s", l->digest);
    crio_unpack_result res;
    if (e == 0)
        e = unpack_layer(st, l, fd, NULL, &dir, &res);
    /* The blob is not needed any more: dropped before the pull's crio_store_sync would write it out. */
    unlink(tmp);
    (void)!ftruncate(fd, 0);
    if (e == 0)
        e = crio_store_layer_commit(st, dir, l->chain_id, l->diff_id, l->parent, res.tar_bytes);
    if (e < 0 && dir)
        crio_fs_remove_tree(AT_FDCWD, dir);
    return e;
}

static void *layer_worker(void *arg)
{
    struct pull *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->nlayers)
            break;
        pthread_mutex_lock(&p->mu);
        bool failed = p->err != 0;
        pthread_mutex_unlock(&p->mu);
        if (failed)
            break;
        struct layer_job *l = &p->layers[p->order[i]];
        crio_store *st = p->c->store;
        if (crio_store_layer_exists(st, l->chain_id))
            continue;
        int e = crio_store_claim(st, l->chain_id);
        if (e < 0) {
            record_error(p, e);
            break;
        }
        /* Another pull may have published it while we waited for the claim. */
        if (!crio_store_layer_exists(st, l->chain_id) && (e = fetch_layer(p, l)) < 0)
            record_error(p, e);
        crio_store_release(st, l->chain_id);
    }
    return NULL;
}

/*
 * Largest layers first when several download at once (overlay: layers are
 * independent): the last layer to start is then a small one, and the pull
 * does not end on a big layer downloading alone while the other workers
 * idle.  Ties keep the manifest's order.  One worker (vfs: each layer builds
 * on its parent) keeps that order.
 */
static int layer_order(struct pull *p, int64_t workers)
{
    if (!(p->order = calloc(p->nlayers + 1, sizeof *p->order)))
        return crio_error_oom();
    for (size_t i = 0; i < p->nlayers; i++) {
        size_t j = i;
        /* Insertion sort: MAX_LAYERS is small and the result must be stable. */
        while (workers > 1 && j > 0 && p->layers[p->order[j - 1]].size < p->layers[i].size) {
            p->order[j] = p->order[j - 1];
            j--;
        }
        p->order[j] = i;
    }
    return 0;
}

static int run_layer_workers(struct pull *p, int64_t max_workers)
{
    int e = layer_order(p, max_workers);
    if (e < 0)
        return e;
    size_t n = p->nlayers < (size_t)max_workers ? p->nlayers : (size_t)max_workers;
    pthread_t threads[64];
    size_t started = 0;
    for (; started < n && started < 64; started++)
        if (pthread_create(&threads[started], NULL, layer_worker, p) != 0)
            break;
    if (started == 0 && p->nlayers)
        layer_worker(p);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (p->err)
        return crio_error_set(p->err, "%s", p->errmsg ? p->errmsg : crio_strerror(p->err));
    return 0;
}

static bool is_layer_type(const char *mt)
{
    static const char *const ok[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    for (size_t i = 0; mt && i < CRIO_ARRAY_SIZE(ok); i++)
        if (!strcmp(mt, ok[i]))
            return true;
    return false;
}

/* Fetches and stores a small verified blob (the config). */
static int fetch_small_blob(struct pull *p, const char *digest, int64_t size)
{
    if (crio_store_blob_exists(p->c->store, digest))
        return 0;
    if (size > CONFIG_MAX)
        return crio_error_set(CRIO_EINVAL, "config %s: %lld bytes is over the limit", digest, (long long)size);
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -1;
    int e = crio_store_tmp_file(p->c->store, &fd, &tmp);
    if (e < 0)
        return e;
    e = p->src->blob(p->src->ctx, digest, size, fd, NULL, NULL);
    if (e == 0)
        e = crio_store_blob_commit(p->c->store, tmp, digest);
    if (e < 0)
        unlink(tmp);
    return e;
}

/* Stores a manifest body as a blob under its digest. */
static int store_bytes(crio *c, const char *digest, const char *data, size_t len)
{
    if (crio_store_blob_exists(c->store, digest))
        return 0;
    _cleanup_free_ char *tmp = NULL;
    _cleanup_close_ int fd = -1;
    int e = crio_store_tmp_file(c->store, &fd, &tmp);
    if (e < 0)
        return e;
    if (write(fd, data, len) != (ssize_t)len) {
        unlink(tmp);
        return crio_error_sys(errno ? errno : EIO, "store manifest %s", digest);
    }
    e = crio_store_blob_commit(c->store, tmp, digest);
    if (e < 0)
        unlink(tmp);
    return e;
}

static bool json_has_string(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
            return true;
    return false;
}

static void json_remove_string(cJSON *arr, const char *s)
{
    for (int i = cJSON_GetArraySize(arr) - 1; i >= 0; i--) {
        cJSON *it = cJSON_GetArrayItem(arr, i);
        if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
            cJSON_DeleteItemFromArray(arr, i);
    }
}

static cJSON *ensure_array(cJSON *obj, const char *key)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsArray(a))
        return a;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    return cJSON_AddArrayToObject(obj, key);
}

/*
 * Records a pulled image: creates or updates its record, and moves `tag`
 * from whichever image had it.  Under the store lock.
 */
static int record_image(crio *c, const char *id, const cJSON *fields, const char *tag, const char *repo_digest)
{
    crio_store_lock(c->store);
    _cleanup_json_ cJSON *all = NULL;
    int e = crio_store_image_list(c->store, &all);
    cJSON *img;
    cJSON_ArrayForEach(img, all) {
        const char *oid = crio_json_string(img, "id");
        if (!oid || !strcmp(oid, id) || !tag)
            continue;
        cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "repo_tags");
        if (json_has_string(tags, tag)) {
            json_remove_string(tags, tag);
            if (e == 0)
                e = crio_store_image_put(c->store, img);
        }
    }
    _cleanup_json_ cJSON *rec = NULL;
    if (e == 0 && crio_store_image_get(c->store, id, &rec) < 0) {
        crio_error_clear();
        rec = cJSON_Duplicate(fields, true);
    }
    if (e == 0 && !rec)
        e = crio_error_oom();
    if (e == 0) {
        cJSON *tags = ensure_array(rec, "repo_tags"), *digests = ensure_array(rec, "repo_digests");
        if (tag && !json_has_string(tags, tag))
            cJSON_AddItemToArray(tags, cJSON_CreateString(tag));
        if (repo_digest) {
            /* The digest just pulled goes first (moved there if known): PullImage answers with it. */
            json_remove_string(digests, repo_digest);
            cJSON *d = cJSON_CreateString(repo_digest);
            if (!d || !cJSON_InsertItemInArray(digests, 0, d)) {
                cJSON_Delete(d);
                e = crio_error_oom();
            }
        }
        if (e == 0)
            e = crio_store_image_put(c->store, rec);
    }
    crio_store_unlock(c->store);
    return e;
}

/*
 * Fetches the image `reference` (tag or digest) from `src`, stores it, and
 * records it under `name` (with `tag` when not NULL).
 */
static int pull_image(crio *c, const struct source *src, const char *name, const char *reference, const char *tag_name,
                      const crio_pull_options *opts, char id_out[65])
{
    int e;
    _cleanup_free_ char *body = NULL, *mt = NULL, *idx_body = NULL, *idx_mt = NULL;
    size_t len;
    char mdigest[72], idigest[72] = "";
    if ((e = src->manifest(src->ctx, reference, &body, &len, &mt, mdigest)) < 0)
        return e;
    _cleanup_json_ cJSON *man = NULL;
    if ((e = crio_json_parse(&man, body, len, CRIO_MANIFEST_MAX, "manifest")) < 0)
        return e;
    const char *bmt = crio_json_string(man, "mediaType");
    if ((!mt || !*mt || !strcmp(mt, "application/json") || !strcmp(mt, "application/octet-stream")) && bmt) {
        free(mt);
        mt = strdup(bmt);
    }
    if (mt && (!strcmp(mt, CRIO_MEDIA_OCI_INDEX) || !strcmp(mt, CRIO_MEDIA_DOCKER_LIST))) {
        const char *pd = NULL;
        if ((e = select_platform(&pd, man, name)) < 0)
            return e;
        _cleanup_free_ char *pdigest = strdup(pd);
        if (!pdigest)
            return crio_error_oom();
        snprintf(idigest, sizeof idigest, "%s", mdigest);
        idx_body = TAKE_PTR(body);
        idx_mt = TAKE_PTR(mt);
        cJSON_Delete(man);
        man = NULL;
        if ((e = src->manifest(src->ctx, pdigest, &body, &len, &mt, mdigest)) < 0)
            return e;
        if ((e = crio_json_parse(&man, body, len, CRIO_MANIFEST_MAX, "manifest")) < 0)
            return e;
        bmt = crio_json_string(man, "mediaType");
        if ((!mt || !*mt || !strcmp(mt, "application/json")) && bmt) {
            free(mt);
            mt = strdup(bmt);
        }
    }
    if (!mt || (strcmp(mt, CRIO_MEDIA_OCI_MANIFEST) && strcmp(mt, CRIO_MEDIA_DOCKER_MANIFEST)))
        return crio_error_set(CRIO_EINVAL, "%s: unsupported manifest media type \"%s\"", name, mt ? mt : "");
    const cJSON *cfgd = cJSON_GetObjectItemCaseSensitive(man, "config");
    const char *cdigest = crio_json_string(cfgd, "digest");
    if (!crio_digest_valid(cdigest) || strncmp(cdigest, "sha256:", 7))
        return crio_error_set(CRIO_EINVAL, "%s: manifest has no valid config digest", name);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(man, "layers");
    int nl = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : -1;
    if (nl < 0 || nl > MAX_LAYERS)
        return crio_error_set(CRIO_EINVAL, "%s: manifest has %d layers", name, nl);

    /* Declared before the first goto: every cleanup variable is initialised. */
    _cleanup_free_ char *cfg_text = NULL, *tag = NULL, *rdigest = NULL;
    _cleanup_json_ cJSON *cfg = NULL, *rec = NULL;
    size_t cfg_len;
    struct pull p = { .c = c, .src = src, .opts = opts };
    pthread_mutex_init(&p.mu, NULL);
    /* Everything this pull stores is pinned against layer gc until the record names it. */
    const char *pinned_blobs[3] = { cdigest, mdigest, idigest[0] ? idigest : NULL };
    size_t npinned_layers = 0;
    for (size_t i = 0; i < 3; i++)
        if (pinned_blobs[i])
            crio_store_pin(c->store, pinned_blobs[i]);
    /* Refuse unusable layers before fetching anything. */
    for (int i = 0; i < nl; i++) {
        const cJSON *ld = cJSON_GetArrayItem(layers, i);
        const char *d = crio_json_string(ld, "digest"), *lmt = crio_json_string(ld, "mediaType");
        if (!crio_digest_valid(d)) {
            e = crio_error_set(CRIO_EINVAL, "%s: layer %d has an invalid digest", name, i);
            goto out;
        }
        if (!is_layer_type(lmt)) {
            e = crio_error_set(CRIO_EINVAL, "%s: layer %s has unsupported media type \"%s\"", name, d,
                               lmt ? lmt : "");
            goto out;
        }
    }
    if ((e = fetch_small_blob(&p, cdigest, crio_json_int(cfgd, "size", -1))) < 0)
        goto out;
    if ((e = crio_store_blob_read(c->store, cdigest, &cfg_text, &cfg_len, CONFIG_MAX)) < 0 ||
        (e = crio_json_parse(&cfg, cfg_text, cfg_len, CONFIG_MAX, "image config")) < 0)
        goto out;
    const cJSON *diff_ids = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "rootfs"), "diff_ids");
    if (!cJSON_IsArray(diff_ids) || cJSON_GetArraySize(diff_ids) != nl) {
        e = crio_error_set(CRIO_EINVAL, "%s: the config lists %d diff_ids for %d layers", name,
                           cJSON_IsArray(diff_ids) ? cJSON_GetArraySize(diff_ids) : -1, nl);
        goto out;
    }
    p.layers = calloc((size_t)nl + 1, sizeof *p.layers);
    if (!p.layers) {
        e = crio_error_oom();
        goto out;
    }
    p.nlayers = (size_t)nl;
    for (int i = 0; i < nl; i++) {
        const cJSON *ld = cJSON_GetArrayItem(layers, i);
        const char *d = crio_json_string(ld, "digest"), *lmt = crio_json_string(ld, "mediaType");
        const cJSON *di = cJSON_GetArrayItem(diff_ids, i);
        (void)lmt;
        if (!cJSON_IsString(di) || !crio_digest_valid(di->valuestring) || strncmp(di->valuestring, "sha256:", 7)) {
            e = crio_error_set(CRIO_EINVAL, "%s: layer %d has an invalid diff_id", name, i);
            goto out;
        }
        struct layer_job *l = &p.layers[i];
        l->digest = d;
        l->size = crio_json_int(ld, "size", -1);
        snprintf(l->diff_id, sizeof l->diff_id, "%s", di->valuestring);
        snprintf(l->parent, sizeof l->parent, "%s", i ? p.layers[i - 1].chain_id : "");
        if ((e = crio_chain_id(l->chain_id, i ? p.layers[i - 1].chain_id : NULL, l->diff_id)) < 0 ||
            (e = crio_store_pin(c->store, l->chain_id)) < 0)
            goto out;
        npinned_layers = (size_t)i + 1;
    }
    /* vfs layers build on their parent's tree: one at a time, in order. */
    int64_t workers = !strcmp(crio_store_driver(c->store), "vfs") ? 1 : crio_config_int(c->cfg, "crio.image.max_concurrent_downloads");
    if ((e = run_layer_workers(&p, workers)) < 0)
        goto out;
    if ((e = store_bytes(c, mdigest, body, len)) < 0 ||
        (idigest[0] && (e = store_bytes(c, idigest, idx_body, strlen(idx_body))) < 0))
        goto out;
    /* Every layer the record will name (ours, or published by a concurrent pull) durable before it. */
    if ((e = crio_store_sync(c->store)) < 0)
        goto out;

    /* The record. */
    uint64_t size = 0;
    rec = cJSON_CreateObject();
    cJSON *chain = rec ? cJSON_AddArrayToObject(rec, "layers") : NULL;
    if (!chain) {
        e = crio_error_oom();
        goto out;
    }
    for (size_t i = 0; i < p.nlayers; i++) {
        uint64_t ls = 0;
        crio_store_layer_size(c->store, p.layers[i].chain_id, &ls);
        size += ls;
        cJSON_AddItemToArray(chain, cJSON_CreateString(p.layers[i].chain_id));
    }
    const cJSON *ccfg = cJSON_GetObjectItemCaseSensitive(cfg, "config");
    const char *user = crio_json_string(ccfg, "User");
    snprintf(id_out, 65, "%s", cdigest + 7);
    crio_json_add_string(rec, "id", id_out);
    crio_json_add_string(rec, "config_digest", cdigest);
    crio_json_add_string(rec, "manifest_digest", mdigest);
    if (idigest[0])
        crio_json_add_string(rec, "index_digest", idigest);
    crio_json_add_string(rec, "user", user ? user : "");
    cJSON_AddNumberToObject(rec, "size", (double)size);
    cJSON_AddBoolToObject(rec, "pinned", false);
    if (tag_name && asprintf(&tag, "%s:%s", name, tag_name) < 0)
        tag = NULL;
    if (asprintf(&rdigest, "%s@%s", name, idigest[0] ? idigest : mdigest) < 0)
        rdigest = NULL;
    e = record_image(c, id_out, rec, tag, rdigest);
out:
    for (size_t i = 0; i < npinned_layers; i++)
        crio_store_unpin(c->store, p.layers[i].chain_id);
    for (size_t i = 0; i < 3; i++)
        if (pinned_blobs[i])
            crio_store_unpin(c->store, pinned_blobs[i]);
    if (e < 0) {
        /* Nothing of a failed pull stays: what it stored that no image names goes. */
        int saved = e;
        char *msg = strdup(crio_error_message(crio_error_last()));
        crio_store_lock(c->store);
        crio_store_layers_gc(c->store);
        crio_store_unlock(c->store);
        e = crio_error_set(saved, "%s", msg ? msg : crio_strerror(saved));
        free(msg);
    }
    free(p.layers);
    free(p.order);
    free(p.errmsg);
    pthread_mutex_destroy(&p.mu);
    return e;
}

/* Pulls `ref` from one endpoint (host + repository path). */
static int pull_from(crio *c, const crio_ref *ref, const char *name, const crio_registry_endpoint *ep,
                     const crio_pull_options *opts, char id_out[65])
{
    _cleanup_free_ char *loc = strdup(ep->location);
    if (!loc)
        return crio_error_oom();
    char *slash = strchr(loc, '/');
    if (!slash)
        return crio_error_set(CRIO_EINVAL, "registry location \"%s\" has no repository", ep->location);
    *slash = '\0';
    const char *host = loc, *repo = slash + 1;
    /* docker.io's API lives at registry-1.docker.io */
    if (!strcmp(host, "docker.io"))
        host = "registry-1.docker.io";
    crio_registry_auth auth = { 0 };
    if (opts)
        auth = (crio_registry_auth){ opts->username, opts->password, opts->auth, opts->identity_token,
                                     opts->registry_token };
    _cleanup_(crio_registry_freep) crio_registry *reg = NULL;
    int e = crio_registry_new(&reg, host, ep->insecure, &auth);
    if (e < 0)
        return e;
    struct registry_source rs = { reg, repo };
    struct source src = { registry_manifest, registry_blob, &rs, registry_blob_sink };
    return pull_image(c, &src, name, ref->digest ? ref->digest : ref->tag, ref->tag, opts, id_out);
}

/* Pulls a normalised reference through its registries.conf endpoints. */
static int pull_ref(crio *c, const crio_ref *ref, const crio_pull_options *opts, char id[65])
{
    _cleanup_free_ char *name = crio_ref_name(ref);
    if (!name)
        return crio_error_oom();
    crio_registry_endpoint *eps = NULL;
    size_t n = 0;
    pthread_rwlock_rdlock(&c->config_lock);
    int e = crio_registries_endpoints(c->registries, name, ref->digest != NULL, &eps, &n);
    pthread_rwlock_unlock(&c->config_lock);
    if (e < 0)
        return e;
    for (size_t i = 0; i < n; i++) {
        e = pull_from(c, ref, name, &eps[i], opts, id);
        if (e == 0)
            break;
        if (eps[i].is_mirror && i + 1 < n) {
            crio_log_info("pull %s: mirror %s: %s; trying the next source", name, eps[i].location,
                          crio_error_message(crio_error_last()));
            continue;
        }
        break;
    }
    crio_registry_endpoints_free(eps, n);
    return e;
}

/* The unqualified-search registries, copied under the config lock (SIGHUP may swap them). */
static int search_list(char ***out, size_t *n, crio *c)
{
    pthread_rwlock_rdlock(&c->config_lock);
    size_t k = crio_registries_search_count(c->registries);
    char **v = calloc(k + 1, sizeof *v);
    int e = v ? 0 : crio_error_oom();
    for (size_t i = 0; e == 0 && i < k; i++)
        if (!(v[i] = strdup(crio_registries_search(c->registries, i))))
            e = crio_error_oom();
    pthread_rwlock_unlock(&c->config_lock);
    if (e < 0) {
        strv_free(v, k);
        return e;
    }
    *out = v;
    *n = k;
    return 0;
}

int crio_image_get(crio_image **out, crio *c, const char *name);

int crio_image_pull(crio_image **out, crio *c, const char *reference, const crio_pull_options *opts)
{
    if (out)
        *out = NULL;
    if (!reference || !*reference)
        return crio_error_set(CRIO_EINVAL, "pull: empty image reference");
    char id[65] = "";
    int e;
    char **search = NULL;
    size_t nsearch = 0;
    if (!crio_ref_is_qualified(reference) && (e = search_list(&search, &nsearch, c)) < 0)
        return e;
    if (nsearch > 0) {
        /* Unqualified: each search registry in order. */
        e = CRIO_ENOTFOUND;
        for (size_t i = 0; i < nsearch; i++) {
            crio_ref ref;
            if ((e = crio_ref_with_domain(&ref, reference, search[i])) < 0)
                break;
            e = pull_ref(c, &ref, opts, id);
            crio_ref_clear(&ref);
            if (e == 0 || (e != CRIO_ENOTFOUND && e != CRIO_EUNAVAILABLE && e != CRIO_EAUTH))
                break;
        }
    } else {
        crio_ref ref;
        if ((e = crio_ref_parse(&ref, reference)) == 0) {
            e = pull_ref(c, &ref, opts, id);
            crio_ref_clear(&ref);
        }
    }
    strv_free(search, nsearch);
    if (e < 0)
        return crio_error_wrap(e, "pull %s", reference);
    if (!out)
        return 0;
    _cleanup_json_ cJSON *rec = NULL;
    if ((e = crio_store_image_get(c->store, id, &rec)) < 0)
        return e;
    return image_from_record(out, c, rec);
}

/* ---- lookup ---- */

static bool all_hex(const char *s)
{
    return *s && strspn(s, "0123456789abcdef") == strlen(s);
}

/* Does record `rec` carry the (normalised) reference `ref`? */
static bool record_matches_ref(const cJSON *rec, const crio_ref *ref)
{
    _cleanup_free_ char *name = crio_ref_name(ref);
    if (!name)
        return false;
    if (ref->digest) {
        _cleanup_free_ char *rd = NULL;
        if (asprintf(&rd, "%s@%s", name, ref->digest) < 0)
            return false;
        if (json_has_string(cJSON_GetObjectItemCaseSensitive(rec, "repo_digests"), rd))
            return true;
        const char *md = crio_json_string(rec, "manifest_digest"), *id = crio_json_string(rec, "index_digest");
        if (!((md && !strcmp(md, ref->digest)) || (id && !strcmp(id, ref->digest))))
            return false;
        /* The same content under this repository name. */
        size_t nl = strlen(name);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "repo_digests"))
            if (cJSON_IsString(it) && !strncmp(it->valuestring, name, nl) && it->valuestring[nl] == '@')
                return true;
        return false;
    }
    _cleanup_free_ char *tag = NULL;
    if (asprintf(&tag, "%s:%s", name, ref->tag ? ref->tag : "latest") < 0)
        return false;
    return json_has_string(cJSON_GetObjectItemCaseSensitive(rec, "repo_tags"), tag);
}

/* The references an unqualified or qualified name can stand for. */
static int name_candidates(crio_ref **out, size_t *n, crio *c, const char *name)
{
    char **search = NULL;
    size_t ns = 0;
    if (!crio_ref_is_qualified(name)) {
        int e = search_list(&search, &ns, c);
        if (e < 0)
            return e;
    }
    crio_ref *refs = calloc(ns + 1, sizeof *refs);
    if (!refs) {
        strv_free(search, ns);
        return crio_error_oom();
    }
    size_t k = 0;
    if (crio_ref_parse(&refs[k], name) == 0)
        k++;
    for (size_t i = 0; i < ns; i++)
        if (crio_ref_with_domain(&refs[k], name, search[i]) == 0)
            k++;
    strv_free(search, ns);
    crio_error_clear();
    *out = refs;
    *n = k;
    return 0;
}

static void refs_free(crio_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crio_ref_clear(&refs[i]);
    free(refs);
}

/*
 * Selects from `all` the records `name` designates (moved into *matches, a
 * new array): by reference first, then as an id or unique id prefix.
 */
static int select_records(cJSON **matches, crio *c, cJSON *all, const char *name, bool *by_tag)
{
    _cleanup_json_ cJSON *out = cJSON_CreateArray();
    if (!out)
        return crio_error_oom();
    if (by_tag)
        *by_tag = false;
    const char *idname = !strncmp(name, "sha256:", 7) ? name + 7 : name;
    crio_ref *refs = NULL;
    size_t nrefs = 0;
    int e = name_candidates(&refs, &nrefs, c, name);
    if (e < 0)
        return e;
    for (int i = cJSON_GetArraySize(all) - 1; i >= 0; i--) {
        cJSON *rec = cJSON_GetArrayItem(all, i);
        for (size_t r = 0; r < nrefs; r++)
            if (record_matches_ref(rec, &refs[r])) {
                if (by_tag)
                    *by_tag = refs[r].digest == NULL;
                cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(all, i));
                break;
            }
    }
    refs_free(refs, nrefs);
    if (cJSON_GetArraySize(out) == 0 && all_hex(idname) && strlen(idname) <= 64) {
        size_t n = (size_t)cJSON_GetArraySize(all);
        const char **ids = calloc(n + 1, sizeof *ids);
        if (!ids)
            return crio_error_oom();
        for (size_t i = 0; i < n; i++) {
            const char *id = crio_json_string(cJSON_GetArrayItem(all, (int)i), "id");
            ids[i] = id ? id : "";
        }
        const char *match = NULL;
        e = crio_id_lookup_prefix(&match, idname, ids, n);
        if (e == 0) {
            for (int i = 0; i < (int)n; i++)
                if (ids[i] == match) {
                    cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(all, i));
                    break;
                }
        }
        free(ids);
        if (e < 0 && e != CRIO_ENOTFOUND)
            return e;
        crio_error_clear();
    }
    *matches = TAKE_PTR(out);
    return 0;
}

int crio_image_get(crio_image **out, crio *c, const char *name)
{
    *out = NULL;
    if (!name || !*name)
        return crio_error_set(CRIO_EINVAL, "image: empty name");
    _cleanup_json_ cJSON *all = NULL, *m = NULL;
    int e = crio_store_image_list(c->store, &all);
    if (e < 0 || (e = select_records(&m, c, all, name, NULL)) < 0)
        return e;
    if (cJSON_GetArraySize(m) == 0)
        return crio_error_set(CRIO_ENOTFOUND, "image %s not found", name);
    return image_from_record(out, c, cJSON_GetArrayItem(m, 0));
}

int crio_image_list_get(crio_image_list **out, crio *c, const char *filter)
{
    *out = NULL;
    _cleanup_json_ cJSON *all = NULL, *m = NULL;
    int e = crio_store_image_list(c->store, &all);
    if (e < 0)
        return e;
    cJSON *set = all;
    if (filter && *filter) {
        if ((e = select_records(&m, c, all, filter, NULL)) < 0)
            return e;
        set = m;
    }
    crio_image_list *l = calloc(1, sizeof *l);
    size_t n = (size_t)cJSON_GetArraySize(set);
    if (!l || !(l->items = calloc(n + 1, sizeof *l->items))) {
        free(l);
        return crio_error_oom();
    }
    const cJSON *rec;
    cJSON_ArrayForEach(rec, set) {
        if ((e = image_from_record(&l->items[l->n], c, rec)) < 0) {
            crio_image_list_free(l);
            return e;
        }
        l->n++;
    }
    *out = l;
    return 0;
}

size_t crio_image_list_count(const crio_image_list *l) { return l ? l->n : 0; }
const crio_image *crio_image_list_at(const crio_image_list *l, size_t i) { return l && i < l->n ? l->items[i] : NULL; }

void crio_image_list_free(crio_image_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        crio_image_free(l->items[i]);
    free(l->items);
    free(l);
}

int crio_image_remove(crio *c, const char *name)
{
    if (!name || !*name)
        return crio_error_set(CRIO_EINVAL, "remove image: empty name");
    crio_store_lock(c->store);
    _cleanup_json_ cJSON *all = NULL, *m = NULL;
    bool by_tag = false;
    int e = crio_store_image_list(c->store, &all);
    if (e == 0)
        e = select_records(&m, c, all, name, &by_tag);
    if (e == 0 && cJSON_GetArraySize(m) == 0)
        e = crio_error_set(CRIO_ENOTFOUND, "image %s not found", name);
    cJSON *rec = e == 0 ? cJSON_GetArrayItem(m, 0) : NULL;
    const char *id = rec ? crio_json_string(rec, "id") : NULL;
    cJSON *tags = rec ? cJSON_GetObjectItemCaseSensitive(rec, "repo_tags") : NULL;
    if (e == 0 && by_tag && cJSON_GetArraySize(tags) > 1) {
        /* Only this tag goes: find which of the candidates it was. */
        crio_ref *refs = NULL;
        size_t nrefs = 0;
        if ((e = name_candidates(&refs, &nrefs, c, name)) == 0) {
            for (size_t r = 0; r < nrefs; r++) {
                _cleanup_free_ char *n = crio_ref_name(&refs[r]), *t = NULL;
                if (n && asprintf(&t, "%s:%s", n, refs[r].tag ? refs[r].tag : "latest") > 0)
                    json_remove_string(tags, t);
            }
            refs_free(refs, nrefs);
            e = crio_store_image_put(c->store, rec);
        }
    } else if (e == 0) {
        _cleanup_free_ char *who = NULL;
        if (crio_pods_image_in_use(c, id, &who))
            e = crio_error_set(CRIO_EBUSY, "image %s is in use by %s", id, who ? who : "a container");
        else
            e = crio_store_image_delete(c->store, id);
        if (e == 0) {
            int gc = crio_store_layers_gc(c->store);
            if (gc < 0)
                crio_log_warn("remove image %s: layer cleanup: %s", id, crio_error_message(crio_error_last()));
        }
    }
    crio_store_unlock(c->store);
    return e < 0 ? crio_error_wrap(e, "remove image %s", name) : 0;
}

/* ---- filesystem usage ---- */

/* Inodes with several links, counted once (busybox images are mostly hard links). */
struct inode_set {
    ino_t *v;
    size_t n, cap;
};

static bool inode_seen(struct inode_set *set, ino_t ino)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i] == ino)
            return true;
    if (set->n == set->cap) {
        size_t nc = set->cap ? set->cap * 2 : 256;
        ino_t *nv = realloc(set->v, nc * sizeof *nv);
        if (!nv)
            return false;
        set->v = nv;
        set->cap = nc;
    }
    set->v[set->n++] = ino;
    return false;
}

static int walk_usage(int fd, uint64_t *bytes, uint64_t *inodes, struct inode_set *links, int depth)
{
    if (depth > 256) {
        close(fd);
        return 0;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return crio_error_sys(errno, "measure image store");
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && inode_seen(links, st.st_ino))
            continue;
        *bytes += (uint64_t)st.st_blocks * 512;
        *inodes += 1;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk_usage(sub, bytes, inodes, links, depth + 1);
        }
    }
    closedir(d);
    return 0;
}

/* The mountpoint of the filesystem holding `path` (from /proc/self/mountinfo). */
static int mountpoint_of(char **out, const char *path)
{
    _cleanup_free_ char *real = realpath(path, NULL);
    if (!real)
        return crio_error_sys(errno, "resolve %s", path);
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return crio_error_sys(errno, "read /proc/self/mountinfo");
    char line[4096], best[4096] = "/";
    size_t best_len = 1;
    while (fgets(line, sizeof line, f)) {
        char mp[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        size_t n = strlen(mp);
        if (n >= best_len && !strncmp(real, mp, n) && (real[n] == '/' || real[n] == '\0' || n == 1)) {
            snprintf(best, sizeof best, "%s", mp);
            best_len = n;
        }
    }
    return (*out = strdup(best)) ? 0 : crio_error_oom();
}

int crio_image_fs_usage(uint64_t *used_bytes, uint64_t *used_inodes, char **mountpoint, crio *c)
{
    uint64_t bytes = 0, inodes = 0;
    struct inode_set links = { 0 };
    static const char *const subs[] = { "blobs", "layers", "images" };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(subs); i++) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s", crio_store_root(c->store), subs[i]) < 0)
            return crio_error_oom();
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue;
        int e = walk_usage(fd, &bytes, &inodes, &links, 0);
        if (e < 0) {
            free(links.v);
            return e;
        }
    }
    free(links.v);
    if (mountpoint) {
        int e = mountpoint_of(mountpoint, crio_store_root(c->store));
        if (e < 0)
            return e;
    }
    *used_bytes = bytes;
    *used_inodes = inodes;
    return 0;
}

/* ---- import from an OCI layout ---- */

struct layout_source {
    int dirfd;
    cJSON *index;
};

/* Copies blob `digest` from the layout into fd, verifying digest and size. */
static int layout_blob(void *ctx, const char *digest, int64_t size, int fd, crio_registry_progress_fn progress,
                       void *payload)
{
    struct layout_source *ls = ctx;
    if (!crio_digest_valid(digest) || strncmp(digest, "sha256:", 7))
        return crio_error_set(CRIO_EINVAL, "layout blob: invalid digest \"%s\"", digest);
    int e = crio_dl_crypto();
    if (e < 0)
        return e;
    char rel[96];
    snprintf(rel, sizeof rel, "blobs/sha256/%s", digest + 7);
    _cleanup_close_ int in = openat(ls->dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return crio_error_sys(errno, "layout blob %s", digest);
    EVP_MD_CTX *md = sym_EVP_MD_CTX_new();
    if (!md)
        return crio_error_oom();
    sym_EVP_DigestInit_ex(md, sym_EVP_sha256(), NULL);
    static __thread char buf[1 << 16];
    uint64_t done = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = crio_error_sys(errno, "read layout blob %s", digest);
            break;
        }
        if (n == 0)
            break;
        if (size >= 0 && done + (uint64_t)n > (uint64_t)size) {
            e = crio_error_set(CRIO_EDATALOSS, "layout blob %s: larger than %lld bytes", digest, (long long)size);
            break;
        }
        sym_EVP_DigestUpdate(md, buf, (size_t)n);
        if (write(fd, buf, (size_t)n) != n) {
            e = crio_error_sys(errno ? errno : EIO, "copy layout blob %s", digest);
            break;
        }
        done += (uint64_t)n;
        if (progress)
            progress(done, size < 0 ? 0 : (uint64_t)size, payload);
    }
    unsigned char d[32];
    sym_EVP_DigestFinal_ex(md, d, NULL);
    sym_EVP_MD_CTX_free(md);
    if (e < 0)
        return e;
    char got[CRIO_DIGEST_SIZE];
    crio_digest_format(got, d);
    if (strcmp(got, digest))
        return crio_error_set(CRIO_EDATALOSS, "layout blob %s: digest mismatch: content is %s", digest, got);
    if (size >= 0 && done != (uint64_t)size)
        return crio_error_set(CRIO_EDATALOSS, "layout blob %s: %llu bytes, want %lld", digest,
                              (unsigned long long)done, (long long)size);
    return 0;
}

static int layout_manifest(void *ctx, const char *reference, char **body, size_t *len, char **media_type,
                           char digest[72])
{
    struct layout_source *ls = ctx;
    const char *mt = NULL;
    const char *d = NULL;
    int64_t size = -1;
    if (reference && !strncmp(reference, "sha256:", 7)) {
        d = reference;
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ls->index, "manifests"))
            if (!strcmp(crio_json_string(m, "digest") ? crio_json_string(m, "digest") : "", d))
                mt = crio_json_string(m, "mediaType");
    } else {
        const cJSON *m, *only = NULL;
        int count = 0;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ls->index, "manifests")) {
            count++;
            only = m;
            const char *rn = crio_json_string(cJSON_GetObjectItemCaseSensitive(m, "annotations"),
                                              "org.opencontainers.image.ref.name");
            if (reference && rn && !strcmp(rn, reference)) {
                d = crio_json_string(m, "digest");
                mt = crio_json_string(m, "mediaType");
                size = crio_json_int(m, "size", -1);
                break;
            }
        }
        if (!d && count == 1) { /* a layout holding one image: that one, whatever its tag */
            d = crio_json_string(only, "digest");
            mt = crio_json_string(only, "mediaType");
            size = crio_json_int(only, "size", -1);
        }
        if (!d)
            return crio_error_set(CRIO_ENOTFOUND, "layout has no image tagged \"%s\"", reference ? reference : "");
    }
    if (size > CRIO_MANIFEST_MAX)
        return crio_error_set(CRIO_EINVAL, "layout manifest %s: over %d bytes", d, CRIO_MANIFEST_MAX);
    /* Bounded before reading: a digest reference carries no size. */
    char rel[96];
    struct stat st;
    snprintf(rel, sizeof rel, "blobs/sha256/%s", crio_digest_valid(d) ? d + 7 : "");
    if (fstatat(ls->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return crio_error_sys(errno, "layout manifest %s", d);
    if (st.st_size > CRIO_MANIFEST_MAX)
        return crio_error_set(CRIO_EINVAL, "layout manifest %s: over %d bytes", d, CRIO_MANIFEST_MAX);
    /* Verified into anonymous memory: nothing to clean up after a crash. */
    _cleanup_close_ int fd = memfd_create("crio-manifest", MFD_CLOEXEC);
    if (fd < 0)
        return crio_error_sys(errno, "import: memfd");
    int e = layout_blob(ctx, d, size, fd, NULL, NULL);
    if (e < 0)
        return e;
    off_t n = lseek(fd, 0, SEEK_END);
    if (n > CRIO_MANIFEST_MAX)
        return crio_error_set(CRIO_EINVAL, "layout manifest %s: over %d bytes", d, CRIO_MANIFEST_MAX);
    char *b = malloc((size_t)n + 1);
    if (!b || pread(fd, b, (size_t)n, 0) != n) {
        free(b);
        return b ? crio_error_sys(errno ? errno : EIO, "read manifest %s", d) : crio_error_oom();
    }
    b[n] = '\0';
    *body = b;
    *len = (size_t)n;
    *media_type = strdup(mt ? mt : "");
    snprintf(digest, 72, "%s", d);
    return *media_type ? 0 : crio_error_oom();
}

int crio_image_import(crio_image **out, crio *c, const char *path, const char *name)
{
    if (out)
        *out = NULL;
    struct stat st;
    if (stat(path, &st) < 0)
        return crio_error_sys(errno, "import %s", path);
    if (!S_ISDIR(st.st_mode)) {
        /* An archive: unpack it to a layout under the store's tmp/, import that. */
        _cleanup_free_ char *dir = NULL, *recorded = NULL;
        if (asprintf(&dir, "%s/tmp/import-XXXXXX", crio_store_root(c->store)) < 0)
            return crio_error_oom();
        if (!mkdtemp(dir))
            return crio_error_sys(errno, "import %s: temporary directory", path);
        int e = crio_image_archive_to_layout(path, dir, &recorded);
        if (e == 0)
            e = crio_image_import(out, c, dir, name ? name : recorded);
        crio_fs_remove_tree(AT_FDCWD, dir);
        return e;
    }
    struct layout_source ls = { .dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
    if (ls.dirfd < 0)
        return crio_error_sys(errno, "import %s", path);
    _cleanup_free_ char *idx = NULL, *idxpath = NULL;
    size_t len;
    int e = asprintf(&idxpath, "%s/index.json", path) < 0 ? crio_error_oom() : 0;
    if (e == 0)
        e = crio_fs_read_file(&idx, &len, idxpath, CRIO_MANIFEST_MAX);
    if (e == 0)
        e = crio_json_parse(&ls.index, idx, len, CRIO_MANIFEST_MAX, "index.json");
    crio_ref ref = { 0 };
    const char *want_tag = NULL;
    if (e == 0 && name) {
        if ((e = crio_ref_parse(&ref, name)) == 0)
            want_tag = ref.tag;
    }
    if (e == 0 && !name) {
        /* The name recorded in the layout's only manifest. */
        const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ls.index, "manifests"), 0);
        const char *rn = crio_json_string(cJSON_GetObjectItemCaseSensitive(m, "annotations"),
                                          "io.containerd.image.name");
        if (!rn) {
            /* OCI's ref.name is often a bare tag ("1"): only a full reference names the image. */
            rn = crio_json_string(cJSON_GetObjectItemCaseSensitive(m, "annotations"), "org.opencontainers.image.ref.name");
            if (rn && !strchr(rn, '/'))
                rn = NULL;
        }
        if (!rn || crio_ref_parse(&ref, rn) < 0)
            e = crio_error_set(CRIO_EINVAL, "import %s: the layout names no image; give a name", path);
    }
    char id[65] = "";
    if (e == 0) {
        _cleanup_free_ char *rname = crio_ref_name(&ref);
        struct source src = { layout_manifest, layout_blob, &ls, NULL };
        /* A tag given with the name selects the layout's manifest of that tag when there is one. */
        e = rname ? pull_image(c, &src, rname, want_tag, ref.tag, NULL, id) : crio_error_oom();
    }
    crio_ref_clear(&ref);
    cJSON_Delete(ls.index);
    close(ls.dirfd);
    if (e < 0)
        return crio_error_wrap(e, "import %s", path);
    if (!out)
        return 0;
    _cleanup_json_ cJSON *rec = NULL;
    if ((e = crio_store_image_get(c->store, id, &rec)) < 0)
        return e;
    return image_from_record(out, c, rec);
}
