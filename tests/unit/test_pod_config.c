/* Pod and container config builders: normalisation, validation, merging, setters, round trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "pod/config.h"
#include "spec/spec.h"

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static crio_pod_config *pod_from(const char *json)
{
    crio_pod_config *cfg = NULL;
    cr_assert_eq(crio_pod_config_new(&cfg), 0);
    if (json)
        cr_assert_eq(crio_pod_config_update_json(cfg, json), 0, "%s", errmsg());
    return cfg;
}

static crio_container_config *ctr_from(const char *json)
{
    crio_container_config *cfg = NULL;
    cr_assert_eq(crio_container_config_new(&cfg), 0);
    if (json)
        cr_assert_eq(crio_container_config_update_json(cfg, json), 0, "%s", errmsg());
    return cfg;
}

static const cJSON *pget(const crio_pod_config *cfg, const char *path)
{
    return crio_spec_cri_get(crio_pod_config_json_tree(cfg), path);
}

static const cJSON *cget(const crio_container_config *cfg, const char *path)
{
    return crio_spec_cri_get(crio_container_config_json_tree(cfg), path);
}

static double num(const cJSON *v)
{
    cr_assert(cJSON_IsNumber(v), "want a number");
    return v->valuedouble;
}

static const char *str(const cJSON *v)
{
    cr_assert(cJSON_IsString(v), "want a string");
    return v->valuestring;
}

/* Expects an update to fail with CRIO_EINVAL and exactly `message`. */
static void expect_ctr_error(const char *json, const char *message)
{
    crio_container_config *cfg = ctr_from(NULL);
    cr_assert_eq(crio_container_config_update_json(cfg, json), CRIO_EINVAL, "%s", json);
    if (message)
        cr_assert_str_eq(errmsg(), message);
    crio_container_config_free(cfg);
}

Test(pod_config, new_is_empty_object)
{
    crio_pod_config *cfg = pod_from(NULL);
    char *json = NULL;
    cr_assert_eq(crio_pod_config_to_json(&json, cfg), 0);
    cr_assert_str_eq(json, "{}");
    crio_free(json);
    crio_pod_config_free(cfg);
    crio_pod_config_free(NULL);
    crio_container_config_free(NULL);
}

Test(pod_config, camel_case_keys_become_proto_names)
{
    crio_pod_config *cfg = pod_from(
        "{\"metadata\":{\"name\":\"web\",\"uid\":\"u1\",\"namespace\":\"default\",\"attempt\":2},"
        "\"logDirectory\":\"/var/log/pods/x\",\"dnsConfig\":{\"servers\":[\"10.0.0.10\"],\"searches\":[\"svc\"]},"
        "\"portMappings\":[{\"protocol\":\"UDP\",\"containerPort\":53,\"hostPort\":5353,\"hostIp\":\"127.0.0.1\"}],"
        "\"linux\":{\"cgroupParent\":\"/kubepods\",\"securityContext\":{\"namespaceOptions\":{\"network\":\"NODE\","
        "\"pid\":\"CONTAINER\"},\"runAsUser\":{\"value\":\"1000\"},\"supplementalGroups\":[\"5\",6]}}}");
    cr_assert_str_eq(str(pget(cfg, "metadata.name")), "web");
    cr_assert_eq(num(pget(cfg, "metadata.attempt")), 2);
    cr_assert_str_eq(str(pget(cfg, "log_directory")), "/var/log/pods/x");
    cr_assert_null(pget(cfg, "logDirectory"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(pget(cfg, "dns_config.servers"), 0)), "10.0.0.10");
    const cJSON *pm = cJSON_GetArrayItem(pget(cfg, "port_mappings"), 0);
    cr_assert_eq(num(crio_spec_cri_get(pm, "protocol")), 1);
    cr_assert_eq(num(crio_spec_cri_get(pm, "container_port")), 53);
    cr_assert_eq(num(crio_spec_cri_get(pm, "host_port")), 5353);
    cr_assert_str_eq(str(crio_spec_cri_get(pm, "host_ip")), "127.0.0.1");
    cr_assert_str_eq(str(pget(cfg, "linux.cgroup_parent")), "/kubepods");
    cr_assert_eq(num(pget(cfg, "linux.security_context.namespace_options.network")), CRIO_NS_NODE);
    cr_assert_eq(num(pget(cfg, "linux.security_context.namespace_options.pid")), CRIO_NS_CONTAINER);
    cr_assert_eq(num(pget(cfg, "linux.security_context.run_as_user.value")), 1000);
    const cJSON *groups = pget(cfg, "linux.security_context.supplemental_groups");
    cr_assert_eq(num(cJSON_GetArrayItem(groups, 0)), 5);
    cr_assert_eq(num(cJSON_GetArrayItem(groups, 1)), 6);
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_NETWORK), CRIO_NS_NODE);
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_IPC), CRIO_NS_POD);
    crio_pod_config_free(cfg);
}

