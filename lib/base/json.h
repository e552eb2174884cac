/* cJSON helpers: bounded parsing, typed lookups, atomic files. */
#ifndef CRIO_BASE_JSON_H
#define CRIO_BASE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON, cJSON_Delete)
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

/*
 * Parses `len` bytes of JSON.  `what` names the document in errors
 * ("manifest sha256:..").  Errors: CRIO_EINVAL for bad JSON (with the offset)
 * or a document over `max` bytes; CRIO_ENOMEM.
 */
int crio_json_parse(cJSON **out, const char *text, size_t len, size_t max, const char *what);

/* Reads and parses a file of at most `max` bytes. */
int crio_json_read_file(cJSON **out, const char *path, size_t max);

/* Writes `json` to `path` atomically (see crio_fs_write_atomic). */
int crio_json_write_file(const char *path, const cJSON *json, mode_t mode);
/* The same without the fsyncs (see crio_fs_write_atomic_volatile). */
int crio_json_write_file_volatile(const char *path, const cJSON *json, mode_t mode);

/* Typed member lookups: NULL / `def` when the member is absent or of another type. */
const char *crio_json_string(const cJSON *obj, const char *key);
int64_t crio_json_int(const cJSON *obj, const char *key, int64_t def);
bool crio_json_bool(const cJSON *obj, const char *key, bool def);

/* Adds a string member unless `value` is NULL; returns false on out-of-memory. */
bool crio_json_add_string(cJSON *obj, const char *key, const char *value);

#endif
