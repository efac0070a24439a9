/* outage: the broker's side of a store whose database goes away and comes
 * back (issue 11, item 4; see outage.c). Part of the broker: broker.c
 * follows the store's link once a loop round, services.c refuses what needs
 * the store meanwhile. */
#ifndef REPORTD_OUTAGE_H
#define REPORTD_OUTAGE_H

#include "broker/broker_private.h"

struct mdp_msg;
struct mdp_parsed;

/* Follow the store's link (spool_link), never while a commit runs: log the
 * break and the return, and once back re-read the pending jobs
 * (titanic_resync). Also reads the store's size once a heartbeat. Returns
 * b->store_down. */
int outage_follow(struct broker *b);
/* While the store is down, answer a request to titanic.* or reportd.* (it
 * needs the store) with TITANIC_STORE_DOWN — titanic.reply with
 * TITANIC_STORE_DOWN_REPLY — and return 1; 0 otherwise (mmi.* is served). */
int outage_refuse(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);
/* The stats of the store's link (store_*) into st. */
void outage_stats(const struct broker *b, struct broker_stats *st);

#endif
