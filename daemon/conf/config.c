/* config: one table of keys (dotted path, type, default, bounds, live or
 * restart-only, a line of doc) drives everything: config_defaults loads the
 * table's defaults as a YAML document, config_load walks the file's document
 * (ydoc: no aliases, bounded nodes) with the same setters, config_diff and
 * config_apply_live follow the live flags, config_free the types. Every error
 * carries file:line:column (libyaml marks are 0-based, ydoc adds 1). A mapping
 * value descends where some key's path continues ("spool" → "spool.path"). */
#include "conf/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include "base/util.h"
#include "base/ydoc.h"
#include "check/jsonout.h"
#include "report/findings.h"
#include "wire/keys.h"

#define CONFIG_MAX_BYTES (1u << 20)     /* a config file larger than 1 MiB is a mistake */
#define CONFIG_MAX_NODES 10000

static int check_endpoint(const char *v, char *why, size_t whylen);
static int check_key_file(const char *v, char *why, size_t whylen);
static int check_metrics_bind(const char *v, char *why, size_t whylen);
static int check_dsn(const char *v, char *why, size_t whylen);
static const char *const backends[] = {"sqlite", "postgresql", NULL};
static const char *const formats[] = {"text", "json", NULL};
static const char *const levels[] = {"error", "warning", "notice", "info", "debug", NULL};

