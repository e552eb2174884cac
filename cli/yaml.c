/*
 * crioctl: YAML to a cJSON tree (libyaml's event parser), for config files.
 *
 * Plain scalars stay untyped (cJSON_Raw holding their text): the protobuf
 * field they land in decides whether "1" is a number, a string or an enum,
 * which a YAML-to-JSON converter cannot know (sigs.k8s.io/yaml, which crictl
 * uses, guesses from the text and then fails on `name: 123`).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "pbjson_in.h"

/* Bounds the tree that aliases can build ("billion laughs"). */
#define MAX_NODES 1000000

struct anchor {
    char *name;
    const cJSON *node; /* in the tree being built, which outlives the parse */
};

struct ybuild {
    yaml_parser_t parser;
    const char *source;
    char *err;
    int rc;
    int depth;
    size_t nodes;
    struct anchor *anchors;
    size_t n_anchors, cap_anchors;
};

__attribute__((format(printf, 3, 4))) static void yfail(struct ybuild *b, const yaml_mark_t *mark,
                                                        const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    int n;

    if (b->rc)
        return;
    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    b->rc = -EINVAL;
    if (n < 0) {
        b->rc = -ENOMEM;
        return;
    }
    if (mark)
        n = asprintf(&b->err, "%s:%zu:%zu: %s", b->source, mark->line + 1, mark->column + 1, msg);
    else
        n = asprintf(&b->err, "%s: %s", b->source, msg);
    if (n < 0)
        b->err = NULL;
    free(msg);
}

static void yoom(struct ybuild *b)
{
    if (!b->rc)
        b->rc = -ENOMEM;
}

/* Fetches the next event; false after recording the parser's error. */
static bool next_event(struct ybuild *b, yaml_event_t *ev)
{
    if (yaml_parser_parse(&b->parser, ev))
        return true;
    if (b->parser.error == YAML_MEMORY_ERROR) {
        yoom(b);
    } else if (b->parser.context) {
        yfail(b, &b->parser.problem_mark, "invalid YAML: %s %s", b->parser.problem ? b->parser.problem : "error",
              b->parser.context);
    } else {
        yfail(b, &b->parser.problem_mark, "invalid YAML: %s", b->parser.problem ? b->parser.problem : "error");
    }
    return false;
}

static int remember_anchor(struct ybuild *b, const yaml_char_t *name, const cJSON *node)
{
    if (!name)
        return 0;
    if (b->n_anchors == b->cap_anchors) {
        size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 8;
        struct anchor *a = realloc(b->anchors, cap * sizeof(*a));
        if (!a)
            return -1;
        b->anchors = a;
        b->cap_anchors = cap;
    }
    b->anchors[b->n_anchors].name = strdup((const char *)name);
    if (!b->anchors[b->n_anchors].name)
        return -1;
    b->anchors[b->n_anchors++].node = node;
    return 0;
}

static size_t count_nodes(const cJSON *n)
{
    size_t k = 1;

    for (const cJSON *c = n->child; c; c = c->next)
        k += count_nodes(c);
    return k;
}

static cJSON *alias_node(struct ybuild *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;

    /* The latest anchor of that name wins, as YAML redefines them. */
    for (size_t i = b->n_anchors; i-- > 0;) {
        if (strcmp(b->anchors[i].name, name) != 0)
            continue;
        b->nodes += count_nodes(b->anchors[i].node);
        if (b->nodes > MAX_NODES) {
            yfail(b, &ev->start_mark, "the document is too large once aliases are expanded");
            return NULL;
        }
        cJSON *copy = cJSON_Duplicate(b->anchors[i].node, 1);
        if (!copy)
            yoom(b);
        return copy;
    }
    yfail(b, &ev->start_mark, "unknown alias \"*%s\"", name);
    return NULL;
}

static bool is_tag(const yaml_char_t *tag, const char *name)
{
    return tag && strcmp((const char *)tag, name) == 0;
}

static cJSON *scalar_node(struct ybuild *b, const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    const yaml_char_t *tag = ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    cJSON *n;

    if (is_tag(tag, YAML_STR_TAG))
        plain = false; /* !!str: text, whatever it looks like */
    if (is_tag(tag, YAML_NULL_TAG) ||
        (plain && !tag && (!v[0] || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
                           strcmp(v, "NULL") == 0)))
        n = cJSON_CreateNull();
    else if (plain)
        n = cJSON_CreateRaw(v);
    else
        n = cJSON_CreateString(v);
    if (!n || remember_anchor(b, ev->data.scalar.anchor, n) < 0) {
        cJSON_Delete(n);
        yoom(b);
        return NULL;
    }
    return n;
}

static cJSON *parse_node(struct ybuild *b, yaml_event_t *ev);

