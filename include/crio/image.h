/*
 * libcrio — images: pull from registries, import, list, inspect, remove.
 *
 * Images are stored under the handle's root; layers are unpacked once and
 * shared by every image that has them.  An image is named by its id (the
 * hex of its config digest, or any unique prefix of it), a tag reference
 * ("busybox", "docker.io/library/busybox:1.36") or a digest reference
 * ("busybox@sha256:...").
 */
#ifndef CRIO_IMAGE_H
#define CRIO_IMAGE_H

#include <stdint.h>

#include "common.h"
#include "handle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One image as stored: a snapshot, unaffected by later changes to the store. */
typedef struct crio_image crio_image;

/* The image id: 64 hex characters (borrowed). */
CRIO_API const char *crio_image_id(const crio_image *img);
/* Repository tags ("docker.io/library/busybox:latest") and digests ("...@sha256:..."); borrowed. */
CRIO_API size_t crio_image_repo_tag_count(const crio_image *img);
CRIO_API const char *crio_image_repo_tag(const crio_image *img, size_t i);
CRIO_API size_t crio_image_repo_digest_count(const crio_image *img);
CRIO_API const char *crio_image_repo_digest(const crio_image *img, size_t i);
/* Bytes of the image's unpacked layers. */
CRIO_API uint64_t crio_image_size(const crio_image *img);
/* The config's User ("1000", "app", "1000:1000", or "" for root); borrowed. */
CRIO_API const char *crio_image_user(const crio_image *img);
/* Whether the image is pinned (never garbage-collected by the kubelet). */
CRIO_API int crio_image_pinned(const crio_image *img);
/* The image config as JSON (the OCI image config document); borrowed. */
CRIO_API const char *crio_image_config_json(const crio_image *img);
/* Releases an image snapshot.  NULL-safe. */
CRIO_API void crio_image_free(crio_image *img);

/* Pull options: credentials and progress.  Opaque builder. */
typedef struct crio_pull_options crio_pull_options;

CRIO_API int crio_pull_options_new(crio_pull_options **out);
CRIO_API void crio_pull_options_free(crio_pull_options *opts);
/*
 * Credentials as the CRI AuthConfig carries them; NULL or "" leaves a field
 * unset.  `auth` is base64 "username:password".  The strings are copied.
 */
CRIO_API int crio_pull_options_set_auth(crio_pull_options *opts, const char *username, const char *password,
                                        const char *auth, const char *identity_token,
                                        const char *registry_token);

/*
 * Reports a pull's progress: for each blob, bytes received so far of
 * `total` (0 when unknown).  Called from the pulling threads, possibly
 * several at once; `digest` is borrowed for the call.
 */
typedef void (*crio_pull_progress_fn)(const char *digest, uint64_t done, uint64_t total, void *payload);
CRIO_API int crio_pull_options_set_progress(crio_pull_options *opts, crio_pull_progress_fn fn, void *payload);

/*
 * Pulls `reference` and stores it, returning the stored image in *out
 * (NULL `out`: don't).  Registries, mirrors and insecure settings come from
 * registries.conf; an unqualified name is tried on each
 * unqualified-search-registries entry in order.  `opts` may be NULL.
 * Errors: CRIO_EINVAL (malformed reference, unsupported manifest, hostile
 * layer), CRIO_ENOTFOUND (no such image), CRIO_EAUTH (credentials refused),
 * CRIO_EPERM (registry blocked), CRIO_EDATALOSS (digest mismatch, truncated
 * transfer), CRIO_EUNAVAILABLE (registry unreachable), CRIO_ETIMEDOUT.  On
 * error nothing of the pull is kept.
 */
CRIO_API int crio_image_pull(crio_image **out, crio *c, const char *reference, const crio_pull_options *opts);

/* Looks an image up by id, id prefix or reference.  Errors: CRIO_ENOTFOUND, CRIO_EINVAL. */
CRIO_API int crio_image_get(crio_image **out, crio *c, const char *name);

/* A list of images, in no particular order. */
typedef struct crio_image_list crio_image_list;

/* Lists the images; with `filter` (a reference or id prefix, may be NULL) only the matching ones. */
CRIO_API int crio_image_list_get(crio_image_list **out, crio *c, const char *filter);
CRIO_API size_t crio_image_list_count(const crio_image_list *list);
/* The i-th image (borrowed from the list). */
CRIO_API const crio_image *crio_image_list_at(const crio_image_list *list, size_t i);
CRIO_API void crio_image_list_free(crio_image_list *list);

/*
 * Removes an image named by id or reference.  A tag reference of an image
 * with several tags only removes that tag; an id removes the image.  Layers
 * no other image uses are deleted.
 * Errors: CRIO_ENOTFOUND; CRIO_EBUSY when a container uses the image (the
 * message names it).
 */
CRIO_API int crio_image_remove(crio *c, const char *name);

/*
 * Imports an OCI image layout directory or an OCI/Docker archive tarball at
 * `path`, naming the image `name` (a reference; NULL: the name recorded in
 * the layout or archive).  Errors as crio_image_pull.
 */
CRIO_API int crio_image_import(crio_image **out, crio *c, const char *path, const char *name);

/*
 * Measures the image store's filesystem use: bytes and inodes under the
 * store, and the mountpoint of the filesystem holding it (malloc'd; free
 * with crio_free).  Errors: the errno of a failed walk.
 */
CRIO_API int crio_image_fs_usage(uint64_t *used_bytes, uint64_t *used_inodes, char **mountpoint, crio *c);

#ifdef __cplusplus
}
#endif

#endif
