/* lib/storage/unpack: layer archives into directories, whiteouts, diff_id, hostile archives. */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/error.h"
#include "storage/unpack.h"

#define MTIME 1600000000

static char tmp[64];      /* everything of a test lives here */
static char target[128];  /* tmp/x/y/root: the layer directory */
static char outside[128]; /* tmp/outside: a host directory a hostile archive aims at */

static void setup(void)
{
    strcpy(tmp, "/tmp/crio-unpack-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    char p[300];
    snprintf(p, sizeof p, "%s/x", tmp);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/x/y", tmp);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(target, sizeof target, "%s/x/y/root", tmp);
    cr_assert_eq(mkdir(target, 0755), 0);
    snprintf(outside, sizeof outside, "%s/outside", tmp);
    cr_assert_eq(mkdir(outside, 0755), 0);
    snprintf(p, sizeof p, "%s/secret", outside);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("secret", f);
    fclose(f);
    crio_unpack_force_fallback_resolver(false);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(unpack, .init = setup, .fini = teardown);

/* ---- helpers ---- */

/* A path built from a format, in one of a few rotating static buffers. */
__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...)
{
    static char bufs[8][PATH_MAX];
    static int i;
    char *b = bufs[i++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, PATH_MAX, fmt, ap);
    va_end(ap);
    return b;
}

/* A path that stays valid for the whole test (P's buffers are recycled). */
#define PATHVAR(name, ...) \
    char name[PATH_MAX];   \
    cr_assert_lt(snprintf(name, sizeof name, __VA_ARGS__), (int)sizeof name)

struct spec {
    const char *name;
    mode_t type;      /* AE_IFREG when 0 */
    const char *data; /* regular file content */
    size_t size;      /* of data when it is not a string */
    mode_t mode;      /* permission bits: 0644 / 0755 when 0 (and not zero_mode) */
    bool zero_mode;   /* mode 0000 */
    int64_t uid, gid;
    time_t mtime; /* MTIME when 0 */
    long nsec;
    time_t atime;
    const char *symlink;
    const char *hardlink;
    unsigned rmajor, rminor;
    const char *xname, *xval;
};

static struct archive *tar_open(const char *path)
{
    struct archive *a = archive_write_new();
    cr_assert_not_null(a);
    cr_assert_eq(archive_write_set_format_pax(a), ARCHIVE_OK);
    cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK, "%s", archive_error_string(a));
    return a;
}

static void tar_add(struct archive *a, struct spec s)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, s.name);
    mode_t type = s.type ? s.type : AE_IFREG;
    if (s.hardlink) {
        archive_entry_set_hardlink(e, s.hardlink);
        type = AE_IFREG;
    }
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, s.zero_mode ? 0 : s.mode ? s.mode : (type == AE_IFDIR ? 0755 : 0644));
    archive_entry_set_uid(e, s.uid);
    archive_entry_set_gid(e, s.gid);
    archive_entry_set_mtime(e, s.mtime ? s.mtime : MTIME, s.nsec);
    if (s.atime)
        archive_entry_set_atime(e, s.atime, 0);
    if (s.symlink)
        archive_entry_set_symlink(e, s.symlink);
    if (type == AE_IFCHR || type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, s.rmajor);
        archive_entry_set_rdevminor(e, s.rminor);
    }
    if (s.xname)
        archive_entry_xattr_add_entry(e, s.xname, s.xval, strlen(s.xval));
    size_t size = type == AE_IFREG && !s.hardlink && s.data ? (s.size ? s.size : strlen(s.data)) : 0;
    archive_entry_set_size(e, (la_int64_t)size);
    cr_assert_geq(archive_write_header(a, e), ARCHIVE_WARN, "%s: %s", s.name, archive_error_string(a));
    if (size)
        cr_assert_eq(archive_write_data(a, s.data, size), (la_ssize_t)size);
    archive_entry_free(e);
}

static void tar_close(struct archive *a)
{
    cr_assert_eq(archive_write_close(a), ARCHIVE_OK, "%s", archive_error_string(a));
    archive_write_free(a);
}

/* Writes a plain tar of `n` entries to `path`. */
static void make_tar(const char *path, const struct spec *specs, size_t n)
{
    struct archive *a = tar_open(path);
    for (size_t i = 0; i < n; i++)
        tar_add(a, specs[i]);
    tar_close(a);
}
#define MAKE_TAR(path, ...)                                                    \
    do {                                                                       \
        const struct spec specs_[] = { __VA_ARGS__ };                          \
        make_tar(path, specs_, sizeof specs_ / sizeof specs_[0]);              \
    } while (0)

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void sha256_hex(char out[72], const void *data, size_t len)
{
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
              EVP_DigestFinal_ex(ctx, md, &mdlen) == 1);
    EVP_MD_CTX_free(ctx);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

/* gzip of `len` bytes in `members` concatenated gzip members. */
static void gzip_file(const char *out, const unsigned char *data, size_t len, int members)
{
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    size_t per = len / (size_t)members + 1, done = 0;
    unsigned char *buf = malloc(compressBound(len) + 64);
    for (int m = 0; m < members && done < len; m++) {
        size_t n = len - done < per ? len - done : per;
        z_stream z = { 0 };
        cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (unsigned char *)data + done;
        z.avail_in = (uInt)n;
        z.next_out = buf;
        z.avail_out = (uInt)(compressBound(len) + 64);
        cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
        cr_assert_eq(fwrite(buf, 1, z.total_out, f), z.total_out);
        deflateEnd(&z);
        done += n;
    }
    free(buf);
    fclose(f);
}

static void zstd_file(const char *out, const unsigned char *data, size_t len)
{
    size_t cap = ZSTD_compressBound(len);
    unsigned char *buf = malloc(cap);
    size_t n = ZSTD_compress(buf, cap, data, len, 3);
    cr_assert(!ZSTD_isError(n));
    write_all_file(out, buf, n);
    free(buf);
}

static int unpack_into(const char *blob, const char *dir, crio_unpack_mode mode, crio_unpack_result *res)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dfd, 0, "%s", dir);
    int bfd = open(blob, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(bfd, 0, "%s", blob);
    crio_error_clear();
    int r = crio_layer_unpack(dfd, bfd, mode, res);
    close(bfd);
    close(dfd);
    return r;
}

static int unpack(const char *blob, crio_unpack_mode mode)
{
    crio_unpack_result res;
    return unpack_into(blob, target, mode, &res);
}

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static void assert_ok(int r)
{
    cr_assert_eq(r, 0, "unpack failed: %d %s", r, errmsg());
}

static void assert_refused(int r, const char *needle)
{
    cr_assert_eq(r, CRIO_EINVAL, "expected CRIO_EINVAL, got %d (%s)", r, errmsg());
    if (needle)
        cr_assert_not_null(strstr(errmsg(), needle), "message \"%s\" does not name \"%s\"", errmsg(), needle);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static struct stat lst(const char *path)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "lstat %s: %s", path, strerror(errno));
    return st;
}

static void assert_content(const char *path, const char *want)
{
    size_t len;
    unsigned char *got = read_all(path, &len);
    got[len] = '\0';
    cr_assert_str_eq((char *)got, want, "content of %s", path);
    free(got);
}

/* The outside directory holds exactly its secret, untouched. */
static void assert_outside_untouched(void)
{
    assert_content(P("%s/secret", outside), "secret");
    cr_assert_eq(lst(P("%s/secret", outside)).st_nlink, 1);
    cr_assert_not(exists(P("%s/pwned", outside)));
    cr_assert_not(exists(P("%s/x/y/evil", tmp)));
    cr_assert_not(exists(P("%s/x/evil", tmp)));
    cr_assert_not(exists(P("%s/evil", tmp)));
    cr_assert_not(exists(P("%s/x/y/pwned", tmp)));
    cr_assert_not(exists(P("%s/pwned", tmp)));
}

