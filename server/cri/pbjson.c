/* Generic protobuf-c <-> JSON by descriptor (see pbjson.h for the mapping). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri/pbjson.h"

/* Deeper nesting is refused: no CRI message comes near, and the recursion stays bounded. */
#define MAX_DEPTH 64

/* Where a struct member lives: protobuf-c describes fields by byte offset. */
#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))
#define CMEMBER(type, msg, off) (*(const type *)((const char *)(msg) + (off)))

/* ---- shared ---- */

/* The size of one element of a repeated field, as protobuf-c lays the array out. */
static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int); /* protobuf-c forces every enum to int size */
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

/*
 * Matches the camel case of proto name `name` at the start of `s`:
 * "log_path" as "logPath", or with `upper_first` as "LogPath".  Returns what
 * follows it in `s`, or NULL when `s` does not start so.
 */
static const char *skip_camel(const char *name, const char *s, bool upper_first)
{
    bool up = upper_first;
    for (; *name; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        char want = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        up = false;
        if (*s++ != want)
            return NULL;
    }
    return s;
}

/*
 * protobuf-c has no flag for map fields: a map is a repeated field of an
 * entry type that protoc synthesises, named <CamelCaseField>Entry, nested in
 * the message, with fields key = 1 and value = 2.  All four must hold.
 */
static bool is_map(const ProtobufCFieldDescriptor *f, const ProtobufCMessageDescriptor *parent)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    if (d->n_fields != 2 || d->fields[0].id != 1 || d->fields[1].id != 2 || strcmp(d->fields[0].name, "key") != 0 ||
        strcmp(d->fields[1].name, "value") != 0)
        return false;
    size_t plen = strlen(parent->name);
    if (strncmp(d->name, parent->name, plen) != 0 || d->name[plen] != '.')
        return false;
    const char *rest = skip_camel(f->name, d->short_name, true);
    return rest && strcmp(rest, "Entry") == 0;
}

/* ---- to JSON ---- */

struct out {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory, or nesting too deep */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->failed = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) put_fmt(struct out *o, const char *fmt, ...)
{
    char tmp[64]; /* numbers only: the longest is a %.17g double */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string: quotes, backslashes and control bytes escaped; other bytes as they are. */
static void put_json_string(struct out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    size_t run = 0; /* bytes copied as they are, in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': put_str(o, "\\\""); break;
        case '\\': put_str(o, "\\\\"); break;
        case '\n': put_str(o, "\\n"); break;
        case '\r': put_str(o, "\\r"); break;
        case '\t': put_str(o, "\\t"); break;
        default: put_fmt(o, "\\u%04x", c); break;
        }
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

static void put_base64(struct out *o, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                      i + 2 < n ? tab[v & 63] : '=' };
        put(o, q, 4);
    }
    put(o, "\"", 1);
}

/* Protobuf's JSON mapping spells the non-finite values as strings. */
static void put_double(struct out *o, double v, int digits)
{
    if (isnan(v))
        put_str(o, "\"NaN\"");
    else if (isinf(v))
        put_str(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        put_fmt(o, "%.*g", digits, v);
}

static void put_message(struct out *o, const ProtobufCMessage *m, int depth);

/* One value of field `f` stored at `p` (a singular member or one array element). */
static void put_value(struct out *o, const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: put_fmt(o, "%" PRId32, *(const int32_t *)p); break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: put_fmt(o, "%" PRIu32, *(const uint32_t *)p); break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: put_fmt(o, "%" PRId64, *(const int64_t *)p); break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: put_fmt(o, "%" PRIu64, *(const uint64_t *)p); break;
    case PROTOBUF_C_TYPE_FLOAT: put_double(o, *(const float *)p, 9); break;
    case PROTOBUF_C_TYPE_DOUBLE: put_double(o, *(const double *)p, 17); break;
    case PROTOBUF_C_TYPE_BOOL: put_str(o, *(const protobuf_c_boolean *)p ? "true" : "false"); break;
    case PROTOBUF_C_TYPE_ENUM: put_fmt(o, "%d", *(const int *)p); break;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        put_json_string(o, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        put_base64(o, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (sub)
            put_message(o, sub, depth + 1);
        else
            put_str(o, "{}"); /* a NULL array element or map value: an empty message */
        break;
    }
    }
}

/* A map field as an object; keys that are not strings are quoted, as JSON requires. */
static void put_map(struct out *o, const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *entries, size_t n,
                    int depth)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    put(o, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(o, ",", 1);
        const ProtobufCMessage *e = entries[i];
        if (kf->type == PROTOBUF_C_TYPE_STRING) {
            put_value(o, kf, (const char *)e + kf->offset, depth);
        } else {
            put(o, "\"", 1);
            put_value(o, kf, (const char *)e + kf->offset, depth);
            put(o, "\"", 1);
        }
        put(o, ":", 1);
        put_value(o, vf, (const char *)e + vf->offset, depth);
    }
    put(o, "}", 1);
}

static void put_repeated(struct out *o, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int depth)
{
    size_t n = CMEMBER(size_t, m, f->quantifier_offset);
    const char *arr = CMEMBER(char *, m, f->offset);
    if (is_map(f, m->descriptor)) {
        put_map(o, f, (ProtobufCMessage *const *)(const void *)arr, n, depth);
        return;
    }
    size_t sz = elem_size(f->type);
    put(o, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(o, ",", 1);
        put_value(o, f, arr + i * sz, depth);
    }
    put(o, "]", 1);
}

/* proto3's "no presence": a singular field holding its type's zero value is absent. */
static bool is_zero(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)p == 0;
    case PROTOBUF_C_TYPE_ENUM: return *(const int *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_STRING: return !*(char *const *)p || !**(char *const *)p;
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
    default: return elem_size(f->type) == 4 ? *(const uint32_t *)p == 0 : *(const uint64_t *)p == 0;
    }
}

/* Whether a field is written: the same rules protobuf-c packs by. */
static bool is_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *p = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return CMEMBER(size_t, m, f->quantifier_offset) > 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return CMEMBER(uint32_t, m, f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return true;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const void *v = *(const void *const *)p;
            return v && v != f->default_value;
        }
        return CMEMBER(protobuf_c_boolean, m, f->quantifier_offset) != 0;
    }
    return !is_zero(f, p);
}

