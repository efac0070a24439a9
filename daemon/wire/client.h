/* client: the 7/MDP client side (MDPC01 over a DEALER) used by reportctl and
 * the benchmark — synchronous calls with Lazy Pirate retries, and pipelined
 * send/receive for bulk submission. */
#ifndef REPORTD_CLIENT_H
#define REPORTD_CLIENT_H

#include <stddef.h>

struct mdp_msg;
struct client;

/* A client for the broker at endpoint, or for several brokers: endpoints
 * separated by commas, tried in turn (the socket talks to one at a time;
 * client_reconnect moves to the next). No I/O yet. */
struct client *client_new(void *ctx, const char *endpoint);
void client_destroy(struct client **cp);

/* Send REQUEST service + body frames (body may be NULL: no frames). Returns 0 or -1. */
int client_send(struct client *c, const char *service, const struct mdp_msg *body);
/* Wait up to timeout_ms for a REPLY. Returns [service, body…] (caller owns it),
 * or NULL on timeout (errno EAGAIN) or error. Malformed replies are skipped. */
struct mdp_msg *client_recv(struct client *c, int timeout_ms);
/* Connect with CURVE from now on (a new socket): k is copied; nothing when
 * k is NULL or off. */
struct curve_keys;
void client_use_curve(struct client *c, const struct curve_keys *k);
/* Lazy Pirate: drop the socket (and whatever it still holds), open a new one
 * to the next endpoint in the list (the same one when there is one). */
void client_reconnect(struct client *c);
/* The endpoint the socket is connected to now. */
const char *client_endpoint(const struct client *c);

/* One request, one reply: up to `tries` attempts of timeout_ms each, a fresh
 * socket (to the next endpoint) before each retry. Returns the reply body frames (no service frame),
 * or NULL with err. */
struct mdp_msg *client_call(struct client *c, const char *service, const struct mdp_msg *body,
                            int timeout_ms, int tries, char *err, size_t errlen);

#endif
