/*
 * libcrio — a Kubernetes container runtime (CRI runtime.v1) as a C library.
 *
 * Include this umbrella header and link with `pkg-config --libs libcrio`.
 * Conventions: functions return 0 or a negative CRIO_E* code, details come
 * from crio_error_last(); out-parameters come first; a pointer-to-pointer
 * out-parameter hands ownership to the caller, who releases it with the
 * type's _free() or crio_free(); getters' `const char *` are borrowed.
 */
#ifndef CRIO_H
#define CRIO_H

#include "crio/version.h"
#include "crio/common.h"
#include "crio/config.h"
#include "crio/handle.h"
#include "crio/image.h"
#include "crio/pod.h"
#include "crio/container.h"

#endif