static void put_message(struct out *o, const ProtobufCMessage *m, int depth)
{
    if (depth > MAX_DEPTH) {
        o->failed = true;
        return;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    bool first = true;
    put(o, "{", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!is_present(m, f))
            continue;
        if (!first)
            put(o, ",", 1);
        first = false;
        put_json_string(o, f->name, strlen(f->name));
        put(o, ":", 1);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            put_repeated(o, m, f, depth);
        else
            put_value(o, f, (const char *)m + f->offset, depth);
    }
    put(o, "}", 1);
}

char *pbjson_to_json(const ProtobufCMessage *msg)
{
    struct out o = { 0 };
    put_message(&o, msg, 0);
    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}

/* ---- from JSON ---- */

struct in {
    char *err;
    size_t errlen;
};

static int __attribute__((format(printf, 3, 4))) fail(struct in *in, int code, const char *fmt, ...)
{
    if (in->err && in->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(in->err, in->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int build_message(struct in *in, ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                         const cJSON *obj, int depth);

/* Integers from JSON numbers (exact integral values) or decimal strings. */
static int get_int64(const cJSON *v, int64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || (double)(int64_t)d != d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(v->valuestring, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

static int get_uint64(const cJSON *v, uint64_t *out)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0 && d < 18446744073709551616.0) || (double)(uint64_t)d != d)
            return -1;
        *out = (uint64_t)d;
        return 0;
    }
    if (!cJSON_IsString(v) || !*v->valuestring || v->valuestring[0] == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v->valuestring, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

static int get_double(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsString(v))
        return -1;
    if (strcmp(v->valuestring, "NaN") == 0)
        *out = NAN;
    else if (strcmp(v->valuestring, "Infinity") == 0)
        *out = INFINITY;
    else if (strcmp(v->valuestring, "-Infinity") == 0)
        *out = -INFINITY;
    else
        return -1;
    return 0;
}

static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padded or not.  -1 malformed, -2 out of memory. */
static int get_bytes(const cJSON *v, ProtobufCBinaryData *out)
{
    if (!cJSON_IsString(v))
        return -1;
    const char *s = v->valuestring;
    size_t full = strlen(s), n = full;
    while (n && s[n - 1] == '=' && full - n < 2)
        n--;
    if (n % 4 == 1)
        return -1;
    out->len = 0;
    out->data = n ? malloc(n / 4 * 3 + 3) : NULL;
    if (n && !out->data)
        return -2;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int d = b64_digit((unsigned char)s[i]);
        if (d < 0) {
            free(out->data);
            out->data = NULL;
            return -1;
        }
        acc = acc << 6 | (uint32_t)d;
        if (i % 4 == 3) {
            out->data[out->len++] = (uint8_t)(acc >> 16);
            out->data[out->len++] = (uint8_t)(acc >> 8);
            out->data[out->len++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        out->data[out->len++] = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        out->data[out->len++] = (uint8_t)(acc >> 10);
        out->data[out->len++] = (uint8_t)(acc >> 2);
    }
    return 0;
}

static int get_enum(const ProtobufCFieldDescriptor *f, const cJSON *v, int *out)
{
    if (cJSON_IsString(v)) {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, v->valuestring);
        if (!ev)
            return -1;
        *out = ev->value;
        return 0;
    }
    int64_t n;
    /* proto3 enums are open: any int32 is kept, known or not. */
    if (get_int64(v, &n) < 0 || n < INT32_MIN || n > INT32_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

static int get_integer(const ProtobufCFieldDescriptor *f, const cJSON *v, void *p)
{
    int64_t s;
    uint64_t u;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (get_int64(v, &s) < 0 || s < INT32_MIN || s > INT32_MAX)
            return -1;
        *(int32_t *)p = (int32_t)s;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (get_uint64(v, &u) < 0 || u > UINT32_MAX)
            return -1;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (get_int64(v, &s) < 0)
            return -1;
        *(int64_t *)p = s;
        return 0;
    default:
        if (get_uint64(v, &u) < 0)
            return -1;
        *(uint64_t *)p = u;
        return 0;
    }
}

/* Reads one value of field `f` into `p`, which holds that type's zero value. */
static int get_value(struct in *in, const ProtobufCFieldDescriptor *f, const cJSON *v, void *p, int depth)
{
    int r = -1;
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (cJSON_IsBool(v)) {
            *(protobuf_c_boolean *)p = cJSON_IsTrue(v);
            r = 0;
        }
        break;
    case PROTOBUF_C_TYPE_ENUM: r = get_enum(f, v, p); break;
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;
        if ((r = get_double(v, &d)) == 0)
            *(float *)p = (float)d;
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: r = get_double(v, p); break;
    case PROTOBUF_C_TYPE_STRING:
        if (cJSON_IsString(v)) {
            char *s = strdup(v->valuestring);
            if (!s)
                return PBJSON_ENOMEM;
            *(char **)p = s;
            r = 0;
        }
        break;
    case PROTOBUF_C_TYPE_BYTES:
        r = get_bytes(v, p);
        if (r == -2)
            return PBJSON_ENOMEM;
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!cJSON_IsObject(v))
            break;
        return build_message(in, p, f->descriptor, v, depth + 1);
    default: r = get_integer(f, v, p); break;
    }
    return r < 0 ? fail(in, PBJSON_EINVAL, "%s: value does not fit the field's type", f->name) : 0;
}

/* A map key, which JSON always spells as a string. */
static int get_key(struct in *in, const ProtobufCFieldDescriptor *kf, const char *key, void *p)
{
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        char *s = strdup(key);
        if (!s)
            return PBJSON_ENOMEM;
        *(char **)p = s;
        return 0;
    }
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return fail(in, PBJSON_EINVAL, "map key \"%s\" is not a bool", key);
        *(protobuf_c_boolean *)p = key[0] == 't';
        return 0;
    }
    cJSON k = { .type = cJSON_String, .valuestring = (char *)key };
    if (get_integer(kf, &k, p) < 0)
        return fail(in, PBJSON_EINVAL, "map key \"%s\" is not an integer of the key type", key);
    return 0;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (m)
        d->message_init(m);
    return m;
}

