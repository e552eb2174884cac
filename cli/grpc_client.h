/*
 * A small gRPC client: unary and server-streaming calls over HTTP/2 on a unix
 * socket, built on nghttp2's client session over a blocking, poll-driven
 * socket.  Not on libcurl: Debian 12's 7.88 fails the second request on a
 * reused prior-knowledge connection (curl #10634), and drops the rest of a
 * response when the server sends a graceful GOAWAY during the call.
 *
 * It knows nothing about protobuf or the command line: requests and responses
 * are serialized messages, so crioctl, the unit tests and the benchmarks share
 * it.  Internal to the project (no CRIO_API).
 *
 * Threading: a client is one HTTP/2 connection and must be used by one thread
 * at a time; different clients are independent.
 */
#ifndef CRIO_CLI_GRPC_CLIENT_H
#define CRIO_CLI_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gRPC status codes. */
enum {
    CRIO_GRPC_OK = 0,
    CRIO_GRPC_CANCELLED = 1,
    CRIO_GRPC_UNKNOWN = 2,
    CRIO_GRPC_INVALID_ARGUMENT = 3,
    CRIO_GRPC_DEADLINE_EXCEEDED = 4,
    CRIO_GRPC_NOT_FOUND = 5,
    CRIO_GRPC_ALREADY_EXISTS = 6,
    CRIO_GRPC_PERMISSION_DENIED = 7,
    CRIO_GRPC_RESOURCE_EXHAUSTED = 8,
    CRIO_GRPC_FAILED_PRECONDITION = 9,
    CRIO_GRPC_ABORTED = 10,
    CRIO_GRPC_OUT_OF_RANGE = 11,
    CRIO_GRPC_UNIMPLEMENTED = 12,
    CRIO_GRPC_INTERNAL = 13,
    CRIO_GRPC_UNAVAILABLE = 14,
    CRIO_GRPC_DATA_LOSS = 15,
    CRIO_GRPC_UNAUTHENTICATED = 16
};

/* The largest response message accepted (a bigger one fails the call with
 * RESOURCE_EXHAUSTED). */
#define CRIO_GRPC_MAX_MESSAGE ((size_t)64 * 1024 * 1024)

/*
 * One HTTP/2 connection, opened by the first call and reused by the next
 * ones.  A call starts on a new connection when the server has closed the
 * previous one or sent GOAWAY; streams the GOAWAY still covers run to
 * completion.  A call that was sent is never retried.
 */
typedef struct crio_grpc_client crio_grpc_client;

/*
 * Creates a client for the unix socket named by `socket_path`: "unix:///path",
 * "unix:/path" or "/path" (see crio_grpc_endpoint_path).  Nothing is connected
 * until the first call.
 * Returns 0, -EINVAL for an endpoint that is not a unix socket path,
 * -ENAMETOOLONG for a path too long for a unix socket, or -ENOMEM.
 *
 * Setting CRIO_GRPC_TRACE in the environment logs every HTTP/2 frame sent
 * and received to stderr (for debugging).
 */
int crio_grpc_client_new(crio_grpc_client **out, const char *socket_path);

/* Closes the connection and frees the client.  NULL-safe. */
void crio_grpc_client_free(crio_grpc_client *c);

/* The socket path the client connects to (borrowed). */
const char *crio_grpc_client_socket_path(const crio_grpc_client *c);

/* The outcome of a call: code = gRPC code (0 OK); message malloc'd or NULL. */
typedef struct {
    int code;
    char *message;
} crio_grpc_status;

/* Frees the message and resets the status to OK.  NULL-safe. */
void crio_grpc_status_clear(crio_grpc_status *st);

/*
 * Unary call.  `path` is "/<service>/<method>", e.g.
 * "/runtime.v1.RuntimeService/Version"; `timeout_ms` 0 means none.
 * On return *resp (malloc'd, caller frees; never NULL, even for an empty
 * message) holds the one response message when st->code == 0; otherwise
 * *resp is NULL and *resp_len 0.
 * Returns 0 when a status was obtained (check st->code), <0 (-errno) only for
 * local failures such as out of memory.
 */
