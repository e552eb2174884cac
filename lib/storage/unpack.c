/*
 * Unpacking one OCI layer.
 *
 * Two threads share the work, as `tar -xzf` shares it with gzip: a reader
 * thread reads the blob, decompresses it (zlib / libzstd) and hashes the
 * uncompressed tar stream (the diff_id) into a small ring of 256 KiB buffers;
 * the calling thread parses the tar stream with libarchive (tar format only,
 * no filters) from those buffers and writes the entries.  The reader always
 * runs to the end of the blob, so the hash covers the whole stream even when
 * libarchive stops at the end-of-archive marker.
 *
 * Security: the archive is hostile.  Entry paths are normalized (leading "/"
 * and "." components dropped, ".." refused); an entry's parent directory is
 * opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to
 * the target directory (or by an equivalent walk, one O_NOFOLLOW component
 * at a time, where openat2 is missing), and the entry itself is created with
 * *at() calls on its last component, which are never followed
 * (O_CREAT|O_EXCL, mkdirat, symlinkat, mknodat, linkat without
 * AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW for owners and times).  So a symlink
 * in the archive can only ever redirect a write to another place inside the
 * target.
 */
#include "storage/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/fs.h"
#include "base/dlopen.h"
#include "base/error.h"
#include "base/log.h"

/* Read and decompression buffer size: small enough that a buffer is still in the L2 cache
 * when the other thread reads it (1 MiB cost ~10% more CPU per pull: cache misses, page faults). */
#define CHUNK (256u << 10)
#define NBUF 4           /* decompressed buffers in flight between the threads */
#define MAX_SYMLINKS 40  /* as the kernel's limit when resolving a path */

#define OPAQUE_XATTR "trusted.overlay.opaque"

static int force_fallback;   /* test hook */
static int openat2_missing;  /* set once openat2 returned ENOSYS */

