/* lifecycle: the loop calls lifecycle_tick every lifecycle_tick_ms; a tick
 * pings the watchdog when half its interval has passed (so a stuck loop —
 * not a live helper thread — is what systemd catches), refreshes the
 * metrics, sends STATUS= only when the line changed, and during a drain asks
 * for EXTEND_TIMEOUT_USEC: the time left plus a margin, re-sent each tick,
 * so a drain longer than TimeoutStopSec is not killed while it progresses.
 * Notification errors are logged once: a manager that went away is no reason
 * to stop serving. */
#include "service/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "conf/config.h"
#include "base/log.h"
#include "base/notify.h"
#include "broker/telemetry.h"
#include "base/util.h"
#include "worker/worker.h"

#define TICK_MS 1000            /* ms: tick at least this often */
#define EXTEND_MARGIN_MS 5000   /* ms: added to the drain time left */

struct lifecycle {
    struct broker *b;
    struct telemetry *tm;
    struct worker_pool *pool;
    const struct config *cfg;
    int64_t watchdog_ms;        /* ms: half of $WATCHDOG_USEC; 0 none */
    int64_t watchdog_at;        /* ms (monotonic): next ping */
    int64_t drain_deadline;     /* ms (monotonic); 0 when not draining */
    char status[160];           /* the last STATUS= sent */
    int complained;             /* a notify error was logged */
};

static void say(struct lifecycle *l, const char *state)
{
    char err[256];
    if (notify_send(state, err, sizeof err) < 0 && !l->complained) {
        l->complained = 1;
        log_msg(LOG_PRI_WARNING, "%s (further notify errors not logged)", err);
    }
}

struct lifecycle *lifecycle_new(struct broker *b, struct telemetry *tm,
                                const struct config *cfg)
{
    struct lifecycle *l = xcalloc(1, sizeof *l);
    l->b = b;
    l->tm = tm;
    l->cfg = cfg;
    l->watchdog_ms = (int64_t)(notify_watchdog_usec() / 2000);
    l->watchdog_at = util_now_ms() + l->watchdog_ms;
    return l;
}

void lifecycle_set_pool(struct lifecycle *l, struct worker_pool *pool)
{
    l->pool = pool;
}

void lifecycle_destroy(struct lifecycle **lp)
{
    if (lp && *lp) {
        free(*lp);
        *lp = NULL;
    }
}

int lifecycle_tick_ms(const struct lifecycle *l)
{
    if (l->watchdog_ms > 0 && l->watchdog_ms < TICK_MS)
        return l->watchdog_ms > 10 ? (int)l->watchdog_ms / 2 : 5;
    return TICK_MS;
}

static void status_line(const struct lifecycle *l, char *out, size_t len)
{
    const char *state = l->drain_deadline ? "draining" : "serving";
    if (!l->b) {
        snprintf(out, len, "%s: worker, %lu requests answered", state,
                 l->pool ? worker_served(l->pool) : 0UL);
        return;
    }
    struct broker_stats st;
    broker_stats(l->b, &st);
    snprintf(out, len, "%s: backlog %zu, in flight %zu, workers %zu, results %llu, "
             "last seq %llu", state, st.queued, st.in_flight, st.workers,
             (unsigned long long)(st.results[0] + st.results[1] + st.results[2] + st.results[3]),
             (unsigned long long)st.last_seq);
}

void lifecycle_tick(void *arg)
{
    struct lifecycle *l = arg;
    int64_t now = util_now_ms();
    /* within half a tick of due counts as due: pings stay near half the interval */
    if (l->watchdog_ms > 0 && now + lifecycle_tick_ms(l) / 2 >= l->watchdog_at) {
        say(l, "WATCHDOG=1");
        l->watchdog_at = now + l->watchdog_ms;
    }
    if (l->b && l->tm) {
        struct broker_stats st;
        broker_stats(l->b, &st);
        telemetry_update(l->tm, &st, l->cfg->ready_backlog);
    }
    char line[160], msg[200];
    status_line(l, line, sizeof line);
    if (strcmp(line, l->status) != 0) {
        snprintf(msg, sizeof msg, "STATUS=%s", line);
        say(l, msg);
        snprintf(l->status, sizeof l->status, "%s", line);
    }
    if (l->drain_deadline) {
        int64_t left = l->drain_deadline - now;
        snprintf(msg, sizeof msg, "EXTEND_TIMEOUT_USEC=%lld",
                 (long long)((left > 0 ? left : 0) + EXTEND_MARGIN_MS) * 1000);
        say(l, msg);
    }
    log_tick();
}

void lifecycle_ready(struct lifecycle *l)
{
    char msg[200];
    status_line(l, l->status, sizeof l->status);
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", l->status);
    say(l, msg);
    lifecycle_tick(l);
}

void lifecycle_stopping(struct lifecycle *l, int timeout_ms)
{
    char msg[200];
    l->drain_deadline = util_now_ms() + timeout_ms;
    snprintf(msg, sizeof msg, "STOPPING=1\nEXTEND_TIMEOUT_USEC=%lld",
             (long long)(timeout_ms + EXTEND_MARGIN_MS) * 1000);
    say(l, msg);
    lifecycle_tick(l);
}

void lifecycle_reloading(struct lifecycle *l, int done)
{
    say(l, done ? "READY=1" : "RELOADING=1");
}
