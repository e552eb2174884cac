/* libcurl, libarchive, libcrypto, zlib and libzstd, dlopen'ed at first use (see dlopen.h). */
#include "base/dlopen.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"

#define DL_DEFINE(name) __typeof__(name) *sym_##name;
CRIO_DL_CURL_SYMBOLS(DL_DEFINE)
CRIO_DL_ARCHIVE_SYMBOLS(DL_DEFINE)
CRIO_DL_CRYPTO_SYMBOLS(DL_DEFINE)
CRIO_DL_ZLIB_SYMBOLS(DL_DEFINE)
CRIO_DL_ZSTD_SYMBOLS(DL_DEFINE)

/* Names, and the assignment of resolved addresses to the typed pointers, in list order. */
#define DL_NAME(name) #name,
#define DL_ASSIGN(name) sym_##name = (__typeof__(name) *)*p++;

static const char *const curl_names[] = { CRIO_DL_CURL_SYMBOLS(DL_NAME) };
static const char *const archive_names[] = { CRIO_DL_ARCHIVE_SYMBOLS(DL_NAME) };
static const char *const crypto_names[] = { CRIO_DL_CRYPTO_SYMBOLS(DL_NAME) };
static const char *const zlib_names[] = { CRIO_DL_ZLIB_SYMBOLS(DL_NAME) };
static const char *const zstd_names[] = { CRIO_DL_ZSTD_SYMBOLS(DL_NAME) };

static void curl_assign(void *const *p) { CRIO_DL_CURL_SYMBOLS(DL_ASSIGN) }
static void archive_assign(void *const *p) { CRIO_DL_ARCHIVE_SYMBOLS(DL_ASSIGN) }
static void crypto_assign(void *const *p) { CRIO_DL_CRYPTO_SYMBOLS(DL_ASSIGN) }
static void zlib_assign(void *const *p) { CRIO_DL_ZLIB_SYMBOLS(DL_ASSIGN) }
static void zstd_assign(void *const *p) { CRIO_DL_ZSTD_SYMBOLS(DL_ASSIGN) }

int crio_dl_open(void **handle, const char *soname, const char *const *names, void **out, size_t n)
{
    *handle = NULL;
    memset(out, 0, n * sizeof *out);
    (void)dlerror();
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return crio_error_set(CRIO_ENOTSUP, "%s: not installed (dlopen: %s)", soname, why ? why : "failed");
    }
    for (size_t i = 0; i < n; i++) {
        (void)dlerror();
        out[i] = dlsym(h, names[i]);
        if (!out[i]) {
            const char *why = dlerror();
            int e = crio_error_set(CRIO_ENOTSUP, "%s: has no function %s (dlsym: %s)", soname, names[i],
                                   why ? why : "null");
            memset(out, 0, n * sizeof *out);
            dlclose(h);
            return e;
        }
    }
    *handle = h;
    return 0;
}

struct dl_lib {
    const char *soname;
    const char *package; /* where to get it, for the message */
    const char *open_name; /* soname, or a test's replacement */
    const char *const *names;
    size_t n;
    void (*assign)(void *const *p);
    int (*init)(void); /* run once after loading */
    pthread_once_t once;
    void *handle;
    int result;
    char msg[700];
};

static int curl_init(void)
{
    CURLcode c = sym_curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c != CURLE_OK)
        return crio_error_set(CRIO_EINTERNAL, "libcurl: %s", sym_curl_easy_strerror(c));
    return 0;
}

static struct dl_lib libs[] = {
    { "libcurl.so.4", "libcurl4", NULL, curl_names, CRIO_ARRAY_SIZE(curl_names), curl_assign, curl_init,
      PTHREAD_ONCE_INIT, NULL, 0, "" },
    { "libarchive.so.13", "libarchive13", NULL, archive_names, CRIO_ARRAY_SIZE(archive_names), archive_assign,
      NULL, PTHREAD_ONCE_INIT, NULL, 0, "" },
    { "libcrypto.so.3", "libssl3", NULL, crypto_names, CRIO_ARRAY_SIZE(crypto_names), crypto_assign, NULL,
      PTHREAD_ONCE_INIT, NULL, 0, "" },
    { "libz.so.1", "zlib1g", NULL, zlib_names, CRIO_ARRAY_SIZE(zlib_names), zlib_assign, NULL, PTHREAD_ONCE_INIT,
      NULL, 0, "" },
    { "libzstd.so.1", "libzstd1", NULL, zstd_names, CRIO_ARRAY_SIZE(zstd_names), zstd_assign, NULL,
      PTHREAD_ONCE_INIT, NULL, 0, "" },
};
enum { LIB_CURL, LIB_ARCHIVE, LIB_CRYPTO, LIB_ZLIB, LIB_ZSTD };

static void lib_load(struct dl_lib *l)
{
    void *addrs[64];
    if (l->n > CRIO_ARRAY_SIZE(addrs)) { /* a symbol list outgrew addrs */
        l->result = crio_error_set(CRIO_EINTERNAL, "%s: %zu functions to load", l->soname, l->n);
    } else if ((l->result = crio_dl_open(&l->handle, l->open_name ? l->open_name : l->soname, l->names, addrs,
                                         l->n)) < 0) {
        snprintf(l->msg, sizeof l->msg, "%s; image operations need it (Debian package %s)",
                 crio_error_message(crio_error_last()), l->package);
        return;
    } else {
        l->assign(addrs);
        if (l->init)
            l->result = l->init();
    }
    if (l->result < 0)
        snprintf(l->msg, sizeof l->msg, "%s", crio_error_message(crio_error_last()));
}

/* pthread_once takes no argument: one trampoline per library. */
static void load_curl(void) { lib_load(&libs[LIB_CURL]); }
static void load_archive(void) { lib_load(&libs[LIB_ARCHIVE]); }
static void load_crypto(void) { lib_load(&libs[LIB_CRYPTO]); }
static void load_zlib(void) { lib_load(&libs[LIB_ZLIB]); }
static void load_zstd(void) { lib_load(&libs[LIB_ZSTD]); }

static int lib_result(struct dl_lib *l, void (*load)(void))
{
    pthread_once(&l->once, load);
    /* The first caller's error is every caller's: set it in this thread too. */
    return l->result < 0 ? crio_error_set(l->result, "%s", l->msg) : 0;
}

int crio_dl_curl(void)
{
    return lib_result(&libs[LIB_CURL], load_curl);
}

int crio_dl_archive(void)
{
    return lib_result(&libs[LIB_ARCHIVE], load_archive);
}

int crio_dl_crypto(void)
{
    return lib_result(&libs[LIB_CRYPTO], load_crypto);
}

int crio_dl_decompress(void)
{
    int e = lib_result(&libs[LIB_ZLIB], load_zlib);
    return e < 0 ? e : lib_result(&libs[LIB_ZSTD], load_zstd);
}

int crio_dl_test_replace(const char *soname, const char *replacement)
{
    for (size_t i = 0; i < CRIO_ARRAY_SIZE(libs); i++)
        if (!strcmp(libs[i].soname, soname)) {
            libs[i].open_name = replacement;
            return 0;
        }
    return crio_error_set(CRIO_EINVAL, "no lazily loaded library %s", soname);
}
