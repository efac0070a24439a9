/* ydoc: load a YAML document with libyaml under limits and walk it. Marks in
 * libyaml are 0-based; messages add 1 so editors jump to the right place. */
#include "base/ydoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

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

/* Aliases are refused: in a loaded document an alias is a second reference
 * to its anchored node, so counting references finds every one in one pass
 * over the nodes, without parsing twice. The node count is bounded too. */
static int check_nodes(struct ydoc *y, size_t max_nodes, char *err, size_t errlen)
{
    yaml_node_t *start = y->doc.nodes.start;
    size_t n = (size_t)(y->doc.nodes.top - start);
    if (n > max_nodes)
        return ydoc_err(y, NULL, err, errlen, "more than %zu YAML nodes", max_nodes);
    unsigned char *refs = xcalloc(n + 1, 1);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        yaml_node_t *node = &start[i];
        int *kids[2] = {NULL, NULL};
        size_t nk = 0;
        if (node->type == YAML_SCALAR_NODE &&
            memchr(node->data.scalar.value, '\0', node->data.scalar.length))
            rc = ydoc_err(y, node, err, errlen, "a NUL character inside a string (\\0) is not accepted");
        else if (node->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top && rc == 0; it++)
                if (*it >= 1 && (size_t)*it <= n && refs[*it]++)
                    rc = ydoc_err(y, &start[*it - 1], err, errlen, "YAML aliases are not accepted here");
        } else if (node->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top && rc == 0; pr++) {
                kids[0] = &pr->key, kids[1] = &pr->value, nk = 2;
                for (size_t k = 0; k < nk && rc == 0; k++)
                    if (*kids[k] >= 1 && (size_t)*kids[k] <= n && refs[*kids[k]]++)
                        rc = ydoc_err(y, &start[*kids[k] - 1], err, errlen, "YAML aliases are not accepted here");
            }
        }
    }
    free(refs);
    return rc;
}

int ydoc_load(struct ydoc *y, const char *file, const char *text, size_t len, size_t max_nodes,
              char *err, size_t errlen)
{
    memset(y, 0, sizeof *y);
    y->file = file;
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
    return check_nodes(y, max_nodes, err, errlen);
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
