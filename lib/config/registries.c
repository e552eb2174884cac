/* registries.conf v2: search registries, [[registry]] prefixes, mirrors, rewriting. */
#include "config/registries.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crio/common.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/toml.h"
#include "image/reference.h"

enum pull_from { PULL_ALL, PULL_DIGEST_ONLY, PULL_TAG_ONLY };

struct mirror {
    char *location;
    bool insecure;
    enum pull_from pull;
    bool pull_set; /* pull-from-mirror was written */
};

struct registry {
    char *prefix;
    char *location; /* "" only for a wildcard prefix: no rewriting */
    bool wildcard;  /* prefix is "*.domain" */
    bool insecure, blocked, digest_only;
    struct mirror *mirrors;
    size_t nmirrors;
    int line, column; /* of the [[registry]] header */
};

struct crio_registries {
    char *file;
    char **search;
    size_t nsearch;
    char *short_name_mode; /* NULL: unset */
    struct registry *regs;
    size_t nregs;
};

static void registry_clear(struct registry *g)
{
    free(g->prefix);
    free(g->location);
    for (size_t i = 0; i < g->nmirrors; i++)
        free(g->mirrors[i].location);
    free(g->mirrors);
}

void crio_registries_free(crio_registries *r)
{
    if (!r)
        return;
    free(r->file);
    for (size_t i = 0; i < r->nsearch; i++)
        free(r->search[i]);
    free(r->search);
    free(r->short_name_mode);
    for (size_t i = 0; i < r->nregs; i++)
        registry_clear(&r->regs[i]);
    free(r->regs);
    free(r);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_registries, crio_registries_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(crio_toml, crio_toml_free)

size_t crio_registries_search_count(const crio_registries *r)
{
    return r->nsearch;
}

const char *crio_registries_search(const crio_registries *r, size_t i)
{
    return i < r->nsearch ? r->search[i] : NULL;
}

const char *crio_registries_short_name_mode(const crio_registries *r)
{
    return r->short_name_mode && *r->short_name_mode ? r->short_name_mode : "permissive";
}

/* ---- parsing ---- */

/* "FILE:LINE:COLUMN: message" at value `v`. */
static int err_at(const char *file, const crio_toml *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_at(const char *file, const crio_toml *v, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return crio_error_set(CRIO_EINVAL, "%s:%d:%d: %s", file, v->line, v->column, msg);
}

static const char *a_type(crio_toml_type t)
{
    switch (t) {
    case CRIO_TOML_TABLE: return "a table";
    case CRIO_TOML_ARRAY: return "an array";
    case CRIO_TOML_STRING: return "a string";
    case CRIO_TOML_INT: return "an integer";
    case CRIO_TOML_BOOL: return "a boolean";
    }
    return "?";
}

static int want_type(const char *file, const crio_toml *v, const char *key, crio_toml_type want)
{
    if (v->type == want)
        return 0;
    return err_at(file, v, "\"%s\" must be %s, not %s", key, a_type(want), a_type(v->type));
}

static int get_bool(bool *out, const char *file, const crio_toml *v, const char *key)
{
    int e = want_type(file, v, key, CRIO_TOML_BOOL);
    if (e == 0)
        *out = v->u.boolean;
    return e;
}

static int get_string(char **out, const char *file, const crio_toml *v, const char *key)
{
    int e = want_type(file, v, key, CRIO_TOML_STRING);
    if (e < 0)
        return e;
    char *s = strdup(v->u.str);
    if (!s)
        return crio_error_oom();
    free(*out);
    *out = s;
    return 0;
}

/* Is `s` host[:port][/path[:tag][@digest]] by the reference grammar? */
static bool location_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return crio_ref_domain_valid(s);
    _cleanup_free_ char *domain = strndup(s, (size_t)(slash - s));
    if (!domain || !crio_ref_domain_valid(domain))
        return false;
    /* A host such as "myregistry" is not a domain by Docker's rule: check the path under localhost. */
    _cleanup_free_ char *text = NULL;
    if (asprintf(&text, "%s/%s", crio_ref_is_qualified(s) ? domain : "localhost", slash + 1) < 0)
        return false;
    crio_ref ref;
    if (crio_ref_parse(&ref, text) < 0)
        return false;
    crio_ref_clear(&ref);
    return true;
}

/* Trims trailing '/' and checks a prefix, location or mirror location; `what` names it in messages. */
static int check_location(char *s, const char *what, const char *file, const crio_toml *at)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
        return err_at(file, at, "%s \"%s\": URI schemes are not supported", what, s);
    if (!location_valid(s))
        return err_at(file, at, "%s \"%s\" is not a valid host[:port][/path]", what, s);
    return 0;
}

