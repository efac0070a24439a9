/* roster: the broker's peers — workers and per-service queues, and the
 * answers to clients (see roster.c). Part of the broker: the structures are
 * in broker_private.h; one thread uses them. */
#ifndef REPORTD_ROSTER_H
#define REPORTD_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/broker_private.h"

struct mdp_parsed;

/* The service called name[0..len), created when create is set; else NULL. */
enum { ROSTER_FIND = 0, ROSTER_CREATE = 1, ROSTER_FORCE = 2 };
struct service *roster_service(struct broker *b, const char *name, size_t len, int create);
void roster_services_free(struct broker *b);
/* Put j at the tail (or, front: the head) of s's queue. Takes j. */
void roster_enqueue(struct broker *b, struct service *s, struct job *j, int front);
/* Hand queued jobs of s to its idle workers (suspect jobs one at a time, with
 * nothing else out; nothing during a hold or once the spool is lost). */
void roster_dispatch(struct broker *b, struct service *s);
void roster_dispatch_all(struct broker *b);
void roster_job_free(struct job *j);
/* Free j, which the broker counted (resident Titanic jobs, suspects). */
void roster_job_drop(struct broker *b, struct job *j);
/* The end of j (outcome JOB_RESULT, JOB_BURIED, or 0: not written) is in the
 * open batch: keep j in b->unrecorded until the commit settles it (a failed
 * one hands it out again). */
void roster_unrecorded(struct broker *b, struct job *j, int outcome);
/* A worker's ROUTER identity in hex, for logs (out holds 33 bytes). */
void roster_worker_hex(const struct worker *w, char out[33]);

/* The worker with this ROUTER identity, or NULL. */
struct worker *roster_find(struct broker *b, const void *id, size_t len);
/* Send a bare MDPW01 command (HEARTBEAT, DISCONNECT) to w. */
void roster_send(struct broker *b, struct worker *w, int cmd);
/* READY from identity frame 0 of m; w is the worker if already known (a
 * second READY: it is disconnected). The caller refuses internal names. */
void roster_ready(struct broker *b, struct worker *w, const struct mdp_msg *m,
                  const struct mdp_parsed *p);
/* w is idle again: add it to the end of s's idle list (the caller dispatches). */
void roster_idle(struct service *s, struct worker *w);
/* Forget w (sending DISCONNECT first when disconnect is set); the job it held
 * goes back to its queue or, after max_attempts, to the dead letters. */
void roster_delete(struct broker *b, struct worker *w, int disconnect, const char *why);
/* Heartbeat time: expire silent workers, heartbeat the rest, expire plain
 * requests that waited too long for a worker. */
void roster_tick(struct broker *b, int64_t now);

/* Send *mp to the client it is addressed to (frame 0), then destroy it; a
 * client gone meanwhile is logged. */
/* Send m on the ROUTER (or to the seam, broker_set_send). 0, or -1 with errno. */
int roster_out(struct broker *b, const struct mdp_msg *m);
void roster_answer(struct broker *b, struct mdp_msg **mp);
/* Answer client request req (parsed as p) with a bare status frame. */
void roster_answer_status(struct broker *b, const struct mdp_msg *req,
                          const struct mdp_parsed *p, const char *status);

#endif
