/* publisher: XPUB with frames `topic, sequence (decimal ASCII), body`. Each
 * message is first written to the spool's published log inside the current
 * batch; the queue here holds what that batch will release on commit. XPUB
 * drops at the high-water mark on purpose: the sequence numbers make the loss
 * visible and reportd.replay fills it from the log. */
#include "broker/publisher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "check/jsonout.h"
#include "wire/envelope.h"
#include "wire/keys.h"
#include "wire/mdp.h"
#include "broker/spool.h"
#include "base/util.h"

#define PUBLISHER_MAX_INPUT 4096    /* bytes: one (un)subscription from a SUB */

struct publisher {
    void *sock;                 /* XPUB */
    struct spool *sp;           /* borrowed */
    unsigned alert_statuses;
    struct mdp_msg **queue;     /* waiting for the batch's commit */
    size_t nqueue, capqueue;
    uint64_t sent;
};

struct publisher *publisher_new(void *ctx, const char *endpoint, const struct curve_keys *curve,
                                struct spool *sp, unsigned alert_statuses, int hwm, char *err,
                                size_t errlen)
{
    struct publisher *p = xcalloc(1, sizeof *p);
    p->sp = sp;
    p->alert_statuses = alert_statuses;
    p->sock = zmq_socket(ctx, ZMQ_XPUB);
    int linger = 1000, verbose = 1;
    zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
    /* see every subscription, so late SUBs are logged and counted */
    zmq_setsockopt(p->sock, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose);
    /* what comes in is subscriptions: a topic prefix is short */
    int64_t maxmsg = PUBLISHER_MAX_INPUT;
    zmq_setsockopt(p->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    keys_apply_server(p->sock, curve);
    if (zmq_bind(p->sock, endpoint) != 0) {
        errf(err, errlen, "publish: bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        publisher_destroy(&p);
        return NULL;
    }
    return p;
}

void publisher_destroy(struct publisher **pp)
{
    if (!pp || !*pp)
        return;
    struct publisher *p = *pp;
    publisher_discard(p);
    free(p->queue);
    if (p->sock)
        zmq_close(p->sock);
    free(p);
    *pp = NULL;
}

void *publisher_socket(const struct publisher *p)
{
    return p->sock;
}

void publisher_drain(struct publisher *p)
{
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, p->sock, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
        if (rc < 0)
            break;
    }
}

void publisher_region_topic(const char *code, char *out, size_t outlen)
{
    int ok = code && strlen(code) == 6;
    for (int i = 0; ok && i < 6; i++)
        ok = code[i] >= '0' && code[i] <= '9';
    if (!ok) {
        snprintf(out, outlen, "unknown");
        return;
    }
    snprintf(out, outlen, "%.2s.%.4s.%s", code, code, code);
}

/* Log and queue one message; returns its sequence number, or 0. */
static uint64_t queue(struct publisher *p, const char *topic, const void *body, size_t len,
                      char *err, size_t errlen)
{
    uint64_t seq = spool_log(p->sp, topic, body, len, err, errlen);
    if (seq == 0)
        return 0;
    char seqs[24];
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
    struct mdp_msg *m = mdp_msg_new();
    mdp_msg_addstr(m, topic);
    mdp_msg_addstr(m, seqs);
    mdp_msg_add(m, body, len);
    if (p->nqueue == p->capqueue) {
        p->capqueue = p->capqueue ? 2 * p->capqueue : 64;
        p->queue = xrealloc(p->queue, p->capqueue * sizeof *p->queue);
    }
    p->queue[p->nqueue++] = m;
    return seq;
}

uint64_t publisher_result(struct publisher *p, const struct envelope_result *r,
                          const void *result, size_t len, char *err, size_t errlen)
{
    char region[24], topic[64];
    char *code = envelope_strdup(envelope_result_region(r));
    publisher_region_topic(code, region, sizeof region);
    free(code);
    int status = (int)r->status;
    snprintf(topic, sizeof topic, "result.%s", region);
    uint64_t seq = queue(p, topic, result, len, err, errlen);
    if (seq && status >= 0 && status < 32 && (p->alert_statuses & (1u << status))) {
        size_t n;
        uint8_t *alert = envelope_alert(result, len, r, &n);
        snprintf(topic, sizeof topic, "alert.%s", region);
        if (!queue(p, topic, alert, n, err, errlen))
            seq = 0;
        free(alert);
    }
    return seq;
}

int publisher_deadletter(struct publisher *p, const char *uuid, const char *submission_id,
                         const char *reason, int attempts, char *err, size_t errlen)
{
    struct jsonout_dead d = {.uuid = uuid, .submission_id = submission_id, .reason = reason,
                             .attempts = attempts};
    char *text = jsonout_dead(&d);
    uint64_t seq = queue(p, "deadletter", text, strlen(text), err, errlen);
    free(text);
    return seq ? 0 : -1;
}

void publisher_flush(struct publisher *p)
{
    for (size_t i = 0; i < p->nqueue; i++) {
        /* XPUB never blocks: at the HWM it drops, and the gap is what replay is for */
        if (mdp_msg_send(p->queue[i], p->sock, ZMQ_DONTWAIT) == 0)
            p->sent++;
        mdp_msg_destroy(&p->queue[i]);
    }
    p->nqueue = 0;
}

void publisher_discard(struct publisher *p)
{
    for (size_t i = 0; i < p->nqueue; i++)
        mdp_msg_destroy(&p->queue[i]);
    p->nqueue = 0;
}

void publisher_set_alerts(struct publisher *p, unsigned alert_statuses)
{
    p->alert_statuses = alert_statuses;
}

uint64_t publisher_sent(const struct publisher *p)
{
    return p->sent;
}
