/*
 * Generic protobuf-c <-> JSON, driven by message descriptors.
 *
 * The library takes CRI configurations as protobuf JSON (see
 * crio_pod_config_update_json), and hands some state back as JSON (mounts,
 * configurations); these two functions let the CRI layer pass any message
 * across without a line of code per field.
 *
 * JSON written: keys are the api.proto field names (snake_case), 64-bit
 * integers and enums are JSON numbers, map fields are objects, repeated
 * fields arrays, bytes base64; proto3 fields holding their default value are
 * left out, nested messages that are set are kept (even empty).
 *
 * JSON read: keys in snake_case or lowerCamelCase, integers as numbers or
 * decimal strings, enums as numbers or value names, bytes as standard or
 * URL-safe base64; null means "not set"; unknown keys are ignored.
 */
#ifndef CRIO_SERVER_PBJSON_H
#define CRIO_SERVER_PBJSON_H

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

/* Results of pbjson_from_json*: 0, or one of these. */
enum { PBJSON_EINVAL = -1, PBJSON_ENOMEM = -2 };

/* `msg` as JSON text (malloc'd), or NULL when out of memory. */
char *pbjson_to_json(const ProtobufCMessage *msg);

/*
 * Builds a message of type `desc` from a parsed JSON object.  On success
 * *out is a heap message; free it with protobuf_c_message_free_unpacked(m,
 * NULL).  PBJSON_EINVAL when the JSON does not fit the message (a member of
 * the wrong type, a number out of range, nesting over 64 levels); `err`, if
 * not NULL, then gets a short reason naming the field.
 */
int pbjson_from_cjson(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const cJSON *json,
                      char *err, size_t errlen);

/* The same from JSON text. */
int pbjson_from_json(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const char *json,
                     char *err, size_t errlen);

#endif
