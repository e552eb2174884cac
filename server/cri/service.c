/* The CRI method table, status mapping and message helpers. */
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
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
    { "/runtime.v1.RuntimeService/UpdateRuntimeConfig", cri_update_runtime_config, false },
    { "/runtime.v1.RuntimeService/RunPodSandbox", cri_run_pod_sandbox, false },
    { "/runtime.v1.RuntimeService/StopPodSandbox", cri_stop_pod_sandbox, false },
    { "/runtime.v1.RuntimeService/RemovePodSandbox", cri_remove_pod_sandbox, false },
    { "/runtime.v1.RuntimeService/PodSandboxStatus", cri_pod_sandbox_status, false },
    { "/runtime.v1.RuntimeService/ListPodSandbox", cri_list_pod_sandbox, false },
    { "/runtime.v1.RuntimeService/CreateContainer", cri_create_container, false },
    { "/runtime.v1.RuntimeService/StartContainer", cri_start_container, false },
    { "/runtime.v1.RuntimeService/StopContainer", cri_stop_container, false },
    { "/runtime.v1.RuntimeService/RemoveContainer", cri_remove_container, false },
    { "/runtime.v1.RuntimeService/ListContainers", cri_list_containers, false },
    { "/runtime.v1.RuntimeService/ContainerStatus", cri_container_status, false },
    { "/runtime.v1.RuntimeService/UpdateContainerResources", cri_update_container_resources, false },
    { "/runtime.v1.RuntimeService/ReopenContainerLog", cri_reopen_container_log, false },
    { "/runtime.v1.RuntimeService/ExecSync", cri_exec_sync, false },
    { "/runtime.v1.RuntimeService/ContainerStats", cri_container_stats, false },
    { "/runtime.v1.RuntimeService/ListContainerStats", cri_list_container_stats, false },
    { "/runtime.v1.RuntimeService/PodSandboxStats", cri_pod_sandbox_stats, false },
    { "/runtime.v1.RuntimeService/ListPodSandboxStats", cri_list_pod_sandbox_stats, false },
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
    { "/runtime.v1.RuntimeService/GetContainerEvents", cri_get_container_events },
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

void cri_reply_empty(grpc_reply *reply)
{
    /* The server sends `len` bytes of `body`; it must still be a real allocation. */
    reply->body = malloc(1);
    reply->len = 0;
    reply->status = reply->body ? GRPC_OK : GRPC_RESOURCE_EXHAUSTED;
}

/*
 * Decodes a request of type `d` and, with `id_field`, takes that string field
 * into *id.  NULL when it has answered instead: the request is malformed, or
 * the id is empty (INVALID_ARGUMENT "StopPodSandbox: no pod_sandbox_id given").
 */
static ProtobufCMessage *decode_with_id(const ProtobufCMessageDescriptor *d, const uint8_t *req, size_t len,
                                        grpc_reply *reply, const char *id_field, const char **id)
{
    ProtobufCMessage *in = cri_decode(d, req, len, reply);
    *id = NULL;
    if (!in || !id_field)
        return in;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, id_field);
    *id = f && f->type == PROTOBUF_C_TYPE_STRING ? *(char **)((char *)in + f->offset) : NULL;
    if (*id && **id)
        return in;
    /* Named as the method: "StopPodSandboxRequest" less its suffix. */
    size_t n = strlen(d->short_name);
    if (n > 7 && strcmp(d->short_name + n - 7, "Request") == 0)
        n -= 7;
    cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "%.*s: no %s given", (int)n, d->short_name, id_field);
    protobuf_c_message_free_unpacked(in, NULL);
    return NULL;
}

void cri_serve(const uint8_t *req, size_t len, grpc_reply *reply, void *ctx, const ProtobufCMessageDescriptor *d,
               const char *id_field, cri_serve_fn fn)
{
    const char *id;
    ProtobufCMessage *in = decode_with_id(d, req, len, reply, id_field, &id);
    if (!in)
        return;
    fn(((cri_ctx *)ctx)->handle, in, reply);
    protobuf_c_message_free_unpacked(in, NULL);
}

void cri_id_call(const uint8_t *req, size_t len, grpc_reply *reply, void *ctx, const ProtobufCMessageDescriptor *d,
                 const char *id_field, int (*op)(crio *c, const char *id))
{
    const char *id;
    ProtobufCMessage *in = decode_with_id(d, req, len, reply, id_field, &id);
    if (!in)
        return;
    int e = op(((cri_ctx *)ctx)->handle, id);
    if (e < 0)
        cri_reply_error(reply, e);
    else
        cri_reply_empty(reply);
    protobuf_c_message_free_unpacked(in, NULL);
}

/* ---- the reply arena ---- */

/*
 * A reply is hundreds of small structs for a long listing: they are carved
 * out of zeroed chunks rather than allocated one by one.  Adopted objects
 * get a block of their own in the same list.
 */
#define ARENA_CHUNK 8192
#define ARENA_ALIGN alignof(max_align_t)

