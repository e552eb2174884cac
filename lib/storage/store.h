/*
 * The on-disk store under the root: content-addressed blobs (manifests,
 * configs, and layer blobs while they are unpacked), unpacked layers keyed
 * by chain id and shared by every image that has them, and image records.
 *
 *   ROOT/blobs/sha256/<hex>          verified blobs
 *   ROOT/layers/<chain-hex>/diff     overlay: the layer's own changes (overlay whiteouts);
 *                                    vfs: the whole tree up to this layer;  layer.json beside it
 *   ROOT/storage.json                the driver the layers are laid out for
 *   ROOT/images/<id>.json            image records (id = config digest hex)
 *   ROOT/tmp/                        downloads in progress; emptied at open
 *
 * Everything becomes visible by an atomic rename only once it is complete,
 * so an interrupted pull leaves only temporaries, which the next open removes.
 * Blobs and layers are not synced one by one: crio_store_sync, once per pull
 * before the image record is written, makes them durable, so that after a
 * power loss a record never names lost content.
 * Layers carry no reference count: a layer is garbage once no image record
 * names it, which a crash cannot make inconsistent.
 */
#ifndef CRIO_STORAGE_STORE_H
#define CRIO_STORAGE_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crio_store crio_store;

/*
 * Opens (creating) the store under `root`, removing temporaries of
 * interrupted work.  `driver` is "overlay" or "vfs": a new root takes it
 * (overlay falls back to vfs, with a warning, where an overlay mount fails
 * here) and records it in ROOT/storage.json; an existing root keeps the
 * driver it was created with (its layers are laid out for it).
 */
int crio_store_open(crio_store **out, const char *root, const char *driver);
/* The driver the store's layers are laid out for: "overlay" or "vfs". */
const char *crio_store_driver(const crio_store *s);
void crio_store_close(crio_store *s);
const char *crio_store_root(const crio_store *s);

/* ---- blobs ---- */

/* The path of a blob (malloc'd), whether or not it exists.  CRIO_EINVAL for a malformed digest. */
int crio_store_blob_path(char **out, const crio_store *s, const char *digest);
bool crio_store_blob_exists(const crio_store *s, const char *digest);
/* A new temporary file under ROOT/tmp for a download; the caller owns fd and path. */
int crio_store_tmp_file(const crio_store *s, int *fd, char **path);
/* Moves a verified temporary file into place as blob `digest` (a rename: durable at the next
 * crio_store_sync, as a layer). */
int crio_store_blob_commit(crio_store *s, const char *tmp_path, const char *digest);
/* Reads a blob of at most `max` bytes (NUL-terminated; caller frees). */
int crio_store_blob_read(const crio_store *s, const char *digest, char **data, size_t *len, size_t max);
int crio_store_blob_remove(crio_store *s, const char *digest);

/* ---- layers ---- */

/*
 * The chain id of a layer: its diff_id for the first layer, else sha256("<parent chain> <diff_id>").
 * Errors: CRIO_ENOTSUP when libcrypto cannot be loaded, CRIO_ENOMEM, CRIO_EINTERNAL.
 */
int crio_chain_id(char out[72], const char *parent_chain, const char *diff_id);
bool crio_store_layer_exists(const crio_store *s, const char *chain_id);
/* The size recorded for a published layer. */
int crio_store_layer_size(const crio_store *s, const char *chain_id, uint64_t *size);
/* The layer's diff directory (malloc'd). */
int crio_store_layer_dir(char **out, const crio_store *s, const char *chain_id);
/* A fresh temporary directory for unpacking (ROOT/layers/.tmp-XXXXXX, with an empty diff/ inside). */
int crio_store_layer_tmp(const crio_store *s, char **dir);
/* Publishes an unpacked temporary layer as `chain_id` with its metadata.  If
 * another pull published it meanwhile, the temporary is removed and 0 returned.
 * The layer is complete for this boot but not yet durable: see crio_store_sync. */
int crio_store_layer_commit(crio_store *s, const char *tmp_dir, const char *chain_id, const char *diff_id,
                            const char *parent_chain, uint64_t size);
/*
 * Makes every layer and blob published so far (by any thread: every one the
 * caller has seen in place) durable: a layer's files, layer.json and name, a
 * blob's content and name.  Call it before writing an image record that names
 * them, so that after a power loss no record names a layer or blob whose
 * content was lost (unnamed ones are removed at the next open).  Returns at
 * once when a completed sync already covers them; one syncfs otherwise.
 */
int crio_store_sync(crio_store *s);
/* Deletes every layer no image record names; returns how many were deleted or <0. */
int crio_store_layers_gc(crio_store *s);

/* ---- images ---- */

/* Writes an image record (it must have a string "id"); replaces an existing one atomically. */
int crio_store_image_put(crio_store *s, const cJSON *record);
/* Reads the record of image `id`; CRIO_ENOTFOUND when absent. */
int crio_store_image_get(const crio_store *s, const char *id, cJSON **out);
/* Every record, as a JSON array (caller deletes). */
int crio_store_image_list(const crio_store *s, cJSON **out);
int crio_store_image_delete(crio_store *s, const char *id);

/* ---- sharing work between concurrent pulls ---- */

/*
 * Claims `key` (a blob digest or chain id) for the calling thread.  If
 * another thread holds it, waits until it is released.  Returns 1 when the
 * caller now holds the claim and must do the work, then crio_store_release it.
 */
int crio_store_claim(crio_store *s, const char *key);
void crio_store_release(crio_store *s, const char *key);

/*
 * Pins a layer chain id or blob digest against crio_store_layers_gc while a
 * pull uses it, from the moment the pull knows it until the image record
 * naming it is written (counted: pins from concurrent pulls add up).
 */
int crio_store_pin(crio_store *s, const char *key);
void crio_store_unpin(crio_store *s, const char *key);

/* The store's lock for read-modify-write of image records (tags move between images). */
void crio_store_lock(crio_store *s);
void crio_store_unlock(crio_store *s);

#endif
