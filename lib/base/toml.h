/*
 * A strict TOML parser for the subset crio.conf and registries.conf use:
 * tables, dotted and nested table headers, arrays of tables, dotted keys,
 * inline tables, basic and literal strings (single- and multi-line) with
 * escapes, integers (decimal, hex, octal, binary, with underscores), booleans,
 * arrays and comments.  Floats and date-times are refused with a clear error.
 * A key defined twice, a table header repeated, or a value redefining a table
 * is an error.  Every error names the file, line and column.
 */
#ifndef CRIO_BASE_TOML_H
#define CRIO_BASE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CRIO_TOML_TABLE,
    CRIO_TOML_ARRAY,
    CRIO_TOML_STRING,
    CRIO_TOML_INT,
    CRIO_TOML_BOOL
} crio_toml_type;

typedef struct crio_toml crio_toml;

struct crio_toml {
    crio_toml_type type;
    int line, column; /* where the value (or the table's header) was defined; 1-based */
    union {
        char *str;    /* CRIO_TOML_STRING: NUL-terminated, UTF-8; may hold no NUL */
        int64_t num;  /* CRIO_TOML_INT */
        bool boolean; /* CRIO_TOML_BOOL */
        struct {      /* CRIO_TOML_ARRAY */
            crio_toml **items;
            size_t len;
        } array;
        struct {      /* CRIO_TOML_TABLE: keys in definition order */
            char **keys;
            crio_toml **values;
            size_t len;
        } table;
    } u;
};

/*
 * Parses `len` bytes of `text` (need not be NUL-terminated) into a root table.
 * `filename` is used only in error messages ("crio.conf:3:7: expected '='").
 * Errors: CRIO_EINVAL with the position in crio_error_last(); CRIO_ENOMEM.
 */
int crio_toml_parse(crio_toml **out, const char *text, size_t len, const char *filename);

/* Reads and parses a file (at most 4 MiB).  Errors as above, plus the open/read errno. */
int crio_toml_parse_file(crio_toml **out, const char *path);

/* Looks up `key` (one key, not dotted) in a table; NULL when absent or not a table. */
crio_toml *crio_toml_get(const crio_toml *table, const char *key);

/* The name of a type: "table", "array", "string", "integer", "boolean". */
const char *crio_toml_type_name(crio_toml_type type);

/* Frees a value and everything under it.  NULL-safe. */
void crio_toml_free(crio_toml *value);

#endif
