/* config: reportd's settings. One table of keys (config_keys) — dotted name,
 * type, default, bounds, whether a reload applies it, one line of doc — from
 * which the defaults, the loader (through ydoc), validation, the reload diff
 * and free all follow. */
#ifndef REPORTD_CONFIG_H
#define REPORTD_CONFIG_H

#include <stddef.h>

struct config {
    char *broker_bind;          /* ROUTER for clients and workers, e.g. tcp://127.0.0.1:5555 */
    char *publish_bind;         /* XPUB */
    char *worker_connect;       /* where `reportd worker` connects: EP[,EP…], one per broker */
    char *service;              /* MDP service name, "report.check" */
    int threads;                /* worker sockets per process */
    int heartbeat_ms;           /* ms, MDP heartbeat interval (broker and worker) */
    int liveness;               /* missed heartbeats before a peer is dead */
    int reconnect_min_ms;       /* ms, worker back-off start */
    int reconnect_max_ms;       /* ms, worker back-off cap */
    int request_expiry_ms;      /* ms, a plain MDP request waiting for a worker */
    char *spool_backend;        /* "sqlite" or "postgresql" */
    char *spool_path;           /* SQLite file; "" means $STATE_DIRECTORY or ./var */
    char *spool_dsn;            /* postgresql: libpq connection string, no password */
    char *spool_dsn_file;       /* postgresql: appended to spool_dsn (the password) */
    int batch_max;              /* writes per commit at most */
    int batch_ms;               /* ms, longest a write waits for its commit */
    int max_attempts;           /* worker deaths before a submission is dead-lettered */
    int lead_poll_ms;           /* ms: a standby tries to lead, the leader looks for claims */
    int window;                 /* pending Titanic jobs in the broker's memory at most */
    int retention_closed_days;  /* spool.retention.*: 0 keeps forever */
    int retention_published_days;
    int retention_dead_days;
    int retention_history_years;
    unsigned alert_statuses;    /* bit (1 << STATUS_x) raises an Alert */
    long max_message;           /* bytes, ZMQ_MAXMSGSIZE on outside-facing sockets */
    int hwm;                    /* messages, SNDHWM/RCVHWM */
    int shutdown_timeout;       /* s: longest a TERM drain waits for jobs in flight */
    long ready_backlog;         /* jobs: /readyz fails while the backlog is above it */
    int pdf_cpu_seconds;        /* s: CPU of one pdftotext child (read/pdfread.h) */
    int pdf_timeout_ms;         /* ms: wall clock of one PDF extraction, then SIGKILL */
    long pdf_max_memory;        /* bytes: address space of the pdftotext child */
    long pdf_max_output;        /* bytes: most text taken from one PDF */
    int max_services;           /* service names the broker keeps at once */
    long replay_bytes;          /* bytes: most message bytes in one reportd.replay answer */
    long replay_budget;         /* bytes: most replay bytes one client gets per window */
    int replay_window;          /* s: the replay budget's window */
    char *metrics_bind;         /* "ADDR:PORT" serving /metrics, /healthz, /readyz; "" off */
    char *log_format;           /* "text" or "json" */
    char *log_level;            /* least important priority logged: error … debug */
    char **override_rules;      /* rule severity overrides, parallel arrays */
    int *override_severities;   /* 0 notice, 1 warning, 2 error */
    size_t noverrides;
    /* security: CURVE on every TCP endpoint; key *files* only (keys.h) */
    int curve;                  /* 0/1 */
    char *server_secret_key;    /* broker: its secret key file */
    char *server_public_key;    /* workers, reportctl: the broker's public key file */
    char *client_secret_key;    /* workers, reportctl: their own secret key file */
    char *allow_dir;            /* broker: allowed client/worker public keys, NAME.pub */
};

/* One row of the key table. */
enum config_type {
    CONFIG_STR, CONFIG_INT, CONFIG_LONG, CONFIG_BOOL,
    CONFIG_STATUSES,            /* a list of Result statuses */
    CONFIG_SEVERITIES,          /* a mapping RULE-ID: severity */
    CONFIG_ENDPOINTS,           /* an endpoint or a list of them; a char *, "EP,EP" */
};
struct config_key {
    const char *path;           /* dotted: "spool.batch_ms" */
    enum config_type type;
    size_t off;                 /* of the field in struct config (unused for severities) */
    const char *def;            /* the default, as config/reportd.yaml writes it */
    long min, max;              /* CONFIG_INT, CONFIG_LONG: inclusive bounds */
    int live;                   /* 1: a SIGHUP reload applies it; 0: needs a restart */
    const char *const *choices; /* CONFIG_STR with a closed set of values, NULL-terminated */
    /* CONFIG_STR, CONFIG_ENDPOINTS (each): further checks of a value; 0, or -1 with why */
    int (*check)(const char *value, char *why, size_t whylen);
    const char *doc;            /* one line */
};
/* The key table; *n gets its length. */
const struct config_key *config_keys(size_t *n);
/* The type's name for people: "string", "integer", "true/false", … */
const char *config_type_name(enum config_type t);

/* Fill c with the defaults of the key table (owned strings). */
void config_defaults(struct config *c);
/* Load path over the values already in c. Returns 0, or -1 with
 * "file:line:column: message" in err; c may be partly updated then. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
void config_free(struct config *c);

/* Keys whose values differ between a and b, comma-separated into out: those a
 * reload applies (live set) or those that need a restart (live clear).
 * Returns how many. */
size_t config_diff(const struct config *a, const struct config *b, int live, char *out,
                   size_t outlen);
/* Copy every key a reload may change from next into c. */
void config_apply_live(struct config *c, const struct config *next);
/* metrics_bind split into an address (IPv4, or IPv6 without its brackets)
 * and a port. Returns 0, or -1 when it is not ADDR:PORT or [ADDR6]:PORT. */
#define CONFIG_ADDR_MAX 46      /* INET6_ADDRSTRLEN */
int config_metrics_addr(const struct config *c, char addr[CONFIG_ADDR_MAX], int *port);

/* The spool file: spool_path, else $STATE_DIRECTORY/spool.db, else
 * var/spool.db. Creates the directory of the default. Caller frees. */
char *config_spool_file(const struct config *c);
/* What the spool backend opens: the file (sqlite), or the connection string
 * (postgresql): spool.dsn followed by the text of spool.dsn_file (a bare name
 * is looked up in $CREDENTIALS_DIRECTORY). Caller frees; NULL with err when
 * the file cannot be read. */
char *config_spool_where(const struct config *c, char *err, size_t errlen);

#endif
