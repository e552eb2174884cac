/* The generic protobuf-c <-> JSON converter, on real CRI messages. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crio.h>

#include "api.pb-c.h"
#include "cri/pbjson.h"

/* The pieces of a PodSandboxConfig, on the stack, as a handler receives them decoded. */
struct pod_fixture {
    Runtime__V1__PodSandboxConfig cfg;
    Runtime__V1__PodSandboxMetadata md;
    Runtime__V1__DNSConfig dns;
    char *servers[2], *searches[1], *options[1];
    Runtime__V1__PortMapping pm[2], *pmp[2];
    Runtime__V1__PodSandboxConfig__LabelsEntry lab[2], *labp[2];
    Runtime__V1__PodSandboxConfig__AnnotationsEntry ann[1], *annp[1];
    Runtime__V1__LinuxPodSandboxConfig linux;
    Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry sys[1], *sysp[1];
    Runtime__V1__LinuxSandboxSecurityContext sc;
    Runtime__V1__NamespaceOption ns;
    Runtime__V1__Int64Value run_as_user;
    int64_t groups[2];
    Runtime__V1__SecurityProfile seccomp;
};

static void pod_fixture_init(struct pod_fixture *f)
{
    runtime__v1__pod_sandbox_config__init(&f->cfg);
    runtime__v1__pod_sandbox_metadata__init(&f->md);
    f->md.name = "web";
    f->md.uid = "uid-1";
    f->md.namespace_ = "default";
    f->md.attempt = 2;
    f->cfg.metadata = &f->md;
    f->cfg.hostname = "web-0";
    f->cfg.log_directory = "/var/log/pods/default_web_uid-1";

    runtime__v1__dnsconfig__init(&f->dns);
    f->servers[0] = "10.96.0.10";
    f->servers[1] = "8.8.8.8";
    f->searches[0] = "default.svc.cluster.local";
    f->options[0] = "ndots:5";
    f->dns.n_servers = 2;
    f->dns.servers = f->servers;
    f->dns.n_searches = 1;
    f->dns.searches = f->searches;
    f->dns.n_options = 1;
    f->dns.options = f->options;
    f->cfg.dns_config = &f->dns;

    for (int i = 0; i < 2; i++) {
        runtime__v1__port_mapping__init(&f->pm[i]);
        f->pmp[i] = &f->pm[i];
    }
    f->pm[0].container_port = 80;
    f->pm[0].host_port = 8080; /* TCP: the default, so absent */
    f->pm[1].protocol = RUNTIME__V1__PROTOCOL__UDP;
    f->pm[1].container_port = 53;
    f->pm[1].host_port = 5353;
    f->pm[1].host_ip = "127.0.0.1";
    f->cfg.n_port_mappings = 2;
    f->cfg.port_mappings = f->pmp;

    const char *lk[2] = { "app", "tier" }, *lv[2] = { "web", "front \"end\"" };
    for (int i = 0; i < 2; i++) {
        runtime__v1__pod_sandbox_config__labels_entry__init(&f->lab[i]);
        f->lab[i].key = (char *)lk[i];
        f->lab[i].value = (char *)lv[i];
        f->labp[i] = &f->lab[i];
    }
    f->cfg.n_labels = 2;
    f->cfg.labels = f->labp;
    runtime__v1__pod_sandbox_config__annotations_entry__init(&f->ann[0]);
    f->ann[0].key = "kubernetes.io/config.source";
    f->ann[0].value = "api";
    f->annp[0] = &f->ann[0];
    f->cfg.n_annotations = 1;
    f->cfg.annotations = f->annp;

    runtime__v1__linux_pod_sandbox_config__init(&f->linux);
    f->linux.cgroup_parent = "/kubepods/besteffort/poduid-1";
    runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(&f->sys[0]);
    f->sys[0].key = "net.ipv4.ip_unprivileged_port_start";
    f->sys[0].value = "0";
    f->sysp[0] = &f->sys[0];
    f->linux.n_sysctls = 1;
    f->linux.sysctls = f->sysp;
    runtime__v1__linux_sandbox_security_context__init(&f->sc);
    runtime__v1__namespace_option__init(&f->ns);
    f->ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
    f->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
    f->sc.namespace_options = &f->ns;
    runtime__v1__int64_value__init(&f->run_as_user);
    f->run_as_user.value = 0; /* set, though zero: kept as an empty object */
    f->sc.run_as_user = &f->run_as_user;
    f->groups[0] = 1000;
    f->groups[1] = 3000000000LL;
    f->sc.n_supplemental_groups = 2;
    f->sc.supplemental_groups = f->groups;
    runtime__v1__security_profile__init(&f->seccomp);
    f->seccomp.profile_type = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost;
    f->seccomp.localhost_ref = "profiles/audit.json";
    f->sc.seccomp = &f->seccomp;
    f->linux.security_context = &f->sc;
    f->cfg.linux = &f->linux;
}