struct cri_block {
    struct cri_block *next;
    void (*free_fn)(void *); /* an adopted object: release `owned` with it */
    void *owned;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

static struct cri_block *arena_block(cri_arena *a, size_t size)
{
    struct cri_block *b = size <= SIZE_MAX - sizeof *b ? calloc(1, sizeof *b + size) : NULL;
    if (!b) {
        a->oom = true;
        return NULL;
    }
    b->cap = size;
    b->next = a->blocks;
    a->blocks = b;
    return b;
}

void *cri_alloc(cri_arena *a, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN) {
        a->oom = true;
        return NULL;
    }
    size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    struct cri_block *b = a->chunk;
    if (!b || b->cap - b->used < size) {
        /* A large array gets a block of its own: the current chunk keeps serving small ones. */
        if (size > ARENA_CHUNK / 4) {
            b = arena_block(a, size);
            return b ? b->data : NULL;
        }
        if (!(b = arena_block(a, ARENA_CHUNK)))
            return NULL;
        a->chunk = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void *cri_new(cri_arena *a, const ProtobufCMessageDescriptor *d)
{
    void *m = cri_alloc(a, d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

void *cri_ptrs(cri_arena *a, size_t n)
{
    return n <= SIZE_MAX / sizeof(void *) ? cri_alloc(a, n * sizeof(void *)) : NULL;
}

int cri_adopt(cri_arena *a, void *p, void (*free_fn)(void *))
{
    struct cri_block *b = arena_block(a, 0);
    if (!b) {
        free_fn(p);
        return -1;
    }
    b->free_fn = free_fn;
    b->owned = p;
    return 0;
}

void cri_free_pod(void *pod)
{
    crio_pod_free(pod);
}

void cri_free_container(void *ctr)
{
    crio_container_free(ctr);
}

void cri_free_container_list(void *list)
{
    crio_container_list_free(list);
}

void cri_arena_free(cri_arena *a)
{
    for (struct cri_block *b = a->blocks, *next; b; b = next) {
        next = b->next;
        if (b->free_fn)
            b->free_fn(b->owned);
        free(b);
    }
    a->blocks = a->chunk = NULL;
}

void cri_reply_built(grpc_reply *reply, cri_arena *a, const ProtobufCMessage *msg)
{
    if (a->oom)
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
    else
        cri_reply_message(reply, msg);
    cri_arena_free(a);
}

/* ---- repeated message fields ---- */

/*
 * Sets repeated message field `field` of `msg` to `n` null pointers, to be
 * filled, and returns them with the field's descriptor in *fd.  NULL when
 * out of memory, n is 0 or there is no such field.  The field is found by
 * name, so one helper serves every message type.
 */
static ProtobufCMessage **repeated_set(cri_arena *a, ProtobufCMessage *msg, const char *field, size_t n,
                                       const ProtobufCFieldDescriptor **fd)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, field);
    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || n == 0)
        return NULL;
    ProtobufCMessage **v = cri_ptrs(a, n);
    if (!v)
        return NULL;
    *(ProtobufCMessage ***)((char *)msg + f->offset) = v;
    *(size_t *)((char *)msg + f->quantifier_offset) = n;
    *fd = f;
    return v;
}

void cri_reply_list(grpc_reply *reply, int e, ProtobufCMessage *resp, const char *field, size_t n,
                    cri_item_fn item, const void *list)
{
    if (e == CRIO_ENOTFOUND) { /* a filter naming nothing lists nothing */
        cri_reply_message(reply, resp);
        return;
    }
    if (e < 0) {
        cri_reply_error(reply, e);
        return;
    }
    cri_arena a = { 0 };
    const ProtobufCFieldDescriptor *f;
    ProtobufCMessage **items = repeated_set(&a, resp, field, n, &f);
    for (size_t i = 0; items && i < n; i++)
        items[i] = item(&a, list, i);
    cri_reply_built(reply, &a, resp);
}

/* ---- map<string, string> fields ---- */

ProtobufCMessage **cri_map_set(cri_arena *a, ProtobufCMessage *msg, const char *field, size_t n)
{
    const ProtobufCFieldDescriptor *f;
    ProtobufCMessage **e = repeated_set(a, msg, field, n, &f);
    for (size_t i = 0; e && i < n; i++)
        if (!(e[i] = cri_new(a, f->descriptor)))
            return NULL;
    return e;
}

void cri_map_put(ProtobufCMessage *entry, const char *key, const char *value)
{
    const ProtobufCMessageDescriptor *d = entry->descriptor;
    /* Entries are (key = 1, value = 2), both strings here. */
    *(const char **)((char *)entry + d->fields[0].offset) = key ? key : "";
    *(const char **)((char *)entry + d->fields[1].offset) = value ? value : "";
}

void cri_info_map(cri_arena *a, ProtobufCMessage *msg, const char *json)
{
    ProtobufCMessage **e = cri_map_set(a, msg, "info", 1);
    if (e)
        cri_map_put(e[0], "info", json && *json ? json : "{}");
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
