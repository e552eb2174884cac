/*
 * RuntimeService containers: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ListContainers, ContainerStatus, UpdateContainerResources,
 * ReopenContainerLog, ExecSync.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.pb-c.h"
#include "cri/cri.h"
#include "cri/pbjson.h"

void cri_container_maps(cri_arena *a, ProtobufCMessage *msg, const crio_container *ctr)
{
    size_t n = crio_container_label_count(ctr);
    ProtobufCMessage **e = cri_map_set(a, msg, "labels", n);
    for (size_t i = 0; e && i < n; i++)
        cri_map_put(e[i], crio_container_label_key(ctr, i), crio_container_label_value(ctr, i));
    n = crio_container_annotation_count(ctr);
    e = cri_map_set(a, msg, "annotations", n);
    for (size_t i = 0; e && i < n; i++)
        cri_map_put(e[i], crio_container_annotation_key(ctr, i), crio_container_annotation_value(ctr, i));
}

Runtime__V1__ContainerMetadata *cri_container_metadata(cri_arena *a, const crio_container *ctr)
{
    Runtime__V1__ContainerMetadata *md = cri_new(a, &runtime__v1__container_metadata__descriptor);
    if (md) {
        md->name = (char *)crio_container_name(ctr);
        md->attempt = crio_container_attempt(ctr);
    }
    return md;
}

static Runtime__V1__ContainerState ctr_state(const crio_container *ctr)
{
    switch (crio_container_state_get(ctr)) {
    case CRIO_CONTAINER_CREATED: return RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
    case CRIO_CONTAINER_RUNNING: return RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
    case CRIO_CONTAINER_EXITED: return RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
    default: return RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
    }
}

/* The image as the config named it (the kubelet shows it; image_ref says what it resolved to). */
static Runtime__V1__ImageSpec *ctr_image(cri_arena *a, const crio_container *ctr)
{
    Runtime__V1__ImageSpec *img = cri_new(a, &runtime__v1__image_spec__descriptor);
    if (img) {
        img->image = (char *)crio_container_image(ctr);
        img->user_specified_image = img->image;
    }
    return img;
}

static void free_message(void *m)
{
    protobuf_c_message_free_unpacked(m, NULL);
}

/* A Mount message from one JSON mount, kept by the arena; NULL if it does not read as one. */
static Runtime__V1__Mount *mount_from(cri_arena *a, const cJSON *json)
{
    ProtobufCMessage *m = NULL;
    int e = pbjson_from_cjson(&m, &runtime__v1__mount__descriptor, json, NULL, 0);
    if (e == PBJSON_ENOMEM)
        a->oom = true;
    if (e < 0 || cri_adopt(a, m, free_message) < 0)
        return NULL;
    return (Runtime__V1__Mount *)m;
}

/*
 * The mounts from the library's CRI JSON (an array, or an object with a
 * "mounts" array).  Status is best effort here: a mount that does not read
 * as a CRI Mount is left out rather than failing the whole status.
 */
static void ctr_mounts(cri_arena *a, Runtime__V1__ContainerStatus *st, const char *json)
{
    cJSON *root = json && *json ? cJSON_Parse(json) : NULL;
    const cJSON *arr = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "mounts") : root;
    size_t n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    Runtime__V1__Mount **v = n ? cri_ptrs(a, n) : NULL;
    size_t k = 0;
    for (const cJSON *it = v ? arr->child : NULL; it; it = it->next)
        if ((v[k] = mount_from(a, it)))
            k++;
    st->n_mounts = k;
    st->mounts = v;
    cJSON_Delete(root);
}

/*
 * The resources that apply now (the config's linux.resources, which
 * UpdateContainerResources replaces): the kubelet's in-place resize reads
 * them back.  Only a full status carries the config; a list's does not.
 */