void crio_unpack_force_fallback_resolver(bool on)
{
    __atomic_store_n(&force_fallback, on ? 1 : 0, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* The source: blob -> decompressed tar stream, hashed                 */

enum comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

struct src {
    int fd;
    const crio_unpack_source *from; /* instead of fd when set */
    enum comp comp;
    unsigned char *in;        /* CHUNK bytes of blob (read from fd) */
    const unsigned char *inp; /* the bytes being consumed: `in`, `head` or a piece of `from` */
    size_t in_pos, in_len;
    unsigned char head[4];    /* the magic number when `from` gave it in pieces */
    const unsigned char *rest; /* what the magic check left of `from`'s current piece */
    size_t rest_len;
    bool from_done; /* `from` gave its end: it is not called again */
    bool in_eof;
    z_stream z;
    bool z_ready, member_done;
    ZSTD_DStream *zs;
    bool frame_done;
    EVP_MD_CTX *md;
    uint64_t total;
};

static int src_read(struct src *s)
{
    if (s->from) {
        const void *p = NULL;
        size_t n = 0;
        if (s->rest_len) {
            p = s->rest;
            n = s->rest_len;
            s->rest_len = 0;
        } else if (!s->from_done) {
            int r = s->from->next(s->from->ctx, &p, &n);
            if (r < 0)
                return r;
            s->from_done = n == 0;
        }
        s->inp = p;
        s->in_pos = 0;
        s->in_len = n;
        if (n == 0)
            s->in_eof = true;
        return 0;
    }
    s->inp = s->in;
    for (;;) {
        ssize_t n = read(s->fd, s->in, CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return crio_error_sys(errno, "read layer blob");
        }
        s->in_pos = 0;
        s->in_len = (size_t)n;
        if (n == 0)
            s->in_eof = true;
        return 0;
    }
}

/*
 * Turns off zlib's CRC-32 of the inflated data (and so its check of the
 * gzip trailer's CRC and length, and of a header CRC) for a source that asks
 * so (crio_unpack_source.no_gzip_crc): that CRC was ~10% of a pull's CPU, and
 * proves nothing that the SHA-256 of the same bytes, which such a caller
 * compares with the diff_id before it uses the layer, does not.  zlib still
 * parses the header and needs the 8-byte trailer, so a truncated stream is
 * still an error.  inflateReset keeps the setting; it is set again after one
 * anyway, not to depend on that.
 */
static void gzip_skip_crc(const struct src *s, z_stream *z)
{
    if (s->from && s->from->no_gzip_crc)
        (void)sym_inflateValidate(z, 0);
}

/*
 * The first bytes of `from` for the magic check: its first piece when that
 * has 4 bytes, else up to 4 bytes gathered in s->head from several pieces
 * (what is left of the last one is s->rest, consumed first by src_read).
 */
static int src_head_from(struct src *s)
{
    int r = src_read(s);
    if (r < 0 || s->in_len >= 4 || s->in_eof)
        return r;
    size_t have = s->in_len;
    memcpy(s->head, s->inp, have);
    while (have < 4) {
        if ((r = src_read(s)) < 0)
            return r;
        if (s->in_eof)
            break;
        size_t take = s->in_len < 4 - have ? s->in_len : 4 - have;
        memcpy(s->head + have, s->inp, take);
        have += take;
        s->rest = s->inp + take;
        s->rest_len = s->in_len - take;
    }
    s->inp = s->head;
    s->in_pos = 0;
    s->in_len = have;
    s->in_eof = false; /* seen again by the next src_read, from from_done, if it was the end */
    return 0;
}

static int src_init(struct src *s, int fd, const crio_unpack_source *from)
{
    s->fd = fd;
    s->from = from;
    s->in = from ? NULL : malloc(CHUNK); /* `from` lends its own buffers */
    s->inp = s->in;
    s->md = sym_EVP_MD_CTX_new();
    if ((!from && !s->in) || !s->md)
        return crio_error_oom();
    if (sym_EVP_DigestInit_ex(s->md, sym_EVP_sha256(), NULL) != 1)
        return crio_error_set(CRIO_EINTERNAL, "sha256 init");
    int r = from ? src_head_from(s) : 0;
    if (r < 0)
        return r;
    /* Enough bytes for the magic numbers. */
    while (!from && s->in_len < 4 && !s->in_eof) {
        ssize_t n = read(fd, s->in + s->in_len, CHUNK - s->in_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return crio_error_sys(errno, "read layer blob");
        }
        if (n == 0)
            s->in_eof = true;
        s->in_len += (size_t)n;
    }
    const unsigned char *m = s->inp;
    if (s->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        s->comp = COMP_GZIP;
        if (sym_inflateInit2_(&s->z, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof s->z) != Z_OK) /* gzip wrapper only */
            return crio_error_oom();
        s->z_ready = true;
        gzip_skip_crc(s, &s->z);
    } else if (s->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        s->comp = COMP_ZSTD;
        s->zs = sym_ZSTD_createDStream();
        if (!s->zs)
            return crio_error_oom();
        size_t zr = sym_ZSTD_initDStream(s->zs);
        if (sym_ZSTD_isError(zr))
            return crio_error_set(CRIO_EINTERNAL, "zstd init: %s", sym_ZSTD_getErrorName(zr));
    } else {
        s->comp = COMP_NONE;
    }
    return 0;
}

static void src_free(struct src *s)
{
    if (s->z_ready)
        sym_inflateEnd(&s->z);
    sym_ZSTD_freeDStream(s->zs);
    sym_EVP_MD_CTX_free(s->md);
    free(s->in);
}

static int next_plain(struct src *s, unsigned char *out, size_t cap, size_t *len)
{
    if (s->in_pos < s->in_len) { /* what the magic check read */
        size_t n = s->in_len - s->in_pos < cap ? s->in_len - s->in_pos : cap;
        memcpy(out, s->inp + s->in_pos, n);
        s->in_pos += n;
        *len = n;
        return 0;
    }
    *len = 0;
    if (s->from) {
        while (!s->in_eof) {
            int r = src_read(s);
            if (r < 0)
                return r;
            if (s->in_len)
                return next_plain(s, out, cap, len);
        }
        return 0;
    }
    while (!s->in_eof) {
        ssize_t n = read(s->fd, out, cap);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return crio_error_sys(errno, "read layer blob");
        }
        if (n == 0)
            s->in_eof = true;
        *len = (size_t)n;
        break;
    }
    return 0;
}

static int next_gzip(struct src *s, unsigned char *out, size_t cap, size_t *len)
{
    z_stream *z = &s->z;
    for (;;) {
        if (s->in_pos == s->in_len && !s->in_eof) {
            int r = src_read(s);
            if (r < 0)
                return r;
        }
        bool more = s->in_pos < s->in_len;
        if (s->member_done) {
            if (!more) {
                if (s->in_eof) {
                    *len = 0;
                    return 0;
                }
                continue;
            }
            /* Another gzip member follows (as gzip and Go's reader accept). */
            if (sym_inflateReset(z) != Z_OK)
                return crio_error_set(CRIO_EINTERNAL, "layer blob: gzip: reset failed");
            gzip_skip_crc(s, z);
            s->member_done = false;
        }
        z->next_in = (unsigned char *)s->inp + s->in_pos; /* only read: next_in is const with ZLIB_CONST only */
        z->avail_in = (uInt)(s->in_len - s->in_pos);
        z->next_out = out;
        z->avail_out = (uInt)cap;
        int zr = sym_inflate(z, Z_NO_FLUSH);
        s->in_pos = s->in_len - z->avail_in;
        size_t n = cap - z->avail_out;
        if (zr == Z_STREAM_END)
            s->member_done = true;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return crio_error_set(CRIO_EINVAL, "layer blob: gzip: %s", z->msg ? z->msg : "corrupt data");
        if (n) {
            *len = n;
            return 0;
        }
        if (!s->member_done && s->in_eof && s->in_pos == s->in_len)
            return crio_error_set(CRIO_EINVAL, "layer blob: gzip: unexpected end of stream (truncated)");
    }
}

static int next_zstd(struct src *s, unsigned char *out, size_t cap, size_t *len)
{
    for (;;) {
        if (s->in_pos == s->in_len && !s->in_eof) {
            int r = src_read(s);
            if (r < 0)
                return r;
        }
        bool at_end = s->in_pos == s->in_len && s->in_eof;
        if (at_end && s->frame_done) {
            *len = 0;
            return 0;
        }
        ZSTD_inBuffer ib = { s->inp, s->in_len, s->in_pos };
        ZSTD_outBuffer ob = { out, cap, 0 };
        size_t zr = sym_ZSTD_decompressStream(s->zs, &ob, &ib);
        s->in_pos = ib.pos;
        if (sym_ZSTD_isError(zr))
            return crio_error_set(CRIO_EINVAL, "layer blob: zstd: %s", sym_ZSTD_getErrorName(zr));
        s->frame_done = zr == 0; /* a frame is complete and flushed */
        if (ob.pos) {
            *len = ob.pos;
            return 0;
        }
        if (at_end && !s->frame_done)
            return crio_error_set(CRIO_EINVAL, "layer blob: zstd: unexpected end of stream (truncated)");
    }
}

/* The next piece of the tar stream into `out` (0 bytes at the end), hashed. */
static int src_next(struct src *s, unsigned char *out, size_t cap, size_t *len)
{
    int r;
    switch (s->comp) {
    case COMP_GZIP: r = next_gzip(s, out, cap, len); break;
    case COMP_ZSTD: r = next_zstd(s, out, cap, len); break;
    default: r = next_plain(s, out, cap, len); break;
    }
    if (r < 0)
        return r;
    if (*len) {
        if (sym_EVP_DigestUpdate(s->md, out, *len) != 1)
            return crio_error_set(CRIO_EINTERNAL, "sha256 update");
        s->total += *len;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The reader thread and its ring of buffers                           */

struct reader {
    struct src src;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[NBUF];
    size_t len[NBUF];
    unsigned head, count; /* filled buffers: head, head+1, ... (mod NBUF) */
    bool held;            /* the consumer is reading buf[head] */
    bool done, stop;
    int err;
    char msg[1024];
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->count == NBUF && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        unsigned slot = (r->head + r->count) % NBUF;
        pthread_mutex_unlock(&r->mu);

        size_t n = 0;
        int e = src_next(&r->src, r->buf[slot], CHUNK, &n);

        pthread_mutex_lock(&r->mu);
        if (e < 0) {
            r->err = e;
            snprintf(r->msg, sizeof r->msg, "%s", crio_error_message(crio_error_last()));
            r->done = true;
        } else if (n == 0) {
            r->done = true;
        } else {
            r->len[slot] = n;
            r->count++;
        }
        bool done = r->done;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (done)
            return NULL;
    }
}

static int reader_start(struct reader *r, int fd, const crio_unpack_source *from)
{
    int e = src_init(&r->src, fd, from);
    if (e < 0)
        return e;
    for (int i = 0; i < NBUF; i++)
        if (!(r->buf[i] = malloc(CHUNK)))
            return crio_error_oom();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    e = pthread_create(&r->thread, NULL, reader_main, r);
    if (e)
        return crio_error_sys(e, "layer unpack: start reader thread");
    r->started = true;
    return 0;
}

/* Releases the buffer the caller held and returns the next one (0 bytes at the end). */
static int reader_next(struct reader *r, const void **buf, size_t *len)
{
    pthread_mutex_lock(&r->mu);
    if (r->held) {
        r->held = false;
        r->head = (r->head + 1) % NBUF;
        r->count--;
        pthread_cond_broadcast(&r->cv);
    }
    while (r->count == 0 && !r->done)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->count > 0) {
        r->held = true;
        *buf = r->buf[r->head];
        *len = r->len[r->head];
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    int err = r->err;
    pthread_mutex_unlock(&r->mu);
    *buf = NULL;
    *len = 0;
    return err < 0 ? crio_error_set(err, "%s", r->msg) : 0;
}

static void reader_free(struct reader *r)
{
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    for (int i = 0; i < NBUF; i++)
        free(r->buf[i]);
    src_free(&r->src);
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */

/*
 * Normalizes an archive path into `out`: components joined by one '/', no
 * leading '/', no "." or empty components.  "" is the target directory.
 */
static int clean_path(char out[PATH_MAX], size_t *len, const char *in, const char *what, const char *entry)
{
    size_t o = 0;
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && *q != '/')
            q++;
        size_t n = (size_t)(q - p);
        if (n == 1 && p[0] == '.') {
            p = q;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": %s \"%s\" has a \"..\" component", entry,
                                  what, in);
        if (o + (o ? 1 : 0) + n >= PATH_MAX)
            return crio_error_set(CRIO_EINVAL, "layer entry \"%.200s...\": %s longer than %d bytes", entry, what,
                                  PATH_MAX - 1);
        if (o)
            out[o++] = '/';
        memcpy(out + o, p, n);
        o += n;
        p = q;
    }
    out[o] = '\0';
    *len = o;
    return 0;
}

/* Pushes fd on a growable stack of fds. */
static int fd_push(int **stack, size_t *depth, size_t *cap, int fd)
{
    if (*depth == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        int *ns = realloc(*stack, nc * sizeof *ns);
        if (!ns)
            return -ENOMEM;
        *stack = ns;
        *cap = nc;
    }
    (*stack)[(*depth)++] = fd;
    return 0;
}

/*
 * openat2(RESOLVE_IN_ROOT) done by hand: one O_NOFOLLOW component at a
 * time; a symlink's target is spliced into the rest of the path, an absolute
 * one restarting at the root, and ".." never climbs above the root.
 */
static int walk_in_root(int root, const char *path, bool follow_last)
{
    char *work = strdup(path);
    if (!work)
        return -ENOMEM;
    int *stack = NULL;
    size_t depth = 0, cap = 0;
    int links = 0, ret;
    char *p = work;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        char *q = p;
        while (*q && *q != '/')
            q++;
        const char *t = q;
        while (*t == '/')
            t++;
        bool last = !*t;
        char saved = *q;
        *q = '\0';
        if (strcmp(p, ".") == 0) {
            *q = saved;
            p = q;
            continue;
        }
        if (strcmp(p, "..") == 0) {
            if (depth)
                close(stack[--depth]);
            *q = saved;
            p = q;
            continue;
        }
        int cur = depth ? stack[depth - 1] : root;
        int fd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (fd_push(&stack, &depth, &cap, fd) < 0) {
                close(fd);
                ret = -ENOMEM;
                goto out;
            }
            *q = saved;
            p = q;
            continue;
        }
        if (errno != ELOOP && errno != ENOTDIR) {
            ret = -errno;
            goto out;
        }
        char target[PATH_MAX];
        ssize_t n = readlinkat(cur, p, target, sizeof target);
        if (n < 0) {
            ret = errno == EINVAL ? -ENOTDIR : -errno; /* EINVAL: not a symlink */
            goto out;
        }
        if ((size_t)n >= sizeof target) {
            ret = -ENAMETOOLONG;
            goto out;
        }
        if ((last && !follow_last) || ++links > MAX_SYMLINKS) {
            ret = -ELOOP;
            goto out;
        }
        target[n] = '\0';
        *q = saved;
        char *nw;
        if (asprintf(&nw, "%s/%s", target, q) < 0) {
            ret = -ENOMEM;
            goto out;
        }
        free(work);
        work = p = nw;
        if (target[0] == '/')
            while (depth)
                close(stack[--depth]);
    }
    if (depth) {
        ret = stack[--depth];
    } else {
        ret = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ret < 0)
            ret = -errno;
    }