#define F(field) offsetof(struct config, field)
static const struct config_key keys[] = {
    {"broker.bind", CONFIG_STR, F(broker_bind), "tcp://127.0.0.1:5555", .check = check_endpoint,
     .doc = "ROUTER for MDP clients and workers, one socket for both"},
    {"broker.publish", CONFIG_STR, F(publish_bind), "tcp://127.0.0.1:5556", .check = check_endpoint,
     .doc = "XPUB: frames topic, sequence, body"},
    {"broker.request_expiry_ms", CONFIG_INT, F(request_expiry_ms), "60000",
     .min = 100, .max = 86400000, .live = 1,
     .doc = "ms a plain MDP request waits for a worker before it is dropped"},
    {"worker.connect", CONFIG_ENDPOINTS, F(worker_connect), "tcp://127.0.0.1:5555",
     .check = check_endpoint, .doc = "where `reportd worker` connects; a list: every broker in it is served"},
    {"worker.service", CONFIG_STR, F(service), "report.check",
     .doc = "the MDP service name"},
    {"worker.threads", CONFIG_INT, F(threads), "2", .min = 1, .max = 256,
     .doc = "worker sockets per process, each one request at a time"},
    {"worker.reconnect_min_ms", CONFIG_INT, F(reconnect_min_ms), "100", .min = 10, .max = 600000,
     .doc = "ms, first back-off after the broker went silent"},
    {"worker.reconnect_max_ms", CONFIG_INT, F(reconnect_max_ms), "10000", .min = 10, .max = 600000,
     .doc = "ms, the back-off doubles up to this"},
    {"heartbeat.interval_ms", CONFIG_INT, F(heartbeat_ms), "2500",
     .min = 10, .max = 600000, .live = 1, .doc = "ms between MDP heartbeats, both ways"},
    {"heartbeat.liveness", CONFIG_INT, F(liveness), "3", .min = 2, .max = 100, .live = 1,
     .doc = "a peer silent for interval × liveness is dead"},
    {"spool.backend", CONFIG_STR, F(spool_backend), "sqlite", .choices = backends,
     .doc = "sqlite (a file, spool.path) or postgresql (a server, spool.dsn)"},
    {"spool.path", CONFIG_STR, F(spool_path), "\"\"",
     .doc = "SQLite file; empty: $STATE_DIRECTORY/spool.db, else ./var/spool.db"},
    {"spool.dsn", CONFIG_STR, F(spool_dsn), "\"\"", .check = check_dsn,
     .doc = "postgresql: libpq connection string without a password; empty: libpq's PG* variables"},
    {"spool.dsn_file", CONFIG_STR, F(spool_dsn_file), "\"\"",
     .doc = "postgresql: a file whose text is appended to spool.dsn (password=…); a bare name is in $CREDENTIALS_DIRECTORY"},
    {"spool.lead_poll_ms", CONFIG_INT, F(lead_poll_ms), "1000", .min = 50, .max = 60000,
     .live = 1, .doc = "postgresql, several brokers: ms between a standby's tries to lead (the failover time) and the leader's looks for jobs a standby took"},
    {"spool.batch_max", CONFIG_INT, F(batch_max), "256", .min = 1, .max = 100000, .live = 1,
     .doc = "writes per group commit at most"},
    {"spool.batch_ms", CONFIG_INT, F(batch_ms), "2", .min = 0, .max = 10000, .live = 1,
     .doc = "ms the first write of a batch waits for its commit at most"},
    {"spool.max_attempts", CONFIG_INT, F(max_attempts), "3", .min = 1, .max = 1000, .live = 1,
     .doc = "worker deaths before a submission goes to the dead letters"},
    {"spool.window", CONFIG_INT, F(window), "1000", .min = 1, .max = 10000000,
     .doc = "pending jobs kept in memory; the rest wait in the spool, read in order"},
    {"spool.retention.closed_days", CONFIG_INT, F(retention_closed_days), "30", .min = 0,
     .max = 36500, .live = 1,
     .doc = "days a done or closed Titanic job and its Result stay after their last change; 0: forever"},
    {"spool.retention.published_days", CONFIG_INT, F(retention_published_days), "30", .min = 0,
     .max = 36500, .live = 1,
     .doc = "days the publication log keeps a message for reportd.replay; 0: forever"},
    {"spool.retention.dead_days", CONFIG_INT, F(retention_dead_days), "0", .min = 0,
     .max = 36500, .live = 1, .doc = "days a dead letter stays after it was buried; 0: forever"},
    {"spool.retention.history_years", CONFIG_INT, F(retention_history_years), "10", .min = 0,
     .max = 1000, .live = 1,
     .doc = "report years before the current one the history keeps; 0: forever"},
    {"alerts.statuses", CONFIG_STATUSES, F(alert_statuses), "[FAIL]", .live = 1,
     .doc = "Result statuses that raise an Alert"},
    {"rules.severity", CONFIG_SEVERITIES, 0, "{}",
     .doc = "severity overrides, RULE-ID: notice, warning or error"},
    {"metrics.bind", CONFIG_STR, F(metrics_bind), "\"\"", .check = check_metrics_bind,
     .doc = "IPV4-ADDRESS:PORT or [IPV6-ADDRESS]:PORT for /metrics, /healthz, /readyz; empty: off"},
    {"log.format", CONFIG_STR, F(log_format), "text", .live = 1, .choices = formats,
     .doc = "json: one object per line (time, priority, level, msg, …)"},
    {"log.level", CONFIG_STR, F(log_level), "info", .live = 1, .choices = levels,
     .doc = "the least important priority logged"},
    {"limits.shutdown_timeout", CONFIG_INT, F(shutdown_timeout), "30",
     .min = 1, .max = 3600, .live = 1, .doc = "s a TERM drain waits for the jobs workers hold"},
    {"limits.ready_backlog", CONFIG_LONG, F(ready_backlog), "10000",
     .min = 1, .max = 1000000000, .live = 1,
     .doc = "jobs; /readyz fails while more wait for a worker"},
    {"limits.max_message", CONFIG_LONG, F(max_message), "16777216", .min = 1024, .max = 1L << 30,
     .doc = "bytes; ZMQ_MAXMSGSIZE and the largest document read"},
    {"limits.hwm", CONFIG_INT, F(hwm), "100000", .min = 10, .max = 10000000,
     .doc = "messages; send and receive high-water marks"},
    /* the PDF reader's child (read/pdfread.h; defaults as PDFREAD_*) */
    {"limits.pdf_cpu_seconds", CONFIG_INT, F(pdf_cpu_seconds), "10", .min = 1, .max = 3600,
     .doc = "s of CPU (RLIMIT_CPU) for the pdftotext child reading one PDF"},
    {"limits.pdf_timeout_ms", CONFIG_INT, F(pdf_timeout_ms), "20000", .min = 100, .max = 3600000,
     .doc = "ms of wall clock for reading one PDF, then the child is killed"},
    {"limits.pdf_max_memory", CONFIG_LONG, F(pdf_max_memory), "536870912",
     .min = 16L << 20, .max = 16L << 30, .doc = "bytes of address space (RLIMIT_AS) of the pdftotext child"},
    {"limits.pdf_max_output", CONFIG_LONG, F(pdf_max_output), "8388608", .min = 4096, .max = 1L << 30,
     .doc = "bytes of text taken from one PDF at most"},
    {"limits.max_services", CONFIG_INT, F(max_services), "10000", .min = 1, .max = 10000000,
     .live = 1, .doc = "service names kept at once; beyond, a new name is refused"},
    {"limits.replay_bytes", CONFIG_LONG, F(replay_bytes), "1048576", .min = 1024,
     .max = 1L << 30, .live = 1, .doc = "bytes of messages in one reportd.replay answer at most"},
    {"limits.replay_budget", CONFIG_LONG, F(replay_budget), "8388608", .min = 1024,
     .max = 1L << 40, .live = 1,
     .doc = "bytes of reportd.replay answers one client gets per replay_window"},
    {"limits.replay_window", CONFIG_INT, F(replay_window), "10", .min = 1, .max = 86400,
     .live = 1, .doc = "s, the window of replay_budget"},
    {"security.curve", CONFIG_BOOL, F(curve), "false",
     .doc = "CURVE and the ZAP allow-list on every TCP and ipc endpoint"},
    {"security.server_secret_key", CONFIG_STR, F(server_secret_key), "server.key",
     .check = check_key_file, .doc = "broker: its secret key file"},
    {"security.server_public_key", CONFIG_STR, F(server_public_key), "server.pub",
     .check = check_key_file, .doc = "workers, reportctl: the broker's public key file"},
    {"security.client_secret_key", CONFIG_STR, F(client_secret_key), "client.key",
     .check = check_key_file, .doc = "workers, reportctl: their own secret key file"},
    {"security.allow_dir", CONFIG_STR, F(allow_dir), "/etc/reportd/allowed",
     .doc = "broker: one NAME.pub per allowed peer; re-read when it changes"},
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

const struct config_key *config_keys(size_t *n)
{
    *n = NKEYS;
    return keys;
}

const char *config_type_name(enum config_type t)
{
    switch (t) {
    case CONFIG_STR: return "string";
    case CONFIG_INT:
    case CONFIG_LONG: return "integer";
    case CONFIG_BOOL: return "true/false";
    case CONFIG_STATUSES: return "list of statuses";
    case CONFIG_SEVERITIES: return "mapping rule: severity";
    case CONFIG_ENDPOINTS: return "endpoint or list";
    }
    return "?";
}

/* "A, B or C" into out. */
static const char *one_of(const char *const *names, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < outlen; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(out + used, outlen - used, "%s%s", sep, names[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    return out;
}

/* Scalar n as a value of enum d by the name reportd writes (PASS, warning)
 * into *out; 0, or -1 naming the accepted values. */
static int enum_scalar(const ProtobufCEnumDescriptor *d, const struct config_key *k,
                       struct ydoc *y, yaml_node_t *n, int *out, char *err, size_t errlen)
{
    const char *s = ydoc_str(n), *names[16] = {NULL};
    for (unsigned i = 0; s && i < d->n_values; i++)
        if (strcmp(jsonout_enum_name(d, d->values[i].value), s) == 0) {
            *out = d->values[i].value;
            return 0;
        }
    size_t nn = 0;
    for (unsigned i = 0; i < d->n_values && nn < 16; i++)
        names[nn++] = jsonout_enum_name(d, d->values[i].value);
    char list[128];
    return ydoc_err(y, n, err, errlen, "%s: %s is not %s", k->path, s ? s : "(not a scalar)",
                    one_of(names, nn, list, sizeof list));
}

static void *slot(struct config *c, const struct config_key *k)
{
    return (char *)c + k->off;
}

static int set_number(struct config *c, const struct config_key *k, struct ydoc *y,
                      yaml_node_t *v, char *err, size_t errlen)
{
    const char *s = ydoc_str(v);
    if (!s)
        return ydoc_err(y, v, err, errlen, "%s: expected a number", k->path);
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        return ydoc_err(y, v, err, errlen, "%s: expected an integer", k->path);
    if (x < k->min || x > k->max)
        return ydoc_err(y, v, err, errlen, "%s: %ld is out of range %ld..%ld", k->path, x,
                        k->min, k->max);
    if (k->type == CONFIG_INT)
        *(int *)slot(c, k) = (int)x;
    else
        *(long *)slot(c, k) = x;
    return 0;
}

static int set_string(struct config *c, const struct config_key *k, struct ydoc *y,
                      yaml_node_t *v, char *err, size_t errlen)
{
    const char *s = ydoc_str(v);
    if (!s)
        return ydoc_err(y, v, err, errlen, "%s: expected a string", k->path);
    char why[256];
    if (k->check && k->check(s, why, sizeof why) != 0)
        return ydoc_err(y, v, err, errlen, "%s: %s", k->path, why);
    if (k->choices) {
        size_t n = 0;
        while (k->choices[n] && strcmp(k->choices[n], s) != 0)
            n++;
        if (!k->choices[n]) {
            while (k->choices[n])
                n++;
            return ydoc_err(y, v, err, errlen, "%s: %s is not %s", k->path, s,
                            one_of(k->choices, n, why, sizeof why));
        }
    }
    char **p = slot(c, k);
    free(*p);
    *p = xstrdup(s);
    return 0;
}

/* One endpoint, a string of them separated by commas, or a sequence of them
 * (at least one), each checked; kept joined by commas. */
static int set_endpoints(struct config *c, const struct config_key *k, struct ydoc *y,
                         yaml_node_t *v, char *err, size_t errlen)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        const char *s = ydoc_str(v);
        if (!s || !*s)
            return ydoc_err(y, v, err, errlen, "%s: expected an endpoint or a list of them", k->path);
        char *copy = xstrdup(s), *save = NULL, why[256];
        int rc = 0;
        for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save))
            if (k->check && k->check(t, why, sizeof why) != 0)
                rc = ydoc_err(y, v, err, errlen, "%s: %s", k->path, why);
        free(copy);
        return rc ? rc : set_string(c, k, y, v, err, errlen);
    }
    struct buf b = {0};
    char why[256];
    int rc = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         rc == 0 && it < v->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(&y->doc, *it);
        const char *s = ydoc_str(e);
        if (!s)
            rc = ydoc_err(y, e, err, errlen, "%s: expected an endpoint", k->path);
        else if (strchr(s, ','))
            rc = ydoc_err(y, e, err, errlen, "%s: %s: one endpoint per item", k->path, s);
        else if (k->check && k->check(s, why, sizeof why) != 0)
            rc = ydoc_err(y, e, err, errlen, "%s: %s", k->path, why);
        else
            buf_printf(&b, "%s%s", b.len ? "," : "", s);
    }
    if (rc == 0 && b.len == 0)
        rc = ydoc_err(y, v, err, errlen, "%s: an empty list", k->path);
    if (rc == 0) {
        char **p = slot(c, k);
        free(*p);
        *p = xstrdup(b.data);
    }
    buf_free(&b);
    return rc;
}

