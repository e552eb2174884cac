/* Object ids: 64 lower-case hex characters from getrandom, found by unique prefix. */
#ifndef CRIO_BASE_ID_H
#define CRIO_BASE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define CRIO_ID_LEN 64

/* Writes a new random id and its NUL into `out`.  Errors: the getrandom errno. */
int crio_id_new(char out[CRIO_ID_LEN + 1]);

/* True when `id` is exactly 64 lower-case hex characters. */
bool crio_id_valid(const char *id);

/*
 * Finds the one id in `ids` that equals `prefix` or starts with it.
 * `*match` borrows the entry from `ids`.
 * Errors: CRIO_EINVAL for an empty or non-hex prefix, or one that matches
 * several ids (the message names two of them); CRIO_ENOTFOUND when none matches.
 */
int crio_id_lookup_prefix(const char **match, const char *prefix, const char *const *ids, size_t n);

#endif
