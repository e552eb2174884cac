/* The thread-local last error behind crio_error_last(). */
#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crio_error {
    int code;
    int sys_errno;
    char message[1024];
};

static __thread struct crio_error last_error;
static __thread int last_error_set;

const crio_error *crio_error_last(void)
{
    return last_error_set ? &last_error : NULL;
}

void crio_error_clear(void)
{
    last_error_set = 0;
    last_error.code = 0;
    last_error.sys_errno = 0;
    last_error.message[0] = '\0';
}

int crio_error_code(const crio_error *err)
{
    return err ? err->code : CRIO_OK;
}

const char *crio_error_message(const crio_error *err)
{
    return err ? err->message : "";
}

int crio_error_errno(const crio_error *err)
{
    return err ? err->sys_errno : 0;
}

const char *crio_strerror(int code)
{
    switch (code) {
    case CRIO_OK: return "CRIO_OK";
    case CRIO_ECANCELED: return "CRIO_ECANCELED";
    case CRIO_ERROR: return "CRIO_ERROR";
    case CRIO_EINVAL: return "CRIO_EINVAL";
    case CRIO_ETIMEDOUT: return "CRIO_ETIMEDOUT";
    case CRIO_ENOTFOUND: return "CRIO_ENOTFOUND";
    case CRIO_EEXISTS: return "CRIO_EEXISTS";
    case CRIO_EPERM: return "CRIO_EPERM";
    case CRIO_ENOMEM: return "CRIO_ENOMEM";
    case CRIO_EBUSY: return "CRIO_EBUSY";
    case CRIO_EABORTED: return "CRIO_EABORTED";
    case CRIO_ERANGE: return "CRIO_ERANGE";
    case CRIO_ENOTSUP: return "CRIO_ENOTSUP";
    case CRIO_EINTERNAL: return "CRIO_EINTERNAL";
    case CRIO_EUNAVAILABLE: return "CRIO_EUNAVAILABLE";
    case CRIO_EDATALOSS: return "CRIO_EDATALOSS";
    case CRIO_EAUTH: return "CRIO_EAUTH";
    default: return "CRIO_UNKNOWN_CODE";
    }
}

void crio_free(void *ptr)
{
    free(ptr);
}

static int error_vset(int code, int errnum, const char *fmt, va_list ap)
{
    /* The message may be built from the current message (crio_error_wrap). */
    char buf[sizeof last_error.message];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (errnum) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, ": %s", strerror(errnum));
    }
    memcpy(last_error.message, buf, sizeof buf);
    last_error.code = code;
    last_error.sys_errno = errnum;
    last_error_set = 1;
    return code;
}

int crio_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int crio_error_set_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, errnum, fmt, ap);
    va_end(ap);
    return code;
}

int crio_error_from_errno(int errnum)
{
    switch (errnum) {
    case ENOENT: case ENOTDIR: case ESRCH: return CRIO_ENOTFOUND;
    case EEXIST: return CRIO_EEXISTS;
    case EACCES: case EPERM: case EROFS: return CRIO_EPERM;
    case ENOMEM: case ENOSPC: case EMFILE: case ENFILE: case EDQUOT: return CRIO_ENOMEM;
    case EBUSY: case EWOULDBLOCK: case ENOTEMPTY: return CRIO_EBUSY;
    case EINVAL: case ENAMETOOLONG: case ELOOP: return CRIO_EINVAL;
    case ETIMEDOUT: return CRIO_ETIMEDOUT;
    case ENOSYS: case EOPNOTSUPP: return CRIO_ENOTSUP;
    case ECONNREFUSED: case ECONNRESET: case EHOSTUNREACH: case ENETUNREACH: return CRIO_EUNAVAILABLE;
    case ECANCELED: return CRIO_ECANCELED;
    case ERANGE: case EOVERFLOW: return CRIO_ERANGE;
    case EIO: return CRIO_EDATALOSS;
    default: return CRIO_EINTERNAL;
    }
}

int crio_error_sys(int errnum, const char *fmt, ...)
{
    int code = crio_error_from_errno(errnum);
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, errnum, fmt, ap);
    va_end(ap);
    return code;
}

int crio_error_wrap(int code, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (!last_error_set)
        return crio_error_set(code, "%s", prefix);
    char buf[sizeof last_error.message];
    size_t plen = strlen(prefix);
    if (plen > sizeof buf - 3)
        plen = sizeof buf - 3;
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, ": ", 2);
    size_t rest = sizeof buf - plen - 3;
    size_t mlen = strnlen(last_error.message, rest);
    memcpy(buf + plen + 2, last_error.message, mlen);
    buf[plen + 2 + mlen] = '\0';
    memcpy(last_error.message, buf, sizeof buf);
    return last_error.code;
}

int crio_error_oom(void)
{
    return crio_error_set_errno(CRIO_ENOMEM, ENOMEM, "out of memory");
}
