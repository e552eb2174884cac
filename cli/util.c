/* crioctl: durations, output formats, tables, sizes, the clock, label selectors, listing filters. */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crioctl.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int crioctl_parse_duration(const char *s, long *out_ms)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        { "ns", 1 },
        { "us", 1000 },
        { "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
        { "\xce\xbcs", 1000 }, /* U+03BC Greek small letter mu */
        { "ms", 1000000 },
        { "s", 1000000000ULL },
        { "m", 60ULL * 1000000000ULL },
        { "h", 3600ULL * 1000000000ULL },
    };
    const uint64_t max_ns = INT64_MAX; /* Go's time.Duration range */
    uint64_t total = 0;

    *out_ms = 0;
    if (!s)
        return -EINVAL;
    if (*s == '+')
        s++;
    if (*s == '\0')
        return -EINVAL;

    /* A bare integer: seconds (crictl's config file spells timeouts so). */
    size_t ndigits = strspn(s, "0123456789");
    if (s[ndigits] == '\0') {
        uint64_t secs = 0;
        for (const char *p = s; *p; p++) {
            if (secs > (max_ns / 1000000000ULL - (uint64_t)(*p - '0')) / 10)
                return -ERANGE;
            secs = secs * 10 + (uint64_t)(*p - '0');
        }
        total = secs * 1000000000ULL;
        goto done;
    }

    while (*s) {
        uint64_t whole = 0, frac = 0, scale = 1;
        bool digits = false;

        while (is_digit(*s)) {
            uint64_t d = (uint64_t)(*s - '0');
            if (whole > (max_ns - d) / 10)
                return -ERANGE;
            whole = whole * 10 + d;
            digits = true;
            s++;
        }
        if (*s == '.') {
            s++;
            while (is_digit(*s)) {
                if (scale < 1000000000000000000ULL) { /* further digits do not matter */
                    frac = frac * 10 + (uint64_t)(*s - '0');
                    scale *= 10;
                }
                digits = true;
                s++;
            }
        }
        if (!digits)
            return -EINVAL;

        size_t u, ulen = 0;
        for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
            ulen = strlen(units[u].name);
            /* The unit runs up to the next number. */
            if (strncmp(s, units[u].name, ulen) == 0 && (s[ulen] == '\0' || is_digit(s[ulen]) ||
                                                         s[ulen] == '.'))
                break;
        }
        if (u == sizeof(units) / sizeof(units[0]))
            return -EINVAL;
        s += ulen;

        uint64_t unit = units[u].ns;
        if (whole > max_ns / unit)
            return -ERANGE;
        uint64_t v = whole * unit;
        /* frac / scale < 1, so this is below `unit`. */
        v += (uint64_t)((long double)frac * (long double)unit / (long double)scale);
        if (v > max_ns || total > max_ns - v)
            return -ERANGE;
        total += v;
    }

done:;
    uint64_t ms = total / 1000000 + (total % 1000000 ? 1 : 0);
    if (ms > (uint64_t)LONG_MAX)
        return -ERANGE;
    *out_ms = (long)ms;
    return 0;
}

int crioctl_parse_output(const char *s, crioctl_output *out)
{
    if (!s)
        return -EINVAL;
    if (strcmp(s, "table") == 0)
        *out = CRIOCTL_OUTPUT_TABLE;
    else if (strcmp(s, "json") == 0)
        *out = CRIOCTL_OUTPUT_JSON;
    else if (strcmp(s, "yaml") == 0)
        *out = CRIOCTL_OUTPUT_YAML;
    else
        return -EINVAL;
    return 0;
}

const char *crioctl_output_name(crioctl_output o)
{
    switch (o) {
    case CRIOCTL_OUTPUT_TABLE:
        return "table";
    case CRIOCTL_OUTPUT_JSON:
        return "json";
    case CRIOCTL_OUTPUT_YAML:
        return "yaml";
    default:
        return "default";
    }
}

size_t crioctl_text_width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) /* not a continuation byte */
            n++;
    return n;
}

/* ---- Tables ---- */

struct crioctl_table {
    size_t minwidth, padding;
    size_t nrows, cap;
    struct row {
        size_t n;
        char **cells;
    } *rows;
};

crioctl_table *crioctl_table_new(size_t minwidth, size_t padding)
{
    crioctl_table *t = calloc(1, sizeof(*t));

    if (t) {
        t->minwidth = minwidth;
        t->padding = padding;
    }
    return t;
}

void crioctl_table_free(crioctl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->rows[i].n; j++)
            free(t->rows[i].cells[j]);
        free(t->rows[i].cells);
    }
    free(t->rows);
    free(t);
}

