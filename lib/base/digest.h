/* Digest strings: "sha256:" and 64 lower-case hex characters. */
#ifndef CRIO_BASE_DIGEST_H
#define CRIO_BASE_DIGEST_H

#define CRIO_DIGEST_SIZE 72 /* "sha256:" + 64 hex + NUL */

/* Formats a 32-byte SHA-256 as "sha256:<hex>". */
static inline void crio_digest_format(char out[CRIO_DIGEST_SIZE], const unsigned char md[32])
{
    static const char hex[] = "0123456789abcdef";
    const char prefix[] = "sha256:";
    for (int i = 0; i < 7; i++)
        out[i] = prefix[i];
    for (int i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[71] = '\0';
}

#endif
