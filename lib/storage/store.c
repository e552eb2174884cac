/* Blobs, layers and image records under the root (see store.h for the layout). */
#include "storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/dlopen.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/log.h"

#define RECORD_MAX (4 * 1024 * 1024)

struct claim {
    struct claim *next;
    char *key;
    int pins; /* crio_store_pin count; 0 for a claim */
};

struct crio_store {
    char *root;
    char driver[16];
    int blobs_fd, layers_fd, images_fd, tmp_fd;
    pthread_mutex_t mu;         /* records */
    pthread_mutex_t claims_mu;
    pthread_cond_t claims_cv;
    struct claim *claims;
    struct claim *pins;  /* under claims_mu */
    /*
     * Layers and blobs are published without a sync of their own;
     * crio_store_sync is the barrier an image record waits for.
     * `published` counts their renames, bumped in the same pub_mu section
     * as the rename, so a thread that saw one in place reads a count that
     * includes it.  `synced` is the count a completed syncfs read before it
     * started (sync_mu is held across the syncfs, so a waiter finds it
     * done, not half done).
     */
    pthread_mutex_t pub_mu;
    uint64_t published;  /* under pub_mu */
    pthread_mutex_t sync_mu;
    uint64_t synced;     /* under sync_mu */
    bool blobs_apart;    /* blobs/ is on another filesystem than layers/ (a mount): synced too */
};

static bool valid_digest(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
        return false;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static int open_dir(int *fd, const char *root, const char *sub)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/%s", root, sub) < 0)
        return crio_error_oom();
    int e = crio_fs_mkdir_p(path, 0700);
    if (e < 0)
        return e;
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? crio_error_sys(errno, "open %s", path) : 0;
}

void crio_store_close(crio_store *s)
{
    if (!s)
        return;
    int fds[] = { s->blobs_fd, s->layers_fd, s->images_fd, s->tmp_fd };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    struct claim *lists[] = { s->claims, s->pins };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(lists); i++)
        while (lists[i]) {
            struct claim *c = lists[i];
            lists[i] = c->next;
            free(c->key);
            free(c);
        }
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->claims_mu);
    pthread_cond_destroy(&s->claims_cv);
    pthread_mutex_destroy(&s->pub_mu);
    pthread_mutex_destroy(&s->sync_mu);
    free(s->root);
    free(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_store, crio_store_close)

/* Removes what interrupted work left: all of ROOT/tmp, and .tmp-* in layers and images. */
static int remove_leftovers(crio_store *s)
{
    int removed = 0, dirs[] = { s->tmp_fd, s->layers_fd, s->images_fd };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(dirs); i++) {
        int fd = dup(dirs[i]);
        if (fd < 0)
            return crio_error_sys(errno, "scan store");
        DIR *d = fdopendir(fd);
        if (!d) {
            close(fd);
            return crio_error_sys(errno, "scan store");
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (dirs[i] != s->tmp_fd && strncmp(e->d_name, ".tmp-", 5) != 0)
                continue;
            if (crio_fs_remove_tree(dirs[i], e->d_name) == 0)
                removed++;
        }
        rewinddir(d);
        closedir(d);
    }
    if (removed)
        crio_log_info("store %s: removed %d leftovers of interrupted work", s->root, removed);
    return 0;
}

/* Can this kernel and filesystem mount an overlay with upper and work dirs under `dir`? */
static bool overlay_works(const char *dir)
{
    char base[4096];
    snprintf(base, sizeof base, "%s/overlay-probe-XXXXXX", dir);
    if (!mkdtemp(base))
        return false;
    char l[4200], u[4200], w[4200], m[4200], opts[13000];
    snprintf(l, sizeof l, "%s/l", base);
    snprintf(u, sizeof u, "%s/u", base);
    snprintf(w, sizeof w, "%s/w", base);
    snprintf(m, sizeof m, "%s/m", base);
    bool ok = false;
    if (!mkdir(l, 0700) && !mkdir(u, 0700) && !mkdir(w, 0700) && !mkdir(m, 0700)) {
        snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
        if (mount("overlay", m, "overlay", 0, opts) == 0) {
            ok = true;
            umount2(m, MNT_DETACH);
        } else {
            crio_log_warn("overlay is not usable under %s: %s", dir, strerror(errno));
        }
    }
    crio_fs_remove_tree(AT_FDCWD, base);
    return ok;
}

