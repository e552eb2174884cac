/* The CRI layer: protobuf messages <-> libcrio calls, nothing more. */
#ifndef CRIO_SERVER_CRI_H
#define CRIO_SERVER_CRI_H

#include <crio.h>
#include <protobuf-c/protobuf-c.h>

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

/* Handlers, one per implemented method (server/cri/runtime.c, ...). */
void cri_version(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_runtime_config(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_pull_image(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_list_images(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_image_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_remove_image(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);
void cri_image_fs_info(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);

/* libcrio.v1.Images (server/cri/libcrio.c): Pull streams progress events, Import is unary. */
void cri_libcrio_pull(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                      grpc_reply *reply, void *ctx);
void cri_libcrio_import(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx);

#endif