out:
    while (depth)
        close(stack[--depth]);
    free(stack);
    free(work);
    return ret;
}

/*
 * Opens directory `path` (relative, normalized) under `root`, symlinks
 * resolved as if `root` were "/".  Returns an O_RDONLY fd or -errno.
 */
static int open_in_root(int root, const char *path, bool follow_last)
{
    if (!*path) {
        int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    if (!__atomic_load_n(&force_fallback, __ATOMIC_RELAXED) && !__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) {
        struct open_how how = {
            .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW),
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        for (int i = 0; i < 64; i++) {
            long fd = syscall(SYS_openat2, root, path, &how, sizeof how);
            if (fd >= 0)
                return (int)fd;
            if (errno == EAGAIN || errno == EINTR) /* a concurrent rename somewhere: retry */
                continue;
            if (errno != ENOSYS)
                return -errno;
            crio_log_debug("layer unpack: no openat2 in this kernel; resolving paths component by component");
            __atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
            break;
        }
        if (!__atomic_load_n(&openat2_missing, __ATOMIC_RELAXED))
            return -EAGAIN;
    }
    return walk_in_root(root, path, follow_last);
}

/* rm -rf of `name` in `dfd`, never following a symlink.  0 or -errno. */
static int rm_rf_at(int dfd, const char *name, bool is_dir)
{
    if (!is_dir)
        return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        bool sub = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                    r = -errno;
                continue;
            }
            sub = S_ISDIR(st.st_mode);
        }
        r = rm_rf_at(fd, de->d_name, sub);
    }
    closedir(d);
    if (r < 0)
        return r;
    return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* Bookkeeping: a string arena, the set of paths this layer wrote (VFS) */