/* A sorted listing of a tree: path, type, mode, owner, size, mtime, content hash or link target. */
static char *tree_buf;
static size_t tree_len, tree_cap;
static size_t tree_root_len;

static int tree_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    char line[PATH_MAX + 512], extra[PATH_MAX + 80] = "";
    if (S_ISREG(st->st_mode)) {
        size_t len;
        unsigned char *d = read_all(path, &len);
        sha256_hex(extra, d, len);
        free(d);
    } else if (S_ISLNK(st->st_mode)) {
        ssize_t n = readlink(path, extra, sizeof extra - 1);
        cr_assert_geq(n, 0);
        extra[n] = '\0';
    } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
        snprintf(extra, sizeof extra, "%u:%u", major(st->st_rdev), minor(st->st_rdev));
    }
    int n = snprintf(line, sizeof line, "%s %o %u:%u %lld %lld.%09ld %s\n", path + tree_root_len,
                     (unsigned)st->st_mode, (unsigned)st->st_uid, (unsigned)st->st_gid, (long long)st->st_size,
                     (long long)st->st_mtim.tv_sec, S_ISDIR(st->st_mode) ? 0L : st->st_mtim.tv_nsec, extra);
    if (tree_len + (size_t)n + 1 > tree_cap) {
        tree_cap = (tree_len + (size_t)n + 1) * 2;
        tree_buf = realloc(tree_buf, tree_cap);
    }
    memcpy(tree_buf + tree_len, line, (size_t)n + 1);
    tree_len += (size_t)n;
    return 0;
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *tree(const char *dir)
{
    tree_buf = NULL;
    tree_len = tree_cap = 0;
    tree_root_len = strlen(dir);
    cr_assert_eq(nftw(dir, tree_visit, 16, FTW_PHYS), 0);
    /* sort the lines */
    size_t nl = 0;
    for (size_t i = 0; i < tree_len; i++)
        nl += tree_buf[i] == '\n';
    char **lines = calloc(nl + 1, sizeof *lines);
    size_t k = 0;
    for (char *s = tree_buf, *save = NULL, *t; (t = strtok_r(s, "\n", &save)); s = NULL)
        lines[k++] = t;
    qsort(lines, k, sizeof *lines, cmp_lines);
    char *out = calloc(1, tree_len + 2);
    for (size_t i = 0; i < k; i++) {
        strcat(out, lines[i]);
        strcat(out, "\n");
    }
    free(lines);
    free(tree_buf);
    return out;
}

/* ---- contents and metadata ---- */

Test(unpack, files_modes_and_owners)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "etc/", .type = AE_IFDIR, .mode = 0755 },
             { .name = "etc/hostname", .data = "box\n", .mode = 0644 },
             { .name = "etc/shadow", .data = "root:*:\n", .mode = 0600, .uid = 0, .gid = 42 },
             { .name = "home/", .type = AE_IFDIR, .mode = 0750, .uid = 1000, .gid = 1001 },
             { .name = "home/me/", .type = AE_IFDIR, .mode = 0700, .uid = 1000, .gid = 1000 },
             { .name = "home/me/run.sh", .data = "#!/bin/sh\n", .mode = 0755, .uid = 1000, .gid = 1000 },
             { .name = "home/me/none", .data = "x", .zero_mode = true, .uid = 123456, .gid = 654321 },
             { .name = "empty", .data = NULL, .mode = 0640 });
    crio_unpack_result res;
    assert_ok(unpack_into(tar, target, CRIO_UNPACK_OVERLAY, &res));
    cr_assert_eq(res.entries, 8);
    assert_content(P("%s/etc/hostname", target), "box\n");
    assert_content(P("%s/etc/shadow", target), "root:*:\n");
    assert_content(P("%s/home/me/run.sh", target), "#!/bin/sh\n");
    assert_content(P("%s/empty", target), "");
    struct stat st = lst(P("%s/etc/shadow", target));
    cr_assert_eq(st.st_mode, S_IFREG | 0600);
    cr_assert_eq(st.st_uid, 0);
    cr_assert_eq(st.st_gid, 42);
    st = lst(P("%s/home", target));
    cr_assert_eq(st.st_mode, S_IFDIR | 0750);
    cr_assert_eq(st.st_uid, 1000);
    cr_assert_eq(st.st_gid, 1001);
    st = lst(P("%s/home/me/run.sh", target));
    cr_assert_eq(st.st_mode, S_IFREG | 0755);
    cr_assert_eq(st.st_uid, 1000);
    st = lst(P("%s/home/me/none", target));
    cr_assert_eq(st.st_mode, S_IFREG | 0000);
    cr_assert_eq(st.st_uid, 123456);
    cr_assert_eq(st.st_gid, 654321);
    cr_assert_eq(lst(P("%s/empty", target)).st_mode, S_IFREG | 0640);
}

Test(unpack, setuid_setgid_sticky_survive_chown)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "bin/", .type = AE_IFDIR },
             { .name = "bin/su", .data = "ELF", .mode = 04755, .uid = 0, .gid = 0 },
             { .name = "bin/wall", .data = "ELF", .mode = 02755, .uid = 0, .gid = 5 },
             { .name = "bin/mine", .data = "ELF", .mode = 06750, .uid = 1000, .gid = 1000 },
             { .name = "tmp/", .type = AE_IFDIR, .mode = 01777 },
             { .name = "shared/", .type = AE_IFDIR, .mode = 02775, .gid = 50 });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    cr_assert_eq(lst(P("%s/bin/su", target)).st_mode, S_IFREG | 04755);
    cr_assert_eq(lst(P("%s/bin/wall", target)).st_mode, S_IFREG | 02755);
    struct stat st = lst(P("%s/bin/mine", target));
    cr_assert_eq(st.st_mode, S_IFREG | 06750);
    cr_assert_eq(st.st_uid, 1000);
    cr_assert_eq(lst(P("%s/tmp", target)).st_mode, S_IFDIR | 01777);
    st = lst(P("%s/shared", target));
    cr_assert_eq(st.st_mode, S_IFDIR | 02775);
    cr_assert_eq(st.st_gid, 50);
}

Test(unpack, mtimes_of_files_links_and_directories)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    /* The directory comes first; writing its entries must not leave it with a new mtime. */
    MAKE_TAR(tar, { .name = "d/", .type = AE_IFDIR, .mtime = 1000000000 },
             { .name = "d/sub/", .type = AE_IFDIR, .mtime = 1100000000 },
             { .name = "d/sub/f", .data = "f", .mtime = 1200000000, .nsec = 123456789 },
             { .name = "d/a", .data = "a", .mtime = 1300000000, .atime = 1400000000 },
             { .name = "d/old", .data = "o", .mtime = 1300000000, .atime = 10 },
             { .name = "d/l", .type = AE_IFLNK, .symlink = "a", .mtime = 1500000000 },
             { .name = "d/fifo", .type = AE_IFIFO, .mtime = 1234567890 });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    cr_assert_eq(lst(P("%s/d", target)).st_mtim.tv_sec, 1000000000);
    cr_assert_eq(lst(P("%s/d/sub", target)).st_mtim.tv_sec, 1100000000);
    struct stat st = lst(P("%s/d/sub/f", target));
    cr_assert_eq(st.st_mtim.tv_sec, 1200000000);
    cr_assert_eq(st.st_mtim.tv_nsec, 123456789);
    st = lst(P("%s/d/a", target));
    cr_assert_eq(st.st_mtim.tv_sec, 1300000000);
    cr_assert_eq(st.st_atim.tv_sec, 1400000000);
    cr_assert_eq(lst(P("%s/d/old", target)).st_atim.tv_sec, 1300000000, "atime older than mtime becomes mtime");
    cr_assert_eq(lst(P("%s/d/l", target)).st_mtim.tv_sec, 1500000000, "the link's own time, not its target's");
    cr_assert_eq(lst(P("%s/d/a", target)).st_mtim.tv_sec, 1300000000);
    cr_assert_eq(lst(P("%s/d/fifo", target)).st_mtim.tv_sec, 1234567890);
}

