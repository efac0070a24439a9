/* config: defaults, then a libyaml document walk over one key table, then
 * bounds. Every error carries file:line:column (libyaml marks are 0-based).
 * Keys are dotted paths ("spool.batch_ms"); a mapping value descends only
 * where the table has a section of that name. */
#include "conf/config.h"

#include "report/findings.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <yaml.h>

#include "wire/keys.h"
#include "base/util.h"

enum ktype { K_SECTION, K_STR, K_INT, K_LONG, K_STATUSES, K_SEVERITIES, K_BOOL };

struct key {
    const char *path;
    enum ktype type;
    size_t off;
    long min, max;
};

#define F(field) offsetof(struct config, field)
static const struct key keys[] = {
    {"broker", K_SECTION, 0, 0, 0},
    {"broker.bind", K_STR, F(broker_bind), 0, 0},
    {"broker.publish", K_STR, F(publish_bind), 0, 0},
    {"broker.request_expiry_ms", K_INT, F(request_expiry_ms), 100, 86400000},
    {"worker", K_SECTION, 0, 0, 0},
    {"worker.connect", K_STR, F(worker_connect), 0, 0},
    {"worker.service", K_STR, F(service), 0, 0},
    {"worker.threads", K_INT, F(threads), 1, 256},
    {"worker.reconnect_min_ms", K_INT, F(reconnect_min_ms), 10, 600000},
    {"worker.reconnect_max_ms", K_INT, F(reconnect_max_ms), 10, 600000},
    {"heartbeat", K_SECTION, 0, 0, 0},
    {"heartbeat.interval_ms", K_INT, F(heartbeat_ms), 10, 600000},
    {"heartbeat.liveness", K_INT, F(liveness), 2, 100},
    {"spool", K_SECTION, 0, 0, 0},
    {"spool.path", K_STR, F(spool_path), 0, 0},
    {"spool.batch_max", K_INT, F(batch_max), 1, 100000},
    {"spool.batch_ms", K_INT, F(batch_ms), 0, 10000},
    {"spool.max_attempts", K_INT, F(max_attempts), 1, 1000},
    {"alerts", K_SECTION, 0, 0, 0},
    {"alerts.statuses", K_STATUSES, F(alert_statuses), 0, 0},
    {"rules", K_SECTION, 0, 0, 0},
    {"rules.severity", K_SEVERITIES, 0, 0, 0},
    {"metrics", K_SECTION, 0, 0, 0},
    {"metrics.bind", K_STR, F(metrics_bind), 0, 0},
    {"log", K_SECTION, 0, 0, 0},
    {"log.format", K_STR, F(log_format), 0, 0},
    {"log.level", K_STR, F(log_level), 0, 0},
    {"limits", K_SECTION, 0, 0, 0},
    {"limits.shutdown_timeout", K_INT, F(shutdown_timeout), 1, 3600},
    {"limits.ready_backlog", K_LONG, F(ready_backlog), 1, 1000000000},
    {"limits.max_message", K_LONG, F(max_message), 1024, 1L << 30},
    {"limits.hwm", K_INT, F(hwm), 10, 10000000},
    {"security", K_SECTION, 0, 0, 0},
    {"security.curve", K_BOOL, F(curve), 0, 1},
    {"security.server_secret_key", K_STR, F(server_secret_key), 0, 0},
    {"security.server_public_key", K_STR, F(server_public_key), 0, 0},
    {"security.client_secret_key", K_STR, F(client_secret_key), 0, 0},
    {"security.allow_dir", K_STR, F(allow_dir), 0, 0},
};
#undef F

/* What a SIGHUP reload may change; every other key needs a restart. */
static const char *const live_keys[] = {
    "broker.request_expiry_ms", "heartbeat.interval_ms", "heartbeat.liveness",
    "spool.batch_max", "spool.batch_ms", "spool.max_attempts", "alerts.statuses",
    "limits.shutdown_timeout", "limits.ready_backlog", "log.format", "log.level",
};

