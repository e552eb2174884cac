/* gRPC wire details that need no connection: prefixes, timeouts, messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/grpc.h"

bool grpc_parse_timeout(const char *value, size_t len, uint64_t *ns)
{
    if (len < 2 || len > 9)
        return false;
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (value[i] < '0' || value[i] > '9')
            return false;
        n = n * 10 + (uint64_t)(value[i] - '0');
    }
    uint64_t mult;
    switch (value[len - 1]) {
    case 'H': mult = 3600ULL * 1000000000ULL; break;
    case 'M': mult = 60ULL * 1000000000ULL; break;
    case 'S': mult = 1000000000ULL; break;
    case 'm': mult = 1000000ULL; break;
    case 'u': mult = 1000ULL; break;
    case 'n': mult = 1ULL; break;
    default: return false;
    }
    /* 99999999 hours does not fit in 64 bits of nanoseconds: saturate. */
    *ns = n > UINT64_MAX / mult ? UINT64_MAX : n * mult;
    return true;
}

char *grpc_percent_encode(const char *msg)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        n += (*p < 0x20 || *p > 0x7e || *p == '%') ? 3 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '%') {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

int grpc_frame_header(const uint8_t *buf, size_t avail, bool *compressed, uint32_t *len)
{
    if (avail < 5)
        return -1;
    *compressed = buf[0] != 0;
    *len = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
    return 0;
}

void grpc_frame_prefix(uint8_t out[5], uint32_t len)
{
    out[0] = 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

const char *grpc_code_name(int code)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return code >= 0 && (size_t)code < sizeof names / sizeof names[0] ? names[code] : "UNKNOWN";
}
