/* ImageService: PullImage, ListImages, ImageStatus, RemoveImage, ImageFsInfo. */
#include <crio/image.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "cri/cri.h"

/* Fills a CRI Image from a library image; strings are borrowed from `img`. */
static void fill_image(Runtime__V1__Image *out, Runtime__V1__Int64Value *uid, const crio_image *img,
                       const char **tags, const char **digests)
{
    runtime__v1__image__init(out);
    out->id = (char *)crio_image_id(img);
    size_t nt = crio_image_repo_tag_count(img), nd = crio_image_repo_digest_count(img);
    for (size_t i = 0; i < nt; i++)
        tags[i] = crio_image_repo_tag(img, i);
    for (size_t i = 0; i < nd; i++)
        digests[i] = crio_image_repo_digest(img, i);
    out->n_repo_tags = nt;
    out->repo_tags = (char **)tags;
    out->n_repo_digests = nd;
    out->repo_digests = (char **)digests;
    out->size = crio_image_size(img);
    out->pinned = crio_image_pinned(img) != 0;
    /* The config's User: a number (before any ":group") is the uid, else a name. */
    const char *user = crio_image_user(img);
    size_t ulen = strcspn(user, ":");
    runtime__v1__int64_value__init(uid);
    if (ulen == 0) {
        uid->value = 0;
        out->uid = uid;
    } else if (strspn(user, "0123456789") == ulen) {
        uid->value = strtoll(user, NULL, 10);
        out->uid = uid;
    } else {
        out->username = strndup(user, ulen);
    }
}

static void free_filled(Runtime__V1__Image *img)
{
    if (img->username && img->username != protobuf_c_empty_string)
        free(img->username);
}

void cri_pull_image(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__PullImageRequest *in =
        (Runtime__V1__PullImageRequest *)cri_decode(&runtime__v1__pull_image_request__descriptor, req, len, reply);
    if (!in)
        return;
    const char *ref = in->image ? in->image->image : NULL;
    if (!ref || !*ref) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "PullImage: no image given");
        goto out;
    }
    crio_pull_options *opts = NULL;
    int e = crio_pull_options_new(&opts);
    if (e == 0 && in->auth)
        e = crio_pull_options_set_auth(opts, in->auth->username, in->auth->password, in->auth->auth,
                                       in->auth->identity_token, in->auth->registry_token);
    crio_image *img = NULL;
    if (e == 0)
        e = crio_image_pull(&img, cx->handle, ref, opts);
    crio_pull_options_free(opts);
    if (e < 0) {
        cri_reply_error(reply, e);
        goto out;
    }
    Runtime__V1__PullImageResponse resp = RUNTIME__V1__PULL_IMAGE_RESPONSE__INIT;
    /* The kubelet records this as the container's image ref: the pinned digest. */
    resp.image_ref = (char *)(crio_image_repo_digest_count(img) ? crio_image_repo_digest(img, 0) : crio_image_id(img));
    cri_reply_message(reply, &resp.base);
    crio_image_free(img);