static const char *const status_names[] = {"PASS", "WARN", "FAIL", "REJECTED"};
static const char *const severity_names[] = {"notice", "warning", "error"};

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->broker_bind = xstrdup("tcp://127.0.0.1:5555");
    c->publish_bind = xstrdup("tcp://127.0.0.1:5556");
    c->worker_connect = xstrdup("tcp://127.0.0.1:5555");
    c->service = xstrdup("report.check");
    c->threads = 2;
    c->heartbeat_ms = 2500;
    c->liveness = 3;
    c->reconnect_min_ms = 100;
    c->reconnect_max_ms = 10000;
    c->request_expiry_ms = 60000;
    c->spool_path = xstrdup("");
    c->batch_max = 256;
    c->batch_ms = 2;
    c->max_attempts = 3;
    c->alert_statuses = 1u << 2;
    c->max_message = 16L << 20;
    c->hwm = 100000;
    c->shutdown_timeout = 30;
    c->ready_backlog = 10000;
    c->metrics_bind = xstrdup("");
    c->log_format = xstrdup("text");
    c->log_level = xstrdup("info");
    c->server_secret_key = xstrdup("server.key");
    c->server_public_key = xstrdup("server.pub");
    c->client_secret_key = xstrdup("client.key");
    c->allow_dir = xstrdup("/etc/reportd/allowed");
}

void config_free(struct config *c)
{
    free(c->broker_bind);
    free(c->publish_bind);
    free(c->worker_connect);
    free(c->service);
    free(c->spool_path);
    free(c->metrics_bind);
    free(c->log_format);
    free(c->log_level);
    free(c->server_secret_key);
    free(c->server_public_key);
    free(c->client_secret_key);
    free(c->allow_dir);
    for (size_t i = 0; i < c->noverrides; i++)
        free(c->override_rules[i]);
    free(c->override_rules);
    free(c->override_severities);
    memset(c, 0, sizeof *c);
}

__attribute__((format(printf, 5, 6)))
static int at(char *err, size_t errlen, const char *file, const yaml_node_t *n, const char *fmt,
              ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return errf(err, errlen, "%s:%zu:%zu: %s", file, n->start_mark.line + 1,
                n->start_mark.column + 1, msg);
}

static const struct key *find_key(const char *path)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

static const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int set_number(struct config *c, const struct key *k, const yaml_node_t *v,
                      const char *file, char *err, size_t errlen)
{
    const char *s = scalar(v);
    if (!s)
        return at(err, errlen, file, v, "%s: expected a number", k->path);
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        return at(err, errlen, file, v, "%s: expected an integer", k->path);
    if (x < k->min || x > k->max) {
        return at(err, errlen, file, v, "%s: %ld is out of range %ld..%ld", k->path, x, k->min,
                  k->max);
    }
    if (k->type == K_INT)
        *(int *)((char *)c + k->off) = (int)x;
    else
        *(long *)((char *)c + k->off) = x;
    return 0;
}

static int set_statuses(struct config *c, yaml_document_t *d, const yaml_node_t *v,
                        const char *file, char *err, size_t errlen)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return at(err, errlen, file, v, "%s", "alerts.statuses: expected a list like [FAIL]");
    unsigned mask = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = yaml_document_get_node(d, *it);
        const char *s = scalar(e);
        size_t j = 0;
        while (s && j < 4 && strcmp(s, status_names[j]) != 0)
            j++;
        if (!s || j == 4)
            return at(err, errlen, file, e, "alerts.statuses: %s is not PASS, WARN, FAIL or "
                      "REJECTED", s ? s : "(not a scalar)");
        mask |= 1u << j;
    }
    c->alert_statuses = mask;
    return 0;
}

