/* oci-archive and docker-archive tarballs -> OCI image layout directories. */
#include "image/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/dlopen.h"
#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "image/reference.h"
#include "image/registry.h"

#define SMALL_MAX (4 * 1024 * 1024)
#define MAX_ENTRIES 4096
#define MAX_LINKS 256

/* Entry names: relative, no "..", no empty components, no NUL games. */
static int clean_name(char *out, size_t cap, const char *in)
{
    while (in[0] == '.' && in[1] == '/')
        in += 2;
    size_t n = strlen(in);
    while (n && in[n - 1] == '/')
        n--;
    if (n == 0 || n >= cap || in[0] == '/')
        return -1;
    memcpy(out, in, n);
    out[n] = '\0';
    for (char *p = out; *p;) {
        size_t c = strcspn(p, "/");
        if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
            return -1;
        p += c;
        if (*p)
            p++;
    }
    return 0;
}

/* Resolves "a/b/../c" in an archive-relative path; refuses one that climbs out. */
static int normalize(char *out, size_t cap, const char *in)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s", in);
    size_t len = 0;
    out[0] = '\0';
    char *save = NULL;
    for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            if (len == 0)
                return -1;
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        size_t cl = strlen(c);
        if (len + cl + 2 > cap)
            return -1;
        if (len)
            out[len++] = '/';
        memcpy(out + len, c, cl + 1);
        len += cl;
    }
    return len ? 0 : -1;
}

static void hex_digest(char out[72], EVP_MD_CTX *md)
{
    unsigned char d[32];
    sym_EVP_DigestFinal_ex(md, d, NULL);
    crio_digest_format(out, d);
}

/* Copies the current entry's data into a new file `dirfd/name`, hashing it. */
static int copy_entry(struct archive *a, int dirfd, const char *name, char digest[72], uint64_t *size)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return crio_error_sys(errno, "archive entry %s", name);
    EVP_MD_CTX *md = sym_EVP_MD_CTX_new();
    if (!md)
        return crio_error_oom();
    sym_EVP_DigestInit_ex(md, sym_EVP_sha256(), NULL);
    const void *buf;
    size_t len;
    la_int64_t off;
    int r, e = 0;
    *size = 0;
    while ((r = sym_archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        sym_EVP_DigestUpdate(md, buf, len);
        if (pwrite(fd, buf, len, off) != (ssize_t)len) {
            e = crio_error_sys(errno ? errno : EIO, "archive entry %s: write", name);
            break;
        }
        if ((uint64_t)off + len > *size)
            *size = (uint64_t)off + len;
    }
    if (e == 0 && r != ARCHIVE_EOF)
        e = crio_error_set(CRIO_EINVAL, "archive entry %s: %s", name, sym_archive_error_string(a));
    hex_digest(digest, md);
    sym_EVP_MD_CTX_free(md);
    return e;
}

