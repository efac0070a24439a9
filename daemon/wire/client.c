/* client: a DEALER speaking MDPC01. A DEALER (not REQ) so that several
 * requests can be in flight and a timed-out socket can simply be replaced:
 * after a timeout the socket is closed with linger 0, so a late reply to the
 * old request can never be mistaken for the answer to a new one. */
#include "wire/client.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wire/keys.h"
#include "wire/mdp.h"
#include "base/util.h"

#define CLIENT_MAX_MESSAGE (256LL << 20)     /* bytes */

struct client {
    void *ctx;
    char *endpoint;
    void *sock;
    struct curve_keys keys;     /* off unless client_use_curve */
};

static void *open_socket(struct client *c)
{
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    int linger = 0, hwm = 100000, ivl = 100, ivlmax = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof ivlmax);
    /* replies come from outside too: bounded (a replay answer is the largest) */
    int64_t maxmsg = CLIENT_MAX_MESSAGE;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    keys_apply_client(s, &c->keys);
    zmq_connect(s, c->endpoint);
    return s;
}

struct client *client_new(void *ctx, const char *endpoint)
{
    struct client *c = xcalloc(1, sizeof *c);
    c->ctx = ctx;
    c->endpoint = xstrdup(endpoint);
    c->sock = open_socket(c);
    return c;
}

void client_destroy(struct client **cp)
{
    if (!cp || !*cp)
        return;
    zmq_close((*cp)->sock);
    free((*cp)->endpoint);
    free(*cp);
    *cp = NULL;
}

void client_use_curve(struct client *c, const struct curve_keys *k)
{
    if (!k || !k->on)
        return;
    c->keys = *k;
    client_reconnect(c);
}

void client_reconnect(struct client *c)
{
    zmq_close(c->sock);
    c->sock = open_socket(c);
}

int client_send(struct client *c, const char *service, const struct mdp_msg *body)
{
    struct mdp_msg *m = mdp_client_cmd(NULL, 0, service);
    for (size_t i = 0; body && i < body->n; i++)
        mdp_msg_addframe(m, body, i);
    int rc = mdp_msg_send(m, c->sock, 0);
    mdp_msg_destroy(&m);
    return rc;
}

struct mdp_msg *client_recv(struct client *c, int timeout_ms)
{
    for (;;) {
        zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, timeout_ms);
        if (rc < 0)
            return NULL;
        if (rc == 0) {
            errno = EAGAIN;
            return NULL;
        }
        struct mdp_msg *m = mdp_msg_recv(c->sock, 0, 100000);
        if (!m)
            return NULL;
        struct mdp_parsed p;
        if (mdp_parse(m, 0, &p, NULL, 0) == 0 && !p.worker) {
            struct mdp_msg *out = mdp_msg_new();
            for (size_t i = p.service; i < m->n; i++)
                mdp_msg_addframe(out, m, i);
            mdp_msg_destroy(&m);
            return out;
        }
        mdp_msg_destroy(&m);
    }
}

struct mdp_msg *client_call(struct client *c, const char *service, const struct mdp_msg *body,
                            int timeout_ms, int tries, char *err, size_t errlen)
{
    for (int t = 0; t < tries; t++) {
        if (t > 0)
            client_reconnect(c);
        if (client_send(c, service, body) != 0)
            continue;
        struct mdp_msg *r = client_recv(c, timeout_ms);
        if (!r)
            continue;
        struct mdp_msg *out = mdp_msg_new();
        for (size_t i = 1; i < r->n; i++)
            mdp_msg_addframe(out, r, i);
        mdp_msg_destroy(&r);
        return out;
    }
    errf(err, errlen, "%s: no answer from %s after %d tries of %d ms", service, c->endpoint,
         tries, timeout_ms);
    return NULL;
}
