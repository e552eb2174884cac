/*
 * Layer unpack throughput: crio_layer_unpack against `tar -xzf` (GNU tar with
 * gzip, the same work: decompress and write, as root so owners and modes are
 * kept) on the same gzip layer, into fresh directories.
 *
 *   bench/unpack [--files N] [--kib K] [--level L] [--runs R] [--dir D]
 *
 * Defaults: 2000 files of 100 KiB of incompressible data (200 MiB), gzip
 * level 1, 3 runs of each, alternating, in a temporary directory under
 * $TMPDIR (or /tmp).  Between runs the tree is removed and the file system
 * synced, untimed.  Prints every run, the medians and their ratio, then a
 * line for bench/run.sh ("unpack-summary crio=S tar=S ratio=R runs=N
 * mib=M"); exits 1 if any unpack fails, a tree has the wrong size, or the
 * diff_id is not the SHA-256 of the tar (computed here independently).
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/error.h"
#include "storage/unpack.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what)
{
    fprintf(stderr, "bench/unpack: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A plain tar of `files` files of `size` random bytes in 20 directories, gzip'd at `level`. */
static void make_layer(const char *tar_path, const char *gz_path, int files, size_t size, int level)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_filename(a, tar_path) != ARCHIVE_OK) {
        fprintf(stderr, "bench/unpack: %s\n", archive_error_string(a));
        exit(1);
    }
    uint64_t *buf = malloc(size + 8);
    char name[64];
    for (int d = 0; d < 20; d++) {
        struct archive_entry *e = archive_entry_new();
        snprintf(name, sizeof name, "usr/share/d%02d/", d);
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, 1600000000, 0);
        archive_write_header(a, e);
        archive_entry_free(e);
    }
    for (int i = 0; i < files; i++) {
        for (size_t k = 0; k < size / 8 + 1; k++)
            buf[k] = next_rand();
        struct archive_entry *e = archive_entry_new();
        snprintf(name, sizeof name, "usr/share/d%02d/file-%05d", i % 20, i);
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_uid(e, 1000);
        archive_entry_set_gid(e, 1000);
        archive_entry_set_mtime(e, 1600000000, 0);
        archive_entry_set_size(e, (la_int64_t)size);
        if (archive_write_header(a, e) != ARCHIVE_OK || archive_write_data(a, buf, size) != (la_ssize_t)size) {
            fprintf(stderr, "bench/unpack: %s\n", archive_error_string(a));
            exit(1);
        }
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    free(buf);

    /* gzip with zlib (one member), streaming */
    FILE *in = fopen(tar_path, "rb"), *out = fopen(gz_path, "wb");
    if (!in || !out)
        die("open layer files");
    z_stream z = { 0 };
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    static unsigned char ib[1 << 20], ob[1 << 20];
    int flush;
    do {
        size_t n = fread(ib, 1, sizeof ib, in);
        flush = feof(in) ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = ib;
        z.avail_in = (uInt)n;
        do {
            z.next_out = ob;
            z.avail_out = sizeof ob;
            deflate(&z, flush);
            fwrite(ob, 1, sizeof ob - z.avail_out, out);
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&z);
    fclose(in);
    if (fclose(out) != 0)
        die("write gzip layer");
}

/* "sha256:<hex>" of a file, computed here independently of libcrio. */
static void file_sha256(char out[72], const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("open tar");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    static unsigned char buf[1 << 20];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(md, buf, n);
    fclose(f);
    unsigned char d[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(md, d, &len);
    EVP_MD_CTX_free(md);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    return remove(p);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 64, FTW_DEPTH | FTW_PHYS);
}

static uint64_t tree_bytes;
static int size_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    if (S_ISREG(st->st_mode))
        tree_bytes += (uint64_t)st->st_size;
    return 0;
}

static uint64_t tree_size(const char *dir)
{
    tree_bytes = 0;
    nftw(dir, size_cb, 64, FTW_PHYS);
    return tree_bytes;
}

static double run_crio(const char *gz, const char *dir, crio_unpack_result *res)
{
    if (mkdir(dir, 0755) < 0)
        die("mkdir");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), bfd = open(gz, O_RDONLY | O_CLOEXEC);
    if (dfd < 0 || bfd < 0)
        die("open");
    double t0 = now();
    int r = crio_layer_unpack(dfd, bfd, CRIO_UNPACK_OVERLAY, res);
    double t = now() - t0;
    close(dfd);
    close(bfd);
    if (r < 0) {
        fprintf(stderr, "bench/unpack: crio_layer_unpack: %s\n", crio_error_message(crio_error_last()));
        exit(1);
    }
    return t;
}