/* Reads the driver a root was created with, or records the one chosen now. */
static int settle_driver(crio_store *s, const char *want)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/storage.json", s->root) < 0)
        return crio_error_oom();
    _cleanup_json_ cJSON *j = NULL;
    int e = crio_json_read_file(&j, path, 4096);
    if (e == 0) {
        const char *d = crio_json_string(j, "driver");
        if (!d || (strcmp(d, "overlay") && strcmp(d, "vfs")))
            return crio_error_set(CRIO_EDATALOSS, "%s: unknown storage driver", path);
        if (want && strcmp(want, d))
            crio_log_warn("store %s was created with the %s driver; keeping it (configured: %s)", s->root, d, want);
        snprintf(s->driver, sizeof s->driver, "%s", d);
        return 0;
    }
    if (e != CRIO_ENOTFOUND)
        return e;
    crio_error_clear();
    const char *d = want && !strcmp(want, "vfs") ? "vfs" : "overlay";
    _cleanup_free_ char *probe_dir = NULL;
    if (asprintf(&probe_dir, "%s/tmp", s->root) < 0)
        return crio_error_oom();
    if (!strcmp(d, "overlay") && !overlay_works(probe_dir)) {
        crio_log_warn("store %s: overlay mounts fail here; using the vfs driver", s->root);
        d = "vfs";
    }
    snprintf(s->driver, sizeof s->driver, "%s", d);
    cJSON *rec = cJSON_CreateObject();
    if (!rec || !crio_json_add_string(rec, "driver", d)) {
        cJSON_Delete(rec);
        return crio_error_oom();
    }
    e = crio_json_write_file(path, rec, 0600);
    cJSON_Delete(rec);
    return e;
}

const char *crio_store_driver(const crio_store *s)
{
    return s->driver;
}

int crio_store_open(crio_store **out, const char *root, const char *driver)
{
    _cleanup_(crio_store_closep) crio_store *s = calloc(1, sizeof *s);
    if (!s)
        return crio_error_oom();
    s->blobs_fd = s->layers_fd = s->images_fd = s->tmp_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->claims_mu, NULL);
    pthread_cond_init(&s->claims_cv, NULL);
    pthread_mutex_init(&s->pub_mu, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    /* Layers and blobs already here were synced before any record named them, and open
     * removes the others; still, this process's first barrier syncs once rather than rely on that. */
    s->published = 1;
    if (!(s->root = strdup(root)))
        return crio_error_oom();
    int e;
    if ((e = open_dir(&s->blobs_fd, root, "blobs/sha256")) < 0 || (e = open_dir(&s->layers_fd, root, "layers")) < 0 ||
        (e = open_dir(&s->images_fd, root, "images")) < 0 || (e = open_dir(&s->tmp_fd, root, "tmp")) < 0)
        return crio_error_wrap(e, "open store %s", root);
    struct stat bst, lst;
    if (fstat(s->blobs_fd, &bst) < 0 || fstat(s->layers_fd, &lst) < 0)
        return crio_error_sys(errno, "open store %s", root);
    s->blobs_apart = bst.st_dev != lst.st_dev;
    if ((e = remove_leftovers(s)) < 0 || (e = settle_driver(s, driver)) < 0)
        return e;
    /* Layers an interrupted pull finished but no image names. */
    int gc = crio_store_layers_gc(s);
    if (gc > 0)
        crio_log_info("store %s: removed %d unreferenced layers and blobs", s->root, gc);
    *out = TAKE_PTR(s);
    return 0;
}

