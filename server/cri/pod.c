/* RuntimeService pods: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.pb-c.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

void cri_pod_maps(cri_arena *a, ProtobufCMessage *msg, const crio_pod *pod)
{
    size_t n = crio_pod_label_count(pod);
    ProtobufCMessage **e = cri_map_set(a, msg, "labels", n);
    for (size_t i = 0; e && i < n; i++)
        cri_map_put(e[i], crio_pod_label_key(pod, i), crio_pod_label_value(pod, i));
    n = crio_pod_annotation_count(pod);
    e = cri_map_set(a, msg, "annotations", n);
    for (size_t i = 0; e && i < n; i++)
        cri_map_put(e[i], crio_pod_annotation_key(pod, i), crio_pod_annotation_value(pod, i));
}

Runtime__V1__PodSandboxMetadata *cri_pod_metadata(cri_arena *a, const crio_pod *pod)
{
    Runtime__V1__PodSandboxMetadata *md = cri_new(a, &runtime__v1__pod_sandbox_metadata__descriptor);
    if (md) {
        md->name = (char *)crio_pod_name(pod);
        md->uid = (char *)crio_pod_uid(pod);
        md->namespace_ = (char *)crio_pod_namespace(pod);
        md->attempt = crio_pod_attempt(pod);
    }
    return md;
}

static Runtime__V1__PodSandboxState pod_state(const crio_pod *pod)
{
    return crio_pod_state_get(pod) == CRIO_POD_READY ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                                     : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
}

/* The first IP is the pod's IP; the others (another family) are additional. */
static Runtime__V1__PodSandboxNetworkStatus *pod_network(cri_arena *a, const crio_pod *pod)
{
    Runtime__V1__PodSandboxNetworkStatus *net = cri_new(a, &runtime__v1__pod_sandbox_network_status__descriptor);
    size_t n = crio_pod_ip_count(pod);
    if (!net || n == 0)
        return net;
    net->ip = (char *)crio_pod_ip(pod, 0);
    Runtime__V1__PodIP **ips = cri_ptrs(a, n - 1);
    for (size_t i = 1; ips && i < n; i++) {
        if (!(ips[i - 1] = cri_new(a, &runtime__v1__pod_ip__descriptor)))
            return net;
        ips[i - 1]->ip = (char *)crio_pod_ip(pod, i);
    }
    if (ips) {
        net->n_additional_ips = n - 1;
        net->additional_ips = ips;
    }
    return net;
}

static Runtime__V1__LinuxPodSandboxStatus *pod_linux(cri_arena *a, const crio_pod *pod)
{
    Runtime__V1__LinuxPodSandboxStatus *lx = cri_new(a, &runtime__v1__linux_pod_sandbox_status__descriptor);
    Runtime__V1__Namespace *ns = cri_new(a, &runtime__v1__namespace__descriptor);
    Runtime__V1__NamespaceOption *opt = cri_new(a, &runtime__v1__namespace_option__descriptor);
    if (!lx || !ns || !opt)
        return lx;
    /* crio_ns_mode has the CRI NamespaceMode's values. */
    opt->network = (Runtime__V1__NamespaceMode)crio_pod_namespace_mode(pod, CRIO_NS_NETWORK);
    opt->pid = (Runtime__V1__NamespaceMode)crio_pod_namespace_mode(pod, CRIO_NS_PID);
    opt->ipc = (Runtime__V1__NamespaceMode)crio_pod_namespace_mode(pod, CRIO_NS_IPC);
    ns->options = opt;
    lx->namespaces = ns;
    return lx;
}

Runtime__V1__PodSandboxStatus *cri_pod_status_build(cri_arena *a, const crio_pod *pod)
{
    Runtime__V1__PodSandboxStatus *st = cri_new(a, &runtime__v1__pod_sandbox_status__descriptor);
    if (!st)
        return NULL;
    st->id = (char *)crio_pod_id(pod);
    st->metadata = cri_pod_metadata(a, pod);
    st->state = pod_state(pod);
    st->created_at = crio_pod_created_at(pod);
    st->network = pod_network(a, pod);
    st->linux = pod_linux(a, pod);
    cri_pod_maps(a, &st->base, pod);
    st->runtime_handler = (char *)crio_pod_runtime_handler(pod);
    return st;
}

/* ---- RunPodSandbox ---- */

/* The CRI config, in its JSON form, is the library's own configuration format. */
static void run_pod(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__RunPodSandboxRequest *in = (const Runtime__V1__RunPodSandboxRequest *)msg;
    if (!in->config) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "RunPodSandbox: no config given");
        return;
    }
    char *json = pbjson_to_json(&in->config->base);
    crio_pod_config *cfg = NULL;
    if (!json || crio_pod_config_new(&cfg) < 0) {
        free(json);
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    char *id = NULL;
    int e = crio_pod_config_update_json(cfg, json);
    if (e == 0)
        e = crio_pod_run(&id, c, cfg, *in->runtime_handler ? in->runtime_handler : NULL);
    free(json);
    crio_pod_config_free(cfg);
    if (e < 0) {
        cri_reply_error(reply, e);
        return;
    }
    Runtime__V1__RunPodSandboxResponse resp = RUNTIME__V1__RUN_POD_SANDBOX_RESPONSE__INIT;
    resp.pod_sandbox_id = id;
    cri_reply_message(reply, &resp.base);
    crio_free(id);
}

