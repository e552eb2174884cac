/* The library handle as the library's modules see it. */
#ifndef CRIO_HANDLE_INTERNAL_H
#define CRIO_HANDLE_INTERNAL_H

#include <crio/handle.h>
#include <pthread.h>

#include "config/registries.h"
#include "storage/store.h"

struct crio {
    pthread_rwlock_t config_lock; /* guards cfg and registries against crio_reload */
    crio_config *cfg;
    crio_registries *registries;  /* registries.conf */
    crio_store *store;
    char *root;
    char *runroot;
    int lock_fd;
    struct crio_pods *pods;       /* pods and containers (lib/pod) */
    struct crio_net *net;         /* CNI networking (lib/network) */
};

/*
 * Resolves a runtime handler's binary: its runtime_path, or its name looked
 * up in PATH (as CRI-O does).  The caller frees *out.
 * Errors: CRIO_ENOTFOUND naming the handler and where it looked.
 */
int crio_runtime_resolve_path(char **out, const crio_config *cfg, const char *handler);

#endif
