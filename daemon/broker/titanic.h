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

/* Queue a job already in the spool for a worker of service; submission_id
 * may be NULL (then read from the body when it is a Submission). */
void titanic_queue(struct broker *b, const char *uuid, const char *submission_id,
                   const char *service, const void *body, size_t len);

/* The batch committed: send the 200s that waited for it. It failed: send
 * 500s instead (9/TSP: retry later). */
void titanic_acks_flush(struct broker *b);
void titanic_acks_fail(struct broker *b);

#endif