const char *crio_store_root(const crio_store *s)
{
    return s->root;
}

/* ---- blobs ---- */

int crio_store_blob_path(char **out, const crio_store *s, const char *digest)
{
    if (!valid_digest(digest))
        return crio_error_set(CRIO_EINVAL, "invalid digest \"%s\"", digest ? digest : "");
    return asprintf(out, "%s/blobs/sha256/%s", s->root, digest + 7) < 0 ? crio_error_oom() : 0;
}

bool crio_store_blob_exists(const crio_store *s, const char *digest)
{
    return valid_digest(digest) && faccessat(s->blobs_fd, digest + 7, F_OK, 0) == 0;
}

int crio_store_tmp_file(const crio_store *s, int *fd, char **path)
{
    _cleanup_free_ char *p = NULL;
    if (asprintf(&p, "%s/tmp/download-XXXXXX", s->root) < 0)
        return crio_error_oom();
    int f = mkostemp(p, O_CLOEXEC);
    if (f < 0)
        return crio_error_sys(errno, "create %s", p);
    *fd = f;
    *path = TAKE_PTR(p);
    return 0;
}

int crio_store_blob_commit(crio_store *s, const char *tmp_path, const char *digest)
{
    if (!valid_digest(digest))
        return crio_error_set(CRIO_EINVAL, "invalid digest \"%s\"", digest);
    /* No fsync: durable at the pull's crio_store_sync, as layers (see crio_store_layer_commit). */
    pthread_mutex_lock(&s->pub_mu);
    int err = renameat(AT_FDCWD, tmp_path, s->blobs_fd, digest + 7) < 0 ? errno : 0;
    if (!err)
        s->published++;
    pthread_mutex_unlock(&s->pub_mu);
    return err ? crio_error_sys(err, "store blob %s", digest) : 0;
}

int crio_store_blob_read(const crio_store *s, const char *digest, char **data, size_t *len, size_t max)
{
    _cleanup_free_ char *path = NULL;
    int e = crio_store_blob_path(&path, s, digest);
    return e < 0 ? e : crio_fs_read_file(data, len, path, max);
}

int crio_store_blob_remove(crio_store *s, const char *digest)
{
    if (!valid_digest(digest))
        return crio_error_set(CRIO_EINVAL, "invalid digest \"%s\"", digest);
    if (unlinkat(s->blobs_fd, digest + 7, 0) < 0 && errno != ENOENT)
        return crio_error_sys(errno, "remove blob %s", digest);
    return 0;
}

/* ---- layers ---- */

int crio_chain_id(char out[72], const char *parent_chain, const char *diff_id)
{
    if (!parent_chain || !*parent_chain) {
        snprintf(out, 72, "%s", diff_id);
        return 0;
    }
    int e = crio_dl_crypto();
    if (e < 0)
        return e;
    unsigned char md[32];
    EVP_MD_CTX *ctx = sym_EVP_MD_CTX_new();
    if (!ctx)
        return crio_error_oom();
    int ok = sym_EVP_DigestInit_ex(ctx, sym_EVP_sha256(), NULL) == 1 &&
             sym_EVP_DigestUpdate(ctx, parent_chain, strlen(parent_chain)) == 1 &&
             sym_EVP_DigestUpdate(ctx, " ", 1) == 1 && sym_EVP_DigestUpdate(ctx, diff_id, strlen(diff_id)) == 1 &&
             sym_EVP_DigestFinal_ex(ctx, md, NULL) == 1;
    sym_EVP_MD_CTX_free(ctx);
    if (!ok)
        return crio_error_set(CRIO_EINTERNAL, "chain id: sha256 failed");
    crio_digest_format(out, md);
    return 0;
}

bool crio_store_layer_exists(const crio_store *s, const char *chain_id)
{
    char p[80];
    if (!valid_digest(chain_id))
        return false;
    snprintf(p, sizeof p, "%s/layer.json", chain_id + 7);
    return faccessat(s->layers_fd, p, F_OK, 0) == 0;
}

