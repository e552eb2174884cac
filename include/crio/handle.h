/*
 * libcrio — the library handle, runtime status and runtime configuration.
 *
 * A crio handle owns one root (persistent state) and runroot (run-time state).
 * Only one handle, in one process, may hold a root at a time.  Every call on a
 * handle is thread-safe.
 */
#ifndef CRIO_HANDLE_H
#define CRIO_HANDLE_H

#include "common.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crio crio;

/*
 * Opens a handle on the root and runroot named by `cfg` (crio.root,
 * crio.runroot), creating them if needed, and takes the root's lock.  `cfg`
 * is copied; the caller keeps ownership.  Close the handle with crio_close().
 * Errors: CRIO_EINVAL for an invalid configuration; CRIO_EBUSY when another
 * handle or process holds the root (the message names the holder's pid and
 * program); the errno of a directory that cannot be created.
 */
CRIO_API int crio_open(crio **out, const crio_config *cfg);

/* Releases the handle and the root's lock.  NULL-safe. */
CRIO_API void crio_close(crio *c);

/* The handle's configuration (borrowed; valid until crio_reload or crio_close). */
CRIO_API const crio_config *crio_get_config(const crio *c);

/*
 * Applies a new configuration to an open handle, as a daemon does on SIGHUP:
 * settings that can change at run time (the log level; the registries once
 * images exist) take effect; a changed root or runroot is refused.
 * Errors: CRIO_EINVAL for an invalid configuration or a changed root/runroot;
 * the handle keeps its old configuration then.
 */
CRIO_API int crio_reload(crio *c, const crio_config *cfg);

/* The name this runtime reports to the kubelet ("libcrio"). */
CRIO_API const char *crio_runtime_name(void);

/* The CRI API version implemented ("v1"). */
CRIO_API const char *crio_runtime_api_version(void);

/* Readiness conditions the kubelet requires. */
#define CRIO_CONDITION_RUNTIME_READY "RuntimeReady"
#define CRIO_CONDITION_NETWORK_READY "NetworkReady"

typedef struct crio_status crio_status;

/*
 * Checks the runtime's readiness now: RuntimeReady (the default OCI runtime is
 * present and executable, the root and runroot are usable) and NetworkReady
 * (a valid CNI network configuration is present in crio.network.network_dir;
 * the directory is watched, so a change counts at once).  Free the result with
 * crio_status_free().  Errors: CRIO_ENOMEM.
 */
CRIO_API int crio_status_get(crio_status **out, crio *c);

/* The number of conditions, and the parts of the i-th (borrowed; NULL/0 past the end). */
CRIO_API size_t crio_status_condition_count(const crio_status *st);
CRIO_API const char *crio_status_condition_type(const crio_status *st, size_t i);
CRIO_API int crio_status_condition_ok(const crio_status *st, size_t i);
CRIO_API const char *crio_status_condition_reason(const crio_status *st, size_t i);
CRIO_API const char *crio_status_condition_message(const crio_status *st, size_t i);

/* The runtime handlers configured: their count and names (borrowed). */
CRIO_API size_t crio_status_handler_count(const crio_status *st);
CRIO_API const char *crio_status_handler_name(const crio_status *st, size_t i);

/*
 * Verbose details as a JSON object whose members each hold one JSON value:
 * "config" (the effective configuration), "version", "root", "runroot".
 * The caller frees the string with crio_free().  Errors: CRIO_ENOMEM.
 */
CRIO_API int crio_status_info_json(char **out, const crio_status *st);

/* Releases a status.  NULL-safe. */
CRIO_API void crio_status_free(crio_status *st);

/*
 * Sets the node's pod CIDR ("10.244.1.0/24", or one IPv4 and one IPv6
 * range separated by a comma; "" or NULL clears it), as the kubelet's
 * UpdateRuntimeConfig gives it.  CNI plugins that declare the "ipRanges"
 * capability (host-local) allocate pod IPs from it.  Not persisted: the
 * kubelet sends it again whenever it starts or the runtime restarts.
 * Errors: CRIO_EINVAL naming an invalid CIDR (the previous one stays).
 */
CRIO_API int crio_network_set_pod_cidr(crio *c, const char *cidrs);

/* The cgroup driver, as the CRI RuntimeConfig reports it (same numbering). */
typedef enum {
    CRIO_CGROUP_DRIVER_SYSTEMD = 0,
    CRIO_CGROUP_DRIVER_CGROUPFS = 1
} crio_cgroup_driver;

/* The cgroup driver the handle's configuration selects. */
CRIO_API crio_cgroup_driver crio_cgroup_driver_get(crio *c);

#ifdef __cplusplus
}
#endif

#endif