/* Reads one "key: value" of a mapping, the key's event being `kev` (deleted). */
static bool mapping_member(struct ybuild *b, cJSON *obj, yaml_event_t *kev)
{
    char *key;

    if (kev->type != YAML_SCALAR_EVENT) {
        yfail(b, &kev->start_mark, "mapping keys must be scalars (text), not %s",
              kev->type == YAML_MAPPING_START_EVENT ? "mappings" : kev->type == YAML_ALIAS_EVENT ? "aliases"
                                                                                                 : "sequences");
        yaml_event_delete(kev);
        return false;
    }
    key = strdup((const char *)kev->data.scalar.value);
    if (!key) {
        yaml_event_delete(kev);
        yoom(b);
        return false;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        yfail(b, &kev->start_mark, "duplicate key \"%s\"", key);
        free(key);
        yaml_event_delete(kev);
        return false;
    }
    yaml_event_delete(kev);

    yaml_event_t vev;
    cJSON *value = next_event(b, &vev) ? parse_node(b, &vev) : NULL;
    if (value && !cJSON_AddItemToObject(obj, key, value)) {
        cJSON_Delete(value);
        value = NULL;
        yoom(b);
    }
    free(key);
    return value != NULL;
}

/* Adds the item that starts with `ev` (taken) to a sequence; false when it failed. */
static bool sequence_item(struct ybuild *b, cJSON *arr, yaml_event_t *ev)
{
    cJSON *item = parse_node(b, ev);

    if (!item)
        return false;
    cJSON_AddItemToArray(arr, item);
    return true;
}

/* A sequence (an array) or a mapping (an object), from its start event to its end event. */
static cJSON *collection_node(struct ybuild *b, const yaml_event_t *start)
{
    bool seq = start->type == YAML_SEQUENCE_START_EVENT;
    const yaml_char_t *anchor = seq ? start->data.sequence_start.anchor : start->data.mapping_start.anchor;
    cJSON *node = seq ? cJSON_CreateArray() : cJSON_CreateObject();
    yaml_event_t ev;

    if (!node || remember_anchor(b, anchor, node) < 0) {
        cJSON_Delete(node);
        yoom(b);
        return NULL;
    }
    while (next_event(b, &ev)) {
        if (ev.type == (seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT)) {
            yaml_event_delete(&ev);
            return node;
        }
        if (!(seq ? sequence_item(b, node, &ev) : mapping_member(b, node, &ev)))
            break;
    }
    /* The anchor may still point into it: the caller's failure ends the parse. */
    cJSON_Delete(node);
    return NULL;
}

/* Builds the node that starts with `ev` (taken: it is deleted here). */
static cJSON *parse_node(struct ybuild *b, yaml_event_t *ev)
{
    cJSON *n = NULL;

    if (++b->nodes > MAX_NODES) {
        yfail(b, &ev->start_mark, "the document is too large");
    } else if (ev->type == YAML_SCALAR_EVENT) {
        n = scalar_node(b, ev);
    } else if (ev->type == YAML_ALIAS_EVENT) {
        n = alias_node(b, ev);
    } else if (ev->type != YAML_SEQUENCE_START_EVENT && ev->type != YAML_MAPPING_START_EVENT) {
        yfail(b, &ev->start_mark, "unexpected YAML event %d", (int)ev->type);
    } else if (b->depth >= CRIOCTL_PBJSON_MAX_DEPTH) {
        yfail(b, &ev->start_mark, "nested too deeply (more than %d levels)", CRIOCTL_PBJSON_MAX_DEPTH);
    } else {
        b->depth++;
        n = collection_node(b, ev);
        b->depth--;
    }
    yaml_event_delete(ev);
    return n;
}

/* Skips to the first document's root node; *root is NULL for an empty stream. */
static bool parse_document(struct ybuild *b, cJSON **root)
{
    yaml_event_t ev;

    *root = NULL;
    if (!next_event(b, &ev))
        return false;
    if (ev.type == YAML_STREAM_START_EVENT) {
        yaml_event_delete(&ev);
        if (!next_event(b, &ev))
            return false;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return true;
    }
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        yfail(b, &ev.start_mark, "expected a YAML document");
        yaml_event_delete(&ev);
        return false;
    }
    yaml_event_delete(&ev);
    if (!next_event(b, &ev))
        return false;
    /* Like crictl's decoder, only the first document counts; but it must end
     * well, so that text after its root is not silently dropped. */
    *root = parse_node(b, &ev);
    if (!*root || !next_event(b, &ev))
        return false;
    if (ev.type != YAML_DOCUMENT_END_EVENT)
        yfail(b, &ev.start_mark, "expected the end of the document");
    yaml_event_delete(&ev);
    /* What follows must be another document (not read) or the end. */
    if (b->rc || !next_event(b, &ev))
        return false;
    yaml_event_delete(&ev);
    return true;
}

int crioctl_yaml_to_json(const char *text, size_t len, const char *source, cJSON **out,
                         char **err)
{
    struct ybuild b = { .source = source ? source : "input" };
    cJSON *root = NULL;

    *out = NULL;
    *err = NULL;
    if (!yaml_parser_initialize(&b.parser)) {
        *err = strdup("out of memory");
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    if (!parse_document(&b, &root) && !b.rc)
        yoom(&b);
    yaml_parser_delete(&b.parser);
    for (size_t i = 0; i < b.n_anchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    if (b.rc) {
        cJSON_Delete(root);
        *err = b.err ? b.err : strdup(b.rc == -ENOMEM ? "out of memory" : "invalid YAML");
        return b.rc;
    }
    *out = root ? root : cJSON_CreateNull();
    if (!*out) {
        *err = strdup("out of memory");
        return -ENOMEM;
    }
    return 0;
}
