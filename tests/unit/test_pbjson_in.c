/* Unit tests of crioctl's config reader: JSON and YAML to CRI messages by
 * descriptor (cli/pbjson_in.c, cli/yaml.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.pb-c.h"
#include "crioctl.h"
#include "pbjson_in.h"

/* Parses `text` as `desc` from "test.conf"; fails the test on an error. */
static ProtobufCMessage *parse_ok(const char *text, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = NULL;
    char *err = NULL;
    int r = crioctl_pbjson_parse(text, strlen(text), "test.conf", desc, &m, &err);

    cr_assert_eq(r, 0, "parse failed: %s", err ? err : "(no message)");
    cr_assert_null(err);
    cr_assert_not_null(m);
    return m;
}

/* Parses `text`, which must fail with -EINVAL; returns the message (free it). */
static char *parse_err(const char *text, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = NULL;
    char *err = NULL;
    int r = crioctl_pbjson_parse(text, strlen(text), "test.conf", desc, &m, &err);

    cr_assert_eq(r, -EINVAL, "expected -EINVAL, got %d", r);
    cr_assert_null(m);
    cr_assert_not_null(err);
    return err;
}

static void assert_err_has(const char *text, const ProtobufCMessageDescriptor *desc, const char *want1,
                           const char *want2)
{
    char *err = parse_err(text, desc);

    cr_assert_not_null(strstr(err, want1), "error \"%s\" lacks \"%s\"", err, want1);
    if (want2)
        cr_assert_not_null(strstr(err, want2), "error \"%s\" lacks \"%s\"", err, want2);
    free(err);
}

#define POD (&runtime__v1__pod_sandbox_config__descriptor)
#define CTR (&runtime__v1__container_config__descriptor)

static Runtime__V1__PodSandboxConfig *pod_ok(const char *text)
{
    return (Runtime__V1__PodSandboxConfig *)parse_ok(text, POD);
}

static Runtime__V1__ContainerConfig *ctr_ok(const char *text)
{
    return (Runtime__V1__ContainerConfig *)parse_ok(text, CTR);
}

static void pfree(void *m)
{
    protobuf_c_message_free_unpacked(m, NULL);
}

static const char *map_get(size_t n, Runtime__V1__PodSandboxConfig__LabelsEntry **e, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i]->key, key) == 0)
            return e[i]->value;
    return NULL;
}

/* ---- Pod configs as crictl's documentation writes them ---- */

static const char pod_json[] =
    "{\n"
    "  \"metadata\": {\n"
    "    \"name\": \"nginx-sandbox\",\n"
    "    \"namespace\": \"default\",\n"
    "    \"attempt\": 1,\n"
    "    \"uid\": \"hdishd83djaidwnduwk28bcsb\"\n"
    "  },\n"
    "  \"log_directory\": \"/tmp\",\n"
    "  \"hostname\": \"nginx\",\n"
    "  \"dns_config\": {\"servers\": [\"8.8.8.8\"], \"searches\": [\"example.com\"], \"options\": [\"ndots:5\"]},\n"
    "  \"port_mappings\": [{\"protocol\": 0, \"container_port\": 80, \"host_port\": 8080},\n"
    "                    {\"protocol\": \"UDP\", \"container_port\": 53, \"host_ip\": \"127.0.0.1\"}],\n"
    "  \"labels\": {\"app\": \"nginx\", \"tier\": \"web\"},\n"
    "  \"annotations\": {\"note\": \"x\"},\n"
    "  \"linux\": {\"security_context\": {\"namespace_options\": {\"network\": 2, \"pid\": 1}}}\n"
    "}\n";