Test(unpack, symlinks_are_created_not_followed)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "usr/lib/libc.so.6", .data = "libc" },
             { .name = "lib", .type = AE_IFLNK, .symlink = "usr/lib", .uid = 7, .gid = 8 },
             { .name = "abs", .type = AE_IFLNK, .symlink = "/etc/passwd" },
             { .name = "dangling", .type = AE_IFLNK, .symlink = "../../../../nowhere" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    char buf[256];
    ssize_t n = readlink(P("%s/lib", target), buf, sizeof buf);
    cr_assert_eq(n, 7);
    cr_assert_eq(memcmp(buf, "usr/lib", 7), 0);
    struct stat st = lst(P("%s/lib", target));
    cr_assert(S_ISLNK(st.st_mode));
    cr_assert_eq(st.st_uid, 7);
    cr_assert_eq(st.st_gid, 8);
    n = readlink(P("%s/abs", target), buf, sizeof buf);
    cr_assert_eq(n, 11, "symlink targets are data: kept as they are");
    cr_assert(S_ISLNK(lst(P("%s/dangling", target)).st_mode));
    assert_content(P("%s/lib/libc.so.6", target), "libc");
}

Test(unpack, hard_links_share_the_inode)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "bin/busybox", .data = "BB", .mode = 0755 },
             { .name = "bin/sh", .hardlink = "bin/busybox" },
             { .name = "sbin/init", .hardlink = "./bin/busybox" },
             { .name = "abs-link", .hardlink = "/bin/busybox" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    struct stat a = lst(P("%s/bin/busybox", target)), b = lst(P("%s/bin/sh", target)),
                c = lst(P("%s/sbin/init", target)), d = lst(P("%s/abs-link", target));
    cr_assert_eq(a.st_ino, b.st_ino);
    cr_assert_eq(a.st_ino, c.st_ino);
    cr_assert_eq(a.st_ino, d.st_ino);
    cr_assert_eq(a.st_nlink, 4);
    cr_assert_eq(a.st_mode, S_IFREG | 0755);
}

Test(unpack, hard_link_to_missing_or_directory_is_refused)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "h", .hardlink = "nothere" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "\"h\"");
    MAKE_TAR(tar, { .name = "d/", .type = AE_IFDIR }, { .name = "h2", .hardlink = "d" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "directory");
}

Test(unpack, device_nodes_and_fifos)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "dev/null", .type = AE_IFCHR, .rmajor = 1, .rminor = 3, .mode = 0666 },
             { .name = "dev/loop0", .type = AE_IFBLK, .rmajor = 7, .rminor = 0, .mode = 0660, .gid = 6 },
             { .name = "dev/big", .type = AE_IFCHR, .rmajor = 300, .rminor = 70000, .mode = 0600 },
             { .name = "run/fifo", .type = AE_IFIFO, .mode = 0620, .uid = 5 });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    struct stat st = lst(P("%s/dev/null", target));
    cr_assert(S_ISCHR(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0666);
    cr_assert_eq(major(st.st_rdev), 1);
    cr_assert_eq(minor(st.st_rdev), 3);
    st = lst(P("%s/dev/loop0", target));
    cr_assert(S_ISBLK(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0660);
    cr_assert_eq(st.st_gid, 6);
    cr_assert_eq(st.st_rdev, makedev(7, 0));
    st = lst(P("%s/dev/big", target));
    cr_assert_eq(major(st.st_rdev), 300);
    cr_assert_eq(minor(st.st_rdev), 70000);
    st = lst(P("%s/run/fifo", target));
    cr_assert(S_ISFIFO(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0620);
    cr_assert_eq(st.st_uid, 5);
}

Test(unpack, xattrs_from_pax_headers)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "d/", .type = AE_IFDIR, .xname = "user.dir", .xval = "dv" },
             { .name = "d/f", .data = "x", .xname = "user.crio.test", .xval = "hello" },
             { .name = "d/g", .data = "y", .xname = "trusted.overlay.redirect", .xval = "/etc" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    char v[64];
    ssize_t n = getxattr(P("%s/d/f", target), "user.crio.test", v, sizeof v);
    cr_assert_eq(n, 5, "%s", strerror(errno));
    cr_assert_eq(memcmp(v, "hello", 5), 0);
    n = getxattr(P("%s/d", target), "user.dir", v, sizeof v);
    cr_assert_eq(n, 2);
    cr_assert_eq(memcmp(v, "dv", 2), 0);
    /* overlayfs control xattrs never come from an archive */
    cr_assert_lt(lgetxattr(P("%s/d/g", target), "trusted.overlay.redirect", v, sizeof v), 0);
    cr_assert_eq(errno, ENODATA);
}

Test(unpack, xattrs_on_symlinks_and_nodes_without_following)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "f", .data = "f" },
             { .name = "s", .type = AE_IFLNK, .symlink = "f", .xname = "trusted.crio-link", .xval = "L" },
             { .name = "p", .type = AE_IFIFO, .xname = "trusted.crio-fifo", .xval = "P" },
             { .name = "u", .type = AE_IFLNK, .symlink = "f", .xname = "user.not-on-links", .xval = "U" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    char v[8];
    cr_assert_eq(lgetxattr(P("%s/s", target), "trusted.crio-link", v, sizeof v), 1, "%s", strerror(errno));
    cr_assert_eq(v[0], 'L');
    cr_assert_lt(lgetxattr(P("%s/f", target), "trusted.crio-link", v, sizeof v), 0, "set through the link");
    cr_assert_eq(lgetxattr(P("%s/p", target), "trusted.crio-fifo", v, sizeof v), 1, "%s", strerror(errno));
    cr_assert_eq(v[0], 'P');
    cr_assert(S_ISLNK(lst(P("%s/u", target)).st_mode), "user.* on a symlink is skipped, not fatal");
}

Test(unpack, non_ascii_names)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "caf\xc3\xa9/\xc3\xbcn\xc3\xaf.txt", .data = "utf8" },
             { .name = "\xe6\x97\xa5\xe6\x9c\xac", .type = AE_IFLNK, .symlink = "caf\xc3\xa9" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/caf\xc3\xa9/\xc3\xbcn\xc3\xaf.txt", target), "utf8");
    cr_assert(S_ISLNK(lst(P("%s/\xe6\x97\xa5\xe6\x9c\xac", target)).st_mode));
}