int crioctl_table_add(crioctl_table *t, size_t n, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct row *rows = realloc(t->rows, cap * sizeof(*rows));
        if (!rows)
            return -ENOMEM;
        t->rows = rows;
        t->cap = cap;
    }
    struct row *r = &t->rows[t->nrows];
    r->n = 0;
    r->cells = calloc(n ? n : 1, sizeof(char *));
    if (!r->cells)
        return -ENOMEM;
    for (size_t j = 0; j < n; j++) {
        r->cells[j] = strdup(cells[j] ? cells[j] : "");
        if (!r->cells[j]) {
            for (size_t k = 0; k < j; k++)
                free(r->cells[k]);
            free(r->cells);
            return -ENOMEM;
        }
    }
    r->n = n;
    t->nrows++;
    return 0;
}

int crioctl_table_print(const crioctl_table *t, FILE *f)
{
    size_t ncols = 0;

    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].n > ncols)
            ncols = t->rows[i].n;
    size_t *width = calloc(ncols ? ncols : 1, sizeof(size_t));
    if (!width)
        return -ENOMEM;
    /* A cell that is not the last of its row belongs to an aligned column. */
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j + 1 < t->rows[i].n; j++) {
            size_t w = crioctl_text_width(t->rows[i].cells[j]) + t->padding;
            if (w > width[j])
                width[j] = w;
        }
    for (size_t j = 0; j < ncols; j++)
        if (width[j] < t->minwidth)
            width[j] = t->minwidth;

    for (size_t i = 0; i < t->nrows; i++) {
        const struct row *r = &t->rows[i];
        for (size_t j = 0; j < r->n; j++) {
            fputs(r->cells[j], f);
            if (j + 1 < r->n)
                for (size_t w = crioctl_text_width(r->cells[j]); w < width[j]; w++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
    free(width);
    return ferror(f) ? -EIO : 0;
}

crioctl_table *crioctl_listing_table(size_t n, const char *const *head)
{
    crioctl_table *t = crioctl_table_new(20, 3);

    if (t && crioctl_table_add(t, n, head) < 0) {
        crioctl_table_free(t);
        t = NULL;
    }
    return t;
}

int crioctl_table_output(crioctl_ctx *ctx, crioctl_table *t, int built)
{
    int r = 1;

    if (built < 0)
        crioctl_error(ctx, "out of memory");
    else
        r = crioctl_table_print(t, stdout) < 0 ? 1 : 0;
    crioctl_table_free(t);
    return r;
}

/* ---- Human-readable values ---- */

void crioctl_human_duration(char *buf, size_t n, int64_t ns)
{
    int64_t secs = ns / 1000000000LL, mins = secs / 60;
    /* Rounded to the nearest hour, as go-units does (ns is positive here). */
    int64_t hours = (ns + 1800000000000LL) / 3600000000000LL;

    if (secs < 1)
        snprintf(buf, n, "Less than a second");
    else if (secs == 1)
        snprintf(buf, n, "1 second");
    else if (secs < 60)
        snprintf(buf, n, "%lld seconds", (long long)secs);
    else if (mins == 1)
        snprintf(buf, n, "About a minute");
    else if (mins < 60)
        snprintf(buf, n, "%lld minutes", (long long)mins);
    else if (hours == 1)
        snprintf(buf, n, "About an hour");
    else if (hours < 48)
        snprintf(buf, n, "%lld hours", (long long)hours);
    else if (hours < 24 * 7 * 2)
        snprintf(buf, n, "%lld days", (long long)(hours / 24));
    else if (hours < 24 * 30 * 2)
        snprintf(buf, n, "%lld weeks", (long long)(hours / 24 / 7));
    else if (hours < 24 * 365 * 2)
        snprintf(buf, n, "%lld months", (long long)(hours / 24 / 30));
    else
        snprintf(buf, n, "%lld years", (long long)(ns / 3600000000000LL / 24 / 365));
}

void crioctl_human_size_precision(char *buf, size_t n, double size, int precision)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };
    size_t i = 0;

    while (size >= 1000.0 && i + 1 < sizeof(units) / sizeof(units[0])) {
        size /= 1000.0;
        i++;
    }
    snprintf(buf, n, "%.*g%s", precision, size, units[i]);
}

void crioctl_human_size(char *buf, size_t n, double size)
{
    crioctl_human_size_precision(buf, n, size, 4);
}

int64_t crioctl_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void crioctl_truncate_id(char *buf, size_t n, const char *id)
{
    snprintf(buf, n, "%.*s", CRIOCTL_TRUNCATED_ID_LEN, id ? id : "");
}

int crioctl_parse_bytes(const char *s, int64_t *out)
{
    static const char suffixes[] = "bkmgtp";
    char *end;
    long long v;
    int64_t mul = 1;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end) {
        const char *p = strchr(suffixes, *end | 0x20);
        if (!p || (end[1] && !((end[1] | 0x20) == 'b' && !end[2] && p != suffixes)))
            return -EINVAL;
        for (const char *q = suffixes; q < p; q++)
            mul *= 1024;
    }
    if (v > INT64_MAX / mul)
        return -ERANGE;
    *out = (int64_t)v * mul;
    return 0;
}

