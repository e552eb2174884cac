/* crioctl: errors, connections and protobuf calls. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crioctl.h"

void crioctl_error(const crioctl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    fputs("crioctl: ", stderr);
    if (ctx && ctx->cmd)
        fprintf(stderr, "%s: ", ctx->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *endpoint_of(const crioctl_ctx *ctx, crioctl_service svc)
{
    if (svc == CRIOCTL_IMAGE_SERVICE && ctx->image_endpoint && ctx->image_endpoint[0])
        return ctx->image_endpoint;
    return ctx->runtime_endpoint;
}

static crio_grpc_client *client_for(crioctl_ctx *ctx, crioctl_service svc)
{
    const char *ep = endpoint_of(ctx, svc);
    bool shared = svc == CRIOCTL_IMAGE_SERVICE && strcmp(ep, ctx->runtime_endpoint) == 0;
    crio_grpc_client **slot;
    int r;

    if (svc == CRIOCTL_RUNTIME_SERVICE || shared)
        slot = &ctx->runtime; /* one connection when both services share a socket */
    else
        slot = &ctx->image;
    if (*slot)
        return *slot;
    r = crio_grpc_client_new(slot, ep);
    if (r == -ENAMETOOLONG)
        crioctl_error(ctx, "invalid %s endpoint \"%s\": the socket path is too long",
                      svc == CRIOCTL_IMAGE_SERVICE ? "image" : "runtime", ep);
    else if (r == -EINVAL)
        crioctl_error(ctx,
                      "invalid %s endpoint \"%s\": expected a unix socket "
                      "(unix:///path/to/socket)",
                      svc == CRIOCTL_IMAGE_SERVICE ? "image" : "runtime", ep);
    else if (r < 0)
        crioctl_error(ctx, "cannot set up a client for %s: %s", ep, strerror(-r));
    return r < 0 ? NULL : *slot;
}

void crioctl_ctx_close(crioctl_ctx *ctx)
{
    crio_grpc_client_free(ctx->runtime);
    crio_grpc_client_free(ctx->image);
    ctx->runtime = ctx->image = NULL;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int pack(crioctl_ctx *ctx, const ProtobufCMessage *req, uint8_t **buf, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(req);
    *buf = malloc(*len ? *len : 1);
    if (!*buf) {
        crioctl_error(ctx, "out of memory");
        return -1;
    }
    protobuf_c_message_pack(req, *buf);
    return 0;
}

/* Reports a call's failure; returns -1, or 0 when the call succeeded. */
static int report(crioctl_ctx *ctx, const crio_grpc_client *c, const char *method, int r,
                  const crio_grpc_status *st, double start)
{
    if (ctx->debug)
        fprintf(stderr, "DEBUG: %s on %s: %s (%.1f ms)\n", method, crio_grpc_client_socket_path(c),
                r < 0 ? strerror(-r) : crio_grpc_code_name(st->code), now_ms() - start);
    if (r < 0) {
        crioctl_error(ctx, "%s", strerror(-r));
        return -1;
    }
    if (st->code != CRIO_GRPC_OK) {
        if (st->message && st->message[0])
            crioctl_error(ctx, "%s: %s", crio_grpc_code_name(st->code), st->message);
        else
            crioctl_error(ctx, "%s", crio_grpc_code_name(st->code));
        return -1;
    }
    return 0;
}

int crioctl_call(crioctl_ctx *ctx, crioctl_service svc, const char *method,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 ProtobufCMessage **resp)
{
    crio_grpc_status st = { 0 };
    crio_grpc_client *c;
    uint8_t *buf;
    void *out = NULL;
    size_t len, out_len = 0;
    double start = now_ms();
    int r;

    *resp = NULL;
    c = client_for(ctx, svc);
    if (!c || pack(ctx, req, &buf, &len) < 0)
        return -1;
    r = crio_grpc_call(c, method, buf, len, &out, &out_len, ctx->timeout_ms, &st);
    free(buf);
    r = report(ctx, c, method, r, &st, start);
    crio_grpc_status_clear(&st);
    if (r < 0)
        return -1;
    *resp = protobuf_c_message_unpack(resp_desc, NULL, out_len, out);
    free(out);
    if (!*resp) {
        crioctl_error(ctx, "INTERNAL: cannot decode the %s response (%zu bytes)", resp_desc->name,
                      out_len);
        return -1;
    }
    return 0;
}

int crioctl_call_discard(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *resp_desc)
{
    ProtobufCMessage *m;

    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, method, req, resp_desc, &m) < 0)
        return -1;
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

int crioctl_call_for_id(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, const char *id_field, char **id)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(resp_desc, id_field);
    ProtobufCMessage *m;

    *id = NULL;
    if (crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, method, req, resp_desc, &m) < 0)
        return -1;
    *id = strdup(*(char **)((char *)m + f->offset));
    protobuf_c_message_free_unpacked(m, NULL);
    if (!*id) {
        crioctl_error(ctx, "out of memory");
        return -1;
    }
    return 0;
}

struct stream {
    crioctl_ctx *ctx;
    const ProtobufCMessageDescriptor *desc;
    crioctl_stream_fn fn;
    void *payload;
    bool stopped;     /* by fn */
    bool bad_message; /* a message did not decode */
    size_t bad_len;
};

static int on_stream_message(const void *msg, size_t len, void *payload)
{
    struct stream *s = payload;
    ProtobufCMessage *m = protobuf_c_message_unpack(s->desc, NULL, len, msg);
    int r;

    if (!m) {
        s->bad_message = true;
        s->bad_len = len;
        return 1;
    }
    r = s->fn(s->ctx, m, s->payload);
    protobuf_c_message_free_unpacked(m, NULL);
    if (r)
        s->stopped = true;
    return r;
}

int crioctl_call_stream(crioctl_ctx *ctx, crioctl_service svc, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        crioctl_stream_fn fn, void *payload)
{
    struct stream s = { .ctx = ctx, .desc = resp_desc, .fn = fn, .payload = payload };
    crio_grpc_status st = { 0 };
    crio_grpc_client *c;
    uint8_t *buf;
    size_t len;
    double start = now_ms();
    int r;

    c = client_for(ctx, svc);
    if (!c || pack(ctx, req, &buf, &len) < 0)
        return -1;
    r = crio_grpc_call_stream(c, method, buf, len, on_stream_message, &s, ctx->timeout_ms, &st);
    free(buf);
    if (r == 0 && s.bad_message) {
        crio_grpc_status_clear(&st);
        crioctl_error(ctx, "INTERNAL: cannot decode a %s message (%zu bytes)", resp_desc->name,
                      s.bad_len);
        return -1;
    }
    if (r == 0 && s.stopped)
        crio_grpc_status_clear(&st); /* the caller's choice, not a failure */
    r = report(ctx, c, method, r, &st, start);
    crio_grpc_status_clear(&st);
    return r;
}