static int set_severities(struct config *c, yaml_document_t *d, const yaml_node_t *v,
                          const char *file, char *err, size_t errlen)
{
    if (v->type != YAML_MAPPING_NODE)
        return at(err, errlen, file, v, "%s", "rules.severity: expected RULE-ID: severity pairs");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(d, p->key);
        const yaml_node_t *vn = yaml_document_get_node(d, p->value);
        const char *rule = scalar(kn), *sev = scalar(vn);
        if (!rule || findings_rule_find(rule) < 0)
            return at(err, errlen, file, kn, "rules.severity: %s is not a rule reportd checks (R-S3-ROWSUM, …)",
                      rule ? rule : "(not a scalar)");
        int j = 0;
        while (sev && j < 3 && strcmp(sev, severity_names[j]) != 0)
            j++;
        if (!sev || j == 3)
            return at(err, errlen, file, vn, "rules.severity: %s is not notice, warning or error",
                      sev ? sev : "(not a scalar)");
        c->override_rules = xrealloc(c->override_rules, (c->noverrides + 1) * sizeof(char *));
        c->override_severities =
            xrealloc(c->override_severities, (c->noverrides + 1) * sizeof(int));
        c->override_rules[c->noverrides] = xstrdup(rule);
        c->override_severities[c->noverrides++] = j;
    }
    return 0;
}

/* The string keys with a closed set of values (issue 4): 0, or -1 with why. */
static int check_ops(const struct config *c, const char *path, char *why, size_t whylen)
{
    static const char *const levels[] = {"error", "warning", "notice", "info", "debug"};
    char addr[16];
    int port;
    if (!strcmp(path, "metrics.bind") && *c->metrics_bind &&
        config_metrics_addr(c, addr, &port) != 0)
        return errf(why, whylen, "metrics.bind: %s is not IPV4-ADDRESS:PORT (or \"\" for no "
                    "HTTP endpoint)", c->metrics_bind);
    if (!strcmp(path, "log.format") && strcmp(c->log_format, "text") &&
        strcmp(c->log_format, "json"))
        return errf(why, whylen, "log.format: %s is not text or json", c->log_format);
    if (strcmp(path, "log.level") != 0)
        return 0;
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(c->log_level, levels[i]))
            return 0;
    return errf(why, whylen, "log.level: %s is not error, warning, notice, info or debug",
                c->log_level);
}