struct arena {
    char *p;
    size_t len, cap;
};

static int arena_add(struct arena *a, const char *s, size_t n, size_t *off)
{
    if (a->len + n + 1 > a->cap) {
        size_t nc = a->cap ? a->cap : 4096;
        while (a->len + n + 1 > nc)
            nc *= 2;
        char *np = realloc(a->p, nc);
        if (!np)
            return crio_error_oom();
        a->p = np;
        a->cap = nc;
    }
    memcpy(a->p + a->len, s, n);
    a->p[a->len + n] = '\0';
    *off = a->len;
    a->len += n + 1;
    return 0;
}

struct pent {
    uint64_t hash;
    size_t off;
    uint32_t len;
    bool used;
    bool explicit_; /* an entry of the layer (else only an ancestor of one) */
};

struct pset {
    struct pent *tab;
    size_t cap, n; /* cap: a power of two */
    struct arena a;
};

static uint64_t path_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct pent *pset_slot(const struct pset *s, const char *p, size_t n, uint64_t h)
{
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        struct pent *e = &s->tab[i];
        if (!e->used || (e->hash == h && e->len == n && memcmp(s->a.p + e->off, p, n) == 0))
            return e;
    }
}

static const struct pent *pset_find(const struct pset *s, const char *p, size_t n)
{
    if (!s->cap)
        return NULL;
    struct pent *e = pset_slot(s, p, n, path_hash(p, n));
    return e->used ? e : NULL;
}

static int pset_put(struct pset *s, const char *p, size_t n, bool explicit_, bool *existed)
{
    if ((s->n + 1) * 4 > s->cap * 3) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        struct pent *nt = calloc(nc, sizeof *nt);
        if (!nt)
            return crio_error_oom();
        struct pset ns = { nt, nc, s->n, s->a };
        for (size_t i = 0; i < s->cap; i++)
            if (s->tab[i].used)
                *pset_slot(&ns, s->a.p + s->tab[i].off, s->tab[i].len, s->tab[i].hash) = s->tab[i];
        free(s->tab);
        s->tab = nt;
        s->cap = nc;
    }
    uint64_t h = path_hash(p, n);
    struct pent *e = pset_slot(s, p, n, h);
    *existed = e->used;
    if (e->used) {
        e->explicit_ |= explicit_;
        return 0;
    }
    size_t off;
    int r = arena_add(&s->a, p, n, &off);
    if (r < 0)
        return r;
    *e = (struct pent){ .hash = h, .off = off, .len = (uint32_t)n, .used = true, .explicit_ = explicit_ };
    s->n++;
    return 0;
}

/* Records `p` and its ancestors (a recorded path's ancestors are always recorded). */
static int pset_add_path(struct pset *s, const char *p, size_t n, bool explicit_)
{
    bool existed;
    int r = pset_put(s, p, n, explicit_, &existed);
    if (r < 0 || existed)
        return r;
    for (size_t i = n; i-- > 0;) {
        if (p[i] != '/')
            continue;
        r = pset_put(s, p, i, false, &existed);
        if (r < 0 || existed)
            return r;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Extraction                                                          */

struct dirtime {
    size_t off, len;
    struct timespec ts[2];
};

struct ctx {
    int root;
    crio_unpack_mode mode;
    struct archive *a;
    struct archive_entry *e;
    const char *name; /* the entry's name as in the archive, for messages */
    char path[PATH_MAX];
    size_t plen;
    char link[PATH_MAX];
    size_t llen;
    /* the last parent directory opened */
    char cpath[PATH_MAX];
    size_t cplen;
    int cfd;
    bool cvalid;
    /* directories whose times are set at the end */
    struct dirtime *dirs;
    size_t ndirs, capdirs;
    struct arena darena;
    struct pset set; /* VFS: paths this layer wrote */
    struct reader rd;
    int read_err;
    uint64_t entries;
};

static void ctx_free(struct ctx *c)
{
    if (!c)
        return;
    if (c->a)
        sym_archive_read_free(c->a);
    reader_free(&c->rd);
    if (c->cfd >= 0)
        close(c->cfd);
    free(c->dirs);
    free(c->darena.p);
    free(c->set.tab);
    free(c->set.a.p);
    free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct ctx, ctx_free)

static bool errno_is_archive_fault(int e)
{
    return e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG || e == EEXIST || e == EISDIR ||
           e == EINVAL || e == EXDEV || e == EMLINK;
}

/* An error about the current entry; errors its content causes are CRIO_EINVAL. */
__attribute__((format(printf, 3, 4))) static int entry_err(struct ctx *c, int errnum, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int code = errno_is_archive_fault(errnum) ? CRIO_EINVAL : crio_error_from_errno(errnum);
    return crio_error_set_errno(code, errnum, "layer entry \"%s\": %s", c->name, what);
}

static la_ssize_t archive_cb_read(struct archive *a, void *ud, const void **buf)
{
    struct ctx *c = ud;
    size_t n;
    int r = reader_next(&c->rd, buf, &n);
    if (r < 0) {
        c->read_err = r;
        sym_archive_set_error(a, EIO, "%s", crio_error_message(crio_error_last()));
        return -1;
    }
    return (la_ssize_t)n;
}

static int archive_fail(struct ctx *c, const char *what)
{
    if (c->read_err)
        return c->read_err; /* the reader's error is set */
    const char *msg = sym_archive_error_string(c->a);
    if (c->name && *what)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": %s: %s", c->name, what, msg ? msg : "tar error");
    return crio_error_set(CRIO_EINVAL, "layer: %s", msg ? msg : "tar error");
}

/*
 * Creates the missing directories of `path` (0755, whatever the umask), one
 * component at a time; each existing prefix is resolved in the root, so a
 * symlink among them is followed only inside it, and a dangling one is an
 * error (mkdirat says EEXIST, O_NOFOLLOW refuses it).  Returns an fd or -errno.
 */
static int make_dirs(struct ctx *c, char *path)
{
    int cur = c->root;
    char *p = path;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        int fd = open_in_root(c->root, path, true);
        if (fd == -ENOENT) {
            bool made = mkdirat(cur, p, 0755) == 0;
            if (!made && errno != EEXIST) {
                fd = -errno;
            } else {
                /* EEXIST after ENOENT: a dangling symlink; O_NOFOLLOW refuses it. */
                fd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                    fd = -errno;
                else if (made && fchmod(fd, 0755) < 0) { /* whatever the umask */
                    int e = errno;
                    close(fd);
                    fd = -e;
                }
            }
        }
        if (slash)
            *slash = '/';
        if (cur != c->root)
            close(cur);
        if (fd < 0)
            return fd;
        cur = fd;
        if (!slash)
            return cur;
        p = slash + 1;
    }
}

