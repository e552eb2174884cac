/* Unit tests for registries.conf v2 (lib/config/registries.c). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <crio/common.h>

#include "config/registries.h"
#include "image/reference.h"

#define F "registries.conf"
#define SHA256 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static crio_registries *parse(const char *text)
{
    crio_registries *r = NULL;
    int e = crio_registries_parse(&r, text, strlen(text), F);
    cr_assert_eq(e, 0, "<<%s>>: %d %s", text, e, errmsg());
    cr_assert_not_null(r);
    return r;
}

/* Checks that `text` is refused with CRIO_EINVAL and exactly message `want`. */
static void fails(const char *text, const char *want)
{
    crio_registries *r = (crio_registries *)&r; /* must be reset to NULL */
    int e = crio_registries_parse(&r, text, strlen(text), F);
    cr_assert_eq(e, CRIO_EINVAL, "<<%s>>: expected CRIO_EINVAL, got %d", text, e);
    cr_assert_null(r, "<<%s>>: *out not reset", text);
    if (want)
        cr_assert_str_eq(errmsg(), want, "<<%s>>\n got: %s\nwant: %s", text, errmsg(), want);
}

/* The endpoints for a pull, rendered "location [insecure] [mirror], ...". */
static char *eps(const crio_registries *r, const char *name, bool by_digest)
{
    crio_registry_endpoint *ep = (crio_registry_endpoint *)&ep;
    size_t n = 99;
    int e = crio_registries_endpoints(r, name, by_digest, &ep, &n);
    cr_assert_eq(e, 0, "%s: %d %s", name, e, errmsg());
    cr_assert_gt(n, 0);
    static char buf[4][2048];
    static int k;
    char *out = buf[k++ % 4];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(ep[i].location);
        snprintf(out + strlen(out), 2048 - strlen(out), "%s%s%s%s", i ? ", " : "", ep[i].location,
                 ep[i].insecure ? " insecure" : "", ep[i].is_mirror ? " mirror" : "");
    }
    crio_registry_endpoints_free(ep, n);
    return out;
}

#define EPS(r, name, by_digest, want) cr_assert_str_eq(eps(r, name, by_digest), want, "%s", name)

Test(registries, realistic_offline_cluster)
{
    /* A cluster with no internet: public names are served by a plain-HTTP registry on the node. */
    crio_registries *r = parse("# registries.conf for an air-gapped node\n"
                               "unqualified-search-registries = [\"registry.k8s.io\", \"docker.io\"]\n"
                               "short-name-mode = \"enforcing\"\n"
                               "\n"
                               "[[registry]]\n"
                               "prefix = \"registry.k8s.io\"\n"
                               "location = \"registry.k8s.io\"\n"
                               "\n"
                               "[[registry.mirror]]\n"
                               "location = \"127.0.0.1:5000/k8s\"\n"
                               "insecure = true\n"
                               "\n"
                               "[[registry]]\n"
                               "location = \"docker.io\"\n"
                               "\n"
                               "[[registry.mirror]]\n"
                               "location = \"127.0.0.1:5000\"\n"
                               "insecure = true\n");
    cr_assert_eq(crio_registries_search_count(r), 2);
    cr_assert_str_eq(crio_registries_search(r, 0), "registry.k8s.io");
    cr_assert_str_eq(crio_registries_search(r, 1), "docker.io");
    cr_assert_null(crio_registries_search(r, 2));
    cr_assert_str_eq(crio_registries_short_name_mode(r), "enforcing");

    EPS(r, "registry.k8s.io/pause", false, "127.0.0.1:5000/k8s/pause insecure mirror, registry.k8s.io/pause");
    EPS(r, "registry.k8s.io/pause:3.9", false,
        "127.0.0.1:5000/k8s/pause:3.9 insecure mirror, registry.k8s.io/pause:3.9");
    EPS(r, "registry.k8s.io/kube-apiserver@" SHA256, true,
        "127.0.0.1:5000/k8s/kube-apiserver@" SHA256 " insecure mirror, registry.k8s.io/kube-apiserver@" SHA256);
    EPS(r, "quay.io/x/y", false, "quay.io/x/y");

    /* With references: the short name "busybox" resolves through docker.io to the mirror. */
    crio_ref ref;
    cr_assert_eq(crio_ref_parse(&ref, "busybox"), 0);
    char *name = crio_ref_name(&ref);
    EPS(r, name, ref.digest != NULL, "127.0.0.1:5000/library/busybox insecure mirror, docker.io/library/busybox");
    free(name);
    crio_ref_clear(&ref);
    cr_assert_eq(crio_ref_with_domain(&ref, "pause:3.9", crio_registries_search(r, 0)), 0);
    name = crio_ref_name(&ref);
    EPS(r, name, false, "127.0.0.1:5000/k8s/pause insecure mirror, registry.k8s.io/pause");
    free(name);
    crio_ref_clear(&ref);
    crio_registries_free(r);
}