/* ---- Label selectors ---- */

int crioctl_labels_add(crioctl_labels *l, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *k, *v;

    /* crictl's parseLabelStringSlice: exactly one '='. */
    if (!eq || strchr(eq + 1, '='))
        return -EINVAL;
    k = strndup(arg, (size_t)(eq - arg));
    v = strdup(eq + 1);
    if (!k || !v) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], k) == 0) { /* a repeated key: the last value wins */
            free(l->values[i]);
            l->values[i] = v;
            free(k);
            return 0;
        }
    char **keys = realloc(l->keys, (l->n + 1) * sizeof(char *));
    if (keys)
        l->keys = keys;
    char **values = keys ? realloc(l->values, (l->n + 1) * sizeof(char *)) : NULL;
    if (!values) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    l->values = values;
    l->keys[l->n] = k;
    l->values[l->n++] = v;
    return 0;
}

int crioctl_label_option(crioctl_ctx *ctx, crioctl_labels *l, const char *arg)
{
    int r = crioctl_labels_add(l, arg);

    if (r < 0)
        crioctl_error(ctx, r == -ENOMEM ? "out of memory" : "incorrectly specified label: %s", arg);
    return r < 0 ? -1 : 0;
}

void crioctl_labels_free(crioctl_labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->values[i]);
    }
    free(l->keys);
    free(l->values);
    memset(l, 0, sizeof(*l));
}

void *crioctl_labels_entries(const crioctl_labels *l, const ProtobufCMessageDescriptor *entry)
{
    ProtobufCMessage **v = calloc(l->n ? l->n : 1, sizeof(*v));

    for (size_t i = 0; v && i < l->n; i++) {
        v[i] = calloc(1, entry->sizeof_message);
        if (!v[i]) {
            crioctl_map_entries_free(v, i);
            return NULL;
        }
        entry->message_init(v[i]);
        /* A map entry: fields key and value, both strings here (borrowed). */
        *(char **)((char *)v[i] + entry->fields[0].offset) = l->keys[i];
        *(char **)((char *)v[i] + entry->fields[1].offset) = l->values[i];
    }
    return v;
}

void crioctl_map_entries_free(void *entries, size_t n)
{
    ProtobufCMessage **v = entries;

    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int crioctl_call_with_labels(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                             ProtobufCMessage *filter, const crioctl_labels *labels,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    /* Found by name: every List request's filter has the same label_selector map. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(filter->descriptor, "label_selector");
    void **field = (void **)((char *)filter + f->offset);
    size_t *count = (size_t *)((char *)filter + f->quantifier_offset);
    int r;

    *resp = NULL;
    *field = crioctl_labels_entries(labels, f->descriptor);
    if (!*field) {
        crioctl_error(ctx, "out of memory");
        return -1;
    }
    *count = labels->n;
    r = crioctl_call(ctx, CRIOCTL_RUNTIME_SERVICE, method, req, resp_desc, resp);
    crioctl_map_entries_free(*field, labels->n);
    *field = NULL;
    *count = 0;
    return r;
}

/* ---- Regular expressions (crictl's --name and --namespace filters) ---- */

int crioctl_regex_compile(crioctl_ctx *ctx, const char *option, const char *pattern, regex_t *re)
{
    int r = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

    if (r != 0) {
        char msg[256];
        regerror(r, re, msg, sizeof(msg));
        crioctl_error(ctx, "invalid regular expression \"%s\" for %s: %s", pattern, option, msg);
        return -1;
    }
    return 0;
}

long crioctl_select(crioctl_ctx *ctx, const crioctl_selection *sel, void **items, size_t n, crioctl_match_fn match,
                    void *payload, int (*newest_first)(const void *, const void *))
{
    regex_t name_re, ns_re;
    bool has_name = sel->name && sel->name[0], has_ns = sel->ns && sel->ns[0];
    size_t kept = 0;

    if (has_name && crioctl_regex_compile(ctx, "--name", sel->name, &name_re) < 0)
        return -1;
    if (has_ns && crioctl_regex_compile(ctx, "--namespace", sel->ns, &ns_re) < 0) {
        if (has_name)
            regfree(&name_re);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!match(items[i], has_name ? &name_re : NULL, has_ns ? &ns_re : NULL, payload))
            continue;
        void *keep = items[i];
        items[i] = items[kept];
        items[kept++] = keep;
    }
    if (has_name)
        regfree(&name_re);
    if (has_ns)
        regfree(&ns_re);
    if (kept > 1)
        qsort(items, kept, sizeof(*items), newest_first);
    size_t show = sel->latest ? 1 : kept;
    if (sel->last > 0)
        show = (size_t)sel->last;
    return (long)(show < kept ? show : kept);
}