static void check_pod(const Runtime__V1__PodSandboxConfig *p)
{
    cr_assert_str_eq(p->metadata->name, "nginx-sandbox");
    cr_assert_str_eq(p->metadata->namespace_, "default");
    cr_assert_str_eq(p->metadata->uid, "hdishd83djaidwnduwk28bcsb");
    cr_assert_eq(p->metadata->attempt, 1);
    cr_assert_str_eq(p->log_directory, "/tmp");
    cr_assert_str_eq(p->hostname, "nginx");
    cr_assert_eq(p->dns_config->n_servers, 1);
    cr_assert_str_eq(p->dns_config->servers[0], "8.8.8.8");
    cr_assert_str_eq(p->dns_config->searches[0], "example.com");
    cr_assert_str_eq(p->dns_config->options[0], "ndots:5");
    cr_assert_eq(p->n_port_mappings, 2);
    cr_assert_eq(p->port_mappings[0]->protocol, RUNTIME__V1__PROTOCOL__TCP);
    cr_assert_eq(p->port_mappings[0]->container_port, 80);
    cr_assert_eq(p->port_mappings[0]->host_port, 8080);
    cr_assert_eq(p->port_mappings[1]->protocol, RUNTIME__V1__PROTOCOL__UDP);
    cr_assert_str_eq(p->port_mappings[1]->host_ip, "127.0.0.1");
    cr_assert_eq(p->n_labels, 2);
    cr_assert_str_eq(map_get(p->n_labels, p->labels, "app"), "nginx");
    cr_assert_str_eq(map_get(p->n_labels, p->labels, "tier"), "web");
    cr_assert_eq(p->n_annotations, 1);
    cr_assert_eq(p->linux->security_context->namespace_options->network, RUNTIME__V1__NAMESPACE_MODE__NODE);
    cr_assert_eq(p->linux->security_context->namespace_options->pid, RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
    cr_assert_null(p->windows);
}

Test(pbjson_json, crictl_pod_config)
{
    Runtime__V1__PodSandboxConfig *p = pod_ok(pod_json);

    check_pod(p);
    pfree(p);
}

static const char pod_yaml[] =
    "# crictl's pod config, in YAML\n"
    "metadata:\n"
    "  name: nginx-sandbox\n"
    "  namespace: default\n"
    "  attempt: 1\n"
    "  uid: hdishd83djaidwnduwk28bcsb\n"
    "log_directory: /tmp\n"
    "hostname: nginx\n"
    "dns_config:\n"
    "  servers: [8.8.8.8]\n"
    "  searches:\n"
    "    - example.com\n"
    "  options: ['ndots:5']\n"
    "port_mappings:\n"
    "  - protocol: 0\n"
    "    container_port: 80\n"
    "    host_port: 8080\n"
    "  - {protocol: UDP, container_port: 53, host_ip: 127.0.0.1}\n"
    "labels:\n"
    "  app: nginx\n"
    "  tier: \"web\"\n"
    "annotations: {note: x}\n"
    "linux:\n"
    "  security_context:\n"
    "    namespace_options:\n"
    "      network: NODE\n"
    "      pid: 1\n";

Test(pbjson_yaml, crictl_pod_config)
{
    Runtime__V1__PodSandboxConfig *p = pod_ok(pod_yaml);

    check_pod(p);
    pfree(p);
}

Test(pbjson_json, minimal_documented_pod)
{
    Runtime__V1__PodSandboxConfig *p = pod_ok("{\"metadata\": {\"name\": \"nginx-sandbox\", \"namespace\": "
                                              "\"default\", \"attempt\": 1, \"uid\": \"abc\"}, "
                                              "\"log_directory\": \"/tmp\", \"linux\": {}}");

    cr_assert_not_null(p->linux, "an empty object still sets the message");
    cr_assert_null(p->linux->security_context);
    cr_assert_null(p->dns_config);
    cr_assert_eq(p->n_labels, 0);
    pfree(p);
}

/* ---- Container configs ---- */

static const char ctr_json[] =
    "{\n"
    "  \"metadata\": {\"name\": \"busybox\", \"attempt\": 2},\n"
    "  \"image\": {\"image\": \"docker.io/library/busybox:latest\"},\n"
    "  \"command\": [\"/bin/sh\", \"-c\"],\n"
    "  \"args\": [\"echo hello; sleep 1000\"],\n"
    "  \"working_dir\": \"/\",\n"
    "  \"envs\": [{\"key\": \"A\", \"value\": \"1\"}, {\"key\": \"PATH\", \"value\": \"/bin\"}],\n"
    "  \"mounts\": [{\"container_path\": \"/data\", \"host_path\": \"/tmp/data\", \"readonly\": true,\n"
    "              \"propagation\": \"PROPAGATION_HOST_TO_CONTAINER\"}],\n"
    "  \"labels\": {\"io.kubernetes.pod.name\": \"p\"},\n"
    "  \"log_path\": \"busybox.0.log\",\n"
    "  \"stdin\": false,\n"
    "  \"tty\": true,\n"
    "  \"linux\": {\n"
    "    \"resources\": {\"cpu_period\": 100000, \"cpu_quota\": \"50000\", \"cpu_shares\": 512,\n"
    "                  \"memory_limit_in_bytes\": 268435456, \"oom_score_adj\": -100,\n"
    "                  \"cpuset_cpus\": \"0-1\", \"unified\": {\"memory.high\": \"200M\"}},\n"
    "    \"security_context\": {\"privileged\": false, \"run_as_user\": {\"value\": 1000},\n"
    "                         \"supplemental_groups\": [10, \"20\"],\n"
    "                         \"capabilities\": {\"add_capabilities\": [\"NET_ADMIN\"]}}\n"
    "  },\n"
    "  \"stop_signal\": \"SIGTERM\"\n"
    "}\n";

static void check_ctr(const Runtime__V1__ContainerConfig *c)
{
    cr_assert_str_eq(c->metadata->name, "busybox");
    cr_assert_eq(c->metadata->attempt, 2);
    cr_assert_str_eq(c->image->image, "docker.io/library/busybox:latest");
    cr_assert_eq(c->n_command, 2);
    cr_assert_str_eq(c->command[1], "-c");
    cr_assert_eq(c->n_args, 1);
    cr_assert_str_eq(c->args[0], "echo hello; sleep 1000");
    cr_assert_str_eq(c->working_dir, "/");
    cr_assert_eq(c->n_envs, 2);
    cr_assert_str_eq(c->envs[1]->key, "PATH");
    cr_assert_str_eq(c->envs[1]->value, "/bin");
    cr_assert_eq(c->n_mounts, 1);
    cr_assert_str_eq(c->mounts[0]->host_path, "/tmp/data");
    cr_assert(c->mounts[0]->readonly);
    cr_assert_eq(c->mounts[0]->propagation, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER);
    cr_assert_eq(c->n_labels, 1);
    cr_assert_str_eq(c->log_path, "busybox.0.log");
    cr_assert(!c->stdin);
    cr_assert(c->tty);
    const Runtime__V1__LinuxContainerResources *r = c->linux->resources;
    cr_assert_eq(r->cpu_period, 100000);
    cr_assert_eq(r->cpu_quota, 50000);
    cr_assert_eq(r->cpu_shares, 512);
    cr_assert_eq(r->memory_limit_in_bytes, 268435456);
    cr_assert_eq(r->oom_score_adj, -100);
    cr_assert_str_eq(r->cpuset_cpus, "0-1");
    cr_assert_eq(r->n_unified, 1);
    cr_assert_str_eq(r->unified[0]->key, "memory.high");
    cr_assert_str_eq(r->unified[0]->value, "200M");
    const Runtime__V1__LinuxContainerSecurityContext *sc = c->linux->security_context;
    cr_assert_eq(sc->run_as_user->value, 1000);
    cr_assert_eq(sc->n_supplemental_groups, 2);
    cr_assert_eq(sc->supplemental_groups[0], 10);
    cr_assert_eq(sc->supplemental_groups[1], 20);
    cr_assert_str_eq(sc->capabilities->add_capabilities[0], "NET_ADMIN");
    cr_assert_eq(c->stop_signal, RUNTIME__V1__SIGNAL__SIGTERM);
}

Test(pbjson_json, container_config)
{
    Runtime__V1__ContainerConfig *c = ctr_ok(ctr_json);

    check_ctr(c);
    pfree(c);
}

static const char ctr_yaml[] =
    "metadata: {name: busybox, attempt: 2}\n"
    "image:\n"
    "  image: docker.io/library/busybox:latest\n"
    "command: [/bin/sh, -c]\n"
    "args:\n"
    "  - echo hello; sleep 1000\n"
    "working_dir: /\n"
    "envs:\n"
    "  - key: A\n"
    "    value: 1\n"
    "  - {key: PATH, value: /bin}\n"
    "mounts:\n"
    "  - container_path: /data\n"
    "    host_path: /tmp/data\n"
    "    readonly: yes\n"
    "    propagation: PROPAGATION_HOST_TO_CONTAINER\n"
    "labels: {io.kubernetes.pod.name: p}\n"
    "log_path: busybox.0.log\n"
    "stdin: false\n"
    "tty: True\n"
    "linux:\n"
    "  resources:\n"
    "    cpu_period: 100000\n"
    "    cpu_quota: \"50000\"\n"
    "    cpu_shares: 512\n"
    "    memory_limit_in_bytes: 268435456\n"
    "    oom_score_adj: -100\n"
    "    cpuset_cpus: 0-1\n"
    "    unified: {memory.high: 200M}\n"
    "  security_context:\n"
    "    privileged: no\n"
    "    run_as_user: {value: 1000}\n"
    "    supplemental_groups: [10, '20']\n"
    "    capabilities:\n"
    "      add_capabilities: [NET_ADMIN]\n"
    "stop_signal: SIGTERM\n";

Test(pbjson_yaml, container_config)
{
    Runtime__V1__ContainerConfig *c = ctr_ok(ctr_yaml);

    check_ctr(c);
    pfree(c);
}

/* ---- Names, enums, integers ---- */

Test(pbjson_json, lower_camel_case_names)
{
    Runtime__V1__PodSandboxConfig *p =
        pod_ok("{\"metadata\": {\"name\": \"a\", \"namespace\": \"b\"}, \"logDirectory\": \"/var/log/x\","
               " \"dnsConfig\": {\"servers\": [\"1.1.1.1\"]},"
               " \"portMappings\": [{\"containerPort\": 80, \"hostPort\": 8080, \"hostIp\": \"0.0.0.0\"}],"
               " \"linux\": {\"cgroupParent\": \"/kubepods\", \"securityContext\": {\"namespaceOptions\":"
               " {\"network\": \"NODE\", \"targetId\": \"t\"}, \"runAsUser\": {\"value\": \"0\"}}}}");

    cr_assert_str_eq(p->log_directory, "/var/log/x");
    cr_assert_str_eq(p->dns_config->servers[0], "1.1.1.1");
    cr_assert_eq(p->port_mappings[0]->host_port, 8080);
    cr_assert_str_eq(p->port_mappings[0]->host_ip, "0.0.0.0");
    cr_assert_str_eq(p->linux->cgroup_parent, "/kubepods");
    cr_assert_eq(p->linux->security_context->namespace_options->network, RUNTIME__V1__NAMESPACE_MODE__NODE);
    cr_assert_str_eq(p->linux->security_context->namespace_options->target_id, "t");
    cr_assert_not_null(p->linux->security_context->run_as_user);
    cr_assert_eq(p->linux->security_context->run_as_user->value, 0);
    pfree(p);
}

Test(pbjson_json, names_match_case_insensitively_as_go_does)
{
    Runtime__V1__PodSandboxConfig *p =
        pod_ok("{\"Metadata\": {\"Name\": \"a\", \"NAMESPACE\": \"b\"}, \"Log_Directory\": \"/l\"}");

    cr_assert_str_eq(p->metadata->name, "a");
    cr_assert_str_eq(p->metadata->namespace_, "b");
    cr_assert_str_eq(p->log_directory, "/l");
    pfree(p);
}

Test(pbjson_json, proto_names_that_are_not_snake_case)
{
    /* Mount.uidMappings and ContainerConfig.CDI_devices are spelled so in api.proto. */
    Runtime__V1__ContainerConfig *c =
        ctr_ok("{\"mounts\": [{\"uidMappings\": [{\"host_id\": 1000, \"container_id\": 0, \"length\": 1}]}],"
               " \"CDIDevices\": [{\"name\": \"vendor.com/gpu=0\"}]}");

    cr_assert_eq(c->mounts[0]->n_uidmappings, 1);
    cr_assert_eq(c->mounts[0]->uidmappings[0]->host_id, 1000);
    cr_assert_eq(c->mounts[0]->uidmappings[0]->length, 1);
    cr_assert_eq(c->n_cdi_devices, 1);
    cr_assert_str_eq(c->cdi_devices[0]->name, "vendor.com/gpu=0");
    pfree(c);
    c = ctr_ok("{\"CDI_devices\": [{\"name\": \"x\"}]}");
    cr_assert_eq(c->n_cdi_devices, 1);
    pfree(c);
}

Test(pbjson_json, enums_by_name_or_number)
{
    Runtime__V1__PodSandboxConfig *p = pod_ok(
        "{\"port_mappings\": [{\"protocol\": \"SCTP\"}, {\"protocol\": 1}, {\"protocol\": \"2\"}, {\"protocol\": 7}],"
        " \"linux\": {\"security_context\": {\"seccomp\": {\"profile_type\": \"Localhost\","
        " \"localhost_ref\": \"/p.json\"}, \"supplemental_groups_policy\": \"Strict\"}}}");

    cr_assert_eq(p->port_mappings[0]->protocol, RUNTIME__V1__PROTOCOL__SCTP);
    cr_assert_eq(p->port_mappings[1]->protocol, RUNTIME__V1__PROTOCOL__UDP);
    cr_assert_eq(p->port_mappings[2]->protocol, RUNTIME__V1__PROTOCOL__SCTP);
    cr_assert_eq((int)p->port_mappings[3]->protocol, 7, "enums are open: unknown numbers are kept");
    cr_assert_eq(p->linux->security_context->seccomp->profile_type,
                 RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost);
    cr_assert_eq(p->linux->security_context->supplemental_groups_policy,
                 RUNTIME__V1__SUPPLEMENTAL_GROUPS_POLICY__Strict);
    pfree(p);
}

Test(pbjson_json, unknown_enum_name_lists_the_values)
{
    assert_err_has("{\"linux\": {\"security_context\": {\"namespace_options\": {\"network\": \"HOST\"}}}}", POD,
                   "test.conf: linux.security_context.namespace_options.network: unknown value \"HOST\"",
                   "POD, CONTAINER, NODE, TARGET");
}

Test(pbjson_json, int64_from_numbers_and_strings)
{
    Runtime__V1__ContainerConfig *c =
        ctr_ok("{\"linux\": {\"resources\": {\"memory_limit_in_bytes\": \"9223372036854775807\","
               " \"cpu_quota\": \"-9223372036854775808\", \"cpu_period\": 9007199254740992,"
               " \"oom_score_adj\": \"+5\", \"hugepage_limits\": [{\"page_size\": \"2MB\","
               " \"limit\": \"18446744073709551615\"}]}}}");
    const Runtime__V1__LinuxContainerResources *r = c->linux->resources;

    cr_assert_eq(r->memory_limit_in_bytes, INT64_MAX);
    cr_assert_eq(r->cpu_quota, INT64_MIN);
    cr_assert_eq(r->cpu_period, 9007199254740992LL);
    cr_assert_eq(r->oom_score_adj, 5);
    cr_assert_eq(r->hugepage_limits[0]->limit, UINT64_MAX);
    pfree(c);
}

Test(pbjson_json, integer_range_and_precision_errors)
{
    assert_err_has("{\"metadata\": {\"attempt\": -1}}", POD, "metadata.attempt: -1 is out of range", NULL);
    assert_err_has("{\"metadata\": {\"attempt\": 4294967296}}", POD, "out of range for an unsigned 32-bit", NULL);
    assert_err_has("{\"port_mappings\": [{}, {\"host_port\": 2147483648}]}", POD,
                   "port_mappings[1].host_port: 2147483648 is out of range for a 32-bit integer", NULL);
    assert_err_has("{\"port_mappings\": [{\"host_port\": 1.5}]}", POD, "non-integer", NULL);
    assert_err_has("{\"linux\": {\"resources\": {\"memory_limit_in_bytes\": 9007199254740993000}}}", CTR,
                   "write it as a string", NULL);
    assert_err_has("{\"linux\": {\"resources\": {\"memory_limit_in_bytes\": \"9223372036854775808\"}}}", CTR,
                   "out of range for a 64-bit integer", NULL);
    assert_err_has("{\"linux\": {\"resources\": {\"cpu_shares\": \"12k\"}}}", CTR,
                   "linux.resources.cpu_shares: expected a 64-bit integer, got a string \"12k\"", NULL);
}

/* ---- Errors name the file and the field ---- */

Test(pbjson_errors, unknown_field_named_with_its_path)
{
    assert_err_has("{\"linux\": {\"security_context\": {\"namespace_options\": {\"netwrk\": 2}}}}", POD,
                   "test.conf: linux.security_context.namespace_options.netwrk: unknown field \"netwrk\"",
                   "runtime.v1.NamespaceOption has: network, pid, ipc, target_id, userns_options");
    assert_err_has("{\"metadata\": {\"name\": \"x\"}, \"bogus\": 1}", POD, "test.conf: bogus: unknown field",
                   NULL);
    assert_err_has("metadata:\n  name: x\n  nmespace: y\n", POD, "metadata.nmespace: unknown field", NULL);
}

Test(pbjson_errors, type_errors)
{
    assert_err_has("{\"metadata\": {\"attempt\": \"x\"}}", POD,
                   "metadata.attempt: expected an unsigned 32-bit integer, got a string \"x\"", NULL);
    assert_err_has("{\"metadata\": {\"name\": 5}}", POD, "metadata.name: expected a string, got a number", NULL);
    assert_err_has("{\"metadata\": \"x\"}", POD, "metadata: expected an object, got a string", NULL);
    assert_err_has("{\"labels\": [\"a=b\"]}", POD, "labels: expected an object (a map), got an array", NULL);
    assert_err_has("{\"labels\": {\"a\": 1}}", POD, "labels[\"a\"]: expected a string, got a number", NULL);
    assert_err_has("{\"port_mappings\": {\"container_port\": 80}}", POD,
                   "port_mappings: expected an array, got an object", NULL);
    assert_err_has("{\"tty\": \"true\"}", CTR, "tty: expected true or false, got a string \"true\"", NULL);
    assert_err_has("{\"command\": [\"a\", null]}", CTR, "command[1]: null is not allowed in a list", NULL);
    assert_err_has("{\"command\": [[\"a\"]]}", CTR, "command[0]: expected a string, got an array", NULL);
    assert_err_has("{\"envs\": [{\"key\": \"A\", \"valu\": \"1\"}]}", CTR, "envs[0].valu: unknown field", NULL);
}

Test(pbjson_errors, top_level_must_be_an_object)
{
    assert_err_has("[1, 2]", POD, "expected an object (a runtime.v1.PodSandboxConfig), got an array", NULL);
    assert_err_has("- a\n- b\n", POD, "got an array", NULL);
    assert_err_has("just text\n", POD, "got a plain scalar", NULL);
    assert_err_has("", POD, "test.conf: the file is empty", NULL);
    assert_err_has("# only a comment\n", POD, "the file is empty", NULL);
}

Test(pbjson_errors, field_given_twice)
{
    assert_err_has("{\"log_directory\": \"/a\", \"logDirectory\": \"/b\"}", POD,
                   "logDirectory: field given twice (also as \"log_directory\")", NULL);
}

Test(pbjson_errors, invalid_json_has_a_position)
{
    assert_err_has("{\n  \"metadata\": {\"name\": \"x\"}}}\n", POD, "test.conf:2:", "invalid JSON");
}

Test(pbjson_errors, invalid_yaml_has_a_position)
{
    assert_err_has("metadata:\n  name: x\n   bad: [\n", POD, "test.conf:", "invalid YAML");
    assert_err_has("metadata:\n  name: a\n  name: b\n", POD, "test.conf:3:3: duplicate key \"name\"", NULL);
    assert_err_has("? [a]\n: b\n", POD, "mapping keys must be scalars", NULL);
    assert_err_has("metadata: *nope\n", POD, "unknown alias", NULL);
}

/* ---- Nesting ---- */

Test(pbjson_nesting, deep_paths_convert_and_are_named_in_errors)
{
    Runtime__V1__PodSandboxConfig *p =
        pod_ok("linux:\n  security_context:\n    namespace_options:\n      userns_options:\n"
               "        mode: POD\n        uids:\n          - {host_id: 100000, container_id: 0, length: 65536}\n"
               "        gids: [{host_id: 100000, container_id: 0, length: 65536}]\n");
    const Runtime__V1__UserNamespace *u = p->linux->security_context->namespace_options->userns_options;

    cr_assert_eq(u->n_uids, 1);
    cr_assert_eq(u->uids[0]->host_id, 100000);
    cr_assert_eq(u->gids[0]->length, 65536);
    pfree(p);
    assert_err_has("linux:\n  security_context:\n    namespace_options:\n      userns_options:\n"
                   "        uids:\n          - {host_id: -1}\n",
                   POD, "linux.security_context.namespace_options.userns_options.uids[0].host_id: -1 is out of range",
                   NULL);
}

Test(pbjson_nesting, too_deep_yaml_is_refused)
{
    char text[512] = "";

    for (int i = 0; i < 70; i++)
        strcat(text, "[");
    for (int i = 0; i < 70; i++)
        strcat(text, "]");
    assert_err_has(text, POD, "nested too deeply", NULL);
}

Test(pbjson_nesting, a_tree_deeper_than_the_schema_stops_at_its_first_unknown_field)
{
    /* CRI messages are not recursive: the schema bounds the depth before the nesting limit. */
    cJSON *root = cJSON_CreateObject(), *cur = root;
    ProtobufCMessage *m = NULL;
    char *err = NULL;

    for (int i = 0; i < CRIOCTL_PBJSON_MAX_DEPTH + 2; i++) {
        cJSON *next = cJSON_CreateObject();
        cJSON_AddItemToObject(cur, "linux", next);
        cur = next;
    }
    cr_assert_eq(crioctl_pbjson_to_message(root, POD, "deep.json", &m, &err), -EINVAL);
    cr_assert_not_null(strstr(err, "deep.json: linux.linux"), "%s", err);
    free(err);
    cJSON_Delete(root);
}

/* ---- YAML specifics ---- */

Test(pbjson_yaml, plain_scalars_take_the_field_type)
{
    Runtime__V1__PodSandboxConfig *p =
        pod_ok("metadata:\n  name: 123\n  namespace: true\n  uid: 0x1F\n  attempt: 007\n"
               "hostname: null\nlog_directory: ~\nlabels:\n  n: 1.50\n  b: yes\n  e:\n");

    cr_assert_str_eq(p->metadata->name, "123");
    cr_assert_str_eq(p->metadata->namespace_, "true");
    cr_assert_str_eq(p->metadata->uid, "0x1F");
    cr_assert_eq(p->metadata->attempt, 7);
    cr_assert_str_eq(p->hostname, "", "null leaves a field unset");
    cr_assert_str_eq(p->log_directory, "");
    cr_assert_str_eq(map_get(p->n_labels, p->labels, "n"), "1.50");
    cr_assert_str_eq(map_get(p->n_labels, p->labels, "b"), "yes");
    cr_assert_str_eq(map_get(p->n_labels, p->labels, "e"), "");
    pfree(p);
}

Test(pbjson_yaml, quoted_scalars_are_strings)
{
    Runtime__V1__PodSandboxConfig *p = pod_ok("metadata: {name: '123', namespace: \"~\", attempt: '3'}\n");

    cr_assert_str_eq(p->metadata->name, "123");
    cr_assert_str_eq(p->metadata->namespace_, "~", "a quoted ~ is text, not null");
    cr_assert_eq(p->metadata->attempt, 3, "a string of digits still fills an integer field");
    pfree(p);
}

Test(pbjson_yaml, quoted_yes_is_not_a_bool)
{
    assert_err_has("tty: \"yes\"\n", CTR, "tty: expected true or false, got a string \"yes\"", NULL);
    assert_err_has("tty: !!str true\n", CTR, "got a string \"true\"", NULL);
}

Test(pbjson_yaml, booleans_in_yaml_1_1_spellings)
{
    static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", "ON", "y" };
    static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "n" };
    char text[64];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(text, sizeof(text), "tty: %s\n", yes[i]);
        Runtime__V1__ContainerConfig *c = ctr_ok(text);
        cr_assert(c->tty, "%s", yes[i]);
        pfree(c);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(text, sizeof(text), "tty: %s\n", no[i]);
        Runtime__V1__ContainerConfig *c = ctr_ok(text);
        cr_assert(!c->tty, "%s", no[i]);
        pfree(c);
    }
    assert_err_has("tty: maybe\n", CTR, "expected true or false, got a plain scalar \"maybe\"", NULL);
}

