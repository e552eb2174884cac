/* The CRI method table, status mapping and message helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.pb-c.h"
#include "cri/cri.h"
#include "libcrio.pb-c.h"

/* on_loop: the handler answers from memory without blocking (grpc_method.on_loop). */
static const struct {
    const char *path;
    grpc_unary_fn fn;
    bool on_loop;
} implemented[] = {
    { "/runtime.v1.RuntimeService/Version", cri_version, true },
    { "/runtime.v1.RuntimeService/Status", cri_status, false }, /* probes the filesystem */
    { "/runtime.v1.RuntimeService/RuntimeConfig", cri_runtime_config, true },
    { "/runtime.v1.ImageService/PullImage", cri_pull_image, false },
    { "/runtime.v1.ImageService/ListImages", cri_list_images, false },
    { "/runtime.v1.ImageService/ImageStatus", cri_image_status, false },
    { "/runtime.v1.ImageService/RemoveImage", cri_remove_image, false },
    { "/runtime.v1.ImageService/ImageFsInfo", cri_image_fs_info, false },
    { "/libcrio.v1.Images/Import", cri_libcrio_import, false },
};

/* Server-streaming methods: each call runs on its own thread. */
static const struct {
    const char *path;
    grpc_stream_fn fn;
} implemented_streams[] = {
    { "/libcrio.v1.Images/Pull", cri_libcrio_pull },
};

int cri_grpc_code(int code)
{
    static const struct { int crio, grpc; } table[] = {
        { CRIO_OK, GRPC_OK },
        { CRIO_ECANCELED, GRPC_CANCELLED },
        { CRIO_ERROR, GRPC_UNKNOWN },
        { CRIO_EINVAL, GRPC_INVALID_ARGUMENT },
        { CRIO_ETIMEDOUT, GRPC_DEADLINE_EXCEEDED },
        { CRIO_ENOTFOUND, GRPC_NOT_FOUND },
        { CRIO_EEXISTS, GRPC_ALREADY_EXISTS },
        { CRIO_EPERM, GRPC_PERMISSION_DENIED },
        { CRIO_ENOMEM, GRPC_RESOURCE_EXHAUSTED },
        { CRIO_EBUSY, GRPC_FAILED_PRECONDITION },
        { CRIO_EABORTED, GRPC_ABORTED },
        { CRIO_ERANGE, GRPC_OUT_OF_RANGE },
        { CRIO_ENOTSUP, GRPC_UNIMPLEMENTED },
        { CRIO_EINTERNAL, GRPC_INTERNAL },
        { CRIO_EUNAVAILABLE, GRPC_UNAVAILABLE },
        { CRIO_EDATALOSS, GRPC_DATA_LOSS },
        { CRIO_EAUTH, GRPC_UNAUTHENTICATED },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].crio == code)
            return table[i].grpc;
    return GRPC_UNKNOWN;
}

void cri_reply_status(grpc_reply *reply, int grpc_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(reply->message);
    reply->message = NULL;
    if (vasprintf(&reply->message, fmt, ap) < 0)
        reply->message = NULL;
    va_end(ap);
    reply->status = grpc_code;
}

void cri_reply_error(grpc_reply *reply, int crio_code)
{
    const crio_error *e = crio_error_last();
    cri_reply_status(reply, cri_grpc_code(crio_code), "%s",
                     e && *crio_error_message(e) ? crio_error_message(e) : crio_strerror(crio_code));
}

void cri_reply_message(grpc_reply *reply, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    reply->body = malloc(n ? n : 1);
    if (!reply->body) {
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    reply->len = protobuf_c_message_pack(msg, reply->body);
    reply->status = GRPC_OK;
}

ProtobufCMessage *cri_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *req, size_t len,
                             grpc_reply *reply)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, req);
    if (!m)
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "malformed %s message (%zu bytes)", desc->name, len);
    return m;
}

static void cri_unimplemented(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply,
                              void *ctx)
{
    cri_reply_status(reply, GRPC_UNIMPLEMENTED, "%s is not implemented by libcrio %s yet", m->path + 1,
                     crio_version());
}

int cri_methods_build(grpc_method **out, size_t *n)
{
    const ProtobufCServiceDescriptor *services[] = { &runtime__v1__runtime_service__descriptor,
                                                     &runtime__v1__image_service__descriptor,
                                                     &libcrio__v1__images__descriptor };
    const size_t n_services = sizeof services / sizeof services[0];
    size_t total = 0;
    for (size_t s = 0; s < n_services; s++)
        total += services[s]->n_methods;
    grpc_method *m = calloc(total, sizeof *m);
    if (!m)
        return -1;
    size_t k = 0;
    for (size_t s = 0; s < n_services; s++)
        for (unsigned i = 0; i < services[s]->n_methods; i++, k++) {
            char *path;
            if (asprintf(&path, "/%s/%s", services[s]->name, services[s]->methods[i].name) < 0) {
                cri_methods_free(m, k);
                return -1;
            }
            m[k].path = path;
            m[k].unary = cri_unimplemented;
            m[k].on_loop = true;
            for (size_t j = 0; j < sizeof implemented / sizeof implemented[0]; j++)
                if (strcmp(implemented[j].path, path) == 0) {
                    m[k].unary = implemented[j].fn;
                    m[k].on_loop = implemented[j].on_loop;
                }
            for (size_t j = 0; j < sizeof implemented_streams / sizeof implemented_streams[0]; j++)
                if (strcmp(implemented_streams[j].path, path) == 0) {
                    m[k].unary = NULL;
                    m[k].stream = implemented_streams[j].fn;
                    m[k].on_loop = false;
                }
        }
    *out = m;
    *n = total;
    return 0;
}

void cri_methods_free(grpc_method *methods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)methods[i].path);
    free(methods);
}
