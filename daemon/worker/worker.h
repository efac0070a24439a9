/* worker: the 7/MDP worker side (MDPW01) for report.check — N threads, one
 * DEALER socket each, every one handling one request at a time with the shared
 * checker (each thread hands its checks to one check thread of its own, so
 * the socket heartbeats while a check runs). Heartbeats, reconnect with
 * back-off, DISCONNECT as the spec says. */
#ifndef REPORTD_WORKER_H
#define REPORTD_WORKER_H

#include <stddef.h>

struct config;
struct checker;
struct worker_pool;

/* Test seam: when set, called with each request body before it is checked.
 * Only test programs set it (build/reportd-test links tests/seams/
 * worker_fault.c, which does); the installed reportd leaves it NULL. */
extern void (*worker_fault_hook)(const void *body, size_t len);

/* Start nthreads worker threads per broker in endpoint (one endpoint, or
 * several separated by commas: each thread has one socket to one broker),
 * serving cfg->service.
 * They run until stopfd (an eventfd or signalfd, never read here) becomes
 * readable, then send DISCONNECT and end. chk and cfg are borrowed; events go
 * to base/log. NULL+err. */
struct worker_pool *worker_start(void *ctx, const struct config *cfg, const char *endpoint,
                                 int nthreads, const struct checker *chk, int stopfd,
                                 char *err, size_t errlen);
/* Join the threads (after stopfd fired). NULL-safe. */
void worker_join(struct worker_pool **pp);

/* The pool's metrics (reportd_worker_jobs_total{status},
 * reportd_worker_rejects_total, reportd_worker_check_seconds{reader}, build
 * info, process): borrowed, valid until worker_join — stop serving it first. */
struct metrics;
struct metrics *worker_metrics(const struct worker_pool *p);

/* Requests answered by every thread so far. */
unsigned long worker_served(const struct worker_pool *p);

#endif