Test(pod_config, irregular_proto_names)
{
    /* api.proto spells these fields in camelCase or with capitals already. */
    crio_container_config *cfg = ctr_from(
        "{\"mounts\":[{\"containerPath\":\"/a\",\"hostPath\":\"/b\",\"uidMappings\":[{\"hostId\":1,\"containerId\":0,"
        "\"length\":5}]}],\"CDIDevices\":[{\"name\":\"vendor.com/gpu=0\"}]}");
    const cJSON *m = cJSON_GetArrayItem(cget(cfg, "mounts"), 0);
    cr_assert_str_eq(str(crio_spec_cri_get(m, "container_path")), "/a");
    const cJSON *idm = cJSON_GetArrayItem(crio_spec_cri_get(m, "uidMappings"), 0);
    cr_assert_eq(num(crio_spec_cri_get(idm, "host_id")), 1);
    cr_assert_eq(num(crio_spec_cri_get(idm, "length")), 5);
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(cget(cfg, "CDI_devices"), 0), "name"), "vendor.com/gpu=0");
    crio_container_config_free(cfg);
}

Test(pod_config, map_keys_are_left_alone)
{
    crio_pod_config *cfg = pod_from("{\"labels\":{\"someLabel\":\"a\",\"app.kubernetes.io/name\":\"x\"},"
                                    "\"annotations\":{\"fooBar\":\"b\"},"
                                    "\"linux\":{\"sysctls\":{\"net.ipv4.ipForward\":\"1\"}}}");
    cr_assert_str_eq(str(pget(cfg, "labels.someLabel")), "a");
    cr_assert_null(pget(cfg, "labels.some_label"));
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(pget(cfg, "labels"), "app.kubernetes.io/name")), "x");
    cr_assert_str_eq(str(pget(cfg, "annotations.fooBar")), "b");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(pget(cfg, "linux.sysctls"), "net.ipv4.ipForward")), "1");
    crio_pod_config_free(cfg);

    crio_container_config *c = ctr_from("{\"linux\":{\"resources\":{\"unified\":{\"memory.highLimit\":\"1\"}}},"
                                        "\"image\":{\"annotations\":{\"aB\":\"c\"}}}");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(cget(c, "linux.resources.unified"), "memory.highLimit")),
                     "1");
    cr_assert_str_eq(str(cget(c, "image.annotations.aB")), "c");
    crio_container_config_free(c);
}