static const char pod_json[] =
    "{\"metadata\":{\"name\":\"web\",\"uid\":\"uid-1\",\"namespace\":\"default\",\"attempt\":2},"
    "\"hostname\":\"web-0\",\"log_directory\":\"/var/log/pods/default_web_uid-1\","
    "\"dns_config\":{\"servers\":[\"10.96.0.10\",\"8.8.8.8\"],\"searches\":[\"default.svc.cluster.local\"],"
    "\"options\":[\"ndots:5\"]},"
    "\"port_mappings\":[{\"container_port\":80,\"host_port\":8080},"
    "{\"protocol\":1,\"container_port\":53,\"host_port\":5353,\"host_ip\":\"127.0.0.1\"}],"
    "\"labels\":{\"app\":\"web\",\"tier\":\"front \\\"end\\\"\"},"
    "\"annotations\":{\"kubernetes.io/config.source\":\"api\"},"
    "\"linux\":{\"cgroup_parent\":\"/kubepods/besteffort/poduid-1\","
    "\"security_context\":{\"namespace_options\":{\"network\":2,\"pid\":1},\"run_as_user\":{},"
    "\"supplemental_groups\":[1000,3000000000],"
    "\"seccomp\":{\"profile_type\":2,\"localhost_ref\":\"profiles/audit.json\"}},"
    "\"sysctls\":{\"net.ipv4.ip_unprivileged_port_start\":\"0\"}}}";

Test(pbjson, pod_sandbox_config_to_json)
{
    struct pod_fixture f;
    pod_fixture_init(&f);
    char *json = pbjson_to_json(&f.cfg.base);
    cr_assert_not_null(json);
    cr_expect_str_eq(json, pod_json);
    free(json);
}

Test(pbjson, empty_message_is_empty_object)
{
    Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    char *json = pbjson_to_json(&cfg.base);
    cr_assert_str_eq(json, "{}");
    free(json);
}

/* A nested message that is set stays, even when all its fields are defaults. */
Test(pbjson, set_message_with_defaults_is_kept)
{
    Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
    Runtime__V1__LinuxSandboxSecurityContext sc;
    runtime__v1__linux_sandbox_security_context__init(&sc); /* its INIT names a deprecated field: clang warns */
    Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
    Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
    sc.namespace_options = &ns;
    lx.security_context = &sc;
    cfg.linux = &lx;
    char *json = pbjson_to_json(&cfg.base);
    cr_assert_str_eq(json, "{\"linux\":{\"security_context\":{\"namespace_options\":{}}}}");
    free(json);
}

Test(pbjson, int64_extremes_are_exact_numbers)
{
    Runtime__V1__LinuxContainerResources r = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
    r.cpu_quota = -1;
    r.memory_limit_in_bytes = INT64_MAX;
    r.oom_score_adj = INT64_MIN;
    char *json = pbjson_to_json(&r.base);
    cr_expect_str_eq(json, "{\"cpu_quota\":-1,\"memory_limit_in_bytes\":9223372036854775807,"
                           "\"oom_score_adj\":-9223372036854775808}");
    free(json);
    Runtime__V1__UInt64Value u = RUNTIME__V1__UINT64_VALUE__INIT;
    u.value = UINT64_MAX;
    json = pbjson_to_json(&u.base);
    cr_expect_str_eq(json, "{\"value\":18446744073709551615}");
    free(json);
}

