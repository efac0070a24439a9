/* notify: the sd_notify protocol to the service manager (systemd) — READY=1,
 * STOPPING=1, WATCHDOG=1, STATUS=…, EXTEND_TIMEOUT_USEC=… — written from the
 * protocol: one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (an
 * abstract socket when the name starts with '@'). Without $NOTIFY_SOCKET every
 * call is a no-op, so the daemon runs the same outside systemd. */
#ifndef REPORTD_NOTIFY_H
#define REPORTD_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Send state (newline-separated VAR=value assignments) in one datagram.
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset, -1 with err. */
int notify_send(const char *state, char *err, size_t errlen);
/* printf-style notify_send; errors are returned, not logged. */
int notify_sendf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* µs: the watchdog interval the manager expects pings within ($WATCHDOG_USEC,
 * when $WATCHDOG_PID is unset or names this process), else 0 (no watchdog). */
uint64_t notify_watchdog_usec(void);

#endif
