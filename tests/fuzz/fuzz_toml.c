/*
 * libFuzzer target for the TOML parser: parses the input, checks a few
 * invariants of the result (no key twice in a table, bounded depth, strings
 * without NUL), and frees it.  Built and run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <crio/common.h>

#include "base/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const crio_toml *v, int depth)
{
    if (depth > 65 || v->line < 1 || v->column < 1)
        __builtin_trap();
    switch (v->type) {
    case CRIO_TOML_TABLE:
        for (size_t i = 0; i < v->u.table.len; i++) {
            /* crio_toml_get returns the first match: a duplicate key would differ. */
            if (v->u.table.len < 256 && crio_toml_get(v, v->u.table.keys[i]) != v->u.table.values[i])
                __builtin_trap();
            check(v->u.table.values[i], depth + 1);
        }
        break;
    case CRIO_TOML_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            check(v->u.array.items[i], depth + 1);
        break;
    case CRIO_TOML_STRING:
        (void)strlen(v->u.str);
        break;
    default:
        break;
    }
    if (!crio_toml_type_name(v->type)[0])
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crio_toml *t = NULL;
    int r = crio_toml_parse(&t, (const char *)data, size, "fuzz.toml");
    if (r == 0) {
        if (!t || t->type != CRIO_TOML_TABLE)
            __builtin_trap();
        check(t, 0);
        crio_toml_free(t);
    } else if (t || (r != CRIO_EINVAL && r != CRIO_ENOMEM) ||
               strncmp(crio_error_message(crio_error_last()), "fuzz.toml:", 10) != 0) {
        __builtin_trap(); /* errors leave *out NULL and name the position */
    }
    return 0;
}
