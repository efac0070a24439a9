/* reportpb: converts between the dense report and the protobuf Report of
 * proto/report.proto (the binary form of a report, and Submission.report). */
#ifndef REPORTD_REPORTPB_H
#define REPORTD_REPORTPB_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"
#include "report.pb-c.h"

/* Build a protobuf Report from r. Every part is heap-allocated: free it with
 * protobuf_c_message_free_unpacked(&m->base, NULL). */
Reportd__Report *reportpb_from_report(const struct report *r);

/* Build a report from a protobuf Report. Cells are addressed by stable ids:
 * an unknown table, row or column, a cell given twice, an unknown layout or a
 * state without its value are errors naming the cell. Cells the message does
 * not give stay blank (R-CELL-MISSING reports them). Returns 0 or -1. */
int reportpb_to_report(const struct layouts *ls, const Reportd__Report *m, struct report **out,
                       char *err, size_t errlen);
/* reportpb_to_report of a message whose strings are known good (checked != 0:
 * it came through pbguard, which refused invalid UTF-8 and NUL), so they are
 * not checked a second time. */
int reportpb_to_report_checked(const struct layouts *ls, const Reportd__Report *m, int checked,
                               struct report **out, char *err, size_t errlen);

/* Unpack a binary Report (at most max bytes) and convert it. */
int reportpb_read(const struct layouts *ls, const uint8_t *data, size_t len, struct report **out,
                  char *err, size_t errlen);

/* Pack r as a binary Report into a heap buffer. */
uint8_t *reportpb_write(const struct report *r, size_t *len);

#endif
