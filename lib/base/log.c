/* Logging: the library formats; the application decides where lines go. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"

static crio_log_fn log_handler;
static void *log_payload;
static volatile int log_level = CRIO_LOG_INFO;

void crio_log_set_handler(crio_log_fn fn, void *payload)
{
    log_handler = fn;
    log_payload = payload;
}

void crio_log_set_level(crio_log_level level)
{
    log_level = level;
}

crio_log_level crio_log_get_level(void)
{
    return (crio_log_level)log_level;
}

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

const char *crio_log_level_name(crio_log_level level)
{
    if ((int)level < 0 || (size_t)level >= sizeof level_names / sizeof level_names[0])
        return "unknown";
    return level_names[level];
}

int crio_log_level_parse(crio_log_level *out, const char *name)
{
    static const struct { const char *name; crio_log_level level; } names[] = {
        { "fatal", CRIO_LOG_ERROR }, { "panic", CRIO_LOG_ERROR }, { "error", CRIO_LOG_ERROR },
        { "warn", CRIO_LOG_WARN },   { "warning", CRIO_LOG_WARN }, { "info", CRIO_LOG_INFO },
        { "debug", CRIO_LOG_DEBUG }, { "trace", CRIO_LOG_TRACE },
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    return crio_error_set(CRIO_EINVAL,
                          "invalid log level \"%s\" (want error, warn, info, debug or trace)",
                          name ? name : "");
}

bool crio_log_enabled(crio_log_level level)
{
    return log_handler && (int)level <= log_level;
}

void crio_log(crio_log_level level, const char *fmt, ...)
{
    crio_log_fn fn = log_handler;
    if (!fn || (int)level > log_level)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(level, buf, log_payload);
}