/*
 * The directory `path`[0..len) of the target, created with its missing
 * parents when `create`.  The fd is borrowed: the cache owns it until the
 * next get_dir call (a removal only marks the cache stale, so an fd in use
 * stays open).
 */
static int get_dir(struct ctx *c, const char *path, size_t len, bool create, int *out)
{
    if (len == 0) {
        *out = c->root;
        return 0;
    }
    if (c->cvalid && c->cplen == len && memcmp(c->cpath, path, len) == 0) {
        *out = c->cfd;
        return 0;
    }
    if (c->cfd >= 0)
        close(c->cfd);
    c->cfd = -1;
    c->cvalid = false;
    memmove(c->cpath, path, len);
    c->cpath[len] = '\0';
    int fd = open_in_root(c->root, c->cpath, true);
    if (fd == -ENOENT && create)
        fd = make_dirs(c, c->cpath);
    if (fd < 0)
        return entry_err(c, -fd, "directory \"%s\"", c->cpath);
    c->cfd = fd;
    c->cplen = len;
    c->cvalid = true;
    *out = fd;
    return 0;
}

/* Makes the cached directory the given fd (taking it), for the entries that follow. */
static void cache_dir(struct ctx *c, int fd, const char *path, size_t len)
{
    if (c->cfd >= 0)
        close(c->cfd);
    memcpy(c->cpath, path, len);
    c->cpath[len] = '\0';
    c->cplen = len;
    c->cfd = fd;
    c->cvalid = true;
}

/*
 * Clears the way for a new entry `name` in `pfd`: a non-directory is
 * removed, and so is a directory unless the new entry is one (they merge).
 */
static int make_room(struct ctx *c, int pfd, const char *name, bool new_is_dir, bool *merged, bool *was_whiteout)
{
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : entry_err(c, errno, "stat");
    if (S_ISDIR(st.st_mode) && new_is_dir) {
        *merged = true;
        return 0;
    }
    if (was_whiteout)
        *was_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
    c->cvalid = false; /* the cached directory may be (under) what goes away */
    int r = rm_rf_at(pfd, name, S_ISDIR(st.st_mode));
    return r < 0 ? entry_err(c, -r, "remove the existing entry") : 0;
}

static int entry_owner(struct ctx *c, uid_t *uid, gid_t *gid)
{
    la_int64_t u = sym_archive_entry_uid(c->e), g = sym_archive_entry_gid(c->e);
    if (u < 0 || u >= (la_int64_t)UINT32_MAX || g < 0 || g >= (la_int64_t)UINT32_MAX)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": owner %lld:%lld out of range", c->name,
                              (long long)u, (long long)g);
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* atime and mtime; atime is never older than mtime (as Docker and containerd do). */
static void entry_times(struct ctx *c, struct timespec ts[2])
{
    struct archive_entry *e = c->e;
    ts[1].tv_sec = sym_archive_entry_mtime(e);
    ts[1].tv_nsec = sym_archive_entry_mtime_nsec(e);
    if (ts[1].tv_nsec < 0 || ts[1].tv_nsec >= 1000000000L)
        ts[1].tv_nsec = 0;
    ts[0] = ts[1];
    if (sym_archive_entry_atime_is_set(e)) {
        struct timespec a = { sym_archive_entry_atime(e), sym_archive_entry_atime_nsec(e) };
        if (a.tv_nsec >= 0 && a.tv_nsec < 1000000000L &&
            (a.tv_sec > ts[1].tv_sec || (a.tv_sec == ts[1].tv_sec && a.tv_nsec > ts[1].tv_nsec)))
            ts[0] = a;
    }
}

/* The entry's xattrs, on `fd`, or (fd < 0) on `name` in `pfd` without following it. */
static int set_xattrs(struct ctx *c, int fd, int pfd, const char *name)
{
    if (sym_archive_entry_xattr_reset(c->e) == 0)
        return 0;
    const char *key;
    const void *val;
    size_t size;
    while (sym_archive_entry_xattr_next(c->e, &key, &val, &size) == ARCHIVE_OK) {
        if (strncmp(key, "trusted.overlay.", 16) == 0 || strncmp(key, "user.overlay.", 13) == 0) {
            /* overlayfs would obey them (redirects, metacopy...): never from an archive */
            crio_log_debug("layer entry \"%s\": xattr %s dropped", c->name, key);
            continue;
        }
        int r;
        if (fd >= 0) {
            r = fsetxattr(fd, key, val, size, 0);
        } else {
            char proc[64 + NAME_MAX];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", pfd, name);
            r = lsetxattr(proc, key, val, size, 0); /* the last component is not followed */
        }
        if (r < 0) {
            if (errno == ENOTSUP || (errno == EPERM && fd < 0 && strncmp(key, "user.", 5) == 0)) {
                crio_log_debug("layer entry \"%s\": xattr %s not supported here, skipped", c->name, key);
                continue;
            }
            return entry_err(c, errno, "set xattr %s", key);
        }
    }
    return 0;
}

static int defer_dir_times(struct ctx *c, const char *path, size_t len)
{
    if (c->ndirs == c->capdirs) {
        size_t nc = c->capdirs ? c->capdirs * 2 : 256;
        struct dirtime *nd = realloc(c->dirs, nc * sizeof *nd);
        if (!nd)
            return crio_error_oom();
        c->dirs = nd;
        c->capdirs = nc;
    }
    struct dirtime *d = &c->dirs[c->ndirs];
    int r = arena_add(&c->darena, path, len, &d->off);
    if (r < 0)
        return r;
    d->len = len;
    entry_times(c, d->ts);
    c->ndirs++;
    return 0;
}