Test(pod_config, int64_as_strings_and_numbers)
{
    crio_container_config *cfg = ctr_from(
        "{\"linux\":{\"resources\":{\"memoryLimitInBytes\":\"134217728\",\"cpuQuota\":\"-1\",\"cpu_period\":100000,"
        "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":\"4194304\"}]}},\"metadata\":{\"attempt\":\"3\"}}");
    cr_assert_eq(num(cget(cfg, "linux.resources.memory_limit_in_bytes")), 134217728);
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_quota")), -1);
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_period")), 100000);
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(cget(cfg, "linux.resources.hugepage_limits"), 0), "limit", 0), 4194304);
    cr_assert_eq(num(cget(cfg, "metadata.attempt")), 3);
    cr_assert_eq(crio_container_config_get_int(cfg, "linux.resources.memory_limit_in_bytes", 0), 134217728);
    crio_container_config_free(cfg);

    expect_ctr_error("{\"linux\":{\"resources\":{\"cpu_shares\":\"12x\"}}}", NULL);
    cr_assert(strstr(errmsg(), "linux.resources.cpu_shares"), "%s", errmsg());
    /* Beyond 2^53 a JSON number would round: refused, not corrupted. */
    expect_ctr_error("{\"linux\":{\"resources\":{\"memory_limit_in_bytes\":\"9007199254740993\"}}}", NULL);
    cr_assert(strstr(errmsg(), "out of range"), "%s", errmsg());
    expect_ctr_error("{\"metadata\":{\"attempt\":-1}}", NULL);
    expect_ctr_error("{\"metadata\":{\"attempt\":1.5}}", NULL);
    crio_pod_config *pod = pod_from(NULL);
    cr_assert_eq(crio_pod_config_update_json(pod, "{\"portMappings\":[{\"containerPort\":3000000000}]}"), CRIO_EINVAL);
    cr_assert(strstr(errmsg(), "port_mappings[0].container_port"), "%s", errmsg());
    crio_pod_config_free(pod);
}

Test(pod_config, enums_by_name_or_number)
{
    crio_container_config *cfg = ctr_from(
        "{\"mounts\":[{\"container_path\":\"/a\",\"host_path\":\"/b\",\"propagation\":\"PROPAGATION_BIDIRECTIONAL\"},"
        "{\"container_path\":\"/c\",\"host_path\":\"/d\",\"propagation\":1}],\"stopSignal\":\"SIGQUIT\","
        "\"linux\":{\"securityContext\":{\"namespaceOptions\":{\"pid\":\"TARGET\",\"ipc\":2},"
        "\"seccomp\":{\"profileType\":\"Localhost\",\"localhostRef\":\"x.json\"},"
        "\"supplementalGroupsPolicy\":\"Strict\"}}}");
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(cget(cfg, "mounts"), 0), "propagation", -1), 2);
    cr_assert_eq(crio_container_config_get_int(cfg, "stop_signal", 0), 18);
    cr_assert_eq(crio_container_config_get_int(cfg, "linux.security_context.namespace_options.pid", 0), 3);
    cr_assert_eq(crio_container_config_get_int(cfg, "linux.security_context.namespace_options.ipc", 0), 2);
    cr_assert_eq(crio_container_config_get_int(cfg, "linux.security_context.seccomp.profile_type", 0), 2);
    cr_assert_eq(crio_container_config_get_int(cfg, "linux.security_context.supplemental_groups_policy", 0), 1);
    const cJSON *second = cJSON_GetArrayItem(cget(cfg, "mounts"), 1);
    cr_assert_eq(crio_json_int(second, "propagation", -1), 1);
    crio_container_config_free(cfg);

    expect_ctr_error("{\"mounts\":[{\"propagation\":\"PROPAGATION_SIDEWAYS\"}]}", NULL);
    cr_assert(strstr(errmsg(), "field mounts[0].propagation: unknown value \"PROPAGATION_SIDEWAYS\""), "%s",
              errmsg());
    expect_ctr_error("{\"mounts\":[{\"propagation\":7}]}", NULL);
    expect_ctr_error("{\"mounts\":[{\"propagation\":true}]}", NULL);
}