Test(pbjson_yaml, block_scalars_anchors_and_documents)
{
    Runtime__V1__ContainerConfig *c = ctr_ok("---\n"
                                             "metadata: &md\n  name: web\n"
                                             "args:\n  - |\n    line one\n    line two\n  - >\n    folded\n    text\n"
                                             "labels: &l {a: b}\n"
                                             "annotations: *l\n"
                                             "---\n"
                                             "metadata: {name: second}\n");

    cr_assert_str_eq(c->metadata->name, "web", "only the first document counts");
    cr_assert_str_eq(c->args[0], "line one\nline two\n");
    cr_assert_str_eq(c->args[1], "folded text\n");
    cr_assert_eq(c->n_annotations, 1);
    cr_assert_str_eq(c->annotations[0]->key, "a");
    cr_assert_str_eq(c->annotations[0]->value, "b");
    pfree(c);
}

Test(pbjson_yaml, flow_mapping_that_is_not_json)
{
    /* Starts with '{' but is YAML: tried as YAML after JSON fails. */
    Runtime__V1__PodSandboxConfig *p = pod_ok("{metadata: {name: a, namespace: b}, log_directory: /x}\n");

    cr_assert_str_eq(p->metadata->name, "a");
    cr_assert_str_eq(p->log_directory, "/x");
    pfree(p);
}

