/* libcrio — compile-time version. */
#ifndef CRIO_VERSION_H
#define CRIO_VERSION_H

#define CRIO_VERSION_MAJOR 0
#define CRIO_VERSION_MINOR 3
#define CRIO_VERSION_PATCH 0
#define CRIO_VERSION_STRING "0.3.0"

/* Packs a version for comparisons: CRIO_VERSION_NUM >= CRIO_VERSION_AT(0, 2, 0). */
#define CRIO_VERSION_AT(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))
#define CRIO_VERSION_NUM \
    CRIO_VERSION_AT(CRIO_VERSION_MAJOR, CRIO_VERSION_MINOR, CRIO_VERSION_PATCH)

#endif