static void ctr_resources(cri_arena *a, Runtime__V1__ContainerStatus *st, const char *config_json)
{
    cJSON *root = config_json && *config_json ? cJSON_Parse(config_json) : NULL;
    cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(root, "linux");
    cJSON *res = cJSON_GetObjectItemCaseSensitive(linux_, "resources");
    /* ContainerResources { linux: LinuxContainerResources }, and res is the latter. */
    cJSON *wrap = cJSON_IsObject(res) ? cJSON_CreateObject() : NULL;
    if (wrap && cJSON_AddItemReferenceToObject(wrap, "linux", res)) {
        ProtobufCMessage *m = NULL;
        int e = pbjson_from_cjson(&m, &runtime__v1__container_resources__descriptor, wrap, NULL, 0);
        if (e == PBJSON_ENOMEM)
            a->oom = true;
        if (e == 0 && cri_adopt(a, m, free_message) == 0)
            st->resources = (Runtime__V1__ContainerResources *)m;
    }
    cJSON_Delete(wrap);
    cJSON_Delete(root);
}

Runtime__V1__ContainerStatus *cri_container_status_build(cri_arena *a, const crio_container *ctr)
{
    Runtime__V1__ContainerStatus *st = cri_new(a, &runtime__v1__container_status__descriptor);
    if (!st)
        return NULL;
    st->id = (char *)crio_container_id(ctr);
    st->metadata = cri_container_metadata(a, ctr);
    st->state = ctr_state(ctr);
    st->created_at = crio_container_created_at(ctr);
    st->started_at = crio_container_started_at(ctr);
    st->finished_at = crio_container_finished_at(ctr);
    st->exit_code = crio_container_exit_code(ctr);
    st->image = ctr_image(a, ctr);
    st->image_ref = (char *)crio_container_image_ref(ctr);
    st->image_id = (char *)crio_container_image_id(ctr);
    st->reason = (char *)crio_container_reason(ctr);
    st->message = (char *)crio_container_message(ctr);
    cri_container_maps(a, &st->base, ctr);
    ctr_mounts(a, st, crio_container_mounts_json(ctr));
    ctr_resources(a, st, crio_container_config_json(ctr));
    st->log_path = (char *)crio_container_log_path(ctr);
    return st;
}

int cri_pod_container_statuses(cri_arena *a, crio *c, const char *pod_id, Runtime__V1__ContainerStatus ***out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    crio_container_filter *f = NULL;
    crio_container_list *list = NULL;
    int e = crio_container_filter_new(&f);
    if (e == 0)
        e = crio_container_filter_set_pod_id(f, pod_id);
    if (e == 0)
        e = crio_container_list_get(&list, c, f);
    crio_container_filter_free(f);
    if (e == CRIO_ENOTFOUND) /* the pod went away meanwhile: it has no containers */
        return 0;
    if (e < 0)
        return e;
    if (cri_adopt(a, list, cri_free_container_list) < 0)
        return CRIO_ENOMEM;
    size_t count = crio_container_list_count(list);
    Runtime__V1__ContainerStatus **v = count ? cri_ptrs(a, count) : NULL;
    for (size_t i = 0; v && i < count; i++)
        if (!(v[i] = cri_container_status_build(a, crio_container_list_at(list, i))))
            return CRIO_ENOMEM;
    if (count && !v)
        return CRIO_ENOMEM;
    *out = v;
    *n = count;
    return 0;
}

/* ---- CreateContainer ---- */

