/*
 * Pinned namespaces: a pod's network, IPC and UTS namespaces are created by
 * a short-lived thread and kept alive by bind mounts of their nsfs files, so
 * no process has to run for them to exist; containers join them by path.
 */
#ifndef CRIO_NETWORK_NS_H
#define CRIO_NETWORK_NS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CRIO_PIN_NET = 1, CRIO_PIN_IPC = 2, CRIO_PIN_UTS = 4 };

/*
 * Creates new namespaces of the kinds in `which` and pins each at
 * DIR/net, DIR/ipc, DIR/uts (DIR is created).  In the new UTS namespace the
 * hostname is set to `hostname` (NULL: left as the host's); in the new
 * network namespace loopback is brought up.  The calling thread's own
 * namespaces never change (a thread of its own unshares).  The pins inherit the
 * mount propagation of DIR's mount (see ns.c for why nothing is made
 * private).  On error nothing stays mounted or created.
 * Errors: CRIO_EINVAL (no kinds, unknown bits, hostname empty or longer
 * than HOST_NAME_MAX), CRIO_EEXISTS (one of the pins is already mounted;
 * it is left alone), CRIO_EINTERNAL (unshare/mount failed: errno in the
 * message).
 */
int crio_ns_pin(const char *dir, int which, const char *hostname);
/*
 * Unmounts (MNT_DETACH, every stacked layer) and removes DIR/net, DIR/ipc
 * and DIR/uts, then removes DIR if that left it empty (it may hold the
 * pod's other files).  Absent entries are fine.  Errors: CRIO_EINTERNAL.
 */
int crio_ns_unpin(const char *dir);
/* Whether `path` is a mounted nsfs file (a pin that still holds a namespace). */
bool crio_ns_is_pinned(const char *path);

/* One interface's counters, as /proc/net/dev has them. */
typedef struct crio_ns_iface_stats {
    char name[IFNAMSIZ];
    uint64_t rx_bytes, rx_errors, tx_bytes, tx_errors;
} crio_ns_iface_stats;

/*
 * Reads the counters of the interfaces in the network namespace at
 * `netns` (loopback left out), `first` (e.g. "eth0") first if present.
 * *out is malloc'ed (NULL when *n is 0).  A thread of its own enters the
 * namespace.  Errors: CRIO_ENOTFOUND (no such namespace), CRIO_EINTERNAL.
 */
int crio_ns_net_stats(crio_ns_iface_stats **out, size_t *n, const char *netns, const char *first);

#endif
