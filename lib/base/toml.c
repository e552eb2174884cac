/*
 * A strict TOML 1.0 parser for the subset crio.conf and registries.conf use.
 *
 * The input is first checked as a whole (no NUL byte, valid UTF-8), then read
 * by a recursive-descent parser whose recursion is bounded: every table or
 * array is at most TOML_MAX_DEPTH levels below the root, so hostile input can
 * neither overflow the stack here nor in code that walks the result.
 *
 * Each value is allocated as a `struct node` whose first member is the public
 * crio_toml; the extra fields (how a table was created, its depth, a hash
 * index of its keys) serve the redefinition rules and are used only while
 * parsing.  The hash indexes are released before crio_toml_parse returns, so
 * crio_toml_free only ever touches the public fields.
 */
#include "base/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fs.h"

#define TOML_MAX_DEPTH 64                 /* tables and arrays below the root */
#define TOML_MAX_FILE (4u * 1024 * 1024)  /* crio_toml_parse_file */
#define TOML_INDEX_MIN 8                  /* tables with this many keys get a hash index */

enum {
    F_DEFINED = 1 << 0, /* table: defined by a [header] or as a [[header]] element */
    F_DOTTED = 1 << 1,  /* table: created by a dotted key (a.b = 1) */
    F_INLINE = 1 << 2,  /* table: inline { ... } or inside one; closed for extension */
    F_AOT = 1 << 3,     /* array: created by [[header]] */
};

struct node {
    crio_toml v; /* first: a crio_toml * is a struct node * */
    unsigned flags;
    int depth;           /* the root is 0 */
    int def_line, def_col; /* where the key or header defining it starts */
    size_t *index;       /* tables: open addressing, slot = key index + 1 */
    size_t index_cap;
};

static struct node *N(crio_toml *v) { return (struct node *)v; }

typedef struct {
    const char *s;
    size_t len, pos;
    int line, col; /* of s[pos] */
    const char *file;
} parser;

/* ---- values ----------------------------------------------------------- */

static void free_value(crio_toml *v, bool internal)
{
    if (!v)
        return;
    switch (v->type) {
    case CRIO_TOML_TABLE:
        for (size_t i = 0; i < v->u.table.len; i++) {
            free(v->u.table.keys[i]);
            free_value(v->u.table.values[i], internal);
        }
        free(v->u.table.keys);
        free(v->u.table.values);
        if (internal)
            free(N(v)->index);
        break;
    case CRIO_TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            free_value(v->u.array.items[i], internal);
        free(v->u.array.items);
        break;
    case CRIO_TOML_STRING:
        free(v->u.str);
        break;
    default:
        break;
    }
    free(v);
}

void crio_toml_free(crio_toml *value)
{
    free_value(value, false);
}

static void node_free(crio_toml *v) { free_value(v, true); }
static void node_freep(crio_toml **v) { node_free(*v); }
#define _cleanup_node_ _cleanup_(node_freep)

/* Drops the hash indexes once parsing is done (depth is bounded). */
static void drop_indexes(crio_toml *v)
{
    if (v->type == CRIO_TOML_TABLE) {
        free(N(v)->index);
        N(v)->index = NULL;
        for (size_t i = 0; i < v->u.table.len; i++)
            drop_indexes(v->u.table.values[i]);
    } else if (v->type == CRIO_TOML_ARRAY) {
        for (size_t i = 0; i < v->u.array.len; i++)
            drop_indexes(v->u.array.items[i]);
    }
}

static crio_toml *node_new(crio_toml_type type, int line, int col)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->v.type = type;
    n->v.line = n->def_line = line;
    n->v.column = n->def_col = col;
    return &n->v;
}

/* Arrays grow to the next power of two when `len` reaches one. */
static int grow(void **items, size_t len, size_t size)
{
    if (len != 0 && (len < 4 || (len & (len - 1))))
        return 0; /* room left */
    if (len > SIZE_MAX / 2 / size)
        return -1;
    size_t cap = len ? len * 2 : 4;
    void *p = realloc(*items, cap * size);
    if (!p)
        return -1;
    *items = p;
    return 0;
}

static int array_push(crio_toml *arr, crio_toml *item)
{
    if (grow((void **)&arr->u.array.items, arr->u.array.len, sizeof(crio_toml *)) < 0)
        return crio_error_oom();
    arr->u.array.items[arr->u.array.len++] = item;
    return 0;
}

static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h ^ (h >> 29);
}

static void index_put(struct node *t, size_t i)
{
    size_t mask = t->index_cap - 1;
    for (size_t s = hash_key(t->v.u.table.keys[i]) & mask;; s = (s + 1) & mask) {
        if (!t->index[s]) {
            t->index[s] = i + 1;
            return;
        }
    }
}