/* Writes `data` as blob sha256 into layout `dirfd`; returns its digest. */
static int put_blob(int dirfd, const char *data, size_t len, char digest[72])
{
    unsigned char d[32];
    sym_EVP_Digest(data, len, d, NULL, sym_EVP_sha256(), NULL);
    crio_digest_format(digest, d);
    char rel[96];
    snprintf(rel, sizeof rel, "blobs/sha256/%s", digest + 7);
    _cleanup_close_ int fd = openat(dirfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        return crio_error_sys(errno ? errno : EIO, "write blob %s", digest);
    return 0;
}

static int read_small(int dirfd, const char *name, char **out, size_t *len)
{
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return crio_error_sys(errno, "archive: %s", name);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return crio_error_sys(errno, "archive: %s", name);
    if (st.st_size > SMALL_MAX)
        return crio_error_set(CRIO_EINVAL, "archive: %s is over %d bytes", name, SMALL_MAX);
    char *b = malloc((size_t)st.st_size + 1);
    if (!b)
        return crio_error_oom();
    if (pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
        free(b);
        return crio_error_sys(errno ? errno : EIO, "archive: read %s", name);
    }
    b[st.st_size] = '\0';
    *out = b;
    *len = (size_t)st.st_size;
    return 0;
}

/* docker save: manifest.json [{Config, RepoTags, Layers}] -> an OCI manifest + index. */
static int convert_docker(int dirfd, char **name)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int e = read_small(dirfd, "docker/manifest.json", &text, &len);
    if (e < 0)
        return e;
    _cleanup_json_ cJSON *m = NULL;
    if ((e = crio_json_parse(&m, text, len, SMALL_MAX, "docker-archive manifest.json")) < 0)
        return e;
    const cJSON *img = cJSON_GetArrayItem(m, 0);
    const char *cfgname = crio_json_string(img, "Config");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(img, "Layers");
    if (!cfgname || !cJSON_IsArray(layers))
        return crio_error_set(CRIO_EINVAL, "docker-archive: manifest.json lacks Config or Layers");
    char rel[600];
    snprintf(rel, sizeof rel, "docker/%s", cfgname);
    char clean[600];
    if (clean_name(clean, sizeof clean, rel) < 0)
        return crio_error_set(CRIO_EINVAL, "docker-archive: bad Config name \"%s\"", cfgname);
    _cleanup_free_ char *cfg = NULL;
    size_t cfglen;
    if ((e = read_small(dirfd, clean, &cfg, &cfglen)) < 0)
        return e;
    char cdigest[72];
    if ((e = put_blob(dirfd, cfg, cfglen, cdigest)) < 0)
        return e;
    _cleanup_json_ cJSON *man = cJSON_CreateObject();
    cJSON *ls = man ? cJSON_AddArrayToObject(man, "layers") : NULL;
    cJSON *cd = man ? cJSON_AddObjectToObject(man, "config") : NULL;
    if (!ls || !cd)
        return crio_error_oom();
    cJSON_AddNumberToObject(man, "schemaVersion", 2);
    cJSON_AddStringToObject(man, "mediaType", CRIO_MEDIA_OCI_MANIFEST);
    cJSON_AddStringToObject(cd, "mediaType", "application/vnd.oci.image.config.v1+json");
    cJSON_AddStringToObject(cd, "digest", cdigest);
    cJSON_AddNumberToObject(cd, "size", (double)cfglen);
    const cJSON *l;
    cJSON_ArrayForEach(l, layers) {
        if (!cJSON_IsString(l))
            return crio_error_set(CRIO_EINVAL, "docker-archive: bad Layers entry");
        snprintf(rel, sizeof rel, "docker/%s", l->valuestring);
        if (clean_name(clean, sizeof clean, rel) < 0)
            return crio_error_set(CRIO_EINVAL, "docker-archive: bad layer name \"%s\"", l->valuestring);
        /* The layer tar is hashed and moved into blobs/ under its digest. */
        _cleanup_close_ int fd = openat(dirfd, clean, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return crio_error_sys(errno, "docker-archive: layer %s", l->valuestring);
        EVP_MD_CTX *md = sym_EVP_MD_CTX_new();
        if (!md)
            return crio_error_oom();
        sym_EVP_DigestInit_ex(md, sym_EVP_sha256(), NULL);
        char buf[65536];
        ssize_t n;
        uint64_t size = 0;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            sym_EVP_DigestUpdate(md, buf, (size_t)n);
            size += (uint64_t)n;
        }
        char ld[72];
        hex_digest(ld, md);
        sym_EVP_MD_CTX_free(md);
        if (n < 0)
            return crio_error_sys(errno, "docker-archive: read layer %s", l->valuestring);
        char dst[96];
        snprintf(dst, sizeof dst, "blobs/sha256/%s", ld + 7);
        if (renameat(dirfd, clean, dirfd, dst) < 0 && errno != ENOENT)
            return crio_error_sys(errno, "docker-archive: layer %s", l->valuestring);
        cJSON *desc = cJSON_CreateObject();
        cJSON_AddStringToObject(desc, "mediaType", "application/vnd.oci.image.layer.v1.tar");
        cJSON_AddStringToObject(desc, "digest", ld);
        cJSON_AddNumberToObject(desc, "size", (double)size);
        cJSON_AddItemToArray(ls, desc);
    }
    _cleanup_free_ char *mtext = cJSON_PrintUnformatted(man);
    char mdigest[72];
    if (!mtext)
        return crio_error_oom();
    if ((e = put_blob(dirfd, mtext, strlen(mtext), mdigest)) < 0)
        return e;
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(img, "RepoTags");
    const char *tag = cJSON_IsArray(tags) && cJSON_IsString(cJSON_GetArrayItem(tags, 0))
                          ? cJSON_GetArrayItem(tags, 0)->valuestring
                          : NULL;
    if (tag && name && !(*name = strdup(tag)))
        return crio_error_oom();
    _cleanup_free_ char *index = NULL;
    if (asprintf(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                 CRIO_MEDIA_OCI_MANIFEST, mdigest, strlen(mtext)) < 0)
        return crio_error_oom();
    _cleanup_close_ int ifd = openat(dirfd, "index.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ifd < 0 || write(ifd, index, strlen(index)) != (ssize_t)strlen(index))
        return crio_error_sys(errno ? errno : EIO, "docker-archive: write index.json");
    return 0;
}

int crio_image_archive_to_layout(const char *path, const char *outdir, char **name)
{
    if (name)
        *name = NULL;
    int e = crio_dl_archive();
    if (e < 0 || (e = crio_dl_crypto()) < 0)
        return crio_error_wrap(e, "import %s", path);
    _cleanup_close_ int dirfd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return crio_error_sys(errno, "import: %s", outdir);
    if (mkdirat(dirfd, "blobs", 0755) < 0 || mkdirat(dirfd, "blobs/sha256", 0755) < 0 ||
        mkdirat(dirfd, "docker", 0755) < 0)
        return crio_error_sys(errno, "import: %s", outdir);
    struct archive *a = sym_archive_read_new();
    if (!a)
        return crio_error_oom();
    sym_archive_read_support_filter_all(a);
    sym_archive_read_support_format_tar(a);
    if (sym_archive_read_open_filename(a, path, 1 << 20) != ARCHIVE_OK) {
        e = crio_error_set(CRIO_EINVAL, "import %s: %s", path, sym_archive_error_string(a));
        sym_archive_read_free(a);
        return e;
    }
    bool oci = false, docker = false;
    int count = 0, nlinks = 0;
    static __thread struct { char name[512], target[512]; } links[MAX_LINKS];
    struct archive_entry *ent;
    int r;
    while (e == 0 && (r = sym_archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
        if (++count > MAX_ENTRIES) {
            e = crio_error_set(CRIO_EINVAL, "import %s: more than %d entries", path, MAX_ENTRIES);
            break;
        }
        char n[512];
        if (clean_name(n, sizeof n, sym_archive_entry_pathname(ent)) < 0) {
            if (!strcmp(sym_archive_entry_pathname(ent), "./") || !strcmp(sym_archive_entry_pathname(ent), "."))
                continue;
            e = crio_error_set(CRIO_EINVAL, "import %s: unsafe entry name \"%s\"", path,
                               sym_archive_entry_pathname(ent));
            break;
        }
        mode_t type = sym_archive_entry_filetype(ent);
        if (type == AE_IFDIR)
            continue;
        if (type == AE_IFLNK && nlinks < MAX_LINKS) {
            /* docker-archive writers link <id>/layer.tar to a shared file: resolve after the loop. */
            const char *target = sym_archive_entry_symlink(ent);
            char base[512], joined[1100];
            snprintf(base, sizeof base, "%s", n);
            char *slash = strrchr(base, '/');
            if (slash)
                slash[1] = '\0';
            else
                base[0] = '\0';
            snprintf(joined, sizeof joined, "%s%s", target && target[0] != '/' ? base : "/", target ? target : "");
            if (normalize(links[nlinks].target, sizeof links[nlinks].target, joined) < 0) {
                e = crio_error_set(CRIO_EINVAL, "import %s: link \"%s\" points outside the archive", path, n);
                break;
            }
            snprintf(links[nlinks].name, sizeof links[nlinks].name, "%s", n);
            nlinks++;
            docker = true;
            continue;
        }
        if (type != AE_IFREG) {
            e = crio_error_set(CRIO_EINVAL, "import %s: entry \"%s\" is not a regular file", path, n);
            break;
        }
        char digest[72], dst[600];
        uint64_t size;
        if (!strcmp(n, "oci-layout") || !strcmp(n, "index.json")) {
            oci = true;
            e = copy_entry(a, dirfd, n, digest, &size);
        } else if (!strncmp(n, "blobs/sha256/", 13) && !strchr(n + 13, '/')) {
            oci = true;
            snprintf(dst, sizeof dst, "%s", n);
            e = copy_entry(a, dirfd, dst, digest, &size);
            if (e == 0 && strcmp(digest + 7, n + 13))
                e = crio_error_set(CRIO_EDATALOSS, "import %s: blob %s has digest %s", path, n + 13, digest);
        } else {
            /* docker save layout: manifest.json, <config>.json, <id>/layer.tar, ... */
            docker = true;
            snprintf(dst, sizeof dst, "docker/%s", n);
            for (char *p = dst + 7; *p; p++)
                if (*p == '/') {
                    *p = '\0';
                    if (mkdirat(dirfd, dst, 0755) < 0 && errno != EEXIST)
                        e = crio_error_sys(errno, "import: %s", dst);
                    *p = '/';
                }
            if (e == 0)
                e = copy_entry(a, dirfd, dst, digest, &size);
        }
    }
    if (e == 0 && r != ARCHIVE_EOF && r != ARCHIVE_OK)
        e = crio_error_set(CRIO_EINVAL, "import %s: %s", path, sym_archive_error_string(a));
    sym_archive_read_free(a);
    for (int i = 0; e == 0 && i < nlinks; i++) {
        char from[600], to[600];
        snprintf(from, sizeof from, "docker/%s", links[i].target);
        snprintf(to, sizeof to, "docker/%s", links[i].name);
        for (char *p = to + 7; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdirat(dirfd, to, 0755);
                *p = '/';
            }
        if (linkat(dirfd, from, dirfd, to, 0) < 0 && errno != EEXIST)
            e = crio_error_sys(errno, "import %s: link %s -> %s", path, links[i].name, links[i].target);
    }
    if (e < 0)
        return e;
    if (faccessat(dirfd, "index.json", F_OK, 0) == 0) {
        crio_fs_remove_tree(dirfd, "docker");
        return 0;
    }
    if (docker && !oci && faccessat(dirfd, "docker/manifest.json", F_OK, 0) == 0) {
        e = convert_docker(dirfd, name);
        crio_fs_remove_tree(dirfd, "docker");
        return e;
    }
    return crio_error_set(CRIO_EINVAL, "import %s: neither an OCI layout nor a docker-archive tarball", path);
}
