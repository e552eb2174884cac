/*
 * registries.conf, version 2 (containers-registries.conf(5)): the subset
 * libcrio uses.
 *
 *     unqualified-search-registries = ["registry.example.com", "docker.io"]
 *     short-name-mode = "enforcing" | "permissive" | "disabled"
 *
 *     [[registry]]
 *     prefix = "registry.k8s.io"          # optional: defaults to location
 *     location = "registry.k8s.io"        # may be empty only for a "*.domain" prefix
 *     insecure = false
 *     blocked = false
 *     mirror-by-digest-only = false
 *     [[registry.mirror]]
 *     location = "127.0.0.1:5000/k8s"
 *     insecure = true
 *     pull-from-mirror = "all" | "digest-only" | "tag-only"
 *
 * Strict: an unknown key, a value of the wrong type, an invalid location and
 * the version 1 format ([registries.search] ...) are errors naming
 * file:line:column.  Not supported: [aliases], credential-helpers,
 * additional-layer-store-auth-helper and registries.conf.d drop-ins.
 *
 * Matching: a [[registry]] applies to a name when its prefix is the name, or
 * a leading part of it ending at a '/' ("example.com/foo" matches
 * "example.com/foo" and "example.com/foo/bar", not "example.com/foobar"); a
 * prefix that has a repository path also ends at a ':' or '@' (its tag or
 * digest).  "*.example.com" matches any host under example.com, with any
 * port ("a.example.com", "a.b.example.com:5000/x"; not "example.com").  The
 * longest match wins (an exact prefix over a wildcard one of the same length,
 * then the first in the file).  The matched part is replaced by `location`
 * (by each mirror's location for the mirrors); a "*.domain" prefix with no
 * location keeps the name as it is.
 */
#ifndef CRIO_CONFIG_REGISTRIES_H
#define CRIO_CONFIG_REGISTRIES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct crio_registries crio_registries;

/*
 * Loads `path`.  A file that does not exist gives an empty configuration,
 * as in CRI-O.  Errors: CRIO_EINVAL "FILE:LINE:COLUMN: ..."; the read error.
 */
int crio_registries_load(crio_registries **out, const char *path);

/* Parses `len` bytes of `text`; `name` is the file name messages use. */
int crio_registries_parse(crio_registries **out, const char *text, size_t len, const char *name);

void crio_registries_free(crio_registries *r);

/* unqualified-search-registries, in order ("host[:port]"). */
size_t crio_registries_search_count(const crio_registries *r);
const char *crio_registries_search(const crio_registries *r, size_t i); /* NULL past the end */

/* short-name-mode: "enforcing", "permissive" or "disabled"; "permissive" when unset or empty. */
const char *crio_registries_short_name_mode(const crio_registries *r);

typedef struct {
    char *location; /* the rewritten name to pull: "host[:port]/path" (+ the input's tag or digest) */
    bool insecure;  /* plain HTTP or an unverified certificate is allowed */
    bool is_mirror;
} crio_registry_endpoint;

/*
 * The endpoints to try, in order, to pull `name`: a normalised name
 * ("docker.io/library/busybox"; a ":tag" or "@digest" suffix is allowed and
 * kept in each location) pulled by digest or not.  The mirrors of the
 * matching [[registry]] that apply to this pull come first (by a digest:
 * all but "tag-only" ones; by a tag: none with mirror-by-digest-only, else
 * all but "digest-only" ones), then the primary location.  A name no
 * [[registry]] matches gives one endpoint: itself, secure.  *out is freed
 * with crio_registry_endpoints_free.
 * Errors: CRIO_EPERM "registry PREFIX is blocked in FILE"; CRIO_EINVAL for
 * an empty name; CRIO_ENOMEM.
 */
int crio_registries_endpoints(const crio_registries *r, const char *name, bool by_digest,
                              crio_registry_endpoint **out, size_t *n);
/*
 * Applies crio.conf's older [crio.image] keys: `registries` are appended to
 * the unqualified-search list; each `insecure_registries` prefix is marked
 * insecure (a [[registry]] of that exact prefix is added when there is none).
 * Errors: CRIO_EINVAL naming a malformed entry.
 */
int crio_registries_apply_legacy(crio_registries *r, const char *const *search, size_t nsearch,
                                 const char *const *insecure, size_t ninsecure);

void crio_registry_endpoints_free(crio_registry_endpoint *eps, size_t n);

#endif
