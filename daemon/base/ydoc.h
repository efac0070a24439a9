/* ydoc: a thin layer over libyaml's document API for the loaders (layouts,
 * config, the YAML report form): load with limits, walk mappings and
 * sequences, and report errors as "file:line:column: message". */
#ifndef REPORTD_YDOC_H
#define REPORTD_YDOC_H

#include <stddef.h>
#include <yaml.h>

struct ydoc {
    yaml_document_t doc;
    const char *file;            /* borrowed, for messages */
    int loaded;
};

/* Parse one YAML document from memory. Refuses aliases (no alias bombs: none of
 * our files need them) and more than max_nodes nodes. Returns 0, or -1 with
 * "file:line:column: reason" in err. */
int ydoc_load(struct ydoc *y, const char *file, const char *text, size_t len, size_t max_nodes,
              char *err, size_t errlen);
void ydoc_free(struct ydoc *y);

yaml_node_t *ydoc_root(struct ydoc *y);
/* The value node of key in a mapping, or NULL. */
yaml_node_t *ydoc_get(struct ydoc *y, yaml_node_t *map, const char *key);
/* A scalar's text (NUL-terminated by libyaml), or NULL when n is not a scalar. */
const char *ydoc_str(yaml_node_t *n);
/* Format "file:line:column: message" for node n into err; returns -1. */
int ydoc_err(struct ydoc *y, yaml_node_t *n, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Check that every key of map is in the NULL-terminated list allowed. */
int ydoc_check_keys(struct ydoc *y, yaml_node_t *map, const char *const *allowed, char *err,
                    size_t errlen);
/* Parse a scalar as an integer in [min, max]. */
int ydoc_int(struct ydoc *y, yaml_node_t *n, long long min, long long max, long long *out,
             char *err, size_t errlen);
/* Parse a scalar as a boolean (true/false/yes/no). */
int ydoc_bool(struct ydoc *y, yaml_node_t *n, int *out, char *err, size_t errlen);

#endif