Test(registries, longest_prefix_wins)
{
    crio_registries *r = parse("[[registry]]\nprefix = \"example.com\"\nlocation = \"a.local\"\n"
                               "[[registry]]\nprefix = \"example.com/foo/bar\"\nlocation = \"c.local\"\n"
                               "[[registry]]\nprefix = \"example.com/foo\"\nlocation = \"b.local/x\"\n"
                               "[[registry]]\nprefix = \"example.com/foo\"\nlocation = \"ignored.local\"\n");
    EPS(r, "example.com/foo/bar/baz", false, "c.local/baz");
    EPS(r, "example.com/foo/bar", false, "c.local");
    EPS(r, "example.com/foo/baz", false, "b.local/x/baz");
    EPS(r, "example.com/foo", false, "b.local/x");
    EPS(r, "example.com/other", false, "a.local/other");
    EPS(r, "example.com/foo/barx", false, "b.local/x/barx");
    crio_registries_free(r);
}

Test(registries, prefix_matches_at_component_boundaries)
{
    crio_registries *r = parse("[[registry]]\nprefix = \"example.com/foo\"\nlocation = \"m.local/foo\"\n"
                               "[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n"
                               "[[registry]]\nlocation = \"plain.example\"\ninsecure = true\n");
    EPS(r, "example.com/foo", false, "m.local/foo");
    EPS(r, "example.com/foo/bar", false, "m.local/foo/bar");
    EPS(r, "example.com/foobar", false, "example.com/foobar");
    EPS(r, "example.com/fo", false, "example.com/fo");
    EPS(r, "example.com/foo:tag", false, "m.local/foo:tag");
    EPS(r, "example.com/foo@" SHA256, true, "m.local/foo@" SHA256);
    EPS(r, "localhost:5000/x", false, "localhost:5000/x insecure");
    EPS(r, "localhost:50001/x", false, "localhost:50001/x");
    EPS(r, "localhost/x", false, "localhost/x");
    EPS(r, "plain.example/x", false, "plain.example/x insecure");
    /* After a bare host, ':' is a port, not a boundary. */
    EPS(r, "plain.example:5000/x", false, "plain.example:5000/x");
    EPS(r, "plain.example.evil/x", false, "plain.example.evil/x");
    EPS(r, "plain.exampl/x", false, "plain.exampl/x");
    crio_registries_free(r);
}

Test(registries, wildcard_prefixes)
{
    crio_registries *r = parse("[[registry]]\nprefix = \"*.example.com\"\ninsecure = true\n"
                               "[[registry]]\nprefix = \"*.corp.example\"\nlocation = \"proxy.local\"\n"
                               "[[registry.mirror]]\nlocation = \"mirror.local/cache\"\n"
                               "[[registry]]\nprefix = \"exact.example.com\"\nlocation = \"exact.example.com\"\n");
    EPS(r, "a.example.com/x", false, "a.example.com/x insecure");
    EPS(r, "a.b.example.com:5000/x/y:1", false, "a.b.example.com:5000/x/y:1 insecure");
    EPS(r, "example.com/x", false, "example.com/x");
    EPS(r, "aexample.com/x", false, "aexample.com/x");
    EPS(r, ".example.com/x", false, ".example.com/x");
    EPS(r, "a.example.com.evil/x", false, "a.example.com.evil/x");
    EPS(r, "docker.io/a.example.com/x", false, "docker.io/a.example.com/x");
    /* An exact prefix beats a wildcard matching as much, even when the wildcard comes first. */
    EPS(r, "exact.example.com/x", false, "exact.example.com/x");
    /* A wildcard with a location rewrites the whole host[:port]. */
    EPS(r, "r1.corp.example:5000/ns/app", false, "mirror.local/cache/ns/app mirror, proxy.local/ns/app");
    crio_registries_free(r);
}