out:
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_list_images(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__ListImagesRequest *in =
        (Runtime__V1__ListImagesRequest *)cri_decode(&runtime__v1__list_images_request__descriptor, req, len, reply);
    if (!in)
        return;
    const char *filter = in->filter && in->filter->image ? in->filter->image->image : NULL;
    crio_image_list *list = NULL;
    int e = crio_image_list_get(&list, cx->handle, filter && *filter ? filter : NULL);
    if (e == CRIO_ENOTFOUND)
        e = 0; /* a filter naming nothing lists nothing */
    if (e < 0) {
        cri_reply_error(reply, e);
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    size_t n = crio_image_list_count(list);
    Runtime__V1__Image *imgs = calloc(n + 1, sizeof *imgs);
    Runtime__V1__Image **ptrs = calloc(n + 1, sizeof *ptrs);
    Runtime__V1__Int64Value *uids = calloc(n + 1, sizeof *uids);
    const char ***tags = calloc(n + 1, sizeof *tags), ***digests = calloc(n + 1, sizeof *digests);
    bool ok = imgs && ptrs && uids && tags && digests;
    for (size_t i = 0; ok && i < n; i++) {
        const crio_image *img = crio_image_list_at(list, i);
        tags[i] = calloc(crio_image_repo_tag_count(img) + 1, sizeof(char *));
        digests[i] = calloc(crio_image_repo_digest_count(img) + 1, sizeof(char *));
        if (!tags[i] || !digests[i]) {
            ok = false;
            break;
        }
        fill_image(&imgs[i], &uids[i], img, tags[i], digests[i]);
        ptrs[i] = &imgs[i];
    }
    if (ok) {
        Runtime__V1__ListImagesResponse resp = RUNTIME__V1__LIST_IMAGES_RESPONSE__INIT;
        resp.n_images = n;
        resp.images = ptrs;
        cri_reply_message(reply, &resp.base);
    } else {
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; tags && digests && imgs && i < n; i++) {
        if (ptrs && ptrs[i])
            free_filled(&imgs[i]);
        free(tags[i]);
        free(digests[i]);
    }
    free(imgs);
    free(ptrs);
    free(uids);
    free(tags);
    free(digests);
    crio_image_list_free(list);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_image_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__ImageStatusRequest *in = (Runtime__V1__ImageStatusRequest *)cri_decode(
        &runtime__v1__image_status_request__descriptor, req, len, reply);
    if (!in)
        return;
    const char *name = in->image ? in->image->image : NULL;
    if (!name || !*name) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "ImageStatus: no image given");
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    crio_image *img = NULL;
    int e = crio_image_get(&img, cx->handle, name);
    Runtime__V1__ImageStatusResponse resp = RUNTIME__V1__IMAGE_STATUS_RESPONSE__INIT;
    if (e == CRIO_ENOTFOUND) {
        /* The CRI answers an absent image with no image, not an error. */
        cri_reply_message(reply, &resp.base);
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    if (e < 0) {
        cri_reply_error(reply, e);
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    Runtime__V1__Image out;
    Runtime__V1__Int64Value uid;
    const char **tags = calloc(crio_image_repo_tag_count(img) + 1, sizeof(char *));
    const char **digests = calloc(crio_image_repo_digest_count(img) + 1, sizeof(char *));
    Runtime__V1__ImageStatusResponse__InfoEntry entry = RUNTIME__V1__IMAGE_STATUS_RESPONSE__INFO_ENTRY__INIT;
    Runtime__V1__ImageStatusResponse__InfoEntry *entries[1] = { &entry };
    char *info = NULL;
    if (tags && digests) {
        fill_image(&out, &uid, img, tags, digests);
        resp.image = &out;
        if (in->verbose && asprintf(&info, "{\"imageSpec\":%s}", crio_image_config_json(img)) > 0) {
            entry.key = "info";
            entry.value = info;
            resp.n_info = 1;
            resp.info = entries;
        }
        cri_reply_message(reply, &resp.base);
        free_filled(&out);
    } else {
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(info);
    free(tags);
    free(digests);
    crio_image_free(img);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_remove_image(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__RemoveImageRequest *in = (Runtime__V1__RemoveImageRequest *)cri_decode(
        &runtime__v1__remove_image_request__descriptor, req, len, reply);
    if (!in)
        return;
    const char *name = in->image ? in->image->image : NULL;
    int e = name && *name ? crio_image_remove(cx->handle, name) : CRIO_EINVAL;
    if (e == 0 || e == CRIO_ENOTFOUND) { /* removing an absent image succeeds, as the CRI requires */
        Runtime__V1__RemoveImageResponse resp = RUNTIME__V1__REMOVE_IMAGE_RESPONSE__INIT;
        cri_reply_message(reply, &resp.base);
    } else if (!name || !*name) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "RemoveImage: no image given");
    } else {
        cri_reply_error(reply, e);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_image_fs_info(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__ImageFsInfoRequest *in = (Runtime__V1__ImageFsInfoRequest *)cri_decode(
        &runtime__v1__image_fs_info_request__descriptor, req, len, reply);
    if (!in)
        return;
    uint64_t bytes = 0, inodes = 0;
    char *mp = NULL;
    int e = crio_image_fs_usage(&bytes, &inodes, &mp, cx->handle);
    if (e < 0) {
        cri_reply_error(reply, e);
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    Runtime__V1__FilesystemIdentifier id = RUNTIME__V1__FILESYSTEM_IDENTIFIER__INIT;
    id.mountpoint = mp;
    Runtime__V1__UInt64Value ub = RUNTIME__V1__UINT64_VALUE__INIT, iu = RUNTIME__V1__UINT64_VALUE__INIT;
    ub.value = bytes;
    iu.value = inodes;
    Runtime__V1__FilesystemUsage fu = RUNTIME__V1__FILESYSTEM_USAGE__INIT;
    fu.timestamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    fu.fs_id = &id;
    fu.used_bytes = &ub;
    fu.inodes_used = &iu;
    Runtime__V1__FilesystemUsage *fus[1] = { &fu };
    Runtime__V1__ImageFsInfoResponse resp = RUNTIME__V1__IMAGE_FS_INFO_RESPONSE__INIT;
    resp.n_image_filesystems = 1;
    resp.image_filesystems = fus;
    cri_reply_message(reply, &resp.base);
    crio_free(mp);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
