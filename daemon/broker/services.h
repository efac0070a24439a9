/* services: the names the broker serves itself — 8/MMI (mmi.*), 9/TSP
 * (titanic.*, in titanic.c), reportd.replay and reportd.deadletter (see
 * services.c). Part of the broker: broker.c routes client requests here. */
#ifndef REPORTD_SERVICES_H
#define REPORTD_SERVICES_H

#include <stddef.h>

#include "broker/broker_private.h"

struct mdp_msg;
struct mdp_parsed;

/* Nonzero for names the broker serves itself (mmi.*, titanic.*, reportd.*):
 * no worker may register them. */
int services_internal(const char *name, size_t len);
/* Answer a client REQUEST m (identity at frame 0) for an internal service. */
void services_handle(struct broker *b, const struct mdp_msg *m, const struct mdp_parsed *p);

#endif
