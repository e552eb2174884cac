/*
 * crioctl: JSON (a cJSON tree) to a protobuf-c message, driven by the
 * message's descriptor.
 *
 * The tree is encoded to the protobuf wire format and unpacked by protobuf-c
 * rather than written into the C structs directly: protobuf-c then owns every
 * allocation, and the result is freed like any unpacked message, whatever
 * the field layout (oneofs, optional scalars, maps).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbjson_in.h"

/* Largest config file read (a pod config is a few kilobytes). */
#define MAX_FILE_SIZE ((size_t)16 * 1024 * 1024)

/* Integers a double holds exactly: beyond, a JSON number has lost digits. */
#define MAX_EXACT_DOUBLE 9007199254740992.0

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2, WIRE_32BIT = 5 };

/* ---- The output buffer ---- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static void wb_put(struct wbuf *b, const void *data, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void wb_varint(struct wbuf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;

    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    wb_put(b, tmp, n);
}

static void wb_tag(struct wbuf *b, uint32_t id, unsigned wire)
{
    wb_varint(b, (uint64_t)id << 3 | wire);
}

static void wb_le(struct wbuf *b, uint64_t v, size_t n)
{
    uint8_t tmp[8];

    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    wb_put(b, tmp, n);
}

/* Appends an integer field: `fixed` (4 or 8) little-endian bytes for the
 * fixed-width types, else 0 for a varint. */
static void wb_int_field(struct wbuf *b, uint32_t id, size_t fixed, uint64_t v)
{
    if (fixed) {
        wb_tag(b, id, fixed == 4 ? WIRE_32BIT : WIRE_64BIT);
        wb_le(b, v, fixed);
    } else {
        wb_tag(b, id, WIRE_VARINT);
        wb_varint(b, v);
    }
}

/* Appends a length-delimited field holding `sub`'s bytes. */
static void wb_sub(struct wbuf *b, uint32_t id, const struct wbuf *sub)
{
    if (sub->oom) {
        b->oom = true;
        return;
    }
    wb_tag(b, id, WIRE_LEN);
    wb_varint(b, sub->len);
    wb_put(b, sub->p, sub->len);
}

/* ---- Conversion state and errors ---- */

struct conv {
    const char *source;
    char path[1024];  /* "linux.security_context.sysctls[\"a\"]" */
    size_t path_len;
    bool path_cut;    /* the path did not fit */
    char *err;
    int rc;
    int depth;
};

__attribute__((format(printf, 2, 3))) static int fail(struct conv *c, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    int n;

    if (c->err) /* the first error is the one to report */
        return -1;
    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        c->rc = -ENOMEM;
        return -1;
    }
    if (c->path_len)
        n = asprintf(&c->err, "%s: %s%s: %s", c->source, c->path, c->path_cut ? "..." : "", msg);
    else
        n = asprintf(&c->err, "%s: %s", c->source, msg);
    if (n < 0)
        c->err = NULL;
    free(msg);
    c->rc = -EINVAL;
    return -1;
}

static int fail_oom(struct conv *c)
{
    c->rc = -ENOMEM;
    return -1;
}

/* Appends to the path; returns the length to restore with path_pop. */
__attribute__((format(printf, 2, 3))) static size_t path_push(struct conv *c, const char *fmt, ...)
{
    size_t old = c->path_len, room = sizeof(c->path) - old;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(c->path + old, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        c->path[old] = '\0';
        c->path_cut = true;
    } else {
        c->path_len += (size_t)n;
    }
    return old;
}

static void path_pop(struct conv *c, size_t old)
{
    c->path_len = old;
    c->path[old] = '\0';
}

static size_t push_field(struct conv *c, const char *name)
{
    return path_push(c, c->path_len ? ".%s" : "%s", name);
}

/* What an item is, for "expected X, got Y". */
static const char *kind_of(const cJSON *v)
{
    if (cJSON_IsRaw(v))
        return "a plain scalar";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an invalid value";
}

static int type_error(struct conv *c, const char *expected, const cJSON *v)
{
    if (cJSON_IsRaw(v) || cJSON_IsString(v))
        return fail(c, "expected %s, got %s \"%s\"", expected, kind_of(v), v->valuestring);
    return fail(c, "expected %s, got %s", expected, kind_of(v));
}

