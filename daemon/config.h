/* config: reportd's settings — defaults, the YAML loader (libyaml) and its
 * validation. One table of keys with type and bounds drives the loader. */
#ifndef REPORTD_CONFIG_H
#define REPORTD_CONFIG_H

#include <stddef.h>

struct config {
    char *broker_bind;          /* ROUTER for clients and workers, e.g. tcp://127.0.0.1:5555 */
    char *publish_bind;         /* XPUB */
    char *worker_connect;       /* where `reportd worker` connects */
    char *service;              /* MDP service name, "report.check" */
    int threads;                /* worker sockets per process */
    int heartbeat_ms;           /* ms, MDP heartbeat interval (broker and worker) */
    int liveness;               /* missed heartbeats before a peer is dead */
    int reconnect_min_ms;       /* ms, worker back-off start */
    int reconnect_max_ms;       /* ms, worker back-off cap */
    int request_expiry_ms;      /* ms, a plain MDP request waiting for a worker */
    char *spool_path;           /* SQLite file; "" means $STATE_DIRECTORY or ./var */
    int batch_max;              /* writes per commit at most */
    int batch_ms;               /* ms, longest a write waits for its commit */
    int max_attempts;           /* worker deaths before a submission is dead-lettered */
    unsigned alert_statuses;    /* bit (1 << STATUS_x) raises an Alert */
    long max_message;           /* bytes, ZMQ_MAXMSGSIZE on outside-facing sockets */
    int hwm;                    /* messages, SNDHWM/RCVHWM */
    char **override_rules;      /* rule severity overrides, parallel arrays */
    int *override_severities;   /* 0 notice, 1 warning, 2 error */
    size_t noverrides;
};

/* Fill c with the documented defaults (owned strings). */
void config_defaults(struct config *c);
/* Load path over the values already in c. Returns 0, or -1 with
 * "file:line:column: message" in err; c may be partly updated then. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
void config_free(struct config *c);

/* The spool file: spool_path, else $STATE_DIRECTORY/spool.db, else
 * var/spool.db. Creates the directory of the default. Caller frees. */
char *config_spool_file(const struct config *c);

#endif