/* Owner, mode, xattrs of a directory now; its times at the end. */
static int dir_meta(struct ctx *c, int fd)
{
    uid_t uid;
    gid_t gid;
    int r = entry_owner(c, &uid, &gid);
    if (r < 0)
        return r;
    if (fchown(fd, uid, gid) < 0)
        return entry_err(c, errno, "chown");
    if (fchmod(fd, sym_archive_entry_mode(c->e) & 07777) < 0)
        return entry_err(c, errno, "chmod");
    r = set_xattrs(c, fd, -1, NULL);
    if (r < 0)
        return r;
    return defer_dir_times(c, c->path, c->plen);
}


/*
 * Starts writing back [from, to) of a file being unpacked, without waiting
 * (the store's sync at the end of a pull waits), and returns `to`.  A layer
 * is made durable before an image names it; started early, the disk writes
 * overlap the rest of the download instead of all waiting at its end.  Big
 * files only: small ones are left to that sync, which batches them.  A
 * failure only means the later sync does the work.
 */
#define WRITEBACK_CHUNK (8 << 20) /* while a file is written */
#define WRITEBACK_MIN (1 << 20)   /* what is left when it ends */
static int64_t start_writeback(int fd, int64_t from, int64_t to)
{
    (void)sync_file_range(fd, from, to - from, SYNC_FILE_RANGE_WRITE);
    return to;
}

static int do_file(struct ctx *c, int pfd, const char *name)
{
    uid_t uid;
    gid_t gid;
    int r = entry_owner(c, &uid, &gid);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = -1;
    for (int tries = 0;; tries++) {
        fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST || tries == 2)
            break;
        if ((r = make_room(c, pfd, name, false, NULL, NULL)) < 0)
            return r;
    }
    if (fd < 0)
        return entry_err(c, errno, "create");
    int64_t pos = 0, kicked = 0; /* written, and handed to writeback */
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int ar = sym_archive_read_data_block(c->a, &buf, &size, &off);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN)
            return archive_fail(c, "read data");
        if (off != pos) { /* a hole in a sparse file */
            if (off < pos)
                return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": data blocks out of order", c->name);
            if (lseek(fd, off, SEEK_SET) < 0)
                return entry_err(c, errno, "seek");
            pos = off;
        }
        if (size && crio_fs_write_all(fd, buf, size) < 0)
            return entry_err(c, errno, "write");
        pos += (int64_t)size;
        if (pos - kicked >= WRITEBACK_CHUNK)
            kicked = start_writeback(fd, kicked, pos);
    }
    if (pos - kicked >= WRITEBACK_MIN)
        start_writeback(fd, kicked, pos);
    if (sym_archive_entry_size_is_set(c->e) && pos < sym_archive_entry_size(c->e) &&
        ftruncate(fd, sym_archive_entry_size(c->e)) < 0)
        return entry_err(c, errno, "truncate");
    /* chown clears setuid/setgid, and writes and chown clear file capabilities: mode and xattrs come after */
    if (fchown(fd, uid, gid) < 0)
        return entry_err(c, errno, "chown");
    if (fchmod(fd, sym_archive_entry_mode(c->e) & 07777) < 0)
        return entry_err(c, errno, "chmod");
    if ((r = set_xattrs(c, fd, -1, NULL)) < 0)
        return r;
    struct timespec ts[2];
    entry_times(c, ts);
    if (futimens(fd, ts) < 0)
        return entry_err(c, errno, "set times");
    return 0;
}

static int set_opaque(struct ctx *c, int fd)
{
    if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
        return entry_err(c, errno, "set " OPAQUE_XATTR);
    return 0;
}

static int do_dir(struct ctx *c, int pfd, const char *name)
{
    bool merged = false, was_whiteout = false;
    if (mkdirat(pfd, name, 0700) < 0) {
        if (errno != EEXIST)
            return entry_err(c, errno, "mkdir");
        int r = make_room(c, pfd, name, true, &merged, &was_whiteout);
        if (r < 0)
            return r;
        if (!merged && mkdirat(pfd, name, 0700) < 0)
            return entry_err(c, errno, "mkdir");
    }
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return entry_err(c, errno, "open");
    int r = dir_meta(c, fd);
    /* overlay: a directory that replaces this layer's whiteout of it hides the lower one */
    if (r == 0 && was_whiteout && c->mode == CRIO_UNPACK_OVERLAY)
        r = set_opaque(c, fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    cache_dir(c, fd, c->path, c->plen); /* its entries likely follow */
    return 0;
}

static int do_symlink(struct ctx *c, int pfd, const char *name)
{
    const char *target = sym_archive_entry_symlink(c->e);
    if (!target || !*target)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": symlink without a target", c->name);
    uid_t uid;
    gid_t gid;
    int r = entry_owner(c, &uid, &gid);
    if (r < 0)
        return r;
    for (int tries = 0;; tries++) {
        if (symlinkat(target, pfd, name) == 0)
            break;
        if (errno != EEXIST || tries == 2)
            return entry_err(c, errno, "symlink");
        if ((r = make_room(c, pfd, name, false, NULL, NULL)) < 0)
            return r;
    }
    if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(c, errno, "chown");
    if ((r = set_xattrs(c, -1, pfd, name)) < 0)
        return r;
    struct timespec ts[2];
    entry_times(c, ts);
    if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(c, errno, "set times");
    return 0;
}

