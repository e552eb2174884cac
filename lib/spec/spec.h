/*
 * OCI runtime spec (config.json) generation from a CRI container config,
 * its pod's config and sandbox paths, and the image config.
 *
 * The CRI configs are cJSON trees in the protobuf JSON mapping with the
 * api.proto field names (snake_case), integers and enums as numbers: what
 * crio_*_config_update_json() stores.  Nothing here changes the host; it
 * reads only the container's own /etc/passwd and /etc/group (relative to
 * the rootfs fd, never following links out of it) to resolve user and
 * group names, stat()s mount sources and device nodes, and asks the kernel
 * which capabilities and file limit this process may hand on.
 */
#ifndef CRIO_SPEC_SPEC_H
#define CRIO_SPEC_SPEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file limit a container gets unless default_ulimits sets "nofile" (CRI-O's default). */
#define CRIO_SPEC_DEFAULT_NOFILE 1048576

typedef struct crio_spec_input {
    const cJSON *container;    /* CRI ContainerConfig (required) */
    const cJSON *pod;          /* CRI PodSandboxConfig (required) */
    const cJSON *image_config; /* OCI image config document ({"config": {"Env", "Cmd", ...}}), may be NULL */
    const char *container_id;
    const char *pod_id;
    const char *rootfs;        /* the mounted root filesystem (absolute; required) */
    /*
     * An O_PATH/O_DIRECTORY fd of the rootfs, for /etc/passwd lookups; 0 or
     * less: `rootfs` is opened instead (so a zero-initialised input never
     * reads the caller's stdin as a directory).
     */
    int rootfs_fd;
    /*
     * Namespaces to join by path; NULL: the container gets a new one; "": the
     * host's (no entry).  A mode of NODE in the configs means the host's
     * whatever the path, CONTAINER (pid) a new one; UTS follows the network:
     * the host's when the pod uses the host network.
     */
    const char *netns_path, *ipcns_path, *utsns_path, *pidns_path;
    /* The pod's files, bind-mounted into the container (NULL: none). */
    const char *hostname_path, *hosts_path, *resolv_path, *shm_path;
    const char *hostname;      /* the pod's hostname (NULL: none) */
    const char *cgroups_path;  /* OCI linux.cgroupsPath (NULL: none) */
    const char *const *default_capabilities; /* NULL-terminated, with or without "CAP_" */
    const char *const *default_env;          /* NULL-terminated "K=V" */
    const char *const *default_sysctls;      /* NULL-terminated "k=v" */
    const char *const *default_ulimits;      /* NULL-terminated "nofile=1024:2048" or "nproc=512" */
    int oom_score_adj_min;     /* the lowest oom_score_adj the host allows us (our own) */
    /* The pod allows privileged containers (as does the pod config's linux.security_context.privileged). */
    bool pod_privileged;
} crio_spec_input;

/*
 * Generates the OCI runtime spec.  Errors: CRIO_EINVAL for a bad config
 * (privileged container in an unprivileged pod, relative or missing mount
 * paths, an unknown user or group name, an unknown capability, a bad
 * propagation, no command), CRIO_EINTERNAL when the container's /etc files
 * cannot be read (other than being absent), CRIO_ENOMEM.  The seccomp,
 * AppArmor and SELinux settings are not applied yet (one seam in spec.c).
 */
int crio_spec_generate(cJSON **out, const crio_spec_input *in);

/*
 * Translates CRI LinuxContainerResources (NULL: none) into OCI
 * linux.resources (for create and for update): cpu, memory, hugepageLimits,
 * unified; only what is set.  oom_score_adj is not part of it (it is the
 * process's: crio_spec_clamp_oom_score_adj).  Errors: CRIO_EINVAL, CRIO_ENOMEM.
 */
int crio_spec_resources(cJSON **out, const cJSON *cri_resources);

/*
 * The image's stop signal (config.StopSignal: "SIGQUIT", "QUIT", "3",
 * "SIGRTMIN+3"), or SIGTERM when it has none or an unknown one.
 */
int crio_spec_stop_signal(const cJSON *image_config);

/* The CRI ContainerConfig's stop_signal when set, else crio_spec_stop_signal(image_config). */
int crio_spec_container_stop_signal(const cJSON *container, const cJSON *image_config);

/* A signal by name ("SIGKILL", "kill", "RTMIN+1") or number; -1 when unknown. */
int crio_spec_parse_signal(const char *s);

/* The oom_score_adj to put in a spec: `wanted` raised to at least `min`, and within -1000..1000. */
int crio_spec_clamp_oom_score_adj(int64_t wanted, int min);

/* The member of a CRI tree at a dotted path ("linux.security_context.privileged"), or NULL. */
const cJSON *crio_spec_cri_get(const cJSON *tree, const char *path);
/*
 * Typed reads at a dotted path: the member when present and of that type,
 * else NULL / `def`.  A number beyond int64 reads as `def`; a fraction is
 * cut (normalised configurations hold integers only).
 */
const char *crio_spec_cri_string(const cJSON *tree, const char *path);
int64_t crio_spec_cri_int(const cJSON *tree, const char *path, int64_t def);
bool crio_spec_cri_bool(const cJSON *tree, const char *path, bool def);

/* Test hook: resolve /etc/passwd by the O_NOFOLLOW walk even where openat2 exists. */
void crio_spec_force_fallback_resolver(bool on);

#endif
