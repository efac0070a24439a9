/* metrics: counters, gauges and histograms for operators, rendered in the
 * Prometheus text format (0.0.4) and served with /healthz and /readyz over
 * HTTP by libmicrohttpd. Updates are lock-free atomics, so worker threads and
 * the broker loop record without contention; rendering reads a snapshot. */
#ifndef REPORTD_METRICS_H
#define REPORTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* An empty registry. Returns an owned object; metrics_destroy frees it. */
struct metrics *metrics_new(void);
void metrics_destroy(struct metrics **mp);

/* Register a metric; returns its id (≥ 0), or -1 when the registry is full or
 * the name is not a valid Prometheus name. With a label (label != NULL), one
 * series per value: ids id … id+nvalues-1, in the order of values. Strings are
 * copied. Register everything before recording or serving. */
int metrics_counter(struct metrics *m, const char *name, const char *help, const char *label,
                    const char *const *values, int nvalues);
int metrics_gauge(struct metrics *m, const char *name, const char *help);
/* Gauges with a label, as metrics_counter's. */
int metrics_gauges(struct metrics *m, const char *name, const char *help, const char *label,
                   const char *const *values, int nvalues);
/* bounds: ascending upper bounds (seconds, say), at most 16; +Inf is implied. */
int metrics_histogram(struct metrics *m, const char *name, const char *help, const double *bounds,
                      int nbounds);
/* The same with a label: one histogram per value, ids id … id+nvalues-1. */
int metrics_histograms(struct metrics *m, const char *name, const char *help, const double *bounds,
                       int nbounds, const char *label, const char *const *values, int nvalues);
/* An info gauge: name{labels[0]="values[0]",…} 1 (e.g. build info). */
int metrics_info(struct metrics *m, const char *name, const char *help, const char *const *labels,
                 const char *const *values, int n);
/* Render process_cpu_seconds_total, process_resident_memory_bytes,
 * process_open_fds and process_start_time_seconds too (read at each scrape). */
void metrics_add_process(struct metrics *m);

/* A writer that must be seen all or nothing (counters with the histograms
 * they explain) holds the lock around its updates; a scrape renders under it. */
void metrics_lock(struct metrics *m);
void metrics_unlock(struct metrics *m);

void metrics_add(struct metrics *m, int id, uint64_t n);
void metrics_set(struct metrics *m, int id, int64_t v);
void metrics_observe(struct metrics *m, int id, double v);
/* The current value of a counter or gauge (for tests and STATUS= lines). */
int64_t metrics_get(const struct metrics *m, int id);

/* The whole registry in the text format; heap string, *len bytes. */
char *metrics_render(const struct metrics *m, size_t *len);

/* Probes for /healthz and /readyz: return 1 when healthy/ready, else 0 with a
 * reason in why. Called from the HTTP thread: they must be thread-safe. */
struct metrics_probes {
    int (*alive)(void *arg, char *why, size_t whylen);
    int (*ready)(void *arg, char *why, size_t whylen);
    void *arg;
};

struct metrics_http;

/* Serve GET /metrics, /healthz, /readyz on addr:port (an IPv4 or IPv6
 * literal, "127.0.0.1" or "::1"; port 0 picks a free port). Returns NULL with
 * a reason. */
struct metrics_http *metrics_http_start(struct metrics *m, const char *addr, int port,
                                        const struct metrics_probes *probes, char *err, size_t errlen);
/* The port actually bound. */
int metrics_http_port(const struct metrics_http *h);
void metrics_http_stop(struct metrics_http **hp);

#endif
