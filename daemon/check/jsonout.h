/* jsonout: a Result as one JSON object (jansson), the line format of
 * `reportctl check --json` and `reportctl watch --json`. */
#ifndef REPORTD_JSONOUT_H
#define REPORTD_JSONOUT_H

#include "report.pb-c.h"

/* The JSON text of res (one line, no newline), heap-allocated. file may be NULL. */
char *jsonout_result(const Reportd__Result *res, const char *file);
/* The same for an Alert. */
char *jsonout_alert(const Reportd__Alert *a);

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