static crio_toml *table_find(crio_toml *tv, const char *key)
{
    struct node *t = N(tv);
    if (!t->index) {
        for (size_t i = 0; i < tv->u.table.len; i++)
            if (strcmp(tv->u.table.keys[i], key) == 0)
                return tv->u.table.values[i];
        return NULL;
    }
    size_t mask = t->index_cap - 1;
    for (size_t s = hash_key(key) & mask; t->index[s]; s = (s + 1) & mask) {
        size_t i = t->index[s] - 1;
        if (strcmp(tv->u.table.keys[i], key) == 0)
            return tv->u.table.values[i];
    }
    return NULL;
}

/* Adds key -> value; takes ownership of both only on success. */
static int table_add(crio_toml *tv, char *key, crio_toml *value)
{
    struct node *t = N(tv);
    size_t len = tv->u.table.len;
    if (grow((void **)&tv->u.table.keys, len, sizeof(char *)) < 0 ||
        grow((void **)&tv->u.table.values, len, sizeof(crio_toml *)) < 0)
        return crio_error_oom();
    if (len + 1 >= TOML_INDEX_MIN && (len + 1) * 2 > t->index_cap) {
        size_t cap = 16;
        while (cap < (len + 1) * 4)
            cap *= 2;
        size_t *index = calloc(cap, sizeof *index);
        if (!index)
            return crio_error_oom();
        free(t->index);
        t->index = index;
        t->index_cap = cap;
        for (size_t i = 0; i < len; i++)
            index_put(t, i);
    }
    tv->u.table.keys[len] = key;
    tv->u.table.values[len] = value;
    tv->u.table.len = len + 1;
    if (t->index)
        index_put(t, len);
    return 0;
}

/* ---- errors ----------------------------------------------------------- */

