/* jsonout: the one JSON encoder (jansson) for Result, Finding, Alert and dead
 * letters — `reportctl check --json`, `reportctl watch --json`, the broker's
 * `deadletter` event and its reportd.deadletter answers. The schema is the
 * README's ("JSON"); JSONOUT_SCHEMA_VERSION rises when a field is renamed or
 * removed. Names of enum values come from report.proto's descriptors. */
#ifndef REPORTD_JSONOUT_H
#define REPORTD_JSONOUT_H

#include <jansson.h>
#include <stddef.h>

#include "report.pb-c.h"

#define JSONOUT_SCHEMA_VERSION 1

/* A dead letter as the spool holds it, for jsonout_dead. */
struct jsonout_dead {
    const char *uuid;           /* the Titanic UUID, 32 hex digits */
    const char *submission_id;
    const char *reason;         /* why it was given up */
    int attempts;               /* worker deaths so far */
    long long updated_at;       /* Unix s of the last change; 0: not written */
    const char *service;        /* NULL: service and bytes not written */
    size_t bytes;               /* the stored request's size */
};

/* The JSON objects (new references; the caller decrefs or hands them on).
 * file may be NULL (then no "file"). */
json_t *jsonout_result_json(const Reportd__Result *res, const char *file);
json_t *jsonout_alert_json(const Reportd__Alert *a);
json_t *jsonout_dead_json(const struct jsonout_dead *d);

/* The same as one line of text (no newline), heap-allocated (free). */
char *jsonout_result(const Reportd__Result *res, const char *file);
char *jsonout_alert(const Reportd__Alert *a);
char *jsonout_dead(const struct jsonout_dead *d);
/* Any object as one line of text; takes the reference o. */
char *jsonout_text(json_t *o);

/* The name reportd writes for value v of an enum of report.proto, from its
 * descriptor: the proto name without its prefix (STATUS_FAIL → "FAIL",
 * SEV_WARNING → "warning"), upper-case for Status, lower-case for the others.
 * NULL when v is not a value of d. Static storage; thread-safe. */
const char *jsonout_enum_name(const ProtobufCEnumDescriptor *d, int v);
/* The same for the three enums JSON carries; "UNKNOWN"/"unknown" for a value
 * the schema does not have. */
const char *jsonout_status(Reportd__Status s);
const char *jsonout_severity(Reportd__Severity s);
const char *jsonout_rating(Reportd__Rating r);

#endif