static double run_tar(const char *gz, const char *dir)
{
    if (mkdir(dir, 0755) < 0)
        die("mkdir");
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execl("/bin/tar", "tar", "-xzf", gz, "-C", dir, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    double t = now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench/unpack: tar -xzf failed (status %d)\n", status);
        exit(1);
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int files = 2000, kib = 100, level = 1, runs = 3;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    static const struct option opts[] = {
        { "files", required_argument, NULL, 'f' }, { "kib", required_argument, NULL, 'k' },
        { "level", required_argument, NULL, 'l' }, { "runs", required_argument, NULL, 'r' },
        { "dir", required_argument, NULL, 'd' },   { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': files = atoi(optarg); break;
        case 'k': kib = atoi(optarg); break;
        case 'l': level = atoi(optarg); break;
        case 'r': runs = atoi(optarg); break;
        case 'd': base = optarg; break;
        default:
            fprintf(stderr, "usage: %s [--files N] [--kib K] [--level L] [--runs R] [--dir D]\n", argv[0]);
            return 2;
        }
    }
    if (files < 1 || kib < 1 || level < 0 || level > 9 || runs < 1 || runs > 50) {
        fprintf(stderr, "bench/unpack: bad arguments\n");
        return 2;
    }

    char root[4096];
    snprintf(root, sizeof root, "%s/crio-bench-unpack.XXXXXX", base);
    if (!mkdtemp(root))
        die("mkdtemp");
    char tar_path[4200], gz_path[4200], dir[4200];
    snprintf(tar_path, sizeof tar_path, "%s/layer.tar", root);
    snprintf(gz_path, sizeof gz_path, "%s/layer.tar.gz", root);

    double t0 = now();
    make_layer(tar_path, gz_path, files, (size_t)kib * 1024, level);
    struct stat st_tar, st_gz;
    stat(tar_path, &st_tar);
    stat(gz_path, &st_gz);
    char want_id[72];
    file_sha256(want_id, tar_path);
    unlink(tar_path);
    printf("== layer: %d files x %d KiB, tar %.1f MiB, gzip -%d %.1f MiB (made in %.1f s); %ld CPUs\n", files, kib,
           (double)st_tar.st_size / 1048576, level, (double)st_gz.st_size / 1048576, now() - t0,
           sysconf(_SC_NPROCESSORS_ONLN));

    double tc[50], tt[50];
    uint64_t want = (uint64_t)files * (uint64_t)kib * 1024;
    int fail = 0;
    crio_unpack_result res = { 0 };
    for (int i = 0; i < runs; i++) {
        sync();
        snprintf(dir, sizeof dir, "%s/crio-%d", root, i);
        tc[i] = run_crio(gz_path, dir, &res);
        if (tree_size(dir) != want) {
            fprintf(stderr, "bench/unpack: crio tree has the wrong size\n");
            fail = 1;
        }
        rm_rf(dir);
        sync();
        snprintf(dir, sizeof dir, "%s/tar-%d", root, i);
        tt[i] = run_tar(gz_path, dir);
        if (tree_size(dir) != want) {
            fprintf(stderr, "bench/unpack: tar tree has the wrong size\n");
            fail = 1;
        }
        rm_rf(dir);
        printf("run %d: crio_layer_unpack %.3f s (%.0f MiB/s)   tar -xzf %.3f s (%.0f MiB/s)\n", i + 1, tc[i],
               (double)st_tar.st_size / 1048576 / tc[i], tt[i], (double)st_tar.st_size / 1048576 / tt[i]);
    }
    bool id_ok = strcmp(res.diff_id, want_id) == 0 && res.tar_bytes == (uint64_t)st_tar.st_size;
    printf("diff_id %s (%s sha256 of the tar), %llu tar bytes, %llu entries\n", res.diff_id,
           id_ok ? "matches" : "DIFFERS FROM", (unsigned long long)res.tar_bytes, (unsigned long long)res.entries);
    if (!id_ok)
        fail = 1;
    double mc = median(tc, runs), mt = median(tt, runs);
    printf("median: crio_layer_unpack %.3f s, tar -xzf %.3f s, ratio crio/tar %.2f (target <= 1.20: %s)\n", mc, mt,
           mc / mt, mc / mt <= 1.2 ? "PASS" : "MISS");
    printf("unpack-summary crio=%.3f tar=%.3f ratio=%.2f runs=%d mib=%.1f\n", mc, mt, mc / mt, runs,
           (double)st_tar.st_size / 1048576);
    rm_rf(root);
    return fail;
}
