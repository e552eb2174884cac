/*
 * libcrio — containers: create, start, stop, remove, inspect, list, update,
 * exec, logs, stats and lifecycle events.
 *
 * A container lives in a pod.  Its root filesystem is an overlay of its
 * image's layers with a writable layer of its own; its process runs under
 * the pod's OCI runtime handler with a crio-monitor as parent, which writes
 * its output to the CRI log file and records how it exited.  The daemon (or
 * the program using libcrio) can exit and restart meanwhile: crio_open()
 * reloads every container and reconciles it with the runtime.
 *
 * As for pods, the configuration is an opaque builder: typed setters for
 * common fields, crio_container_config_update_json() for any part of a CRI
 * ContainerConfig in protobuf's JSON mapping (crictl's `create` file format).
 */
#ifndef CRIO_CONTAINER_H
#define CRIO_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "handle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---- */

typedef struct crio_container_config crio_container_config;

CRIO_API int crio_container_config_new(crio_container_config **out);
CRIO_API void crio_container_config_free(crio_container_config *cfg);
/* Merges a CRI ContainerConfig object (or part of one); see crio_pod_config_update_json. */
CRIO_API int crio_container_config_update_json(crio_container_config *cfg, const char *json);
/* The configuration as CRI JSON (malloc'd; free with crio_free). */
CRIO_API int crio_container_config_to_json(char **out, const crio_container_config *cfg);
CRIO_API int crio_container_config_set_metadata(crio_container_config *cfg, const char *name, uint32_t attempt);
/* The image: a reference or an image id. */
CRIO_API int crio_container_config_set_image(crio_container_config *cfg, const char *image);
/* Appends to the command (the image's ENTRYPOINT is replaced) or to the args (CMD is replaced). */
CRIO_API int crio_container_config_add_command(crio_container_config *cfg, const char *arg);
CRIO_API int crio_container_config_add_arg(crio_container_config *cfg, const char *arg);
CRIO_API int crio_container_config_set_working_dir(crio_container_config *cfg, const char *dir);
/* Sets an environment variable (after the image's). */
CRIO_API int crio_container_config_set_env(crio_container_config *cfg, const char *key, const char *value);
/* Adds a bind mount of host_path at container_path. */
CRIO_API int crio_container_config_add_mount(crio_container_config *cfg, const char *container_path,
                                             const char *host_path, int readonly);
CRIO_API int crio_container_config_set_label(crio_container_config *cfg, const char *key, const char *value);
CRIO_API int crio_container_config_set_annotation(crio_container_config *cfg, const char *key, const char *value);
/* The log file, relative to the pod's log directory. */
CRIO_API int crio_container_config_set_log_path(crio_container_config *cfg, const char *path);
CRIO_API int crio_container_config_set_tty(crio_container_config *cfg, int tty);
CRIO_API int crio_container_config_set_stdin(crio_container_config *cfg, int stdin_open, int stdin_once);
/* Memory limit in bytes (0: none). */
CRIO_API int crio_container_config_set_memory_limit(crio_container_config *cfg, int64_t bytes);
/* CPU shares, quota and period (0: unset). */
CRIO_API int crio_container_config_set_cpu(crio_container_config *cfg, int64_t shares, int64_t quota, int64_t period);
/* The user to run as: a uid, with a gid when `gid` >= 0. */
CRIO_API int crio_container_config_set_user(crio_container_config *cfg, int64_t uid, int64_t gid);
CRIO_API int crio_container_config_set_readonly_rootfs(crio_container_config *cfg, int readonly);
CRIO_API int crio_container_config_set_privileged(crio_container_config *cfg, int privileged);

/* ---- lifecycle ---- */

/*
 * Creates a container in pod `pod_id`: mounts its root filesystem, writes
 * its OCI bundle and starts its monitor, which has the runtime create it.
 * The image must be present.  *id_out gets the id (free with crio_free).
 * Errors: CRIO_ENOTFOUND (pod or image), CRIO_EBUSY (pod not ready),
 * CRIO_EEXISTS (name reserved: the message names the owner), CRIO_EINVAL
 * (bad configuration, bad mount source), CRIO_EUNAVAILABLE or
 * CRIO_EINTERNAL (the runtime failed: its message is included).  On error
 * nothing of the container is left behind.
 */
CRIO_API int crio_container_create(char **id_out, crio *c, const char *pod_id, const crio_container_config *cfg);
/* Starts a created container.  Errors: CRIO_ENOTFOUND, CRIO_EBUSY (not created), the runtime's error. */
CRIO_API int crio_container_start(crio *c, const char *id);
/*
 * Stops a container: its stop signal (the image's STOPSIGNAL, else
 * SIGTERM), then SIGKILL once `timeout_seconds` have passed (0: at once).
 * Returns once it has exited.  Stopping a stopped container succeeds.
 */
