/* lifecycle: what the service manager sees of a reportd process — READY=1
 * once it serves, STOPPING=1 and EXTEND_TIMEOUT_USEC while it drains,
 * WATCHDOG=1 from the main loop at half of $WATCHDOG_USEC, and a one-line
 * STATUS= of its state — plus the periodic work of the loop's tick: metrics,
 * log rate-limit reports. Over notify.h; all no-ops outside systemd. */
#ifndef REPORTD_LIFECYCLE_H
#define REPORTD_LIFECYCLE_H

#include <stdint.h>

struct broker;
struct config;
struct telemetry;
struct worker_pool;

struct lifecycle;

/* For a broker (with its telemetry, may be NULL) or, b NULL, a worker process
 * (pool may be NULL until started). All borrowed; cfg is read at each tick. */
struct lifecycle *lifecycle_new(struct broker *b, struct telemetry *tm,
                                const struct config *cfg);
void lifecycle_set_pool(struct lifecycle *l, struct worker_pool *pool);
void lifecycle_destroy(struct lifecycle **lp);

/* ms: how often the loop must call lifecycle_tick (≤ half the watchdog). */
int lifecycle_tick_ms(const struct lifecycle *l);
/* The loop's periodic call (a broker_tick_fn): watchdog ping when due,
 * STATUS= when it changed, metrics, EXTEND_TIMEOUT_USEC while draining. */
void lifecycle_tick(void *l);

/* READY=1 with the first STATUS= (after the spool is recovered and every
 * socket bound). */
void lifecycle_ready(struct lifecycle *l);
/* STOPPING=1: a drain of at most timeout_ms begins. */
void lifecycle_stopping(struct lifecycle *l, int timeout_ms);
/* RELOADING=1 before a reload, READY=1 after it (done). */
void lifecycle_reloading(struct lifecycle *l, int done);

#endif
