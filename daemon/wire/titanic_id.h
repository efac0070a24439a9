/* titanic_id: the UUID of a 9/TSP (Titanic) job, as the broker derives it and
 * reportctl predicts it: the same submission sent twice is one job. Also the
 * check of a UUID frame in titanic.reply / titanic.close / deadletter. */
#ifndef REPORTD_TITANIC_ID_H
#define REPORTD_TITANIC_ID_H

#include <stddef.h>

#define TITANIC_ID_LEN 32       /* hex digits, lower case */

/* The job UUID for a submission id: its 32 hex digits (lower case) when it is
 * a UUID (8-4-4-4-12), else the first 32 hex digits of SHA-256("sid:" id). */
void titanic_id_for(const char *submission_id, char out[TITANIC_ID_LEN + 1]);
/* The same for a body without a usable submission id: SHA-256 of "raw:",
 * service (with its NUL) and the bytes. */
void titanic_id_for_bytes(const char *service, const void *body, size_t len,
                          char out[TITANIC_ID_LEN + 1]);
/* A frame that should hold a UUID: exactly 32 hex digits (either case).
 * Returns 0 with the lower-case form in out, or -1. */
int titanic_id_parse(const void *data, size_t len, char out[TITANIC_ID_LEN + 1]);

#endif
