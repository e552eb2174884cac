/*
 * CNI execution core: loading network configurations, running the plugins
 * of a network list (ADD with rollback, idempotent DEL), parsing results and
 * taking back what ADD used (the caller keeps it) so that DEL after a daemon
 * restart sees the same configuration and prevResult.  CNI spec 1.0.0; 0.3.x and 0.4.0 results
 * are understood too.
 *
 * Not thread-safe per object, but a loaded crio_cni is only read by
 * add/del, so several threads may run add/del with one crio_cni.
 */
#ifndef CRIO_NETWORK_CNI_H
#define CRIO_NETWORK_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crio_cni crio_cni;
typedef struct crio_cni_result crio_cni_result;

/* Caps on untrusted input: a configuration file and a plugin's stdout. */
#define CRIO_CNI_MAX_CONFIG (1024 * 1024)
#define CRIO_CNI_MAX_OUTPUT (1024 * 1024)
/* The per-plugin deadline unless crio_cni_set_timeout says otherwise. */
#define CRIO_CNI_DEFAULT_TIMEOUT_MS 60000

/*
 * What a pod's network attachment is made of.  `runtime_config` is a JSON
 * object of capability arguments ({"portMappings": [...], "bandwidth":
 * {...}, "dns": {...}, "ipRanges": [...]}); each plugin gets, as its
 * runtimeConfig, only the keys its "capabilities" declare.  DEL and CHECK
 * must be given the same one as ADD (the caller keeps it with the result).
 */
typedef struct crio_cni_attach {
    const char *container_id; /* the sandbox id: [A-Za-z0-9_.-], not starting with '.' */
    const char *netns;        /* the pinned netns path */
    const char *ifname;       /* NULL: "eth0" */
    const char *pod_namespace, *pod_name, *pod_uid; /* for CNI_ARGS; NULL: "" */
    const char *runtime_config; /* NULL: none */
} crio_cni_attach;

/*
 * Loads the *.conflist, *.conf and *.json files of `network_dir` in lexical
 * order.  A .conf/.json file holding a single plugin's configuration is
 * wrapped into a list of one.  Invalid files are skipped with a warning
 * naming the reason.  The default network is the one named
 * `default_network` (NULL or "": the first valid file).  `plugin_dirs` is
 * NULL-terminated; the plugins are looked up there in order.
 * Succeeds with a not-ready object when no usable network exists (see
 * crio_cni_ready), so that a later reload can fix it.
 * Errors: CRIO_EINVAL (no plugin dirs), CRIO_ENOMEM.
 */
int crio_cni_load(crio_cni **out, const char *network_dir, const char *const *plugin_dirs,
                  const char *default_network);
void crio_cni_free(crio_cni *cni);

/* Whether a default network exists; if not, *why (when why is given) gets a malloc'ed reason. */
bool crio_cni_ready(const crio_cni *cni, char **why);
/* The default network's name, or NULL when not ready. */
const char *crio_cni_network_name(const crio_cni *cni);
/* Per-plugin deadline in ms (0: none).  For tests and configuration. */
void crio_cni_set_timeout(crio_cni *cni, int64_t timeout_ms);
/* The default network's configuration list as JSON text (malloc'ed), or NULL (not ready, or ENOMEM). */
char *crio_cni_config_json(const crio_cni *cni);

/*
 * Runs ADD for each plugin of `config_json` (a configuration list as
 * crio_cni_config_json gave it; NULL: the default network) in order,
 * chaining prevResult.  When plugin k fails, DEL is run for plugins k..0 in reverse
 * before returning, so nothing stays allocated.  *out holds the final
 * result and the exact configuration list used (to be cached).
 * The result's IPs are those of the attach's interface (an IP the result
 * ties to another interface, and any loopback address, is left out).
 * Errors: CRIO_EBUSY (not ready), CRIO_EINVAL (bad attach fields),
 * CRIO_EUNAVAILABLE (a plugin binary is missing: named), CRIO_ETIMEDOUT
 * (a plugin hung and was killed), CRIO_EINTERNAL (a plugin failed: its
 * error JSON's msg and details, or its stderr).
 */
int crio_cni_add(crio_cni_result **out, const crio_cni *cni, const crio_cni_attach *a, const char *config_json);

/*
 * Runs DEL for each plugin in reverse order.  `config_json` is the cached
 * configuration list (NULL: the current default network) and
 * `result_json` the cached ADD result given as prevResult (NULL: none).
 * Idempotent: fine when nothing was added, when run twice and when the
 * netns is gone (CNI_NETNS is then passed empty, which the plugins accept).
 * The plugin dirs and timeout come from `cni`, which need not be ready when
 * `config_json` is given.
 */
int crio_cni_del(const crio_cni *cni, const crio_cni_attach *a, const char *config_json,
                 const char *result_json);

/*
 * Runs CHECK for each plugin in order with the cached result as prevResult
 * (both texts required).  Errors: CRIO_ENOTSUP when the configuration's
 * cniVersion predates CHECK (< 0.4.0); else as crio_cni_add.
 */
int crio_cni_check(const crio_cni *cni, const crio_cni_attach *a, const char *config_json,
                   const char *result_json);

/* Parses a result (CNI 1.0.0, 0.4.0, 0.3.x; 0.2.0 ip4/ip6 too), e.g. one read from the cache. */
int crio_cni_result_parse(crio_cni_result **out, const char *json, size_t len);
void crio_cni_result_free(crio_cni_result *r);
size_t crio_cni_result_ip_count(const crio_cni_result *r);
/* The i-th address without its prefix length ("10.1.2.3"), or NULL past the end. */
const char *crio_cni_result_ip(const crio_cni_result *r, size_t i);
/* The full result JSON text, as the last plugin printed it (normalized by cJSON). */
const char *crio_cni_result_json(const crio_cni_result *r);
/* The configuration list used for ADD (JSON text) and its network name; NULL for a parsed result. */
const char *crio_cni_result_config(const crio_cni_result *r);
const char *crio_cni_result_network(const crio_cni_result *r);
/* The wall time the plugins of ADD took, in ns (0 for a parsed result). */
int64_t crio_cni_result_plugin_ns(const crio_cni_result *r);

#endif
