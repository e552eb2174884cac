#include "base/json.h"

#include <errno.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

int crio_json_parse(cJSON **out, const char *text, size_t len, size_t max, const char *what)
{
    if (len > max)
        return crio_error_set(CRIO_EINVAL, "%s: %zu bytes is over the limit of %zu", what, len, max);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        size_t off = end ? (size_t)(end - text) : 0;
        return crio_error_set(CRIO_EINVAL, "%s: invalid JSON near byte %zu", what, off);
    }
    *out = j;
    return 0;
}

int crio_json_read_file(cJSON **out, const char *path, size_t max)
{
    _cleanup_free_ char *buf = NULL;
    size_t len;
    int r = crio_fs_read_file(&buf, &len, path, max);
    if (r < 0)
        return r;
    return crio_json_parse(out, buf, len, max, path);
}

static int write_json(const char *path, const cJSON *json, mode_t mode, bool durable)
{
    _cleanup_free_ char *text = cJSON_PrintUnformatted(json);
    if (!text)
        return crio_error_oom();
    return durable ? crio_fs_write_atomic(path, text, strlen(text), mode)
                   : crio_fs_write_atomic_volatile(path, text, strlen(text), mode);
}

int crio_json_write_file(const char *path, const cJSON *json, mode_t mode)
{
    return write_json(path, json, mode, true);
}

int crio_json_write_file_volatile(const char *path, const cJSON *json, mode_t mode)
{
    return write_json(path, json, mode, false);
}

const char *crio_json_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t crio_json_int(const cJSON *obj, const char *key, int64_t def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    /* In range first (NaN fails both comparisons), then integral: no libm needed. */
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return def;
    return (int64_t)v->valuedouble;
}

bool crio_json_bool(const cJSON *obj, const char *key, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

bool crio_json_add_string(cJSON *obj, const char *key, const char *value)
{
    return !value || cJSON_AddStringToObject(obj, key, value) != NULL;
}