int crio_grpc_call(crio_grpc_client *c, const char *path, const void *req, size_t req_len,
                   void **resp, size_t *resp_len, long timeout_ms, crio_grpc_status *st);

/* Receives one response message of a streaming call; the buffer is borrowed
 * for the call.  A nonzero return cancels the call (status CANCELLED). */
typedef int (*crio_grpc_message_fn)(const void *msg, size_t len, void *payload);

/*
 * Server-streaming call: `on_message` is called for each response message as
 * it arrives.  Returns as crio_grpc_call.
 */
int crio_grpc_call_stream(crio_grpc_client *c, const char *path, const void *req,
                          size_t req_len, crio_grpc_message_fn on_message, void *payload,
                          long timeout_ms, crio_grpc_status *st);

/* "OK", "CANCELLED", ... "UNAUTHENTICATED"; "UNKNOWN" for a code outside 0..16. */
const char *crio_grpc_code_name(int code);

/* ---- Pure helpers, exposed for the unit tests. ---- */

/*
 * Resolves an endpoint to a socket path (malloc'd in *out): "unix:///abs/path"
 * and "unix:/abs/path" give "/abs/path", "unix:rel/path" gives "rel/path", a
 * plain path is taken as it is.  -EINVAL for an empty path or another scheme
 * ("tcp://...", "unix://host/path"); -ENAMETOOLONG for a path that does not
 * fit a unix socket address (107 bytes); -ENOMEM.
 */
int crio_grpc_endpoint_path(char **out, const char *endpoint);

/*
 * Percent-decodes a grpc-message value of `len` bytes: "%XX" (hex, either
 * case) becomes the byte 0xXX; a '%' not followed by two hex digits is kept
 * as it is.  Returns a malloc'd NUL-terminated string, or NULL when out of
 * memory.
 */
char *crio_grpc_percent_decode(const char *s, size_t len);

/*
 * Formats a grpc-timeout header value for `timeout_ms` (> 0) into buf: at
 * most 8 digits and a unit ("m", "S", "M" or "H"), rounding up so the server
 * never sees a shorter deadline.  Returns buf.
 */
char *crio_grpc_timeout_format(char buf[16], long timeout_ms);

/* Writes the 5-byte gRPC message prefix (flag 0, big-endian length). */
void crio_grpc_frame_header(unsigned char hdr[5], uint32_t len);

/*
 * Splits a stream of length-prefixed messages that arrives in arbitrary
 * chunks.  Zero-initialize it (or call _init), feed it every chunk, and
 * _reset it when done.
 */
typedef struct {
    unsigned char hdr[5];
    size_t hdr_len;      /* prefix bytes seen of the current message */
    size_t msg_len;      /* length of the current message (once hdr_len == 5) */
    unsigned char *buf;  /* the current message, when it spans chunks */
    size_t buf_len;      /* bytes of it in buf */
    size_t buf_cap;      /* allocated size of buf */
    size_t max_len;      /* cap on one message; 0 means CRIO_GRPC_MAX_MESSAGE */
    uint32_t too_large;  /* the length that exceeded the cap (for messages) */
} crio_grpc_reader;

enum {
    CRIO_GRPC_READ_OK = 0,
    CRIO_GRPC_READ_STOPPED = 1,     /* the callback returned nonzero */
    CRIO_GRPC_READ_TOO_LARGE = -1,  /* a message over the cap */
    CRIO_GRPC_READ_COMPRESSED = -2, /* compressed flag set (never negotiated) or invalid */
    CRIO_GRPC_READ_NOMEM = -3
};

void crio_grpc_reader_init(crio_grpc_reader *r, size_t max_len);

/*
 * Consumes `len` bytes, calling `fn` for each message completed by them (a
 * message wholly inside the chunk is passed without copying).  Returns a
 * CRIO_GRPC_READ_* code; after a nonzero one the reader must be reset.
 */
int crio_grpc_reader_feed(crio_grpc_reader *r, const void *data, size_t len,
                          crio_grpc_message_fn fn, void *payload);

/* True when part of a message has been fed but not completed. */
bool crio_grpc_reader_pending(const crio_grpc_reader *r);

/* Frees the buffer and forgets any partial message (keeps max_len). */
void crio_grpc_reader_reset(crio_grpc_reader *r);

#endif
