/* Unit tests for the strict TOML parser (lib/base/toml.c). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <crio/common.h>

#include "base/toml.h"

#define F "t.toml"

static crio_toml *parse_n(const char *text, size_t len)
{
    crio_toml *t = NULL;
    int r = crio_toml_parse(&t, text, len, F);
    cr_assert_eq(r, 0, "parse failed on <<%.200s>>: %s", text, crio_error_message(crio_error_last()));
    cr_assert_not_null(t);
    cr_assert_eq(t->type, CRIO_TOML_TABLE);
    return t;
}

static crio_toml *parse(const char *text)
{
    return parse_n(text, strlen(text));
}

static void fails_n(const char *text, size_t len, const char *msg)
{
    crio_toml *t = (crio_toml *)&t; /* must be reset to NULL */
    int r = crio_toml_parse(&t, text, len, F);
    cr_assert_eq(r, CRIO_EINVAL, "<<%.200s>>: expected CRIO_EINVAL, got %d (%s)", text, r,
                 crio_error_message(crio_error_last()));
    cr_assert_null(t, "<<%.200s>>: *out not reset on error", text);
    cr_assert_eq(crio_error_code(crio_error_last()), CRIO_EINVAL);
    const char *got = crio_error_message(crio_error_last());
    cr_assert(strcmp(got, msg) == 0, "<<%.200s>>\n got: %s\nwant: %s", text, got, msg);
}

static void fails(const char *text, const char *msg)
{
    fails_n(text, strlen(text), msg);
}

/* Looks up a '/'-separated path; numeric parts index arrays. */
static crio_toml *at(const crio_toml *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const crio_toml *v = root;
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        cr_assert_not_null(v, "%s: missing before %s", path, part);
        if (v->type == CRIO_TOML_ARRAY) {
            size_t i = strtoul(part, NULL, 10);
            cr_assert_lt(i, v->u.array.len, "%s: index %zu out of range", path, i);
            v = v->u.array.items[i];
        } else {
            cr_assert_eq(v->type, CRIO_TOML_TABLE, "%s: %s is not in a table", path, part);
            v = crio_toml_get(v, part);
        }
    }
    cr_assert_not_null(v, "%s: not found", path);
    return (crio_toml *)v;
}

static const char *str(const crio_toml *root, const char *path)
{
    crio_toml *v = at(root, path);
    cr_assert_eq(v->type, CRIO_TOML_STRING, "%s is a %s", path, crio_toml_type_name(v->type));
    return v->u.str;
}

static int64_t num(const crio_toml *root, const char *path)
{
    crio_toml *v = at(root, path);
    cr_assert_eq(v->type, CRIO_TOML_INT, "%s is a %s", path, crio_toml_type_name(v->type));
    return v->u.num;
}

static bool boolean(const crio_toml *root, const char *path)
{
    crio_toml *v = at(root, path);
    cr_assert_eq(v->type, CRIO_TOML_BOOL, "%s is a %s", path, crio_toml_type_name(v->type));
    return v->u.boolean;
}

static size_t len_of(const crio_toml *root, const char *path)
{
    crio_toml *v = at(root, path);
    if (v->type == CRIO_TOML_ARRAY)
        return v->u.array.len;
    cr_assert_eq(v->type, CRIO_TOML_TABLE, "%s is a %s", path, crio_toml_type_name(v->type));
    return v->u.table.len;
}

static void pos(const crio_toml *root, const char *path, int line, int column)
{
    crio_toml *v = at(root, path);
    cr_assert_eq(v->line, line, "%s: line %d, want %d", path, v->line, line);
    cr_assert_eq(v->column, column, "%s: column %d, want %d", path, v->column, column);
}

/* ---- values ------------------------------------------------------------ */

Test(toml, scalars_and_positions)
{
    crio_toml *t = parse("s = \"str\"\n  i = 42\nb = true\nf = false\n");
    cr_assert_eq(t->u.table.len, 4);
    cr_assert_str_eq(str(t, "s"), "str");
    cr_assert_eq(num(t, "i"), 42);
    cr_assert(boolean(t, "b"));
    cr_assert_not(boolean(t, "f"));
    pos(t, "s", 1, 5);
    pos(t, "i", 2, 7);
    pos(t, "b", 3, 5);
    crio_toml_free(t);
}

Test(toml, empty_and_comment_only)
{
    crio_toml *t = parse("");
    cr_assert_eq(t->u.table.len, 0);
    crio_toml_free(t);
    t = parse_n(NULL, 0);
    cr_assert_eq(t->u.table.len, 0);
    crio_toml_free(t);
    t = parse("# only a comment\n\n   \t\n# another é ✓\n");
    cr_assert_eq(t->u.table.len, 0);
    crio_toml_free(t);
}

Test(toml, comments_crlf_and_bom)
{
    crio_toml *t = parse("\xef\xbb\xbf# comment\r\na = 1 # trailing\r\n[t] # header comment\r\nb = 'x'\r\n");
    cr_assert_eq(num(t, "a"), 1);
    pos(t, "a", 2, 5);
    cr_assert_str_eq(str(t, "t/b"), "x");
    crio_toml_free(t);
}

Test(toml, no_trailing_newline)
{
    crio_toml *t = parse("a = 1\nb = \"end\"");
    cr_assert_str_eq(str(t, "b"), "end");
    crio_toml_free(t);
}

Test(toml, integers)
{
    crio_toml *t = parse("a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\n"
                         "g = 0xDEADBEEF\nh = 0xdead_beef\ni = 0o01234567\nj = 0o755\nk = 0b11010110\n"
                         "l = -9223372036854775808\nm = 9223372036854775807\nn = -0\no = +0\n"
                         "p = 0x7FFFFFFFFFFFFFFF\nq = 0x00000001\nr = 0b0\n");
    cr_assert_eq(num(t, "a"), 99);
    cr_assert_eq(num(t, "b"), 42);
    cr_assert_eq(num(t, "c"), 0);
    cr_assert_eq(num(t, "d"), -17);
    cr_assert_eq(num(t, "e"), 1000);
    cr_assert_eq(num(t, "f"), 5349221);
    cr_assert_eq(num(t, "g"), 0xDEADBEEF);
    cr_assert_eq(num(t, "h"), 0xDEADBEEF);
    cr_assert_eq(num(t, "i"), 01234567);
    cr_assert_eq(num(t, "j"), 0755);
    cr_assert_eq(num(t, "k"), 0xd6);
    cr_assert_eq(num(t, "l"), INT64_MIN);
    cr_assert_eq(num(t, "m"), INT64_MAX);
    cr_assert_eq(num(t, "n"), 0);
    cr_assert_eq(num(t, "o"), 0);
    cr_assert_eq(num(t, "p"), INT64_MAX);
    cr_assert_eq(num(t, "q"), 1);
    cr_assert_eq(num(t, "r"), 0);
    crio_toml_free(t);
}

