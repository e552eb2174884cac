/*
 * libcrio — conventions shared by every area: export macro, status codes,
 * error details, memory release and logging.
 *
 * Every function that can fail returns 0 or a negative CRIO_E* code.  The
 * codes are the negated gRPC status codes they stand for, so a CRI server maps
 * them one-to-one; they are never renumbered.  Details of the last failure on
 * the calling thread are read with crio_error_last().
 */
#ifndef CRIO_COMMON_H
#define CRIO_COMMON_H

#include <stddef.h>

#if defined(_WIN32)
#define CRIO_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#define CRIO_API __attribute__((visibility("default")))
#else
#define CRIO_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: 0 is success; each error is -(the gRPC code it maps to). */
enum {
    CRIO_OK = 0,
    CRIO_ECANCELED = -1,      /* CANCELLED: the caller cancelled the operation */
    CRIO_ERROR = -2,          /* UNKNOWN: a failure with no better code */
    CRIO_EINVAL = -3,         /* INVALID_ARGUMENT: bad input from the caller */
    CRIO_ETIMEDOUT = -4,      /* DEADLINE_EXCEEDED: a timeout or deadline expired */
    CRIO_ENOTFOUND = -5,      /* NOT_FOUND: no such object */
    CRIO_EEXISTS = -6,        /* ALREADY_EXISTS: the object or name exists */
    CRIO_EPERM = -7,          /* PERMISSION_DENIED: refused by policy or the OS */
    CRIO_ENOMEM = -8,         /* RESOURCE_EXHAUSTED: out of memory or over a limit */
    CRIO_EBUSY = -9,          /* FAILED_PRECONDITION: wrong state (in use, running) */
    CRIO_EABORTED = -10,      /* ABORTED: a concurrent change won */
    CRIO_ERANGE = -11,        /* OUT_OF_RANGE: a value outside its valid range */
    CRIO_ENOTSUP = -12,       /* UNIMPLEMENTED: not supported by this build or host */
    CRIO_EINTERNAL = -13,     /* INTERNAL: a broken invariant or a system failure */
    CRIO_EUNAVAILABLE = -14,  /* UNAVAILABLE: a dependency (registry, runtime) is unreachable */
    CRIO_EDATALOSS = -15,     /* DATA_LOSS: stored data is corrupt */
    CRIO_EAUTH = -16          /* UNAUTHENTICATED: credentials missing or refused */
};

/* Details of a failure.  Opaque; read it with the getters below. */
typedef struct crio_error crio_error;

/*
 * The last error set on the calling thread, or NULL when none is set.  The
 * pointer is borrowed: it stays valid until the next libcrio call on this
 * thread that fails or calls crio_error_clear().
 */
CRIO_API const crio_error *crio_error_last(void);

/* Forgets the calling thread's last error. */
CRIO_API void crio_error_clear(void);

/* The error's CRIO_E* code (CRIO_OK for NULL). */
CRIO_API int crio_error_code(const crio_error *err);

/* The message with its context, e.g. "open root /var/lib/crio: lock held by
 * pid 42 (crio-server)".  Borrowed; never NULL (an empty string for NULL). */
CRIO_API const char *crio_error_message(const crio_error *err);

/* The errno behind the failure, or 0 when the failure was not a system call. */
CRIO_API int crio_error_errno(const crio_error *err);

/* A stable name for a code: "CRIO_ENOTFOUND", ...; "CRIO_UNKNOWN_CODE" otherwise. */
CRIO_API const char *crio_strerror(int code);

/* Releases a string or buffer that libcrio handed over.  NULL-safe. */
CRIO_API void crio_free(void *ptr);

/* Log levels, from the most to the least severe. */
typedef enum {
    CRIO_LOG_ERROR = 0,
    CRIO_LOG_WARN = 1,
    CRIO_LOG_INFO = 2,
    CRIO_LOG_DEBUG = 3,
    CRIO_LOG_TRACE = 4
} crio_log_level;

/*
 * Receives each log line libcrio emits at or above the set level.  `message`
 * is borrowed for the call; the handler may be called from any thread at
 * once, so it must be thread-safe.
 */
typedef void (*crio_log_fn)(crio_log_level level, const char *message, void *payload);

/*
 * Routes libcrio's log lines to `fn` (NULL: discard them, the default).
 * libcrio never prints on its own.  Process-wide.
 */
CRIO_API void crio_log_set_handler(crio_log_fn fn, void *payload);

/* Sets the most verbose level delivered to the handler (default CRIO_LOG_INFO). */
CRIO_API void crio_log_set_level(crio_log_level level);

/* The current level. */
CRIO_API crio_log_level crio_log_get_level(void);

/*
 * Parses "error", "warn"/"warning", "info", "debug", "trace" (case-insensitive;
 * "fatal" and "panic" as CRI-O spells them mean error).
 * Errors: CRIO_EINVAL for any other name.
 */
CRIO_API int crio_log_level_parse(crio_log_level *out, const char *name);

/* The lower-case name of a level ("info"), or "unknown". */
CRIO_API const char *crio_log_level_name(crio_log_level level);

/* The run-time version of the library, "MAJOR.MINOR.PATCH". */
CRIO_API const char *crio_version(void);

#ifdef __cplusplus
}
#endif

#endif