static int set_statuses(struct config *c, const struct config_key *k, struct ydoc *y,
                        yaml_node_t *v, char *err, size_t errlen)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return ydoc_err(y, v, err, errlen, "%s: expected a list like [FAIL]", k->path);
    unsigned mask = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        int j;
        if (enum_scalar(&reportd__status__descriptor, k, y,
                        yaml_document_get_node(&y->doc, *it), &j, err, errlen) != 0)
            return -1;
        mask |= 1u << j;
    }
    *(unsigned *)slot(c, k) = mask;
    return 0;
}

static int set_severities(struct config *c, const struct config_key *k, struct ydoc *y,
                          yaml_node_t *v, char *err, size_t errlen)
{
    if (v->type != YAML_MAPPING_NODE)
        return ydoc_err(y, v, err, errlen, "%s: expected RULE-ID: severity pairs", k->path);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&y->doc, p->value);
        const char *rule = ydoc_str(kn);
        int j;
        if (!rule || findings_rule_find(rule) < 0)
            return ydoc_err(y, kn, err, errlen, "%s: %s is not a rule reportd checks "
                            "(R-S3-ROWSUM, …)", k->path, rule ? rule : "(not a scalar)");
        if (enum_scalar(&reportd__severity__descriptor, k, y, vn, &j, err, errlen) != 0)
            return -1;
        c->override_rules = xrealloc(c->override_rules, (c->noverrides + 1) * sizeof(char *));
        c->override_severities =
            xrealloc(c->override_severities, (c->noverrides + 1) * sizeof(int));
        c->override_rules[c->noverrides] = xstrdup(rule);
        c->override_severities[c->noverrides++] = j;
    }
    return 0;
}

