/* pgq: the test programs that check a PostgreSQL spool from outside
 * (test_store, test_lead) ask the database with psql, as an operator would.
 * Header-only: each test program is one translation unit. */
#ifndef REPORTD_PGQ_H
#define REPORTD_PGQ_H

#include <stdio.h>

/* The first column of the first row psql prints for q in database db, or -1. */
static inline long pgq_long(const char *db, const char *q)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "psql -XAtq -d %s -c \"%s\"", db, q);
    FILE *p = popen(cmd, "r");
    long v = -1;
    if (p && fscanf(p, "%ld", &v) != 1)
        v = -1;
    if (p)
        pclose(p);
    return v;
}

#endif