static void sparse_case(const char *format)
{
    /* 8 MiB with data at 0 and at 4 MiB, a hole at the end; archived by GNU tar --sparse */
    PATHVAR(srcdir, "%s/sp-%s", tmp, format);
    cr_assert_eq(mkdir(srcdir, 0755), 0);
    PATHVAR(src, "%s/sparse", srcdir);
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    cr_assert_geq(fd, 0);
    char block[8192];
    memset(block, 'h', sizeof block);
    cr_assert_eq(pwrite(fd, block, sizeof block, 0), (ssize_t)sizeof block);
    memset(block, 'm', sizeof block);
    cr_assert_eq(pwrite(fd, block, sizeof block, 4 << 20), (ssize_t)sizeof block);
    cr_assert_eq(ftruncate(fd, 8 << 20), 0);
    close(fd);
    PATHVAR(tar, "%s/sparse-%s.tar", tmp, format);
    char cmd[PATH_MAX * 2];
    cr_assert_lt(snprintf(cmd, sizeof cmd, "tar -C %s --sparse --format=%s -cf %s sparse", srcdir, format, tar),
                 (int)sizeof cmd);
    cr_assert_eq(system(cmd), 0);
    PATHVAR(dir, "%s/out-%s", tmp, format);
    cr_assert_eq(mkdir(dir, 0755), 0);
    crio_unpack_result res;
    assert_ok(unpack_into(tar, dir, CRIO_UNPACK_OVERLAY, &res));
    size_t a_len, b_len;
    unsigned char *a = read_all(src, &a_len), *b = read_all(P("%s/sparse", dir), &b_len);
    cr_assert_eq(b_len, (size_t)8 << 20, "%s: size %zu", format, b_len);
    cr_assert_eq(memcmp(a, b, a_len), 0, "%s: content differs", format);
    free(a);
    free(b);
    cr_assert_lt(lst(P("%s/sparse", dir)).st_blocks * 512, 1 << 20, "%s: holes were written out", format);
}

Test(unpack, sparse_files)
{
    sparse_case("gnu");
    sparse_case("pax");
}

Test(unpack, missing_parents_are_created_0755)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "a/b/c/file", .data = "deep" });
    mode_t old = umask(077);
    int r = unpack(tar, CRIO_UNPACK_OVERLAY);
    umask(old);
    assert_ok(r);
    assert_content(P("%s/a/b/c/file", target), "deep");
    struct stat st = lst(P("%s/a/b", target));
    cr_assert_eq(st.st_mode, S_IFDIR | 0755);
    cr_assert_eq(st.st_uid, 0);
}

Test(unpack, root_entry_sets_the_root_metadata)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "./", .type = AE_IFDIR, .mode = 0750, .mtime = 1111111111 },
             { .name = "./f", .data = "f" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    struct stat st = lst(target);
    cr_assert_eq(st.st_mode, S_IFDIR | 0750);
    cr_assert_eq(st.st_mtim.tv_sec, 1111111111);
    assert_content(P("%s/f", target), "f");
    MAKE_TAR(tar, { .name = ".", .data = "x" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "root");
}

Test(unpack, later_entries_replace_earlier_ones)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "f", .data = "old" }, { .name = "f", .data = "new" },
             { .name = "d/", .type = AE_IFDIR }, { .name = "d/inner", .data = "i" },
             { .name = "d", .data = "now a file" },                                  /* dir -> file */
             { .name = "e", .data = "file" }, { .name = "e/", .type = AE_IFDIR, .mode = 0711 }, /* file -> dir */
             { .name = "m/", .type = AE_IFDIR }, { .name = "m/one", .data = "1" },
             { .name = "m/", .type = AE_IFDIR, .mode = 0700 },                          /* dir + dir merge */
             { .name = "s", .type = AE_IFLNK, .symlink = "f" }, { .name = "s", .type = AE_IFLNK, .symlink = "e" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/f", target), "new");
    assert_content(P("%s/d", target), "now a file");
    cr_assert_eq(lst(P("%s/e", target)).st_mode, S_IFDIR | 0711);
    assert_content(P("%s/m/one", target), "1");
    cr_assert_eq(lst(P("%s/m", target)).st_mode, S_IFDIR | 0700);
    char buf[8];
    cr_assert_eq(readlink(P("%s/s", target), buf, sizeof buf), 1);
    cr_assert_eq(buf[0], 'e');
}

Test(unpack, rewriting_a_hard_link_does_not_change_the_other_name)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "orig", .data = "original" }, { .name = "alias", .hardlink = "orig" },
             { .name = "alias", .data = "replaced" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/orig", target), "original");
    assert_content(P("%s/alias", target), "replaced");
}

Test(unpack, large_files_and_long_names)
{
    size_t len = 5 * 1024 * 1024 + 17;
    char *big = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    big[len] = '\0';
    char name[400];
    memset(name, 'n', sizeof name);
    for (int i = 50; i < 390; i += 50)
        name[i] = '/';
    name[399] = '\0';
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "big", .data = big, .size = len }, { .name = name, .data = "long" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    size_t got_len;
    unsigned char *got = read_all(P("%s/big", target), &got_len);
    cr_assert_eq(got_len, len);
    cr_assert_eq(memcmp(got, big, len), 0);
    free(got);
    free(big);
    assert_content(P("%s/%s", target, name), "long");
}

/* ---- compression and diff_id ---- */

Test(unpack, plain_gzip_zstd_same_tree_and_diff_id)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    MAKE_TAR(plain, { .name = "etc/", .type = AE_IFDIR, .mode = 0755, .mtime = 1500000000 },
             { .name = "etc/os-release", .data = "ID=test\n", .uid = 1, .gid = 2 },
             { .name = "bin/sh", .data = "shell", .mode = 04755 }, { .name = "bin/ash", .hardlink = "bin/sh" },
             { .name = "lib", .type = AE_IFLNK, .symlink = "usr/lib" },
             { .name = "dev/zero", .type = AE_IFCHR, .rmajor = 1, .rminor = 5 },
             { .name = "x", .data = "x", .xname = "user.k", .xval = "v" });
    size_t len;
    unsigned char *data = read_all(plain, &len);
    char want[72];
    sha256_hex(want, data, len);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    PATHVAR(zst, "%s/l.tar.zst", tmp);
    PATHVAR(gz2, "%s/l2.tar.gz", tmp);
    gzip_file(gz, data, len, 1);
    gzip_file(gz2, data, len, 3); /* concatenated gzip members */
    zstd_file(zst, data, len);
    free(data);

    const char *blobs[] = { plain, gz, zst, gz2 };
    char *first = NULL;
    for (int i = 0; i < 4; i++) {
        PATHVAR(dir, "%s/out%d", tmp, i);
        cr_assert_eq(mkdir(dir, 0755), 0);
        crio_unpack_result res;
        memset(&res, 0x55, sizeof res);
        assert_ok(unpack_into(blobs[i], dir, CRIO_UNPACK_OVERLAY, &res));
        cr_assert_str_eq(res.diff_id, want, "%s", blobs[i]);
        cr_assert_eq(res.tar_bytes, len, "%s", blobs[i]);
        cr_assert_eq(res.entries, 7);
        char *t = tree(dir);
        cr_assert_not_null(strstr(t, "/bin/sh 104755"), "%s", t);
        if (!first)
            first = t;
        else {
            cr_assert_str_eq(t, first, "%s differs from the plain tar's tree", blobs[i]);
            free(t);
        }
    }
    free(first);
}

/* A source lending a blob in pieces of 1, 2, 3, ... bytes (cycling up to `max`). */
struct pieces {
    const unsigned char *data;
    size_t len, off, step, max;
};

static int next_piece(void *ctx, const void **buf, size_t *len)
{
    struct pieces *p = ctx;
    size_t n = p->len - p->off < p->step ? p->len - p->off : p->step;
    *buf = p->data + p->off;
    *len = n;
    p->off += n;
    p->step = p->step % p->max + 1;
    return 0;
}