int crio_store_layer_size(const crio_store *s, const char *chain_id, uint64_t *size)
{
    if (!valid_digest(chain_id))
        return crio_error_set(CRIO_EINVAL, "invalid chain id \"%s\"", chain_id ? chain_id : "");
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/layers/%s/layer.json", s->root, chain_id + 7) < 0)
        return crio_error_oom();
    _cleanup_json_ cJSON *meta = NULL;
    int e = crio_json_read_file(&meta, path, 65536);
    if (e < 0)
        return e;
    *size = (uint64_t)crio_json_int(meta, "size", 0);
    return 0;
}

int crio_store_layer_dir(char **out, const crio_store *s, const char *chain_id)
{
    if (!valid_digest(chain_id))
        return crio_error_set(CRIO_EINVAL, "invalid chain id \"%s\"", chain_id ? chain_id : "");
    return asprintf(out, "%s/layers/%s/diff", s->root, chain_id + 7) < 0 ? crio_error_oom() : 0;
}

int crio_store_layer_tmp(const crio_store *s, char **dir)
{
    _cleanup_free_ char *p = NULL, *diff = NULL;
    if (asprintf(&p, "%s/layers/.tmp-XXXXXX", s->root) < 0)
        return crio_error_oom();
    if (!mkdtemp(p))
        return crio_error_sys(errno, "create %s", p);
    if (asprintf(&diff, "%s/diff", p) < 0)
        return crio_error_oom();
    if (mkdir(diff, 0755) < 0)
        return crio_error_sys(errno, "create %s", diff);
    *dir = TAKE_PTR(p);
    return 0;
}

int crio_store_layer_commit(crio_store *s, const char *tmp_dir, const char *chain_id, const char *diff_id,
                            const char *parent_chain, uint64_t size)
{
    if (!valid_digest(chain_id) || !valid_digest(diff_id))
        return crio_error_set(CRIO_EINVAL, "invalid layer ids %s / %s", chain_id, diff_id);
    _cleanup_json_ cJSON *meta = cJSON_CreateObject();
    if (!meta || !crio_json_add_string(meta, "chain_id", chain_id) || !crio_json_add_string(meta, "diff_id", diff_id) ||
        !crio_json_add_string(meta, "parent", parent_chain ? parent_chain : "") ||
        !cJSON_AddNumberToObject(meta, "size", (double)size))
        return crio_error_oom();
    _cleanup_free_ char *text = cJSON_PrintUnformatted(meta), *mpath = NULL;
    if (!text || asprintf(&mpath, "%s/layer.json", tmp_dir) < 0)
        return crio_error_oom();
    int e = crio_fs_write_atomic_volatile(mpath, text, strlen(text), 0600);
    if (e < 0)
        return e;
    /*
     * No sync here, of layer.json or of the files: the layer is complete in
     * the page cache, so a kill -9 from now on leaves it whole, and only a
     * power loss can lose its data before crio_store_sync, which the record
     * of any image naming it waits for.  Until then no record names it, and
     * layers no record names are removed at the next open.  One syncfs per
     * pull instead of one per layer: each flushed the whole filesystem
     * (other writers' data too) and stalled the worker before its next layer.
     */
    pthread_mutex_lock(&s->pub_mu);
    int err = renameat(AT_FDCWD, tmp_dir, s->layers_fd, chain_id + 7) < 0 ? errno : 0;
    if (!err)
        s->published++;
    pthread_mutex_unlock(&s->pub_mu);
    if (err) {
        if ((err == EEXIST || err == ENOTEMPTY) && crio_store_layer_exists(s, chain_id)) {
            crio_fs_remove_tree(AT_FDCWD, tmp_dir);
            return 0;
        }
        return crio_error_sys(err, "publish layer %s", chain_id);
    }
    return 0;
}

