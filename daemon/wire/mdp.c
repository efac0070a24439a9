/* mdp: multipart message helpers and the 7/MDP frame grammar. A struct mdp_msg
 * owns an array of zmq_msg_t; every frame is closed exactly once, in
 * mdp_msg_destroy. Parsing never copies: it validates the header frames and
 * returns indexes, so the broker can forward bodies without touching them. */
#include "wire/mdp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct mdp_msg *mdp_msg_new(void)
{
    return xcalloc(1, sizeof(struct mdp_msg));
}

void mdp_msg_destroy(struct mdp_msg **mp)
{
    if (!mp || !*mp)
        return;
    struct mdp_msg *m = *mp;
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->frames[i]);
    free(m->frames);
    free(m);
    *mp = NULL;
}

static zmq_msg_t *slot(struct mdp_msg *m)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->frames = xrealloc(m->frames, m->cap * sizeof(zmq_msg_t));
    }
    return &m->frames[m->n++];
}

void mdp_msg_add(struct mdp_msg *m, const void *data, size_t size)
{
    zmq_msg_t *f = slot(m);
    if (zmq_msg_init_size(f, size) != 0)
        abort();                /* only fails on out of memory */
    if (size)
        memcpy(zmq_msg_data(f), data, size);
}

void mdp_msg_addstr(struct mdp_msg *m, const char *s)
{
    mdp_msg_add(m, s, strlen(s));
}

void mdp_msg_addframe(struct mdp_msg *m, const struct mdp_msg *src, size_t i)
{
    zmq_msg_t *f = slot(m);
    zmq_msg_init(f);
    zmq_msg_copy(f, (zmq_msg_t *)&src->frames[i]);
}

const void *mdp_msg_data(const struct mdp_msg *m, size_t i)
{
    return zmq_msg_data((zmq_msg_t *)&m->frames[i]);
}

size_t mdp_msg_size(const struct mdp_msg *m, size_t i)
{
    return zmq_msg_size((zmq_msg_t *)&m->frames[i]);
}

int mdp_msg_is(const struct mdp_msg *m, size_t i, const char *s)
{
    size_t len = strlen(s);
    return i < m->n && mdp_msg_size(m, i) == len && memcmp(mdp_msg_data(m, i), s, len) == 0;
}

char *mdp_msg_strdup(const struct mdp_msg *m, size_t i)
{
    return xstrndup(mdp_msg_data(m, i), mdp_msg_size(m, i));
}

struct mdp_msg *mdp_msg_recv(void *sock, int flags, size_t max_frames)
{
    struct mdp_msg *m = mdp_msg_new();
    int more = 1, toobig = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        /* after the first frame the rest is already queued: never block on it */
        if (zmq_msg_recv(&part, sock, m->n || toobig ? 0 : flags) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            mdp_msg_destroy(&m);
            errno = e;
            return NULL;
        }
        more = zmq_msg_more(&part);
        if (m->n >= max_frames) {
            toobig = 1;
            zmq_msg_close(&part);
            continue;
        }
        zmq_msg_t *f = slot(m);
        zmq_msg_init(f);
        zmq_msg_move(f, &part);
        zmq_msg_close(&part);
    }
    if (toobig) {
        mdp_msg_destroy(&m);
        errno = E2BIG;
        return NULL;
    }
    return m;
}

int mdp_msg_send(const struct mdp_msg *m, void *sock, int flags)
{
    for (size_t i = 0; i < m->n; i++) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        zmq_msg_copy(&f, (zmq_msg_t *)&m->frames[i]);
        int more = i + 1 < m->n ? ZMQ_SNDMORE : 0;
        if (zmq_msg_send(&f, sock, flags | more) < 0) {
            int e = errno;
            zmq_msg_close(&f);
            errno = e;
            return -1;
        }
    }
    return 0;
}

static int parse_worker(const struct mdp_msg *m, size_t i, struct mdp_parsed *p, char *err,
                        size_t errlen)
{
    p->worker = 1;
    if (i >= m->n || mdp_msg_size(m, i) != 1)
        return errf(err, errlen, "frame %zu: expected a one-byte MDPW01 command", i);
    p->command = *(const unsigned char *)mdp_msg_data(m, i);
    i++;
    switch (p->command) {
    case MDP_READY:
        if (m->n != i + 1 || mdp_msg_size(m, i) == 0)
            return errf(err, errlen, "READY: expected exactly one service frame");
        p->service = i;
        p->body = m->n;
        return 0;
    case MDP_REQUEST:
    case MDP_REPLY:
        if (m->n < i + 3)
            return errf(err, errlen, "frame %zu: REQUEST/REPLY needs address, \"\", body", i);
        if (mdp_msg_size(m, i + 1) != 0)
            return errf(err, errlen, "frame %zu: expected the empty envelope delimiter", i + 1);
        p->address = i;
        p->body = i + 2;
        return 0;
    case MDP_HEARTBEAT:
    case MDP_DISCONNECT:
        if (m->n != i)
            return errf(err, errlen, "frame %zu: HEARTBEAT/DISCONNECT takes no frames", i);
        p->body = m->n;
        return 0;
    default:
        return errf(err, errlen, "frame %zu: unknown MDPW01 command 0x%02x", i - 1,
                    (unsigned)p->command);
    }
}

