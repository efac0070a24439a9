/* ydoc: load a YAML document with libyaml under limits and walk it. Marks in
 * libyaml are 0-based; messages add 1 so editors jump to the right place. */
#include "ydoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int ydoc_err(struct ydoc *y, yaml_node_t *n, char *err, size_t errlen, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n)
        return errf(err, errlen, "%s:%zu:%zu: %s", y->file ? y->file : "<yaml>",
                    n->start_mark.line + 1, n->start_mark.column + 1, msg);
    return errf(err, errlen, "%s: %s", y->file ? y->file : "<yaml>", msg);
}

/* Aliases are refused at the event level, before libyaml builds shared nodes. */
static int scan_aliases(const char *file, const char *text, size_t len, size_t max_nodes,
                        char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_event_t ev;
    size_t nodes = 0;
    int rc = 0;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = errf(err, errlen, "%s:%zu:%zu: %s", file, p.problem_mark.line + 1,
                      p.problem_mark.column + 1, p.problem ? p.problem : "YAML syntax error");
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_ALIAS_EVENT) {
            rc = errf(err, errlen, "%s:%zu:%zu: YAML aliases are not accepted here", file,
                      ev.start_mark.line + 1, ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT)
            nodes++;
        if (nodes > max_nodes) {
            rc = errf(err, errlen, "%s:%zu:%zu: more than %zu YAML nodes", file,
                      ev.start_mark.line + 1, ev.start_mark.column + 1, max_nodes);
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    return rc;
}

int ydoc_load(struct ydoc *y, const char *file, const char *text, size_t len, size_t max_nodes,
              char *err, size_t errlen)
{
    memset(y, 0, sizeof *y);
    y->file = file;
    if (scan_aliases(file ? file : "<yaml>", text, len, max_nodes, err, errlen) < 0)
        return -1;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &y->doc)) {
        errf(err, errlen, "%s:%zu:%zu: %s", file ? file : "<yaml>", p.problem_mark.line + 1,
             p.problem_mark.column + 1, p.problem ? p.problem : "YAML syntax error");
        yaml_parser_delete(&p);
        return -1;
    }
    yaml_parser_delete(&p);
    y->loaded = 1;
    if (!yaml_document_get_root_node(&y->doc))
        return ydoc_err(y, NULL, err, errlen, "empty document");
    return 0;
}

void ydoc_free(struct ydoc *y)
{
    if (y->loaded)
        yaml_document_delete(&y->doc);
    y->loaded = 0;
}

yaml_node_t *ydoc_root(struct ydoc *y)
{
    return yaml_document_get_root_node(&y->doc);
}

yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(&y->doc, pr->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(&y->doc, pr->value);
    }
    return NULL;
}

const char *ydoc_str(yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)n->data.scalar.value;
}

int ydoc_check_keys(struct ydoc *y, yaml_node_t *map, const char *const *allowed, char *err,
                    size_t errlen)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return ydoc_err(y, map, err, errlen, "expected a mapping");
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(&y->doc, pr->key);
        const char *ks = ydoc_str(k);
        if (!ks)
            return ydoc_err(y, k, err, errlen, "a key must be a plain string");
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, ks) == 0)
                ok = 1;
        if (!ok)
            return ydoc_err(y, k, err, errlen, "unknown key '%s'", ks);
    }
    return 0;
}

int ydoc_int(struct ydoc *y, yaml_node_t *n, long long min, long long max, long long *out,
             char *err, size_t errlen)
{
    const char *s = ydoc_str(n);
    if (!s || !*s)
        return ydoc_err(y, n, err, errlen, "expected a whole number");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return ydoc_err(y, n, err, errlen, "'%s' is not a whole number", s);
    if (v < min || v > max)
        return ydoc_err(y, n, err, errlen, "%lld is out of range [%lld, %lld]", v, min, max);
    *out = v;
    return 0;
}

int ydoc_bool(struct ydoc *y, yaml_node_t *n, int *out, char *err, size_t errlen)
{
    const char *s = ydoc_str(n);
    if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) {
        *out = 1;
        return 0;
    }
    if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) {
        *out = 0;
        return 0;
    }
    return ydoc_err(y, n, err, errlen, "expected true or false");
}
