/*
 * A client for one registry endpoint: the OCI Distribution / Docker Registry
 * HTTP API v2 over libcurl.  Manifests and blobs are verified against their
 * digests while they stream; authentication is anonymous, HTTP Basic or
 * Bearer tokens (fetched from the realm the registry names and cached until
 * they expire).  Thread-safe: concurrent calls on one client share its
 * token cache and connection pool.
 */
#ifndef CRIO_IMAGE_REGISTRY_H
#define CRIO_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Manifest media types. */
#define CRIO_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CRIO_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CRIO_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CRIO_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* The largest manifest accepted. */
#define CRIO_MANIFEST_MAX (4 * 1024 * 1024)

/* Credentials, as the CRI AuthConfig carries them; any field may be NULL. */
typedef struct {
    const char *username;
    const char *password;
    const char *auth;           /* base64 "username:password" */
    const char *identity_token; /* an OAuth2 refresh token for the token realm */
    const char *registry_token; /* a bearer token to send as is */
} crio_registry_auth;

typedef struct crio_registry crio_registry;

/*
 * A client for `host` ("registry.example.com", "127.0.0.1:5000").  With
 * `insecure`, TLS is not verified and plain HTTP is used when the endpoint
 * does not speak TLS.  `auth` is copied (NULL: anonymous).
 */
int crio_registry_new(crio_registry **out, const char *host, bool insecure, const crio_registry_auth *auth);
void crio_registry_free(crio_registry *r);

/* Limits and retries; defaults suit production (tests shorten them). */
typedef struct {
    long connect_timeout_ms; /* default 10 s */
    long stall_timeout_s;    /* a transfer below 1 byte/s for this long fails; default 30 s */
    int attempts;            /* tries for connection errors and 5xx; default 3 */
    long backoff_ms;         /* first retry delay, doubled each time; default 250 ms */
} crio_registry_limits;
void crio_registry_set_limits(crio_registry *r, const crio_registry_limits *limits);

/*
 * Fetches the manifest `reference` (a tag or a digest) of repository `repo`
 * ("library/busybox").  *body (malloc'd, NUL-terminated) and *media_type
 * (malloc'd) are the caller's; `digest` receives "sha256:<hex>" of the body.
 * When `reference` is a digest the body must match it.
 * Errors: CRIO_ENOTFOUND (manifest unknown), CRIO_EAUTH (credentials refused,
 * with the registry's message), CRIO_EDATALOSS (digest mismatch),
 * CRIO_EINVAL (over CRIO_MANIFEST_MAX), CRIO_EUNAVAILABLE (unreachable, 5xx
 * after retries), CRIO_ETIMEDOUT (stalled).
 */
int crio_registry_get_manifest(crio_registry *r, const char *repo, const char *reference, char **body,
                               size_t *len, char **media_type, char digest[72]);

/* Called as a blob downloads: bytes so far and the expected total. */
typedef void (*crio_registry_progress_fn)(uint64_t done, uint64_t total, void *payload);

/*
 * Downloads blob `digest` of `repo` into `fd` (written from its current
 * offset), verifying the digest and that it is exactly `size` bytes (size <
 * 0: unknown).  On error the fd holds partial data that the caller discards.
 * Errors as crio_registry_get_manifest; CRIO_EDATALOSS for a digest or size
 * mismatch or a truncated body.
 */
int crio_registry_get_blob(crio_registry *r, const char *repo, const char *digest, int64_t size, int fd,
                           crio_registry_progress_fn progress, void *payload);

/*
 * Takes the next `len` bytes of a blob as they arrive (the bytes are only
 * valid during the call); returns 0, or an errno value to abort the transfer.
 */
typedef int (*crio_registry_sink_fn)(void *ctx, const void *data, size_t len);

/*
 * As crio_registry_get_blob, but hands the body to `sink` (in the calling
 * thread) instead of writing it to a file: no pipe or file in between for a
 * consumer in the same process.  As with a pipe, a failure before the first
 * byte is retried, but a transfer cut after some data fails with
 * CRIO_EABORTED (the sink cannot take data back); a sink error fails the
 * download with that errno.  The digest and size are checked at the end, as
 * crio_registry_get_blob does: the sink must not trust the data before this
 * returns 0.
 */
int crio_registry_get_blob_sink(crio_registry *r, const char *repo, const char *digest, int64_t size,
                                crio_registry_sink_fn sink, void *sink_ctx, crio_registry_progress_fn progress,
                                void *payload);

/* ---- pure helpers (unit-tested) ---- */

/* One parsed WWW-Authenticate challenge. */
typedef struct {
    char scheme[16];  /* "Bearer", "Basic" */
    char realm[1024];
    char service[256];
    char scope[512];
    char error[64];
} crio_auth_challenge;

/* Parses a WWW-Authenticate header value.  Returns 0, or CRIO_EINVAL. */
int crio_auth_challenge_parse(crio_auth_challenge *out, const char *value);

/*
 * The message of a registry error body ({"errors":[{"code":..,"message":..}]}),
 * e.g. "UNAUTHORIZED: authentication required"; malloc'd, NULL if none.
 */
char *crio_registry_error_message(const char *body, size_t len);

#endif
