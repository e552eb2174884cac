#include "base/id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base/error.h"

int crio_id_new(char out[CRIO_ID_LEN + 1])
{
    unsigned char raw[CRIO_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return crio_error_sys(errno, "generate id: getrandom");
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 0xf];
    }
    out[CRIO_ID_LEN] = '\0';
    return 0;
}

static bool is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

bool crio_id_valid(const char *id)
{
    return id && strlen(id) == CRIO_ID_LEN && is_lower_hex(id, CRIO_ID_LEN);
}

int crio_id_lookup_prefix(const char **match, const char *prefix, const char *const *ids, size_t n)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen == 0)
        return crio_error_set(CRIO_EINVAL, "empty id");
    if (plen > CRIO_ID_LEN || !is_lower_hex(prefix, plen))
        return crio_error_set(CRIO_EINVAL, "invalid id \"%s\": want up to 64 lower-case hex characters",
                              prefix);
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(ids[i], prefix, plen) != 0)
            continue;
        if (ids[i][plen] == '\0') { /* an exact match beats any prefix match */
            *match = ids[i];
            return 0;
        }
        if (found) {
            /* Keep scanning: an exact match later still wins. */
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(ids[j], prefix) == 0) {
                    *match = ids[j];
                    return 0;
                }
            return crio_error_set(CRIO_EINVAL, "id prefix \"%s\" is ambiguous: matches %.12s and %.12s",
                                  prefix, found, ids[i]);
        }
        found = ids[i];
    }
    if (!found)
        return crio_error_set(CRIO_ENOTFOUND, "no object with id %s", prefix);
    *match = found;
    return 0;
}
