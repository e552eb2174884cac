/* Short-hand typed reads for library code; keys are known to exist. */
#ifndef CRIO_CONFIG_INTERNAL_H
#define CRIO_CONFIG_INTERNAL_H

#include <crio/config.h>
#include <stdint.h>

/* The string value of a global string key; NULL only for a wrong key. */
const char *crio_config_str(const crio_config *cfg, const char *key);
/* The value of a global integer key; 0 for a wrong key. */
int64_t crio_config_int(const crio_config *cfg, const char *key);
/* A string key of a runtime handler ("runtime_path"); NULL when absent. */
const char *crio_config_runtime_str(const crio_config *cfg, const char *handler, const char *key);

#endif