static int perr_at(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr_at(parser *p, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return crio_error_set(CRIO_EINVAL, "%s:%d:%d: %s", p->file, line, col, msg);
}
#define perr(p, ...) perr_at((p), (p)->line, (p)->col, __VA_ARGS__)

typedef struct {
    char s[48];
} desc_buf;

/* Describes the character at the current position for "found ..." messages. */
static const char *describe(parser *p, desc_buf *d)
{
    if (p->pos >= p->len)
        return "end of input";
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '\n' || (c == '\r' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n'))
        return "end of line";
    if (c >= 0x21 && c < 0x7f)
        snprintf(d->s, sizeof d->s, "'%c'", c);
    else if (c == ' ')
        return "' '";
    else if (c < 0x80)
        snprintf(d->s, sizeof d->s, "U+%04X", c);
    else {
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2; /* valid UTF-8, checked up front */
        snprintf(d->s, sizeof d->s, "'%.*s'", (int)n, p->s + p->pos);
    }
    return d->s;
}

static bool is_control(int c)
{
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static bool is_bare(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

typedef struct {
    char *name;
    int line, col;
} keypart;

typedef struct {
    keypart *v;
    size_t n;
} keypath;

static void keypath_clear(keypath *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].name);
    free(k->v);
    k->v = NULL;
    k->n = 0;
}

/* A key for messages, cut (at a character boundary) when long. */
typedef struct {
    char s[160];
    size_t len;
    bool cut;
} key_buf;

static void kb_put(key_buf *b, const char *s, size_t n)
{
    if (b->cut)
        return;
    size_t room = sizeof b->s - 4 - b->len; /* keeps room for "..." */
    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
        b->cut = true;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    memcpy(b->s + b->len, b->cut ? "..." : "", b->cut ? 4 : 1);
}

/* The first `n` parts of a key, dotted; parts that are not bare are 'quoted'. */
static const char *fmt_key(const keypath *k, size_t n, key_buf *b)
{
    b->len = 0;
    b->cut = false;
    b->s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = k->v[i].name;
        bool bare = *name != '\0';
        for (const char *c = name; *c; c++)
            bare = bare && is_bare((unsigned char)*c);
        if (i)
            kb_put(b, ".", 1);
        if (bare) {
            kb_put(b, name, strlen(name));
            continue;
        }
        kb_put(b, "'", 1);
        for (const char *c = name; *c;) {
            size_t run = 0;
            while (c[run] && !is_control((unsigned char)c[run]) && c[run] != '\'' && c[run] != '\\')
                run++;
            kb_put(b, c, run);
            c += run;
            if (*c) {
                char esc[8];
                snprintf(esc, sizeof esc, "\\u%04X", (unsigned char)*c);
                kb_put(b, esc, strlen(esc));
                c++;
            }
        }
        kb_put(b, "'", 1);
    }
    return b->s;
}

static const char *kind_of(crio_toml *v)
{
    if (v->type == CRIO_TOML_TABLE)
        return N(v)->flags & F_INLINE ? "an inline table" : "a table";
    if (v->type == CRIO_TOML_ARRAY)
        return N(v)->flags & F_AOT ? "an array of tables" : "an array";
    if (v->type == CRIO_TOML_INT)
        return "an integer";
    if (v->type == CRIO_TOML_BOOL)
        return "a boolean";
    return "a string";
}

/* ---- input ------------------------------------------------------------ */

static int peek(const parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static int peek_at(const parser *p, size_t off)
{
    return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

static void adv(parser *p)
{
    unsigned char c = (unsigned char)p->s[p->pos++];
    if (c == '\n') {
        p->line++;
        p->col = 1;
    } else if ((c & 0xc0) != 0x80) {
        p->col++;
    }
}

static void adv_n(parser *p, size_t n)
{
    while (n--)
        adv(p);
}

static bool at_newline(const parser *p)
{
    int c = peek(p);
    return c == '\n' || (c == '\r' && peek_at(p, 1) == '\n');
}

static void skip_newline(parser *p)
{
    if (peek(p) == '\r')
        adv(p);
    adv(p);
}

static void skip_ws(parser *p)
{
    while (peek(p) == ' ' || peek(p) == '\t')
        adv(p);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The whole input: no NUL byte, valid UTF-8. */
static int check_input(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    int line = 1, col = 1;
    for (size_t i = 0; i < p->len;) {
        if (s[i] == 0)
            return perr_at(p, line, col, "NUL byte in input");
        size_t n = utf8_len(s + i, p->len - i);
        if (n == 0)
            return perr_at(p, line, col, "invalid UTF-8 (byte 0x%02X)", s[i]);
        if (s[i] == '\n')
            line++, col = 1;
        else
            col++;
        i += n;
    }
    return 0;
}

/* '#' up to (not including) the end of line. */
static int parse_comment(parser *p)
{
    adv(p);
    for (;;) {
        int c = peek(p);
        if (c < 0 || at_newline(p))
            return 0;
        if (is_control(c))
            return perr(p, "control character U+%04X not allowed in comment", c);
        adv(p);
    }
}

/* Whitespace, comments and newlines (inside arrays). */
static int skip_ws_nl(parser *p)
{
    for (;;) {
        skip_ws(p);
        if (at_newline(p)) {
            skip_newline(p);
        } else if (peek(p) == '#') {
            int r = parse_comment(p);
            if (r < 0)
                return r;
        } else {
            return 0;
        }
    }
}

/* After a statement: optional whitespace and comment, then a newline or the end. */
static int expect_eol(parser *p, const char *after)
{
    skip_ws(p);
    if (peek(p) == '#') {
        int r = parse_comment(p);
        if (r < 0)
            return r;
    }
    if (peek(p) < 0)
        return 0;
    if (at_newline(p)) {
        skip_newline(p);
        return 0;
    }
    desc_buf d;
    return perr(p, "expected end of line after %s, found %s", after, describe(p, &d));
}

/* ---- strings ---------------------------------------------------------- */

typedef struct {
    char *d;
    size_t len, cap;
} buf;

static void buf_clear(buf *b)
{
    free(b->d);
    b->d = NULL;
}

static int buf_put(buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d)
            return crio_error_oom();
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->len, data, n);
    b->len += n;
    b->d[b->len] = '\0';
    return 0;
}

static int buf_putc(buf *b, char c) { return buf_put(b, &c, 1); }

static char *buf_take(buf *b)
{
    if (!b->d && buf_put(b, "", 0) < 0)
        return NULL;
    return TAKE_PTR(b->d);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int put_utf8(buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
    }
    return buf_put(b, u, n);
}

/* A backslash escape in a basic string; the position is at the backslash. */
static int parse_escape(parser *p, buf *b, bool multiline)
{
    int line = p->line, col = p->col;
    int c = peek_at(p, 1);
    char out;
    switch (c) {
    case 'b': out = '\b'; break;
    case 't': out = '\t'; break;
    case 'n': out = '\n'; break;
    case 'f': out = '\f'; break;
    case 'r': out = '\r'; break;
    case '"': out = '"'; break;
    case '\\': out = '\\'; break;
    case 'u':
    case 'U': {
        size_t digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t i = 0; i < digits; i++) {
            int h = hexval(peek_at(p, 2 + i));
            if (h < 0)
                return perr(p, "invalid escape: \\%c needs %zu hex digits", c, digits);
            cp = (cp << 4) | (uint32_t)h;
        }
        if (cp == 0)
            return perr(p, "invalid escape: strings may not contain U+0000");
        if (cp >= 0xd800 && cp <= 0xdfff)
            return perr(p, "invalid escape: U+%04X is a surrogate, not a character", cp);
        if (cp > 0x10ffff)
            return perr(p, "invalid escape: U+%X is beyond U+10FFFF", cp);
        adv_n(p, 2 + digits);
        return put_utf8(b, cp);
    }
    default:
        if (multiline) {
            /* A line-ending backslash trims the newline and the blanks around it. */
            size_t i = 1;
            while (peek_at(p, i) == ' ' || peek_at(p, i) == '\t')
                i++;
            if (peek_at(p, i) == '\n' || (peek_at(p, i) == '\r' && peek_at(p, i + 1) == '\n')) {
                adv(p);
                for (;;) {
                    skip_ws(p);
                    if (!at_newline(p))
                        return 0;
                    skip_newline(p);
                }
            }
        }
        adv(p);
        desc_buf d;
        const char *what = describe(p, &d);
        return perr_at(p, line, col, "invalid escape sequence: backslash followed by %s", what);
    }
    adv_n(p, 2);
    return buf_putc(b, out);
}

/*
 * A string at the current position ('"', "'", '"""' or "'''").  Keys pass
 * allow_multiline = false.
 */
static int parse_string(parser *p, char **out, bool allow_multiline)
{
    int line = p->line, col = p->col;
    char q = (char)peek(p);
    bool basic = q == '"';
    bool multi = peek_at(p, 1) == q && peek_at(p, 2) == q;
    _cleanup_(buf_clear) buf b = {0};

    if (multi) {
        if (!allow_multiline)
            return perr(p, "a multi-line string cannot be a key");
        adv_n(p, 3);
        if (at_newline(p)) /* a newline right after the delimiter is trimmed */
            skip_newline(p);
    } else {
        adv(p);
    }
    for (;;) {
        int c = peek(p);
        int r = 0;
        if (c < 0) {
            if (multi)
                return perr(p, "unterminated multi-line string (opened at %d:%d)", line, col);
            return perr(p, "unterminated string: expected '%c' before end of input", q);
        }
        if (c == q) {
            if (!multi) {
                adv(p);
                break;
            }
            size_t n = 0;
            while (peek_at(p, n) == q)
                n++;
            if (n >= 3) {
                if (n > 5) {
                    adv_n(p, 5);
                    return perr(p, "too many quotes: a multi-line string ends with at most 5");
                }
                r = buf_put(&b, p->s + p->pos, n - 3);
                adv_n(p, n);
                if (r < 0)
                    return r;
                break;
            }
            r = buf_put(&b, p->s + p->pos, n);
            adv_n(p, n);
        } else if (c == '\\' && basic) {
            r = parse_escape(p, &b, multi);
        } else if (at_newline(p)) {
            if (!multi)
                return perr(p, "unterminated string: expected '%c' before end of line", q);
            skip_newline(p);
            r = buf_putc(&b, '\n');
        } else if (is_control(c)) {
            return perr(p, "control character U+%04X not allowed in string%s", c,
                        basic ? " (use an escape)" : "");
        } else {
            /* A run of ordinary bytes (UTF-8 was checked up front). */
            size_t start = p->pos;
            while (p->pos < p->len) {
                int d = peek(p);
                if (d == q || (d == '\\' && basic) || d == '\r' || d == '\n' || is_control(d))
                    break;
                adv(p);
            }
            r = buf_put(&b, p->s + start, p->pos - start);
        }
        if (r < 0)
            return r;
    }
    *out = buf_take(&b);
    return *out ? 0 : crio_error_oom();
}

/* ---- keys ------------------------------------------------------------- */

/* simple-key *( ws '.' ws simple-key ), followed by optional whitespace. */
static int parse_key(parser *p, keypath *k)
{
    for (;;) {
        keypart part = { NULL, p->line, p->col };
        int c = peek(p);
        if (c == '"' || c == '\'') {
            int r = parse_string(p, &part.name, false);
            if (r < 0)
                return r;
        } else if (c >= 0 && is_bare((unsigned char)c)) {
            size_t start = p->pos;
            while (peek(p) >= 0 && is_bare((unsigned char)peek(p)))
                adv(p);
            part.name = strndup(p->s + start, p->pos - start);
            if (!part.name)
                return crio_error_oom();
        } else {
            desc_buf d;
            return perr(p, "expected a key, found %s", describe(p, &d));
        }
        if (k->n >= TOML_MAX_DEPTH) {
            free(part.name);
            return perr_at(p, part.line, part.col, "key has too many parts (limit %d)", TOML_MAX_DEPTH);
        }
        keypart *v = realloc(k->v, (k->n + 1) * sizeof *v); /* at most 64 parts */
        if (!v) {
            free(part.name);
            return crio_error_oom();
        }
        k->v = v;
        k->v[k->n++] = part;
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        adv(p);
        skip_ws(p);
    }
}

/* ---- numbers, booleans ------------------------------------------------ */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static bool is_token_char(int c)
{
    return c >= 0 && (is_bare((unsigned char)c) || c == '+' || c == '.' || c == ':');
}

/*
 * Digits in `base` with single underscores between them; tok[0..n) is ASCII on
 * the current line, starting at column `col`.  Returns 1 on overflow.
 */
static int parse_digits(parser *p, const char *tok, size_t n, int col, unsigned base, uint64_t limit,
                        uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return perr_at(p, p->line, col, "expected digits after the base prefix");
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)tok[i];
        if (c == '_') {
            if (i == 0 || i + 1 == n || tok[i + 1] == '_')
                return perr_at(p, p->line, col + (int)i,
                               "an underscore in a number must be between two digits");
            continue;
        }
        int d = hexval(c);
        if (d < 0 || (unsigned)d >= base) {
            return perr_at(p, p->line, col + (int)i, "invalid character '%c' in %s integer", c,
                           base == 16 ? "hexadecimal" : base == 8 ? "octal" : base == 2 ? "binary" : "decimal");
        }
        if (v > (limit - (uint64_t)d) / base)
            return 1;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* true, false, integers; floats and date-times are refused with a clear message. */
static int parse_scalar(parser *p, crio_toml **out)
{
    int line = p->line, col = p->col;
    const char *tok = p->s + p->pos;
    size_t n = 0;
    while (is_token_char(peek_at(p, n)))
        n++;
    if (n == 0) {
        desc_buf d;
        return perr(p, "expected a value, found %s", describe(p, &d));
    }
    _cleanup_node_ crio_toml *v = NULL;

    if ((n == 4 && memcmp(tok, "true", 4) == 0) || (n == 5 && memcmp(tok, "false", 5) == 0)) {
        if (!(v = node_new(CRIO_TOML_BOOL, line, col)))
            return crio_error_oom();
        v->u.boolean = n == 4;
        adv_n(p, n);
        *out = TAKE_PTR(v);
        return 0;
    }
    bool neg = tok[0] == '-', sign = tok[0] == '-' || tok[0] == '+';
    const char *s = tok + sign;
    size_t sn = n - sign;
    if (sn == 3 && (memcmp(s, "inf", 3) == 0 || memcmp(s, "nan", 3) == 0))
        return perr(p, "floats are not supported");
    if ((n >= 5 && is_digit(tok[0]) && is_digit(tok[1]) && is_digit(tok[2]) && is_digit(tok[3]) &&
         tok[4] == '-') ||
        (n >= 3 && is_digit(tok[0]) && is_digit(tok[1]) && tok[2] == ':'))
        return perr(p, "date-times are not supported");
    if (sn == 0 || !is_digit(s[0]))
        return perr(p, "expected a value, found \"%.*s\"%s", n > 40 ? 40 : (int)n, tok,
                    n > 40 ? "..." : "");

    uint64_t u;
    int r;
    int dcol = col + (int)sign;
    if (s[0] == '0' && sn > 1 && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        unsigned base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        if (sign)
            return perr(p, "a sign is not allowed on %s integer",
                        base == 16 ? "a hexadecimal" : base == 8 ? "an octal" : "a binary");
        r = parse_digits(p, s + 2, sn - 2, dcol + 2, base, INT64_MAX, &u);
    } else {
        for (size_t i = 0; i < sn; i++)
            if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
                return perr(p, "floats are not supported");
        if (s[0] == '0' && sn > 1 && (is_digit(s[1]) || s[1] == '_'))
            return perr_at(p, line, dcol, "leading zeros are not allowed in a decimal integer");
        r = parse_digits(p, s, sn, dcol, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &u);
    }
    if (r < 0)
        return r;
    if (r > 0)
        return perr(p, "integer out of range (64-bit signed): %.*s%s", n > 40 ? 40 : (int)n, tok,
                    n > 40 ? "..." : "");
    if (!(v = node_new(CRIO_TOML_INT, line, col)))
        return crio_error_oom();
    if (!neg)
        v->u.num = (int64_t)u;
    else
        v->u.num = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    adv_n(p, n);
    *out = TAKE_PTR(v);
    return 0;
}

/* ---- values, tables ----------------------------------------------------- */

static int parse_value(parser *p, int depth, crio_toml **out);

static int check_depth(parser *p, int depth, int line, int col)
{
    if (depth > TOML_MAX_DEPTH)
        return perr_at(p, line, col, "nesting too deep (limit %d levels)", TOML_MAX_DEPTH);
    return 0;
}

static crio_toml *table_new(int depth, unsigned flags, int line, int col)
{
    crio_toml *t = node_new(CRIO_TOML_TABLE, line, col);
    if (t) {
        N(t)->depth = depth;
        N(t)->flags = flags;
    }
    return t;
}

static int parse_array(parser *p, int depth, crio_toml **out)
{
    int line = p->line, col = p->col;
    int r = check_depth(p, depth, line, col);
    if (r < 0)
        return r;
    _cleanup_node_ crio_toml *arr = node_new(CRIO_TOML_ARRAY, line, col);
    if (!arr)
        return crio_error_oom();
    N(arr)->depth = depth;
    adv(p);
    for (;;) {
        if ((r = skip_ws_nl(p)) < 0)
            return r;
        if (peek(p) == ']')
            break;
        _cleanup_node_ crio_toml *item = NULL;
        if ((r = parse_value(p, depth + 1, &item)) < 0 || (r = array_push(arr, item)) < 0)
            return r;
        item = NULL;
        if ((r = skip_ws_nl(p)) < 0)
            return r;
        if (peek(p) == ',') {
            adv(p);
            continue;
        }
        if (peek(p) == ']')
            break;
        if (peek(p) < 0)
            return perr(p, "unterminated array (opened at %d:%d): expected ']'", line, col);
        desc_buf d;
        return perr(p, "expected ',' or ']' after an array element, found %s", describe(p, &d));
    }
    adv(p);
    *out = TAKE_PTR(arr);
    return 0;
}

static int parse_keyval(parser *p, crio_toml *t, bool in_inline);

static int parse_inline_table(parser *p, int depth, crio_toml **out)
{
    int line = p->line, col = p->col;
    int r = check_depth(p, depth, line, col);
    if (r < 0)
        return r;
    _cleanup_node_ crio_toml *t = table_new(depth, F_INLINE | F_DEFINED, line, col);
    if (!t)
        return crio_error_oom();
    adv(p);
    skip_ws(p);
    if (peek(p) == '}') {
        adv(p);
        *out = TAKE_PTR(t);
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (at_newline(p))
            return perr(p, "newline not allowed in an inline table");
        if ((r = parse_keyval(p, t, true)) < 0)
            return r;
        skip_ws(p);
        if (peek(p) == ',') {
            adv(p);
            skip_ws(p);
            if (peek(p) == '}')
                return perr(p, "trailing comma not allowed in an inline table");
            continue;
        }
        if (peek(p) == '}')
            break;
        if (at_newline(p))
            return perr(p, "newline not allowed in an inline table (expected ',' or '}')");
        desc_buf d;
        return perr(p, "expected ',' or '}' in an inline table, found %s", describe(p, &d));
    }
    adv(p);
    *out = TAKE_PTR(t);
    return 0;
}

/* A value at `depth` (the depth it will have once stored). */
static int parse_value(parser *p, int depth, crio_toml **out)
{
    int c = peek(p);
    if (c == '[')
        return parse_array(p, depth, out);
    if (c == '{')
        return parse_inline_table(p, depth, out);
    if (c == '"' || c == '\'') {
        _cleanup_node_ crio_toml *v = node_new(CRIO_TOML_STRING, p->line, p->col);
        if (!v)
            return crio_error_oom();
        int r = parse_string(p, &v->u.str, true);
        if (r < 0)
            return r;
        *out = TAKE_PTR(v);
        return 0;
    }
    return parse_scalar(p, out);
}

/* key = value, into table `t` (the current table, or an inline table being read). */
static int parse_keyval(parser *p, crio_toml *t, bool in_inline)
{
    _cleanup_(keypath_clear) keypath k = {0};
    key_buf kb;
    int r = parse_key(p, &k);
    if (r < 0)
        return r;
    if (peek(p) != '=') {
        desc_buf d;
        return perr(p, "expected '=' after key \"%s\", found %s", fmt_key(&k, k.n, &kb), describe(p, &d));
    }
    adv(p);
    skip_ws(p);

    for (size_t i = 0; i + 1 < k.n; i++) {
        keypart *kp = &k.v[i];
        crio_toml *child = table_find(t, kp->name);
        if (!child) {
            if ((r = check_depth(p, N(t)->depth + 1, kp->line, kp->col)) < 0)
                return r;
            child = table_new(N(t)->depth + 1, F_DOTTED | (in_inline ? F_INLINE : 0), kp->line, kp->col);
            if (!child)
                return crio_error_oom();
            if ((r = table_add(t, kp->name, child)) < 0) {
                node_free(child);
                return r;
            }
            kp->name = NULL;
        } else if (child->type != CRIO_TOML_TABLE || !(N(child)->flags & F_DOTTED)) {
            const char *why = child->type != CRIO_TOML_TABLE ? ""
                              : N(child)->flags & F_INLINE ? "; an inline table cannot be extended"
                                                           : "; dotted keys cannot extend it";
            return perr_at(p, kp->line, kp->col, "key \"%s\" is already defined as %s at %d:%d%s",
                           fmt_key(&k, i + 1, &kb), kind_of(child), N(child)->def_line, N(child)->def_col,
                           why);
        }
        t = child;
    }

    keypart *last = &k.v[k.n - 1];
    crio_toml *old = table_find(t, last->name);
    if (old) {
        if (old->type == CRIO_TOML_TABLE || old->type == CRIO_TOML_ARRAY)
            return perr_at(p, last->line, last->col, "key \"%s\" is already defined as %s at %d:%d",
                           fmt_key(&k, k.n, &kb), kind_of(old), N(old)->def_line, N(old)->def_col);
        return perr_at(p, last->line, last->col, "key \"%s\" defined twice (first at %d:%d)",
                       fmt_key(&k, k.n, &kb), N(old)->def_line, N(old)->def_col);
    }
    _cleanup_node_ crio_toml *v = NULL;
    if ((r = parse_value(p, N(t)->depth + 1, &v)) < 0)
        return r;
    N(v)->def_line = last->line;
    N(v)->def_col = last->col;
    if ((r = table_add(t, last->name, v)) < 0)
        return r;
    last->name = NULL;
    v = NULL;
    return 0;
}

/* [a.b.c] or [[a.b.c]]: makes the named table current. */
static int parse_header(parser *p, crio_toml *root, crio_toml **cur)
{
    int line = p->line, col = p->col;
    bool aot = peek_at(p, 1) == '[';
    _cleanup_(keypath_clear) keypath k = {0};
    key_buf kb, kb2;
    desc_buf d;
    int r;

    adv_n(p, aot ? 2 : 1);
    skip_ws(p);
    if ((r = parse_key(p, &k)) < 0)
        return r;
    if (peek(p) != ']')
        return perr(p, "expected '%s' after table name \"%s\", found %s", aot ? "]]" : "]",
                    fmt_key(&k, k.n, &kb), describe(p, &d));
    adv(p);
    if (aot) {
        if (peek(p) != ']')
            return perr(p, "expected ']]' to close array-of-tables header \"%s\", found %s",
                        fmt_key(&k, k.n, &kb), describe(p, &d));
        adv(p);
    }

    crio_toml *t = root;
    for (size_t i = 0; i + 1 < k.n; i++) {
        keypart *kp = &k.v[i];
        crio_toml *child = table_find(t, kp->name);
        if (!child) {
            if ((r = check_depth(p, N(t)->depth + 1, kp->line, kp->col)) < 0)
                return r;
            if (!(child = table_new(N(t)->depth + 1, 0, kp->line, kp->col)))
                return crio_error_oom();
            if ((r = table_add(t, kp->name, child)) < 0) {
                node_free(child);
                return r;
            }
            kp->name = NULL;
        } else if (child->type == CRIO_TOML_ARRAY && (N(child)->flags & F_AOT)) {
            child = child->u.array.items[child->u.array.len - 1];
        } else if (child->type != CRIO_TOML_TABLE || (N(child)->flags & F_INLINE)) {
            return perr_at(p, kp->line, kp->col, "cannot define table \"%s\": key \"%s\" is already defined as %s at %d:%d",
                           fmt_key(&k, k.n, &kb), fmt_key(&k, i + 1, &kb2), kind_of(child),
                           N(child)->def_line, N(child)->def_col);
        }
        t = child;
    }

    keypart *last = &k.v[k.n - 1];
    crio_toml *old = table_find(t, last->name);
    int depth = N(t)->depth + 1;
    if (!aot) {
        if (!old) {
            if ((r = check_depth(p, depth, last->line, last->col)) < 0)
                return r;
            _cleanup_node_ crio_toml *nt = table_new(depth, F_DEFINED, line, col);
            if (!nt)
                return crio_error_oom();
            if ((r = table_add(t, last->name, nt)) < 0)
                return r;
            last->name = NULL;
            *cur = TAKE_PTR(nt);
            return 0;
        }
        if (old->type == CRIO_TOML_TABLE && !(N(old)->flags & (F_INLINE | F_DOTTED | F_DEFINED))) {
            N(old)->flags |= F_DEFINED; /* created implicitly by an earlier header */
            old->line = N(old)->def_line = line;
            old->column = N(old)->def_col = col;
            *cur = old;
            return 0;
        }
        if (old->type == CRIO_TOML_TABLE && (N(old)->flags & F_DEFINED) && !(N(old)->flags & F_INLINE))
            return perr_at(p, last->line, last->col, "table \"%s\" defined twice (first at %d:%d)",
                           fmt_key(&k, k.n, &kb), N(old)->def_line, N(old)->def_col);
        if (old->type == CRIO_TOML_TABLE && (N(old)->flags & F_DOTTED) && !(N(old)->flags & F_INLINE))
            return perr_at(p, last->line, last->col,
                           "cannot define table \"%s\": it was already defined by dotted keys at %d:%d",
                           fmt_key(&k, k.n, &kb), N(old)->def_line, N(old)->def_col);
        return perr_at(p, last->line, last->col, "cannot define table \"%s\": key is already defined as %s at %d:%d",
                       fmt_key(&k, k.n, &kb), kind_of(old), N(old)->def_line, N(old)->def_col);
    }

    _cleanup_node_ crio_toml *arr = NULL;
    if (!old) {
        if ((r = check_depth(p, depth + 1, last->line, last->col)) < 0)
            return r;
        if (!(arr = node_new(CRIO_TOML_ARRAY, line, col)))
            return crio_error_oom();
        N(arr)->flags = F_AOT;
        N(arr)->depth = depth;
        old = arr;
    } else if (old->type != CRIO_TOML_ARRAY || !(N(old)->flags & F_AOT)) {
        if (old->type == CRIO_TOML_ARRAY)
            return perr_at(p, last->line, last->col,
                           "cannot append to array \"%s\" defined at %d:%d: only an array created by [[%s]] can be",
                           fmt_key(&k, k.n, &kb), N(old)->def_line, N(old)->def_col, fmt_key(&k, k.n, &kb2));
        return perr_at(p, last->line, last->col,
                       "cannot define array of tables \"%s\": key is already defined as %s at %d:%d",
                       fmt_key(&k, k.n, &kb), kind_of(old), N(old)->def_line, N(old)->def_col);
    }
    _cleanup_node_ crio_toml *elem = table_new(depth + 1, F_DEFINED, line, col);
    if (!elem)
        return crio_error_oom();
    if ((r = array_push(old, elem)) < 0)
        return r;
    crio_toml *added = TAKE_PTR(elem);
    if (arr) {
        if ((r = table_add(t, last->name, arr)) < 0)
            return r; /* arr (with the element) is freed on return */
        last->name = NULL;
        arr = NULL;
    }
    *cur = added;
    return 0;
}

/* ---- entry points ------------------------------------------------------- */

int crio_toml_parse(crio_toml **out, const char *text, size_t len, const char *filename)
{
    parser P = { .s = text, .len = len, .line = 1, .col = 1, .file = filename ? filename : "<input>" };
    parser *p = &P;
    int r;

    *out = NULL;
    if (!text && len)
        return crio_error_set(CRIO_EINVAL, "%s: no input", p->file);
    if ((r = check_input(p)) < 0)
        return r;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        p->pos = 3; /* a byte-order mark */

    _cleanup_node_ crio_toml *root = table_new(0, F_DEFINED, 1, 1);
    if (!root)
        return crio_error_oom();
    crio_toml *cur = root;
    for (;;) {
        skip_ws(p);
        int c = peek(p);
        if (c < 0)
            break;
        if (at_newline(p)) {
            skip_newline(p);
            continue;
        }
        if (c == '#')
            r = parse_comment(p);
        else if (c == '[' && (r = parse_header(p, root, &cur)) == 0)
            r = expect_eol(p, "table header");
        else if (c != '[' && (r = parse_keyval(p, cur, false)) == 0)
            r = expect_eol(p, "value");
        if (r < 0)
            return r;
    }
    drop_indexes(root);
    *out = TAKE_PTR(root);
    return 0;
}

static int too_large(const char *path)
{
    return crio_error_set(CRIO_EINVAL, "%s: file too large (limit %u bytes)", path, TOML_MAX_FILE);
}

int crio_toml_parse_file(crio_toml **out, const char *path)
{
    *out = NULL;
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int e = crio_fs_read_file(&data, &len, path, TOML_MAX_FILE);
    if (e == CRIO_ENOMEM && crio_error_errno(crio_error_last()) == 0)
        return too_large(path);
    if (e < 0)
        return e;
    return crio_toml_parse(out, data, len, path);
}

crio_toml *crio_toml_get(const crio_toml *table, const char *key)
{
    if (!table || !key || table->type != CRIO_TOML_TABLE)
        return NULL;
    for (size_t i = 0; i < table->u.table.len; i++)
        if (strcmp(table->u.table.keys[i], key) == 0)
            return table->u.table.values[i];
    return NULL;
}

const char *crio_toml_type_name(crio_toml_type type)
{
    switch (type) {
    case CRIO_TOML_TABLE: return "table";
    case CRIO_TOML_ARRAY: return "array";
    case CRIO_TOML_STRING: return "string";
    case CRIO_TOML_INT: return "integer";
    case CRIO_TOML_BOOL: return "boolean";
    }
    return "unknown";
}