static int unpack_pieces(const char *blob, const char *dir, size_t max, bool no_crc, crio_unpack_result *res)
{
    size_t len;
    unsigned char *data = read_all(blob, &len);
    struct pieces p = { data, len, 0, 1, max };
    crio_unpack_source src = { .next = next_piece, .ctx = &p, .no_gzip_crc = no_crc };
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dfd, 0, "%s", dir);
    crio_error_clear();
    int r = crio_layer_unpack_from(dfd, &src, CRIO_UNPACK_OVERLAY, res);
    close(dfd);
    free(data);
    return r;
}

Test(unpack, buffer_source_in_tiny_pieces_matches_the_fd_path)
{
    /* The pull streams layers from curl's buffers: the format is sniffed from pieces under 4 bytes too. */
    PATHVAR(plain, "%s/l.tar", tmp);
    MAKE_TAR(plain, { .name = "etc/", .type = AE_IFDIR, .mode = 0755 }, { .name = "etc/a", .data = "alpha\n" },
             { .name = "bin/b", .data = "beta", .mode = 0755 }, { .name = "c", .type = AE_IFLNK, .symlink = "bin/b" });
    size_t len;
    unsigned char *data = read_all(plain, &len);
    char want[72];
    sha256_hex(want, data, len);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    PATHVAR(zst, "%s/l.tar.zst", tmp);
    gzip_file(gz, data, len, 2);
    zstd_file(zst, data, len);
    free(data);
    const char *blobs[] = { plain, gz, zst };
    for (int i = 0; i < 3; i++)
        for (size_t max = 1; max <= 7; max += 6) {
            PATHVAR(dir, "%s/src%d-%zu", tmp, i, max);
            cr_assert_eq(mkdir(dir, 0755), 0);
            crio_unpack_result res;
            assert_ok(unpack_pieces(blobs[i], dir, max, i == 1, &res));
            cr_assert_str_eq(res.diff_id, want, "%s in pieces of up to %zu", blobs[i], max);
            cr_assert_eq(res.entries, 4);
            char *t = tree(dir);
            cr_assert_not_null(strstr(t, "/etc/a"), "%s", t);
            free(t);
        }
    /* Without the CRC, a truncated stream is still an error. */
    PATHVAR(cut, "%s/cut.tar.gz", tmp);
    size_t glen;
    unsigned char *g = read_all(gz, &glen);
    write_all_file(cut, g, glen / 2);
    free(g);
    PATHVAR(dir, "%s/cut", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    crio_unpack_result res;
    cr_assert_lt(unpack_pieces(cut, dir, 4096, true, &res), 0, "a truncated gzip from a source is refused");
}

Test(unpack, diff_id_covers_data_after_the_end_of_archive)
{
    /* 3 MiB past the end-of-archive marker, which libarchive never asks for: it is still hashed. */
    PATHVAR(plain, "%s/l.tar", tmp);
    MAKE_TAR(plain, { .name = "f", .data = "f" });
    size_t len;
    unsigned char *data = read_all(plain, &len);
    size_t total = len + 3 * 1024 * 1024;
    data = realloc(data, total);
    memset(data + len, 0, total - len);
    write_all_file(plain, data, total);
    char want[72];
    sha256_hex(want, data, total);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    gzip_file(gz, data, total, 1);
    free(data);
    crio_unpack_result res;
    assert_ok(unpack_into(plain, target, CRIO_UNPACK_OVERLAY, &res));
    cr_assert_str_eq(res.diff_id, want);
    cr_assert_eq(res.tar_bytes, total);
    PATHVAR(dir, "%s/out", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    assert_ok(unpack_into(gz, dir, CRIO_UNPACK_OVERLAY, &res));
    cr_assert_str_eq(res.diff_id, want);
    cr_assert_eq(res.tar_bytes, total);
}

Test(unpack, diff_id_differs_when_content_differs)
{
    PATHVAR(a, "%s/a.tar", tmp);
    PATHVAR(b, "%s/b.tar", tmp);
    MAKE_TAR(a, { .name = "f", .data = "one" });
    MAKE_TAR(b, { .name = "f", .data = "two" });
    crio_unpack_result ra, rb;
    assert_ok(unpack_into(a, target, CRIO_UNPACK_OVERLAY, &ra));
    PATHVAR(dir, "%s/out", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    assert_ok(unpack_into(b, dir, CRIO_UNPACK_OVERLAY, &rb));
    cr_assert_str_neq(ra.diff_id, rb.diff_id);
    cr_assert_eq(strlen(ra.diff_id), 71);
}

static void make_big_compressed(const char *plain, const char *gz, const char *zst)
{
    size_t len = 2 * 1024 * 1024;
    char *big = malloc(len);
    unsigned x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245 + 12345;
        big[i] = (char)(x >> 16);
    }
    MAKE_TAR(plain, { .name = "big", .data = big, .size = len }, { .name = "after", .data = "a" });
    free(big);
    size_t n;
    unsigned char *data = read_all(plain, &n);
    if (gz)
        gzip_file(gz, data, n, 1);
    if (zst)
        zstd_file(zst, data, n);
    free(data);
}

static void truncate_file(const char *path, double keep)
{
    struct stat st = lst(path);
    cr_assert_eq(truncate(path, (off_t)((double)st.st_size * keep)), 0);
}

Test(unpack, truncated_gzip_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    make_big_compressed(plain, gz, NULL);
    truncate_file(gz, 0.6);
    assert_refused(unpack(gz, CRIO_UNPACK_OVERLAY), NULL);
}

Test(unpack, truncated_gzip_trailer_is_an_error)
{
    /* The whole tar is there, only the gzip trailer (CRC, size) is missing. */
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    MAKE_TAR(plain, { .name = "f", .data = "f" });
    size_t n;
    unsigned char *data = read_all(plain, &n);
    gzip_file(gz, data, n, 1);
    free(data);
    struct stat st = lst(gz);
    cr_assert_eq(truncate(gz, st.st_size - 4), 0);
    assert_refused(unpack(gz, CRIO_UNPACK_OVERLAY), "gzip");
}

Test(unpack, corrupt_gzip_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    make_big_compressed(plain, gz, NULL);
    size_t n;
    unsigned char *data = read_all(gz, &n);
    for (size_t i = n / 2; i < n / 2 + 64; i++)
        data[i] ^= 0x5a;
    write_all_file(gz, data, n);
    free(data);
    assert_refused(unpack(gz, CRIO_UNPACK_OVERLAY), NULL);
}

Test(unpack, truncated_zstd_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(zst, "%s/l.tar.zst", tmp);
    make_big_compressed(plain, NULL, zst);
    truncate_file(zst, 0.7);
    assert_refused(unpack(zst, CRIO_UNPACK_OVERLAY), NULL);
}

Test(unpack, truncated_zstd_checksum_is_an_error)
{
    /* The whole tar decodes; only the frame's content checksum is cut short. */
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(zst, "%s/l.tar.zst", tmp);
    MAKE_TAR(plain, { .name = "f", .data = "f" });
    size_t n;
    unsigned char *data = read_all(plain, &n);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
    size_t cap = ZSTD_compressBound(n);
    unsigned char *buf = malloc(cap);
    size_t zn = ZSTD_compress2(cctx, buf, cap, data, n);
    cr_assert(!ZSTD_isError(zn));
    ZSTD_freeCCtx(cctx);
    write_all_file(zst, buf, zn);
    crio_unpack_result res;
    assert_ok(unpack_into(zst, target, CRIO_UNPACK_OVERLAY, &res));
    write_all_file(zst, buf, zn - 2);
    PATHVAR(dir, "%s/out", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    int r = unpack_into(zst, dir, CRIO_UNPACK_OVERLAY, &res);
    assert_refused(r, "zstd");
    free(buf);
    free(data);
}

Test(unpack, truncated_plain_tar_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    make_big_compressed(plain, NULL, NULL);
    truncate_file(plain, 0.5);
    assert_refused(unpack(plain, CRIO_UNPACK_OVERLAY), NULL);
}

Test(unpack, garbage_and_empty_input_are_errors)
{
    PATHVAR(g, "%s/garbage", tmp);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 31 + 7);
    write_all_file(g, junk, sizeof junk);
    assert_refused(unpack(g, CRIO_UNPACK_OVERLAY), NULL);
    write_all_file(g, "\x1f\x8bgarbage-after-gzip-magic", 26);
    assert_refused(unpack(g, CRIO_UNPACK_OVERLAY), "gzip");
    write_all_file(g, "\x28\xb5\x2f\xfdgarbage-after-zstd-magic", 28);
    assert_refused(unpack(g, CRIO_UNPACK_OVERLAY), "zstd");
    write_all_file(g, "", 0);
    cr_assert_neq(unpack(g, CRIO_UNPACK_OVERLAY), 0, "an empty blob is not a layer");
}

Test(unpack, damaged_header_after_valid_entries_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    MAKE_TAR(plain, { .name = "first", .data = "1" }, { .name = "second", .data = "2" });
    size_t n;
    unsigned char *data = read_all(plain, &n);
    /* the ustar header of "second" */
    size_t at = 0;
    for (size_t b = 0; b + 512 <= n; b += 512)
        if (memcmp(data + b, "second", 7) == 0 && memcmp(data + b + 257, "ustar", 5) == 0)
            at = b;
    cr_assert_gt(at, 0);
    data[at + 150] ^= 0x01; /* its checksum field no longer matches */
    write_all_file(plain, data, n);
    free(data);
    crio_unpack_result res;
    int r = unpack_into(plain, target, CRIO_UNPACK_OVERLAY, &res);
    assert_refused(r, "Damaged");
    assert_content(P("%s/first", target), "1");
    cr_assert_not(exists(P("%s/second", target)));
}

Test(unpack, trailing_garbage_after_gzip_is_an_error)
{
    PATHVAR(plain, "%s/l.tar", tmp);
    PATHVAR(gz, "%s/l.tar.gz", tmp);
    MAKE_TAR(plain, { .name = "f", .data = "f" });
    size_t n;
    unsigned char *data = read_all(plain, &n);
    gzip_file(gz, data, n, 1);
    free(data);
    FILE *f = fopen(gz, "ab");
    fputs("trailing junk", f);
    fclose(f);
    assert_refused(unpack(gz, CRIO_UNPACK_OVERLAY), "gzip");
}

Test(unpack, bad_arguments)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "f", .data = "f" });
    int bfd = open(tar, O_RDONLY);
    int ffd = open(tar, O_RDONLY);
    crio_unpack_result res;
    cr_assert_eq(crio_layer_unpack(ffd, bfd, CRIO_UNPACK_OVERLAY, &res), CRIO_EINVAL, "target is a file");
    int dfd = open(target, O_RDONLY | O_DIRECTORY);
    cr_assert_eq(crio_layer_unpack(dfd, bfd, (crio_unpack_mode)7, &res), CRIO_EINVAL);
    cr_assert_lt(crio_layer_unpack(dfd, -1, CRIO_UNPACK_OVERLAY, &res), 0);
    close(bfd);
    close(ffd);
    close(dfd);
}

