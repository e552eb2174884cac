/*
 * libcurl, libarchive, libcrypto, zlib and libzstd, loaded at first use.
 *
 * These (and the ~40 libraries they pull in: gnutls, krb5, ldap, ICU,
 * libxml2, libstdc++, ...) are needed only by image operations, so libcrio.so
 * does not link them: a program that links libcrio maps them only when it
 * first pulls, imports or unpacks an image.  As systemd does for its optional
 * dependencies, each library is dlopen'ed once (under pthread_once) and its
 * functions are resolved into typed pointers, `sym_<name>`, declared with
 * __typeof__ of the real prototype so every call is checked against the
 * library's own headers:
 *
 *     int e = crio_dl_curl();        // before the first curl call on this path
 *     if (e < 0)
 *         return e;
 *     CURL *h = sym_curl_easy_init();
 *
 * An entry point that needs a library calls its loader first; a function that
 * can only be reached through an object that entry point made (a registry
 * client, an unpack context) needs not.  The loaders are cheap after the first
 * call.
 */
#ifndef CRIO_BASE_DLOPEN_H
#define CRIO_BASE_DLOPEN_H

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <zlib.h>
#include <zstd.h>

/* Every function libcrio calls in each library (add a name here to use it). */
#define CRIO_DL_CURL_SYMBOLS(X)                                                                              \
    X(curl_easy_cleanup) X(curl_easy_escape) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)    \
    X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_strerror) X(curl_free) X(curl_global_init)           \
    X(curl_share_cleanup) X(curl_share_init) X(curl_share_setopt) X(curl_slist_append) X(curl_slist_free_all)

#define CRIO_DL_ARCHIVE_SYMBOLS(X)                                                                           \
    X(archive_entry_atime) X(archive_entry_atime_is_set) X(archive_entry_atime_nsec)                        \
    X(archive_entry_filetype) X(archive_entry_gid) X(archive_entry_hardlink) X(archive_entry_mode)          \
    X(archive_entry_mtime) X(archive_entry_mtime_nsec) X(archive_entry_pathname)                            \
    X(archive_entry_rdevmajor) X(archive_entry_rdevminor) X(archive_entry_size)                             \
    X(archive_entry_size_is_set) X(archive_entry_symlink) X(archive_entry_uid) X(archive_entry_xattr_next)  \
    X(archive_entry_xattr_reset) X(archive_error_string) X(archive_read_data_block) X(archive_read_free)    \
    X(archive_read_new) X(archive_read_next_header) X(archive_read_open) X(archive_read_open_filename)      \
    X(archive_read_support_filter_all) X(archive_read_support_format_tar) X(archive_set_error)

#define CRIO_DL_CRYPTO_SYMBOLS(X)                                                                            \
    X(EVP_DecodeBlock) X(EVP_Digest) X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)         \
    X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_sha256)

/* Layer decompression (inflateInit2 is zlib's macro around inflateInit2_). */
#define CRIO_DL_ZLIB_SYMBOLS(X) X(inflate) X(inflateEnd) X(inflateInit2_) X(inflateReset) X(inflateValidate)

#define CRIO_DL_ZSTD_SYMBOLS(X)                                                                              \
    X(ZSTD_createDStream) X(ZSTD_decompressStream) X(ZSTD_freeDStream) X(ZSTD_getErrorName)                 \
    X(ZSTD_initDStream) X(ZSTD_isError)

#define CRIO_DL_DECLARE(name) extern __typeof__(name) *sym_##name;
CRIO_DL_CURL_SYMBOLS(CRIO_DL_DECLARE)
CRIO_DL_ARCHIVE_SYMBOLS(CRIO_DL_DECLARE)
CRIO_DL_CRYPTO_SYMBOLS(CRIO_DL_DECLARE)
CRIO_DL_ZLIB_SYMBOLS(CRIO_DL_DECLARE)
CRIO_DL_ZSTD_SYMBOLS(CRIO_DL_DECLARE)
#undef CRIO_DL_DECLARE

/*
 * Load "libcurl.so.4" (and run curl_global_init), "libarchive.so.13" or
 * "libcrypto.so.3" on the first call and resolve its sym_* pointers; later
 * calls return the first call's result.  Returns 0, or CRIO_ENOTSUP with a
 * message naming the library and what is missing ("libcurl.so.4: not
 * installed (dlopen: ...)") when the library or one of its functions cannot
 * be loaded.  Thread-safe.
 */
int crio_dl_curl(void);
int crio_dl_archive(void);
int crio_dl_crypto(void);
/* "libz.so.1" and "libzstd.so.1", both: only unpacking a layer needs them. */
int crio_dl_decompress(void);

/*
 * The loader behind them, uncached: dlopen `soname` (RTLD_NOW | RTLD_LOCAL)
 * and resolve the `n` functions `names` into `out`.  Returns 0 and the handle
 * in *handle, or CRIO_ENOTSUP (nothing stays loaded, `out` is zeroed).
 */
int crio_dl_open(void **handle, const char *soname, const char *const *names, void **out, size_t n);

/*
 * Tests only: the first load of `soname` ("libcurl.so.4", "libarchive.so.13",
 * "libcrypto.so.3", "libz.so.1", "libzstd.so.1") opens `replacement` instead,
 * to exercise a missing library.  Call it before any use of that library; not
 * thread-safe.  Returns 0, or CRIO_EINVAL for a soname that is not one of them.
 */
int crio_dl_test_replace(const char *soname, const char *replacement);

#endif
