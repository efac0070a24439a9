/* zap: RFC 27/ZAP handler — a REP socket on inproc://zeromq.zap.01 served by
 * one thread. libzmq asks it once per CURVE handshake (after the client has
 * proved it holds the secret key of the public key it presents), so a peer
 * that never completes the handshake never reaches it.
 * Invariants: the answer is 200 only for mechanism CURVE with a key from the
 * allow-list; the list is read again when the directory's mtime changes (a
 * key file added or removed), and a list that no longer reads keeps the last
 * good one; the thread never exits before zap_stop.
 * The thread also reads the socket monitors zap_watch sets up, so a peer
 * refused in the handshake (before ZAP) is logged too. */
#include "broker/zap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "base/log.h"
#include "base/util.h"
#include "wire/keys.h"

#define ZAP_FRAMES 16               /* frames of a request we read at most */

struct allow {
    uint8_t (*keys)[32];
    char **names;
    long n;
};

struct zap {
    void *ctx;
    void *sock;                     /* REP, owned by the thread once started */
    char *dir;
    struct allow list;
    struct timespec mtime;          /* of dir when list was read */
    pthread_t thread;
    int started;
    atomic_uint_fast64_t allowed, denied, handshake_failed;
    pthread_mutex_t lock;           /* guards watch_ep, watch_name, nwatch */
    char *watch_ep[ZAP_WATCH_MAX];  /* monitor endpoints to connect to */
    char *watch_name[ZAP_WATCH_MAX];
    int nwatch;
    void *mon[ZAP_WATCH_MAX];       /* PAIRs, the thread's own */
    int nmon;
    int kickfd;                     /* eventfd: stop (ZAP_STOP) or new watches */
};

#define ZAP_STOP 1000000            /* added to kickfd to stop the thread */

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void allow_free(struct allow *a)
{
    for (long i = 0; a->names && i < a->n; i++)
        free(a->names[i]);
    free(a->names);
    free(a->keys);
    memset(a, 0, sizeof *a);
}

static int is_pub(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

long zap_load_allow(const char *dir, uint8_t (**keys)[32], char ***names, char *err,
                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return errf(err, errlen, "security.allow_dir %s: %s", dir, strerror(errno));
    struct allow a = {0};
    long cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_pub(e->d_name))
            continue;
        char z85[KEYS_Z85_LEN + 1];
        char *path = xasprintf("%s/%s", dir, e->d_name);
        rc = keys_read(path, 0, z85, err, errlen);
        free(path);
        if (rc != 0)
            break;
        if (a.n == cap) {
            cap = cap ? cap * 2 : 16;
            a.keys = xrealloc(a.keys, (size_t)cap * sizeof *a.keys);
            a.names = xrealloc(a.names, (size_t)cap * sizeof *a.names);
        }
        zmq_z85_decode(a.keys[a.n], z85);
        a.names[a.n++] = xstrndup(e->d_name, strlen(e->d_name) - 4);
    }
    closedir(d);
    if (rc != 0) {
        allow_free(&a);
        return -1;
    }
    /* sort keys and names together: sort an index of (key, name) records */
    struct rec {
        uint8_t key[32];
        char *name;
    } *v = xcalloc((size_t)a.n + 1, sizeof *v);
    for (long i = 0; i < a.n; i++) {
        memcpy(v[i].key, a.keys[i], 32);
        v[i].name = a.names[i];
    }
    qsort(v, (size_t)a.n, sizeof *v, cmp_key);
    for (long i = 0; i < a.n; i++) {
        memcpy(a.keys[i], v[i].key, 32);
        a.names[i] = v[i].name;
    }
    free(v);
    *keys = a.keys;
    if (names) {
        *names = a.names;
    } else {
        for (long i = 0; i < a.n; i++)
            free(a.names[i]);
        free(a.names);
    }
    return a.n;
}

static int reload(struct zap *z, char *err, size_t errlen)
{
    struct stat st;
    if (stat(z->dir, &st) != 0)
        return errf(err, errlen, "security.allow_dir %s: %s", z->dir, strerror(errno));
    if (z->list.keys && st.st_mtim.tv_sec == z->mtime.tv_sec &&
        st.st_mtim.tv_nsec == z->mtime.tv_nsec)
        return 0;
    struct allow next = {0};
    next.n = zap_load_allow(z->dir, &next.keys, &next.names, err, errlen);
    if (next.n < 0)
        return -1;
    allow_free(&z->list);
    z->list = next;
    z->mtime = st.st_mtim;
    return 0;
}

