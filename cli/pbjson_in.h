/*
 * Reading protobuf messages from JSON and YAML, as crictl reads its pod and
 * container config files: the protobuf JSON mapping, made lenient the way
 * crictl's decoder is.
 *
 *   - Fields by proto name ("log_directory") or JSON name ("logDirectory"),
 *     then, as Go's encoding/json does, either one case-insensitively.
 *   - Enums by name ("NODE") or number (2).
 *   - 64-bit integers as numbers or decimal strings ("1024"); a JSON number
 *     beyond 2^53 is refused, since a double cannot hold it exactly.
 *   - Maps as objects; repeated fields as arrays; bytes in base64; null for
 *     "not set".
 *   - An unknown field, or a value of the wrong type, is an error naming the
 *     source (the file), the field path ("linux.security_context.
 *     namespace_options.network") and what was expected.
 *
 * YAML is turned into the same cJSON tree first.  Its plain (unquoted)
 * scalars have no type until the target field gives them one (`attempt: 1`,
 * `name: 1` and `tty: yes` all mean what the field needs), so they become
 * cJSON_Raw items holding the scalar's text; quoted and block scalars become
 * strings.
 *
 * The converter writes the protobuf wire format from the descriptor and
 * unpacks it with protobuf-c, so the result is an ordinary unpacked message:
 * free it with protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef CRIO_CLI_PBJSON_IN_H
#define CRIO_CLI_PBJSON_IN_H

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* How deep objects and arrays may nest (no CRI message comes close). */
#define CRIOCTL_PBJSON_MAX_DEPTH 64

/*
 * Converts `json` (an object) into a message of type `desc`.  `source` names
 * the input in errors ("pod.yaml"; NULL: "input").
 * Returns 0 with *out set, or -EINVAL (bad input) / -ENOMEM with a malloc'd
 * message in *err: "pod.yaml: metadata.attempt: expected an unsigned 32-bit
 * integer, got a string".
 */
int crioctl_pbjson_to_message(const cJSON *json, const ProtobufCMessageDescriptor *desc,
                              const char *source, ProtobufCMessage **out, char **err);

/*
 * Parses the first YAML document of `text` (`len` bytes) into a cJSON tree
 * (mappings as objects, sequences as arrays, plain scalars as cJSON_Raw,
 * other scalars as strings, "~"/"null"/empty plain scalars as null; aliases
 * copy their anchor).  Mapping keys must be scalars.
 * Returns 0 with *out set (free with cJSON_Delete), or -EINVAL / -ENOMEM
 * with a malloc'd message in *err ("pod.yaml:3:5: ...").
 */
int crioctl_yaml_to_json(const char *text, size_t len, const char *source, cJSON **out,
                         char **err);

/*
 * Parses `text` as JSON when it starts (after blanks) with '{', as YAML
 * otherwise (crictl sniffs the same way), then converts it as
 * crioctl_pbjson_to_message does.  A '{' text that is not JSON is tried as
 * YAML (a flow mapping) before the JSON error is reported.
 */
int crioctl_pbjson_parse(const char *text, size_t len, const char *source,
                         const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                         char **err);

/* Whether a field is a map: a repeated message "...Entry" of fields key (1)
 * and value (2), as protoc makes them (protobuf-c has no flag for maps). */
bool crioctl_pbjson_is_map_field(const ProtobufCFieldDescriptor *fd);

/* Reads the file at `path` and parses it as crioctl_pbjson_parse does, the
 * path naming the source.  A file that cannot be read is -errno, with *err. */
int crioctl_pbjson_load_file(const char *path, const ProtobufCMessageDescriptor *desc,
                             ProtobufCMessage **out, char **err);

#endif
