/*
 * libcrio — configuration: crio.conf, its drop-in directory and overrides.
 *
 * The configuration uses CRI-O's TOML tables and key names where they exist
 * ([crio], [crio.api], [crio.runtime], [crio.runtime.runtimes.NAME],
 * [crio.image], [crio.network]).  Keys are named by their dotted path, e.g.
 * "crio.root", "crio.api.listen", "crio.runtime.runtimes.runc.runtime_path".
 * An unknown key or a value of the wrong type is an error naming it.
 */
#ifndef CRIO_CONFIG_H
#define CRIO_CONFIG_H

#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crio_config crio_config;

/* Default locations. */
#define CRIO_CONFIG_DEFAULT_FILE "/etc/crio/crio.conf"
#define CRIO_CONFIG_DEFAULT_DIR "/etc/crio/crio.conf.d"

/* A configuration holding the built-in defaults.  Free it with crio_config_free(). */
CRIO_API int crio_config_new(crio_config **out);

/*
 * Loads the effective configuration: the defaults, then `file`, then every
 * "*.conf" in `dir` in lexical order, each overriding what came before.
 * NULL means the default path, which may be absent; a path given explicitly
 * must exist.  The result is validated (crio_config_validate).
 * Errors: CRIO_EINVAL naming file, line and column for a syntax error, or the
 * key for an unknown key, a wrong type or an invalid value; the errno of a
 * file that cannot be read.
 */
CRIO_API int crio_config_load(crio_config **out, const char *file, const char *dir);

/*
 * Merges one TOML file (or an in-memory document with crio_config_merge_string)
 * over `cfg`.  On error `cfg` is unchanged.  Errors as crio_config_load.
 */
CRIO_API int crio_config_merge_file(crio_config *cfg, const char *path);
CRIO_API int crio_config_merge_string(crio_config *cfg, const char *toml, const char *name);

/*
 * Sets one key from its text form, as a command-line flag does: strings as
 * is, integers in decimal, booleans as "true"/"false", lists comma-separated.
 * Setting a key under crio.runtime.runtimes.NAME creates that handler.
 * Errors: CRIO_EINVAL for an unknown key or an unparsable value.
 */
CRIO_API int crio_config_set(crio_config *cfg, const char *key, const char *value);

/*
 * Typed getters.  Strings and list items are borrowed from `cfg` until it is
 * changed or freed.  Errors: CRIO_ENOTFOUND for an unknown key, CRIO_EINVAL
 * when the key is of another type.
 */
CRIO_API int crio_config_get_string(const crio_config *cfg, const char *key, const char **out);
CRIO_API int crio_config_get_int(const crio_config *cfg, const char *key, int64_t *out);
CRIO_API int crio_config_get_bool(const crio_config *cfg, const char *key, int *out);
CRIO_API int crio_config_get_list(const crio_config *cfg, const char *key,
                                  const char *const **items, size_t *count);

/* The number of runtime handlers and the name of the i-th (borrowed; NULL past the end). */
CRIO_API size_t crio_config_runtime_count(const crio_config *cfg);
CRIO_API const char *crio_config_runtime_name(const crio_config *cfg, size_t i);

/*
 * Checks values that must agree with each other or with the host's rules
 * (absolute paths, cgroup_manager, default_runtime naming a handler, sizes).
 * Errors: CRIO_EINVAL naming the key.
 */
CRIO_API int crio_config_validate(const crio_config *cfg);

/*
 * The whole configuration as TOML that loads back to the same configuration.
 * The caller frees the string with crio_free().
 */
CRIO_API int crio_config_to_toml(char **out, const crio_config *cfg);

/* A deep copy. */
CRIO_API int crio_config_copy(crio_config **out, const crio_config *cfg);

/* Releases a configuration.  NULL-safe. */
CRIO_API void crio_config_free(crio_config *cfg);

#ifdef __cplusplus
}
#endif

#endif
