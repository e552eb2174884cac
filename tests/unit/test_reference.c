/* Unit tests for image references (lib/image/reference.c). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crio/common.h>

#include "image/reference.h"

#define SHA256 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA512                                                                                   \
    "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                    \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *errmsg(void)
{
    return crio_error_message(crio_error_last());
}

static void eq_or_null(const char *got, const char *want, const char *what, const char *text)
{
    if (!want)
        cr_assert_null(got, "%s: %s is \"%s\", want NULL", text, what, got);
    else {
        cr_assert_not_null(got, "%s: %s is NULL, want \"%s\"", text, what, want);
        cr_assert_str_eq(got, want, "%s: %s", text, what);
    }
}

/* Parses `text` and checks every field and the canonical string. */
static void ok(const char *text, const char *domain, const char *path, const char *tag, const char *digest)
{
    crio_ref r;
    int e = crio_ref_parse(&r, text);
    cr_assert_eq(e, 0, "\"%s\": %d %s", text, e, errmsg());
    eq_or_null(r.domain, domain, "domain", text);
    eq_or_null(r.path, path, "path", text);
    eq_or_null(r.tag, tag, "tag", text);
    eq_or_null(r.digest, digest, "digest", text);

    char want[1024];
    snprintf(want, sizeof want, "%s/%s%s%s%s%s", domain, path, tag ? ":" : "", tag ? tag : "",
             digest ? "@" : "", digest ? digest : "");
    char *s = crio_ref_string(&r);
    cr_assert_str_eq(s, want);
    /* The canonical string is a fixed point. */
    crio_ref again;
    cr_assert_eq(crio_ref_parse(&again, s), 0, "%s: %s", s, errmsg());
    char *s2 = crio_ref_string(&again);
    cr_assert_str_eq(s2, s);
    char *name = crio_ref_name(&r);
    snprintf(want, sizeof want, "%s/%s", domain, path);
    cr_assert_str_eq(name, want);
    free(name);
    free(s);
    free(s2);
    crio_ref_clear(&again);
    crio_ref_clear(&r);
    cr_assert_null(r.domain);
    cr_assert_null(r.path);
}