/* The name of key in the list, or NULL. */
static const char *lookup(const struct zap *z, const uint8_t *key)
{
    long lo = 0, hi = z->list.n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        int c = memcmp(z->list.keys[mid], key, 32);
        if (c == 0)
            return z->list.names[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void send_frame(void *sock, const void *data, size_t len, int more)
{
    zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0);
}

/* RFC 27: version, request id, domain, address, identity, mechanism,
 * credentials… → version, request id, status code, status text, user id,
 * metadata. */
static void answer(struct zap *z, zmq_msg_t *f, int n)
{
    char err[300];
    const char *code = "400", *text = "not in the allow-list", *user = "";
    const char *addr = n > 3 ? zmq_msg_data(&f[3]) : "";
    int addrlen = n > 3 ? (int)zmq_msg_size(&f[3]) : 0;
    if (n < 6 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0) {
        code = "500";
        text = "malformed ZAP request";
    } else if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0 ||
               n != 7 || zmq_msg_size(&f[6]) != 32) {
        text = "CURVE is required";
        log_msg(LOG_PRI_WARNING, "zap: refused %.*s: mechanism %.*s, CURVE required", addrlen,
                addr, (int)zmq_msg_size(&f[5]), (const char *)zmq_msg_data(&f[5]));
    } else if (reload(z, err, sizeof err) != 0) {
        code = "500";
        text = "allow-list unreadable";
        log_msg(LOG_PRI_ERR, "zap: %s", err);
    } else if ((user = lookup(z, zmq_msg_data(&f[6]))) != NULL) {
        code = "200";
        text = "OK";
    } else {
        char z85[KEYS_Z85_LEN + 1];
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        user = "";
        log_msg(LOG_PRI_WARNING, "zap: refused %.*s: CURVE key %s is not in %s", addrlen, addr,
                z85, z->dir);
    }
    atomic_fetch_add(code[0] == '2' ? &z->allowed : &z->denied, 1);
    send_frame(z->sock, "1.0", 3, 1);
    send_frame(z->sock, n > 1 ? zmq_msg_data(&f[1]) : "", n > 1 ? zmq_msg_size(&f[1]) : 0, 1);
    send_frame(z->sock, code, 3, 1);
    send_frame(z->sock, text, strlen(text), 1);
    send_frame(z->sock, user, strlen(user), 1);
    send_frame(z->sock, "", 0, 0);
}

static void handle(struct zap *z)
{
    zmq_msg_t f[ZAP_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, z->sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES)
            f[n++] = part;
        else
            zmq_msg_close(&part);
    }
    answer(z, f, n);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static const char *protocol_error(uint32_t code)
{
    switch (code) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
        return "mechanism mismatch: the peer does not speak CURVE";
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
        return "cryptographic error: wrong server key, or a forged handshake";
    case ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE:
        return "key exchange failed";
    default:
        return code >= ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED &&
               code <= ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA
                   ? "malformed handshake command" : "not a ZMTP handshake";
    }
}

/* One monitor event: [event id u16, value u32] then the local endpoint. */
static void on_monitor(struct zap *z, void *mon, const char *name)
{
    uint8_t ev[6];
    char ep[256];
    int n = zmq_recv(mon, ev, sizeof ev, 0);
    int m = zmq_recv(mon, ep, sizeof ep - 1, 0);
    if (n != 6 || m < 0)
        return;
    ep[m < (int)sizeof ep - 1 ? m : (int)sizeof ep - 1] = '\0';
    uint16_t id;
    uint32_t value;
    memcpy(&id, ev, 2);
    memcpy(&value, ev + 2, 4);
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        atomic_fetch_add(&z->handshake_failed, 1);
        log_msg(LOG_PRI_WARNING, "zap: %s %s refused a peer in the handshake: %s (0x%08x)", name,
                ep, protocol_error(value), (unsigned)value);
    } else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && value != EPIPE &&
               value != ECONNRESET) {
        /* a peer hanging up after its refusal is no news; a timeout is */
        atomic_fetch_add(&z->handshake_failed, 1);
        log_msg(LOG_PRI_WARNING, "zap: %s %s refused a peer in the handshake: %s", name, ep,
                value == EAGAIN ? "it did not finish in time (ZMQ_HANDSHAKE_IVL)"
                                : strerror((int)value));
    }
}