int mdp_parse(const struct mdp_msg *m, size_t first, struct mdp_parsed *p, char *err,
              size_t errlen)
{
    memset(p, 0, sizeof *p);
    size_t i = first;
    if (i >= m->n || mdp_msg_size(m, i) != 0)
        return errf(err, errlen, "frame %zu: expected the empty frame", i);
    i++;
    if (mdp_msg_is(m, i, MDP_WORKER))
        return parse_worker(m, i + 1, p, err, errlen);
    if (!mdp_msg_is(m, i, MDP_CLIENT))
        return errf(err, errlen, "frame %zu: unknown protocol header (want MDPC01 or MDPW01)", i);
    i++;
    if (i >= m->n || mdp_msg_size(m, i) == 0)
        return errf(err, errlen, "frame %zu: missing service name", i);
    p->service = i;
    p->body = i + 1;
    return 0;
}

void mdp_socket_limits(void *s, int linger_ms, int hwm, int64_t max_message)
{
    int ivl = 1000, tmo = 5000;         /* ms */
    zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message);
    /* a dead TCP peer is noticed by libzmq too, not only by MDP's silence */
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo);
}

static struct mdp_msg *head(const void *identity, size_t idlen)
{
    struct mdp_msg *m = mdp_msg_new();
    if (identity)
        mdp_msg_add(m, identity, idlen);
    mdp_msg_add(m, "", 0);
    return m;
}

struct mdp_msg *mdp_worker_cmd(const void *identity, size_t idlen, int cmd)
{
    struct mdp_msg *m = head(identity, idlen);
    unsigned char c = (unsigned char)cmd;
    mdp_msg_addstr(m, MDP_WORKER);
    mdp_msg_add(m, &c, 1);
    return m;
}

struct mdp_msg *mdp_client_cmd(const void *identity, size_t idlen, const char *service)
{
    struct mdp_msg *m = head(identity, idlen);
    mdp_msg_addstr(m, MDP_CLIENT);
    mdp_msg_addstr(m, service);
    return m;
}

struct mdp_msg *mdp_client_answer(const struct mdp_msg *req, const struct mdp_parsed *p,
                                  const char *status)
{
    struct mdp_msg *m = mdp_msg_new();
    mdp_msg_addframe(m, req, 0);
    mdp_msg_add(m, "", 0);
    mdp_msg_addstr(m, MDP_CLIENT);
    mdp_msg_addframe(m, req, p->service);
    mdp_msg_addstr(m, status);
    return m;
}

static int marked(const void *data, size_t len)
{
    return len >= MDP_FRAMES_MARKER_LEN && memcmp(data, MDP_FRAMES_MARKER,
                                                  MDP_FRAMES_MARKER_LEN) == 0;
}

void *mdp_frames_pack(const struct mdp_msg *m, size_t first, size_t *len)
{
    if (first + 1 == m->n && !marked(mdp_msg_data(m, first), mdp_msg_size(m, first))) {
        *len = mdp_msg_size(m, first);
        void *out = xmalloc(*len ? *len : 1);
        memcpy(out, mdp_msg_data(m, first), *len);
        return out;
    }
    struct buf b = {0};
    buf_append(&b, MDP_FRAMES_MARKER, MDP_FRAMES_MARKER_LEN);
    for (size_t i = first; i < m->n; i++) {
        size_t n = mdp_msg_size(m, i);
        unsigned char be[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                               (unsigned char)(n >> 8), (unsigned char)n};
        buf_append(&b, be, 4);
        buf_append(&b, mdp_msg_data(m, i), n);
    }
    *len = b.len;
    return b.data;
}

int mdp_frames_unpack(struct mdp_msg *m, const void *data, size_t len)
{
    if (!marked(data, len)) {
        mdp_msg_add(m, data, len);
        return 1;
    }
    const unsigned char *p = data, *end = p + len;
    p += MDP_FRAMES_MARKER_LEN;
    /* check the whole string first: append nothing from a truncated one */
    int n = 0;
    for (const unsigned char *q = p; q < end; n++) {
        if (end - q < 4)
            return -1;
        size_t k = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 | q[3];
        if ((size_t)(end - q - 4) < k)
            return -1;
        q += 4 + k;
    }
    while (p < end) {
        size_t k = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        mdp_msg_add(m, p + 4, k);
        p += 4 + k;
    }
    return n;
}