/* Builds a library config from a CRI message: its JSON form is the library's configuration format. */
static int ctr_config_from(crio_container_config **out, const ProtobufCMessage *msg, grpc_reply *reply)
{
    char *json = pbjson_to_json(msg);
    if (!json || crio_container_config_new(out) < 0) {
        free(json);
        cri_reply_status(reply, GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return -1;
    }
    int e = crio_container_config_update_json(*out, json);
    free(json);
    if (e < 0) {
        cri_reply_error(reply, e);
        crio_container_config_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static void create_ctr(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__CreateContainerRequest *in = (const Runtime__V1__CreateContainerRequest *)msg;
    if (!in->config) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "CreateContainer: no config given");
        return;
    }
    crio_container_config *cfg = NULL;
    if (ctr_config_from(&cfg, &in->config->base, reply) < 0)
        return;
    /* in->sandbox_config repeats what the pod was run with: the library has it already. */
    char *id = NULL;
    int e = crio_container_create(&id, c, in->pod_sandbox_id, cfg);
    crio_container_config_free(cfg);
    if (e < 0) {
        cri_reply_error(reply, e);
        return;
    }
    Runtime__V1__CreateContainerResponse resp = RUNTIME__V1__CREATE_CONTAINER_RESPONSE__INIT;
    resp.container_id = id;
    cri_reply_message(reply, &resp.base);
    crio_free(id);
}

void cri_create_container(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__create_container_request__descriptor, "pod_sandbox_id",
              create_ctr);
}

/* ---- StartContainer, StopContainer, RemoveContainer, ReopenContainerLog ---- */

void cri_start_container(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_id_call(req, len, reply, ctx, &runtime__v1__start_container_request__descriptor, "container_id",
                crio_container_start);
}

static void stop_ctr(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__StopContainerRequest *in = (const Runtime__V1__StopContainerRequest *)msg;
    /* A negative grace period means none, as 0 does. */
    int e = crio_container_stop(c, in->container_id, in->timeout > 0 ? in->timeout : 0);
    if (e < 0)
        cri_reply_error(reply, e);
    else
        cri_reply_empty(reply);
}

void cri_stop_container(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__stop_container_request__descriptor, "container_id", stop_ctr);
}

void cri_remove_container(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_id_call(req, len, reply, ctx, &runtime__v1__remove_container_request__descriptor, "container_id",
                crio_container_remove);
}

void cri_reopen_container_log(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_id_call(req, len, reply, ctx, &runtime__v1__reopen_container_log_request__descriptor,
                "container_id", crio_container_reopen_log);
}

/* ---- ListContainers ---- */

static crio_container_state state_from_cri(Runtime__V1__ContainerState s)
{
    switch (s) {
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED: return CRIO_CONTAINER_CREATED;
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING: return CRIO_CONTAINER_RUNNING;
    case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED: return CRIO_CONTAINER_EXITED;
    default: return CRIO_CONTAINER_UNKNOWN;
    }
}

/* The library filter for a CRI one (NULL filter: *out stays NULL, everything matches). */
static int ctr_filter(crio_container_filter **out, const Runtime__V1__ContainerFilter *f)
{
    *out = NULL;
    if (!f)
        return 0;
    int e = crio_container_filter_new(out);
    if (e == 0 && *f->id)
        e = crio_container_filter_set_id(*out, f->id);
    if (e == 0 && *f->pod_sandbox_id)
        e = crio_container_filter_set_pod_id(*out, f->pod_sandbox_id);
    if (e == 0 && f->state)
        e = crio_container_filter_set_state(*out, state_from_cri(f->state->state));
    for (size_t i = 0; e == 0 && i < f->n_label_selector; i++)
        e = crio_container_filter_add_label(*out, f->label_selector[i]->key, f->label_selector[i]->value);
    return e;
}

/* Item `i` of a crio_container_list. */
static ProtobufCMessage *ctr_item(cri_arena *a, const void *list, size_t i)
{
    const crio_container *ctr = crio_container_list_at(list, i);
    Runtime__V1__Container *it = cri_new(a, &runtime__v1__container__descriptor);
    if (!it)
        return NULL;
    it->id = (char *)crio_container_id(ctr);
    it->pod_sandbox_id = (char *)crio_container_pod_id(ctr);
    it->metadata = cri_container_metadata(a, ctr);
    it->image = ctr_image(a, ctr);
    it->image_ref = (char *)crio_container_image_ref(ctr);
    it->image_id = (char *)crio_container_image_id(ctr);
    it->state = ctr_state(ctr);
    it->created_at = crio_container_created_at(ctr);
    cri_container_maps(a, &it->base, ctr);
    return &it->base;
}

