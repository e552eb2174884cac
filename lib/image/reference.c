/* Image references: parsing, validation and Docker-style normalisation. */
#include "image/reference.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define TAG_MAX 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_word(char c) { return is_alnum(c) || c == '_'; }
static bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

static bool has_upper(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return true;
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )* */
static bool component_valid(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !is_lower_alnum(s[0]))
        return false;
    while (i < n) {
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == n)
            return true;
        /* a separator, then at least one alphanumeric */
        if (s[i] == '.')
            i++;
        else if (s[i] == '_')
            i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-')
            while (i < n && s[i] == '-')
                i++;
        else
            return false;
        if (i == n || !is_lower_alnum(s[i]))
            return false;
    }
    return true;
}

/* [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9] */
static bool host_label_valid(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool domain_valid_n(const char *s, size_t n)
{
    size_t host_end;
    if (n > 0 && s[0] == '[') {
        /* "[" [A-Fa-f0-9:]+ "]" */
        size_t i = 1;
        while (i < n && (is_hex(s[i]) || s[i] == ':'))
            i++;
        if (i == 1 || i >= n || s[i] != ']')
            return false;
        host_end = i + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        host_end = colon ? (size_t)(colon - s) : n;
        size_t start = 0;
        for (size_t i = 0; i <= host_end; i++) {
            if (i == host_end || s[i] == '.') {
                if (!host_label_valid(s + start, i - start))
                    return false;
                start = i + 1;
            }
        }
    }
    if (host_end == n)
        return true;
    return s[host_end] == ':' && all_digits(s + host_end + 1, n - host_end - 1);
}

bool crio_ref_domain_valid(const char *domain)
{
    return domain && domain_valid_n(domain, strlen(domain));
}

bool crio_digest_valid(const char *digest)
{
    size_t hexlen;
    if (!digest)
        return false;
    if (strncmp(digest, "sha256:", 7) == 0)
        hexlen = 64;
    else if (strncmp(digest, "sha512:", 7) == 0)
        hexlen = 128;
    else
        return false;
    const char *hex = digest + 7;
    for (size_t i = 0; i < hexlen; i++)
        if (!is_lower_hex(hex[i]))
            return false;
    return hex[hexlen] == '\0';
}

/* Docker's rule: is the first of the name's components (before a '/') a registry domain? */
static bool first_is_domain(const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    if (!slash)
        return false;
    size_t fl = (size_t)(slash - s);
    return memchr(s, '.', fl) || memchr(s, ':', fl) || (fl == 9 && memcmp(s, "localhost", 9) == 0) ||
           has_upper(s, fl);
}

bool crio_ref_is_qualified(const char *text)
{
    return text && first_is_domain(text, strlen(text));
}

void crio_ref_clear(crio_ref *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof *r);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(crio_ref, crio_ref_clear)

/* The text shown in messages is capped: a reference can come from anywhere. */
#define SHOWN 300

static int invalid(const char *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int invalid(const char *text, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return crio_error_set(CRIO_EINVAL, "invalid reference \"%.*s%s\": %s", SHOWN, text,
                          strlen(text) > SHOWN ? "..." : "", reason);
}

/* Checks the part after '@'; `text` is the whole reference (for messages). */
static int check_digest(const char *text, const char *d)
{
    const char *colon = strchr(d, ':');
    if (!*d)
        return invalid(text, "'@' with no digest");
    if (!colon || colon == d)
        return invalid(text, "invalid digest \"%.*s\": want algorithm:hex", SHOWN, d);
    size_t al = (size_t)(colon - d);
    size_t hexlen = al == 6 && memcmp(d, "sha256", 6) == 0   ? 64
                    : al == 6 && memcmp(d, "sha512", 6) == 0 ? 128
                                                             : 0;
    if (!hexlen)
        return invalid(text, "unsupported digest algorithm \"%.*s\"", (int)(al < 64 ? al : 64), d);
    if (!crio_digest_valid(d))
        return invalid(text, "invalid digest \"%.*s\": %.6s needs %zu lowercase hex digits", SHOWN, d, d,
                       hexlen);
    return 0;
}

static bool tag_valid(const char *t, size_t n)
{
    if (n == 0 || n > TAG_MAX || !is_word(t[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
            return false;
    return true;
}

/*
 * Parses `text`; `domain` forces the registry (crio_ref_with_domain) instead
 * of Docker's rule.  `shown` is the text errors quote.
 */
static int parse(crio_ref *out, const char *text, const char *domain, const char *shown)
{
    _cleanup_(crio_ref_clearp) crio_ref *ref = out;
    memset(out, 0, sizeof *out);

    size_t len = strlen(text);
    if (len == 0)
        return invalid(shown, "empty reference");
    if (len == 64) {
        size_t i = 0;
        while (i < 64 && is_lower_hex(text[i]))
            i++;
        if (i == 64)
            return invalid(shown, "a 64-character hexadecimal string is an image ID, not a name");
    }

    /* name [":" tag] ["@" digest] */
    const char *at = strchr(text, '@');
    size_t nlen = at ? (size_t)(at - text) : len;
    if (at) {
        int e = check_digest(shown, at + 1);
        if (e < 0)
            return e;
    }
    const char *name = text;
    const char *slash = memrchr(name, '/', nlen);
    if (!slash && nlen > 0 && name[0] == '[')
        return invalid(shown, "registry address with no repository");
    const char *tag = NULL;
    size_t tlen = 0;
    const char *colon = memrchr(name, ':', nlen);
    if (colon && (!slash || colon > slash)) {
        tag = colon + 1;
        tlen = nlen - (size_t)(tag - name);
        nlen = (size_t)(colon - name);
        if (tlen == 0)
            return invalid(shown, "':' with no tag");
        if (!slash && all_digits(tag, tlen) &&
            (memchr(name, '.', nlen) || (nlen == 9 && memcmp(name, "localhost", 9) == 0)))
            return invalid(shown, "registry address with no repository");
        if (!tag_valid(tag, tlen))
            return invalid(shown, "invalid tag \"%.*s\"", (int)(tlen < SHOWN ? tlen : SHOWN), tag);
    }
    if (nlen == 0)
        return invalid(shown, "no repository name");

    /* domain "/" path */
    const char *path = name;
    size_t plen = nlen;
    size_t dlen;
    if (domain) {
        dlen = strlen(domain);
    } else if (first_is_domain(name, nlen)) {
        domain = name;
        dlen = (size_t)((const char *)memchr(name, '/', nlen) - name);
        path = name + dlen + 1;
        plen = nlen - dlen - 1;
        if (!domain_valid_n(domain, dlen))
            return invalid(shown, "invalid registry domain \"%.*s\"", (int)(dlen < SHOWN ? dlen : SHOWN),
                           domain);
    } else {
        domain = DEFAULT_DOMAIN;
        dlen = strlen(DEFAULT_DOMAIN);
    }
    if (dlen == strlen(LEGACY_DEFAULT_DOMAIN) && memcmp(domain, LEGACY_DEFAULT_DOMAIN, dlen) == 0) {
        domain = DEFAULT_DOMAIN;
        dlen = strlen(DEFAULT_DOMAIN);
    }
    if (plen == 0)
        return invalid(shown, "no repository path after the registry");
    if (has_upper(path, plen))
        return invalid(shown, "repository name must be lowercase");
    for (size_t start = 0, i = 0; i <= plen; i++) {
        if (i < plen && path[i] != '/')
            continue;
        if (i == start)
            return invalid(shown, "empty path component");
        if (!component_valid(path + start, i - start))
            return invalid(shown, "invalid path component \"%.*s\"",
                           (int)(i - start < SHOWN ? i - start : SHOWN), path + start);
        start = i + 1;
    }
    bool official = dlen == strlen(DEFAULT_DOMAIN) && memcmp(domain, DEFAULT_DOMAIN, dlen) == 0 &&
                    !memchr(path, '/', plen);
    size_t full = dlen + 1 + (official ? strlen(OFFICIAL_PREFIX) : 0) + plen;
    if (full > CRIO_REF_NAME_MAX)
        return invalid(shown, "repository name must not be more than %d characters", CRIO_REF_NAME_MAX);

    if (!(ref->domain = strndup(domain, dlen)))
        return crio_error_oom();
    if (asprintf(&ref->path, "%s%.*s", official ? OFFICIAL_PREFIX : "", (int)plen, path) < 0) {
        ref->path = NULL;
        return crio_error_oom();
    }
    if (tag || !at) {
        if (!(ref->tag = tag ? strndup(tag, tlen) : strdup("latest")))
            return crio_error_oom();
    }
    if (at && !(ref->digest = strdup(at + 1)))
        return crio_error_oom();
    ref = NULL; /* success: keep *out */
    return 0;
}

int crio_ref_parse(crio_ref *out, const char *text)
{
    if (!text)
        text = "";
    return parse(out, text, NULL, text);
}

int crio_ref_with_domain(crio_ref *out, const char *text, const char *domain)
{
    memset(out, 0, sizeof *out);
    if (!text)
        text = "";
    if (crio_ref_is_qualified(text))
        return invalid(text, "already names a registry");
    if (!crio_ref_domain_valid(domain))
        return invalid(text, "invalid registry domain \"%.*s\"", SHOWN, domain ? domain : "");
    return parse(out, text, domain, text);
}

char *crio_ref_name(const crio_ref *r)
{
    char *s;
    return asprintf(&s, "%s/%s", r->domain, r->path) < 0 ? NULL : s;
}

char *crio_ref_string(const crio_ref *r)
{
    char *s;
    return asprintf(&s, "%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                    r->digest ? "@" : "", r->digest ? r->digest : "") < 0
               ? NULL
               : s;
}
