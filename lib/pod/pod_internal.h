/*
 * The lifecycle module's shared state: the registry of pods and containers
 * in memory, their persistence, events and exit handling.
 *
 * On disk (one state.json per object, written atomically):
 *   ROOT/pods/<id>/state.json            a pod
 *   ROOT/containers/<id>/state.json      a container; upper/ work/ (overlay) or fs/ (vfs)
 *   RUNROOT/pods/<id>/                    pinned namespaces, /etc files, shm, pause.pid
 *   RUNROOT/containers/<id>/              bundle: config.json, rootfs/, pidfile, ctl, attach
 *   RUNROOT/exits/<id>                    written by crio-monitor when the container exits
 * An object whose state is "creating" was being set up when the process
 * died: the next open tears it down.  Removal deletes state.json last, and
 * every teardown step tolerates what is already gone.
 *
 * Locking: the registry's rwlock guards the tables and the reserved names.
 * Each object has `op`, held for a whole operation (run, stop, remove, ...),
 * and `lock`, held only briefly to read or write its fields, so listing and
 * status never wait for a slow stop.  Order: pod op, container op, pod lock,
 * container lock, registry lock.  An object enters the tables only once it
 * is complete (its name is reserved first), and objects are reference
 * counted so an operation can drop the registry lock while it works.
 */
#ifndef CRIO_POD_INTERNAL_H
#define CRIO_POD_INTERNAL_H

#include <cjson/cJSON.h>
#include <crio/container.h>
#include <crio/pod.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/id.h"

struct crio;

typedef struct pod_fixed pod_fixed;
void pod_fixed_put(pod_fixed *f);

typedef struct pod_rec {
    char id[CRIO_ID_LEN + 1]; /* first: the registry's lookups rely on it */
    char *name;    /* reserved name "k8s_<name>_<namespace>_<uid>_<attempt>" */
    cJSON *config; /* CRI PodSandboxConfig */
    char *runtime_handler;
    int64_t created_at;
    crio_pod_state state;
    bool creating;
    int ns_mode[3];    /* crio_ns_mode by crio_ns_kind */
    char *cgroup;      /* cgroup parent for the pod's containers (driver syntax) */
    char *cgroup_fs;   /* the same as a cgroupfs path; NULL for none */
    pid_t pause_pid;
    char **ips;        /* from CNI ADD; cleared when the network is released */
    size_t nips;
    cJSON *cni;        /* the CNI record (lib/network): from before ADD until DEL; NULL for none */
    int64_t cni_ns;    /* how long ADD's plugins took (not persisted) */
    pod_fixed *fixed; /* shared with snapshots; built at the first one */
    pthread_mutex_t op, lock;
    int refs;
} pod_rec;

typedef struct ctr_fixed ctr_fixed;
void ctr_fixed_put(ctr_fixed *f);

typedef struct ctr_rec {
    char id[CRIO_ID_LEN + 1]; /* first: the registry's lookups rely on it */
    char pod_id[CRIO_ID_LEN + 1];
    char *name;    /* reserved name */
    cJSON *config; /* CRI ContainerConfig */
    char *image, *image_id, *image_ref;
    char *log_path;
    char *runtime_handler;
    char *cgroups_path;
    int stop_signal;
    crio_container_state state;
    bool creating;
    bool starting; /* between `runtime start` and STARTED: an exit waits to be reported after it */
    int64_t created_at, started_at, finished_at;
    int32_t exit_code;
    char *reason, *message;
    pid_t pid, monitor_pid;
    ctr_fixed *fixed; /* shared with snapshots; built at the first one */
    pthread_mutex_t op, lock;
    int refs;
} ctr_rec;

typedef struct crio_pods {
    struct crio *c;
    pthread_rwlock_t lock;
    pod_rec **pods;
    size_t npods, cap_pods;
    ctr_rec **ctrs;
    size_t nctrs, cap_ctrs;
    ctr_rec **making;  /* containers being created: not in `ctrs` yet, but their image is in use */
    size_t nmaking, cap_making;
    struct reserved_name *names;
    size_t nnames, cap_names;
    char *root_pods, *root_ctrs, *run_pods, *run_ctrs, *exits;
    /* Events: delivery is serialised by ev_lock so subscribers see them in order. */
    pthread_mutex_t ev_lock;
    crio_subscription *subs;
    /* The exit watcher: inotify on `exits`, woken for shutdown by wake_fd. */
    pthread_t watcher;
    bool watcher_running;
    int inotify_fd, wake_fd;
    pthread_mutex_t exit_lock;
    pthread_cond_t exit_cond; /* broadcast after each exit is recorded */
} crio_pods;

