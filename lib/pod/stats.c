/* Resource figures of containers and pods: their cgroups and writable layers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "handle_internal.h"
#include "network/ns.h"
#include "pod/cgroup.h"
#include "pod/pod_internal.h"
#include "storage/store.h"

struct crio_stats {
    int64_t timestamp;
    crio_cgroup_stats cg;
    uint64_t writable_bytes, writable_inodes;
    char *mountpoint;
    crio_ns_iface_stats *net;
    size_t n_net;
};

int64_t crio_stats_timestamp(const crio_stats *s) { return s->timestamp; }
uint64_t crio_stats_cpu_usage_ns(const crio_stats *s) { return s->cg.cpu_usage_ns; }
uint64_t crio_stats_memory_working_set(const crio_stats *s) { return s->cg.memory_working_set; }
uint64_t crio_stats_memory_usage(const crio_stats *s) { return s->cg.memory_usage; }
uint64_t crio_stats_memory_rss(const crio_stats *s) { return s->cg.memory_rss; }
uint64_t crio_stats_memory_page_faults(const crio_stats *s) { return s->cg.page_faults; }
uint64_t crio_stats_memory_major_page_faults(const crio_stats *s) { return s->cg.major_page_faults; }
uint64_t crio_stats_memory_limit(const crio_stats *s) { return s->cg.memory_limit ? s->cg.memory_limit : UINT64_MAX; }
uint64_t crio_stats_writable_bytes(const crio_stats *s) { return s->writable_bytes; }
uint64_t crio_stats_writable_inodes(const crio_stats *s) { return s->writable_inodes; }
const char *crio_stats_fs_mountpoint(const crio_stats *s) { return s->mountpoint ? s->mountpoint : ""; }
uint64_t crio_stats_pids(const crio_stats *s) { return s->cg.pids; }
size_t crio_stats_network_count(const crio_stats *s) { return s->n_net; }
const char *crio_stats_network_name(const crio_stats *s, size_t i) { return i < s->n_net ? s->net[i].name : NULL; }
uint64_t crio_stats_network_rx_bytes(const crio_stats *s, size_t i) { return i < s->n_net ? s->net[i].rx_bytes : 0; }
uint64_t crio_stats_network_rx_errors(const crio_stats *s, size_t i) { return i < s->n_net ? s->net[i].rx_errors : 0; }
uint64_t crio_stats_network_tx_bytes(const crio_stats *s, size_t i) { return i < s->n_net ? s->net[i].tx_bytes : 0; }
uint64_t crio_stats_network_tx_errors(const crio_stats *s, size_t i) { return i < s->n_net ? s->net[i].tx_errors : 0; }

void crio_stats_free(crio_stats *s)
{
    if (!s)
        return;
    free(s->mountpoint);
    free(s->net);
    free(s);
}

/* Bytes (allocated blocks) and inodes under a directory, not following links; depth-capped. */
static void dir_usage(int dfd, uint64_t *bytes, uint64_t *inodes, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        (*inodes)++;
        *bytes += (uint64_t)st.st_blocks * 512;
        if (S_ISDIR(st.st_mode) && depth < 256) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                dir_usage(sub, bytes, inodes, depth + 1);
        }
    }
    closedir(d);
}

/* The writable layer's directory: overlay's upper, or vfs's private tree. */
static void writable_usage(crio_stats *s, crio_pods *p, const char *id)
{
    _cleanup_free_ char *root = ctr_root_dir(p, id), *upper = NULL;
    const char *part = strcmp(crio_store_driver(p->c->store), "vfs") ? "upper" : "fs";
    if (!root || asprintf(&upper, "%s/%s", root, part) < 0)
        return;
    int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        dir_usage(fd, &s->writable_bytes, &s->writable_inodes, 0);
    s->mountpoint = strdup(crio_store_root(p->c->store));
}

static int cgroup_figures(crio_stats *s, const char *cgroups_path)
{
    _cleanup_free_ char *fs = NULL;
    int e = crio_cgroup_fs_path(&fs, cgroups_path);
    if (e == 0 && crio_cgroup_stats_read(&s->cg, fs) < 0)
        crio_error_clear(); /* a cgroup already gone reads as zeros */
    return e;
}

int crio_container_stats_get(crio_stats **out, crio *c, const char *id)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "container stats: NULL argument");
    ctr_rec *r;
    int e = pods_get_ctr(c->pods, id, &r);
    if (e < 0)
        return e;
    crio_stats *s = calloc(1, sizeof *s);
    pthread_mutex_lock(&r->lock);
    _cleanup_free_ char *cg = r->cgroups_path ? strdup(r->cgroups_path) : NULL;
    bool live = r->state == CRIO_CONTAINER_RUNNING;
    pthread_mutex_unlock(&r->lock);
    if (!s) {
        e = crio_error_oom();
    } else {
        s->timestamp = crio_now_ns();
        if (cg && live)
            e = cgroup_figures(s, cg);
        writable_usage(s, c->pods, r->id);
    }
    ctr_put(r);
    if (e < 0) {
        crio_stats_free(s);
        return e;
    }
    *out = s;
    return 0;
}

/* The pod's interfaces; a namespace gone meanwhile (a stop) reads as none. */
static void network_figures(crio_stats *s, crio_pods *p, const char *id)
{
    _cleanup_free_ char *dir = pod_run_dir(p, id), *netns = NULL;
    if (!dir || asprintf(&netns, "%s/net", dir) < 0)
        return;
    if (crio_ns_net_stats(&s->net, &s->n_net, netns, "eth0") < 0)
        crio_error_clear();
}

int crio_pod_stats_get(crio_stats **out, crio *c, const char *pod_id)
{
    if (!out || !c)
        return crio_error_set(CRIO_EINVAL, "pod stats: NULL argument");
    pod_rec *r;
    int e = pods_get_pod(c->pods, pod_id, &r);
    if (e < 0)
        return e;
    crio_stats *s = calloc(1, sizeof *s);
    pthread_mutex_lock(&r->lock);
    _cleanup_free_ char *cg = r->cgroup ? strdup(r->cgroup) : NULL;
    bool own_netns = r->ns_mode[CRIO_NS_NETWORK] != CRIO_NS_NODE && r->state == CRIO_POD_READY && !r->creating;
    pthread_mutex_unlock(&r->lock);
    if (!s) {
        e = crio_error_oom();
    } else {
        s->timestamp = crio_now_ns();
        if (cg)
            e = cgroup_figures(s, cg);
        if (e == 0 && own_netns)
            network_figures(s, c->pods, r->id);
    }
    pod_put(r);
    if (e < 0) {
        crio_stats_free(s);
        return e;
    }
    *out = s;
    return 0;
}