Test(toml, integer_errors)
{
    fails("a = 012", F ":1:5: leading zeros are not allowed in a decimal integer");
    fails("a = -00", F ":1:6: leading zeros are not allowed in a decimal integer");
    fails("a = 0_1", F ":1:5: leading zeros are not allowed in a decimal integer");
    fails("a = 1__2", F ":1:6: an underscore in a number must be between two digits");
    fails("a = 1_", F ":1:6: an underscore in a number must be between two digits");
    fails("a = 0x_1", F ":1:7: an underscore in a number must be between two digits");
    fails("a = _1", F ":1:5: expected a value, found \"_1\"");
    fails("a = +0x1", F ":1:5: a sign is not allowed on a hexadecimal integer");
    fails("a = -0o7", F ":1:5: a sign is not allowed on an octal integer");
    fails("a = 0x", F ":1:7: expected digits after the base prefix");
    fails("a = 0b12", F ":1:8: invalid character '2' in binary integer");
    fails("a = 0o8", F ":1:7: invalid character '8' in octal integer");
    fails("a = 0xG", F ":1:7: invalid character 'G' in hexadecimal integer");
    fails("a = 0x1.5", F ":1:8: invalid character '.' in hexadecimal integer");
    fails("a = 0X1F", F ":1:6: invalid character 'X' in decimal integer");
    fails("a = 12a", F ":1:7: invalid character 'a' in decimal integer");
    fails("a = 1-2", F ":1:6: invalid character '-' in decimal integer");
    fails("a = +", F ":1:5: expected a value, found \"+\"");
    fails("a = 9223372036854775808",
          F ":1:5: integer out of range (64-bit signed): 9223372036854775808");
    fails("a = -9223372036854775809",
          F ":1:5: integer out of range (64-bit signed): -9223372036854775809");
    fails("a = 0x8000000000000000", F ":1:5: integer out of range (64-bit signed): 0x8000000000000000");
    fails("a = 0b1_0000000000000000000000000000000000000000000000000000000000000000",
          F ":1:5: integer out of range (64-bit signed): 0b1_000000000000000000000000000000000000...");
    fails("a = 99999999999999999999999", F ":1:5: integer out of range (64-bit signed): 99999999999999999999999");
}

Test(toml, floats_and_datetimes_refused)
{
    fails("a = 3.14", F ":1:5: floats are not supported");
    fails("a = -0.5", F ":1:5: floats are not supported");
    fails("a = 1e5", F ":1:5: floats are not supported");
    fails("a = 6E-8", F ":1:5: floats are not supported");
    fails("a = 1_000.5", F ":1:5: floats are not supported");
    fails("a = inf", F ":1:5: floats are not supported");
    fails("a = +inf", F ":1:5: floats are not supported");
    fails("a = -nan", F ":1:5: floats are not supported");
    fails("x = 1\na = [1, nan]", F ":2:9: floats are not supported");
    fails("a = 1979-05-27T07:32:00Z", F ":1:5: date-times are not supported");
    fails("a = 1979-05-27 07:32:00", F ":1:5: date-times are not supported");
    fails("a = 1979-05-27", F ":1:5: date-times are not supported");
    fails("a = 07:32:00", F ":1:5: date-times are not supported");
}

Test(toml, booleans_and_bad_values)
{
    crio_toml *t = parse("t = true\nf = false\narr = [true,false]");
    cr_assert(boolean(t, "t"));
    cr_assert_not(boolean(t, "f"));
    cr_assert(boolean(t, "arr/0"));
    cr_assert_not(boolean(t, "arr/1"));
    crio_toml_free(t);
    fails("a = True", F ":1:5: expected a value, found \"True\"");
    fails("a = truex", F ":1:5: expected a value, found \"truex\"");
    fails("a = hello", F ":1:5: expected a value, found \"hello\"");
    fails("a = ", F ":1:5: expected a value, found end of input");
    fails("a =\nb = 1", F ":1:4: expected a value, found end of line");
    fails("a = ?", F ":1:5: expected a value, found '?'");
    fails("a = true false", F ":1:10: expected end of line after value, found 'f'");
}

/* ---- strings ----------------------------------------------------------- */

