/* lib/base/dlopen: libcurl, libarchive, libcrypto, zlib and libzstd loaded at first use; a missing one is a clear error. */
#include <criterion/criterion.h>
#include <crio.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dlopen.h"
#include "image/archive.h"
#include "image/registry.h"
#include "storage/store.h"
#include "storage/unpack.h"

/* Criterion runs each test in its own process: every test starts with nothing loaded. */

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static void assert_missing(int r, const char *soname)
{
    cr_assert_eq(r, CRIO_ENOTSUP, "got %d: %s", r, errmsg());
    cr_assert_eq(crio_error_code(crio_error_last()), CRIO_ENOTSUP);
    char want[128];
    snprintf(want, sizeof want, "%s: not installed (dlopen: ", soname);
    cr_assert_not_null(strstr(errmsg(), want), "message: %s", errmsg());
}

Test(dlopen, loaders_resolve_every_function)
{
    cr_assert_eq(crio_dl_curl(), 0, "%s", errmsg());
    cr_assert_eq(crio_dl_archive(), 0, "%s", errmsg());
    cr_assert_eq(crio_dl_crypto(), 0, "%s", errmsg());
    cr_assert_eq(crio_dl_decompress(), 0, "%s", errmsg());
#define NOT_NULL(name) cr_assert_not_null(sym_##name, #name);
    CRIO_DL_CURL_SYMBOLS(NOT_NULL)
    CRIO_DL_ARCHIVE_SYMBOLS(NOT_NULL)
    CRIO_DL_CRYPTO_SYMBOLS(NOT_NULL)
    CRIO_DL_ZLIB_SYMBOLS(NOT_NULL)
    CRIO_DL_ZSTD_SYMBOLS(NOT_NULL)
#undef NOT_NULL
    /* The pointers are the real functions. */
    unsigned char md[32];
    cr_assert_eq(sym_EVP_Digest("abc", 3, md, NULL, sym_EVP_sha256(), NULL), 1);
    cr_assert_eq(md[0], 0xba);
    cr_assert_eq(md[31], 0xad);
    cr_assert_str_eq(sym_curl_easy_strerror(CURLE_OK), "No error");
    cr_assert(sym_ZSTD_isError((size_t)-1), "zstd's error codes are the top of size_t");
    cr_assert_eq(crio_dl_curl(), 0, "a second call is the first's result");
}

Test(dlopen, open_missing_library)
{
    const char *names[] = { "zlibVersion" };
    void *out[1] = { (void *)1 };
    void *h = (void *)1;
    assert_missing(crio_dl_open(&h, "libcrio-no-such.so.9", names, out, 1), "libcrio-no-such.so.9");
    cr_assert_null(h);
    cr_assert_null(out[0]);
}

Test(dlopen, open_missing_function)
{
    const char *names[] = { "zlibVersion", "crio_no_such_function" };
    void *out[2];
    void *h = (void *)1;
    cr_assert_eq(crio_dl_open(&h, "libz.so.1", names, out, 2), CRIO_ENOTSUP);
    cr_assert_null(h);
    cr_assert_null(out[0], "nothing stays resolved");
    cr_assert_not_null(strstr(errmsg(), "libz.so.1: has no function crio_no_such_function"), "%s", errmsg());
    cr_assert_eq(crio_dl_open(&h, "libz.so.1", names, out, 1), 0, "%s", errmsg());
    cr_assert_not_null(h);
    cr_assert_not_null(out[0]);
}

Test(dlopen, replace_unknown_soname)
{
    cr_assert_eq(crio_dl_test_replace("libfoo.so.1", "libbar.so.1"), CRIO_EINVAL);
}

Test(dlopen, missing_curl_fails_registry_new)
{
    cr_assert_eq(crio_dl_test_replace("libcurl.so.4", "libcurl-missing.so.4"), 0);
    crio_registry *r = NULL;
    assert_missing(crio_registry_new(&r, "registry.example", false, NULL), "libcurl-missing.so.4");
    cr_assert_null(r);
    cr_assert_not_null(strstr(errmsg(), "Debian package libcurl4"), "%s", errmsg());
    /* Every later call, from any thread, gets the same error. */
    crio_error_clear();
    assert_missing(crio_dl_curl(), "libcurl-missing.so.4");
    /* The other libraries are unaffected. */
    cr_assert_eq(crio_dl_crypto(), 0, "%s", errmsg());
}

Test(dlopen, missing_crypto_fails_chain_id)
{
    cr_assert_eq(crio_dl_test_replace("libcrypto.so.3", "libcrypto-missing.so.3"), 0);
    char id[72];
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    cr_assert_eq(crio_chain_id(id, NULL, d1), 0, "the first layer needs no hashing");
    cr_assert_str_eq(id, d1);
    assert_missing(crio_chain_id(id, d1, d1), "libcrypto-missing.so.3");
    crio_registry *r = NULL;
    assert_missing(crio_registry_new(&r, "registry.example", false, NULL), "libcrypto-missing.so.3");
}

Test(dlopen, missing_archive_fails_unpack_and_import)
{
    cr_assert_eq(crio_dl_test_replace("libarchive.so.13", "libarchive-missing.so.13"), 0);
    char dir[] = "/tmp/crio-dlopen-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int bfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(dfd >= 0 && bfd >= 0);
    crio_unpack_result res;
    assert_missing(crio_layer_unpack(dfd, bfd, CRIO_UNPACK_OVERLAY, &res), "libarchive-missing.so.13");
    cr_assert_not_null(strstr(errmsg(), "layer unpack: "), "%s", errmsg());
    char *name = NULL;
    assert_missing(crio_image_archive_to_layout("/dev/null", dir, &name), "libarchive-missing.so.13");
    cr_assert_null(name);
    close(bfd);
    close(dfd);
    rmdir(dir);
}

Test(dlopen, missing_zstd_fails_unpack)
{
    cr_assert_eq(crio_dl_test_replace("libzstd.so.1", "libzstd-missing.so.1"), 0);
    char dir[] = "/tmp/crio-dlopen-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int bfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(dfd >= 0 && bfd >= 0);
    crio_unpack_result res;
    assert_missing(crio_layer_unpack(dfd, bfd, CRIO_UNPACK_OVERLAY, &res), "libzstd-missing.so.1");
    cr_assert_not_null(strstr(errmsg(), "Debian package libzstd1"), "%s", errmsg());
    close(bfd);
    close(dfd);
    rmdir(dir);
}

/* Through the public API, as crio-server sees it. */
Test(dlopen, missing_curl_fails_image_pull, .timeout = 60)
{
    cr_assert_eq(crio_dl_test_replace("libcurl.so.4", "libcurl-missing.so.4"), 0);
    char dir[] = "/tmp/crio-dlopen-XXXXXX", root[64], runroot[64], regs[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(runroot, sizeof runroot, "%s/run", dir);
    snprintf(regs, sizeof regs, "%s/registries.conf", dir);
    crio_config *cfg;
    crio *c;
    cr_assert_eq(crio_config_new(&cfg), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.root", root), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.runroot", runroot), 0);
    cr_assert_eq(crio_config_set(cfg, "crio.image.registries_conf", regs), 0);
    cr_assert_eq(crio_open(&c, cfg), 0, "%s", errmsg());
    crio_image *img = NULL;
    assert_missing(crio_image_pull(&img, c, "127.0.0.1:1/busybox:latest", NULL), "libcurl-missing.so.4");
    cr_assert_null(img);
    crio_close(c);
    crio_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