Test(pbjson_yaml, alias_bombs_are_bounded)
{
    char text[2048] = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";

    for (int i = 1; i < 9; i++) {
        char line[128];
        snprintf(line, sizeof(line), "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
                 i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    assert_err_has(text, POD, "too large", NULL);
}

Test(pbjson_yaml, to_json_tree)
{
    cJSON *j = NULL;
    char *err = NULL;
    const char *text = "a: 1\nb: 'q'\nc: [x, ~]\nd: {e: f}\n";

    cr_assert_eq(crioctl_yaml_to_json(text, strlen(text), "t.yaml", &j, &err), 0);
    cr_assert(cJSON_IsRaw(cJSON_GetObjectItem(j, "a")));
    cr_assert_str_eq(cJSON_GetObjectItem(j, "a")->valuestring, "1");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "b")));
    cr_assert(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "c"), 1)));
    cr_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "d")));
    cJSON_Delete(j);
}

/* ---- Other types ---- */

Test(pbjson_types, bytes_in_base64_and_doubles)
{
    Runtime__V1__ExecSyncResponse *r = (Runtime__V1__ExecSyncResponse *)parse_ok(
        "{\"stdout\": \"aGVsbG8=\", \"stderr\": \"aGk\", \"exit_code\": -2}", &runtime__v1__exec_sync_response__descriptor);

    cr_assert_eq(r->stdout.len, 5);
    cr_assert_eq(memcmp(r->stdout.data, "hello", 5), 0);
    cr_assert_eq(r->stderr.len, 2, "padding is optional");
    cr_assert_eq(r->exit_code, -2);
    pfree(r);
    assert_err_has("{\"stdout\": \"a*b\"}", &runtime__v1__exec_sync_response__descriptor, "invalid base64", NULL);

    Runtime__V1__PsiData *d = (Runtime__V1__PsiData *)parse_ok("{\"Total\": \"12\", \"Avg10\": 1.25, \"Avg60\": "
                                                              "\"NaN\", \"Avg300\": \"-Infinity\"}",
                                                              &runtime__v1__psi_data__descriptor);
    cr_assert_eq(d->total, 12);
    cr_assert_float_eq(d->avg10, 1.25, 1e-12);
    cr_assert(d->avg60 != d->avg60);
    cr_assert(d->avg300 < 0 && d->avg300 * 0 != 0);
    pfree(d);
}

