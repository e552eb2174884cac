/*
 * gRPC over HTTP/2 for crio-server: framing helpers (pure, unit-tested) and
 * the server itself (nghttp2 sessions on libuv unix-socket connections).
 *
 * Each call's handler runs on the libuv thread pool (a few that answer from
 * memory run on the loop; see grpc_method.on_loop); its reply goes back
 * through the loop, so a slow call never delays another.
 */
#ifndef CRIO_SERVER_GRPC_H
#define CRIO_SERVER_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* gRPC status codes. */
enum {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16
};

/* ---- framing helpers ---- */

/*
 * Parses a grpc-timeout header value ("100m", "2S": at most 8 digits and a
 * unit H M S m u n) into nanoseconds.  Returns false when malformed.
 */
bool grpc_parse_timeout(const char *value, size_t len, uint64_t *ns);

/*
 * Percent-encodes a grpc-message value: bytes outside 0x20..0x7e and '%'
 * become %XX.  Returns a malloc'd string, or NULL on out-of-memory.
 */
char *grpc_percent_encode(const char *msg);

/*
 * Reads the 5-byte message prefix.  Returns 0 with *compressed and *len set,
 * or -1 when fewer than 5 bytes are available.
 */
int grpc_frame_header(const uint8_t *buf, size_t avail, bool *compressed, uint32_t *len);

/* Writes the 5-byte prefix for an uncompressed message of `len` bytes. */
void grpc_frame_prefix(uint8_t out[5], uint32_t len);

/* The upper-case name of a code ("NOT_FOUND"). */
const char *grpc_code_name(int code);

/* ---- server ---- */

/* What a handler answers.  `body` and `message` are malloc'd and taken by the server. */
typedef struct {
    int status;       /* GRPC_* */
    char *message;    /* for a non-OK status; may be NULL */
    uint8_t *body;    /* the serialized response message (unary) */
    size_t len;
} grpc_reply;

typedef struct grpc_stream_writer grpc_stream_writer;
typedef struct grpc_method grpc_method;

/* Runs on a pool thread: decode `req`, do the work, fill `reply`. */
typedef void (*grpc_unary_fn)(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply,
                              void *ctx);

/*
 * Runs on its own thread for a server-streaming call: send messages with
 * grpc_stream_send() until done or the client goes away, then fill `reply`
 * with the final status (its body is ignored).
 */
typedef void (*grpc_stream_fn)(const grpc_method *m, const uint8_t *req, size_t len, grpc_stream_writer *w,
                               grpc_reply *reply, void *ctx);

struct grpc_method {
    const char *path; /* "/runtime.v1.RuntimeService/Version" */
    grpc_unary_fn unary;
    grpc_stream_fn stream;
    const void *data; /* for the handler's own use */
    /*
     * Run the unary handler on the loop thread instead of the pool.  Only for
     * handlers that answer from memory without blocking (no I/O, no lock held
     * for long, no subprocess): such a call takes microseconds, so it delays
     * no other call, and skipping the pool's two thread hand-offs makes it
     * several times faster.  Everything else runs on the pool.
     */
    bool on_loop;
};

/*
 * Queues one message on a streaming call (copied).  Thread-safe.  Returns 0,
 * or -1 when the call is over (client cancelled, deadline, shutdown): the
 * handler should then return.
 */
int grpc_stream_send(grpc_stream_writer *w, const uint8_t *msg, size_t len);

/* True once the call is over; a streaming handler polls it while idle. */
bool grpc_stream_done(grpc_stream_writer *w);

typedef struct grpc_server grpc_server;

typedef struct {
    const grpc_method *methods;
    size_t n_methods;
    void *ctx;                   /* passed to every handler */
    size_t max_recv_msg_size;    /* larger requests get RESOURCE_EXHAUSTED */
    size_t max_send_msg_size;    /* larger replies become RESOURCE_EXHAUSTED */
    /* Called on the loop thread for each finished call (may be NULL): method, status, microseconds. */
    void (*on_call_done)(const char *path, int status, uint64_t usec, void *ctx);
    /* Called on the loop thread for notable events (may be NULL). */
    void (*on_log)(const char *what, const char *detail, void *ctx);
} grpc_server_options;

/* Creates a server on `loop` (-1 on out-of-memory).  The options' methods must outlive the server. */
int grpc_server_new(grpc_server **out, uv_loop_t *loop, const grpc_server_options *opts);

/*
 * Listens on a unix socket: creates the parent directory, replaces a stale
 * socket (refusing one a live server answers on), and sets `mode`.
 * Returns 0, or -1 with the reason in grpc_server_error().
 */
int grpc_server_listen(grpc_server *srv, const char *path, int mode);

/* Why the last grpc_server_listen failed. */
const char *grpc_server_error(const grpc_server *srv);

/*
 * Stops accepting, lets in-flight calls finish and send their replies, then
 * closes every connection and removes the socket; `done` runs on the loop
 * when all is closed.
 */
void grpc_server_shutdown(grpc_server *srv, void (*done)(grpc_server *srv, void *arg), void *arg);

/* Frees a server after shutdown completed. */
void grpc_server_free(grpc_server *srv);

/* Number of calls currently running (for tests and shutdown). */
size_t grpc_server_active_calls(const grpc_server *srv);

#endif
