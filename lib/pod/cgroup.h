/*
 * Cgroups of pods and containers, for the cgroupfs driver (v1 hierarchies
 * under /sys/fs/cgroup/<controller>, or the v2 unified hierarchy) and the
 * systemd driver's naming.
 *
 * With cgroupfs a pod's cgroup is PARENT/pod<id> ("/kubepods/podXYZ" when
 * the kubelet gives "/kubepods"; "/crio/pod<id>" when it gives none) and a
 * container's cgroupsPath is POD_CGROUP/crio-<id>.  With systemd a parent
 * is a slice ("kubepods-burstable.slice"), the pod's slice is
 * PARENT-minus-".slice"-"-pod<id>.slice" and a container's cgroupsPath is
 * "POD_SLICE:crio:<id>" (runc's systemd syntax).
 */
#ifndef CRIO_POD_CGROUP_H
#define CRIO_POD_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* How long crio_cgroup_remove waits for processes to leave before CRIO_EBUSY. */
#define CRIO_CGROUP_REMOVE_WAIT_MS 1000

/*
 * The pod's cgroup for `parent` (may be NULL/""), driver "cgroupfs" or
 * "systemd".  cgroupfs: an absolute parent ("/kubepods/burstable") or none
 * ("/crio"); a ".slice" parent is refused.  systemd: a slice parent or none
 * ("crio.slice", giving "crio-pod<id>.slice"; "-.slice" gives
 * "pod<id>.slice"); '-' in the id becomes '_' (a dash would nest slices).
 * Ids hold letters, digits, '-' and '_' only.  Errors: CRIO_EINVAL.
 */
int crio_cgroup_pod_path(char **out, const char *driver, const char *parent, const char *pod_id);
/* A container's OCI cgroupsPath inside its pod's cgroup.  Errors: CRIO_EINVAL. */
int crio_cgroup_container_path(char **out, const char *driver, const char *pod_cgroup, const char *ctr_id);
/*
 * Creates a cgroupfs path (relative to the hierarchy roots: "/kubepods/pod1")
 * in every mounted v1 hierarchy (named ones such as name=systemd included)
 * and in the v2 hierarchy.  On v1 each new cpuset directory gets the
 * parent's cpus and mems (tasks cannot join an empty cpuset); on v2 the
 * parents' available controllers are enabled for their children (best
 * effort).  What this call made is removed again on failure.
 * Errors: CRIO_EINVAL (not absolute, ".." or the root), CRIO_EINTERNAL
 * with the failing directory.
 */
int crio_cgroup_create(const char *path);
/*
 * Moves process `pid` into the cgroupfs path in every hierarchy (the path
 * must exist in all: crio_cgroup_create it first).
 * Errors: CRIO_ENOTFOUND (missing in a hierarchy), CRIO_EINTERNAL.
 */
int crio_cgroup_enter(const char *path, pid_t pid);
/*
 * Removes a cgroupfs path (and empty children) from every hierarchy,
 * retrying with backoff for up to CRIO_CGROUP_REMOVE_WAIT_MS while
 * processes are still leaving.  Absent is fine.
 * Errors: CRIO_EBUSY when processes remain (the message names the cgroup),
 * CRIO_EINVAL (bad path or the root), CRIO_EINTERNAL.
 */
int crio_cgroup_remove(const char *path);
/*
 * The memory controller's directory for a cgroupfs path (malloc'd), for OOM
 * watching: the v1 memory hierarchy's, else the v2 one's when v2 has the
 * memory controller; NULL if none.  The directory need not exist yet.
 */
char *crio_cgroup_memory_dir(const char *path);
/*
 * Translates an OCI cgroupsPath into a cgroupfs path relative to the roots.
 * An absolute path passes through (trailing '/' dropped).  runc's systemd
 * syntax "slice:prefix:name" becomes the slice's expansion plus the unit:
 * "kubepods-burstable-pod1.slice:crio:ID" ->
 * "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/crio-ID.scope";
 * an empty slice is "system.slice" (runc's default), "-.slice" the root, an
 * empty prefix gives "name.scope" and a name ending in ".slice" is the unit
 * itself.  Errors: CRIO_EINVAL (relative paths included).
 */
int crio_cgroup_fs_path(char **out, const char *cgroups_path);

/* Figures read from a cgroup.  memory_limit is UINT64_MAX for no limit. */
typedef struct crio_cgroup_stats {
    uint64_t cpu_usage_ns;
    uint64_t memory_usage, memory_working_set, memory_rss, memory_limit;
    uint64_t page_faults, major_page_faults;
    uint64_t pids;
} crio_cgroup_stats;

/*
 * Reads the figures of a cgroupfs path: v1 cpuacct.usage, memory.usage_in_bytes,
 * memory.limit_in_bytes, memory.stat (total_rss, total_inactive_file,
 * total_pgfault, total_pgmajfault), pids.current; or for a controller not on
 * v1 the v2 files (cpu.stat usage_usec, memory.current, memory.max,
 * memory.stat anon/inactive_file/pgfault/pgmajfault, pids.current).  The
 * working set is usage minus inactive file pages.  A figure whose file is
 * missing reads 0.  Errors: CRIO_ENOTFOUND when the cgroup is in none of the
 * hierarchies read, CRIO_EINVAL for a bad path.
 */
int crio_cgroup_stats_read(crio_cgroup_stats *out, const char *path);

#endif