Test(pbjson_types, null_means_unset)
{
    Runtime__V1__PodSandboxConfig *p =
        pod_ok("{\"metadata\": null, \"labels\": null, \"port_mappings\": null, \"hostname\": null}");

    cr_assert_null(p->metadata);
    cr_assert_eq(p->n_labels, 0);
    cr_assert_eq(p->n_port_mappings, 0);
    pfree(p);
}

Test(pbjson_types, converted_message_round_trips_through_the_output_json)
{
    Runtime__V1__ContainerConfig *c = ctr_ok(ctr_json);
    cJSON *j = crioctl_pb_to_json(&c->base);
    char *text = cJSON_PrintUnformatted(j);
    ProtobufCMessage *again = parse_ok(text, CTR);

    check_ctr((Runtime__V1__ContainerConfig *)again);
    free(text);
    cJSON_Delete(j);
    pfree(again);
    pfree(c);
}

/* ---- Files ---- */

Test(pbjson_files, load_json_and_yaml_files)
{
    char dir[] = "/tmp/crioctl-pbjson-XXXXXX", path[64];
    ProtobufCMessage *m = NULL;
    char *err = NULL;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pod.yaml", dir);
    f = fopen(path, "w");
    fputs("\xef\xbb\xbf", f); /* a byte order mark is skipped */
    fputs(pod_yaml, f);
    fclose(f);
    cr_assert_eq(crioctl_pbjson_load_file(path, POD, &m, &err), 0, "%s", err ? err : "");
    check_pod((Runtime__V1__PodSandboxConfig *)m);
    pfree(m);

    f = fopen(path, "w");
    fputs("metadata:\n  nam: x\n", f);
    fclose(f);
    cr_assert_eq(crioctl_pbjson_load_file(path, POD, &m, &err), -EINVAL);
    cr_assert_not_null(strstr(err, path), "the error names the file: %s", err);
    cr_assert_not_null(strstr(err, "metadata.nam"), "%s", err);
    free(err);
    unlink(path);

    cr_assert_eq(crioctl_pbjson_load_file(path, POD, &m, &err), -ENOENT);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
    free(err);
    cr_assert_eq(crioctl_pbjson_load_file(dir, POD, &m, &err), -EISDIR);
    free(err);
    rmdir(dir);
}