CRIO_API int crio_container_stop(crio *c, const char *id, int64_t timeout_seconds);
/* Removes a container (killing it if it runs) and its writable layer.  An absent id succeeds. */
CRIO_API int crio_container_remove(crio *c, const char *id);
/*
 * Updates a running container's resources from the `linux.resources` part
 * of `cfg` (CPU, memory, cpuset, pids, hugepages).
 * Errors: CRIO_ENOTFOUND, CRIO_EBUSY (not running), the runtime's error.
 */
CRIO_API int crio_container_update_resources(crio *c, const char *id, const crio_container_config *cfg);
/* Has the monitor reopen the log file (after the kubelet rotated it). */
CRIO_API int crio_container_reopen_log(crio *c, const char *id);

/* ---- status ---- */

typedef enum {
    CRIO_CONTAINER_CREATED = 0,
    CRIO_CONTAINER_RUNNING = 1,
    CRIO_CONTAINER_EXITED = 2,
    CRIO_CONTAINER_UNKNOWN = 3
} crio_container_state;

typedef struct crio_container crio_container;

/* Looks a container up by id or unique id prefix.  Errors: CRIO_ENOTFOUND, CRIO_EINVAL. */
CRIO_API int crio_container_get(crio_container **out, crio *c, const char *id);
CRIO_API void crio_container_free(crio_container *ctr);
CRIO_API const char *crio_container_id(const crio_container *ctr);
CRIO_API const char *crio_container_pod_id(const crio_container *ctr);
CRIO_API const char *crio_container_name(const crio_container *ctr);
CRIO_API uint32_t crio_container_attempt(const crio_container *ctr);
CRIO_API crio_container_state crio_container_state_get(const crio_container *ctr);
/* Times in nanoseconds since the epoch; 0 when it has not happened. */
CRIO_API int64_t crio_container_created_at(const crio_container *ctr);
CRIO_API int64_t crio_container_started_at(const crio_container *ctr);
CRIO_API int64_t crio_container_finished_at(const crio_container *ctr);
CRIO_API int32_t crio_container_exit_code(const crio_container *ctr);
/* "Completed", "Error" or "OOMKilled" once exited; "" before. */
CRIO_API const char *crio_container_reason(const crio_container *ctr);
CRIO_API const char *crio_container_message(const crio_container *ctr);
/* The image as the config named it, and the image it resolved to (id, and the repo digest if known). */
CRIO_API const char *crio_container_image(const crio_container *ctr);
CRIO_API const char *crio_container_image_id(const crio_container *ctr);
CRIO_API const char *crio_container_image_ref(const crio_container *ctr);
CRIO_API const char *crio_container_log_path(const crio_container *ctr);
CRIO_API size_t crio_container_label_count(const crio_container *ctr);
CRIO_API const char *crio_container_label_key(const crio_container *ctr, size_t i);
CRIO_API const char *crio_container_label_value(const crio_container *ctr, size_t i);
CRIO_API size_t crio_container_annotation_count(const crio_container *ctr);
CRIO_API const char *crio_container_annotation_key(const crio_container *ctr, size_t i);
CRIO_API const char *crio_container_annotation_value(const crio_container *ctr, size_t i);
/* The CRI mounts the container has (the `mounts` of its config), as CRI JSON. */
CRIO_API const char *crio_container_mounts_json(const crio_container *ctr);
/* The container's main process id on the host (0 unless running). */
CRIO_API int64_t crio_container_pid(const crio_container *ctr);
/* The configuration it was created with, as CRI JSON. */
CRIO_API const char *crio_container_config_json(const crio_container *ctr);
/* Verbose details: a JSON object with the OCI runtime spec, pid, bundle and monitor. */
CRIO_API const char *crio_container_info_json(const crio_container *ctr);

/* Which containers a listing returns; every criterion set must match. */
typedef struct crio_container_filter crio_container_filter;

CRIO_API int crio_container_filter_new(crio_container_filter **out);
CRIO_API void crio_container_filter_free(crio_container_filter *f);
CRIO_API int crio_container_filter_set_id(crio_container_filter *f, const char *id);
CRIO_API int crio_container_filter_set_pod_id(crio_container_filter *f, const char *pod_id);
CRIO_API int crio_container_filter_set_state(crio_container_filter *f, crio_container_state state);
CRIO_API int crio_container_filter_add_label(crio_container_filter *f, const char *key, const char *value);

typedef struct crio_container_list crio_container_list;

/* Lists containers (`filter` may be NULL), oldest first. */
CRIO_API int crio_container_list_get(crio_container_list **out, crio *c, const crio_container_filter *filter);
CRIO_API size_t crio_container_list_count(const crio_container_list *list);
CRIO_API const crio_container *crio_container_list_at(const crio_container_list *list, size_t i);
CRIO_API void crio_container_list_free(crio_container_list *list);

/* ---- exec ---- */

typedef struct crio_exec_result crio_exec_result;

/*
 * Runs argv[0..argc) in the running container and waits for it, at most
 * `timeout_seconds` (0: no limit).  Output beyond 16 MiB per stream is cut.
 * Errors: CRIO_ENOTFOUND, CRIO_EBUSY (not running), CRIO_ETIMEDOUT (the
 * command was killed at the timeout), the runtime's error.  A command that
 * runs and fails is not an error: see its exit code.
 */