/* Connect a PAIR to every monitor endpoint zap_watch added since last time. */
static void connect_watches(struct zap *z)
{
    pthread_mutex_lock(&z->lock);
    for (; z->nmon < z->nwatch; z->nmon++) {
        void *s = zmq_socket(z->ctx, ZMQ_PAIR);
        int linger = 0;
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_connect(s, z->watch_ep[z->nmon]);
        z->mon[z->nmon] = s;
    }
    pthread_mutex_unlock(&z->lock);
}

static void *run(void *arg)
{
    struct zap *z = arg;
    for (;;) {
        zmq_pollitem_t items[2 + ZAP_WATCH_MAX] = {{z->sock, 0, ZMQ_POLLIN, 0},
                                                   {NULL, z->kickfd, ZMQ_POLLIN, 0}};
        for (int i = 0; i < z->nmon; i++)
            items[2 + i] = (zmq_pollitem_t){z->mon[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, 2 + z->nmon, -1) < 0 && zmq_errno() != EINTR)
            break;
        if (items[1].revents & ZMQ_POLLIN) {
            eventfd_t v = 0;
            eventfd_read(z->kickfd, &v);
            if (v >= ZAP_STOP)
                break;
            connect_watches(z);
        }
        if (items[0].revents & ZMQ_POLLIN)
            handle(z);
        for (int i = 0; i < z->nmon; i++)
            if (items[2 + i].revents & ZMQ_POLLIN)
                on_monitor(z, z->mon[i], z->watch_name[i]);
    }
    for (int i = 0; i < z->nmon; i++)
        zmq_close(z->mon[i]);
    return NULL;
}

int zap_watch(struct zap *z, void *sock, const char *name, char *err, size_t errlen)
{
    if (z->nwatch == ZAP_WATCH_MAX)
        return errf(err, errlen, "zap: more than %d sockets watched", ZAP_WATCH_MAX);
    char *ep = xasprintf("inproc://reportd-zap-monitor-%p-%d", (void *)z, z->nwatch);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        errf(err, errlen, "zap: monitor %s: %s", name, zmq_strerror(zmq_errno()));
        free(ep);
        return -1;
    }
    pthread_mutex_lock(&z->lock);
    z->watch_name[z->nwatch] = xstrdup(name);
    z->watch_ep[z->nwatch++] = ep;
    pthread_mutex_unlock(&z->lock);
    eventfd_write(z->kickfd, 1);
    return 0;
}

struct zap *zap_start(void *ctx, const char *allow_dir, char *err, size_t errlen)
{
    struct zap *z = xcalloc(1, sizeof *z);
    z->dir = xstrdup(allow_dir);
    z->kickfd = -1;
    z->ctx = ctx;
    pthread_mutex_init(&z->lock, NULL);
    if (!allow_dir || !*allow_dir) {
        errf(err, errlen, "security.curve is on but security.allow_dir is not set");
        goto fail;
    }
    if (reload(z, err, errlen) != 0)
        goto fail;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        errf(err, errlen, "zap: bind %s: %s", ZAP_ENDPOINT, zmq_strerror(zmq_errno()));
        goto fail;
    }
    z->kickfd = eventfd(0, EFD_CLOEXEC);
    int rc = pthread_create(&z->thread, NULL, run, z);
    if (rc != 0) {
        errf(err, errlen, "zap: thread: %s", strerror(rc));
        goto fail;
    }
    z->started = 1;
    log_msg(LOG_PRI_INFO, "zap: %ld allowed CURVE key(s) in %s", z->list.n, z->dir);
    return z;
fail:
    zap_stop(&z);
    return NULL;
}

void zap_stop(struct zap **zp)
{
    if (!zp || !*zp)
        return;
    struct zap *z = *zp;
    if (z->started) {
        eventfd_write(z->kickfd, ZAP_STOP);
        pthread_join(z->thread, NULL);
    }
    if (z->sock)
        zmq_close(z->sock);
    if (z->kickfd >= 0)
        close(z->kickfd);
    for (int i = 0; i < z->nwatch; i++) {
        free(z->watch_ep[i]);
        free(z->watch_name[i]);
    }
    pthread_mutex_destroy(&z->lock);
    allow_free(&z->list);
    free(z->dir);
    free(z);
    *zp = NULL;
}

void zap_stats(const struct zap *z, struct zap_stats *st)
{
    st->allowed = atomic_load(&((struct zap *)z)->allowed);
    st->denied = atomic_load(&((struct zap *)z)->denied);
    st->handshake_failed = atomic_load(&((struct zap *)z)->handshake_failed);
}
