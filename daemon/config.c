/* config: defaults, then a libyaml document walk over one key table, then
 * bounds. Every error carries file:line:column (libyaml marks are 0-based).
 * Keys are dotted paths ("spool.batch_ms"); a mapping value descends only
 * where the table has a section of that name. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "util.h"

enum ktype { K_SECTION, K_STR, K_INT, K_LONG, K_STATUSES, K_SEVERITIES };

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
    {"limits", K_SECTION, 0, 0, 0},
    {"limits.max_message", K_LONG, F(max_message), 1024, 1L << 30},
    {"limits.hwm", K_INT, F(hwm), 10, 10000000},
};
#undef F

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
}

void config_free(struct config *c)
{
    free(c->broker_bind);
    free(c->publish_bind);
    free(c->worker_connect);
    free(c->service);
    free(c->spool_path);
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
        if (!rule || strncmp(rule, "R-", 2) != 0)
            return at(err, errlen, file, kn, "rules.severity: %s is not a rule id (R-…)",
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