Test(registries, blocked)
{
    crio_registries *r = parse("[[registry]]\nlocation = \"evil.example\"\nblocked = true\n"
                               "[[registry]]\nprefix = \"evil.example/allowed\"\nlocation = \"evil.example/allowed\"\n"
                               "[[registry]]\nprefix = \"*.blocked.example\"\nblocked = true\n");
    crio_registry_endpoint *ep = (crio_registry_endpoint *)&ep;
    size_t n = 7;
    cr_assert_eq(crio_registries_endpoints(r, "evil.example/x", false, &ep, &n), CRIO_EPERM);
    cr_assert_null(ep);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(errmsg(), "registry evil.example is blocked in " F);
    cr_assert_eq(crio_registries_endpoints(r, "a.blocked.example/x", true, &ep, &n), CRIO_EPERM);
    cr_assert_str_eq(errmsg(), "registry *.blocked.example is blocked in " F);
    EPS(r, "evil.example/allowed/x", false, "evil.example/allowed/x");
    EPS(r, "evil.example.org/x", false, "evil.example.org/x");
    crio_registries_free(r);
}

Test(registries, mirror_selection_by_tag_or_digest)
{
    crio_registries *r = parse("[[registry]]\nlocation = \"d.example\"\nmirror-by-digest-only = true\n"
                               "[[registry.mirror]]\nlocation = \"m.local/d\"\n"
                               "[[registry]]\nlocation = \"p.example\"\n"
                               "[[registry.mirror]]\nlocation = \"all.local\"\npull-from-mirror = \"all\"\n"
                               "[[registry.mirror]]\nlocation = \"digest.local\"\npull-from-mirror = \"digest-only\"\n"
                               "[[registry.mirror]]\nlocation = \"tag.local\"\npull-from-mirror = \"tag-only\"\n"
                               "insecure = true\n"
                               "[[registry.mirror]]\nlocation = \"default.local\"\n");
    EPS(r, "d.example/app:1", false, "d.example/app:1");
    EPS(r, "d.example/app@" SHA256, true, "m.local/d/app@" SHA256 " mirror, d.example/app@" SHA256);
    EPS(r, "p.example/app", false,
        "all.local/app mirror, tag.local/app insecure mirror, default.local/app mirror, p.example/app");
    EPS(r, "p.example/app", true,
        "all.local/app mirror, digest.local/app mirror, default.local/app mirror, p.example/app");
    crio_registries_free(r);
}

Test(registries, defaults_and_trailing_slashes)
{
    crio_registries *r = parse("[[registry]]\nlocation = \"registry.k8s.io/\"\ninsecure = true\n"
                               "[[registry]]\nprefix = \"a.example/ns/\"\nlocation = \"b.example/other//\"\n"
                               "[[registry.mirror]]\nlocation = \"myregistry:5000/x/\"\n");
    cr_assert_eq(crio_registries_search_count(r), 0);
    cr_assert_str_eq(crio_registries_short_name_mode(r), "permissive");
    EPS(r, "registry.k8s.io/pause", false, "registry.k8s.io/pause insecure");
    EPS(r, "a.example/ns/app", false, "myregistry:5000/x/app mirror, b.example/other/app");
    crio_registries_free(r);
    r = parse("short-name-mode = \"\"\nunqualified-search-registries = []\n");
    cr_assert_str_eq(crio_registries_short_name_mode(r), "permissive");
    crio_registries_free(r);
    r = parse("short-name-mode = \"disabled\"\n");
    cr_assert_str_eq(crio_registries_short_name_mode(r), "disabled");
    crio_registries_free(r);
    r = parse("");
    EPS(r, "docker.io/library/busybox", false, "docker.io/library/busybox");
    crio_registry_endpoint *ep;
    size_t n;
    cr_assert_eq(crio_registries_endpoints(r, "", false, &ep, &n), CRIO_EINVAL);
    cr_assert_null(ep);
    crio_registries_free(r);
    crio_registries_free(NULL);
    crio_registry_endpoints_free(NULL, 0);
}

Test(registries, unknown_keys_name_line_and_column)
{
    fails("[[registry]]\nlocation = \"x.io\"\nbogus = 1\n", F ":3:9: unknown key \"registry.bogus\"");
    fails("unqualified-search-registries = []\nsearch = [\"a\"]\n", F ":2:10: unknown key \"search\"");
    fails("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\nweight = 2\n",
          F ":5:10: unknown key \"registry.mirror.weight\"");
    fails("[aliases]\n\"busybox\" = \"docker.io/library/busybox\"\n", F ":1:1: \"aliases\" is not supported");
    fails("credential-helpers = []\n", F ":1:22: \"credential-helpers\" is not supported");
}