static void list_ctrs(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ListContainersRequest *in = (const Runtime__V1__ListContainersRequest *)msg;
    Runtime__V1__ListContainersResponse resp = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
    crio_container_filter *f = NULL;
    crio_container_list *list = NULL;
    int e = ctr_filter(&f, in->filter);
    if (e == 0)
        e = crio_container_list_get(&list, c, f);
    crio_container_filter_free(f);
    cri_reply_list(reply, e, &resp.base, "containers", e == 0 ? crio_container_list_count(list) : 0, ctr_item,
                   list);
    crio_container_list_free(list);
}

void cri_list_containers(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__list_containers_request__descriptor, NULL, list_ctrs);
}

/* ---- ContainerStatus ---- */

static void ctr_status(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ContainerStatusRequest *in = (const Runtime__V1__ContainerStatusRequest *)msg;
    crio_container *ctr = NULL;
    int e = crio_container_get(&ctr, c, in->container_id);
    if (e < 0) {
        cri_reply_error(reply, e);
        return;
    }
    cri_arena a = { 0 };
    Runtime__V1__ContainerStatusResponse resp = RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT;
    resp.status = cri_container_status_build(&a, ctr);
    if (in->verbose)
        cri_info_map(&a, &resp.base, crio_container_info_json(ctr));
    cri_reply_built(reply, &a, &resp.base);
    crio_container_free(ctr);
}

void cri_container_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__container_status_request__descriptor, "container_id", ctr_status);
}

/* ---- UpdateContainerResources ---- */

/* The request's resources, as the `linux.resources` of a container config. */
static void update_resources(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__UpdateContainerResourcesRequest *in = (const Runtime__V1__UpdateContainerResourcesRequest *)msg;
    Runtime__V1__LinuxContainerConfig lx;
    runtime__v1__linux_container_config__init(&lx);
    lx.resources = in->linux;
    Runtime__V1__ContainerConfig cc;
    runtime__v1__container_config__init(&cc);
    cc.linux = &lx;
    crio_container_config *cfg = NULL;
    if (ctr_config_from(&cfg, &cc.base, reply) < 0)
        return;
    int e = crio_container_update_resources(c, in->container_id, cfg);
    crio_container_config_free(cfg);
    if (e < 0)
        cri_reply_error(reply, e);
    else
        cri_reply_empty(reply);
}

void cri_update_container_resources(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply,
                                    void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__update_container_resources_request__descriptor, "container_id",
              update_resources);
}

/* ---- ExecSync ---- */

static void exec_sync(crio *c, const ProtobufCMessage *msg, grpc_reply *reply)
{
    const Runtime__V1__ExecSyncRequest *in = (const Runtime__V1__ExecSyncRequest *)msg;
    if (in->n_cmd == 0 || !*in->cmd[0]) {
        cri_reply_status(reply, GRPC_INVALID_ARGUMENT, "ExecSync: no command given");
        return;
    }
    crio_exec_result *r = NULL;
    /* A timeout of 0 (or less) means none, as the CRI says. */
    int e = crio_container_exec_sync(&r, c, in->container_id, (const char *const *)in->cmd, in->n_cmd,
                                     in->timeout > 0 ? in->timeout : 0);
    if (e < 0) {
        cri_reply_error(reply, e); /* CRIO_ETIMEDOUT: DEADLINE_EXCEEDED, which the kubelet's probes expect */
        return;
    }
    Runtime__V1__ExecSyncResponse resp = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
    resp.stdout.data = (uint8_t *)crio_exec_result_stdout(r, &resp.stdout.len);
    resp.stderr.data = (uint8_t *)crio_exec_result_stderr(r, &resp.stderr.len);
    resp.exit_code = crio_exec_result_exit_code(r);
    cri_reply_message(reply, &resp.base);
    crio_exec_result_free(r);
}

void cri_exec_sync(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_serve(req, len, reply, ctx, &runtime__v1__exec_sync_request__descriptor, "container_id", exec_sync);
}