static int do_node(struct ctx *c, int pfd, const char *name, mode_t type)
{
    uid_t uid;
    gid_t gid;
    int r = entry_owner(c, &uid, &gid);
    if (r < 0)
        return r;
    dev_t dev = type == S_IFIFO ? 0
                                : makedev(sym_archive_entry_rdevmajor(c->e), sym_archive_entry_rdevminor(c->e));
    for (int tries = 0;; tries++) {
        if (mknodat(pfd, name, type | 0600, dev) == 0)
            break;
        if (errno != EEXIST || tries == 2)
            return entry_err(c, errno, "mknod");
        if ((r = make_room(c, pfd, name, false, NULL, NULL)) < 0)
            return r;
    }
    if (fchownat(pfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(c, errno, "chown");
    /* `name` is the node just made; opening a device to fchmod it could have effects */
    if (fchmodat(pfd, name, sym_archive_entry_mode(c->e) & 07777, 0) < 0)
        return entry_err(c, errno, "chmod");
    if ((r = set_xattrs(c, -1, pfd, name)) < 0)
        return r;
    struct timespec ts[2];
    entry_times(c, ts);
    if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(c, errno, "set times");
    return 0;
}

static int do_hardlink(struct ctx *c, int pfd, const char *name, const char *target)
{
    int r = clean_path(c->link, &c->llen, target, "hard link target", c->name);
    if (r < 0)
        return r;
    if (c->llen == 0)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": hard link to the layer root", c->name);
    if (c->llen == c->plen && memcmp(c->link, c->path, c->plen) == 0) {
        crio_log_debug("layer entry \"%s\": hard link to itself, skipped", c->name);
        return 0;
    }
    char *slash = strrchr(c->link, '/');
    const char *tname = c->link;
    _cleanup_close_ int tfd = -1;
    if (slash) {
        *slash = '\0';
        tfd = open_in_root(c->root, c->link, true);
        *slash = '/';
        tname = slash + 1;
        if (tfd < 0)
            return entry_err(c, -tfd, "hard link target \"%s\"", target);
    }
    int tdir = slash ? tfd : c->root;
    struct stat st;
    if (fstatat(tdir, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(c, errno, "hard link target \"%s\"", target);
    if (S_ISDIR(st.st_mode))
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": hard link target \"%s\" is a directory", c->name,
                              target);
    for (int tries = 0;; tries++) {
        if (linkat(tdir, tname, pfd, name, 0) == 0) /* no AT_SYMLINK_FOLLOW: a symlink is linked, not followed */
            return 0;
        if (errno != EEXIST || tries == 2)
            return entry_err(c, errno, "hard link to \"%s\"", target);
        if ((r = make_room(c, pfd, name, false, NULL, NULL)) < 0)
            return r;
    }
}

/*
 * VFS: removes what `rel` (the path of `name` in `dfd`) holds from lower
 * layers.  What this layer wrote stays: a non-directory it wrote is kept
 * whole, a directory it wrote or wrote into is pruned of the rest.
 */
static int prune_lower(struct ctx *c, int dfd, const char *name, char *rel, size_t rlen)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    const struct pent *p = pset_find(&c->set, rel, rlen);
    bool dir = S_ISDIR(st.st_mode);
    if (!p || !dir) {
        if (p && p->explicit_)
            return 0;
        c->cvalid = false;
        return rm_rf_at(dfd, name, dir);
    }
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t n = strlen(de->d_name);
        if (rlen + 1 + n >= PATH_MAX) { /* too long to be a path of the layer */
            struct stat cst;
            if (fstatat(fd, de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0) {
                c->cvalid = false;
                r = rm_rf_at(fd, de->d_name, S_ISDIR(cst.st_mode));
            }
            continue;
        }
        rel[rlen] = '/';
        memcpy(rel + rlen + 1, de->d_name, n + 1);
        r = prune_lower(c, fd, de->d_name, rel, rlen + 1 + n);
        rel[rlen] = '\0';
    }
    closedir(d);
    return r;
}

/* VFS: the lower content of every child of directory `dfd` (at rel[0..rlen)) goes. */
static int prune_children(struct ctx *c, int dfd, char *rel, size_t rlen)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *de;
    int r = 0;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t n = strlen(de->d_name), at = rlen ? rlen + 1 : 0;
        if (at + n >= PATH_MAX)
            continue; /* cannot happen: names of a directory under PATH_MAX are short */
        if (rlen)
            rel[rlen] = '/';
        memcpy(rel + at, de->d_name, n + 1);
        r = prune_lower(c, fd, de->d_name, rel, at + n);
        rel[rlen] = '\0';
    }
    closedir(d);
    return r;
}

/* ".wh..wh..opq" in directory path[0..dlen). */
static int do_opaque(struct ctx *c, size_t dlen)
{
    int dfd;
    int r = get_dir(c, c->path, dlen, true, &dfd);
    if (r < 0)
        return r;
    if (c->mode == CRIO_UNPACK_OVERLAY) {
        _cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* dfd may be O_PATH */
        if (fd < 0)
            return entry_err(c, errno, "open directory");
        return set_opaque(c, fd);
    }
    char rel[PATH_MAX];
    memcpy(rel, c->path, dlen);
    rel[dlen] = '\0';
    if ((r = pset_add_path(&c->set, c->path, dlen, false)) < 0)
        return r;
    r = prune_children(c, dfd, rel, dlen);
    return r < 0 ? entry_err(c, -r, "remove the lower contents of \"%s\"", rel) : 0;
}