static int set_value(struct config *c, const struct config_key *k, struct ydoc *y,
                     yaml_node_t *v, char *err, size_t errlen)
{
    const char *s;
    switch (k->type) {
    case CONFIG_STR:
        return set_string(c, k, y, v, err, errlen);
    case CONFIG_INT:
    case CONFIG_LONG:
        return set_number(c, k, y, v, err, errlen);
    case CONFIG_BOOL:
        s = ydoc_str(v);
        if (!s || (strcmp(s, "true") && strcmp(s, "false")))
            return ydoc_err(y, v, err, errlen, "%s: expected true or false", k->path);
        *(int *)slot(c, k) = strcmp(s, "true") == 0;
        return 0;
    case CONFIG_STATUSES:
        return set_statuses(c, k, y, v, err, errlen);
    case CONFIG_SEVERITIES:
        return set_severities(c, k, y, v, err, errlen);
    case CONFIG_ENDPOINTS:
        return set_endpoints(c, k, y, v, err, errlen);
    }
    return 0;
}

static const struct config_key *find_key(const char *path)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

/* A section: some key's path continues after prefix and a dot. */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].path, prefix, n) == 0 && keys[i].path[n] == '.')
            return 1;
    return 0;
}

static int walk(struct config *c, struct ydoc *y, yaml_node_t *map, const char *prefix,
                char *err, size_t errlen)
{
    if (map->type != YAML_MAPPING_NODE)
        return ydoc_err(y, map, err, errlen, "%s: expected a mapping",
                        *prefix ? prefix : "top level");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&y->doc, p->value);
        const char *name = ydoc_str(kn);
        if (!name)
            return ydoc_err(y, kn, err, errlen, "keys must be plain scalars");
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        const struct config_key *k = find_key(path);
        int rc;
        if (k)
            rc = set_value(c, k, y, vn, err, errlen);
        else if (is_section(path))
            rc = walk(c, y, vn, path, err, errlen);
        else
            rc = ydoc_err(y, kn, err, errlen, "unknown key %s", path);
        if (rc)
            return rc;
    }
    return 0;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    /* the table's defaults as one flat document, "broker.bind: tcp://…" */
    struct buf b = {0};
    for (size_t i = 0; i < NKEYS; i++)
        buf_printf(&b, "%s: %s\n", keys[i].path, keys[i].def);
    struct ydoc y;
    char err[512];
    int rc = ydoc_load(&y, "the default of", b.data, b.len, CONFIG_MAX_NODES, err, sizeof err);
    for (size_t i = 0; i < NKEYS && rc == 0; i++)
        rc = set_value(c, &keys[i], &y, ydoc_get(&y, ydoc_root(&y), keys[i].path), err,
                       sizeof err);
    ydoc_free(&y);
    buf_free(&b);
    if (rc != 0) {              /* the table itself is wrong: a programmer error */
        fprintf(stderr, "config: %s\n", err);
        abort();
    }
}