Test(pod_config, type_errors_name_the_field)
{
    expect_ctr_error("{\"linux\":{\"resources\":{\"memory_limit_in_bytes\":true}}}",
                     "container config: field linux.resources.memory_limit_in_bytes: want a number");
    expect_ctr_error("{\"linux\":{\"resources\":{\"memoryLimitInBytes\":{}}}}",
                     "container config: field linux.resources.memory_limit_in_bytes: want a number");
    expect_ctr_error("{\"envs\":[{\"key\":\"A\"},{\"key\":1}]}", "container config: field envs[1].key: want a string");
    expect_ctr_error("{\"tty\":\"yes\"}", "container config: field tty: want a bool");
    expect_ctr_error("{\"command\":\"sh\"}", "container config: field command: want an array");
    expect_ctr_error("{\"command\":[null]}", "container config: field command[0]: want a string");
    expect_ctr_error("{\"linux\":[]}", "container config: field linux: want an object");
    expect_ctr_error("{\"labels\":{\"a\":1}}", "container config: field labels.a: want a string");
    expect_ctr_error("[1]", "container config: want a JSON object");
    expect_ctr_error("{\"x\":", NULL);
    cr_assert(strstr(errmsg(), "invalid JSON"), "%s", errmsg());

    crio_pod_config *pod = pod_from(NULL);
    cr_assert_eq(crio_pod_config_update_json(pod, "{\"hostname\":5}"), CRIO_EINVAL);
    cr_assert_str_eq(errmsg(), "pod config: field hostname: want a string");
    cr_assert_eq(crio_pod_config_update_json(pod, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_update_json(NULL, "{}"), CRIO_EINVAL);
    crio_pod_config_free(pod);
}

Test(pod_config, failed_update_changes_nothing)
{
    crio_container_config *cfg = ctr_from("{\"metadata\":{\"name\":\"a\"},\"tty\":true}");
    char *before = NULL, *after = NULL;
    cr_assert_eq(crio_container_config_to_json(&before, cfg), 0);
    cr_assert_eq(crio_container_config_update_json(cfg, "{\"metadata\":{\"name\":\"b\"},\"stdin\":1}"), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_to_json(&after, cfg), 0);
    cr_assert_str_eq(before, after);
    crio_free(before);
    crio_free(after);
    crio_container_config_free(cfg);
}

Test(pod_config, deep_merge)
{
    crio_container_config *cfg =
        ctr_from("{\"metadata\":{\"name\":\"a\"},\"labels\":{\"x\":\"1\"},\"command\":[\"a\",\"b\"],"
                 "\"linux\":{\"resources\":{\"cpu_shares\":512},\"security_context\":{\"privileged\":true}}}");
    cr_assert_eq(crio_container_config_update_json(
                     cfg, "{\"metadata\":{\"attempt\":2},\"labels\":{\"y\":\"2\"},\"command\":[\"c\"],"
                          "\"linux\":{\"resources\":{\"memoryLimitInBytes\":1024}}}"),
                 0, "%s", errmsg());
    cr_assert_str_eq(str(cget(cfg, "metadata.name")), "a");
    cr_assert_eq(num(cget(cfg, "metadata.attempt")), 2);
    cr_assert_str_eq(str(cget(cfg, "labels.x")), "1");
    cr_assert_str_eq(str(cget(cfg, "labels.y")), "2");
    cr_assert_eq(cJSON_GetArraySize(cget(cfg, "command")), 1, "arrays replace");
    cr_assert_str_eq(str(cJSON_GetArrayItem(cget(cfg, "command"), 0)), "c");
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_shares")), 512);
    cr_assert_eq(num(cget(cfg, "linux.resources.memory_limit_in_bytes")), 1024);
    cr_assert(cJSON_IsTrue(cget(cfg, "linux.security_context.privileged")));

    /* null is proto JSON's "default value": the member goes. */
    cr_assert_eq(crio_container_config_update_json(cfg, "{\"labels\":{\"x\":null},\"command\":null,"
                                                         "\"linux\":{\"resources\":null}}"),
                 0, "%s", errmsg());
    cr_assert_null(cget(cfg, "labels.x"));
    cr_assert_str_eq(str(cget(cfg, "labels.y")), "2");
    cr_assert_null(cget(cfg, "command"));
    cr_assert_null(cget(cfg, "linux.resources"));
    cr_assert_not_null(cget(cfg, "linux.security_context"));

    /* A scalar replaced by an object and back. */
    cr_assert_eq(crio_container_config_update_json(cfg, "{\"envs\":[{\"key\":\"A\",\"value\":null}]}"), 0);
    const cJSON *env = cJSON_GetArrayItem(cget(cfg, "envs"), 0);
    cr_assert_null(crio_spec_cri_get(env, "value"), "nulls inside arrays are dropped");
    crio_container_config_free(cfg);
}

Test(pod_config, both_spellings_last_wins_and_unknown_dropped)
{
    crio_container_config *cfg =
        ctr_from("{\"working_dir\":\"/a\",\"workingDir\":\"/b\",\"bogusField\":1,\"linux\":{\"nope\":{}}}");
    cr_assert_str_eq(str(cget(cfg, "working_dir")), "/b");
    cr_assert_null(cget(cfg, "bogusField"));
    cr_assert_null(cget(cfg, "bogus_field"));
    cr_assert_null(cget(cfg, "linux.nope"));
    crio_container_config_free(cfg);
}

Test(pod_config, pod_setters)
{
    crio_pod_config *cfg = pod_from(NULL);
    cr_assert_eq(crio_pod_config_set_metadata(cfg, "web", "uid-1", "ns", 3), 0);
    cr_assert_eq(crio_pod_config_set_hostname(cfg, "web-0"), 0);
    cr_assert_eq(crio_pod_config_set_log_directory(cfg, "/var/log/pods/ns_web_uid-1"), 0);
    cr_assert_eq(crio_pod_config_set_label(cfg, "app", "web"), 0);
    cr_assert_eq(crio_pod_config_set_label(cfg, "app", "web2"), 0);
    cr_assert_eq(crio_pod_config_set_annotation(cfg, "note", ""), 0);
    cr_assert_eq(crio_pod_config_set_cgroup_parent(cfg, "/kubepods/burstable"), 0);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, CRIO_NS_NETWORK, CRIO_NS_NODE), 0);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, CRIO_NS_PID, CRIO_NS_CONTAINER), 0);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, CRIO_NS_IPC, CRIO_NS_POD), 0);
    cr_assert_eq(crio_pod_config_add_dns_server(cfg, "10.0.0.10"), 0);
    cr_assert_eq(crio_pod_config_add_dns_server(cfg, "10.0.0.11"), 0);
    cr_assert_eq(crio_pod_config_add_dns_search(cfg, "svc.cluster.local"), 0);
    cr_assert_eq(crio_pod_config_add_dns_option(cfg, "ndots:5"), 0);
    cr_assert_eq(crio_pod_config_set_sysctl(cfg, "net.ipv4.ip_unprivileged_port_start", "0"), 0);
    cr_assert_eq(crio_pod_config_set_privileged(cfg, 1), 0);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, "tcp", 80, 8080, NULL), 0);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, "SCTP", 9, 0, "::1"), 0);

    cr_assert_str_eq(crio_pod_config_get_string(cfg, "metadata.name"), "web");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "metadata.uid"), "uid-1");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "metadata.namespace"), "ns");
    cr_assert_eq(crio_pod_config_get_int(cfg, "metadata.attempt", -1), 3);
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "hostname"), "web-0");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "log_directory"), "/var/log/pods/ns_web_uid-1");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "labels.app"), "web2");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "annotations.note"), "");
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "linux.cgroup_parent"), "/kubepods/burstable");
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_NETWORK), CRIO_NS_NODE);
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_PID), CRIO_NS_CONTAINER);
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_IPC), CRIO_NS_POD);
    cr_assert_eq(cJSON_GetArraySize(pget(cfg, "dns_config.servers")), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(pget(cfg, "dns_config.servers"), 1)), "10.0.0.11");
    cr_assert_str_eq(str(cJSON_GetArrayItem(pget(cfg, "dns_config.searches"), 0)), "svc.cluster.local");
    cr_assert_str_eq(str(cJSON_GetArrayItem(pget(cfg, "dns_config.options"), 0)), "ndots:5");
    cr_assert_str_eq(
        str(cJSON_GetObjectItemCaseSensitive(pget(cfg, "linux.sysctls"), "net.ipv4.ip_unprivileged_port_start")),
        "0");
    cr_assert(crio_pod_config_get_bool(cfg, "linux.security_context.privileged", false));
    const cJSON *pm = pget(cfg, "port_mappings");
    cr_assert_eq(cJSON_GetArraySize(pm), 2);
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(pm, 0), "protocol", -1), 0);
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(pm, 0), "host_port", -1), 8080);
    cr_assert_null(crio_json_string(cJSON_GetArrayItem(pm, 0), "host_ip"));
    cr_assert_eq(crio_json_int(cJSON_GetArrayItem(pm, 1), "protocol", -1), 2);
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(pm, 1), "host_ip"), "::1");
    crio_pod_config_free(cfg);
}