/* ".wh.NAME" in directory path[0..dlen). */
static int do_whiteout(struct ctx *c, size_t dlen, const char *wname)
{
    if (!*wname || strcmp(wname, ".") == 0 || strcmp(wname, "..") == 0)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": invalid whiteout", c->name);
    int pfd;
    int r = get_dir(c, c->path, dlen, true, &pfd);
    if (r < 0)
        return r;
    if (c->mode == CRIO_UNPACK_OVERLAY) {
        struct stat st;
        if (fstatat(pfd, wname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            /* This layer has NAME itself: it hides the lower one already; a directory of
             * this layer must also stop merging with the lower one. */
            if (!S_ISDIR(st.st_mode))
                return 0;
            _cleanup_close_ int fd = openat(pfd, wname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                return entry_err(c, errno, "open directory");
            return set_opaque(c, fd);
        }
        if (errno != ENOENT)
            return entry_err(c, errno, "stat");
        uid_t uid;
        gid_t gid;
        if ((r = entry_owner(c, &uid, &gid)) < 0)
            return r;
        if (mknodat(pfd, wname, S_IFCHR, makedev(0, 0)) < 0)
            return entry_err(c, errno, "create overlay whiteout");
        if (fchownat(pfd, wname, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return entry_err(c, errno, "chown");
        return 0;
    }
    char rel[PATH_MAX];
    size_t n = strlen(wname), rlen = dlen ? dlen + 1 + n : n;
    if (rlen >= PATH_MAX)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": path too long", c->name);
    memcpy(rel, c->path, dlen);
    if (dlen)
        rel[dlen] = '/';
    memcpy(rel + (dlen ? dlen + 1 : 0), wname, n + 1);
    if ((r = pset_add_path(&c->set, c->path, dlen, false)) < 0)
        return r;
    r = prune_lower(c, pfd, wname, rel, rlen);
    return r < 0 ? entry_err(c, -r, "remove \"%s\"", rel) : 0;
}

/* An entry for the target directory itself ("./"): only its metadata. */
static int do_root(struct ctx *c)
{
    if (sym_archive_entry_hardlink(c->e) || sym_archive_entry_filetype(c->e) != AE_IFDIR)
        return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": would replace the layer root", c->name);
    _cleanup_close_ int fd = openat(c->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return entry_err(c, errno, "open");
    return dir_meta(c, fd);
}

static int do_entry(struct ctx *c)
{
    c->name = sym_archive_entry_pathname(c->e);
    if (!c->name)
        return crio_error_set(CRIO_EINVAL, "layer: entry %llu has no usable name",
                              (unsigned long long)c->entries);
    int r = clean_path(c->path, &c->plen, c->name, "path", c->name);
    if (r < 0)
        return r;
    if (c->plen == 0)
        return do_root(c);
    char *slash = memrchr(c->path, '/', c->plen);
    size_t dlen = slash ? (size_t)(slash - c->path) : 0;
    const char *base = slash ? slash + 1 : c->path;

    if (strncmp(base, ".wh.", 4) == 0) {
        if (strcmp(base, ".wh..wh..opq") == 0)
            return do_opaque(c, dlen);
        if (strncmp(base, ".wh..wh.", 8) == 0) { /* AUFS bookkeeping (.wh..wh.plnk ...) */
            crio_log_debug("layer entry \"%s\": AUFS metadata skipped", c->name);
            return 0;
        }
        return do_whiteout(c, dlen, base + 4);
    }

    int pfd;
    if ((r = get_dir(c, c->path, dlen, true, &pfd)) < 0)
        return r;
    const char *hardlink = sym_archive_entry_hardlink(c->e);
    if (hardlink) {
        r = do_hardlink(c, pfd, base, hardlink);
    } else {
        mode_t type = sym_archive_entry_filetype(c->e);
        switch (type) {
        case AE_IFREG: r = do_file(c, pfd, base); break;
        case AE_IFDIR: r = do_dir(c, pfd, base); break;
        case AE_IFLNK: r = do_symlink(c, pfd, base); break;
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: r = do_node(c, pfd, base, type); break;
        default:
            return crio_error_set(CRIO_EINVAL, "layer entry \"%s\": unsupported file type 0%o", c->name,
                                  (unsigned)type);
        }
    }
    if (r == 0 && c->mode == CRIO_UNPACK_VFS)
        r = pset_add_path(&c->set, c->path, c->plen, true);
    return r;
}

/* Directory times, now that their contents are written. */
static void apply_dir_times(struct ctx *c)
{
    for (size_t i = 0; i < c->ndirs; i++) {
        const struct dirtime *d = &c->dirs[i];
        int fd = open_in_root(c->root, c->darena.p + d->off, false);
        if (fd < 0) { /* removed or replaced later in the layer */
            crio_log_debug("layer unpack: directory \"%s\" is gone, times not set", c->darena.p + d->off);
            continue;
        }
        if (futimens(fd, d->ts) < 0)
            crio_log_debug("layer unpack: set times of \"%s\": %s", c->darena.p + d->off, strerror(errno));
        close(fd);
    }
}

static int layer_unpack(int dirfd, int blob_fd, const crio_unpack_source *from, crio_unpack_mode mode,
                        crio_unpack_result *res)
{
    if (mode != CRIO_UNPACK_OVERLAY && mode != CRIO_UNPACK_VFS)
        return crio_error_set(CRIO_EINVAL, "layer unpack: unknown mode %d", (int)mode);
    struct stat st;
    if (fstat(dirfd, &st) < 0)
        return crio_error_sys(errno, "layer unpack: target directory");
    if (!S_ISDIR(st.st_mode))
        return crio_error_set(CRIO_EINVAL, "layer unpack: target is not a directory");
    int r = crio_dl_archive();
    if (r < 0 || (r = crio_dl_crypto()) < 0 || (r = crio_dl_decompress()) < 0)
        return crio_error_wrap(r, "layer unpack");

    _cleanup_(ctx_freep) struct ctx *c = calloc(1, sizeof *c);
    if (!c)
        return crio_error_oom();
    c->root = dirfd;
    c->mode = mode;
    c->cfd = -1;
    r = reader_start(&c->rd, blob_fd, from);
    if (r < 0)
        return r;

    c->a = sym_archive_read_new();
    if (!c->a)
        return crio_error_oom();
    if (sym_archive_read_support_format_tar(c->a) != ARCHIVE_OK)
        return crio_error_set(CRIO_EINTERNAL, "libarchive: %s", sym_archive_error_string(c->a));
    if (sym_archive_read_open(c->a, c, NULL, archive_cb_read, NULL) != ARCHIVE_OK)
        return archive_fail(c, "");

    for (;;) {
        c->name = NULL;
        int ar = sym_archive_read_next_header(c->a, &c->e);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) /* ARCHIVE_RETRY too: a damaged header */
            return archive_fail(c, "");
        if (ar == ARCHIVE_WARN)
            crio_log_debug("layer unpack: %s", sym_archive_error_string(c->a));
        c->entries++;
        if ((r = do_entry(c)) < 0)
            return r;
    }

    /* The rest of the stream (end-of-archive blocks, padding) is part of the diff_id. */
    for (;;) {
        const void *buf;
        size_t n;
        if ((r = reader_next(&c->rd, &buf, &n)) < 0)
            return r;
        if (n == 0)
            break;
    }
    apply_dir_times(c);

    /* The reader is done: its hash is final. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (sym_EVP_DigestFinal_ex(c->rd.src.md, md, &mdlen) != 1 || mdlen != 32)
        return crio_error_set(CRIO_EINTERNAL, "sha256 final");
    if (res) {
        crio_digest_format(res->diff_id, md);
        res->tar_bytes = c->rd.src.total;
        res->entries = c->entries;
    }
    return 0;
}

int crio_layer_unpack(int dirfd, int blob_fd, crio_unpack_mode mode, crio_unpack_result *res)
{
    return layer_unpack(dirfd, blob_fd, NULL, mode, res);
}

int crio_layer_unpack_from(int dirfd, const crio_unpack_source *from, crio_unpack_mode mode, crio_unpack_result *res)
{
    if (!from || !from->next)
        return crio_error_set(CRIO_EINVAL, "layer unpack: no source");
    return layer_unpack(dirfd, -1, from, mode, res);
}