/* ---- overlay whiteouts ---- */

static void assert_whiteout(const char *path)
{
    struct stat st = lst(path);
    cr_assert(S_ISCHR(st.st_mode), "%s is not a character device", path);
    cr_assert_eq(st.st_rdev, makedev(0, 0), "%s", path);
}

static bool is_opaque(const char *path)
{
    char v[8];
    ssize_t n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof v);
    return n == 1 && v[0] == 'y';
}

Test(unpack, overlay_whiteout_becomes_a_0_0_char_device)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "etc/", .type = AE_IFDIR }, { .name = "etc/.wh.motd", .data = "" },
             { .name = ".wh.root-file", .data = "" }, { .name = "deep/er/.wh.gone", .data = "" },
             { .name = ".wh..wh.plnk", .type = AE_IFDIR });
    crio_unpack_result res;
    assert_ok(unpack_into(tar, target, CRIO_UNPACK_OVERLAY, &res));
    cr_assert_eq(res.entries, 5);
    assert_whiteout(P("%s/etc/motd", target));
    assert_whiteout(P("%s/root-file", target));
    assert_whiteout(P("%s/deep/er/gone", target));
    cr_assert_not(exists(P("%s/etc/.wh.motd", target)));
    cr_assert_not(exists(P("%s/.wh..wh.plnk", target)), "AUFS metadata is skipped");
    cr_assert_not(exists(P("%s/plnk", target)));
}

Test(unpack, overlay_opaque_directory_gets_the_xattr)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "var/", .type = AE_IFDIR }, { .name = "var/cache/", .type = AE_IFDIR },
             { .name = "var/cache/.wh..wh..opq", .data = "" }, { .name = "var/cache/new", .data = "n" },
             { .name = "missing/.wh..wh..opq", .data = "" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    cr_assert(is_opaque(P("%s/var/cache", target)));
    cr_assert_not(is_opaque(P("%s/var", target)));
    cr_assert(is_opaque(P("%s/missing", target)), "the marker's directory is created");
    cr_assert_not(exists(P("%s/var/cache/.wh..wh..opq", target)));
    assert_content(P("%s/var/cache/new", target), "n");
}

Test(unpack, overlay_whiteout_and_same_layer_entry_in_either_order)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    /* file before its whiteout: the layer's file stays (it hides the lower one anyway) */
    /* whiteout before a file: the file replaces the whiteout */
    /* a directory with a whiteout of itself, either order: it must hide the lower one: opaque */
    MAKE_TAR(tar, { .name = "f1", .data = "mine" }, { .name = ".wh.f1", .data = "" },
             { .name = ".wh.f2", .data = "" }, { .name = "f2", .data = "mine too" },
             { .name = "d1/", .type = AE_IFDIR }, { .name = "d1/x", .data = "x" }, { .name = ".wh.d1", .data = "" },
             { .name = ".wh.d2", .data = "" }, { .name = "d2/", .type = AE_IFDIR }, { .name = "d2/y", .data = "y" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/f1", target), "mine");
    assert_content(P("%s/f2", target), "mine too");
    cr_assert(is_opaque(P("%s/d1", target)));
    assert_content(P("%s/d1/x", target), "x");
    cr_assert(is_opaque(P("%s/d2", target)));
    assert_content(P("%s/d2/y", target), "y");
}

Test(unpack, invalid_whiteout_names)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "a/.wh..", .data = "" });
    assert_refused(unpack(tar, CRIO_UNPACK_VFS), "whiteout");
    MAKE_TAR(tar, { .name = "a/.wh.", .data = "" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "whiteout");
}

/* ---- VFS whiteouts ---- */

static void vfs_lower(void)
{
    PATHVAR(l1, "%s/l1.tar", tmp);
    MAKE_TAR(l1, { .name = "a/", .type = AE_IFDIR }, { .name = "a/x", .data = "x" }, { .name = "a/y", .data = "y" },
             { .name = "b/", .type = AE_IFDIR }, { .name = "b/z", .data = "z" },
             { .name = "b/sub/", .type = AE_IFDIR }, { .name = "b/sub/old", .data = "old" },
             { .name = "c", .data = "c" }, { .name = "d/", .type = AE_IFDIR }, { .name = "d/1/2/3", .data = "3" },
             { .name = "e", .data = "lower e" });
    assert_ok(unpack(l1, CRIO_UNPACK_VFS));
    assert_content(P("%s/d/1/2/3", target), "3");
}