Test(pbjson, bytes_are_base64)
{
    static const struct { const char *in, *out; } cases[] = {
        { "f", "\"Zg==\"" }, { "fo", "\"Zm8=\"" }, { "foo", "\"Zm9v\"" }, { "foob", "\"Zm9vYg==\"" },
        { "\xff\xfe\x00", "\"//4A\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Runtime__V1__ExecSyncResponse r = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
        r.stdout.data = (uint8_t *)cases[i].in;
        r.stdout.len = i == 4 ? 3 : strlen(cases[i].in);
        char *json = pbjson_to_json(&r.base);
        char want[64];
        snprintf(want, sizeof want, "{\"stdout\":%s}", cases[i].out);
        cr_expect_str_eq(json, want, "case %zu", i);
        free(json);
    }
}

Test(pbjson, strings_are_escaped)
{
    Runtime__V1__KeyValue kv = RUNTIME__V1__KEY_VALUE__INIT;
    kv.key = "a\"b\\c\n\t\x01";
    kv.value = "caf\xc3\xa9";
    char *json = pbjson_to_json(&kv.base);
    cr_expect_str_eq(json, "{\"key\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"value\":\"caf\xc3\xa9\"}");
    free(json);
}

/* Packs a message into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*n ? *n : 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* to JSON, back from JSON: the same message, byte for byte on the wire. */
static void expect_round_trip(const ProtobufCMessage *m)
{
    char *json = pbjson_to_json(m);
    cr_assert_not_null(json);
    ProtobufCMessage *back = NULL;
    char err[128];
    int r = pbjson_from_json(&back, m->descriptor, json, err, sizeof err);
    cr_assert_eq(r, 0, "%s: %s", json, err);
    size_t n1, n2;
    uint8_t *a = pack(m, &n1), *b = pack(back, &n2);
    cr_expect_eq(n1, n2, "%s", json);
    cr_expect(n1 == n2 && memcmp(a, b, n1) == 0, "round trip differs: %s", json);
    char *again = pbjson_to_json(back);
    cr_expect_str_eq(again, json);
    free(a);
    free(b);
    free(again);
    free(json);
    protobuf_c_message_free_unpacked(back, NULL);
}

Test(pbjson, pod_sandbox_config_round_trip)
{
    struct pod_fixture f;
    pod_fixture_init(&f);
    expect_round_trip(&f.cfg.base);
}

/* Decoding from the wire (as a handler gets it) changes nothing in the JSON. */
Test(pbjson, wire_decoded_message_gives_same_json)
{
    struct pod_fixture f;
    pod_fixture_init(&f);
    size_t n;
    uint8_t *buf = pack(&f.cfg.base, &n);
    ProtobufCMessage *m = protobuf_c_message_unpack(&runtime__v1__pod_sandbox_config__descriptor, NULL, n, buf);
    cr_assert_not_null(m);
    char *json = pbjson_to_json(m);
    cr_expect_str_eq(json, pod_json);
    free(json);
    free(buf);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* A ContainerConfig touching every kind of field: repeated scalars and messages, maps, enums, the odd names. */
struct ctr_fixture {
    Runtime__V1__ContainerConfig c;
    Runtime__V1__ContainerMetadata md;
    Runtime__V1__ImageSpec img;
    char *cmd[3];
    Runtime__V1__KeyValue env, *envp[1];
    Runtime__V1__Mount mnt, *mntp[1];
    Runtime__V1__IDMapping idm, *idmp[1];
    Runtime__V1__CDIDevice cdi, *cdip[1];
    Runtime__V1__LinuxContainerResources res;
    Runtime__V1__HugepageLimit hp, *hpp[1];
    Runtime__V1__LinuxContainerResources__UnifiedEntry u, *up[1];
    Runtime__V1__LinuxContainerConfig lx;
};

static void ctr_fixture_init(struct ctr_fixture *f)
{
    runtime__v1__container_config__init(&f->c);
    runtime__v1__container_metadata__init(&f->md);
    f->md.name = "app";
    f->md.attempt = 1;
    f->c.metadata = &f->md;
    runtime__v1__image_spec__init(&f->img);
    f->img.image = "docker.io/library/busybox:latest";
    f->c.image = &f->img;
    f->cmd[0] = "/bin/sh";
    f->cmd[1] = "-c";
    f->cmd[2] = "echo hi; sleep 1000";
    f->c.n_command = 3;
    f->c.command = f->cmd;
    runtime__v1__key_value__init(&f->env);
    f->env.key = "PATH";
    f->env.value = "/bin";
    f->envp[0] = &f->env;
    f->c.n_envs = 1;
    f->c.envs = f->envp;
    runtime__v1__mount__init(&f->mnt);
    f->mnt.container_path = "/data";
    f->mnt.host_path = "/srv/data";
    f->mnt.readonly = 1;
    f->mnt.propagation = RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL;
    runtime__v1__idmapping__init(&f->idm);
    f->idm.host_id = 100000;
    f->idm.length = 65536;
    f->idmp[0] = &f->idm;
    f->mnt.n_uidmappings = 1;
    f->mnt.uidmappings = f->idmp;
    f->mntp[0] = &f->mnt;
    f->c.n_mounts = 1;
    f->c.mounts = f->mntp;
    runtime__v1__cdidevice__init(&f->cdi);
    f->cdi.name = "vendor.com/gpu=0";
    f->cdip[0] = &f->cdi;
    f->c.n_cdi_devices = 1;
    f->c.cdi_devices = f->cdip;
    runtime__v1__linux_container_resources__init(&f->res);
    f->res.cpu_shares = 512;
    f->res.memory_limit_in_bytes = 64 << 20;
    runtime__v1__hugepage_limit__init(&f->hp);
    f->hp.page_size = "2MB";
    f->hp.limit = 1ULL << 40;
    f->hpp[0] = &f->hp;
    f->res.n_hugepage_limits = 1;
    f->res.hugepage_limits = f->hpp;
    runtime__v1__linux_container_resources__unified_entry__init(&f->u);
    f->u.key = "memory.high";
    f->u.value = "max";
    f->up[0] = &f->u;
    f->res.n_unified = 1;
    f->res.unified = f->up;
    runtime__v1__linux_container_config__init(&f->lx);
    f->lx.resources = &f->res;
    f->c.linux = &f->lx;
    f->c.stop_signal = RUNTIME__V1__SIGNAL__SIGQUIT;
    f->c.tty = 1;
}

Test(pbjson, container_config_round_trip)
{
    struct ctr_fixture f;
    ctr_fixture_init(&f);
    expect_round_trip(&f.c.base);

    /* The odd field names of api.proto are kept as they are written there. */
    char *json = pbjson_to_json(&f.c.base);
    cr_expect(strstr(json, "\"uidMappings\":[{\"host_id\":100000,\"length\":65536}]") != NULL, "%s", json);
    cr_expect(strstr(json, "\"CDI_devices\":[{\"name\":\"vendor.com/gpu=0\"}]") != NULL, "%s", json);
    cr_expect(strstr(json, "\"unified\":{\"memory.high\":\"max\"}") != NULL, "%s", json);
    cr_expect(strstr(json, "\"envs\":[{\"key\":\"PATH\",\"value\":\"/bin\"}]") != NULL, "%s", json);
    cr_expect(strstr(json, "\"stop_signal\":18") != NULL, "%s", json);
    free(json);
}

Test(pbjson, bytes_round_trip)
{
    for (size_t len = 0; len < 8; len++) {
        uint8_t data[8] = { 0xfb, 0xff, 0x00, 0x3e, 'a', 0x80, 0x7f, 0x01 };
        Runtime__V1__ExecSyncResponse r = RUNTIME__V1__EXEC_SYNC_RESPONSE__INIT;
        r.stdout.data = data;
        r.stdout.len = len;
        r.stderr.data = data;
        r.stderr.len = 8 - len;
        r.exit_code = -1;
        expect_round_trip(&r.base);
    }
}

/* What the library may hand back: lowerCamelCase, enum names, int64 strings, nulls, extra keys. */
Test(pbjson, from_json_accepts_protobuf_json_spellings)
{
    const char *json = "{\"containerPath\":\"/data\",\"host_path\":\"/srv\",\"readonly\":true,"
                       "\"propagation\":\"PROPAGATION_HOST_TO_CONTAINER\",\"selinuxRelabel\":null,"
                       "\"uidMappings\":[{\"hostId\":\"100000\",\"containerId\":0,\"length\":65536}],"
                       "\"image\":{\"image\":\"busybox\",\"annotations\":{\"a\":\"b\"}},\"unknown\":[1,2]}";
    ProtobufCMessage *m = NULL;
    char err[128];
    cr_assert_eq(pbjson_from_json(&m, &runtime__v1__mount__descriptor, json, err, sizeof err), 0, "%s", err);
    Runtime__V1__Mount *mnt = (Runtime__V1__Mount *)m;
    cr_expect_str_eq(mnt->container_path, "/data");
    cr_expect_str_eq(mnt->host_path, "/srv");
    cr_expect(mnt->readonly);
    cr_expect(!mnt->selinux_relabel);
    cr_expect_eq(mnt->propagation, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER);
    cr_assert_eq(mnt->n_uidmappings, 1);
    cr_expect_eq(mnt->uidmappings[0]->host_id, 100000);
    cr_expect_eq(mnt->uidmappings[0]->length, 65536);
    cr_expect_eq(mnt->n_gidmappings, 0);
    cr_assert_not_null(mnt->image);
    cr_expect_str_eq(mnt->image->image, "busybox");
    cr_assert_eq(mnt->image->n_annotations, 1);
    cr_expect_str_eq(mnt->image->annotations[0]->key, "a");
    cr_expect_str_eq(mnt->image->annotations[0]->value, "b");
    cr_expect_str_eq(mnt->image_sub_path, "");
    protobuf_c_message_free_unpacked(m, NULL);
}

Test(pbjson, from_json_int64_strings_and_url_safe_base64)
{
    const char *json = "{\"memory_limit_in_bytes\":\"9223372036854775807\",\"cpu_quota\":\"-1\"}";
    ProtobufCMessage *m = NULL;
    cr_assert_eq(pbjson_from_json(&m, &runtime__v1__linux_container_resources__descriptor, json, NULL, 0), 0);
    cr_expect_eq(((Runtime__V1__LinuxContainerResources *)m)->memory_limit_in_bytes, INT64_MAX);
    cr_expect_eq(((Runtime__V1__LinuxContainerResources *)m)->cpu_quota, -1);
    protobuf_c_message_free_unpacked(m, NULL);

    cr_assert_eq(pbjson_from_json(&m, &runtime__v1__exec_sync_response__descriptor,
                                  "{\"stdout\":\"-_8\",\"stderr\":\"Zm9vYg\"}", NULL, 0),
                 0);
    Runtime__V1__ExecSyncResponse *r = (Runtime__V1__ExecSyncResponse *)m;
    cr_assert_eq(r->stdout.len, 2);
    cr_expect_eq(r->stdout.data[0], 0xfb);
    cr_expect_eq(r->stdout.data[1], 0xff);
    cr_assert_eq(r->stderr.len, 4);
    cr_expect(memcmp(r->stderr.data, "foob", 4) == 0);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Each of these fails cleanly, naming the field, and leaks nothing (run under ASan). */
Test(pbjson, from_json_rejects_what_does_not_fit)
{
    static const struct { const char *json, *field; } cases[] = {
        { "{\"metadata\":5}", "metadata" },
        { "{\"metadata\":{\"name\":\"x\",\"attempt\":-1}}", "attempt" },
        { "{\"metadata\":{\"attempt\":4294967296}}", "attempt" },
        { "{\"metadata\":{\"attempt\":1.5}}", "attempt" },
        { "{\"hostname\":true}", "hostname" },
        { "{\"labels\":[\"a\"]}", "labels" },
        { "{\"labels\":{\"a\":\"b\",\"c\":7}}", "value" },
        { "{\"port_mappings\":[{\"protocol\":\"QUIC\"}]}", "protocol" },
        { "{\"port_mappings\":[{\"container_port\":80},null]}", "port_mappings" },
        { "{\"dns_config\":{\"servers\":\"8.8.8.8\"}}", "servers" },
        { "{\"linux\":{\"security_context\":{\"supplemental_groups\":[1,\"x\"]}}}", "supplemental_groups" },
        { "{\"linux\":{\"security_context\":{\"run_as_user\":{\"value\":\"9223372036854775808\"}}}}", "value" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ProtobufCMessage *m = NULL;
        char err[128];
        int r = pbjson_from_json(&m, &runtime__v1__pod_sandbox_config__descriptor, cases[i].json, err, sizeof err);
        cr_expect_eq(r, PBJSON_EINVAL, "case %zu: %s", i, cases[i].json);
        cr_expect_null(m, "case %zu", i);
        cr_expect(strstr(err, cases[i].field) != NULL, "case %zu: error \"%s\" names no %s", i, err, cases[i].field);
    }
    ProtobufCMessage *m = NULL;
    cr_expect_eq(pbjson_from_json(&m, &runtime__v1__pod_sandbox_config__descriptor, "[]", NULL, 0), PBJSON_EINVAL);
    cr_expect_eq(pbjson_from_json(&m, &runtime__v1__pod_sandbox_config__descriptor, "{", NULL, 0), PBJSON_EINVAL);
    cr_expect_eq(pbjson_from_json(&m, &runtime__v1__exec_sync_response__descriptor, "{\"stdout\":\"Zm9v!\"}",
                                  NULL, 0),
                 PBJSON_EINVAL);
    cr_expect_eq(pbjson_from_json(&m, &runtime__v1__exec_sync_response__descriptor, "{\"stdout\":\"Z\"}", NULL, 0),
                 PBJSON_EINVAL);
}

/* The contract with the library: what the converter writes, crio_pod_config_update_json takes whole. */
Test(pbjson, library_takes_the_pod_config_json)
{
    struct pod_fixture f;
    pod_fixture_init(&f);
    char *json = pbjson_to_json(&f.cfg.base);
    crio_pod_config *cfg = NULL;
    cr_assert_eq(crio_pod_config_new(&cfg), 0);
    cr_assert_eq(crio_pod_config_update_json(cfg, json), 0, "%s", crio_error_message(crio_error_last()));
    char *back = NULL;
    cr_assert_eq(crio_pod_config_to_json(&back, cfg), 0);
    cJSON *a = cJSON_Parse(json), *b = cJSON_Parse(back);
    cr_expect(cJSON_Compare(a, b, true), "sent %s\ngot back %s", json, back);
    cJSON_Delete(a);
    cJSON_Delete(b);
    crio_free(back);
    crio_pod_config_free(cfg);
    free(json);
}

Test(pbjson, library_takes_the_container_config_json)
{
    struct ctr_fixture f;
    ctr_fixture_init(&f);
    char *json = pbjson_to_json(&f.c.base);
    crio_container_config *cfg = NULL;
    cr_assert_eq(crio_container_config_new(&cfg), 0);
    cr_assert_eq(crio_container_config_update_json(cfg, json), 0, "%s", crio_error_message(crio_error_last()));
    char *back = NULL;
    cr_assert_eq(crio_container_config_to_json(&back, cfg), 0);
    cJSON *a = cJSON_Parse(json), *b = cJSON_Parse(back);
    cr_expect(cJSON_Compare(a, b, true), "sent %s\ngot back %s", json, back);
    cJSON_Delete(a);
    cJSON_Delete(b);
    crio_free(back);
    crio_container_config_free(cfg);
    free(json);
}
