/* crioctl: JSON output, formatted as crictl (Go) formats it, and
 * protobuf-c messages converted to JSON as crictl's jsonpb marshaler does. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crioctl.h"
#include "logs.h"
#include "pbjson_in.h"

/* ---- Formatting ---- */

static void put_indent(FILE *f, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", f);
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void put_number(FILE *f, double v)
{
    char buf[64];

    if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
        fputs("null", f); /* NaN and infinities have no JSON form */
        return;
    }
    if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
        fprintf(f, "%lld", (long long)v);
        return;
    }
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    fputs(buf, f);
}

void crioctl_json_indent(FILE *f, const char *text, int depth)
{
    bool need_indent = false;
    int d = depth;

    for (const char *p = text; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (need_indent && c != ']' && c != '}') {
            need_indent = false;
            d++;
            fputc('\n', f);
            put_indent(f, d);
        }
        switch (c) {
        case '"':
            /* Copy the string as it is, escapes included. */
            fputc('"', f);
            for (p++; *p && *p != '"'; p++) {
                fputc(*p, f);
                if (*p == '\\' && p[1])
                    fputc(*++p, f);
            }
            if (*p)
                fputc('"', f);
            else
                p--; /* unterminated: stop at the end */
            break;
        case '{':
        case '[':
            fputc(c, f);
            need_indent = true;
            break;
        case ',':
            fputs(",\n", f);
            put_indent(f, d);
            break;
        case ':':
            fputs(": ", f);
            break;
        case '}':
        case ']':
            if (need_indent) {
                need_indent = false; /* empty: {} or [] */
            } else {
                d--;
                fputc('\n', f);
                put_indent(f, d);
            }
            fputc(c, f);
            break;
        default:
            fputc(c, f);
        }
    }
}

static void put_value(FILE *f, const cJSON *item, int depth)
{
    if (cJSON_IsRaw(item)) {
        crioctl_json_indent(f, item->valuestring ? item->valuestring : "null", depth);
    } else if (cJSON_IsNull(item) || cJSON_IsInvalid(item)) {
        fputs("null", f);
    } else if (cJSON_IsFalse(item)) {
        fputs("false", f);
    } else if (cJSON_IsTrue(item)) {
        fputs("true", f);
    } else if (cJSON_IsNumber(item)) {
        put_number(f, item->valuedouble);
    } else if (cJSON_IsString(item)) {
        put_string(f, item->valuestring ? item->valuestring : "");
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        bool obj = cJSON_IsObject(item);
        if (!item->child) {
            fputs(obj ? "{}" : "[]", f);
            return;
        }
        fputc(obj ? '{' : '[', f);
        for (const cJSON *c = item->child; c; c = c->next) {
            fputc('\n', f);
            put_indent(f, depth + 1);
            if (obj) {
                put_string(f, c->string ? c->string : "");
                fputs(": ", f);
            }
            put_value(f, c, depth + 1);
            if (c->next)
                fputc(',', f);
        }
        fputc('\n', f);
        put_indent(f, depth);
        fputc(obj ? '}' : ']', f);
    }
}

