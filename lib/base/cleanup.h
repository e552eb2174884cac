/* Scope-bound cleanup helpers, as in systemd and crun: error paths stay one line. */
#ifndef CRIO_BASE_CLEANUP_H
#define CRIO_BASE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void crio_cleanup_free(void *p) { free(*(void **)p); }
static inline void crio_cleanup_fd(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void crio_cleanup_file(FILE **f) { if (*f) fclose(*f); }
static inline void crio_cleanup_dir(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_(fn) __attribute__((cleanup(fn)))
#define _cleanup_free_ _cleanup_(crio_cleanup_free)
#define _cleanup_close_ _cleanup_(crio_cleanup_fd)
#define _cleanup_fclose_ _cleanup_(crio_cleanup_file)
#define _cleanup_closedir_ _cleanup_(crio_cleanup_dir)

/* Defines `name##p(type **)` that calls `fn(*p)` when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, fn)            \
    static inline void fn##p(type **p)                  \
    {                                                    \
        if (*p)                                          \
            fn(*p);                                      \
    }

/* Moves ownership out of a cleanup variable. */
#define TAKE_PTR(p)                         \
    ({                                      \
        __typeof__(p) _taken_ = (p);        \
        (p) = NULL;                         \
        _taken_;                            \
    })
#define TAKE_FD(fd)                         \
    ({                                      \
        int _taken_fd_ = (fd);              \
        (fd) = -1;                          \
        _taken_fd_;                         \
    })

#define CRIO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
