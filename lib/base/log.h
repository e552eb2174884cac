/* Internal logging: formats and hands lines to the application's handler. */
#ifndef CRIO_BASE_LOG_H
#define CRIO_BASE_LOG_H

#include <crio/common.h>
#include <stdbool.h>

void crio_log(crio_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool crio_log_enabled(crio_log_level level);

#define crio_log_error(...) crio_log(CRIO_LOG_ERROR, __VA_ARGS__)
#define crio_log_warn(...) crio_log(CRIO_LOG_WARN, __VA_ARGS__)
#define crio_log_info(...) crio_log(CRIO_LOG_INFO, __VA_ARGS__)
#define crio_log_debug(...) crio_log(CRIO_LOG_DEBUG, __VA_ARGS__)

#endif