static bool wildcard_valid(const char *s)
{
    /* "*." + a DNS name, without port or path */
    return strncmp(s, "*.", 2) == 0 && !strchr(s + 2, ':') && crio_ref_domain_valid(s + 2) && s[2] != '[';
}

static int parse_mirror(struct mirror *m, const crio_toml *t, const char *file)
{
    if (t->type != CRIO_TOML_TABLE)
        return err_at(file, t, "\"registry.mirror\" must be an array of tables ([[registry.mirror]])");
    const crio_toml *loc = NULL;
    for (size_t i = 0; i < t->u.table.len; i++) {
        const char *k = t->u.table.keys[i];
        const crio_toml *v = t->u.table.values[i];
        int e;
        if (strcmp(k, "location") == 0) {
            e = get_string(&m->location, file, v, "registry.mirror.location");
            loc = v;
        } else if (strcmp(k, "insecure") == 0) {
            e = get_bool(&m->insecure, file, v, "registry.mirror.insecure");
        } else if (strcmp(k, "pull-from-mirror") == 0) {
            if ((e = want_type(file, v, "registry.mirror.pull-from-mirror", CRIO_TOML_STRING)) < 0)
                return e;
            if (strcmp(v->u.str, "all") == 0)
                m->pull = PULL_ALL;
            else if (strcmp(v->u.str, "digest-only") == 0)
                m->pull = PULL_DIGEST_ONLY;
            else if (strcmp(v->u.str, "tag-only") == 0)
                m->pull = PULL_TAG_ONLY;
            else
                return err_at(file, v,
                              "\"registry.mirror.pull-from-mirror\" must be \"all\", \"digest-only\" or "
                              "\"tag-only\", not \"%s\"", v->u.str);
            m->pull_set = true;
        } else {
            return err_at(file, v, "unknown key \"registry.mirror.%s\"", k);
        }
        if (e < 0)
            return e;
    }
    if (!m->location || !*m->location)
        return err_at(file, loc ? loc : t, "a [[registry.mirror]] needs a location");
    return check_location(m->location, "mirror location", file, loc);
}

