/*
 * Pod and container configurations: the public opaque builders of
 * <crio/pod.h> and <crio/container.h>, and what the lifecycle code reads
 * from them.
 *
 * Each holds a CRI PodSandboxConfig / ContainerConfig as one cJSON tree in
 * the protobuf JSON mapping, kept normalised so that readers never have to
 * guess: keys are the api.proto field names (snake_case, also inside
 * messages nested in arrays; map keys as given), every integer (int64
 * included) is a JSON number, every enum is its number, every known field
 * has its proto type, and no member is null.  Fields api.proto does not
 * have are dropped when merged (with a warning), as crictl's decoder drops
 * them.
 */
#ifndef CRIO_POD_CONFIG_H
#define CRIO_POD_CONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include <crio/container.h>
#include <crio/pod.h>

struct crio_pod_config {
    cJSON *json; /* a normalised CRI PodSandboxConfig; never NULL */
};

struct crio_container_config {
    cJSON *json; /* a normalised CRI ContainerConfig; never NULL */
};

/* The tree, borrowed from the configuration (NULL for NULL). */
const cJSON *crio_pod_config_json_tree(const crio_pod_config *cfg);
const cJSON *crio_container_config_json_tree(const crio_container_config *cfg);

/*
 * A new configuration holding a normalised copy of `tree` (a configuration
 * read back from a state file, or another configuration's tree); the copy
 * is checked exactly as crio_*_config_update_json checks its input.
 * Errors: CRIO_EINVAL (named field), CRIO_ENOMEM.
 */
int crio_pod_config_from_tree(crio_pod_config **out, const cJSON *tree);
int crio_container_config_from_tree(crio_container_config **out, const cJSON *tree);

/*
 * Merges a tree (as update_json merges parsed text): normalised and checked
 * first, so that on error the configuration is unchanged.
 */
int crio_pod_config_merge_tree(crio_pod_config *cfg, const cJSON *tree);
int crio_container_config_merge_tree(crio_container_config *cfg, const cJSON *tree);

/*
 * Typed reads by dotted path ("metadata.name", "linux.cgroup_parent"): the
 * member when present and of that type, else NULL / `def`.  Strings are
 * borrowed from the configuration.
 */
const char *crio_pod_config_get_string(const crio_pod_config *cfg, const char *path);
int64_t crio_pod_config_get_int(const crio_pod_config *cfg, const char *path, int64_t def);
bool crio_pod_config_get_bool(const crio_pod_config *cfg, const char *path, bool def);
const char *crio_container_config_get_string(const crio_container_config *cfg, const char *path);
int64_t crio_container_config_get_int(const crio_container_config *cfg, const char *path, int64_t def);
bool crio_container_config_get_bool(const crio_container_config *cfg, const char *path, bool def);

/* The pod's mode for a namespace (linux.security_context.namespace_options; POD when unset). */
crio_ns_mode crio_pod_config_namespace_mode(const crio_pod_config *cfg, crio_ns_kind kind);

#endif
