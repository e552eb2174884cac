/*
 * crioctl internals: the command table, the per-run context, and helpers
 * shared by the commands (RPC calls, output formats, tables, JSON).
 *
 * crioctl is a client of the public libcrio API only (<crio.h>); it never
 * includes lib/ internals.
 *
 * Adding a command: write `int crioctl_cmd_<name>(crioctl_ctx *, int, char **)`
 * in a cli/cmd_<area>.c file, declare it below, and add a row to the table
 * in cli/commands.c.
 */
#ifndef CRIO_CLI_CRIOCTL_H
#define CRIO_CLI_CRIOCTL_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <protobuf-c/protobuf-c.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grpc_client.h"

#define CRIOCTL_DEFAULT_ENDPOINT "unix:///run/crio/crio.sock"
#define CRIOCTL_DEFAULT_TIMEOUT_MS 10000L

typedef enum {
    CRIOCTL_OUTPUT_DEFAULT = 0, /* not chosen: the command's own default */
    CRIOCTL_OUTPUT_TABLE,
    CRIOCTL_OUTPUT_JSON,
    CRIOCTL_OUTPUT_YAML
} crioctl_output;

typedef enum { CRIOCTL_RUNTIME_SERVICE, CRIOCTL_IMAGE_SERVICE } crioctl_service;

struct crioctl_command;

/* One run of crioctl: the global options and the connections. */
typedef struct crioctl_ctx {
    const char *runtime_endpoint;
    const char *image_endpoint;   /* NULL: the runtime endpoint */
    long timeout_ms;              /* per call; 0 = none */
    crioctl_output output;
    bool debug;
    const struct crioctl_command *cmd; /* the command being run */
    crio_grpc_client *runtime;    /* connected on first use */
    crio_grpc_client *image;
} crioctl_ctx;

typedef struct crioctl_command {
    const char *name;
    const char *alias;   /* another name, or NULL */
    const char *summary; /* one line, for the command list */
    const char *usage;   /* arguments after the name: "[OPTIONS] ID..." */
    const char *options; /* the option lines of its --help, or NULL */
    /* Runs with argv[0] = the command name; returns the exit status. */
    int (*run)(crioctl_ctx *ctx, int argc, char **argv);
} crioctl_command;

/* The table of commands (cli/commands.c), ended by a row with name NULL. */
extern const crioctl_command crioctl_commands[];

/* Finds a command by name or alias; NULL when there is none. */
const crioctl_command *crioctl_command_find(const char *name);

/* Runs crioctl (main() calls this); returns the exit status. */
int crioctl_main(int argc, char **argv);