void cri_run_pod_sandbox(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__run_pod_sandbox_request__descriptor, NULL, run_pod);
}

/* ---- StopPodSandbox, RemovePodSandbox ---- */

/* The CRI wants stopping idempotent, down to a pod that is already gone (as CRI-O answers). */
static int stop_pod(crio *c, const char *id)
{
    int e = crio_pod_stop(c, id);
    return e == CRIO_ENOTFOUND ? 0 : e;
}

void cri_stop_pod_sandbox(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_id_call(req, len, reply, ctx, &runtime__v1__stop_pod_sandbox_request__descriptor, "pod_sandbox_id",
                stop_pod);
}

void cri_remove_pod_sandbox(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_id_call(req, len, reply, ctx, &runtime__v1__remove_pod_sandbox_request__descriptor,
                "pod_sandbox_id", crio_pod_remove);
}

/* ---- PodSandboxStatus ---- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pod_status(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__PodSandboxStatusRequest *in = (const Runtime__V1__PodSandboxStatusRequest *)msg;
    crio_pod *pod = NULL;
    int e = crio_pod_get(&pod, c, in->pod_sandbox_id);
    if (e < 0) {
        cri_reply_error(reply, e);
        return;
    }
    cri_arena a = { 0 };
    Runtime__V1__PodSandboxStatusResponse resp = RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT;
    resp.status = cri_pod_status_build(&a, pod);
    if (in->verbose)
        cri_info_map(&a, &resp.base, crio_pod_info_json(pod));
    /* The evented PLEG reads the containers' statuses from here, stamped with the time they were read. */
    resp.timestamp = now_ns();
    e = cri_pod_container_statuses(&a, c, crio_pod_id(pod), &resp.containers_statuses, &resp.n_containers_statuses);
    if (e < 0 && !a.oom) {
        cri_reply_error(reply, e);
        cri_arena_free(&a);
    } else {
        cri_reply_built(reply, &a, &resp.base);
    }
    crio_pod_free(pod);
}

void cri_pod_sandbox_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__pod_sandbox_status_request__descriptor, "pod_sandbox_id",
              pod_status);
}

/* ---- ListPodSandbox ---- */

/* The library filter for a CRI one (NULL filter: *out stays NULL, everything matches). */
static int pod_filter(crio_pod_filter **out, const Runtime__V1__PodSandboxFilter *f)
{
    *out = NULL;
    if (!f)
        return 0;
    int e = crio_pod_filter_new(out);
    if (e == 0 && *f->id)
        e = crio_pod_filter_set_id(*out, f->id);
    if (e == 0 && f->state)
        e = crio_pod_filter_set_state(*out, f->state->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
                                                ? CRIO_POD_READY
                                                : CRIO_POD_NOTREADY);
    for (size_t i = 0; e == 0 && i < f->n_label_selector; i++)
        e = crio_pod_filter_add_label(*out, f->label_selector[i]->key, f->label_selector[i]->value);
    return e;
}

/* Item `i` of a crio_pod_list. */
static ProtobufCMessage *pod_item(cri_arena *a, const void *list, size_t i)
{
    const crio_pod *pod = crio_pod_list_at(list, i);
    Runtime__V1__PodSandbox *p = cri_new(a, &runtime__v1__pod_sandbox__descriptor);
    if (!p)
        return NULL;
    p->id = (char *)crio_pod_id(pod);
    p->metadata = cri_pod_metadata(a, pod);
    p->state = pod_state(pod);
    p->created_at = crio_pod_created_at(pod);
    cri_pod_maps(a, &p->base, pod);
    p->runtime_handler = (char *)crio_pod_runtime_handler(pod);
    return &p->base;
}

static void list_pods(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ListPodSandboxRequest *in = (const Runtime__V1__ListPodSandboxRequest *)msg;
    Runtime__V1__ListPodSandboxResponse resp = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
    crio_pod_filter *f = NULL;
    crio_pod_list *list = NULL;
    int e = pod_filter(&f, in->filter);
    if (e == 0)
        e = crio_pod_list_get(&list, c, f);
    crio_pod_filter_free(f);
    cri_reply_list(reply, e, &resp.base, "items", e == 0 ? crio_pod_list_count(list) : 0, pod_item, list);
    crio_pod_list_free(list);
}

void cri_list_pod_sandbox(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__list_pod_sandbox_request__descriptor, NULL, list_pods);
}