Test(registries, wrong_types)
{
    fails("[[registry]]\nlocation = \"x.io\"\ninsecure = \"yes\"\n",
          F ":3:12: \"registry.insecure\" must be a boolean, not a string");
    fails("[[registry]]\nlocation = 5\n", F ":2:12: \"registry.location\" must be a string, not an integer");
    fails("unqualified-search-registries = \"docker.io\"\n",
          F ":1:33: \"unqualified-search-registries\" must be an array, not a string");
    fails("unqualified-search-registries = [\"docker.io\", 1]\n",
          F ":1:47: \"unqualified-search-registries\" must be an array of strings");
    fails("[registry]\nlocation = \"x.io\"\n", F ":1:1: \"registry\" must be an array of tables ([[registry]])");
    fails("[[registry]]\nlocation = \"x.io\"\n[registry.mirror]\nlocation = \"m.io\"\n",
          F ":3:1: \"registry.mirror\" must be an array of tables ([[registry.mirror]])");
    fails("[[registry]]\nlocation = \"x.io\"\nmirror = [\"m.io\"]\n",
          F ":3:11: \"registry.mirror\" must be an array of tables ([[registry.mirror]])");
    fails("short-name-mode = \"strict\"\n",
          F ":1:19: \"short-name-mode\" must be \"enforcing\", \"permissive\" or \"disabled\", not \"strict\"");
}

Test(registries, invalid_settings)
{
    fails("[[registry]]\nlocation = \"https://x.io\"\n",
          F ":2:12: location \"https://x.io\": URI schemes are not supported");
    fails("[[registry]]\nlocation = \"bad host\"\n",
          F ":2:12: location \"bad host\" is not a valid host[:port][/path]");
    fails("[[registry]]\nlocation = \"x.io/Upper\"\n",
          F ":2:12: location \"x.io/Upper\" is not a valid host[:port][/path]");
    fails("[[registry]]\nprefix = \"x.io//a\"\nlocation = \"x.io\"\n",
          F ":2:10: prefix \"x.io//a\" is not a valid host[:port][/path]");
    fails("[[registry]]\ninsecure = true\n", F ":1:1: a [[registry]] needs a prefix or a location");
    fails("[[registry]]\nprefix = \"x.io\"\n",
          F ":1:1: prefix \"x.io\": a location is needed unless the prefix is a wildcard (\"*.example.com\")");
    fails("[[registry]]\nprefix = \"*.example.com/foo\"\n",
          F ":2:10: prefix \"*.example.com/foo\": a wildcard prefix must be \"*.\" and a domain, as in "
            "\"*.example.com\"");
    fails("[[registry]]\nprefix = \"*example.com\"\n",
          F ":2:10: prefix \"*example.com\": a wildcard prefix must be \"*.\" and a domain, as in \"*.example.com\"");
    fails("[[registry]]\nprefix = \"*.example.com:5000\"\n",
          F ":2:10: prefix \"*.example.com:5000\": a wildcard prefix must be \"*.\" and a domain, as in "
            "\"*.example.com\"");
    fails("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\ninsecure = true\n",
          F ":3:1: a [[registry.mirror]] needs a location");
    fails("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = \"http://m.io\"\n",
          F ":4:12: mirror location \"http://m.io\": URI schemes are not supported");
    fails("[[registry]]\nlocation = \"x.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"some\"\n",
          F ":5:20: \"registry.mirror.pull-from-mirror\" must be \"all\", \"digest-only\" or \"tag-only\", not \"some\"");
    fails("[[registry]]\nlocation = \"x.io\"\nmirror-by-digest-only = true\n"
          "[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"all\"\n",
          F ":4:1: registry \"x.io\": mirror-by-digest-only and the pull-from-mirror of mirror \"m.io\" cannot "
            "both be set");
    fails("[[registry]]\nlocation = \"x.io\"\npull-from-mirror = \"all\"\n",
          F ":3:20: \"pull-from-mirror\" is a setting of a [[registry.mirror]], not of a [[registry]]");
    fails("unqualified-search-registries = [\"docker.io/library\"]\n",
          F ":1:34: unqualified-search-registries: \"docker.io/library\" is not a registry host[:port]");
    fails("[[registry]]\nlocation = \"x.io\"\ninsecure = true\n[[registry]]\nprefix = \"y.io\"\nlocation = \"x.io\"\n",
          F ":4:1: registry \"x.io\" is defined again with a conflicting \"insecure\" setting (first at line 1)");
    fails("[[registry]]\nlocation = \"x.io\"\n[[registry]]\nprefix = \"y.io\"\nlocation = \"x.io\"\nblocked = true\n",
          F ":3:1: registry \"x.io\" is defined again with a conflicting \"blocked\" setting (first at line 1)");
    fails("[[registry]]\nlocation = \"x.io\"\nlocation = \"y.io\"\n", NULL);
}