static int parse_registry(struct registry *g, const crio_toml *t, const char *file)
{
    if (t->type != CRIO_TOML_TABLE)
        return err_at(file, t, "\"registry\" must be an array of tables ([[registry]])");
    g->line = t->line;
    g->column = t->column;
    const crio_toml *prefix = NULL, *location = NULL, *mirrors = NULL;
    for (size_t i = 0; i < t->u.table.len; i++) {
        const char *k = t->u.table.keys[i];
        const crio_toml *v = t->u.table.values[i];
        int e;
        if (strcmp(k, "prefix") == 0) {
            e = get_string(&g->prefix, file, v, "registry.prefix");
            prefix = v;
        } else if (strcmp(k, "location") == 0) {
            e = get_string(&g->location, file, v, "registry.location");
            location = v;
        } else if (strcmp(k, "insecure") == 0) {
            e = get_bool(&g->insecure, file, v, "registry.insecure");
        } else if (strcmp(k, "blocked") == 0) {
            e = get_bool(&g->blocked, file, v, "registry.blocked");
        } else if (strcmp(k, "mirror-by-digest-only") == 0) {
            e = get_bool(&g->digest_only, file, v, "registry.mirror-by-digest-only");
        } else if (strcmp(k, "mirror") == 0) {
            if (v->type != CRIO_TOML_ARRAY)
                return err_at(file, v, "\"registry.mirror\" must be an array of tables ([[registry.mirror]])");
            mirrors = v;
            e = 0;
        } else if (strcmp(k, "pull-from-mirror") == 0) {
            return err_at(file, v, "\"pull-from-mirror\" is a setting of a [[registry.mirror]], not of a "
                                   "[[registry]]");
        } else {
            return err_at(file, v, "unknown key \"registry.%s\"", k);
        }
        if (e < 0)
            return e;
    }

    if (g->location && *g->location) {
        int e = check_location(g->location, "location", file, location);
        if (e < 0)
            return e;
    }
    bool has_location = g->location && *g->location;
    if (!g->prefix || !*g->prefix) {
        if (!has_location)
            return err_at(file, t, "a [[registry]] needs a prefix or a location");
        free(g->prefix);
        if (!(g->prefix = strdup(g->location)))
            return crio_error_oom();
    } else if (strncmp(g->prefix, "*", 1) == 0) {
        if (!wildcard_valid(g->prefix))
            return err_at(file, prefix, "prefix \"%s\": a wildcard prefix must be \"*.\" and a domain, "
                                        "as in \"*.example.com\"", g->prefix);
        g->wildcard = true;
    } else {
        int e = check_location(g->prefix, "prefix", file, prefix);
        if (e < 0)
            return e;
        if (!has_location)
            return err_at(file, location ? location : t,
                          "prefix \"%s\": a location is needed unless the prefix is a wildcard (\"*.example.com\")",
                          g->prefix);
    }
    if (!g->location && !(g->location = strdup("")))
        return crio_error_oom();

    if (mirrors) {
        if (mirrors->u.array.len && !(g->mirrors = calloc(mirrors->u.array.len, sizeof *g->mirrors)))
            return crio_error_oom();
        for (size_t i = 0; i < mirrors->u.array.len; i++) {
            g->nmirrors = i + 1;
            struct mirror *m = &g->mirrors[i];
            int e = parse_mirror(m, mirrors->u.array.items[i], file);
            if (e < 0)
                return e;
            if (g->digest_only && m->pull_set)
                return err_at(file, mirrors->u.array.items[i],
                              "registry \"%s\": mirror-by-digest-only and the pull-from-mirror of mirror "
                              "\"%s\" cannot both be set", g->prefix, m->location);
        }
    }
    return 0;
}

/* The same registry (by location, or by prefix without one) must not be both insecure and not, or blocked and not. */
static int check_conflicts(const crio_registries *r)
{
    for (size_t i = 0; i < r->nregs; i++) {
        const struct registry *a = &r->regs[i];
        const char *ka = *a->location ? a->location : a->prefix;
        for (size_t j = 0; j < i; j++) {
            const struct registry *b = &r->regs[j];
            const char *kb = *b->location ? b->location : b->prefix;
            if (strcmp(ka, kb) != 0)
                continue;
            const char *what = a->insecure != b->insecure ? "insecure" : a->blocked != b->blocked ? "blocked" : NULL;
            if (what)
                return crio_error_set(CRIO_EINVAL,
                                      "%s:%d:%d: registry \"%s\" is defined again with a conflicting \"%s\" "
                                      "setting (first at line %d)",
                                      r->file, a->line, a->column, ka, what, b->line);
        }
    }
    return 0;
}

static int parse_search(crio_registries *r, const crio_toml *v, const char *file)
{
    int e = want_type(file, v, "unqualified-search-registries", CRIO_TOML_ARRAY);
    if (e < 0)
        return e;
    if (v->u.array.len && !(r->search = calloc(v->u.array.len, sizeof(char *))))
        return crio_error_oom();
    for (size_t i = 0; i < v->u.array.len; i++) {
        const crio_toml *it = v->u.array.items[i];
        if (it->type != CRIO_TOML_STRING)
            return err_at(file, it, "\"unqualified-search-registries\" must be an array of strings");
        if (!crio_ref_domain_valid(it->u.str))
            return err_at(file, it, "unqualified-search-registries: \"%s\" is not a registry host[:port]",
                          it->u.str);
        if (!(r->search[i] = strdup(it->u.str)))
            return crio_error_oom();
        r->nsearch = i + 1;
    }
    return 0;
}

