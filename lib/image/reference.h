/*
 * Image references, per the Docker/OCI distribution reference grammar:
 *
 *     reference  := name [ ":" tag ] [ "@" digest ]
 *     name       := [ domain "/" ] component ( "/" component )*
 *     domain     := host [ ":" port ]          host: DNS name, or "[" IPv6 "]"
 *     component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )*
 *     tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *     digest     := "sha256:" 64 lowercase hex  |  "sha512:" 128 lowercase hex
 *
 * and normalised as Docker does: the first component is a domain only when
 * the name has a '/' after it and it is "localhost", contains '.' or ':', or
 * has an uppercase letter; otherwise the domain is "docker.io", where a
 * one-component path gets "library/" ("busybox" -> docker.io/library/busybox).
 * "index.docker.io" is "docker.io".  A reference with neither tag nor digest
 * gets the tag "latest"; one with a digest keeps only what it names.  The
 * name (domain "/" path) is at most 255 characters.
 *
 * One rule is stricter than Docker: a text without '/' that has the shape of
 * a registry address, "localhost:5000", "10.0.0.1:5000", "registry.local:5000"
 * or "[::1]:5000", is refused ("registry address with no repository") instead
 * of becoming the image docker.io/library/10.0.0.1 with tag "5000".
 */
#ifndef CRIO_IMAGE_REFERENCE_H
#define CRIO_IMAGE_REFERENCE_H

#include <stdbool.h>

#define CRIO_REF_NAME_MAX 255

typedef struct {
    char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
    char *path;   /* "library/busybox" */
    char *tag;    /* "latest"; NULL when the reference has only a digest */
    char *digest; /* "sha256:<hex>", or NULL */
} crio_ref;

/*
 * Parses and normalises `text`.  On error *out is zeroed and the error is
 * CRIO_EINVAL "invalid reference \"TEXT\": REASON" (or CRIO_ENOMEM).
 */
int crio_ref_parse(crio_ref *out, const char *text);

/*
 * Whether `text` names its registry explicitly (Docker's rule above), i.e.
 * whether unqualified-search-registries apply to it.  A syntactic test only:
 * it says nothing of the text's validity.
 */
bool crio_ref_is_qualified(const char *text);

/*
 * Parses an unqualified `text` ("busybox", "user/app:1.0") as a name in
 * registry `domain` ("quay.io", "127.0.0.1:5000"): the "library/" rule
 * applies only when `domain` is docker.io (or index.docker.io).
 * Errors as crio_ref_parse; CRIO_EINVAL also when `text` is qualified or
 * `domain` is not a valid host[:port].
 */
int crio_ref_with_domain(crio_ref *out, const char *text, const char *domain);

/* "domain/path[:tag][@digest]"; malloc'd, NULL on out-of-memory. */
char *crio_ref_string(const crio_ref *r);

/* "domain/path"; malloc'd, NULL on out-of-memory. */
char *crio_ref_name(const crio_ref *r);

/* Frees the fields and zeroes them.  NULL-safe; safe on a zeroed crio_ref. */
void crio_ref_clear(crio_ref *r);

/* "sha256:" + 64 lowercase hex digits, or "sha512:" + 128. */
bool crio_digest_valid(const char *digest);

/* A registry address: host[:port], host a DNS name or a bracketed IPv6 literal. */
bool crio_ref_domain_valid(const char *domain);

#endif
