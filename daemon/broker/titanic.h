/* titanic: 9/TSP, the durable request-reply the broker answers itself on top
 * of the spool (see titanic.c). Part of the broker: callers are services.c
 * (the requests) and broker.c (the commit, the jobs pending at start). */
#ifndef REPORTD_TITANIC_H
#define REPORTD_TITANIC_H

#include <stddef.h>

#include "broker/broker_private.h"

struct mdp_msg;
struct mdp_parsed;

/* Answer a client's titanic.request, titanic.reply or titanic.close (the
 * request m has the client's identity at frame 0). */
void titanic_request(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);
void titanic_reply(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);
void titanic_close(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);


/* The answer to titanic.request once the spool is lost (spool_lost). */
#define TITANIC_SPOOL_LOST "500 spool lost: deleted under the running broker"

/* The batch committed: queue the new jobs (in memory while the window has
 * room, else they wait in the spool) and send the 200s that waited for it.
 * It failed: drop the jobs and send status ("500": 9/TSP retry later). */
void titanic_acks_flush(struct broker *b);
void titanic_acks_fail(struct broker *b, const char *status);
/* Read pending jobs from the spool, in order, while the window (spool.window)
 * has room. Call when nothing is uncommitted. 0, or -1 on a spool error. */
int titanic_refill(struct broker *b);
/* Drop the Titanic jobs queued or waiting for the commit (they stay pending in
 * the spool; those workers hold come back and are dropped then or stored):
 * before a resync, and when this broker stops leading. Returns how many. */
size_t titanic_forget(struct broker *b);
/* The store's database is back after an outage (outage.c): forget the
 * Titanic jobs memory holds but no worker does (queued, or with an end not
 * stored) and read the pending ones again, in order, as at start — the
 * database is the truth. Call with nothing uncommitted. 0, or -1. */
int titanic_resync(struct broker *b);

/* While the store's database is unreachable: titanic.request (and the
 * other services that need the store) and titanic.reply answer these. */
#define TITANIC_STORE_DOWN "500 store unavailable: the database is unreachable; retry later"
#define TITANIC_STORE_DOWN_REPLY \
    "300 store unavailable: the database is unreachable; ask again later"

#endif
