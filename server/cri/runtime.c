/* RuntimeService: Version, Status, RuntimeConfig. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.pb-c.h"
#include "cri/cri.h"

void cri_version(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    Runtime__V1__VersionRequest *in =
        (Runtime__V1__VersionRequest *)cri_decode(&runtime__v1__version_request__descriptor, req, len, reply);
    if (!in)
        return;
    Runtime__V1__VersionResponse out = RUNTIME__V1__VERSION_RESPONSE__INIT;
    /* The kubelet API version this runtime speaks. */
    out.version = "0.1.0";
    out.runtime_name = (char *)crio_runtime_name();
    out.runtime_version = (char *)crio_version();
    out.runtime_api_version = (char *)crio_runtime_api_version();
    cri_reply_message(reply, &out.base);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* Turns the library's verbose JSON object into the CRI info map: one entry
 * per member, each value itself JSON (strings stay plain, as CRI-O does). */
static int info_entries(Runtime__V1__StatusResponse__InfoEntry ***out, size_t *n, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return -1;
    size_t count = (size_t)cJSON_GetArraySize(root);
    Runtime__V1__StatusResponse__InfoEntry **e = calloc(count ? count : 1, sizeof *e);
    size_t k = 0;
    for (cJSON *it = root->child; e && it; it = it->next, k++) {
        e[k] = malloc(sizeof **e);
        if (!e[k])
            break;
        runtime__v1__status_response__info_entry__init(e[k]);
        e[k]->key = strdup(it->string);
        e[k]->value = cJSON_IsString(it) ? strdup(it->valuestring) : cJSON_PrintUnformatted(it);
    }
    cJSON_Delete(root);
    *out = e;
    *n = k;
    return e ? 0 : -1;
}

static void info_free(Runtime__V1__StatusResponse__InfoEntry **e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i]->key);
        free(e[i]->value);
        free(e[i]);
    }
    free(e);
}

void cri_status(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__StatusRequest *in =
        (Runtime__V1__StatusRequest *)cri_decode(&runtime__v1__status_request__descriptor, req, len, reply);
    if (!in)
        return;
    crio_status *st = NULL;
    int e = crio_status_get(&st, cx->handle);
    if (e < 0) {
        cri_reply_error(reply, e);
        protobuf_c_message_free_unpacked(&in->base, NULL);
        return;
    }
    size_t nc = crio_status_condition_count(st), nh = crio_status_handler_count(st);
    Runtime__V1__RuntimeCondition conds[8], *condp[8];
    if (nc > 8)
        nc = 8;
    for (size_t i = 0; i < nc; i++) {
        runtime__v1__runtime_condition__init(&conds[i]);
        conds[i].type = (char *)crio_status_condition_type(st, i);
        conds[i].status = crio_status_condition_ok(st, i) != 0;
        conds[i].reason = (char *)crio_status_condition_reason(st, i);
        conds[i].message = (char *)crio_status_condition_message(st, i);
        condp[i] = &conds[i];
    }
    Runtime__V1__RuntimeStatus rs = RUNTIME__V1__RUNTIME_STATUS__INIT;
    rs.n_conditions = nc;
    rs.conditions = condp;

    Runtime__V1__RuntimeHandler *handlers = calloc(nh ? nh : 1, sizeof *handlers);
    Runtime__V1__RuntimeHandler **handlerp = calloc(nh ? nh : 1, sizeof *handlerp);
    Runtime__V1__RuntimeHandlerFeatures features = RUNTIME__V1__RUNTIME_HANDLER_FEATURES__INIT;
    Runtime__V1__StatusResponse out = RUNTIME__V1__STATUS_RESPONSE__INIT;
    out.status = &rs;
    Runtime__V1__RuntimeFeatures rf = RUNTIME__V1__RUNTIME_FEATURES__INIT;
    out.features = &rf;
    if (handlers && handlerp) {
        for (size_t i = 0; i < nh; i++) {
            runtime__v1__runtime_handler__init(&handlers[i]);
            handlers[i].name = (char *)crio_status_handler_name(st, i);
            handlers[i].features = &features;
            handlerp[i] = &handlers[i];
        }
        out.n_runtime_handlers = nh;
        out.runtime_handlers = handlerp;
    }
    char *json = NULL;
    if (in->verbose && crio_status_info_json(&json, st) == 0)
        info_entries(&out.info, &out.n_info, json);
    cri_reply_message(reply, &out.base);
    info_free(out.info, out.n_info);
    crio_free(json);
    free(handlers);
    free(handlerp);
    crio_status_free(st);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void cri_runtime_config(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__RuntimeConfigRequest *in = (Runtime__V1__RuntimeConfigRequest *)cri_decode(
        &runtime__v1__runtime_config_request__descriptor, req, len, reply);
    if (!in)
        return;
    Runtime__V1__LinuxRuntimeConfiguration lx = RUNTIME__V1__LINUX_RUNTIME_CONFIGURATION__INIT;
    lx.cgroup_driver = crio_cgroup_driver_get(cx->handle) == CRIO_CGROUP_DRIVER_SYSTEMD
                           ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
                           : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
    Runtime__V1__RuntimeConfigResponse out = RUNTIME__V1__RUNTIME_CONFIG_RESPONSE__INIT;
    out.linux = &lx;
    cri_reply_message(reply, &out.base);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* The kubelet sends the node's pod CIDR here; CNI plugins with the ipRanges capability use it. */
void cri_update_runtime_config(const grpc_method *m, const uint8_t *req, size_t len, grpc_reply *reply, void *ctx)
{
    cri_ctx *cx = ctx;
    Runtime__V1__UpdateRuntimeConfigRequest *in = (Runtime__V1__UpdateRuntimeConfigRequest *)cri_decode(
        &runtime__v1__update_runtime_config_request__descriptor, req, len, reply);
    if (!in)
        return;
    const Runtime__V1__RuntimeConfig *rc = in->runtime_config;
    const char *cidr = rc && rc->network_config ? rc->network_config->pod_cidr : NULL;
    /* An update without a network config changes nothing (the CRI has nothing else in it). */
    int e = cidr ? crio_network_set_pod_cidr(cx->handle, cidr) : 0;
    if (e < 0)
        cri_reply_error(reply, e);
    else
        cri_reply_empty(reply);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