int crio_store_sync(crio_store *s)
{
    pthread_mutex_lock(&s->pub_mu);
    uint64_t want = s->published;
    pthread_mutex_unlock(&s->pub_mu);
    int rc = 0;
    pthread_mutex_lock(&s->sync_mu);
    /* A syncfs that started after every layer and blob we may name was renamed into place covers them. */
    if (s->synced < want) {
        if (syncfs(s->layers_fd) < 0 || (s->blobs_apart && syncfs(s->blobs_fd) < 0))
            rc = crio_error_sys(errno, "store %s: sync", s->root);
        else
            s->synced = want;
    }
    pthread_mutex_unlock(&s->sync_mu);
    return rc;
}

/* ---- images ---- */

static int record_name(char out[80], const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n != 64 || strspn(id, "0123456789abcdef") != 64)
        return crio_error_set(CRIO_EINVAL, "invalid image id \"%s\"", id ? id : "");
    snprintf(out, 80, "%s.json", id);
    return 0;
}

int crio_store_image_put(crio_store *s, const cJSON *record)
{
    char name[80];
    int e = record_name(name, crio_json_string(record, "id"));
    if (e < 0)
        return e;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/images/%s", s->root, name) < 0)
        return crio_error_oom();
    return crio_json_write_file(path, record, 0600);
}

int crio_store_image_get(const crio_store *s, const char *id, cJSON **out)
{
    char name[80];
    int e = record_name(name, id);
    if (e < 0)
        return e;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s/images/%s", s->root, name) < 0)
        return crio_error_oom();
    e = crio_json_read_file(out, path, RECORD_MAX);
    if (e == CRIO_ENOTFOUND)
        return crio_error_set(CRIO_ENOTFOUND, "image %s not found", id);
    return e;
}

int crio_store_image_list(const crio_store *s, cJSON **out)
{
    _cleanup_json_ cJSON *arr = cJSON_CreateArray();
    int fd = dup(s->images_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!arr || !d) {
        if (fd >= 0 && !d)
            close(fd);
        return arr ? crio_error_sys(errno, "list images") : crio_error_oom();
    }
    rewinddir(d);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n != 69 || strcmp(e->d_name + 64, ".json") != 0)
            continue;
        char id[65];
        memcpy(id, e->d_name, 64);
        id[64] = '\0';
        cJSON *rec = NULL;
        int r = crio_store_image_get(s, id, &rec);
        if (r == CRIO_ENOTFOUND) /* removed meanwhile */
            continue;
        if (r < 0) {
            crio_log_warn("store %s: skipping unreadable image record %s: %s", s->root, e->d_name,
                          crio_error_message(crio_error_last()));
            continue;
        }
        cJSON_AddItemToArray(arr, rec);
    }
    closedir(d);
    *out = TAKE_PTR(arr);
    return rc;
}

int crio_store_image_delete(crio_store *s, const char *id)
{
    char name[80];
    int e = record_name(name, id);
    if (e < 0)
        return e;
    if (unlinkat(s->images_fd, name, 0) < 0)
        return errno == ENOENT ? crio_error_set(CRIO_ENOTFOUND, "image %s not found", id)
                               : crio_error_sys(errno, "remove image record %s", id);
    fsync(s->images_fd);
    return 0;
}

static bool json_array_has(const cJSON *arr, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return true;
    return false;
}