Test(pod_config, pod_setter_errors)
{
    crio_pod_config *cfg = pod_from(NULL);
    cr_assert_eq(crio_pod_config_set_metadata(cfg, NULL, "u", "n", 0), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_metadata(cfg, "", "u", "n", 0), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_metadata(NULL, "a", "u", "n", 0), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_hostname(cfg, ""), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_log_directory(cfg, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_label(cfg, "", "v"), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_label(cfg, "k", NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_annotation(cfg, NULL, "v"), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, (crio_ns_kind)7, CRIO_NS_POD), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, CRIO_NS_PID, (crio_ns_mode)9), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_namespace_mode(cfg, CRIO_NS_NETWORK, CRIO_NS_TARGET), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_dns_server(cfg, ""), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_dns_option(cfg, "ndots:1\nnameserver 6.6.6.6"), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_set_sysctl(cfg, "kernel.shmmax", NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, "ICMP", 80, 80, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, NULL, 80, 80, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, "TCP", 0, 80, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_add_port_mapping(cfg, "TCP", 80, 70000, NULL), CRIO_EINVAL);
    char *json = NULL;
    cr_assert_eq(crio_pod_config_to_json(&json, cfg), 0);
    cr_assert_str_eq(json, "{}", "failed setters leave nothing behind");
    crio_free(json);
    cr_assert_eq(crio_pod_config_to_json(&json, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_pod_config_new(NULL), CRIO_EINVAL);
    crio_pod_config_free(cfg);
}

Test(pod_config, container_setters)
{
    crio_container_config *cfg = ctr_from("{\"image\":{\"annotations\":{\"k\":\"v\"}}}");
    cr_assert_eq(crio_container_config_set_metadata(cfg, "app", 1), 0);
    cr_assert_eq(crio_container_config_set_image(cfg, "busybox:latest"), 0);
    cr_assert_eq(crio_container_config_add_command(cfg, "/bin/sh"), 0);
    cr_assert_eq(crio_container_config_add_arg(cfg, "-c"), 0);
    cr_assert_eq(crio_container_config_add_arg(cfg, ""), 0);
    cr_assert_eq(crio_container_config_set_working_dir(cfg, "/work"), 0);
    cr_assert_eq(crio_container_config_set_env(cfg, "A", "1"), 0);
    cr_assert_eq(crio_container_config_set_env(cfg, "B", "2"), 0);
    cr_assert_eq(crio_container_config_set_env(cfg, "A", "3"), 0);
    cr_assert_eq(crio_container_config_add_mount(cfg, "/data", "/srv/data", 1), 0);
    cr_assert_eq(crio_container_config_add_mount(cfg, "/cache", "/srv/cache", 0), 0);
    cr_assert_eq(crio_container_config_add_mount(cfg, "/data", "/srv/other", 0), 0);
    cr_assert_eq(crio_container_config_set_label(cfg, "tier", "front"), 0);
    cr_assert_eq(crio_container_config_set_annotation(cfg, "a", "b"), 0);
    cr_assert_eq(crio_container_config_set_log_path(cfg, "app/0.log"), 0);
    cr_assert_eq(crio_container_config_set_tty(cfg, 1), 0);
    cr_assert_eq(crio_container_config_set_stdin(cfg, 1, 0), 0);
    cr_assert_eq(crio_container_config_set_memory_limit(cfg, 64 << 20), 0);
    cr_assert_eq(crio_container_config_set_cpu(cfg, 512, 50000, 100000), 0);
    cr_assert_eq(crio_container_config_update_json(cfg, "{\"linux\":{\"securityContext\":{\"runAsUsername\":\"x\"}}}"),
                 0);
    cr_assert_eq(crio_container_config_set_user(cfg, 1000, 2000), 0);
    cr_assert_eq(crio_container_config_set_readonly_rootfs(cfg, 1), 0);
    cr_assert_eq(crio_container_config_set_privileged(cfg, 1), 0);

    cr_assert_str_eq(str(cget(cfg, "metadata.name")), "app");
    cr_assert_eq(num(cget(cfg, "metadata.attempt")), 1);
    cr_assert_str_eq(str(cget(cfg, "image.image")), "busybox:latest");
    cr_assert_str_eq(str(cget(cfg, "image.annotations.k")), "v", "set_image keeps the rest of image");
    cr_assert_eq(cJSON_GetArraySize(cget(cfg, "command")), 1);
    cr_assert_eq(cJSON_GetArraySize(cget(cfg, "args")), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(cget(cfg, "args"), 1)), "");
    cr_assert_str_eq(str(cget(cfg, "working_dir")), "/work");
    const cJSON *envs = cget(cfg, "envs");
    cr_assert_eq(cJSON_GetArraySize(envs), 2, "set_env replaces by key");
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(envs, 0), "key"), "A");
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(envs, 0), "value"), "3");
    const cJSON *mounts = cget(cfg, "mounts");
    cr_assert_eq(cJSON_GetArraySize(mounts), 2, "one mount per destination");
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(mounts, 0), "host_path"), "/srv/other");
    cr_assert_eq(crio_json_bool(cJSON_GetArrayItem(mounts, 0), "readonly", true), false);
    cr_assert_str_eq(crio_json_string(cJSON_GetArrayItem(mounts, 1), "container_path"), "/cache");
    cr_assert_str_eq(str(cget(cfg, "labels.tier")), "front");
    cr_assert_str_eq(str(cget(cfg, "annotations.a")), "b");
    cr_assert_str_eq(str(cget(cfg, "log_path")), "app/0.log");
    cr_assert(cJSON_IsTrue(cget(cfg, "tty")));
    cr_assert(cJSON_IsTrue(cget(cfg, "stdin")));
    cr_assert(cJSON_IsFalse(cget(cfg, "stdin_once")));
    cr_assert_eq(num(cget(cfg, "linux.resources.memory_limit_in_bytes")), 64 << 20);
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_shares")), 512);
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_quota")), 50000);
    cr_assert_eq(num(cget(cfg, "linux.resources.cpu_period")), 100000);
    cr_assert_eq(num(cget(cfg, "linux.security_context.run_as_user.value")), 1000);
    cr_assert_eq(num(cget(cfg, "linux.security_context.run_as_group.value")), 2000);
    cr_assert_null(cget(cfg, "linux.security_context.run_as_username"), "a uid replaces a user name");
    cr_assert(cJSON_IsTrue(cget(cfg, "linux.security_context.readonly_rootfs")));
    cr_assert(cJSON_IsTrue(cget(cfg, "linux.security_context.privileged")));

    cr_assert_eq(crio_container_config_set_user(cfg, 5, -1), 0);
    cr_assert_null(cget(cfg, "linux.security_context.run_as_group"), "gid -1 unsets the group");
    crio_container_config_free(cfg);
}

