/*
 * A handle's pod networking: the CNI configuration currently in force
 * (reloaded when its directory changes), the pod CIDR the kubelet gave,
 * and attaching and detaching pods.  What a pod's DEL needs is kept in a
 * record (a JSON object: "network", "config", "runtimeConfig", and "result"
 * once ADD succeeded) that the caller stores with the pod: one durable
 * write then covers the pod and its network.
 *
 * Thread-safe: attach, detach and check of different pods run at once;
 * the configuration they use is reference-counted, so a reload never pulls
 * it from under a running plugin.
 */
#ifndef CRIO_NETWORK_NETWORK_H
#define CRIO_NETWORK_NETWORK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct crio_net crio_net;

/* Where a network's configuration comes from ([crio.network]). */
typedef struct crio_net_settings {
    const char *network_dir;
    const char *const *plugin_dirs; /* NULL-terminated */
    const char *default_network;    /* NULL or "": the first valid one */
    int64_t plugin_timeout_ms;      /* 0: none */
} crio_net_settings;

/* A pod as CNI sees it. */
typedef struct crio_net_pod {
    const char *id;     /* the sandbox id (CNI's container id) */
    const char *netns;  /* the pinned netns path */
    const cJSON *config; /* the pod's CRI config: metadata, port_mappings, dns_config, annotations */
} crio_net_pod;

/* What an attach gave the pod. */
typedef struct crio_net_attachment {
    char **ips; /* the pod's IPs, first the primary */
    size_t n_ips;
    char *network;     /* the network's name */
    int64_t plugin_ns; /* time spent in the plugins */
} crio_net_attachment;

void crio_net_attachment_clear(crio_net_attachment *at);

/* Opens, loading the configuration directory.  Errors: CRIO_ENOMEM. */
int crio_net_open(crio_net **out, const crio_net_settings *s);
void crio_net_close(crio_net *n);

/* Applies new settings (a configuration reload); the directory is read again. */
int crio_net_configure(crio_net *n, const crio_net_settings *s);

/*
 * Whether a default network exists now (changes in the directory are
 * picked up first).  *why (if given) gets a malloc'ed reason when not.
 */
bool crio_net_ready(crio_net *n, char **why);

/*
 * Sets the pod CIDRs ("10.1.0.0/24" or dual-stack "10.1.0.0/24,fd00::/64")
 * passed as runtimeConfig.ipRanges to plugins that declare it; "" clears.
 * Errors: CRIO_EINVAL naming a bad CIDR.
 */
int crio_net_set_pod_cidr(crio_net *n, const char *cidrs);

/*
 * Records what the pod's ADD will use: the default network's name and
 * configuration list, and the runtime config from the pod's port mappings,
 * bandwidth annotations, DNS config and the pod CIDR.  Kept (not yet
 * durably) before ADD, it lets a crash during ADD be undone.
 * Errors: CRIO_EBUSY (no network: the reason), CRIO_EINVAL (a bad port
 * mapping or bandwidth annotation), CRIO_ENOMEM.
 */
int crio_net_prepare(cJSON **record, crio_net *n, const crio_net_pod *pod);

/*
 * Runs CNI ADD with the prepared record's configuration and runtime config
 * and adds the result to the record.  A failed ADD is rolled back (DEL).
 * Errors: those of crio_cni_add.
 */
int crio_net_attach(crio_net_attachment *out, crio_net *n, const crio_net_pod *pod, cJSON *record);

/*
 * Runs CNI DEL with the record's configuration, runtime config and result
 * (as prevResult).  The netns may be gone; DEL is idempotent.  The plugin
 * dirs and timeout are the current configuration's.
 */
int crio_net_detach(crio_net *n, const crio_net_pod *pod, const cJSON *record);

/*
 * Runs CNI CHECK with the record.  Errors: CRIO_ENOTFOUND (no result:
 * not attached), CRIO_ENOTSUP (cniVersion < 0.4.0), a plugin's failure.
 */
int crio_net_check(crio_net *n, const crio_net_pod *pod, const cJSON *record);

#endif