/* The text of a string or of an untyped YAML scalar; NULL for anything else. */
static const char *text_of(const cJSON *v)
{
    return (cJSON_IsString(v) || cJSON_IsRaw(v)) && v->valuestring ? v->valuestring : NULL;
}

/* ---- Scalars ---- */

/* Parses a decimal integer ("-12", "+7") into sign and magnitude. */
static bool parse_decimal(const char *s, bool *neg, uint64_t *mag)
{
    uint64_t v = 0;

    *neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *mag = v;
    return true;
}

/* A JSON number that is an integer in [min, max], exactly; 0, or -1 (failed). */
static int get_integral(struct conv *c, const cJSON *v, double min, double max, const char *what, double *out)
{
    double d = v->valuedouble;

    if (!(d <= MAX_EXACT_DOUBLE && d >= -MAX_EXACT_DOUBLE)) /* NaN too */
        return fail(c, "%g is too large for a JSON number to hold exactly: write it as a string", d);
    if (d != (double)(int64_t)d)
        return fail(c, "expected %s, got the non-integer %g", what, d);
    if (d < min || d > max)
        return fail(c, "%.0f is out of range for %s", d, what);
    *out = d;
    return 0;
}

/* An integer in [min, max] (signed types) from a number or decimal text. */
static int get_signed(struct conv *c, const cJSON *v, int64_t min, int64_t max, const char *what,
                      int64_t *out)
{
    const char *s = text_of(v);
    double d;

    if (cJSON_IsNumber(v)) {
        if (get_integral(c, v, (double)min, (double)max, what, &d) < 0)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    bool neg;
    uint64_t mag;
    if (!s)
        return type_error(c, what, v);
    if (!parse_decimal(s, &neg, &mag))
        return type_error(c, what, v);
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
        return fail(c, "%s is out of range for %s", s, what);
    int64_t x = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (x < min || x > max)
        return fail(c, "%s is out of range for %s", s, what);
    *out = x;
    return 0;
}

static int get_unsigned(struct conv *c, const cJSON *v, uint64_t max, const char *what, uint64_t *out)
{
    const char *s = text_of(v);
    double d;

    if (cJSON_IsNumber(v)) {
        if (get_integral(c, v, 0, (double)max, what, &d) < 0)
            return -1;
        *out = (uint64_t)d;
        return 0;
    }
    bool neg;
    uint64_t mag;
    if (!s || !parse_decimal(s, &neg, &mag))
        return type_error(c, what, v);
    if ((neg && mag) || mag > max)
        return fail(c, "%s is out of range for %s", s, what);
    *out = mag;
    return 0;
}

static int get_double(struct conv *c, const cJSON *v, double *out)
{
    const char *s = text_of(v);
    char *end;

    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    if (!s)
        return type_error(c, "a number", v);
    /* The protobuf JSON names, and YAML's. */
    if (strcmp(s, "NaN") == 0 || strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0) {
        *out = NAN;
    } else if (strcmp(s, "Infinity") == 0 || strcmp(s, ".inf") == 0 || strcmp(s, ".Inf") == 0) {
        *out = INFINITY;
    } else if (strcmp(s, "-Infinity") == 0 || strcmp(s, "-.inf") == 0 || strcmp(s, "-.Inf") == 0) {
        *out = -INFINITY;
    } else {
        errno = 0;
        *out = strtod(s, &end);
        if (end == s || *end || errno == ERANGE)
            return type_error(c, "a number", v);
    }
    return 0;
}

static int get_bool(struct conv *c, const cJSON *v, bool *out)
{
    /* YAML 1.1's spellings, for plain scalars only (a JSON string is text). */
    static const char *const yes[] = { "true", "yes", "y", "on" };
    static const char *const no[] = { "false", "no", "n", "off" };

    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (cJSON_IsRaw(v) && v->valuestring) {
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
            if (strcasecmp(v->valuestring, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(v->valuestring, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return type_error(c, "true or false", v);
}

/* Appends name number `i` to a list "a, b, c" in names[size], of which *used
 * bytes are taken; a full list stays as it is (cut). */
static void list_name(char *names, size_t size, size_t *used, unsigned i, const char *name)
{
    if (*used >= size)
        return;
    int w = snprintf(names + *used, size - *used, "%s%s", i ? ", " : "", name);
    *used += w > 0 ? (size_t)w : 0;
}

static int enum_error(struct conv *c, const ProtobufCEnumDescriptor *ed, const char *s)
{
    char names[512] = "";
    size_t n = 0;

    for (unsigned i = 0; i < ed->n_values; i++)
        list_name(names, sizeof(names), &n, i, ed->values[i].name);
    return fail(c, "unknown value \"%s\" of %s (one of %s, or a number)", s, ed->name, names);
}

static int get_enum(struct conv *c, const cJSON *v, const ProtobufCEnumDescriptor *ed, int32_t *out)
{
    const char *s = text_of(v);
    int64_t x;

    if (s) {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
        if (ev) {
            *out = ev->value;
            return 0;
        }
        bool neg;
        uint64_t mag;
        if (!parse_decimal(s, &neg, &mag))
            return enum_error(c, ed, s);
    } else if (!cJSON_IsNumber(v)) {
        return type_error(c, "an enum name or number", v);
    }
    /* A number: protobuf enums are open, so any int32 is kept. */
    if (get_signed(c, v, INT32_MIN, INT32_MAX, "an enum number", &x) < 0)
        return -1;
    *out = (int32_t)x;
    return 0;
}

static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional; NULL when invalid. */
static uint8_t *base64_decode(const char *s, size_t *out_len)
{
    size_t len = strlen(s);
    uint8_t *out;
    uint32_t acc = 0;
    size_t n = 0, bits = 0;

    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1) {
        errno = EINVAL;
        return NULL;
    }
    out = malloc(len * 3 / 4 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int d = b64_value(s[i]);
        if (d < 0) {
            free(out);
            errno = EINVAL;
            return NULL;
        }
        acc = acc << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = n;
    return out;
}

/* ---- Fields ---- */

static int encode_message(struct conv *c, const cJSON *obj, const ProtobufCMessageDescriptor *d,
                          struct wbuf *out);

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Writes an integer-like scalar (all the varint and fixed-width types). */
static int encode_number(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                         struct wbuf *b)
{
    int64_t s64;
    uint64_t u64;

    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (get_signed(c, v, INT32_MIN, INT32_MAX, "a 32-bit integer", &s64) < 0)
            return -1;
        wb_int_field(b, fd->id, fd->type == PROTOBUF_C_TYPE_SFIXED32 ? 4 : 0,
                     fd->type == PROTOBUF_C_TYPE_SINT32 ? zigzag(s64) : (uint64_t)s64);
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (get_unsigned(c, v, UINT32_MAX, "an unsigned 32-bit integer", &u64) < 0)
            return -1;
        wb_int_field(b, fd->id, fd->type == PROTOBUF_C_TYPE_FIXED32 ? 4 : 0, u64);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (get_signed(c, v, INT64_MIN, INT64_MAX, "a 64-bit integer", &s64) < 0)
            return -1;
        wb_int_field(b, fd->id, fd->type == PROTOBUF_C_TYPE_SFIXED64 ? 8 : 0,
                     fd->type == PROTOBUF_C_TYPE_SINT64 ? zigzag(s64) : (uint64_t)s64);
        return 0;
    default: /* UINT64, FIXED64 */
        if (get_unsigned(c, v, UINT64_MAX, "an unsigned 64-bit integer", &u64) < 0)
            return -1;
        wb_int_field(b, fd->id, fd->type == PROTOBUF_C_TYPE_FIXED64 ? 8 : 0, u64);
        return 0;
    }
}

static int encode_float(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                        struct wbuf *b)
{
    double d = 0;

    if (get_double(c, v, &d) < 0)
        return -1;
    if (fd->type == PROTOBUF_C_TYPE_FLOAT) {
        float f = (float)d;
        uint32_t bits;
        if (isfinite(d) && !isfinite(f))
            return fail(c, "%g is out of range for a float", d);
        memcpy(&bits, &f, 4);
        wb_int_field(b, fd->id, 4, bits);
    } else {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        wb_int_field(b, fd->id, 8, bits);
    }
    return 0;
}

static int encode_bytes(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                        struct wbuf *b)
{
    const char *s = text_of(v);
    uint8_t *data;
    size_t n = 0;

    if (!s)
        return type_error(c, "base64 text", v);
    data = base64_decode(s, &n);
    if (!data)
        return errno == ENOMEM ? fail_oom(c) : fail(c, "invalid base64 \"%s\"", s);
    wb_tag(b, fd->id, WIRE_LEN);
    wb_varint(b, n);
    wb_put(b, data, n);
    free(data);
    return 0;
}

/* Writes one value of field `fd` (a single element, for a repeated field). */
static int encode_value(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                        struct wbuf *b)
{
    const char *s;
    bool flag = false;
    int32_t e = 0;

    switch (fd->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (get_bool(c, v, &flag) < 0)
            return -1;
        wb_int_field(b, fd->id, 0, flag);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        if (get_enum(c, v, fd->descriptor, &e) < 0)
            return -1;
        wb_int_field(b, fd->id, 0, (uint64_t)(int64_t)e);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return encode_float(c, fd, v, b);
    case PROTOBUF_C_TYPE_STRING:
        if (!(s = text_of(v)))
            return type_error(c, "a string", v);
        wb_tag(b, fd->id, WIRE_LEN);
        wb_varint(b, strlen(s));
        wb_put(b, s, strlen(s));
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return encode_bytes(c, fd, v, b);
    case PROTOBUF_C_TYPE_MESSAGE: {
        struct wbuf sub = { 0 };
        int r = encode_message(c, v, fd->descriptor, &sub);
        if (r == 0)
            wb_sub(b, fd->id, &sub);
        free(sub.p);
        return r;
    }
    default:
        return encode_number(c, fd, v, b);
    }
}

bool crioctl_pbjson_is_map_field(const ProtobufCFieldDescriptor *fd)
{
    const ProtobufCMessageDescriptor *d = fd->descriptor;
    size_t n;

    if (fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE || !d ||
        d->n_fields != 2)
        return false;
    n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && strcmp(d->fields[0].name, "key") == 0 &&
           strcmp(d->fields[1].name, "value") == 0;
}

static int encode_map_entry(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *member,
                            struct wbuf *b)
{
    const ProtobufCMessageDescriptor *ed = fd->descriptor;
    struct wbuf entry = { 0 };
    /* The key is text in JSON: as a plain scalar it converts to the key's type. */
    cJSON key = { .type = ed->fields[0].type == PROTOBUF_C_TYPE_STRING ? cJSON_String : cJSON_Raw,
                  .valuestring = member->string };
    size_t old = path_push(c, "[\"%s\"]", member->string);
    int r = encode_value(c, &ed->fields[0], &key, &entry);

    if (r == 0 && !cJSON_IsNull(member))
        r = encode_value(c, &ed->fields[1], member, &entry);
    if (r == 0)
        wb_sub(b, fd->id, &entry);
    free(entry.p);
    path_pop(c, old);
    return r;
}

static int encode_map(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *obj,
                      struct wbuf *b)
{
    for (const cJSON *m = obj->child; m; m = m->next)
        if (encode_map_entry(c, fd, m, b) < 0)
            return -1;
    return 0;
}

static int encode_repeated(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                           struct wbuf *b)
{
    size_t i = 0;
    int r = 0;

    if (crioctl_pbjson_is_map_field(fd))
        return cJSON_IsObject(v) ? encode_map(c, fd, v, b) : type_error(c, "an object (a map)", v);
    if (!cJSON_IsArray(v))
        return type_error(c, "an array", v);
    if (++c->depth > CRIOCTL_PBJSON_MAX_DEPTH)
        return fail(c, "nested too deeply (more than %d levels)", CRIOCTL_PBJSON_MAX_DEPTH);
    for (const cJSON *e = v->child; e && r == 0; e = e->next, i++) {
        size_t old = path_push(c, "[%zu]", i);
        if (cJSON_IsNull(e) && fd->type != PROTOBUF_C_TYPE_MESSAGE)
            r = fail(c, "null is not allowed in a list");
        else if (cJSON_IsNull(e))
            wb_sub(b, fd->id, &(struct wbuf){ 0 }); /* an empty message */
        else
            r = encode_value(c, fd, e, b);
        path_pop(c, old);
    }
    c->depth--;
    return r;
}

static int encode_field(struct conv *c, const ProtobufCFieldDescriptor *fd, const cJSON *v,
                        struct wbuf *b)
{
    if (cJSON_IsNull(v))
        return 0; /* null: the field is not set */
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        return encode_repeated(c, fd, v, b);
    return encode_value(c, fd, v, b);
}

/* ---- Messages ---- */

/* Does `s` spell the lowerCamelCase JSON name of `proto_name`? */
static bool json_name_eq(const char *proto_name, const char *s, bool icase)
{
    bool upper = false;

    for (const char *p = proto_name; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        char want = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
        if (icase ? tolower((unsigned char)*s) != tolower((unsigned char)want) : *s != want)
            return false;
        s++;
    }
    return *s == '\0';
}

/* The field a member names: the proto name, the JSON name, then either one
 * case-insensitively (as Go's encoding/json, which crictl decodes with). */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, const char *name)
{
    const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(d, name);

    if (fd)
        return fd;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (json_name_eq(d->fields[i].name, name, false))
            return &d->fields[i];
    for (unsigned i = 0; i < d->n_fields; i++)
        if (strcasecmp(d->fields[i].name, name) == 0 || json_name_eq(d->fields[i].name, name, true))
            return &d->fields[i];
    return NULL;
}

static int unknown_field(struct conv *c, const ProtobufCMessageDescriptor *d, const char *name)
{
    char names[768] = "";
    size_t n = 0;

    for (unsigned i = 0; i < d->n_fields; i++)
        list_name(names, sizeof(names), &n, i, d->fields[i].name);
    size_t old = push_field(c, name);
    fail(c, "unknown field \"%s\" (%s has: %s)", name, d->name, d->n_fields ? names : "no fields");
    path_pop(c, old);
    return -1;
}

/* Rejects a field given twice (also as "a_b" and "aB"), or a second member of a oneof. */
static int check_repeat(struct conv *c, const ProtobufCMessageDescriptor *d, const cJSON *m,
                        const ProtobufCFieldDescriptor *fd, const cJSON **given)
{
    unsigned idx = (unsigned)(fd - d->fields);

    if (given[idx]) {
        size_t old = push_field(c, m->string);
        fail(c, "field given twice (also as \"%s\")", given[idx]->string);
        path_pop(c, old);
        return -1;
    }
    if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && !cJSON_IsNull(m))
        for (unsigned i = 0; i < d->n_fields; i++)
            if (given[i] && !cJSON_IsNull(given[i]) && (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                d->fields[i].quantifier_offset == fd->quantifier_offset) {
                size_t old = push_field(c, m->string);
                fail(c, "only one of \"%s\" and \"%s\" may be set (a oneof)", given[i]->string, m->string);
                path_pop(c, old);
                return -1;
            }
    given[idx] = m;
    return 0;
}

static int check_required(struct conv *c, const ProtobufCMessageDescriptor *d, const cJSON **given)
{
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && (!given[i] || cJSON_IsNull(given[i])))
            return fail(c, "missing the required field \"%s\"", d->fields[i].name);
    return 0;
}

static int encode_members(struct conv *c, const cJSON *obj, const ProtobufCMessageDescriptor *d,
                          const cJSON **given, struct wbuf *out)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        const ProtobufCFieldDescriptor *fd = find_field(d, m->string ? m->string : "");
        if (!fd)
            return unknown_field(c, d, m->string ? m->string : "");
        if (check_repeat(c, d, m, fd, given) < 0)
            return -1;
        size_t old = push_field(c, m->string);
        int r = encode_field(c, fd, m, out);
        path_pop(c, old);
        if (r < 0)
            return -1;
    }
    return check_required(c, d, given);
}

