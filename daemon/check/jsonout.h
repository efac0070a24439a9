/* jsonout: a Result as one JSON object (jansson), the line format of
 * `reportctl check --json` and `reportctl watch --json`. */
#ifndef REPORTD_JSONOUT_H
#define REPORTD_JSONOUT_H

#include "report.pb-c.h"

/* The JSON text of res (one line, no newline), heap-allocated. file may be NULL. */
char *jsonout_result(const Reportd__Result *res, const char *file);
/* The same for an Alert. */
char *jsonout_alert(const Reportd__Alert *a);

/* Names of enum values: "PASS", "error", "red". */
const char *jsonout_status(Reportd__Status s);
const char *jsonout_severity(Reportd__Severity s);
const char *jsonout_rating(Reportd__Rating r);

#endif
