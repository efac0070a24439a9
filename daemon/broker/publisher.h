/* publisher: the broker's XPUB endpoint. Turns Results into `result.*` and
 * `alert.*` messages and dead letters into `deadletter` messages, logs each in
 * the spool (which numbers it), and sends them only once the spool batch that
 * holds them is committed, so a sequence number is never sent twice. */
#ifndef REPORTD_PUBLISHER_H
#define REPORTD_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

struct envelope_result;
struct spool;
struct publisher;

/* Bind an XPUB on endpoint, CURVE-served when curve is on (may be NULL).
 * alert_statuses: bit (1 << Status) raises an Alert.
 * hwm: send high-water mark (a subscriber behind by more loses messages and
 * fills the gap by replay). NULL with err. */
struct curve_keys;
struct publisher *publisher_new(void *ctx, const char *endpoint, const struct curve_keys *curve,
                                struct spool *sp, unsigned alert_statuses, int hwm, char *err,
                                size_t errlen);
void publisher_destroy(struct publisher **pp);

/* The XPUB socket, to poll for subscriptions (drain with publisher_drain). */
void *publisher_socket(const struct publisher *p);
void publisher_drain(struct publisher *p);

/* The topic suffix "<prov>.<pref>.<county>" of a 6-digit region code, or
 * "unknown". out must hold 24 bytes. */
void publisher_region_topic(const char *region_code, char *out, size_t outlen);

/* Queue the publications for one checked Result bytes[0..len), r its
 * envelope (envelope_result): result.* with the bytes as they are, and
 * alert.* (envelope_alert) when its status is in the policy. Returns the
 * sequence number of the result.* message, or 0 with err. */
uint64_t publisher_result(struct publisher *p, const struct envelope_result *r,
                          const void *bytes, size_t len, char *err, size_t errlen);
/* Queue a `deadletter` message: a dead letter in JSON (jsonout_dead). */
int publisher_deadletter(struct publisher *p, const char *uuid, const char *submission_id,
                         const char *reason, int attempts, char *err, size_t errlen);

/* After spool_commit succeeded: send everything queued. After it failed: drop it. */
void publisher_flush(struct publisher *p);
void publisher_discard(struct publisher *p);

/* Change the alert policy (a config reload). */
void publisher_set_alerts(struct publisher *p, unsigned alert_statuses);

/* Messages sent so far (for stats). */
uint64_t publisher_sent(const struct publisher *p);

#endif