static int encode_message(struct conv *c, const cJSON *obj, const ProtobufCMessageDescriptor *d,
                          struct wbuf *out)
{
    const cJSON **given;
    int r;

    if (!cJSON_IsObject(obj))
        return type_error(c, "an object", obj);
    if (++c->depth > CRIOCTL_PBJSON_MAX_DEPTH)
        return fail(c, "nested too deeply (more than %d levels)", CRIOCTL_PBJSON_MAX_DEPTH);
    given = calloc(d->n_fields ? d->n_fields : 1, sizeof(*given));
    if (!given)
        return fail_oom(c);
    r = encode_members(c, obj, d, given, out);
    free(given);
    c->depth--;
    return r;
}

/* ---- Entry points ---- */

static int set_oom(char **err)
{
    *err = strdup("out of memory");
    return -ENOMEM;
}

int crioctl_pbjson_to_message(const cJSON *json, const ProtobufCMessageDescriptor *desc,
                              const char *source, ProtobufCMessage **out, char **err)
{
    struct conv c = { .source = source ? source : "input" };
    struct wbuf b = { 0 };

    *out = NULL;
    *err = NULL;
    if (json && !cJSON_IsObject(json)) {
        fail(&c, "expected an object (a %s), got %s", desc->name, kind_of(json));
    } else if (json) {
        encode_message(&c, json, desc, &b);
        if (c.rc == 0 && b.oom)
            c.rc = -ENOMEM;
    }
    if (c.rc == 0) {
        *out = protobuf_c_message_unpack(desc, NULL, b.len, b.p ? b.p : (const uint8_t *)"");
        if (!*out)
            c.rc = -ENOMEM; /* the encoding is ours: only memory can fail it */
    }
    free(b.p);
    if (c.rc == -ENOMEM) {
        free(c.err);
        return set_oom(err);
    }
    if (c.rc < 0) {
        *err = c.err ? c.err : strdup("invalid input");
        return c.rc;
    }
    return 0;
}