static int parse_root(crio_registries *r, const crio_toml *root, const char *file)
{
    for (size_t i = 0; i < root->u.table.len; i++) {
        const char *k = root->u.table.keys[i];
        const crio_toml *v = root->u.table.values[i];
        int e = 0;
        if (strcmp(k, "unqualified-search-registries") == 0) {
            e = parse_search(r, v, file);
        } else if (strcmp(k, "short-name-mode") == 0) {
            if ((e = get_string(&r->short_name_mode, file, v, "short-name-mode")) < 0)
                return e;
            const char *m = r->short_name_mode;
            if (*m && strcmp(m, "enforcing") != 0 && strcmp(m, "permissive") != 0 && strcmp(m, "disabled") != 0)
                return err_at(file, v,
                              "\"short-name-mode\" must be \"enforcing\", \"permissive\" or \"disabled\", not \"%s\"",
                              m);
        } else if (strcmp(k, "registry") == 0) {
            if (v->type != CRIO_TOML_ARRAY)
                return err_at(file, v, "\"registry\" must be an array of tables ([[registry]])");
            if (v->u.array.len && !(r->regs = calloc(v->u.array.len, sizeof *r->regs)))
                return crio_error_oom();
            for (size_t j = 0; j < v->u.array.len && e == 0; j++) {
                r->nregs = j + 1;
                e = parse_registry(&r->regs[j], v->u.array.items[j], file);
            }
        } else if (strcmp(k, "registries") == 0) {
            return err_at(file, v,
                          "the version 1 format ([registries.search], [registries.insecure], "
                          "[registries.block]) is not supported: use unqualified-search-registries and "
                          "[[registry]] tables");
        } else if (strcmp(k, "aliases") == 0 || strcmp(k, "credential-helpers") == 0 ||
                   strcmp(k, "additional-layer-store-auth-helper") == 0) {
            return err_at(file, v, "\"%s\" is not supported", k);
        } else {
            return err_at(file, v, "unknown key \"%s\"", k);
        }
        if (e < 0)
            return e;
    }
    return check_conflicts(r);
}

static int registries_new(crio_registries **out, const char *name)
{
    crio_registries *r = calloc(1, sizeof *r);
    if (!r || !(r->file = strdup(name))) {
        free(r);
        return crio_error_oom();
    }
    *out = r;
    return 0;
}

int crio_registries_parse(crio_registries **out, const char *text, size_t len, const char *name)
{
    *out = NULL;
    if (!name)
        name = "<string>";
    _cleanup_(crio_toml_freep) crio_toml *root = NULL;
    int e = crio_toml_parse(&root, text, len, name);
    if (e < 0)
        return e;
    _cleanup_(crio_registries_freep) crio_registries *r = NULL;
    if ((e = registries_new(&r, name)) < 0 || (e = parse_root(r, root, name)) < 0)
        return e;
    *out = TAKE_PTR(r);
    return 0;
}

int crio_registries_load(crio_registries **out, const char *path)
{
    *out = NULL;
    _cleanup_(crio_toml_freep) crio_toml *root = NULL;
    int e = crio_toml_parse_file(&root, path);
    if (e < 0 && crio_error_errno(crio_error_last()) == ENOENT)
        return registries_new(out, path);
    if (e < 0)
        return e;
    _cleanup_(crio_registries_freep) crio_registries *r = NULL;
    if ((e = registries_new(&r, path)) < 0 || (e = parse_root(r, root, path)) < 0)
        return e;
    *out = TAKE_PTR(r);
    return 0;
}

/* ---- matching and rewriting ---- */

/* How much of `name` the registry's prefix matches; 0: it does not. */
static size_t match_len(const struct registry *g, const char *name)
{
    if (g->wildcard) {
        const char *suffix = g->prefix + 1; /* ".example.com" */
        size_t sl = strlen(suffix);
        size_t hl = strcspn(name, "/@"); /* host[:port] */
        const char *colon = memchr(name, ':', hl);
        size_t host = colon ? (size_t)(colon - name) : hl;
        if (host <= sl || memcmp(name + host - sl, suffix, sl) != 0)
            return 0;
        return hl;
    }
    size_t pl = strlen(g->prefix);
    if (strncmp(name, g->prefix, pl) != 0)
        return 0;
    char c = name[pl];
    if (c == '\0' || c == '/')
        return pl;
    /* After a repository path, ':' and '@' start a tag or digest; after a bare host, ':' is a port. */
    if ((c == ':' || c == '@') && strchr(g->prefix, '/'))
        return pl;
    return 0;
}

