/* The CRI layer: protobuf messages <-> libcrio calls, nothing more. */
#ifndef CRIO_SERVER_CRI_H
#define CRIO_SERVER_CRI_H

#include <crio.h>
#include <protobuf-c/protobuf-c.h>

#include "api.pb-c.h"
#include "grpc/grpc.h"

typedef struct {
    crio *handle;
} cri_ctx;

/*
 * Builds the method table for both CRI services and libcrio.v1.Images from
 * the compiled protos' service descriptors: implemented methods get their
 * handler, the rest a handler answering UNIMPLEMENTED with the method's
 * name.  Free with cri_methods_free().
 */
int cri_methods_build(grpc_method **out, size_t *n);
void cri_methods_free(grpc_method *methods, size_t n);

/* The one table from CRIO_E* codes to gRPC codes. */
int cri_grpc_code(int crio_code);

/* Fills `reply` with the calling thread's last libcrio error. */
void cri_reply_error(grpc_reply *reply, int crio_code);

/* Fills `reply` with a status and formatted message. */
void cri_reply_status(grpc_reply *reply, int grpc_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Serializes `msg` into `reply` (RESOURCE_EXHAUSTED on out-of-memory). */
void cri_reply_message(grpc_reply *reply, const ProtobufCMessage *msg);

/*
 * Decodes a request of type `desc`; on failure fills `reply` with
 * INVALID_ARGUMENT naming the message type and returns NULL.
 */
ProtobufCMessage *cri_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *req, size_t len,
                             grpc_reply *reply);

/* Answers an empty response message: zero bytes on the wire, whatever its type. */
void cri_reply_empty(grpc_reply *reply);

/* A handler's own work on its decoded request `in`; it answers `reply`. */
typedef void (*cri_serve_fn)(crio *c, const ProtobufCMessage *in, grpc_reply *reply);

/*
 * The shape of every handler: decodes a request of type `d` and, when
 * `id_field` is given, checks that its string field of that name is set
 * (INVALID_ARGUMENT "ContainerStatus: no container_id given" when empty);
 * then runs `fn` with the handle of `ctx` (a cri_ctx).
 */
void cri_serve(const uint8_t *req, size_t len, grpc_reply *reply, void *ctx, const ProtobufCMessageDescriptor *d,
               const char *id_field, cri_serve_fn fn);

/*
 * The shape of most calls on one object: as cri_serve, running `op` on the
 * id and answering an empty response, or op's error.
 */
void cri_id_call(const uint8_t *req, size_t len, grpc_reply *reply, void *ctx, const ProtobufCMessageDescriptor *d,
                 const char *id_field, int (*op)(crio *c, const char *id));

/*
 * Memory for building one reply: the CRI messages are trees of small
 * structs, and everything they point to is released at once with the arena
 * (blocks, adopted heap messages and library snapshots whose strings the
 * reply borrows).  An allocation that fails sets `oom` and returns NULL.
 */
typedef struct cri_arena {
    struct cri_block *blocks; /* every block, newest first */
    struct cri_block *chunk;  /* the one small allocations are carved from */
    bool oom;
} cri_arena;

/* `size` zeroed bytes, aligned for any type. */
void *cri_alloc(cri_arena *a, size_t size);
/* A message of type `d`, initialised to its defaults. */
void *cri_new(cri_arena *a, const ProtobufCMessageDescriptor *d);
/* An array of `n` pointers (zeroed). */
void *cri_ptrs(cri_arena *a, size_t n);
/*
 * Has the arena release `p` with `free_fn` (a library snapshot, a heap
 * message).  On out-of-memory `p` is released at once and -1 returned: the
 * caller must not use it then.
 */
int cri_adopt(cri_arena *a, void *p, void (*free_fn)(void *));
/* The free_fn of library objects. */
void cri_free_pod(void *pod);
void cri_free_container(void *ctr);
void cri_free_container_list(void *list);
void cri_arena_free(cri_arena *a);
/* Serializes `msg` into `reply` (RESOURCE_EXHAUSTED if the arena ran out of memory), then frees the arena. */
void cri_reply_built(grpc_reply *reply, cri_arena *a, const ProtobufCMessage *msg);

