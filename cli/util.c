/* crioctl: durations, output formats, tables. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