Test(registries, version_1_format_is_refused)
{
    fails("[registries.search]\nregistries = ['registry1.com', 'registry2.com']\n"
          "[registries.insecure]\nregistries = ['registry3.com']\n",
          F ":1:2: the version 1 format ([registries.search], [registries.insecure], [registries.block]) is not "
            "supported: use unqualified-search-registries and [[registry]] tables");
}

static char dir[64];

static void mkdir_setup(void)
{
    strcpy(dir, "/tmp/crio-registries-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void mkdir_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(registries, load_files, .init = mkdir_setup, .fini = mkdir_teardown)
{
    char path[256];
    crio_registries *r = (crio_registries *)&r;
    snprintf(path, sizeof path, "%s/absent.conf", dir);
    cr_assert_eq(crio_registries_load(&r, path), 0, "%s", errmsg());
    cr_assert_eq(crio_registries_search_count(r), 0);
    cr_assert_str_eq(crio_registries_short_name_mode(r), "permissive");
    EPS(r, "registry.k8s.io/pause", false, "registry.k8s.io/pause");
    crio_registries_free(r);

    snprintf(path, sizeof path, "%s/registries.conf", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("unqualified-search-registries = [\"quay.io\"]\n[[registry]]\nlocation = \"x.io\"\nblocked = true\n", f);
    fclose(f);
    cr_assert_eq(crio_registries_load(&r, path), 0, "%s", errmsg());
    cr_assert_str_eq(crio_registries_search(r, 0), "quay.io");
    crio_registry_endpoint *ep;
    size_t n;
    cr_assert_eq(crio_registries_endpoints(r, "x.io/a", false, &ep, &n), CRIO_EPERM);
    char want[400];
    snprintf(want, sizeof want, "registry x.io is blocked in %s", path);
    cr_assert_str_eq(errmsg(), want);
    crio_registries_free(r);

    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[[registry]]\nlocation = \"x.io\"\n\n  nope = true\n", f);
    fclose(f);
    r = (crio_registries *)&r;
    cr_assert_eq(crio_registries_load(&r, path), CRIO_EINVAL);
    cr_assert_null(r);
    snprintf(want, sizeof want, "%s:4:10: unknown key \"registry.nope\"", path);
    cr_assert_str_eq(errmsg(), want);

    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("[[registry]\n", f);
    fclose(f);
    cr_assert_eq(crio_registries_load(&r, path), CRIO_EINVAL);
    snprintf(want, sizeof want, "%s:1:", path);
    cr_assert(strncmp(errmsg(), want, strlen(want)) == 0, "%s", errmsg());

    /* Only a missing file is an empty configuration. */
    cr_assert_lt(crio_registries_load(&r, dir), 0, "a directory");
    cr_assert_null(r);
    snprintf(path, sizeof path, "%s/registries.conf/sub", dir);
    cr_assert_lt(crio_registries_load(&r, path), 0, "ENOTDIR");
    cr_assert_null(r);
}

Test(registries_legacy, crio_conf_keys_extend_registries_conf)
{
    crio_registries *r = NULL;
    const char *text = "unqualified-search-registries = [\"a.example.com\"]\n";
    cr_assert_eq(crio_registries_parse(&r, text, strlen(text), "r.conf"), 0);
    const char *search[] = { "a.example.com", "127.0.0.1:5000" };
    const char *insecure[] = { "127.0.0.1:5000", "*.lan.example" };
    cr_assert_eq(crio_registries_apply_legacy(r, search, 2, insecure, 2), 0);
    cr_assert_eq(crio_registries_search_count(r), 2, "no duplicates");
    cr_assert_str_eq(crio_registries_search(r, 1), "127.0.0.1:5000");
    crio_registry_endpoint *eps = NULL;
    size_t n = 0;
    cr_assert_eq(crio_registries_endpoints(r, "127.0.0.1:5000/x/y", false, &eps, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(eps[0].insecure);
    crio_registry_endpoints_free(eps, n);
    cr_assert_eq(crio_registries_endpoints(r, "reg.lan.example/x", false, &eps, &n), 0);
    cr_assert(eps[0].insecure);
    crio_registry_endpoints_free(eps, n);
    cr_assert_eq(crio_registries_endpoints(r, "other.example.com/x", false, &eps, &n), 0);
    cr_assert_not(eps[0].insecure);
    crio_registry_endpoints_free(eps, n);
    const char *bad[] = { "http://x" };
    cr_assert_eq(crio_registries_apply_legacy(r, NULL, 0, bad, 1), CRIO_EINVAL);
    crio_registries_free(r);
}