Test(unpack, vfs_whiteouts_and_opaque_across_two_layers)
{
    vfs_lower();
    PATHVAR(l2, "%s/l2.tar", tmp);
    MAKE_TAR(l2, { .name = ".wh.c", .data = "" }, { .name = ".wh.d", .data = "" },
             { .name = "a/.wh.x", .data = "" }, { .name = "b/.wh..wh..opq", .data = "" },
             { .name = "b/new", .data = "new" }, { .name = ".wh.never-existed", .data = "" });
    assert_ok(unpack(l2, CRIO_UNPACK_VFS));
    cr_assert_not(exists(P("%s/c", target)));
    cr_assert_not(exists(P("%s/d", target)));
    cr_assert_not(exists(P("%s/a/x", target)));
    assert_content(P("%s/a/y", target), "y");
    cr_assert_not(exists(P("%s/b/z", target)));
    cr_assert_not(exists(P("%s/b/sub", target)));
    assert_content(P("%s/b/new", target), "new");
    assert_content(P("%s/e", target), "lower e");
    cr_assert_not(exists(P("%s/never-existed", target)));
    cr_assert_not(exists(P("%s/b/.wh..wh..opq", target)));
    cr_assert_not(exists(P("%s/.wh.c", target)));
}

static void vfs_opaque_order(bool marker_first)
{
    vfs_lower();
    PATHVAR(l2, "%s/l2.tar", tmp);
    const struct spec marker = { .name = "b/.wh..wh..opq", .data = "" };
    const struct spec mine[] = { { .name = "b/new", .data = "new" },
                                 { .name = "b/sub/", .type = AE_IFDIR, .mode = 0700 },
                                 { .name = "b/sub/n2", .data = "n2" },
                                 { .name = "b/z2/deep", .data = "deep" } };
    struct archive *a = tar_open(l2);
    if (marker_first)
        tar_add(a, marker);
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        tar_add(a, mine[i]);
    if (!marker_first)
        tar_add(a, marker);
    tar_close(a);
    assert_ok(unpack(l2, CRIO_UNPACK_VFS));
    assert_content(P("%s/b/new", target), "new");
    assert_content(P("%s/b/sub/n2", target), "n2");
    assert_content(P("%s/b/z2/deep", target), "deep");
    cr_assert_not(exists(P("%s/b/z", target)), "lower entry survived the opaque marker");
    cr_assert_not(exists(P("%s/b/sub/old", target)), "lower entry in a merged directory survived");
    cr_assert_eq(lst(P("%s/b/sub", target)).st_mode, S_IFDIR | 0700);
    assert_content(P("%s/a/x", target), "x");
}

Test(unpack, vfs_opaque_then_new_entries)
{
    vfs_opaque_order(true);
}

Test(unpack, vfs_new_entries_then_opaque)
{
    vfs_opaque_order(false);
}

Test(unpack, vfs_whiteout_spares_the_same_layer_entry)
{
    vfs_lower();
    PATHVAR(l2, "%s/l2.tar", tmp);
    MAKE_TAR(l2, { .name = "e", .data = "upper e" }, { .name = ".wh.e", .data = "" },     /* entry, whiteout */
             { .name = ".wh.c", .data = "" }, { .name = "c/", .type = AE_IFDIR },        /* whiteout, entry */
             { .name = "c/in", .data = "in" },
             { .name = "a/", .type = AE_IFDIR }, { .name = "a/new", .data = "n" }, { .name = ".wh.a", .data = "" });
    assert_ok(unpack(l2, CRIO_UNPACK_VFS));
    assert_content(P("%s/e", target), "upper e");
    cr_assert(S_ISDIR(lst(P("%s/c", target)).st_mode));
    assert_content(P("%s/c/in", target), "in");
    assert_content(P("%s/a/new", target), "n");
    cr_assert_not(exists(P("%s/a/x", target)), "the lower a/ is whited out");
    cr_assert_not(exists(P("%s/a/y", target)));
}

Test(unpack, vfs_whiteout_of_a_symlink_removes_the_link_not_its_target)
{
    PATHVAR(l1, "%s/l1.tar", tmp);
    MAKE_TAR(l1, { .name = "real/", .type = AE_IFDIR }, { .name = "real/keep", .data = "k" },
             { .name = "link", .type = AE_IFLNK, .symlink = "real" },
             { .name = "out", .type = AE_IFLNK, .symlink = outside });
    assert_ok(unpack(l1, CRIO_UNPACK_VFS));
    PATHVAR(l2, "%s/l2.tar", tmp);
    MAKE_TAR(l2, { .name = ".wh.link", .data = "" }, { .name = ".wh.out", .data = "" });
    assert_ok(unpack(l2, CRIO_UNPACK_VFS));
    cr_assert_not(exists(P("%s/link", target)));
    cr_assert_not(exists(P("%s/out", target)));
    assert_content(P("%s/real/keep", target), "k");
    assert_outside_untouched();
}

/* ---- hostile archives (each run with openat2 and with the fallback walk) ---- */

#define HOSTILE(name)                                  \
    static void name##_body(void);                     \
    Test(unpack, name) { name##_body(); }              \
    Test(unpack, name##_fallback)                      \
    {                                                  \
        crio_unpack_force_fallback_resolver(true);     \
        name##_body();                                 \
    }                                                  \
    static void name##_body(void)

HOSTILE(dotdot_is_refused)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "ok", .data = "fine" }, { .name = "../evil", .data = "evil" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "../evil");
    MAKE_TAR(tar, { .name = "a/../../evil", .data = "evil" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "a/../../evil");
    MAKE_TAR(tar, { .name = "./../../../evil", .type = AE_IFDIR });
    assert_refused(unpack(tar, CRIO_UNPACK_VFS), "..");
    MAKE_TAR(tar, { .name = "a/..", .type = AE_IFDIR });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "..");
    assert_outside_untouched();
}

HOSTILE(absolute_paths_are_stripped_into_the_target)
{
    char unique[64];
    snprintf(unique, sizeof unique, "etc/crio-unpack-test-%d", (int)getpid());
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = P("/%s", unique), .data = "root:x:0:0\n" },
             { .name = P("%s/pwned", outside), .data = "absolute" }, { .name = "//double//slash", .data = "d" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/%s", target, unique), "root:x:0:0\n");
    cr_assert_not(exists(P("/%s", unique)), "the real /etc was written");
    assert_content(P("%s%s/pwned", target, outside), "absolute");
    assert_content(P("%s/double/slash", target), "d");
    assert_outside_untouched();
}

HOSTILE(file_under_symlink_to_outside_is_contained)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "link", .type = AE_IFLNK, .symlink = outside }, { .name = "link/pwned", .data = "x" });
    int r = unpack(tar, CRIO_UNPACK_OVERLAY);
    cr_assert(r == CRIO_EINVAL || exists(P("%s%s/pwned", target, outside)), "%d %s", r, errmsg());
    if (r)
        cr_assert_not_null(strstr(errmsg(), "link/pwned"), "%s", errmsg());
    assert_outside_untouched();
    /* the same with the target existing inside the layer: contained there */
    PATHVAR(dir, "%s/second", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    MAKE_TAR(tar, { .name = P("%s/", outside + 1), .type = AE_IFDIR },
             { .name = "link", .type = AE_IFLNK, .symlink = outside }, { .name = "link/pwned", .data = "x" });
    crio_unpack_result res;
    assert_ok(unpack_into(tar, dir, CRIO_UNPACK_OVERLAY, &res));
    assert_content(P("%s%s/pwned", dir, outside), "x");
    assert_outside_untouched();
}