void config_free(struct config *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == CONFIG_STR || keys[i].type == CONFIG_ENDPOINTS)
            free(*(char **)slot(c, &keys[i]));
    for (size_t i = 0; i < c->noverrides; i++)
        free(c->override_rules[i]);
    free(c->override_rules);
    free(c->override_severities);
    memset(c, 0, sizeof *c);
}

static int check_endpoint(const char *v, char *why, size_t whylen)
{
    if (strncmp(v, "tcp://", 6) && strncmp(v, "ipc://", 6) && strncmp(v, "inproc://", 9))
        return errf(why, whylen, "%s is not a tcp://, ipc:// or inproc:// endpoint", v);
    return 0;
}

/* The security.* key settings name files; a value that is itself a Z85 key
 * is key material put in the YAML: refused. */
static int check_key_file(const char *v, char *why, size_t whylen)
{
    if (keys_is_key_material(v))
        return errf(why, whylen, "looks like a key, not a file name; keys come from files (or "
                    "systemd LoadCredential=), never from the YAML");
    return 0;
}

/* A connection string in the YAML must not carry the password: that comes
 * from spool.dsn_file (or libpq's ~/.pgpass / $PGPASSFILE). */
static int check_dsn(const char *v, char *why, size_t whylen)
{
    char *low = xstrdup(v);
    for (char *p = low; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    int bad = strstr(low, "password") != NULL ||
              (strstr(low, "://") && strchr(low, '@') &&
               strchr(strstr(low, "://") + 3, ':') &&
               strchr(strstr(low, "://") + 3, ':') < strchr(low, '@'));
    free(low);
    if (bad)
        return errf(why, whylen, "holds a password; passwords come from spool.dsn_file (or "
                    "systemd LoadCredential=), never from the YAML");
    return 0;
}

/* "ADDR:PORT" with an IPv4 address into addr (16 bytes) and port: 0, else -1. */
/* ADDR:PORT with an IPv4 ADDR, or [ADDR]:PORT with an IPv6 one (addr gets it
 * without brackets). */
static int parse_addr(const char *bind, char addr[CONFIG_ADDR_MAX], int *port)
{
    const char *colon = strrchr(bind, ':'), *host = bind;
    size_t n = colon ? (size_t)(colon - bind) : 0;
    int v6 = bind[0] == '[';
    if (v6) {
        if (n < 3 || bind[n - 1] != ']')
            return -1;
        host++;
        n -= 2;
    }
    if (!colon || n == 0 || n >= CONFIG_ADDR_MAX || !colon[1] ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5)
        return -1;
    memcpy(addr, host, n);
    addr[n] = '\0';
    *port = atoi(colon + 1);
    struct in6_addr ia;
    return *port <= 65535 && inet_pton(v6 ? AF_INET6 : AF_INET, addr, &ia) == 1 ? 0 : -1;
}

static int check_metrics_bind(const char *v, char *why, size_t whylen)
{
    char addr[CONFIG_ADDR_MAX];
    int port;
    if (*v && parse_addr(v, addr, &port) != 0)
        return errf(why, whylen, "%s is not IPV4-ADDRESS:PORT or [IPV6-ADDRESS]:PORT (or \"\" for "
                    "no HTTP endpoint)", v);
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = util_read_file(path, CONFIG_MAX_BYTES, &len, err, errlen);
    if (!text)
        return -1;
    struct ydoc y;
    int rc = ydoc_load(&y, path, text, len, CONFIG_MAX_NODES, err, errlen);
    if (rc != 0 && y.loaded && !ydoc_root(&y))
        rc = 0;                 /* an empty file (or only comments): every key is optional */
    else if (rc == 0)
        rc = walk(c, &y, ydoc_root(&y), "", err, errlen);
    ydoc_free(&y);
    free(text);
    if (rc == 0 && c->reconnect_max_ms < c->reconnect_min_ms)
        rc = errf(err, errlen, "%s: worker.reconnect_max_ms is below reconnect_min_ms", path);
    return rc;
}

char *config_spool_file(const struct config *c)
{
    if (c->spool_path && *c->spool_path)
        return xstrdup(c->spool_path);
    const char *dir = getenv("STATE_DIRECTORY");
    if (dir && *dir) {
        /* systemd may pass several, colon-separated: take the first */
        size_t n = strcspn(dir, ":");
        char *first = xstrndup(dir, n);
        char *p = xasprintf("%s/spool.db", first);
        free(first);
        return p;
    }
    mkdir("var", 0750);
    return xstrdup("var/spool.db");
}

char *config_spool_where(const struct config *c, char *err, size_t errlen)
{
    if (!c->spool_backend || strcmp(c->spool_backend, "postgresql") != 0)
        return config_spool_file(c);
    const char *dsn = c->spool_dsn ? c->spool_dsn : "";
    const char *file = c->spool_dsn_file;
    if (!file || !*file)
        return xstrdup(dsn);
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    char *path = strchr(file, '/') || !creds || !*creds ? xstrdup(file)
                                                        : xasprintf("%s/%s", creds, file);
    FILE *f = fopen(path, "re");
    if (!f) {
        errf(err, errlen, "spool.dsn_file %s: %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    int big = n == sizeof buf - 1 && fgetc(f) != EOF;
    fclose(f);
    if (big) {
        errf(err, errlen, "spool.dsn_file %s: larger than %zu bytes", path, sizeof buf - 1);
        free(path);
        return NULL;
    }
    free(path);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return *dsn ? xasprintf("%s %s", dsn, buf) : xstrdup(buf);
}

int config_metrics_addr(const struct config *c, char addr[CONFIG_ADDR_MAX], int *port)
{
    return parse_addr(c->metrics_bind, addr, port);
}

static int same_value(const struct config_key *k, const struct config *a, const struct config *b)
{
    const void *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
    switch (k->type) {
    case CONFIG_STR:
    case CONFIG_ENDPOINTS:
        return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
    case CONFIG_LONG:
        return *(const long *)pa == *(const long *)pb;
    case CONFIG_STATUSES:
        return *(const unsigned *)pa == *(const unsigned *)pb;
    case CONFIG_SEVERITIES:
        if (a->noverrides != b->noverrides)
            return 0;
        for (size_t i = 0; i < a->noverrides; i++)
            if (strcmp(a->override_rules[i], b->override_rules[i]) ||
                a->override_severities[i] != b->override_severities[i])
                return 0;
        return 1;
    case CONFIG_INT:
    case CONFIG_BOOL:
        return *(const int *)pa == *(const int *)pb;
    }
    return 1;
}

size_t config_diff(const struct config *a, const struct config *b, int live, char *out,
                   size_t outlen)
{
    size_t n = 0, used = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].live != !!live || same_value(&keys[i], a, b))
            continue;
        if (used < outlen) {
            int w = snprintf(out + used, outlen - used, "%s%s", n ? ", " : "", keys[i].path);
            used += w > 0 ? (size_t)w : 0;
        }
        n++;
    }
    return n;
}

void config_apply_live(struct config *c, const struct config *next)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct config_key *k = &keys[i];
        if (!k->live)
            continue;
        void *to = slot(c, k);
        const void *from = (const char *)next + k->off;
        switch (k->type) {
        case CONFIG_STR:
        case CONFIG_ENDPOINTS:
            free(*(char **)to);
            *(char **)to = xstrdup(*(char *const *)from);
            break;
        case CONFIG_LONG:
            *(long *)to = *(const long *)from;
            break;
        case CONFIG_STATUSES:
            *(unsigned *)to = *(const unsigned *)from;
            break;
        case CONFIG_INT:
        case CONFIG_BOOL:
            *(int *)to = *(const int *)from;
            break;
        case CONFIG_SEVERITIES:  /* restart-only: the checker is built once */
            break;
        }
    }
}
