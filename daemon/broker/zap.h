/* zap: the RFC 27/ZAP handler of the broker process — a thread bound to
 * inproc://zeromq.zap.01 that admits a CURVE peer only when its public key is
 * in the allow-list directory (one NAME.pub file per key). Every other
 * mechanism (NULL, PLAIN) and every unknown key is refused with 400. */
#ifndef REPORTD_ZAP_H
#define REPORTD_ZAP_H

#include <stddef.h>
#include <stdint.h>

struct zap;

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* Load allow_dir and bind the handler in ctx; it must run before any CURVE
 * server socket of ctx accepts a peer. Every refusal is logged (base/log, a
 * warning, rate-limited there). NULL with err when the directory cannot be
 * read or the endpoint is taken. */
struct zap *zap_start(void *ctx, const char *allow_dir, char *err, size_t errlen);
/* Stop the thread and close its sockets. Call after the CURVE sockets are
 * closed. NULL-safe. */
void zap_stop(struct zap **zp);

/* Also log (and count) the peers sock refuses in the handshake itself —
 * no CURVE, bytes that are not ZMTP, a failed key exchange — which never
 * reach ZAP. Call from sock's owner thread, at most ZAP_WATCH_MAX times;
 * name appears in the log. 0, or -1 with err. */
#define ZAP_WATCH_MAX 4
int zap_watch(struct zap *z, void *sock, const char *name, char *err, size_t errlen);

/* Requests answered so far, and handshakes refused before ZAP. */
struct zap_stats {
    uint64_t allowed;
    uint64_t denied;
    uint64_t handshake_failed;
};
void zap_stats(const struct zap *z, struct zap_stats *st);

/* The allow-list as loaded from dir: keys (32 bytes each) in a sorted array;
 * *names (parallel, may be NULL) gets the file names without ".pub". A file
 * that is not a valid public key is an error. Exposed for tests and
 * `reportd --check-config`. Returns the count, or -1 with err. */
long zap_load_allow(const char *dir, uint8_t (**keys)[32], char ***names, char *err,
                    size_t errlen);

#endif