Test(toml, basic_strings_and_escapes)
{
    crio_toml *t = parse("a = \"tab\\there \\\"q\\\" back\\\\slash\"\n"
                         "b = \"\\b\\f\\n\\r\\t\"\n"
                         "c = \"\\u00e9\\u20AC\\U0001F600\\u0041\"\n"
                         "d = \"\"\n"
                         "e = \"raw UTF-8: é € 😀\"\n"
                         "f = \"# not a comment\"\n"
                         "g = \"tab\tinside\"\n");
    cr_assert_str_eq(str(t, "a"), "tab\there \"q\" back\\slash");
    cr_assert_str_eq(str(t, "b"), "\b\f\n\r\t");
    cr_assert_str_eq(str(t, "c"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A");
    cr_assert_str_eq(str(t, "d"), "");
    cr_assert_str_eq(str(t, "e"), "raw UTF-8: é € 😀");
    cr_assert_str_eq(str(t, "f"), "# not a comment");
    cr_assert_str_eq(str(t, "g"), "tab\tinside");
    crio_toml_free(t);
}

Test(toml, literal_strings)
{
    crio_toml *t = parse("a = 'C:\\Users\\nodejs\\templates'\nb = '<\\i\\c*\\s*>'\nc = ''\nd = 'say \"hi\"'\n");
    cr_assert_str_eq(str(t, "a"), "C:\\Users\\nodejs\\templates");
    cr_assert_str_eq(str(t, "b"), "<\\i\\c*\\s*>");
    cr_assert_str_eq(str(t, "c"), "");
    cr_assert_str_eq(str(t, "d"), "say \"hi\"");
    crio_toml_free(t);
}

Test(toml, multiline_basic_strings)
{
    crio_toml *t = parse("a = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
                         "b = \"\"\"\\\n  The quick \\\n\n\n   brown fox.\\\n   \"\"\"\n"
                         "c = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n"
                         "d = \"\"\"Here are three: \"\"\\\". And fifteen: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"\n"
                         "e = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n"
                         "f = \"\"\"two at the end\"\"\"\"\"\n"
                         "g = \"\"\"crlf\r\nline \\\r\n   joined\"\"\"\n"
                         "h = \"\"\"\"\"\"\n"
                         "i = \"\"\"trailing ws backslash \\  \t\n  x\"\"\"\n");
    cr_assert_str_eq(str(t, "a"), "Roses are red\nViolets are blue");
    cr_assert_str_eq(str(t, "b"), "The quick brown fox.");
    cr_assert_str_eq(str(t, "c"), "Here are two quotation marks: \"\". Simple enough.");
    cr_assert_str_eq(str(t, "d"), "Here are three: \"\"\". And fifteen: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\".");
    cr_assert_str_eq(str(t, "e"), "\"This,\" she said, \"is just a pointless statement.\"");
    cr_assert_str_eq(str(t, "f"), "two at the end\"\"");
    cr_assert_str_eq(str(t, "g"), "crlf\nline joined");
    cr_assert_str_eq(str(t, "h"), "");
    cr_assert_str_eq(str(t, "i"), "trailing ws backslash x");
    pos(t, "b", 4, 5);
    pos(t, "c", 10, 5);
    crio_toml_free(t);
}

Test(toml, multiline_literal_strings)
{
    crio_toml *t = parse("a = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''\n"
                         "b = '''I [dw]on't need \\d{2} apples'''\n"
                         "c = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\n"
                         "d = ''''That,' she said, 'is still pointless.''''\n"
                         "e = '''a\\\n b'''\n");
    cr_assert_str_eq(str(t, "a"), "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n");
    cr_assert_str_eq(str(t, "b"), "I [dw]on't need \\d{2} apples");
    cr_assert_str_eq(str(t, "c"), "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"");
    cr_assert_str_eq(str(t, "d"), "'That,' she said, 'is still pointless.'");
    cr_assert_str_eq(str(t, "e"), "a\\\n b");
    crio_toml_free(t);
}

Test(toml, string_errors)
{
    fails("a = \"abc", F ":1:9: unterminated string: expected '\"' before end of input");
    fails("a = \"abc\nb = 1", F ":1:9: unterminated string: expected '\"' before end of line");
    fails("a = 'abc\nb = 1", F ":1:9: unterminated string: expected ''' before end of line");
    fails("a = \"\"\"abc\ndef", F ":2:4: unterminated multi-line string (opened at 1:5)");
    fails("a = '''abc", F ":1:11: unterminated multi-line string (opened at 1:5)");
    fails("a = \"\"\"x\"\"\"\"\"\"", F ":1:14: too many quotes: a multi-line string ends with at most 5");
    fails("a = \"\\q\"", F ":1:6: invalid escape sequence: backslash followed by 'q'");
    fails("a = \"\\x41\"", F ":1:6: invalid escape sequence: backslash followed by 'x'");
    fails("a = \"\\e\"", F ":1:6: invalid escape sequence: backslash followed by 'e'");
    fails("a = \"\\ \"", F ":1:6: invalid escape sequence: backslash followed by ' '");
    fails("a = \"x \\\n\"", F ":1:8: invalid escape sequence: backslash followed by end of line");
    fails("a = \"\"\"x \\ y\"\"\"", F ":1:10: invalid escape sequence: backslash followed by ' '");
    fails("a = \"\\u12\"", F ":1:6: invalid escape: \\u needs 4 hex digits");
    fails("a = \"\\U0001F60\"", F ":1:6: invalid escape: \\U needs 8 hex digits");
    fails("a = \"\\uD800\"", F ":1:6: invalid escape: U+D800 is a surrogate, not a character");
    fails("a = \"\\UDFFF0000\"", F ":1:6: invalid escape: U+DFFF0000 is beyond U+10FFFF");
    fails("a = \"ok \\U0000DFFF\"", F ":1:9: invalid escape: U+DFFF is a surrogate, not a character");
    fails("a = \"\\U00110000\"", F ":1:6: invalid escape: U+110000 is beyond U+10FFFF");
    fails("a = \"\\u0000\"", F ":1:6: invalid escape: strings may not contain U+0000");
    fails("a = \"x\x01\"", F ":1:7: control character U+0001 not allowed in string (use an escape)");
    fails("a = \"x\x7f\"", F ":1:7: control character U+007F not allowed in string (use an escape)");
    fails("a = 'x\x1b'", F ":1:7: control character U+001B not allowed in string");
    fails("a = \"\"\"x\x08\"\"\"", F ":1:9: control character U+0008 not allowed in string (use an escape)");
    fails("a = \"\"\"x\ry\"\"\"", F ":1:9: control character U+000D not allowed in string (use an escape)");
    fails("a = '''\x0c'''", F ":1:8: control character U+000C not allowed in string");
}

Test(toml, input_encoding_errors)
{
    fails_n("a = 1\0", 6, F ":1:6: NUL byte in input");
    fails_n("a = \"x\0y\"", 9, F ":1:7: NUL byte in input");
    fails("a = \"\xff\"", F ":1:6: invalid UTF-8 (byte 0xFF)");
    fails("a = 1\n# \xc0\x80 overlong", F ":2:3: invalid UTF-8 (byte 0xC0)");
    fails("a = \"é\xed\xa0\x80\"", F ":1:7: invalid UTF-8 (byte 0xED)");       /* a surrogate */
    fails("a = \"\xf4\x90\x80\x80\"", F ":1:6: invalid UTF-8 (byte 0xF4)");   /* > U+10FFFF */
    fails("a = \"\xe2\x82", F ":1:6: invalid UTF-8 (byte 0xE2)");             /* truncated */
    fails("a = \"\x80\"", F ":1:6: invalid UTF-8 (byte 0x80)");
    fails("# comment \x01", F ":1:11: control character U+0001 not allowed in comment");
    fails("a = 1 # x\x7f", F ":1:10: control character U+007F not allowed in comment");
    fails("a = 1\rb = 2", F ":1:6: expected end of line after value, found U+000D");
    /* Columns count characters, not bytes. */
    fails("\"é€\" = 1 x", F ":1:10: expected end of line after value, found 'x'");
    fails("a = \"😀\" é", F ":1:9: expected end of line after value, found 'é'");
}

/* ---- keys -------------------------------------------------------------- */

Test(toml, keys)
{
    crio_toml *t = parse("bare_key-1 = 1\n1234 = 2\ntrue = 3\n\"quoted key\" = 4\n'lit \"key\"' = 5\n"
                         "\"\" = 6\n\"a.b\" = 7\n\"\\u00e9\" = 8\n  x . y . \"z w\" = 9\nsite.\"google.com\" = 10\n");
    cr_assert_eq(num(t, "bare_key-1"), 1);
    cr_assert_eq(num(t, "1234"), 2);
    cr_assert_eq(num(t, "true"), 3);
    cr_assert_eq(num(t, "quoted key"), 4);
    cr_assert_eq(num(t, "lit \"key\""), 5);
    cr_assert_eq(num(t, "a.b"), 7);
    cr_assert_eq(num(t, "é"), 8);
    cr_assert_eq(num(t, "x/y/z w"), 9);
    cr_assert_eq(num(t, "site/google.com"), 10);
    crio_toml *empty = crio_toml_get(t, "");
    cr_assert_not_null(empty);
    cr_assert_eq(empty->u.num, 6);
    cr_assert_null(crio_toml_get(t, "a"), "a quoted dot must not split the key");
    /* Keys keep their definition order. */
    cr_assert_str_eq(t->u.table.keys[0], "bare_key-1");
    cr_assert_str_eq(t->u.table.keys[9], "site");
    crio_toml_free(t);
}

Test(toml, key_errors)
{
    fails("root \"x\"", F ":1:6: expected '=' after key \"root\", found '\"'");
    fails("[crio]\nroot = 1\nlog_level \"x\"", F ":3:11: expected '=' after key \"log_level\", found '\"'");
    fails("a.b c = 1", F ":1:5: expected '=' after key \"a.b\", found 'c'");
    fails("a", F ":1:2: expected '=' after key \"a\", found end of input");
    fails("a\nb = 1", F ":1:2: expected '=' after key \"a\", found end of line");
    fails("= 1", F ":1:1: expected a key, found '='");
    fails("a. = 1", F ":1:4: expected a key, found '='");
    fails("é = 1", F ":1:1: expected a key, found 'é'");
    fails("a.\"x y\" b = 1", F ":1:9: expected '=' after key \"a.'x y'\", found 'b'");
    fails("\"\"\"a\"\"\" = 1", F ":1:1: a multi-line string cannot be a key");
    fails("'''a''' = 1", F ":1:1: a multi-line string cannot be a key");
    fails("\"a\nb\" = 1", F ":1:3: unterminated string: expected '\"' before end of line");
}

Test(toml, duplicate_keys)
{
    fails("root = \"/a\"\nroot = \"/b\"", F ":2:1: key \"root\" defined twice (first at 1:1)");
    fails("a.b = 1\na.b = 2", F ":2:3: key \"a.b\" defined twice (first at 1:3)");
    fails("a = 1\n\"a\" = 2", F ":2:1: key \"a\" defined twice (first at 1:1)");
    fails("\"a b\" = 1\n'a b' = 2", F ":2:1: key \"'a b'\" defined twice (first at 1:1)");
    fails("[t]\nx = 1\ny = 2\n  x = 3", F ":4:3: key \"x\" defined twice (first at 2:1)");
    fails("a = 1\na.b = 2", F ":2:1: key \"a\" is already defined as an integer at 1:1");
    fails("a.b = 1\na = 2", F ":2:1: key \"a\" is already defined as a table at 1:1");
    fails("a = [1]\na.b = 2", F ":2:1: key \"a\" is already defined as an array at 1:1");
    fails("t = {a = 1, a = 2}", F ":1:13: key \"a\" defined twice (first at 1:6)");
    fails("t = {a.b = 1, a = 2}", F ":1:15: key \"a\" is already defined as an inline table at 1:6");
}

/* ---- tables ------------------------------------------------------------ */

Test(toml, tables_and_implicit_tables)
{
    crio_toml *t = parse("top = 0\n[a]\nx = 1\n[b.c.d]\ny = 2\n[ b . \"c\" ]\nz = 3\n[b]\nw = 4\n[a.sub]\nv = 5\n");
    cr_assert_eq(num(t, "top"), 0);
    cr_assert_eq(num(t, "a/x"), 1);
    cr_assert_eq(num(t, "b/c/d/y"), 2);
    cr_assert_eq(num(t, "b/c/z"), 3);
    cr_assert_eq(num(t, "b/w"), 4);
    cr_assert_eq(num(t, "a/sub/v"), 5);
    pos(t, "a", 2, 1);
    pos(t, "b/c/d", 4, 1);
    pos(t, "b/c", 6, 1); /* defined by its own header after being implied */
    pos(t, "b", 8, 1);
    cr_assert_eq(len_of(t, "b"), 2);
    crio_toml_free(t);
}

Test(toml, dotted_keys)
{
    crio_toml *t = parse("name = \"Orange\"\nphysical.color = \"orange\"\nphysical.shape = \"round\"\n"
                         "site.\"google.com\" = true\n"
                         "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n"
                         "[fruit.apple.texture]\nsmooth = true\n");
    cr_assert_str_eq(str(t, "physical/color"), "orange");
    cr_assert_str_eq(str(t, "physical/shape"), "round");
    cr_assert(boolean(t, "site/google.com"));
    cr_assert_str_eq(str(t, "fruit/apple/color"), "red");
    cr_assert(boolean(t, "fruit/apple/taste/sweet"));
    cr_assert(boolean(t, "fruit/apple/texture/smooth"));
    pos(t, "physical", 2, 1);
    pos(t, "fruit/apple/taste", 7, 7);
    crio_toml_free(t);
}

Test(toml, table_redefinition_errors)
{
    fails("[a]\nx = 1\n[a]\ny = 2", F ":3:2: table \"a\" defined twice (first at 1:1)");
    fails("[a.b]\n[b]\n[ a . b ]", F ":3:7: table \"a.b\" defined twice (first at 1:1)");
    fails("a.b = 1\n[a.b]", F ":2:4: cannot define table \"a.b\": key is already defined as an integer at 1:3");
    fails("a.b = 1\n[a]", F ":2:2: cannot define table \"a\": it was already defined by dotted keys at 1:1");
    fails("[fruit]\napple.color = \"red\"\n[fruit.apple]",
          F ":3:8: cannot define table \"fruit.apple\": it was already defined by dotted keys at 2:1");
    fails("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]",
          F ":3:14: cannot define table \"fruit.apple.taste\": it was already defined by dotted keys at 2:7");
    fails("a = 1\n[a]", F ":2:2: cannot define table \"a\": key is already defined as an integer at 1:1");
    fails("a = 1\n[a.b]", F ":2:2: cannot define table \"a.b\": key \"a\" is already defined as an integer at 1:1");
    /* Dotted keys cannot reach into a table defined by a header. */
    fails("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", F ":4:1: key \"b\" is already defined as a table at 1:4; dotted keys cannot extend it");
    fails("[a.b]\n[a]\nb.x = 1", F ":3:1: key \"b\" is already defined as a table at 1:1; dotted keys cannot extend it");
    fails("[a]\nb = 1\n[a.b]\nc = 2", F ":3:4: cannot define table \"a.b\": key is already defined as an integer at 2:1");
    fails("[a.b]\n[a]\nb = 1", F ":3:1: key \"b\" is already defined as a table at 1:1");
    fails("[]", F ":1:2: expected a key, found ']'");
    fails("[a", F ":1:3: expected ']' after table name \"a\", found end of input");
    fails("[a b]", F ":1:4: expected ']' after table name \"a\", found 'b'");
    fails("[a] x = 1", F ":1:5: expected end of line after table header, found 'x'");
    fails("[a]]", F ":1:4: expected end of line after table header, found ']'");
    fails("[ [a]]", F ":1:3: expected a key, found '['");
}

Test(toml, inline_tables)
{
    crio_toml *t = parse("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
                         "point = {x=1,y=2}\n"
                         "animal = { type.name = \"pug\", type.size = 1 }\n"
                         "empty = {}\nempty2 = {   }\n"
                         "nested = { a = { b = { c = [1, { d = true }] } }, list = [\n  1,\n  2,\n] }\n");
    cr_assert_str_eq(str(t, "name/first"), "Tom");
    cr_assert_str_eq(str(t, "name/last"), "Preston-Werner");
    cr_assert_eq(num(t, "point/x"), 1);
    cr_assert_eq(num(t, "point/y"), 2);
    cr_assert_str_eq(str(t, "animal/type/name"), "pug");
    cr_assert_eq(num(t, "animal/type/size"), 1);
    cr_assert_eq(len_of(t, "empty"), 0);
    cr_assert_eq(len_of(t, "empty2"), 0);
    cr_assert(boolean(t, "nested/a/b/c/1/d"));
    cr_assert_eq(len_of(t, "nested/list"), 2);
    pos(t, "point", 2, 9);
    pos(t, "point/y", 2, 16);
    crio_toml_free(t);
}

Test(toml, inline_table_errors)
{
    fails("a = {x = 1,}", F ":1:12: trailing comma not allowed in an inline table");
    fails("a = {x = 1\n}", F ":1:11: newline not allowed in an inline table (expected ',' or '}')");
    fails("a = {\nx = 1}", F ":1:6: newline not allowed in an inline table");
    fails("a = {x = 1 y = 2}", F ":1:12: expected ',' or '}' in an inline table, found 'y'");
    fails("a = {x = 1", F ":1:11: expected ',' or '}' in an inline table, found end of input");
    fails("a = {,}", F ":1:6: expected a key, found ','");
    fails("a = {x = 1 # c\n}", F ":1:12: expected ',' or '}' in an inline table, found '#'");
    /* Inline tables are closed: neither headers nor dotted keys may add to them. */
    fails("a = {x = 1}\n[a]", F ":2:2: cannot define table \"a\": key is already defined as an inline table at 1:1");
    fails("a = {x = 1}\n[a.b]", F ":2:2: cannot define table \"a.b\": key \"a\" is already defined as an inline table at 1:1");
    fails("a = {x = 1}\na.y = 2",
          F ":2:1: key \"a\" is already defined as an inline table at 1:1; an inline table cannot be extended");
    fails("a = {b.c = 1}\na.b.d = 2",
          F ":2:1: key \"a\" is already defined as an inline table at 1:1; an inline table cannot be extended");
    fails("a = {x = 1}\n[[a]]", F ":2:3: cannot define array of tables \"a\": key is already defined as an inline table at 1:1");
    fails("a = {b = {c = 1}, b.d = 2}",
          F ":1:19: key \"b\" is already defined as an inline table at 1:6; an inline table cannot be extended");
}

/* ---- arrays ------------------------------------------------------------ */

Test(toml, arrays)
{
    crio_toml *t = parse("empty = []\nempty2 = [ # c\n ]\nints = [1, 2, 3]\nmixed = [1, \"two\", true, [3], {x = 4}]\n"
                         "multi = [\n  \"a\", # first\n\n  'b',  # trailing comma next\n]\n"
                         "nested = [[1, 2], [\"a\", 'b'], [[[]]]]\n"
                         "crlf = [\r\n 1,\r\n 2\r\n]\n"
                         "tight=[1,2]\n");
    cr_assert_eq(len_of(t, "empty"), 0);
    cr_assert_eq(len_of(t, "empty2"), 0);
    cr_assert_eq(len_of(t, "ints"), 3);
    cr_assert_eq(num(t, "ints/2"), 3);
    cr_assert_eq(len_of(t, "mixed"), 5);
    cr_assert_str_eq(str(t, "mixed/1"), "two");
    cr_assert(boolean(t, "mixed/2"));
    cr_assert_eq(num(t, "mixed/3/0"), 3);
    cr_assert_eq(num(t, "mixed/4/x"), 4);
    cr_assert_eq(len_of(t, "multi"), 2);
    cr_assert_str_eq(str(t, "multi/1"), "b");
    pos(t, "multi/1", 9, 3);
    cr_assert_eq(len_of(t, "nested/2/0/0"), 0);
    cr_assert_eq(num(t, "crlf/1"), 2);
    cr_assert_eq(num(t, "tight/1"), 2);
    crio_toml_free(t);
}

Test(toml, array_errors)
{
    fails("a = [1 2]", F ":1:8: expected ',' or ']' after an array element, found '2'");
    fails("a = [1,,2]", F ":1:8: expected a value, found ','");
    fails("a = [,]", F ":1:6: expected a value, found ','");
    fails("a = [1,", F ":1:8: expected a value, found end of input");
    fails("a = [1", F ":1:7: unterminated array (opened at 1:5): expected ']'");
    fails("a = [\n  1,\n  2\n", F ":4:1: unterminated array (opened at 1:5): expected ']'");
    fails("a = [1] 2", F ":1:9: expected end of line after value, found '2'");
    fails("a = [ # c\x01\n]", F ":1:10: control character U+0001 not allowed in comment");
}

Test(toml, arrays_of_tables)
{
    crio_toml *t = parse("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n[[products]]  # empty\n\n"
                         "[[products]]\nname = \"Nail\"\ncolor = \"gray\"\n"
                         "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
                         "[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n"
                         "[[fruits]]\nname = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n"
                         "[fruits.physical]\ncolor = \"yellow\"\n");
    cr_assert_eq(len_of(t, "products"), 3);
    cr_assert_str_eq(str(t, "products/0/name"), "Hammer");
    cr_assert_eq(num(t, "products/0/sku"), 738594937);
    cr_assert_eq(len_of(t, "products/1"), 0);
    cr_assert_str_eq(str(t, "products/2/color"), "gray");
    pos(t, "products", 1, 1);
    pos(t, "products/1", 5, 1);
    cr_assert_eq(len_of(t, "fruits"), 2);
    cr_assert_str_eq(str(t, "fruits/0/physical/color"), "red");
    cr_assert_eq(len_of(t, "fruits/0/varieties"), 2);
    cr_assert_str_eq(str(t, "fruits/0/varieties/1/name"), "granny smith");
    cr_assert_str_eq(str(t, "fruits/1/name"), "banana");
    cr_assert_eq(len_of(t, "fruits/1/varieties"), 1);
    cr_assert_str_eq(str(t, "fruits/1/varieties/0/name"), "plantain");
    cr_assert_str_eq(str(t, "fruits/1/physical/color"), "yellow");
    crio_toml_free(t);

    /* [[a.b]] implies table a, which may be defined later. */
    t = parse("[[a.b]]\nx = 1\n[a]\ny = 2\n[[a.b]]\nx = 2\n");
    cr_assert_eq(len_of(t, "a/b"), 2);
    cr_assert_eq(num(t, "a/y"), 2);
    cr_assert_eq(num(t, "a/b/1/x"), 2);
    crio_toml_free(t);
}

Test(toml, array_of_tables_errors)
{
    fails("a = []\n[[a]]", F ":2:3: cannot append to array \"a\" defined at 1:1: only an array created by [[a]] can be");
    fails("[a]\n[[a]]", F ":2:3: cannot define array of tables \"a\": key is already defined as a table at 1:1");
    fails("[[a]]\n[a]", F ":2:2: cannot define table \"a\": key is already defined as an array of tables at 1:1");
    fails("[fruit.physical]\n[[fruit]]", F ":2:3: cannot define array of tables \"fruit\": key is already defined as a table at 1:2");
    fails("[[a]]\nb = 1\n[[a.b]]", F ":3:5: cannot define array of tables \"a.b\": key is already defined as an integer at 2:1");
    fails("[[a]]\nb.c = 1\n[a.b]", F ":3:4: cannot define table \"a.b\": it was already defined by dotted keys at 2:1");
    fails("[[a]]\n[a.b]\n[a.b]", F ":3:4: table \"a.b\" defined twice (first at 2:1)");
    fails("[[a]", F ":1:5: expected ']]' to close array-of-tables header \"a\", found end of input");
    fails("[[a] ]", F ":1:5: expected ']]' to close array-of-tables header \"a\", found ' '");
    fails("x = [{a = 1}]\n[x.b]", F ":2:2: cannot define table \"x.b\": key \"x\" is already defined as an array at 1:1");
}

/* ---- limits ------------------------------------------------------------ */

static char *repeat(const char *prefix, const char *unit, size_t n, const char *suffix)
{
    size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = malloc(pl + ul * n + sl + 1);
    cr_assert_not_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + pl + i * ul, unit, ul);
    memcpy(s + pl + ul * n, suffix, sl + 1);
    return s;
}

Test(toml, nesting_limits)
{
    /* 64 levels are fine (a = depth 1, its innermost array = depth 64). */
    char *s = repeat("a = ", "[", 64, "");
    char *s2 = repeat(s, "]", 64, "");
    crio_toml *t = parse(s2);
    crio_toml_free(t);
    free(s);
    free(s2);

    s = repeat("a = ", "[", 65, "");
    s2 = repeat(s, "]", 65, "");
    fails(s2, F ":1:69: nesting too deep (limit 64 levels)");
    free(s);
    free(s2);

    /* Hostile depth fails fast, without overflowing the stack. */
    s = repeat("a = ", "[", 1000000, "");
    fails(s, F ":1:69: nesting too deep (limit 64 levels)");
    free(s);
    s = repeat("a = ", "{b = ", 100000, "");
    fails(s, F ":1:325: nesting too deep (limit 64 levels)");
    free(s);

    /* Tables count too: the same limit holds for headers and dotted keys. */
    s = repeat("[a", ".a", 63, "]\nx = 1\n");
    t = parse(s);
    crio_toml_free(t);
    free(s);
    s = repeat("[a", ".a", 63, "]\nx = []\n");
    fails(s, F ":2:5: nesting too deep (limit 64 levels)");
    free(s);
    s = repeat("a", ".a", 64, " = 1");
    fails(s, F ":1:129: key has too many parts (limit 64)");
    free(s);
    /* Each array of tables in a header path is two levels (the array, its element). */
    char chain[8192] = "";
    for (int k = 1; k <= 33; k++) {
        size_t l = strlen(chain);
        char *hdr = repeat("[[a", ".a", (size_t)k - 1, "]]\n");
        snprintf(chain + l, sizeof chain - l, "%s", hdr);
        free(hdr);
        if (k == 32) {
            t = parse(chain);
            char *path = repeat("", "a/0/", 31, "a");
            cr_assert_eq(len_of(t, path), 1, "the 32nd array of tables, 64 levels down");
            free(path);
            crio_toml_free(t);
        }
    }
    fails(chain, F ":33:67: nesting too deep (limit 64 levels)");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(toml, many_keys_stay_linear, .timeout = 30)
{
    enum { N = 200000 };
    size_t cap = (size_t)N * 24 + 64, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(s + len, cap - len, "key_%d = %d\n", i, i);
    double t0 = now();
    crio_toml *t = parse_n(s, len);
    double dt = now() - t0;
    cr_assert_eq(t->u.table.len, N);
    cr_assert_eq(num(t, "key_199999"), 199999);
    crio_toml_free(t);
    cr_assert_lt(dt, 5.0, "200000 keys took %.2fs", dt);

    /* The duplicate at the very end is still found. */
    len += (size_t)snprintf(s + len, cap - len, "key_12345 = 0\n");
    fails_n(s, len, F ":200001:1: key \"key_12345\" defined twice (first at 12346:1)");

    /* Many [[tables]] and headers. */
    len = 0;
    for (int i = 0; i < N / 2; i++)
        len += (size_t)snprintf(s + len, cap - len, "[[r]]\n[t%d]\n", i);
    t0 = now();
    t = parse_n(s, len);
    dt = now() - t0;
    cr_assert_eq(len_of(t, "r"), N / 2);
    cr_assert_eq(t->u.table.len, N / 2 + 1);
    crio_toml_free(t);
    cr_assert_lt(dt, 5.0, "headers took %.2fs", dt);
    free(s);
}

/* ---- files and accessors ---------------------------------------------- */

static char *write_temp(const char *data, size_t len)
{
    char *path = strdup("/tmp/test_toml_XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        cr_assert_gt(n, 0);
        off += (size_t)n;
    }
    close(fd);
    return path;
}

static const char crio_conf[] =
    "# The CRI-O configuration file specifies all of the available configuration\n"
    "# options and command-line flags for the crio(8) OCI Kubernetes Container Runtime\n"
    "[crio]\n"
    "root = \"/var/lib/containers/storage\"\n"
    "runroot = \"/run/containers/storage\"\n"
    "storage_driver = \"overlay\"\n"
    "storage_option = [\n"
    "\t\"overlay.mountopt=nodev,metacopy=on\",\n"
    "]\n"
    "log_dir = \"/var/log/crio/pods\"\n"
    "version_file = \"/var/run/crio/version\"\n"
    "\n"
    "[crio.api]\n"
    "listen = \"/var/run/crio/crio.sock\"\n"
    "stream_address = \"127.0.0.1\"\n"
    "stream_port = \"0\"\n"
    "grpc_max_send_msg_size = 83886080\n"
    "\n"
    "[crio.runtime]\n"
    "default_runtime = \"runc\"\n"
    "no_pivot = false\n"
    "conmon_env = [\n"
    "\t\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\n"
    "]\n"
    "selinux = false\n"
    "seccomp_profile = \"\"\n"
    "default_capabilities = [\n"
    "\t\"CHOWN\",\n"
    "\t\"DAC_OVERRIDE\",\n"
    "\t\"FSETID\",\n"
    "\t\"FOWNER\",\n"
    "\t\"SETGID\",\n"
    "\t\"SETUID\",\n"
    "\t\"SETPCAP\",\n"
    "\t\"NET_BIND_SERVICE\",\n"
    "\t\"KILL\",\n"
    "]\n"
    "default_sysctls = [\n"
    "]\n"
    "pids_limit = -1\n"
    "log_size_max = -1\n"
    "\n"
    "# The \"crio.runtime.runtimes\" table defines a list of OCI compatible runtimes.\n"
    "[crio.runtime.runtimes.runc]\n"
    "runtime_path = \"\"\n"
    "runtime_type = \"oci\"\n"
    "runtime_root = \"/run/runc\"\n"
    "allowed_annotations = [\n"
    "    \"io.containers.trace-syscall\",\n"
    "]\n"
    "monitor_cgroup = \"system.slice\"\n"
    "\n"
    "[crio.runtime.runtimes.crun]\n"
    "runtime_path = \"/usr/bin/crun\"\n"
    "runtime_root = \"/run/crun\"\n"
    "\n"
    "[crio.image]\n"
    "default_transport = \"docker://\"\n"
    "global_auth_file = \"\"\n"
    "pause_image = \"registry.k8s.io/pause:3.9\"\n"
    "pause_command = \"/pause\"\n"
    "signature_policy = \"\"\n"
    "insecure_registries = [\n"
    "]\n"
    "\n"
    "[crio.network]\n"
    "network_dir = \"/etc/cni/net.d/\"\n"
    "plugin_dirs = [\n"
    "\t\"/opt/cni/bin/\",\n"
    "]\n"
    "\n"
    "[crio.metrics]\n"
    "enable_metrics = false\n"
    "metrics_port = 9090\n";

Test(toml, realistic_crio_conf)
{
    char *path = write_temp(crio_conf, sizeof crio_conf - 1);
    crio_toml *t = NULL;
    int r = crio_toml_parse_file(&t, path);
    cr_assert_eq(r, 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_str_eq(str(t, "crio/root"), "/var/lib/containers/storage");
    cr_assert_str_eq(str(t, "crio/storage_option/0"), "overlay.mountopt=nodev,metacopy=on");
    cr_assert_eq(num(t, "crio/api/grpc_max_send_msg_size"), 83886080);
    cr_assert_str_eq(str(t, "crio/runtime/default_runtime"), "runc");
    cr_assert_not(boolean(t, "crio/runtime/no_pivot"));
    cr_assert_eq(len_of(t, "crio/runtime/default_capabilities"), 9);
    cr_assert_str_eq(str(t, "crio/runtime/default_capabilities/8"), "KILL");
    cr_assert_eq(num(t, "crio/runtime/pids_limit"), -1);
    cr_assert_eq(len_of(t, "crio/runtime/runtimes"), 2);
    cr_assert_str_eq(str(t, "crio/runtime/runtimes/runc/runtime_root"), "/run/runc");
    cr_assert_str_eq(str(t, "crio/runtime/runtimes/runc/allowed_annotations/0"), "io.containers.trace-syscall");
    cr_assert_str_eq(str(t, "crio/runtime/runtimes/crun/runtime_path"), "/usr/bin/crun");
    pos(t, "crio/runtime/runtimes/runc", 44, 1);
    cr_assert_str_eq(str(t, "crio/image/pause_image"), "registry.k8s.io/pause:3.9");
    cr_assert_eq(num(t, "crio/metrics/metrics_port"), 9090);
    cr_assert_eq(t->u.table.len, 1);
    cr_assert_str_eq(crio_toml_get(t, "crio")->u.table.keys[0], "root");
    crio_toml_free(t);

    /* Errors from a file carry its path. */
    static const char bad[] = "[crio]\nroot = \"/var/lib/crio\"\nlog_level \"info\"\n";
    char *bad_path = write_temp(bad, sizeof bad - 1);
    r = crio_toml_parse_file(&t, bad_path);
    cr_assert_eq(r, CRIO_EINVAL);
    cr_assert_null(t);
    char want[256];
    snprintf(want, sizeof want, "%s:3:11: expected '=' after key \"log_level\", found '\"'", bad_path);
    cr_assert_str_eq(crio_error_message(crio_error_last()), want);
    unlink(path);
    unlink(bad_path);
    free(path);
    free(bad_path);
}

Test(toml, realistic_registries_conf)
{
    crio_toml *t = parse("unqualified-search-registries = [\"docker.io\", \"quay.io\"]\n"
                         "short-name-mode = \"enforcing\"\n\n"
                         "[[registry]]\n"
                         "prefix = \"example.com/foo\"\n"
                         "insecure = false\n"
                         "blocked = false\n"
                         "location = \"internal-registry-for-example.com/bar\"\n\n"
                         "[[registry.mirror]]\n"
                         "location = \"example-mirror-0.local/mirror-for-foo\"\n\n"
                         "[[registry.mirror]]\n"
                         "location = \"example-mirror-1.local/mirrors/foo\"\n"
                         "insecure = true\n"
                         "pull-from-mirror = \"digest-only\"\n\n"
                         "[[registry]]\n"
                         "location = \"registry.example.org\"\n\n"
                         "[[registry.mirror]]\n"
                         "location = \"mirror.example.org\"\n\n"
                         "[aliases]\n"
                         "\"fedora\" = \"registry.fedoraproject.org/fedora\"\n");
    cr_assert_eq(len_of(t, "unqualified-search-registries"), 2);
    cr_assert_str_eq(str(t, "short-name-mode"), "enforcing");
    cr_assert_eq(len_of(t, "registry"), 2);
    cr_assert_str_eq(str(t, "registry/0/prefix"), "example.com/foo");
    cr_assert_eq(len_of(t, "registry/0/mirror"), 2);
    cr_assert_str_eq(str(t, "registry/0/mirror/0/location"), "example-mirror-0.local/mirror-for-foo");
    cr_assert(boolean(t, "registry/0/mirror/1/insecure"));
    cr_assert_str_eq(str(t, "registry/0/mirror/1/pull-from-mirror"), "digest-only");
    cr_assert_str_eq(str(t, "registry/1/location"), "registry.example.org");
    cr_assert_eq(len_of(t, "registry/1/mirror"), 1);
    cr_assert_str_eq(str(t, "registry/1/mirror/0/location"), "mirror.example.org");
    cr_assert_str_eq(str(t, "aliases/fedora"), "registry.fedoraproject.org/fedora");
    pos(t, "registry/1", 18, 1);
    pos(t, "registry/0/mirror/1", 13, 1);
    crio_toml_free(t);
}

Test(toml, parse_file_errors)
{
    crio_toml *t = (crio_toml *)&t;
    int r = crio_toml_parse_file(&t, "/nonexistent/crio.conf");
    cr_assert_eq(r, CRIO_ENOTFOUND);
    cr_assert_null(t);
    cr_assert_eq(crio_error_errno(crio_error_last()), ENOENT);
    cr_assert_str_eq(crio_error_message(crio_error_last()), "open /nonexistent/crio.conf: No such file or directory");

    r = crio_toml_parse_file(&t, "/tmp");
    cr_assert_eq(r, CRIO_EINVAL);
    cr_assert_str_eq(crio_error_message(crio_error_last()), "/tmp: is a directory");

    /* Exactly 4 MiB is accepted; one byte more is refused. */
    size_t max = 4u * 1024 * 1024;
    char *big = malloc(max + 1);
    cr_assert_not_null(big);
    memset(big, ' ', max + 1);
    big[0] = '#';
    char *path = write_temp(big, max);
    r = crio_toml_parse_file(&t, path);
    cr_assert_eq(r, 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(t->u.table.len, 0);
    crio_toml_free(t);
    unlink(path);
    free(path);

    path = write_temp(big, max + 1);
    r = crio_toml_parse_file(&t, path);
    cr_assert_eq(r, CRIO_EINVAL);
    cr_assert_null(t);
    char want[256];
    snprintf(want, sizeof want, "%s: file too large (limit 4194304 bytes)", path);
    cr_assert_str_eq(crio_error_message(crio_error_last()), want);
    unlink(path);
    free(path);
    free(big);

    /* A file that is not regular (no size up front) is read to the end. */
    r = crio_toml_parse_file(&t, "/dev/null");
    cr_assert_eq(r, 0, "%s", crio_error_message(crio_error_last()));
    cr_assert_eq(t->u.table.len, 0);
    crio_toml_free(t);
}

Test(toml, accessors)
{
    crio_toml *t = parse("a = 1\n[b]\nc = \"x\"\n");
    cr_assert_null(crio_toml_get(NULL, "a"));
    cr_assert_null(crio_toml_get(t, NULL));
    cr_assert_null(crio_toml_get(t, "missing"));
    cr_assert_null(crio_toml_get(crio_toml_get(t, "a"), "x"), "an integer is not a table");
    cr_assert_eq(crio_toml_get(crio_toml_get(t, "b"), "c")->type, CRIO_TOML_STRING);
    cr_assert_str_eq(crio_toml_type_name(CRIO_TOML_TABLE), "table");
    cr_assert_str_eq(crio_toml_type_name(CRIO_TOML_ARRAY), "array");
    cr_assert_str_eq(crio_toml_type_name(CRIO_TOML_STRING), "string");
    cr_assert_str_eq(crio_toml_type_name(CRIO_TOML_INT), "integer");
    cr_assert_str_eq(crio_toml_type_name(CRIO_TOML_BOOL), "boolean");
    cr_assert_str_eq(crio_toml_type_name((crio_toml_type)42), "unknown");
    crio_toml_free(t);
    crio_toml_free(NULL);

    /* crio_toml_free also works on a value built by hand. */
    crio_toml *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    s->type = CRIO_TOML_STRING;
    s->u.str = strdup("x");
    crio_toml_free(s);
}

Test(toml, filename_default)
{
    crio_toml *t = NULL;
    int r = crio_toml_parse(&t, "a", 1, NULL);
    cr_assert_eq(r, CRIO_EINVAL);
    cr_assert_str_eq(crio_error_message(crio_error_last()),
                     "<input>:1:2: expected '=' after key \"a\", found end of input");
    /* The text need not be NUL-terminated: only `len` bytes are read. */
    r = crio_toml_parse(&t, "a = 12345", 6, "x");
    cr_assert_eq(r, 0);
    cr_assert_eq(crio_toml_get(t, "a")->u.num, 12);
    crio_toml_free(t);
}