static int walk(struct config *c, yaml_document_t *d, const yaml_node_t *map, const char *prefix,
                const char *file, char *err, size_t errlen)
{
    if (map->type != YAML_MAPPING_NODE)
        return at(err, errlen, file, map, "%s: expected a mapping", *prefix ? prefix : "top level");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = yaml_document_get_node(d, p->key);
        const yaml_node_t *vn = yaml_document_get_node(d, p->value);
        const char *name = scalar(kn);
        if (!name)
            return at(err, errlen, file, kn, "%s", "keys must be plain scalars");
        char path[128];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        const struct key *k = find_key(path);
        if (!k)
            return at(err, errlen, file, kn, "unknown key %s", path);
        int rc = 0;
        switch (k->type) {
        case K_SECTION:
            rc = walk(c, d, vn, path, file, err, errlen);
            break;
        case K_STR: {
            const char *s = scalar(vn);
            if (!s)
                return at(err, errlen, file, vn, "%s: expected a string", path);
            char **slot = (char **)((char *)c + k->off);
            free(*slot);
            *slot = xstrdup(s);
            char why[160];
            if (check_ops(c, path, why, sizeof why) != 0)
                return at(err, errlen, file, vn, "%s", why);
            break;
        }
        case K_INT:
        case K_LONG:
            rc = set_number(c, k, vn, file, err, errlen);
            break;
        case K_STATUSES:
            rc = set_statuses(c, d, vn, file, err, errlen);
            break;
        case K_SEVERITIES:
            rc = set_severities(c, d, vn, file, err, errlen);
            break;
        case K_BOOL: {
            const char *s = scalar(vn);
            if (!s || (strcmp(s, "true") && strcmp(s, "false")))
                return at(err, errlen, file, vn, "%s: expected true or false", path);
            *(int *)((char *)c + k->off) = strcmp(s, "true") == 0;
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int check_endpoint(const char *what, const char *ep, const char *file, char *err,
                          size_t errlen)
{
    if (strncmp(ep, "tcp://", 6) && strncmp(ep, "ipc://", 6) && strncmp(ep, "inproc://", 9))
        return errf(err, errlen, "%s: %s: %s is not a tcp://, ipc:// or inproc:// endpoint",
                    file, what, ep);
    return 0;
}

/* The security.* key settings name files; a value that is itself a Z85 key
 * is key material put in the YAML: refused. */
static int check_key_files(const struct config *c, const char *file, char *err, size_t errlen)
{
    const char *names[] = {"server_secret_key", "server_public_key", "client_secret_key"};
    const char *vals[] = {c->server_secret_key, c->server_public_key, c->client_secret_key};
    for (int i = 0; i < 3; i++)
        if (keys_is_key_material(vals[i]))
            return errf(err, errlen, "%s: security.%s: looks like a key, not a file name; keys "
                        "come from files (or systemd LoadCredential=), never from the YAML",
                        file, names[i]);
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errf(err, errlen, "%s: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        errf(err, errlen, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
             parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
        goto fail;
    }
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    rc = root ? walk(c, &doc, root, "", path, err, errlen) : 0;
    yaml_document_delete(&doc);
    if (rc == 0 && c->reconnect_max_ms < c->reconnect_min_ms)
        rc = errf(err, errlen, "%s: worker.reconnect_max_ms is below reconnect_min_ms", path);
    if (rc == 0)
        rc = check_endpoint("broker.bind", c->broker_bind, path, err, errlen);
    if (rc == 0)
        rc = check_endpoint("broker.publish", c->publish_bind, path, err, errlen);
    if (rc == 0)
        rc = check_endpoint("worker.connect", c->worker_connect, path, err, errlen);
    if (rc == 0)
        rc = check_key_files(c, path, err, errlen);
fail:
    yaml_parser_delete(&parser);
    fclose(f);
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

int config_metrics_addr(const struct config *c, char addr[16], int *port)
{
    const char *colon = strrchr(c->metrics_bind, ':');
    size_t n = colon ? (size_t)(colon - c->metrics_bind) : 0;
    if (!colon || n == 0 || n > 15 || !colon[1] || strspn(colon + 1, "0123456789") !=
        strlen(colon + 1) || strlen(colon + 1) > 5)
        return -1;
    memcpy(addr, c->metrics_bind, n);
    addr[n] = '\0';
    *port = atoi(colon + 1);
    struct in_addr ia;
    return *port <= 65535 && inet_pton(AF_INET, addr, &ia) == 1 ? 0 : -1;
}

static int is_live(const char *path)
{
    for (size_t i = 0; i < sizeof live_keys / sizeof live_keys[0]; i++)
        if (strcmp(live_keys[i], path) == 0)
            return 1;
    return 0;
}

static int same_value(const struct key *k, const struct config *a, const struct config *b)
{
    const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
    switch (k->type) {
    case K_SECTION:
        return 1;
    case K_STR:
        return strcmp(*(char *const *)pa, *(char *const *)pb) == 0;
    case K_LONG:
        return *(const long *)pa == *(const long *)pb;
    case K_STATUSES:
        return a->alert_statuses == b->alert_statuses;
    case K_SEVERITIES:
        if (a->noverrides != b->noverrides)
            return 0;
        for (size_t i = 0; i < a->noverrides; i++)
            if (strcmp(a->override_rules[i], b->override_rules[i]) ||
                a->override_severities[i] != b->override_severities[i])
                return 0;
        return 1;
    default:                    /* K_INT and the other int-valued types */
        return *(const int *)pa == *(const int *)pb;
    }
}

size_t config_diff(const struct config *a, const struct config *b, int live, char *out,
                   size_t outlen)
{
    size_t n = 0, used = 0;
    if (outlen)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (is_live(keys[i].path) != !!live || same_value(&keys[i], a, b))
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
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        if (!is_live(k->path))
            continue;
        char *to = (char *)c + k->off;
        const char *from = (const char *)next + k->off;
        switch (k->type) {
        case K_STR:
            free(*(char **)to);
            *(char **)to = xstrdup(*(char *const *)from);
            break;
        case K_LONG:
            *(long *)to = *(const long *)from;
            break;
        case K_STATUSES:
            c->alert_statuses = next->alert_statuses;
            break;
        case K_INT:
            *(int *)to = *(const int *)from;
            break;
        default:                /* not reloadable (see live_keys) */
            break;
        }
    }
}