int crio_store_layers_gc(crio_store *s)
{
    _cleanup_json_ cJSON *images = NULL;
    int e = crio_store_image_list(s, &images);
    if (e < 0)
        return e;
    _cleanup_json_ cJSON *keep = cJSON_CreateArray();
    _cleanup_json_ cJSON *keep_blobs = cJSON_CreateArray();
    if (!keep || !keep_blobs)
        return crio_error_oom();
    const cJSON *img;
    cJSON_ArrayForEach(img, images) {
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(img, "layers"))
            if (cJSON_IsString(it))
                cJSON_AddItemToArray(keep, cJSON_CreateString(it->valuestring + 7));
        static const char *const blob_keys[] = { "config_digest", "manifest_digest", "index_digest" };
        for (size_t k = 0; k < CRIO_ARRAY_SIZE(blob_keys); k++) {
            const char *d = crio_json_string(img, blob_keys[k]);
            if (d && strlen(d) > 7)
                cJSON_AddItemToArray(keep_blobs, cJSON_CreateString(d + 7));
        }
    }
    int removed = 0;
    struct { int fd; cJSON *keep; } dirs[] = { { s->layers_fd, keep }, { s->blobs_fd, keep_blobs } };
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(dirs); i++) {
        int fd = dup(dirs[i].fd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            if (fd >= 0)
                close(fd);
            return crio_error_sys(errno, "scan store");
        }
        rewinddir(d);
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' || json_array_has(dirs[i].keep, de->d_name))
                continue;
            /* A blob or layer being pulled right now is claimed: leave it. */
            char key[300];
            snprintf(key, sizeof key, "sha256:%s", de->d_name);
            pthread_mutex_lock(&s->claims_mu);
            bool busy = false;
            for (struct claim *c = s->claims; c; c = c->next)
                busy |= strcmp(c->key, key) == 0;
            for (struct claim *c = s->pins; c; c = c->next)
                busy |= strcmp(c->key, key) == 0;
            pthread_mutex_unlock(&s->claims_mu);
            if (busy)
                continue;
            if (crio_fs_remove_tree(dirs[i].fd, de->d_name) == 0)
                removed++;
        }
        closedir(d);
    }
    return removed;
}

/* ---- claims ---- */

int crio_store_claim(crio_store *s, const char *key)
{
    pthread_mutex_lock(&s->claims_mu);
    for (;;) {
        bool held = false;
        for (struct claim *c = s->claims; c; c = c->next)
            held |= strcmp(c->key, key) == 0;
        if (!held)
            break;
        pthread_cond_wait(&s->claims_cv, &s->claims_mu);
    }
    struct claim *c = calloc(1, sizeof *c);
    if (!c || !(c->key = strdup(key))) {
        free(c);
        pthread_mutex_unlock(&s->claims_mu);
        return crio_error_oom();
    }
    c->next = s->claims;
    s->claims = c;
    pthread_mutex_unlock(&s->claims_mu);
    return 1;
}

void crio_store_release(crio_store *s, const char *key)
{
    pthread_mutex_lock(&s->claims_mu);
    for (struct claim **pp = &s->claims; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) {
            struct claim *c = *pp;
            *pp = c->next;
            free(c->key);
            free(c);
            break;
        }
    pthread_cond_broadcast(&s->claims_cv);
    pthread_mutex_unlock(&s->claims_mu);
}

void crio_store_lock(crio_store *s)
{
    pthread_mutex_lock(&s->mu);
}

void crio_store_unlock(crio_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

int crio_store_pin(crio_store *s, const char *key)
{
    pthread_mutex_lock(&s->claims_mu);
    for (struct claim *c = s->pins; c; c = c->next)
        if (!strcmp(c->key, key)) {
            c->pins++;
            pthread_mutex_unlock(&s->claims_mu);
            return 0;
        }
    struct claim *c = calloc(1, sizeof *c);
    if (!c || !(c->key = strdup(key))) {
        free(c);
        pthread_mutex_unlock(&s->claims_mu);
        return crio_error_oom();
    }
    c->pins = 1;
    c->next = s->pins;
    s->pins = c;
    pthread_mutex_unlock(&s->claims_mu);
    return 0;
}

void crio_store_unpin(crio_store *s, const char *key)
{
    pthread_mutex_lock(&s->claims_mu);
    for (struct claim **pp = &s->pins; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->key, key)) {
            struct claim *c = *pp;
            if (--c->pins == 0) {
                *pp = c->next;
                free(c->key);
                free(c);
            }
            break;
        }
    pthread_mutex_unlock(&s->claims_mu);
}