Test(pod_config, container_setter_errors)
{
    crio_container_config *cfg = ctr_from(NULL);
    cr_assert_eq(crio_container_config_set_metadata(cfg, "", 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_image(cfg, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_add_command(cfg, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_add_arg(NULL, "x"), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_working_dir(cfg, ""), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_env(cfg, "", "v"), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_env(cfg, "A=B", "v"), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_env(cfg, "A", NULL), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_add_mount(cfg, "/a", "", 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_add_mount(cfg, NULL, "/b", 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_log_path(cfg, NULL), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_memory_limit(cfg, -1), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_memory_limit(cfg, INT64_MAX), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_cpu(cfg, -1, 0, 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_cpu(cfg, 0, -2, 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_user(cfg, -1, 0), CRIO_EINVAL);
    cr_assert_eq(crio_container_config_set_user(cfg, 1, 5000000000LL), CRIO_EINVAL);
    char *json = NULL;
    cr_assert_eq(crio_container_config_to_json(&json, cfg), 0);
    cr_assert_str_eq(json, "{}");
    crio_free(json);
    crio_container_config_free(cfg);
}

Test(pod_config, to_json_round_trip)
{
    crio_container_config *a = ctr_from(
        "{\"metadata\":{\"name\":\"x\"},\"mounts\":[{\"containerPath\":\"/m\",\"hostPath\":\"/h\","
        "\"propagation\":\"PROPAGATION_HOST_TO_CONTAINER\"}],\"linux\":{\"resources\":{\"cpuShares\":\"2\"},"
        "\"securityContext\":{\"capabilities\":{\"addCapabilities\":[\"NET_ADMIN\"]}}},\"labels\":{\"lA\":\"1\"}}");
    cr_assert_eq(crio_container_config_set_env(a, "K", "V"), 0);
    char *first = NULL, *second = NULL;
    cr_assert_eq(crio_container_config_to_json(&first, a), 0);
    crio_container_config *b = ctr_from(first);
    cr_assert_eq(crio_container_config_to_json(&second, b), 0);
    cr_assert_str_eq(first, second);
    cr_assert(strstr(first, "\"propagation\":1"), "%s", first);
    cr_assert(strstr(first, "\"cpu_shares\":2"), "%s", first);
    cr_assert(strstr(first, "\"lA\":\"1\""), "%s", first);
    crio_free(first);
    crio_free(second);
    crio_container_config_free(a);
    crio_container_config_free(b);

    crio_pod_config *p = pod_from(NULL);
    cr_assert_eq(crio_pod_config_set_metadata(p, "n", "u", "ns", 0), 0);
    cr_assert_eq(crio_pod_config_add_port_mapping(p, "UDP", 53, 53, NULL), 0);
    cr_assert_eq(crio_pod_config_to_json(&first, p), 0);
    crio_pod_config *q = pod_from(first);
    cr_assert_eq(crio_pod_config_to_json(&second, q), 0);
    cr_assert_str_eq(first, second);
    crio_free(first);
    crio_free(second);
    crio_pod_config_free(p);
    crio_pod_config_free(q);
}

Test(pod_config, from_tree_copies_and_checks)
{
    cJSON *tree = cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"linux\":{\"securityContext\":{\"namespaceOptions\":"
                              "{\"network\":\"NODE\"}}}}");
    cr_assert_not_null(tree);
    crio_pod_config *cfg = NULL;
    cr_assert_eq(crio_pod_config_from_tree(&cfg, tree), 0, "%s", errmsg());
    cJSON_Delete(tree);
    cr_assert_str_eq(crio_pod_config_get_string(cfg, "metadata.name"), "p");
    cr_assert_eq(crio_pod_config_namespace_mode(cfg, CRIO_NS_NETWORK), CRIO_NS_NODE);
    crio_pod_config *copy = NULL;
    cr_assert_eq(crio_pod_config_from_tree(&copy, crio_pod_config_json_tree(cfg)), 0);
    cr_assert(cJSON_Compare(crio_pod_config_json_tree(cfg), crio_pod_config_json_tree(copy), true));
    cr_assert_neq(crio_pod_config_json_tree(cfg), crio_pod_config_json_tree(copy));
    cJSON *patch = cJSON_Parse("{\"hostname\":\"h\"}");
    cr_assert_eq(crio_pod_config_merge_tree(copy, patch), 0);
    cJSON_Delete(patch);
    cr_assert_str_eq(crio_pod_config_get_string(copy, "hostname"), "h");
    cr_assert_null(crio_pod_config_get_string(cfg, "hostname"));
    crio_pod_config_free(cfg);
    crio_pod_config_free(copy);

    cJSON *bad = cJSON_Parse("{\"tty\":1}");
    crio_container_config *c = NULL;
    cr_assert_eq(crio_container_config_from_tree(&c, bad), CRIO_EINVAL);
    cr_assert_null(c);
    cJSON_Delete(bad);
    cr_assert_eq(crio_container_config_from_tree(&c, NULL), 0, "NULL: an empty config");
    cr_assert_eq(crio_container_config_get_int(c, "x", 7), 7);
    cr_assert_eq(crio_container_config_get_bool(c, "tty", true), true);
    crio_container_config_free(c);
}
