/*
 * libcrio — pod sandboxes: run, stop, remove, inspect, list, stats.
 *
 * A pod is a set of pinned namespaces (network, IPC, UTS; PID only when the
 * pod shares one), its /etc/hostname, /etc/hosts and /etc/resolv.conf, a
 * /dev/shm and a cgroup, which its containers join.  No infra container is
 * run; a tiny pause process runs only for a shared PID namespace.
 *
 * Configurations are opaque builders.  The typed setters cover the common
 * fields; crio_pod_config_update_json() takes any part of a CRI
 * PodSandboxConfig in protobuf's JSON mapping (field names as in the CRI
 * api.proto, snake_case or lowerCamelCase), which is also the file format
 * crictl's `runp` reads, so every CRI field is reachable.
 */
#ifndef CRIO_POD_H
#define CRIO_POD_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "handle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A namespace's mode, as the CRI NamespaceMode: values are the CRI's. */
typedef enum {
    CRIO_NS_POD = 0,       /* shared by the pod's containers */
    CRIO_NS_CONTAINER = 1, /* the container's own */
    CRIO_NS_NODE = 2,      /* the host's */
    CRIO_NS_TARGET = 3     /* another container's (PID only) */
} crio_ns_mode;

/* Which namespace a mode applies to. */
typedef enum { CRIO_NS_NETWORK = 0, CRIO_NS_PID = 1, CRIO_NS_IPC = 2 } crio_ns_kind;

/* ---- configuration ---- */

typedef struct crio_pod_config crio_pod_config;

/* A new, empty pod configuration.  Errors: CRIO_ENOMEM. */
CRIO_API int crio_pod_config_new(crio_pod_config **out);
/* Releases a configuration.  NULL-safe. */
CRIO_API void crio_pod_config_free(crio_pod_config *cfg);
/*
 * Merges `json`, a CRI PodSandboxConfig object (or part of one) in the
 * protobuf JSON mapping, into the configuration: objects merge member by
 * member, anything else replaces.  Errors: CRIO_EINVAL for malformed JSON, a
 * document that is not an object, or a member of the wrong type (named).
 */
CRIO_API int crio_pod_config_update_json(crio_pod_config *cfg, const char *json);
/* The configuration as CRI JSON (malloc'd; free with crio_free).  Errors: CRIO_ENOMEM. */
CRIO_API int crio_pod_config_to_json(char **out, const crio_pod_config *cfg);
/* Metadata: name (required), uid, namespace and attempt.  Strings are copied. */
CRIO_API int crio_pod_config_set_metadata(crio_pod_config *cfg, const char *name, const char *uid,
                                          const char *namespace_, uint32_t attempt);
CRIO_API int crio_pod_config_set_hostname(crio_pod_config *cfg, const char *hostname);
/* The directory the kubelet keeps this pod's container logs in. */
CRIO_API int crio_pod_config_set_log_directory(crio_pod_config *cfg, const char *dir);
/* Sets (or replaces) a label or annotation. */
CRIO_API int crio_pod_config_set_label(crio_pod_config *cfg, const char *key, const char *value);
CRIO_API int crio_pod_config_set_annotation(crio_pod_config *cfg, const char *key, const char *value);
/* The cgroup parent ("/kubepods/burstable" with cgroupfs, "kubepods-burstable.slice" with systemd). */
CRIO_API int crio_pod_config_set_cgroup_parent(crio_pod_config *cfg, const char *parent);
/* How the pod's containers share a namespace.  Errors: CRIO_EINVAL for a kind or mode out of range. */
CRIO_API int crio_pod_config_set_namespace_mode(crio_pod_config *cfg, crio_ns_kind kind, crio_ns_mode mode);
/* DNS for the pod's /etc/resolv.conf: adds one nameserver, search domain or option. */
CRIO_API int crio_pod_config_add_dns_server(crio_pod_config *cfg, const char *server);
CRIO_API int crio_pod_config_add_dns_search(crio_pod_config *cfg, const char *domain);
CRIO_API int crio_pod_config_add_dns_option(crio_pod_config *cfg, const char *option);
/* A namespaced sysctl every container of the pod gets ("net.ipv4.ip_unprivileged_port_start"). */
CRIO_API int crio_pod_config_set_sysctl(crio_pod_config *cfg, const char *key, const char *value);
/* Whether the pod may run privileged containers. */
CRIO_API int crio_pod_config_set_privileged(crio_pod_config *cfg, int privileged);
/* A host port mapping ("TCP", "UDP" or "SCTP"; host_ip may be NULL), for CNI's portmap. */
CRIO_API int crio_pod_config_add_port_mapping(crio_pod_config *cfg, const char *protocol, int32_t container_port,
                                              int32_t host_port, const char *host_ip);

/* ---- lifecycle ---- */

