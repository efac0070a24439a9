/* telemetry: the broker's operator view — its counters, gauges and per-stage
 * latency histograms in a metrics registry (metrics.h), and the /healthz and
 * /readyz probes, served over HTTP when metrics.bind is set. The broker loop
 * writes (telemetry_update once a tick, telemetry_observe per event); the
 * HTTP thread only reads atomics. */
#ifndef REPORTD_TELEMETRY_H
#define REPORTD_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

struct broker_stats;
struct telemetry;

enum telemetry_stage {
    TELEMETRY_QUEUE,            /* queued → handed to a worker */
    TELEMETRY_WORK,             /* handed to a worker → its reply */
    TELEMETRY_COMMIT,           /* one spool group commit (fsync) */
    TELEMETRY_TOTAL,            /* first queued → Result recorded */
    TELEMETRY_NSTAGES
};

/* A registry with every reportd metric at zero. spool_path (copied) is
 * measured for reportd_spool_bytes and probed for /readyz. */
struct telemetry *telemetry_new(const char *spool_path);
void telemetry_destroy(struct telemetry **tp);

/* Serve /metrics, /healthz, /readyz on addr:port (port 0: any free one).
 * Returns 0, or -1 with err. */
int telemetry_serve(struct telemetry *t, const char *addr, int port, char *err, size_t errlen);
/* The bound port, or 0 when not serving. */
int telemetry_port(const struct telemetry *t);

/* From the broker loop: counters and gauges from st; /readyz wants the
 * backlog (queued jobs) at most ready_backlog. Also marks the loop alive. */
void telemetry_update(struct telemetry *t, const struct broker_stats *st, long ready_backlog);
/* One latency sample in seconds, counted at the next telemetry_update
 * together with the counters (one scrape sees both or neither). NULL-safe;
 * thread-safe. */
void telemetry_observe(struct telemetry *t, enum telemetry_stage stage, double seconds);

/* The probes as /healthz and /readyz answer them: 1, or 0 with why. */
int telemetry_alive(void *t, char *why, size_t whylen);
int telemetry_ready(void *t, char *why, size_t whylen);

/* What every reportd registry carries (the broker's and a worker's):
 * reportd_build_info{version,ruleset,schema} 1 and the process_* metrics. */
struct metrics;
void telemetry_common(struct metrics *m);
/* The slot of reportd_alerts_by_province_total for a region code (its first
 * two digits), BROKER_NPROVINCES - 1 for none or an unknown one. */
int telemetry_province_index(const char *region_code);

/* The registry's text, for tests (heap, *len bytes). */
char *telemetry_render(const struct telemetry *t, size_t *len);

#endif