HOSTILE(symlink_dotdot_chains_stay_inside)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "a", .type = AE_IFLNK, .symlink = ".." },
             { .name = "b", .type = AE_IFLNK, .symlink = "a/../../a/.." },
             { .name = "c", .type = AE_IFLNK, .symlink = "../../../outside" },
             { .name = "sub/", .type = AE_IFDIR }, { .name = "sub/up", .type = AE_IFLNK, .symlink = "../../.." },
             { .name = "a/evil", .data = "1" }, { .name = "b/evil2", .data = "2" },
             { .name = "sub/up/evil3", .data = "3" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/evil", target), "1");
    assert_content(P("%s/evil2", target), "2");
    assert_content(P("%s/evil3", target), "3");
    MAKE_TAR(tar, { .name = "c/pwned", .data = "x" });
    int r = unpack(tar, CRIO_UNPACK_OVERLAY);
    cr_assert(r == CRIO_EINVAL || exists(P("%s/outside/pwned", target)), "%d %s", r, errmsg());
    assert_outside_untouched();
}

HOSTILE(hard_links_cannot_reach_outside)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "h", .hardlink = "../../outside/secret" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "..");
    MAKE_TAR(tar, { .name = "h", .hardlink = P("%s/secret", outside) });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "\"h\"");
    MAKE_TAR(tar, { .name = "l", .type = AE_IFLNK, .symlink = outside }, { .name = "h", .hardlink = "l/secret" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "\"h\"");
    MAKE_TAR(tar, { .name = "up", .type = AE_IFLNK, .symlink = "../../.." },
             { .name = "h", .hardlink = "up/outside/secret" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "\"h\"");
    /* a hard link to a symlink links the symlink itself */
    MAKE_TAR(tar, { .name = "s", .type = AE_IFLNK, .symlink = P("%s/secret", outside) },
             { .name = "h2", .hardlink = "s" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    cr_assert(S_ISLNK(lst(P("%s/h2", target)).st_mode));
    assert_outside_untouched();
}

HOSTILE(directory_replaced_by_symlink_then_file_under_it)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "d/", .type = AE_IFDIR }, { .name = "d/a", .data = "a" },
             { .name = "d", .type = AE_IFLNK, .symlink = outside }, { .name = "d/pwned", .data = "x" });
    int r = unpack(tar, CRIO_UNPACK_OVERLAY);
    cr_assert(r == CRIO_EINVAL || exists(P("%s%s/pwned", target, outside)), "%d %s", r, errmsg());
    assert_outside_untouched();
    /* inside the target: the file lands where the symlink points now, not in the old directory */
    PATHVAR(dir, "%s/second", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    /* "d" is the directory last opened when it is replaced: a stale cached fd would lose d/f */
    MAKE_TAR(tar, { .name = "sub/", .type = AE_IFDIR }, { .name = "d/", .type = AE_IFDIR }, { .name = "d/a", .data = "a" },
             { .name = "d", .type = AE_IFLNK, .symlink = "sub" }, { .name = "d/f", .data = "f" });
    crio_unpack_result res;
    assert_ok(unpack_into(tar, dir, CRIO_UNPACK_OVERLAY, &res));
    cr_assert(S_ISLNK(lst(P("%s/d", dir)).st_mode));
    assert_content(P("%s/sub/f", dir), "f");
    cr_assert_not(exists(P("%s/sub/a", dir)));
}

HOSTILE(entries_replacing_symlinks_do_not_write_through_them)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "f", .type = AE_IFLNK, .symlink = P("%s/secret", outside) },
             { .name = "f", .data = "pwned" },
             { .name = "d", .type = AE_IFLNK, .symlink = outside }, { .name = "d/", .type = AE_IFDIR, .mode = 0700 },
             { .name = "n", .type = AE_IFLNK, .symlink = P("%s/secret", outside) },
             { .name = "n", .type = AE_IFIFO },
             { .name = "h", .type = AE_IFLNK, .symlink = P("%s/secret", outside) }, { .name = "real", .data = "r" },
             { .name = "h", .hardlink = "real" });
    assert_ok(unpack(tar, CRIO_UNPACK_OVERLAY));
    assert_content(P("%s/f", target), "pwned");
    cr_assert_eq(lst(P("%s/d", target)).st_mode, S_IFDIR | 0700);
    cr_assert(S_ISFIFO(lst(P("%s/n", target)).st_mode));
    cr_assert_eq(lst(P("%s/h", target)).st_ino, lst(P("%s/real", target)).st_ino);
    cr_assert_eq(lst(outside).st_mode & 07777, 0755);
    assert_outside_untouched();
}

HOSTILE(vfs_whiteouts_through_symlinks_stay_inside)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "l", .type = AE_IFLNK, .symlink = outside }, { .name = "l/.wh.secret", .data = "" });
    int r = unpack(tar, CRIO_UNPACK_VFS);
    cr_assert(r == CRIO_EINVAL || r == 0, "%d %s", r, errmsg());
    assert_outside_untouched();
    MAKE_TAR(tar, { .name = "up", .type = AE_IFLNK, .symlink = "../../.." },
             { .name = "up/outside/.wh..wh..opq", .data = "" }, { .name = "up/.wh.outside", .data = "" });
    r = unpack(tar, CRIO_UNPACK_VFS);
    cr_assert(r == CRIO_EINVAL || r == 0, "%d %s", r, errmsg());
    assert_outside_untouched();
    MAKE_TAR(tar, { .name = "o", .type = AE_IFLNK, .symlink = outside }, { .name = "o/.wh..wh..opq", .data = "" });
    r = unpack(tar, CRIO_UNPACK_OVERLAY);
    cr_assert(r == CRIO_EINVAL || r == 0, "%d %s", r, errmsg());
    char v[8];
    cr_assert_lt(getxattr(outside, "trusted.overlay.opaque", v, sizeof v), 0, "xattr set outside");
    assert_outside_untouched();
}

HOSTILE(device_nodes_only_inside)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "l", .type = AE_IFLNK, .symlink = outside },
             { .name = "l/pwned", .type = AE_IFCHR, .rmajor = 1, .rminor = 3 });
    int r = unpack(tar, CRIO_UNPACK_OVERLAY);
    cr_assert(r == CRIO_EINVAL || exists(P("%s%s/pwned", target, outside)), "%d %s", r, errmsg());
    MAKE_TAR(tar, { .name = "../pwned", .type = AE_IFBLK, .rmajor = 8, .rminor = 0 });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "..");
    assert_outside_untouched();
}

HOSTILE(deep_symlink_loops_fail_cleanly)
{
    PATHVAR(tar, "%s/l.tar", tmp);
    MAKE_TAR(tar, { .name = "loop1", .type = AE_IFLNK, .symlink = "loop2" },
             { .name = "loop2", .type = AE_IFLNK, .symlink = "loop1" }, { .name = "loop1/f", .data = "x" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "loop1/f");
    MAKE_TAR(tar, { .name = "self", .type = AE_IFLNK, .symlink = "self/x" }, { .name = "self/f", .data = "x" });
    assert_refused(unpack(tar, CRIO_UNPACK_OVERLAY), "self/f");
    assert_outside_untouched();
}
