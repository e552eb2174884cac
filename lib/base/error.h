/* Internal side of crio_error: setting the thread's last error with context. */
#ifndef CRIO_BASE_ERROR_H
#define CRIO_BASE_ERROR_H

#include <crio/common.h>
#include <stdarg.h>

/*
 * Sets the thread's last error to `code` with a printf-style message and
 * returns `code`, so a failure returns in one line:
 *     return crio_error_set(CRIO_ENOTFOUND, "container %s", id);
 */
int crio_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As crio_error_set, appending ": strerror(errnum)" and recording errnum. */
int crio_error_set_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps an errno to the closest CRIO_E* code (ENOENT -> CRIO_ENOTFOUND, ...). */
int crio_error_from_errno(int errnum);

/* As crio_error_set_errno with the code chosen by crio_error_from_errno(errnum). */
int crio_error_sys(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Prefixes the current error's message with context ("pull busybox: " + old),
 * keeping its code and errno, and returns the code.  `code` is returned as is
 * when no error is set (it then also sets one with just the context).
 */
int crio_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports out-of-memory and returns CRIO_ENOMEM. */
int crio_error_oom(void);

#endif