/*
 * Runs a pod: pins its namespaces, writes its /etc files, mounts its
 * /dev/shm, creates its cgroup.  `runtime_handler` names a
 * [crio.runtime.runtimes.NAME] table (NULL or "": the default).  On success
 * *id_out is the pod id (malloc'd; free with crio_free).
 * Errors: CRIO_EINVAL (no name, bad configuration, unknown runtime
 * handler), CRIO_EEXISTS (the name is reserved by a pod that exists: the
 * message names it), CRIO_EINTERNAL (a mount, namespace or cgroup failed).
 * On error nothing of the pod is left behind.
 */
CRIO_API int crio_pod_run(char **id_out, crio *c, const crio_pod_config *cfg, const char *runtime_handler);
/*
 * Stops every container of the pod (each within its stop timeout), stops
 * the pause process and releases the pod's network.  Idempotent.
 * Errors: CRIO_ENOTFOUND.
 */
CRIO_API int crio_pod_stop(crio *c, const char *id);
/*
 * Removes the pod and all its containers (stopping whatever runs), unmounts
 * and deletes everything it had.  Removing an absent pod succeeds.
 */
CRIO_API int crio_pod_remove(crio *c, const char *id);

/* ---- status ---- */

typedef enum { CRIO_POD_READY = 0, CRIO_POD_NOTREADY = 1 } crio_pod_state;

/* One pod as it was when read: a snapshot. */
typedef struct crio_pod crio_pod;

/* Looks a pod up by id or unique id prefix.  Errors: CRIO_ENOTFOUND, CRIO_EINVAL (ambiguous prefix). */
CRIO_API int crio_pod_get(crio_pod **out, crio *c, const char *id);
CRIO_API void crio_pod_free(crio_pod *pod);
/* Borrowed strings, valid while the snapshot lives. */
CRIO_API const char *crio_pod_id(const crio_pod *pod);
CRIO_API const char *crio_pod_name(const crio_pod *pod);
CRIO_API const char *crio_pod_uid(const crio_pod *pod);
CRIO_API const char *crio_pod_namespace(const crio_pod *pod);
CRIO_API uint32_t crio_pod_attempt(const crio_pod *pod);
CRIO_API crio_pod_state crio_pod_state_get(const crio_pod *pod);
/* Creation time in nanoseconds since the epoch. */
CRIO_API int64_t crio_pod_created_at(const crio_pod *pod);
CRIO_API const char *crio_pod_runtime_handler(const crio_pod *pod);
/* Labels and annotations: count, then key and value of the i-th (NULL out of range). */
CRIO_API size_t crio_pod_label_count(const crio_pod *pod);
CRIO_API const char *crio_pod_label_key(const crio_pod *pod, size_t i);
CRIO_API const char *crio_pod_label_value(const crio_pod *pod, size_t i);
CRIO_API size_t crio_pod_annotation_count(const crio_pod *pod);
CRIO_API const char *crio_pod_annotation_key(const crio_pod *pod, size_t i);
CRIO_API const char *crio_pod_annotation_value(const crio_pod *pod, size_t i);
/* The namespace modes the pod runs with. */
CRIO_API crio_ns_mode crio_pod_namespace_mode(const crio_pod *pod, crio_ns_kind kind);
/* The pinned network namespace's path ("" for host network). */
CRIO_API const char *crio_pod_netns_path(const crio_pod *pod);
/* The pod's IP addresses (from CNI): count, then the i-th. */
CRIO_API size_t crio_pod_ip_count(const crio_pod *pod);
CRIO_API const char *crio_pod_ip(const crio_pod *pod, size_t i);
/* The configuration the pod was run with, as CRI JSON. */
CRIO_API const char *crio_pod_config_json(const crio_pod *pod);
/* Extra details for verbose status, a JSON object (pid of the pause process, paths, ...). */
CRIO_API const char *crio_pod_info_json(const crio_pod *pod);

/* ---- listing ---- */

/* Which pods a listing returns; every criterion set must match.  Opaque builder. */
typedef struct crio_pod_filter crio_pod_filter;

CRIO_API int crio_pod_filter_new(crio_pod_filter **out);
CRIO_API void crio_pod_filter_free(crio_pod_filter *f);
/* Matches pods whose id starts with `id`. */
CRIO_API int crio_pod_filter_set_id(crio_pod_filter *f, const char *id);
CRIO_API int crio_pod_filter_set_state(crio_pod_filter *f, crio_pod_state state);
/* Matches pods carrying label key=value (several: all must match). */
CRIO_API int crio_pod_filter_add_label(crio_pod_filter *f, const char *key, const char *value);

typedef struct crio_pod_list crio_pod_list;

/* Lists pods (`filter` may be NULL), oldest first. */
CRIO_API int crio_pod_list_get(crio_pod_list **out, crio *c, const crio_pod_filter *filter);
CRIO_API size_t crio_pod_list_count(const crio_pod_list *list);
/* The i-th pod (borrowed from the list). */
CRIO_API const crio_pod *crio_pod_list_at(const crio_pod_list *list, size_t i);
CRIO_API void crio_pod_list_free(crio_pod_list *list);

#ifdef __cplusplus
}
#endif

#endif
