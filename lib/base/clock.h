/* Monotonic time for deadlines, and sleeping for retry backoff. */
#ifndef CRIO_BASE_CLOCK_H
#define CRIO_BASE_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t crio_monotonic_ms(void);

/* Nanoseconds on CLOCK_MONOTONIC, for measuring how long something took. */
int64_t crio_monotonic_ns(void);

/* Sleeps `ms` milliseconds, resuming after a signal handler interrupts it. */
void crio_sleep_ms(int64_t ms);

#endif