/* ---- Commands ---- */
int crioctl_cmd_version(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_info(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_runtime_config(crioctl_ctx *ctx, int argc, char **argv);
/* cli/cmd_image.c; the option lines of their --help are crioctl_help_<name>. */
int crioctl_cmd_pull(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_images(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_image(crioctl_ctx *ctx, int argc, char **argv); /* images, or `image import` */
int crioctl_cmd_inspecti(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_rmi(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_imagefsinfo(crioctl_ctx *ctx, int argc, char **argv);
extern const char crioctl_help_pull[], crioctl_help_images[], crioctl_help_image[],
    crioctl_help_inspecti[], crioctl_help_rmi[], crioctl_help_imagefsinfo[];
/* cli/cmd_pod.c */
int crioctl_cmd_runp(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_pods(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_inspectp(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_stopp(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_rmp(crioctl_ctx *ctx, int argc, char **argv);
extern const char crioctl_help_runp[], crioctl_help_pods[], crioctl_help_inspectp[], crioctl_help_rmp[];
/* cli/cmd_container.c */
int crioctl_cmd_create(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_start(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_run(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_ps(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_inspect(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_stop(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_rm(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_exec(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_update(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_logs(crioctl_ctx *ctx, int argc, char **argv);
extern const char crioctl_help_create[], crioctl_help_run[], crioctl_help_ps[], crioctl_help_inspect[],
    crioctl_help_stop[], crioctl_help_rm[], crioctl_help_exec[], crioctl_help_update[], crioctl_help_logs[];
/* cli/cmd_stats.c */
int crioctl_cmd_stats(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_statsp(crioctl_ctx *ctx, int argc, char **argv);
int crioctl_cmd_events(crioctl_ctx *ctx, int argc, char **argv);
extern const char crioctl_help_stats[], crioctl_help_statsp[], crioctl_help_events[];

/* ---- Configs, shared by runp, create and run (cli/cmd_pod.c) ---- */

struct Runtime__V1__PodSandboxConfig;

/* Loads a config file (JSON or YAML, see pbjson_in.h) as a message of type
 * `desc`.  Returns 0, or -1 after printing the error. */
int crioctl_load_config(crioctl_ctx *ctx, const char *path, const ProtobufCMessageDescriptor *desc,
                        ProtobufCMessage **out);

/*
 * Loads a pod config file (JSON or YAML, see pbjson_in.h) and checks it as
 * crictl does: metadata with a name and a namespace are required; a missing
 * uid is generated.  Returns 0, or -1 after printing the error.
 */
int crioctl_load_pod_config(crioctl_ctx *ctx, const char *path, struct Runtime__V1__PodSandboxConfig **out);

/* RunPodSandbox; *pod_id is malloc'd.  Returns 0, or -1 after printing the error. */
int crioctl_run_pod(crioctl_ctx *ctx, struct Runtime__V1__PodSandboxConfig *config, const char *handler,
                    char **pod_id);

/* ---- inspect, inspectp and inspecti (cli/inspect.c) ---- */

/* What the commands that show the status of objects differ in. */
typedef struct {
    const char *shortopts; /* getopt's, with 'q' and CRIOCTL_COMMON_SHORT */
    const char *no_object; /* the error when no object is named */
    /* The status response of object `id` into *out; 0, or -1 after printing the error (*out NULL). */
    int (*status)(crioctl_ctx *ctx, const char *id, bool verbose, ProtobufCMessage **out);
    /* The JSON document of a status response; NULL when out of memory. */
    cJSON *(*json)(const ProtobufCMessage *resp);
    /* Prints a status response as --output table shows it. */
    void (*print_table)(const ProtobufCMessage *resp, bool verbose);
} crioctl_inspector;

/* Runs such a command (-q: not verbose; then the objects); returns the exit status. */
int crioctl_inspect(crioctl_ctx *ctx, int argc, char **argv, const crioctl_inspector *how);

/* ---- Option parsing shared by commands ---- */

/* The options every command takes; end a command's option array with
 * CRIOCTL_COMMON_OPTIONS, { 0 } and its short string with CRIOCTL_COMMON_SHORT. */
#define CRIOCTL_COMMON_OPTIONS { "output", required_argument, NULL, 'o' }, \
                               { "help", no_argument, NULL, 'h' }
#define CRIOCTL_COMMON_SHORT "o:h"

/*
 * Handles an option getopt_long returned that the command does not handle
 * itself (-o, -h, errors).  Returns -1 to go on parsing, or the exit status
 * the command must return at once (0 after --help, 1 after an error, which
 * it has printed).  Commands parse with a leading "+:" in the short string
 * and opterr = 0 (crioctl_getopt_begin() sets both up).
 */
int crioctl_common_option(crioctl_ctx *ctx, int opt, int argc, char **argv);

/* Resets getopt for a command's argv. */
void crioctl_getopt_begin(void);

/* Fails (prints, returns 1) when positional arguments remain; else 0. */
int crioctl_no_args(crioctl_ctx *ctx, int argc, char **argv);

/* Prints the --help of a command to `f`. */
void crioctl_command_help(FILE *f, const crioctl_command *cmd);

/* ---- Errors and calls ---- */

/* Prints "crioctl: <command>: <message>\n" to stderr. */
__attribute__((format(printf, 2, 3))) void crioctl_error(const crioctl_ctx *ctx,
                                                         const char *fmt, ...);

/*
 * Unary call: packs `req`, calls `method` ("/runtime.v1.RuntimeService/Version")
 * on the service's endpoint with the global timeout, and unpacks the response
 * of type `resp_desc` into *resp (free with protobuf_c_message_free_unpacked).
 * Returns 0, or -1 after printing the error ("crioctl: version: UNAVAILABLE:
 * connect to /run/crio/crio.sock: No such file or directory").
 */
int crioctl_call(crioctl_ctx *ctx, crioctl_service svc, const char *method,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 ProtobufCMessage **resp);

/* A RuntimeService call whose response carries nothing of use (StopPodSandbox,
 * StartContainer...): as crioctl_call, the response discarded. */
int crioctl_call_discard(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *resp_desc);

/*
 * A RuntimeService call that answers the id of what it made (RunPodSandbox,
 * CreateContainer): as crioctl_call, then the response's string field `id_field` into *id
 * (malloc'd).  Returns 0, or -1 after printing the error.
 */
int crioctl_call_for_id(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *resp_desc, const char *id_field, char **id);

/* Receives each message of a streaming call (unpacked; borrowed for the call).
 * A nonzero return stops the call. */
typedef int (*crioctl_stream_fn)(crioctl_ctx *ctx, const ProtobufCMessage *msg, void *payload);

/* Server-streaming call; returns as crioctl_call.  A stop requested by `fn`
 * is not an error. */
int crioctl_call_stream(crioctl_ctx *ctx, crioctl_service svc, const char *method,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        crioctl_stream_fn fn, void *payload);

/* Closes the connections. */
void crioctl_ctx_close(crioctl_ctx *ctx);

/* ---- Pure helpers (unit-tested) ---- */

/*
 * Parses a duration as crictl (Go's time.ParseDuration) does: a sequence of
 * decimal numbers, each with an optional fraction and a unit ("ns", "us",
 * "µs", "ms", "s", "m", "h"), e.g. "2s", "500ms", "1m30s", "1.5h"; "0" is
 * allowed without a unit, and so (unlike Go) is a bare integer, as seconds
 * like crictl's config file.  *out_ms is rounded up to whole milliseconds.
 * Returns 0, -EINVAL for bad syntax or a negative value, -ERANGE on overflow.
 */
int crioctl_parse_duration(const char *s, long *out_ms);

/* Parses an output format: "table", "json", "yaml" (case-sensitive).
 * Returns 0 or -EINVAL. */
int crioctl_parse_output(const char *s, crioctl_output *out);

/* The name of an output format ("table", ...). */
const char *crioctl_output_name(crioctl_output o);

/*
 * Formats a JSON tree as Go's json.MarshalIndent(v, "", "  ") does (which is
 * how crictl prints): two-space indents, "key": value, empty objects and
 * arrays as {} and [].  cJSON_Raw items hold JSON text, which is re-indented
 * in place (numbers and strings kept byte for byte).  Returns a malloc'd
 * string without a trailing newline, or NULL when out of memory.
 */
char *crioctl_json_format(const cJSON *json);

/* Re-indents JSON text (Go's json.Indent with prefix "" and indent "  ") at
 * nesting depth `depth`, appending to `f`.  The text must be valid JSON. */
void crioctl_json_indent(FILE *f, const char *text, int depth);

/* Prints a JSON tree (crioctl_json_format) and a newline to stdout.
 * Returns 0 or -1 after printing an error. */
int crioctl_print_json(crioctl_ctx *ctx, const cJSON *json);

/*
 * Converts a protobuf-c message to JSON as crictl's jsonpb marshaler does with
 * EmitDefaults: lowerCamelCase names, every field (unset messages as null,
 * empty lists as []), 64-bit integers as strings, enums by name, bytes in
 * base64, maps as objects with sorted keys.  NULL when out of memory.
 */
cJSON *crioctl_pb_to_json(const ProtobufCMessage *msg);

/* "runtime_api_version" -> "runtimeApiVersion" (malloc'd; NULL when out of memory). */
char *crioctl_json_name(const char *proto_name);

/* A table printed as crictl's Go tabwriter does (padchar ' ', no flags):
 * each column but the last is as wide as its widest cell plus `padding`, and
 * at least `minwidth`; the last column is not padded. */
typedef struct crioctl_table crioctl_table;

crioctl_table *crioctl_table_new(size_t minwidth, size_t padding);
/* Adds a row of `n` cells (copied).  Returns 0 or -ENOMEM. */
int crioctl_table_add(crioctl_table *t, size_t n, const char *const *cells);
/* Writes the rows; returns 0 or -errno. */
int crioctl_table_print(const crioctl_table *t, FILE *f);
void crioctl_table_free(crioctl_table *t);

/* A table laid out as crictl's pods, ps and stats (min width 20, padding 3),
 * its header row the `n` cells of `head`; NULL when out of memory. */
crioctl_table *crioctl_listing_table(size_t n, const char *const *head);

/* Prints a table to stdout and frees it; `built` < 0 when building it ran
 * out of memory (then only that is printed, as an error).  Returns the exit status. */
int crioctl_table_output(crioctl_ctx *ctx, crioctl_table *t, int built);

/* Display width of a UTF-8 string (code points). */
size_t crioctl_text_width(const char *s);

/* crictl shows ids cut to this many characters (unless --no-trunc). */
#define CRIOCTL_TRUNCATED_ID_LEN 13

/* go-units' HumanDuration, as crictl's CREATED column shows an age ("2 minutes";
 * crictl adds " ago"): "Less than a second", "About a minute", "3 hours", ... */
void crioctl_human_duration(char *buf, size_t n, int64_t ns);

/* go-units' HumanSize: decimal units, 4 significant digits ("1.5MB", "512B"). */
void crioctl_human_size(char *buf, size_t n, double size);

/* go-units' HumanSizeWithPrecision: as crioctl_human_size, `precision`
 * significant digits (crictl's image SIZE column has 3). */
void crioctl_human_size_precision(char *buf, size_t n, double size, int precision);

/* The wall clock, in nanoseconds since the epoch (what ages are measured from). */
int64_t crioctl_now_ns(void);

/* The first CRIOCTL_TRUNCATED_ID_LEN characters of an id. */
void crioctl_truncate_id(char *buf, size_t n, const char *id);

/* A byte count: digits with an optional binary suffix b, k, m, g, t, p (and
 * "kb", "mb", ...; case-insensitive): "536870912", "512m", "1G".
 * Returns 0, -EINVAL or -ERANGE. */
int crioctl_parse_bytes(const char *s, int64_t *out);

/* Label selectors given as repeated --label KEY=VALUE. */
typedef struct {
    size_t n;
    char **keys, **values;
} crioctl_labels;

/* Adds "KEY=VALUE" (exactly one '=', as crictl); a repeated key takes the
 * last value.  Returns 0, -EINVAL or -ENOMEM. */
int crioctl_labels_add(crioctl_labels *l, const char *arg);
void crioctl_labels_free(crioctl_labels *l);

/* crioctl_labels_add for a --label option: prints the error and returns -1
 * when `arg` is not KEY=VALUE (or memory runs out); else 0. */
int crioctl_label_option(crioctl_ctx *ctx, crioctl_labels *l, const char *arg);

/* The labels as an array of l->n map entries of type `entry` (a "...Entry"
 * message of two string fields), for a request's label_selector; the
 * strings are borrowed from `l`.  NULL when out of memory.  Free with
 * crioctl_map_entries_free(entries, l->n). */
void *crioctl_labels_entries(const crioctl_labels *l, const ProtobufCMessageDescriptor *entry);
void crioctl_map_entries_free(void *entries, size_t n);

/*
 * A RuntimeService List call whose filter selects by labels: `filter` (the
 * request's filter message) has its label_selector set to `labels` for the
 * call; otherwise as crioctl_call.
 */
int crioctl_call_with_labels(crioctl_ctx *ctx, const char *method, const ProtobufCMessage *req,
                             ProtobufCMessage *filter, const crioctl_labels *labels,
                             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

/* Compiles a POSIX extended regular expression for a filter option; prints
 * the error and returns -1 when it is invalid. */
int crioctl_regex_compile(crioctl_ctx *ctx, const char *option, const char *pattern, regex_t *re);

/* What pods and ps select from a listing beyond the request's filter, as crictl does. */
typedef struct {
    const char *name, *ns; /* --name, --namespace: regular expressions; NULL or "": any */
    bool latest;           /* only the newest item */
    long last;             /* > 0: only the newest `last` items */
} crioctl_selection;

/* Whether a listed item is selected; a pattern not given is NULL. */
typedef bool (*crioctl_match_fn)(const void *item, const regex_t *name_re, const regex_t *ns_re, void *payload);

/*
 * Moves the items (messages of a listing) that `match` selects to the front
 * of `items`, sorts those with `newest_first` (a qsort comparator of two
 * items) and returns how many of them to show; -1 after printing an invalid
 * pattern.  The items are only reordered: the listing still frees them all.
 */
long crioctl_select(crioctl_ctx *ctx, const crioctl_selection *sel, void **items, size_t n, crioctl_match_fn match,
                    void *payload, int (*newest_first)(const void *, const void *));

/*
 * The document inspect and inspectp print: {"status": status (taken), then
 * the info map's entries (map entry messages) by key, a value that is a JSON
 * object embedded as it is, any other one as a string without its
 * surrounding quotes (as crictl)}.  NULL when out of memory.
 */
cJSON *crioctl_status_info_json(cJSON *status, size_t n_info, ProtobufCMessage *const *info);

/* Prints "TITLE:" and a "\tKEY -> VALUE" line per map entry, sorted by key,
 * as crictl's verbose listings do; nothing for an empty map. */
void crioctl_print_map(FILE *f, const char *title, size_t n, ProtobufCMessage *const *entries);

/* Prints map entries as Go's %v of a map: "map[k1:v1 k2:v2]", sorted. */
void crioctl_print_go_map(FILE *f, size_t n, ProtobufCMessage *const *entries);

/* Sets obj[key] to a time as crictl's inspect shows one: RFC 3339 with
 * nanoseconds in the local zone, or Go's zero time when `zero`.  False when
 * out of memory. */
bool crioctl_json_set_time(cJSON *obj, const char *key, int64_t ns, bool zero);

/* Prints a message as JSON (crioctl_pb_to_json); returns the exit status. */
int crioctl_print_message_json(crioctl_ctx *ctx, const ProtobufCMessage *msg);

/* Prints a JSON document and frees it (NULL: out of memory); returns the exit status. */
int crioctl_print_json_doc(crioctl_ctx *ctx, cJSON *doc);

#endif
