/* client: a DEALER speaking MDPC01. A DEALER (not REQ) so that several
 * requests can be in flight and a timed-out socket can simply be replaced:
 * after a timeout the socket is closed with linger 0, so a late reply to the
 * old request can never be mistaken for the answer to a new one. With several
 * brokers the new socket connects to the next one in the list (round robin):
 * Lazy Pirate across endpoints. */
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
    char *endpoints;            /* as given: one endpoint, or several separated by commas */
    char **ep;                  /* the list */
    size_t nep, cur;            /* the socket is connected to ep[cur] */
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
    zmq_connect(s, c->ep[c->cur]);
    return s;
}

struct client *client_new(void *ctx, const char *endpoint)
{
    struct client *c = xcalloc(1, sizeof *c);
    c->ctx = ctx;
    c->endpoints = xstrdup(endpoint);
    char *copy = xstrdup(endpoint), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        t += strspn(t, " \t");
        size_t n = strcspn(t, " \t");
        if (n == 0)
            continue;
        c->ep = xrealloc(c->ep, (c->nep + 1) * sizeof *c->ep);
        c->ep[c->nep++] = xstrndup(t, n);
    }
    free(copy);
    if (c->nep == 0) {                       /* nothing usable: zmq_connect says why later */
        c->ep = xcalloc(1, sizeof *c->ep);
        c->ep[c->nep++] = xstrdup(endpoint);
    }
    c->sock = open_socket(c);
    return c;
}

void client_destroy(struct client **cp)
{
    if (!cp || !*cp)
        return;
    zmq_close((*cp)->sock);
    for (size_t i = 0; i < (*cp)->nep; i++)
        free((*cp)->ep[i]);
    free((*cp)->ep);
    free((*cp)->endpoints);
    free(*cp);
    *cp = NULL;
}

void client_use_curve(struct client *c, const struct curve_keys *k)
{
    if (!k || !k->on)
        return;
    c->keys = *k;
    zmq_close(c->sock);
    c->sock = open_socket(c);
}

void client_reconnect(struct client *c)
{
    zmq_close(c->sock);
    c->cur = (c->cur + 1) % c->nep;          /* fail over: the next broker, round robin */
    c->sock = open_socket(c);
}

const char *client_endpoint(const struct client *c)
{
    return c->ep[c->cur];
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
    errf(err, errlen, "%s: no answer from %s after %d tries of %d ms", service, c->endpoints,
         tries, timeout_ms);
    return NULL;
}