char *crioctl_json_format(const cJSON *json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    put_value(f, json, 0);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int crioctl_print_json(crioctl_ctx *ctx, const cJSON *json)
{
    char *s = json ? crioctl_json_format(json) : NULL;

    if (!s) {
        crioctl_error(ctx, "out of memory");
        return -1;
    }
    puts(s);
    free(s);
    return 0;
}

/* ---- protobuf-c to JSON ---- */

char *crioctl_json_name(const char *proto_name)
{
    char *out = malloc(strlen(proto_name) + 1);
    size_t o = 0;
    bool upper = false;

    if (!out)
        return NULL;
    for (const char *p = proto_name; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        out[o++] = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        upper = false;
    }
    out[o] = '\0';
    return out;
}

static char *base64(const uint8_t *data, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

static cJSON *float_json(double v)
{
    if (v != v)
        return cJSON_CreateString("NaN");
    if (v > 1.7976931348623157e308)
        return cJSON_CreateString("Infinity");
    if (v < -1.7976931348623157e308)
        return cJSON_CreateString("-Infinity");
    return cJSON_CreateNumber(v);
}

static cJSON *message_json(const ProtobufCMessage *msg);

/* The JSON of one value of field `fd`, stored at `p`. */
static cJSON *value_json(const ProtobufCFieldDescriptor *fd, const void *p)
{
    char buf[32];

    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return cJSON_CreateNumber(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cJSON_CreateNumber(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
        return cJSON_CreateString(buf);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
        return cJSON_CreateString(buf);
    case PROTOBUF_C_TYPE_FLOAT:
        return float_json(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return float_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value((const ProtobufCEnumDescriptor *)fd->descriptor, v);
        return ev ? cJSON_CreateString(ev->name) : cJSON_CreateNumber(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return cJSON_CreateString(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *s = base64(b->data, b->len);
        if (!s)
            return NULL;
        cJSON *j = cJSON_CreateString(s);
        free(s);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        return m ? message_json(m) : cJSON_CreateNull();
    }
    }
    return cJSON_CreateNull();
}

static size_t value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    }
    return 0;
}

static int cmp_keys(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* Sorts the members of an object by name (stable order for equal names is
 * not needed: map keys are unique). */
static bool sort_members(cJSON *obj)
{
    size_t n = 0, i = 0;
    cJSON **v;

    for (cJSON *c = obj->child; c; c = c->next)
        n++;
    if (n < 2)
        return true;
    v = malloc(n * sizeof(*v));
    if (!v)
        return false;
    for (cJSON *c = obj->child; c; c = c->next)
        v[i++] = c;
    qsort(v, n, sizeof(*v), cmp_keys);
    for (i = 0; i < n; i++) {
        v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: child->prev is the last item */
        v[i]->next = i + 1 < n ? v[i + 1] : NULL;
    }
    obj->child = v[0];
    free(v);
    return true;
}

static cJSON *map_json(const ProtobufCFieldDescriptor *fd, size_t n,
                       ProtobufCMessage *const *entries)
{
    const ProtobufCMessageDescriptor *d = fd->descriptor;
    const ProtobufCFieldDescriptor *kf = &d->fields[0], *vf = &d->fields[1];
    cJSON *obj = cJSON_CreateObject();

    if (!obj)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *base = (const char *)entries[i];
        cJSON *k = value_json(kf, base + kf->offset);
        cJSON *v = value_json(vf, base + vf->offset);
        char buf[32];
        const char *key = NULL;
        if (k && cJSON_IsString(k))
            key = k->valuestring;
        else if (k && cJSON_IsNumber(k))
            key = (snprintf(buf, sizeof(buf), "%.0f", k->valuedouble), buf);
        else if (k && cJSON_IsBool(k))
            key = cJSON_IsTrue(k) ? "true" : "false";
        if (!key || !v) {
            cJSON_Delete(k);
            cJSON_Delete(v);
            cJSON_Delete(obj);
            return NULL;
        }
        /* On a repeated key the last entry wins, as when parsing. */
        if (cJSON_GetObjectItemCaseSensitive(obj, key))
            cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
        if (!cJSON_AddItemToObject(obj, key, v)) {
            cJSON_Delete(k);
            cJSON_Delete(v);
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_Delete(k);
    }
    if (!sort_members(obj)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static cJSON *field_json(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd)
{
    const char *base = (const char *)msg;

    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + fd->quantifier_offset);
        const char *arr = *(char *const *)(base + fd->offset);
        if (crioctl_pbjson_is_map_field(fd))
            return map_json(fd, n, (ProtobufCMessage *const *)arr);
        cJSON *a = cJSON_CreateArray();
        size_t sz = value_size(fd->type);
        for (size_t i = 0; a && i < n; i++) {
            cJSON *v = value_json(fd, arr + i * sz);
            if (!v || !cJSON_AddItemToArray(a, v)) {
                cJSON_Delete(v);
                cJSON_Delete(a);
                return NULL;
            }
        }
        return a;
    }
    if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
        fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING &&
        !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        !*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
        return cJSON_CreateNull(); /* an unset proto3 `optional` scalar */
    return value_json(fd, base + fd->offset);
}

static cJSON *message_json(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    cJSON *obj = cJSON_CreateObject();

    for (unsigned i = 0; obj && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)((const char *)msg + fd->quantifier_offset);
            if (which != fd->id)
                continue;
        }
        char *name = crioctl_json_name(fd->name);
        cJSON *v = name ? field_json(msg, fd) : NULL;
        if (!v || !cJSON_AddItemToObject(obj, name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(obj);
            obj = NULL;
        }
        free(name);
    }
    return obj;
}

cJSON *crioctl_pb_to_json(const ProtobufCMessage *msg)
{
    return msg ? message_json(msg) : cJSON_CreateNull();
}

/* ---- inspect documents ---- */

static const char *entry_string(const ProtobufCMessage *e, unsigned field)
{
    const char *s = *(char *const *)((const char *)e + e->descriptor->fields[field].offset);
    return s ? s : "";
}

static int cmp_entries(const void *a, const void *b)
{
    const ProtobufCMessage *x = *(const ProtobufCMessage *const *)a, *y = *(const ProtobufCMessage *const *)b;
    return strcmp(entry_string(x, 0), entry_string(y, 0));
}

/* An info value as crictl shows it: a JSON object embedded, anything else as
 * a string without its surrounding quotes. */
static cJSON *info_value_json(const char *v)
{
    if (v[0] == '{') {
        cJSON *parsed = cJSON_Parse(v);
        bool object = cJSON_IsObject(parsed);
        cJSON_Delete(parsed);
        if (object)
            return cJSON_CreateRaw(v);
    }
    size_t start = strspn(v, "\""), end = strlen(v);
    while (end > start && v[end - 1] == '"')
        end--;
    char *trimmed = strndup(v + start, end - start);
    cJSON *s = trimmed ? cJSON_CreateString(trimmed) : NULL;
    free(trimmed);
    return s;
}

static bool add_info_members(cJSON *root, size_t n, ProtobufCMessage *const *info)
{
    ProtobufCMessage **sorted = malloc((n ? n : 1) * sizeof(*sorted));
    bool ok = sorted != NULL;

    if (ok && n) {
        memcpy(sorted, info, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_entries);
    }
    for (size_t i = 0; ok && i < n; i++) {
        const char *k = entry_string(sorted[i], 0);
        if (cJSON_GetObjectItemCaseSensitive(root, k))
            continue; /* never shadow the status, nor a key seen already */
        cJSON *v = info_value_json(entry_string(sorted[i], 1));
        ok = v && cJSON_AddItemToObject(root, k, v);
        if (!ok)
            cJSON_Delete(v);
    }
    free(sorted);
    return ok;
}

cJSON *crioctl_status_info_json(cJSON *status, size_t n_info, ProtobufCMessage *const *info)
{
    cJSON *root = status ? cJSON_CreateObject() : NULL;

    if (!root || !cJSON_AddItemToObject(root, "status", status)) {
        cJSON_Delete(root);
        cJSON_Delete(status);
        return NULL;
    }
    if (!add_info_members(root, n_info, info)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int crioctl_print_message_json(crioctl_ctx *ctx, const ProtobufCMessage *msg)
{
    cJSON *j = crioctl_pb_to_json(msg);
    int r = j ? crioctl_print_json(ctx, j) : (crioctl_error(ctx, "out of memory"), -1);

    cJSON_Delete(j);
    return r < 0 ? 1 : 0;
}

int crioctl_print_json_doc(crioctl_ctx *ctx, cJSON *doc)
{
    int r;

    if (!doc) {
        crioctl_error(ctx, "out of memory");
        return 1;
    }
    r = crioctl_print_json(ctx, doc) < 0 ? 1 : 0;
    cJSON_Delete(doc);
    return r;
}

/* ---- Maps in text output ---- */

/* The entries (key, value map entry messages) sorted by key, in a malloc'd copy. */
static ProtobufCMessage **sorted_entries(size_t n, ProtobufCMessage *const *entries)
{
    ProtobufCMessage **v = malloc((n ? n : 1) * sizeof(*v));

    if (v && n) {
        memcpy(v, entries, n * sizeof(*v));
        qsort(v, n, sizeof(*v), cmp_entries);
    }
    return v;
}

void crioctl_print_map(FILE *f, const char *title, size_t n, ProtobufCMessage *const *entries)
{
    ProtobufCMessage **v;

    if (n == 0)
        return; /* crictl prints a map only when it has entries */
    v = sorted_entries(n, entries);
    fprintf(f, "%s:\n", title);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = v ? v[i] : entries[i];
        fprintf(f, "\t%s -> %s\n", entry_string(e, 0), entry_string(e, 1));
    }
    free(v);
}

void crioctl_print_go_map(FILE *f, size_t n, ProtobufCMessage *const *entries)
{
    ProtobufCMessage **v = sorted_entries(n, entries);

    fputs("map[", f);
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *e = v ? v[i] : entries[i];
        fprintf(f, "%s%s:%s", i ? " " : "", entry_string(e, 0), entry_string(e, 1));
    }
    fputc(']', f);
    free(v);
}

bool crioctl_json_set_time(cJSON *obj, const char *key, int64_t ns, bool zero)
{
    char buf[64];

    if (zero) /* Go's zero time.Time, which crictl shows for a time not reached */
        snprintf(buf, sizeof(buf), "0001-01-01T00:00:00Z");
    else
        crioctl_format_rfc3339nano(buf, sizeof(buf), ns, crioctl_local_offset(ns));
    cJSON *s = cJSON_CreateString(buf);
    if (s && cJSON_GetObjectItemCaseSensitive(obj, key) ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, s)
                                                      : cJSON_AddItemToObject(obj, key, s))
        return true;
    cJSON_Delete(s);
    return false;
}