/* "line:column" of offset `at` in `text` (both from 1). */
static void text_position(const char *text, size_t at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int parse_json_text(const char *text, size_t len, const char *source, cJSON **out, char **err)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int line, col;

    if (j) {
        /* Only blanks may follow the value. */
        while (end && (size_t)(end - text) < len && strchr(" \t\r\n", *end))
            end++;
        if (!end || (size_t)(end - text) == len) {
            *out = j;
            return 0;
        }
        cJSON_Delete(j);
    }
    if (!end || end < text || (size_t)(end - text) > len)
        end = text + len;
    text_position(text, (size_t)(end - text), &line, &col);
    if (asprintf(err, "%s:%d:%d: invalid JSON", source, line, col) < 0)
        return set_oom(err);
    return -EINVAL;
}

int crioctl_pbjson_parse(const char *text, size_t len, const char *source,
                         const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                         char **err)
{
    size_t i = 0;
    cJSON *tree = NULL;
    int r;

    *out = NULL;
    *err = NULL;
    source = source ? source : "input";
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
        i = 3;
    while (i < len && strchr(" \t\r\n", text[i]))
        i++;
    if (i < len && text[i] == '{') {
        r = parse_json_text(text + i, len - i, source, &tree, err);
        if (r == -EINVAL) {
            char *yaml_err = NULL;
            /* `{a: 1}` is YAML; when it is not YAML either, the JSON error says more. */
            if (crioctl_yaml_to_json(text, len, source, &tree, &yaml_err) == 0) {
                free(*err);
                *err = NULL;
                r = 0;
            }
            free(yaml_err);
        }
    } else {
        r = crioctl_yaml_to_json(text, len, source, &tree, err);
    }
    if (r < 0)
        return r;
    if (!tree || cJSON_IsNull(tree)) {
        cJSON_Delete(tree);
        if (asprintf(err, "%s: the file is empty (expected a %s)", source, desc->name) < 0)
            return set_oom(err);
        return -EINVAL;
    }
    r = crioctl_pbjson_to_message(tree, desc, source, out, err);
    cJSON_Delete(tree);
    return r;
}

/* Reads a whole regular file (bounded); malloc'd in *data. */
static int read_file(const char *path, char **data, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE_SIZE) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
    }
    *data = malloc((size_t)st.st_size + 1);
    if (!*data) {
        close(fd);
        return -ENOMEM;
    }
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, *data + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* shrank while read: take what there is */
        n += (size_t)k;
    }
    close(fd);
    (*data)[n] = '\0';
    *len = n;
    return 0;
}

int crioctl_pbjson_load_file(const char *path, const ProtobufCMessageDescriptor *desc,
                             ProtobufCMessage **out, char **err)
{
    char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    *err = NULL;
    r = read_file(path, &data, &len);
    if (r < 0) {
        const char *why = r == -EFBIG ? "the file is too large for a config" :
                          r == -EINVAL ? "not a regular file" : strerror(-r);
        if (asprintf(err, "%s: %s", path, why) < 0)
            *err = NULL;
        return r;
    }
    r = crioctl_pbjson_parse(data, len, path, desc, out, err);
    free(data);
    return r;
}