CRIO_API int crio_container_exec_sync(crio_exec_result **out, crio *c, const char *id, const char *const *argv,
                                      size_t argc, int64_t timeout_seconds);
CRIO_API int32_t crio_exec_result_exit_code(const crio_exec_result *r);
/* The output (borrowed; not NUL-terminated), and its length. */
CRIO_API const char *crio_exec_result_stdout(const crio_exec_result *r, size_t *len);
CRIO_API const char *crio_exec_result_stderr(const crio_exec_result *r, size_t *len);
CRIO_API void crio_exec_result_free(crio_exec_result *r);

/* ---- stats ---- */

/* Resource figures of a container or a pod, read from its cgroup and writable layer. */
typedef struct crio_stats crio_stats;

/* Errors: CRIO_ENOTFOUND. */
CRIO_API int crio_container_stats_get(crio_stats **out, crio *c, const char *id);
/* A pod's figures (its cgroup, which holds all its containers). */
CRIO_API int crio_pod_stats_get(crio_stats **out, crio *c, const char *pod_id);
CRIO_API void crio_stats_free(crio_stats *s);
/* When the figures were read, ns since the epoch. */
CRIO_API int64_t crio_stats_timestamp(const crio_stats *s);
/* Cumulative CPU time in ns. */
CRIO_API uint64_t crio_stats_cpu_usage_ns(const crio_stats *s);
/* Memory working set (usage minus inactive file pages), usage, RSS; bytes. */
CRIO_API uint64_t crio_stats_memory_working_set(const crio_stats *s);
CRIO_API uint64_t crio_stats_memory_usage(const crio_stats *s);
CRIO_API uint64_t crio_stats_memory_rss(const crio_stats *s);
CRIO_API uint64_t crio_stats_memory_page_faults(const crio_stats *s);
CRIO_API uint64_t crio_stats_memory_major_page_faults(const crio_stats *s);
/* The memory limit in bytes; UINT64_MAX when there is none. */
CRIO_API uint64_t crio_stats_memory_limit(const crio_stats *s);
/* Bytes and inodes of the writable layer (containers; 0 for pods), and the filesystem holding it. */
CRIO_API uint64_t crio_stats_writable_bytes(const crio_stats *s);
CRIO_API uint64_t crio_stats_writable_inodes(const crio_stats *s);
CRIO_API const char *crio_stats_fs_mountpoint(const crio_stats *s);
/* Number of processes. */
CRIO_API uint64_t crio_stats_pids(const crio_stats *s);
/*
 * The network interfaces of a ready pod's own network namespace (none for a
 * container, or a host-network pod), loopback left out: their count, and
 * the i-th's name (borrowed) and cumulative counters (0 past the end).  The
 * first is the pod's default interface (eth0) when it has one.
 */
CRIO_API size_t crio_stats_network_count(const crio_stats *s);
CRIO_API const char *crio_stats_network_name(const crio_stats *s, size_t i);
CRIO_API uint64_t crio_stats_network_rx_bytes(const crio_stats *s, size_t i);
CRIO_API uint64_t crio_stats_network_rx_errors(const crio_stats *s, size_t i);
CRIO_API uint64_t crio_stats_network_tx_bytes(const crio_stats *s, size_t i);
CRIO_API uint64_t crio_stats_network_tx_errors(const crio_stats *s, size_t i);

/* ---- events ---- */

typedef enum {
    CRIO_EVENT_CONTAINER_CREATED = 0,
    CRIO_EVENT_CONTAINER_STARTED = 1,
    CRIO_EVENT_CONTAINER_STOPPED = 2,
    CRIO_EVENT_CONTAINER_DELETED = 3
} crio_event_type;

typedef struct crio_event crio_event;

CRIO_API crio_event_type crio_event_type_get(const crio_event *ev);
CRIO_API const char *crio_event_container_id(const crio_event *ev);
CRIO_API const char *crio_event_pod_id(const crio_event *ev);
/* When it happened, ns since the epoch. */
CRIO_API int64_t crio_event_time(const crio_event *ev);

/*
 * Receives events; `ev` is borrowed for the call.  Called from library
 * threads (the one making the change, or the one noticing an exit), in the
 * order the events happened; it must return quickly and must not
 * unsubscribe itself.
 */
typedef void (*crio_event_fn)(const crio_event *ev, void *payload);
typedef struct crio_subscription crio_subscription;

/* Subscribes `fn` to every container event from now on.  Errors: CRIO_ENOMEM. */
CRIO_API int crio_events_subscribe(crio_subscription **out, crio *c, crio_event_fn fn, void *payload);
/* Ends a subscription; once it returns, `fn` is not running and will not be called.  NULL-safe. */
CRIO_API void crio_events_unsubscribe(crio_subscription *sub);

#ifdef __cplusplus
}
#endif

#endif