/* Checks that `text` is refused with CRIO_EINVAL, *out zeroed; `reason` exact when not NULL. */
static void bad(const char *text, const char *reason)
{
    crio_ref r = { (char *)"x", (char *)"y", (char *)"z", (char *)"w" }; /* must be zeroed */
    int e = crio_ref_parse(&r, text);
    cr_assert_eq(e, CRIO_EINVAL, "\"%s\": expected CRIO_EINVAL, got %d", text, e);
    cr_assert_eq(crio_error_code(crio_error_last()), CRIO_EINVAL);
    cr_assert(!r.domain && !r.path && !r.tag && !r.digest, "\"%s\": *out not zeroed on error", text);
    char prefix[600];
    snprintf(prefix, sizeof prefix, "invalid reference \"%s\": ", text);
    if (strlen(text) < 300)
        cr_assert(strncmp(errmsg(), prefix, strlen(prefix)) == 0, "\"%s\": message %s", text, errmsg());
    if (reason) {
        char want[1024];
        snprintf(want, sizeof want, "%s%s", prefix, reason);
        cr_assert_str_eq(errmsg(), want);
    }
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

Test(reference, docker_hub_normalisation)
{
    ok("busybox", "docker.io", "library/busybox", "latest", NULL);
    ok("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL);
    ok("user/app", "docker.io", "user/app", "latest", NULL);
    ok("user/app:v2", "docker.io", "user/app", "v2", NULL);
    ok("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL);
    ok("docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL);
    ok("docker.io/user/app", "docker.io", "user/app", "latest", NULL);
    ok("index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL);
    ok("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", NULL);
    ok("index.docker.io/user/app", "docker.io", "user/app", "latest", NULL);
    ok("docker.io/a/b/c", "docker.io", "a/b/c", "latest", NULL);
    /* Docker's grammar: with no '/' the text is a repository, whatever it looks like. */
    ok("localhost", "docker.io", "library/localhost", "latest", NULL);
    ok("host:5000", "docker.io", "library/host", "5000", NULL);
    ok("example.com", "docker.io", "library/example.com", "latest", NULL);
    /* Not a domain: no '.', ':' or uppercase, not localhost. */
    ok("my-registry/app", "docker.io", "my-registry/app", "latest", NULL);
}

Test(reference, other_registries)
{
    ok("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", NULL);
    ok("quay.io/a/b/c:v1", "quay.io", "a/b/c", "v1", NULL);
    ok("gcr.io/project/img", "gcr.io", "project/img", "latest", NULL);
    ok("Example.COM/app", "Example.COM", "app", "latest", NULL);
    ok("Registry/app", "Registry", "app", "latest", NULL); /* uppercase first component: a domain */
    ok("a-b.c-d.example/x", "a-b.c-d.example", "x", "latest", NULL);
    ok("1.2.3.4/x", "1.2.3.4", "x", "latest", NULL);
}

Test(reference, ports_localhost_ipv6)
{
    ok("localhost/foo", "localhost", "foo", "latest", NULL);
    ok("localhost:5000/foo/bar:t", "localhost:5000", "foo/bar", "t", NULL);
    ok("127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", NULL);
    ok("127.0.0.1:5000/library/busybox:1.36", "127.0.0.1:5000", "library/busybox", "1.36", NULL);
    ok("registry.example.com:443/ns/app", "registry.example.com:443", "ns/app", "latest", NULL);
    ok("myhost:5000/app", "myhost:5000", "app", "latest", NULL);
    ok("[::1]:5000/x", "[::1]:5000", "x", "latest", NULL);
    ok("[::1]/x:tag", "[::1]", "x", "tag", NULL);
    ok("[fe80::1:AbCd]:5000/ns/x", "[fe80::1:AbCd]:5000", "ns/x", "latest", NULL);
    ok("[2001:db8::1]:5000/x@" SHA256, "[2001:db8::1]:5000", "x", NULL, SHA256);
}

Test(reference, path_components)
{
    ok("a/b", "docker.io", "a/b", "latest", NULL);
    ok("foo_bar/a__b/c-d/e--f/g.h", "docker.io", "foo_bar/a__b/c-d/e--f/g.h", "latest", NULL);
    ok("example.com/0/9a/z0", "example.com", "0/9a/z0", "latest", NULL);
    ok("example.com/a---b", "example.com", "a---b", "latest", NULL);
}

Test(reference, tags)
{
    ok("busybox:_x", "docker.io", "library/busybox", "_x", NULL);
    ok("busybox:X.Y-z_1", "docker.io", "library/busybox", "X.Y-z_1", NULL);
    ok("busybox:1", "docker.io", "library/busybox", "1", NULL);
    char *t = repeat('a', 128), text[200];
    snprintf(text, sizeof text, "busybox:%s", t);
    ok(text, "docker.io", "library/busybox", t, NULL);
    snprintf(text, sizeof text, "busybox:%sa", t);
    bad(text, NULL);
    free(t);
}

Test(reference, digests)
{
    ok("busybox@" SHA256, "docker.io", "library/busybox", NULL, SHA256);
    ok("busybox:1.36@" SHA256, "docker.io", "library/busybox", "1.36", SHA256);
    ok("quay.io/a/b@" SHA512, "quay.io", "a/b", NULL, SHA512);
    ok("localhost:5000/x:t@" SHA256, "localhost:5000", "x", "t", SHA256);

    cr_assert(crio_digest_valid(SHA256));
    cr_assert(crio_digest_valid(SHA512));
    cr_assert_not(crio_digest_valid(NULL));
    cr_assert_not(crio_digest_valid(""));
    cr_assert_not(crio_digest_valid("sha256:"));
    cr_assert_not(crio_digest_valid(SHA256 "0"), "65 digits");
    cr_assert_not(crio_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"),
                  "63 digits");
    cr_assert_not(crio_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"),
                  "uppercase hex");
    cr_assert_not(crio_digest_valid("sha256:g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    cr_assert_not(crio_digest_valid("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                  "sha512 with 64 digits");
    cr_assert_not(crio_digest_valid("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    cr_assert_not(crio_digest_valid("sha384:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                                    "0123456789abcdef0123456789abcdef"));
    cr_assert_not(crio_digest_valid("md5:0123456789abcdef0123456789abcdef"));
}

Test(reference, invalid_exact_reasons)
{
    bad("", "empty reference");
    bad("Busybox", "repository name must be lowercase");
    bad("docker.io/Library/busybox", "repository name must be lowercase");
    bad("user/App:1", "repository name must be lowercase");
    bad("busybox:", "':' with no tag");
    bad("busybox@", "'@' with no digest");
    bad("busybox:@" SHA256, "':' with no tag");
    bad("busybox:-x", "invalid tag \"-x\"");
    bad("busybox:a+b", "invalid tag \"a+b\"");
    bad("a//b", "empty path component");
    bad("example.com//x", "empty path component");
    bad("/busybox", "empty path component");
    bad("busybox/", "empty path component");
    bad("example.com/", "no repository path after the registry");
    bad(":tag", "no repository name");
    bad("@" SHA256, "no repository name");
    bad("busybox@sha256:abc", "invalid digest \"sha256:abc\": sha256 needs 64 lowercase hex digits");
    bad("busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm \"md5\"");
    bad("busybox@0123456789abcdef", "invalid digest \"0123456789abcdef\": want algorithm:hex");
    bad("busybox@:0123456789abcdef", "invalid digest \":0123456789abcdef\": want algorithm:hex");
    bad("exa_mple.com/x", "invalid registry domain \"exa_mple.com\"");
    bad("a/b c", "invalid path component \"b c\"");
    bad("localhost:5000", "registry address with no repository");
    bad("127.0.0.1:5000", "registry address with no repository");
    bad("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "a 64-character hexadecimal string is an image ID, not a name");
}

Test(reference, invalid_domains)
{
    bad("registry.example.com:5000", "registry address with no repository");
    bad("localhost:5000@" SHA256, "registry address with no repository");
    bad("[::1]:5000", "registry address with no repository");
    bad("[::1]", "registry address with no repository");
    bad("-bad.com/x", "invalid registry domain \"-bad.com\"");
    bad("bad-.com/x", "invalid registry domain \"bad-.com\"");
    bad("a..b/x", "invalid registry domain \"a..b\"");
    bad(".example.com/x", "invalid registry domain \".example.com\"");
    bad("host:/x", "invalid registry domain \"host:\"");
    bad("host:50a0/x", "invalid registry domain \"host:50a0\"");
    bad("host:5000:6000/x", "invalid registry domain \"host:5000:6000\"");
    bad("[::g]:5000/x", "invalid registry domain \"[::g]:5000\"");
    bad("[]:5000/x", "invalid registry domain \"[]:5000\"");
    bad("[::1/x", "invalid registry domain \"[::1\"");
    bad("[::1]x/y", "invalid registry domain \"[::1]x\"");
    bad("busybox:a/b", "invalid registry domain \"busybox:a\"");
    cr_assert(crio_ref_domain_valid("a"));
    cr_assert(crio_ref_domain_valid("127.0.0.1:5000"));
    cr_assert(crio_ref_domain_valid("[::1]:5000"));
    cr_assert(crio_ref_domain_valid("Host-1.Example"));
    cr_assert_not(crio_ref_domain_valid(""));
    cr_assert_not(crio_ref_domain_valid(NULL));
    cr_assert_not(crio_ref_domain_valid("a/b"));
    cr_assert_not(crio_ref_domain_valid("a b"));
    cr_assert_not(crio_ref_domain_valid("a:"));
    cr_assert_not(crio_ref_domain_valid("http://a"));
}

Test(reference, invalid_paths_and_tags)
{
    bad("a/-b", "invalid path component \"-b\"");
    bad("a/b-", "invalid path component \"b-\"");
    bad("a/b..c", "invalid path component \"b..c\"");
    bad("a/b___c", "invalid path component \"b___c\"");
    bad("a/.b", "invalid path component \".b\"");
    bad("a/b_", "invalid path component \"b_\"");
    bad("a/b.-c", "invalid path component \"b.-c\"");
    bad("a/i-_j", "invalid path component \"i-_j\"");
    bad("busybox:tag:tag2", "invalid path component \"busybox:tag\"");
    bad("busybox:.x", "invalid tag \".x\"");
    bad("busybox:x y", "invalid tag \"x y\"");
    bad("busybox@" SHA256 "@" SHA256, NULL);
    bad("busybox@" SHA256 ":tag", NULL);
    bad("busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL);
    bad("busybox@" SHA256 "0", NULL);
    bad("busybox@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL);
    bad("busybox:1 ", NULL);
    bad(" busybox", NULL);
    bad("busy\nbox", NULL);
}

Test(reference, name_length)
{
    /* example.com/ is 12 characters: 243 more make 255. */
    char *p = repeat('a', 243), text[400];
    snprintf(text, sizeof text, "example.com/%s", p);
    char want[300];
    snprintf(want, sizeof want, "%s", p);
    ok(text, "example.com", want, "latest", NULL);
    snprintf(text, sizeof text, "example.com/%sa", p);
    bad(text, "repository name must not be more than 255 characters");
    free(p);
    /* docker.io/library/ (18) counts: 237 more make 255. */
    p = repeat('b', 237);
    snprintf(want, sizeof want, "library/%s", p);
    ok(p, "docker.io", want, "latest", NULL);
    snprintf(text, sizeof text, "%sb", p);
    bad(text, "repository name must not be more than 255 characters");
    free(p);
    /* A very long text is quoted shortened in the message. */
    p = repeat('c', 5000);
    bad(p, NULL);
    cr_assert(strlen(errmsg()) < 500, "%zu", strlen(errmsg()));
    cr_assert(strstr(errmsg(), "...\": repository name must not be more than 255 characters"), "%s", errmsg());
    free(p);
}

Test(reference, is_qualified)
{
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        { "busybox", false },
        { "busybox:1", false },
        { "user/app", false },
        { "my-registry/app", false },
        { "localhost", false },
        { "example.com", false },
        { "host:5000", false },
        { "busybox@" SHA256, false },
        { "", false },
        { "localhost/app", true },
        { "localhost:5000/app", true },
        { "example.com/app", true },
        { "docker.io/busybox", true },
        { "host:5000/app", true },
        { "[::1]/app", true },
        { "Registry/app", true },
        { "localhostx/app", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(crio_ref_is_qualified(cases[i].text), cases[i].want, "\"%s\"", cases[i].text);
    cr_assert_not(crio_ref_is_qualified(NULL));
}

static void with_domain_ok(const char *text, const char *domain, const char *want)
{
    crio_ref r;
    int e = crio_ref_with_domain(&r, text, domain);
    cr_assert_eq(e, 0, "%s in %s: %s", text, domain, errmsg());
    char *s = crio_ref_string(&r);
    cr_assert_str_eq(s, want);
    free(s);
    crio_ref_clear(&r);
}

Test(reference, with_domain)
{
    with_domain_ok("busybox", "quay.io", "quay.io/busybox:latest");
    with_domain_ok("busybox", "docker.io", "docker.io/library/busybox:latest");
    with_domain_ok("busybox", "index.docker.io", "docker.io/library/busybox:latest");
    with_domain_ok("user/app:1", "docker.io", "docker.io/user/app:1");
    with_domain_ok("user/app:1", "127.0.0.1:5000", "127.0.0.1:5000/user/app:1");
    with_domain_ok("busybox@" SHA256, "myregistry", "myregistry/busybox@" SHA256);
    with_domain_ok("busybox", "[::1]:5000", "[::1]:5000/busybox:latest");

    crio_ref r = { (char *)"x", NULL, NULL, NULL };
    cr_assert_eq(crio_ref_with_domain(&r, "quay.io/busybox", "docker.io"), CRIO_EINVAL);
    cr_assert_null(r.domain);
    cr_assert_str_eq(errmsg(), "invalid reference \"quay.io/busybox\": already names a registry");
    cr_assert_eq(crio_ref_with_domain(&r, "busybox", "bad domain"), CRIO_EINVAL);
    cr_assert_str_eq(errmsg(), "invalid reference \"busybox\": invalid registry domain \"bad domain\"");
    cr_assert_eq(crio_ref_with_domain(&r, "busybox", "quay.io/ns"), CRIO_EINVAL);
    cr_assert_eq(crio_ref_with_domain(&r, "busybox", NULL), CRIO_EINVAL);
    cr_assert_eq(crio_ref_with_domain(&r, "Busybox", "quay.io"), CRIO_EINVAL);
    cr_assert_str_eq(errmsg(), "invalid reference \"Busybox\": repository name must be lowercase");
    cr_assert_eq(crio_ref_with_domain(&r, "", "quay.io"), CRIO_EINVAL);
    cr_assert_eq(crio_ref_with_domain(&r, "localhost:5000", "quay.io"), CRIO_EINVAL);
    /* The 255-character limit counts the search registry. */
    char *p = repeat('a', 256 - strlen("quay.io/") - 1), text[300];
    with_domain_ok(p, "quay.io", (snprintf(text, sizeof text, "quay.io/%s:latest", p), text));
    snprintf(text, sizeof text, "%sa", p);
    cr_assert_eq(crio_ref_with_domain(&r, text, "quay.io"), CRIO_EINVAL);
    cr_assert_null(r.path);
    free(p);
}

Test(reference, clear_is_safe)
{
    crio_ref r = { 0 };
    crio_ref_clear(&r);
    crio_ref_clear(NULL);
    cr_assert_eq(crio_ref_parse(&r, "busybox"), 0);
    crio_ref_clear(&r);
    crio_ref_clear(&r);
    cr_assert_null(r.tag);
    cr_assert_eq(crio_ref_parse(&r, NULL), CRIO_EINVAL);
    cr_assert_str_eq(errmsg(), "invalid reference \"\": empty reference");
}