/* A map field from an object, one entry per member. */
static int get_map(struct in *in, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const cJSON *obj,
                   int depth)
{
    if (!cJSON_IsObject(obj))
        return fail(in, PBJSON_EINVAL, "%s: expected an object", f->name);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    size_t n = (size_t)cJSON_GetArraySize(obj);
    ProtobufCMessage **arr = n ? calloc(n, sizeof *arr) : NULL;
    if (n && !arr)
        return PBJSON_ENOMEM;
    MEMBER(ProtobufCMessage **, m, f->offset) = arr;
    size_t *count = &MEMBER(size_t, m, f->quantifier_offset);
    for (const cJSON *it = obj->child; it; it = it->next) {
        ProtobufCMessage *e = new_message(ed);
        if (!e)
            return PBJSON_ENOMEM;
        arr[(*count)++] = e; /* owned by `m` from here: freed with it on error */
        int r = get_key(in, &ed->fields[0], it->string, (char *)e + ed->fields[0].offset);
        if (r == 0 && !cJSON_IsNull(it))
            r = get_value(in, &ed->fields[1], it, (char *)e + ed->fields[1].offset, depth);
        if (r < 0)
            return r;
    }
    return 0;
}

static int get_repeated(struct in *in, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const cJSON *arr,
                        int depth)
{
    if (is_map(f, m->descriptor))
        return get_map(in, m, f, arr, depth);
    if (!cJSON_IsArray(arr))
        return fail(in, PBJSON_EINVAL, "%s: expected an array", f->name);
    size_t n = (size_t)cJSON_GetArraySize(arr), sz = elem_size(f->type);
    char *buf = n ? calloc(n, sz) : NULL;
    if (n && !buf)
        return PBJSON_ENOMEM;
    MEMBER(char *, m, f->offset) = buf;
    size_t *count = &MEMBER(size_t, m, f->quantifier_offset);
    for (const cJSON *it = arr->child; it; it = it->next) {
        if (cJSON_IsNull(it))
            return fail(in, PBJSON_EINVAL, "%s: null in an array", f->name);
        int r = get_value(in, f, it, buf + *count * sz, depth);
        if (r < 0)
            return r; /* the failed element holds nothing to free */
        (*count)++;
    }
    return 0;
}