/* Loads and reconciles every pod and container; starts the exit watcher. */
int crio_pods_open(crio_pods **out, struct crio *c);
void crio_pods_close(crio_pods *p);

/* ---- registry (lib/pod/registry.c) ---- */

int64_t crio_now_ns(void);
/* Finds a pod or container by id or unique prefix and takes a reference.  Errors: CRIO_ENOTFOUND, CRIO_EINVAL. */
int pods_get_pod(crio_pods *p, const char *id, pod_rec **out);
int pods_get_ctr(crio_pods *p, const char *id, ctr_rec **out);
void pod_put(pod_rec *r);
void ctr_put(ctr_rec *r);
/* Reserves a name for object `id` ("pod"/"container" in `what`).  Errors: CRIO_EEXISTS naming the owner. */
int pods_reserve_name(crio_pods *p, const char *name, const char *id, const char *what);
void pods_release_name(crio_pods *p, const char *name);
/* Adds a complete object to the tables, taking the caller's reference. */
int pods_add_pod(crio_pods *p, pod_rec *r);
int pods_add_ctr(crio_pods *p, ctr_rec *r);
/* Drops an object from the tables and releases its name. */
void pods_del_pod(crio_pods *p, pod_rec *r);
void pods_del_ctr(crio_pods *p, ctr_rec *r);
/* References to every container of pod `pod_id` (or all when NULL); free with ctrs_put_all. */
int pods_ctrs_of(crio_pods *p, const char *pod_id, ctr_rec ***out, size_t *n);
void ctrs_put_all(ctr_rec **v, size_t n);
/* References to every pod. */
int pods_all(crio_pods *p, pod_rec ***out, size_t *n);
void pods_put_all(pod_rec **v, size_t n);

pod_rec *pod_rec_new(void);
ctr_rec *ctr_rec_new(void);
/* Persist an object's state (call with its mutex held). */
int pod_save(crio_pods *p, const pod_rec *r);
int ctr_save(crio_pods *p, const ctr_rec *r);
/* Paths (malloc'd) of an object's directories. */
char *pod_run_dir(crio_pods *p, const char *id);
char *ctr_run_dir(crio_pods *p, const char *id);
char *ctr_root_dir(crio_pods *p, const char *id);
char *ctr_exit_file(crio_pods *p, const char *id);

/*
 * Records the container's exit if its exit file exists (mutex held): state
 * EXITED with code, time and reason; persists; returns true when it changed
 * the state (the caller then emits STOPPED, after unlocking).
 */
bool ctr_reconcile_exit(crio_pods *p, ctr_rec *r);
/* Waits until the container is EXITED or `deadline_ns` (CLOCK_MONOTONIC) passes; mutex NOT held. */
bool ctr_wait_exit(crio_pods *p, ctr_rec *r, int64_t deadline_ns);
int64_t crio_mono_ns(void);

/* Labels: a JSON object of strings as key/value pairs; filters' label lists. */
int crio_map_pairs(char ***out, size_t *n, const cJSON *obj);
int crio_labels_add(char ***v, size_t *n, const char *key, const char *value);
bool crio_labels_match(const cJSON *labels, char **want, size_t n);

/* Stops containers together: stop signal to all, SIGKILL to those left at the deadline. */
void ctrs_stop(crio_pods *p, ctr_rec **v, size_t n, int64_t timeout_s);
/* Removes a container entirely (pod mutex held by the caller when called from a pod operation). */
int ctr_remove(crio_pods *p, ctr_rec *r);

/* ---- events ---- */
void events_emit(crio_pods *p, crio_event_type type, const char *ctr_id, const char *pod_id);

/* ---- teardown shared by remove and recovery (lib/pod/pod.c, container.c) ---- */
/* Tears down what a container has (runtime, monitor, mounts, dirs), tolerating what is gone. */
int ctr_teardown(crio_pods *p, ctr_rec *r);
/* Stops a pod's pause process and releases namespaces, shm and network (idempotent). */
int pod_release(crio_pods *p, pod_rec *r);
/* Tears down what a pod has (after pod_release): cgroup and dirs. */
int pod_teardown(crio_pods *p, pod_rec *r);

/* Counts a container being created as a user of its image (until pods_making_del). */
int pods_making_add(crio_pods *p, ctr_rec *r);
void pods_making_del(crio_pods *p, ctr_rec *r);
/* Whether a container (or one being created) uses image `image_id`; *who names one (malloc'd) when it does. */
bool crio_pods_image_in_use(struct crio *c, const char *image_id, char **who);

#endif
