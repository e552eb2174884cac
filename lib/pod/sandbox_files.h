/*
 * A pod's files under RUNROOT/pods/<id>/: hostname, hosts, resolv.conf and
 * the shm tmpfs; and the pause process for pods sharing a PID namespace.
 */
#ifndef CRIO_POD_SANDBOX_FILES_H
#define CRIO_POD_SANDBOX_FILES_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Writes DIR/hostname ("<hostname>\n"), DIR/hosts and DIR/resolv.conf,
 * each atomically (mode 0644).  `hostname` NULL or "" means the host's.
 * hosts is always these three lines (a host-network pod that wants the
 * host's /etc/hosts is the caller's choice to mount):
 *     127.0.0.1\tlocalhost
 *     ::1\tlocalhost ip6-localhost ip6-loopback
 *     127.0.1.1\t<hostname>
 * resolv.conf comes from the pod config's dns_config (snake_case or
 * lowerCamelCase "dnsConfig"): one "nameserver S" line per server, one
 * "search D1 D2 .." line, one "options O1 O2 .." line, in that order; with
 * no dns_config, or one naming nothing, it is a copy of the host's
 * /etc/resolv.conf (empty when the host has none).  Everything is checked
 * before the first file is written.
 * Errors: CRIO_EINVAL for more than 6 search domains, an empty value, a
 * blank or line break in a value or the hostname, a hostname over
 * HOST_NAME_MAX, or members of the wrong JSON type; errno codes of failed
 * writes.
 */
int crio_sandbox_write_files(const char *dir, const char *hostname, const cJSON *pod_config);
/*
 * Mounts a tmpfs of `size` bytes at DIR/shm (created; nosuid,nodev,noexec,
 * mode 1777).  Sizes come from crio_parse_size ("64m").
 * Errors: CRIO_EINVAL for size 0 (tmpfs would have no limit),
 * CRIO_EEXISTS when DIR/shm is already a mount point, CRIO_EINTERNAL.
 */
int crio_sandbox_mount_shm(const char *dir, uint64_t size);
/* Unmounts DIR/shm (MNT_DETACH, every stacked layer) and removes it; absent is fine. */
int crio_sandbox_unmount_shm(const char *dir);
/*
 * "64m", "1g", "65536", "512k" -> bytes.  Units are binary and
 * case-insensitive: k, m, g, t, p, e, optionally followed by "i" and/or
 * "b" ("64Mi", "64MB", "64MiB"); a bare "b" is bytes.
 * Errors: CRIO_EINVAL (empty, sign, fraction, blank, unknown unit, over 64 bits).
 */
int crio_parse_size(uint64_t *out, const char *s);
/*
 * Starts the pause process (the crio-pause binary at `pause_path`, run with
 * no arguments and an empty environment) as PID 1 of a new PID namespace,
 * inside those of DIR's pins (net, ipc, uts) that are mounted, joined with
 * setns (a missing pin, as for a host-network pod, leaves that namespace
 * the host's), and in the cgroupfs path `cgroup` in every hierarchy (NULL:
 * the caller's cgroups).  It is detached from the caller: its own session,
 * stdio on /dev/null, no other fd, default signal handling, and its parent
 * (a short-lived helper) gone, so init or the nearest subreaper adopts it.
 * *pid is its pid on the host; DIR/pause.pid records
 * {"pid": N, "start_time": <field 22 of /proc/N/stat>}; its PID namespace
 * is then /proc/<pid>/ns/pid.  On failure no pause process is left.
 * Errors: CRIO_ENOTFOUND / CRIO_EPERM for a missing or non-executable
 * binary, CRIO_ETIMEDOUT, CRIO_EINTERNAL (with the step that failed).
 */
int crio_sandbox_start_pause(pid_t *pid, const char *dir, const char *pause_path, const char *cgroup);
/*
 * Kills (SIGKILL) the pause process recorded in DIR/pause.pid if that pid
 * is still the process started then (same start time: a reused pid is left
 * alone), waits for it to exit (a zombie waiting for init counts as gone)
 * and removes the record.  No record: nothing to do.  Idempotent.
 * Errors: CRIO_ETIMEDOUT (still running after 5 s), CRIO_EDATALOSS (a
 * record without a valid pid and start time), CRIO_EINTERNAL.
 */
int crio_sandbox_stop_pause(const char *dir);

#endif