/* Looks a field's member up by its proto name, else by its lowerCamelCase JSON name. */
static bool camel_equal(const char *name, const char *key)
{
    const char *rest = skip_camel(name, key, false);
    return rest && *rest == '\0';
}

static const cJSON *find_member(const cJSON *obj, const char *name)
{
    for (const cJSON *it = obj->child; it; it = it->next)
        if (strcmp(it->string, name) == 0)
            return it;
    for (const cJSON *it = obj->child; it; it = it->next)
        if (camel_equal(name, it->string))
            return it;
    return NULL;
}

static int get_field(struct in *in, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const cJSON *v,
                     int depth)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return get_repeated(in, m, f, v, depth);
    /* A proto2 string default is a static the free must not touch: set a copy over it. */
    if (f->type == PROTOBUF_C_TYPE_STRING)
        MEMBER(char *, m, f->offset) = NULL;
    int r = get_value(in, f, v, (char *)m + f->offset, depth);
    if (f->type == PROTOBUF_C_TYPE_STRING && !MEMBER(char *, m, f->offset))
        MEMBER(const void *, m, f->offset) = f->default_value;
    if (r < 0)
        return r;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        MEMBER(uint32_t, m, f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        MEMBER(protobuf_c_boolean, m, f->quantifier_offset) = 1;
    return 0;
}

static int build_message(struct in *in, ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
                         const cJSON *obj, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(in, PBJSON_EINVAL, "nested deeper than %d levels", MAX_DEPTH);
    ProtobufCMessage *m = new_message(d);
    if (!m)
        return PBJSON_ENOMEM;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const cJSON *v = find_member(obj, d->fields[i].name);
        if (!v || cJSON_IsNull(v))
            continue;
        int r = get_field(in, m, &d->fields[i], v, depth);
        if (r < 0) {
            protobuf_c_message_free_unpacked(m, NULL);
            return r;
        }
    }
    *out = m;
    return 0;
}

int pbjson_from_cjson(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const cJSON *json,
                      char *err, size_t errlen)
{
    struct in in = { .err = err, .errlen = errlen };
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject(json))
        return fail(&in, PBJSON_EINVAL, "%s: expected an object", desc->short_name);
    return build_message(&in, out, desc, json, 0);
}

int pbjson_from_json(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const char *json, char *err,
                     size_t errlen)
{
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        struct in in = { .err = err, .errlen = errlen };
        return fail(&in, PBJSON_EINVAL, "malformed JSON");
    }
    int r = pbjson_from_cjson(out, desc, root, err, errlen);
    cJSON_Delete(root);
    return r;
}