static int add_endpoint(crio_registry_endpoint *eps, size_t *n, const char *location, const char *rest,
                        bool insecure, bool is_mirror)
{
    crio_registry_endpoint *ep = &eps[*n];
    if (asprintf(&ep->location, "%s%s", location, rest) < 0) {
        ep->location = NULL;
        return crio_error_oom();
    }
    ep->insecure = insecure;
    ep->is_mirror = is_mirror;
    (*n)++;
    return 0;
}

void crio_registry_endpoints_free(crio_registry_endpoint *eps, size_t n)
{
    if (!eps)
        return;
    for (size_t i = 0; i < n; i++)
        free(eps[i].location);
    free(eps);
}

int crio_registries_endpoints(const crio_registries *r, const char *name, bool by_digest,
                              crio_registry_endpoint **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!name || !*name)
        return crio_error_set(CRIO_EINVAL, "registries: empty image name");
    const struct registry *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < r->nregs; i++) {
        const struct registry *g = &r->regs[i];
        size_t l = match_len(g, name);
        if (l == 0)
            continue;
        if (!best || l > best_len || (l == best_len && best->wildcard && !g->wildcard)) {
            best = g;
            best_len = l;
        }
    }
    if (best && best->blocked)
        return crio_error_set(CRIO_EPERM, "registry %s is blocked in %s", best->prefix, r->file);

    size_t cap = 1 + (best ? best->nmirrors : 0), count = 0;
    crio_registry_endpoint *eps = calloc(cap, sizeof *eps);
    if (!eps)
        return crio_error_oom();
    int e = 0;
    if (!best) {
        e = add_endpoint(eps, &count, name, "", false, false);
    } else {
        const char *rest = name + best_len;
        bool use_mirrors = !best->digest_only || by_digest;
        for (size_t i = 0; use_mirrors && i < best->nmirrors && e == 0; i++) {
            const struct mirror *m = &best->mirrors[i];
            if ((m->pull == PULL_DIGEST_ONLY && !by_digest) || (m->pull == PULL_TAG_ONLY && by_digest))
                continue;
            e = add_endpoint(eps, &count, m->location, rest, m->insecure, true);
        }
        if (e == 0) {
            if (*best->location)
                e = add_endpoint(eps, &count, best->location, rest, best->insecure, false);
            else
                e = add_endpoint(eps, &count, name, "", best->insecure, false);
        }
    }
    if (e < 0) {
        crio_registry_endpoints_free(eps, count);
        return e;
    }
    *out = eps;
    *n = count;
    return 0;
}

int crio_registries_apply_legacy(crio_registries *r, const char *const *search, size_t nsearch,
                                 const char *const *insecure, size_t ninsecure)
{
    for (size_t i = 0; i < nsearch; i++) {
        if (!crio_ref_domain_valid(search[i]))
            return crio_error_set(CRIO_EINVAL, "[crio.image] registries: \"%s\" is not a registry host", search[i]);
        bool have = false;
        for (size_t k = 0; k < r->nsearch; k++)
            have |= !strcmp(r->search[k], search[i]);
        if (have)
            continue;
        char **ns = realloc(r->search, (r->nsearch + 1) * sizeof *ns);
        if (!ns)
            return crio_error_oom();
        r->search = ns;
        if (!(r->search[r->nsearch] = strdup(search[i])))
            return crio_error_oom();
        r->nsearch++;
    }
    for (size_t i = 0; i < ninsecure; i++) {
        const char *p = insecure[i];
        if (!*p || strstr(p, "://"))
            return crio_error_set(CRIO_EINVAL, "[crio.image] insecure_registries: \"%s\" is not a registry prefix", p);
        struct registry *g = NULL;
        for (size_t k = 0; k < r->nregs; k++)
            if (!strcmp(r->regs[k].prefix, p))
                g = &r->regs[k];
        if (!g) {
            struct registry *nr = realloc(r->regs, (r->nregs + 1) * sizeof *nr);
            if (!nr)
                return crio_error_oom();
            r->regs = nr;
            g = &r->regs[r->nregs];
            memset(g, 0, sizeof *g);
            if (!(g->prefix = strdup(p)) || !(g->location = strdup(p))) {
                free(g->prefix);
                return crio_error_oom();
            }
            g->wildcard = p[0] == '*';
            if (g->wildcard) {
                free(g->location);
                if (!(g->location = strdup("")))
                    return crio_error_oom();
            }
            r->nregs++;
        }
        g->insecure = true;
    }
    return 0;
}