/*
 * Sets map<string, string> field `field` of `msg` to `n` new entries and
 * returns them, to be filled with cri_map_put (NULL when out of memory, or n
 * is 0).  The field is found by name, so one helper fills the labels of
 * every message type that has them.
 */
ProtobufCMessage **cri_map_set(cri_arena *a, ProtobufCMessage *msg, const char *field, size_t n);
/* Sets an entry's key and value (borrowed). */
void cri_map_put(ProtobufCMessage *entry, const char *key, const char *value);

/* Builds item `i` of a library listing as a message; NULL when out of memory. */
typedef ProtobufCMessage *(*cri_item_fn)(cri_arena *a, const void *list, size_t i);

/*
 * Answers a List call from the library's listing: its error `e`, or `resp`
 * with repeated field `field` holding the `n` items `item` builds (a filter
 * naming nothing, CRIO_ENOTFOUND, lists nothing).
 */
void cri_reply_list(grpc_reply *reply, int e, ProtobufCMessage *resp, const char *field, size_t n,
                    cri_item_fn item, const void *list);

/* The labels and annotations of a pod or container into `msg`'s fields of those names. */
void cri_pod_maps(cri_arena *a, ProtobufCMessage *msg, const crio_pod *pod);
void cri_container_maps(cri_arena *a, ProtobufCMessage *msg, const crio_container *ctr);

/* A verbose status's info map: one entry "info" holding the library's JSON object. */
void cri_info_map(cri_arena *a, ProtobufCMessage *msg, const char *json);

/* A pod's and a container's CRI metadata, borrowing from them.  NULL when out of memory. */
Runtime__V1__PodSandboxMetadata *cri_pod_metadata(cri_arena *a, const crio_pod *pod);
Runtime__V1__ContainerMetadata *cri_container_metadata(cri_arena *a, const crio_container *ctr);

/* A pod's CRI status, borrowing from `pod` (server/cri/pod.c).  NULL when out of memory. */
Runtime__V1__PodSandboxStatus *cri_pod_status_build(cri_arena *a, const crio_pod *pod);
/* A container's CRI status, borrowing from `ctr` (server/cri/container.c).  NULL when out of memory. */
Runtime__V1__ContainerStatus *cri_container_status_build(cri_arena *a, const crio_container *ctr);
/*
 * The statuses of every container of pod `pod_id`, as the evented PLEG wants
 * them next to a pod's status.  The snapshots are kept by the arena.
 * Returns 0 or a CRIO_E* code.
 */
int cri_pod_container_statuses(cri_arena *a, crio *c, const char *pod_id, Runtime__V1__ContainerStatus ***out,
                               size_t *n);

/*
 * The handlers, one per implemented method.  Their signatures, a
 * grpc_unary_fn's and a grpc_stream_fn's, are written once here: a
 * declaration by these function types checks each definition against them.
 */
typedef void cri_unary_handler(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
typedef void cri_stream_handler(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                                grpc_reply *reply, void *ctx);

/* server/cri/runtime.c, image.c */
cri_unary_handler cri_version, cri_status, cri_runtime_config, cri_update_runtime_config;
cri_unary_handler cri_pull_image, cri_list_images, cri_image_status, cri_remove_image, cri_image_fs_info;

/* Pods (server/cri/pod.c). */
cri_unary_handler cri_run_pod_sandbox, cri_stop_pod_sandbox, cri_remove_pod_sandbox, cri_pod_sandbox_status,
    cri_list_pod_sandbox;

/* Containers (server/cri/container.c). */
cri_unary_handler cri_create_container, cri_start_container, cri_stop_container, cri_remove_container,
    cri_list_containers, cri_container_status, cri_update_container_resources, cri_reopen_container_log,
    cri_exec_sync;

/* Stats (server/cri/stats.c). */
cri_unary_handler cri_container_stats, cri_list_container_stats, cri_pod_sandbox_stats, cri_list_pod_sandbox_stats;

/* GetContainerEvents (server/cri/events.c): streams until the client goes away. */
cri_stream_handler cri_get_container_events;

/* libcrio.v1.Images (server/cri/libcrio.c): Pull streams progress events, Import is unary. */
cri_stream_handler cri_libcrio_pull;
cri_unary_handler cri_libcrio_import;

#endif
