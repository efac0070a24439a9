/* metrics: a fixed registry of series. A counter or gauge is one atomic
 * int64; a histogram is its bucket counts, count and sum (sum kept in
 * nanounits as an integer, so it is atomic too). A scrape renders under the
 * registry's lock, so a writer that groups its updates between metrics_lock
 * and metrics_unlock is seen all or nothing: counters and histograms agree
 * within one scrape. HTTP is libmicrohttpd's internal thread. The process_*
 * metrics are read from /proc/self at each scrape. */
#include "base/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define METRICS_MAX 96
#define METRICS_BUCKETS 16

enum kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct series {
    enum kind kind;
    char *name, *help;           /* help and name only on the first of a family */
    char *labels;                /* label="value",… already escaped, or NULL */
    int first;                   /* 1 on the first series of a family: prints HELP/TYPE */
    int64_t v;                   /* counter or gauge */
    double bounds[METRICS_BUCKETS];
    int nbounds;
    uint64_t buckets[METRICS_BUCKETS + 1];  /* last: +Inf */
    uint64_t count;
    int64_t sum_nano;
};

struct metrics {
    struct series s[METRICS_MAX];
    int n;
    pthread_mutex_t lock;        /* held by a scrape and by grouped writers */
    int process;                 /* render process_* too */
};

struct metrics_http {
    struct MHD_Daemon *d;
    struct metrics *m;
    struct metrics_probes probes;
    int port;
};

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(struct metrics));
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void metrics_lock(struct metrics *m)
{
    pthread_mutex_lock(&m->lock);
}

void metrics_unlock(struct metrics *m)
{
    pthread_mutex_unlock(&m->lock);
}

void metrics_destroy(struct metrics **mp)
{
    struct metrics *m = mp ? *mp : NULL;
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        free(m->s[i].name);
        free(m->s[i].help);
        free(m->s[i].labels);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
    *mp = NULL;
}

static int valid_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return 0;
    return 1;
}

static void put_escaped(struct buf *b, const char *s, int quote);

/* label="value", escaped as the text format wants; heap string. */
static char *label_pair(const char *label, const char *value)
{
    struct buf b = {0};
    buf_printf(&b, "%s=\"", label);
    put_escaped(&b, value, 1);
    buf_puts(&b, "\"");
    return buf_take(&b);
}

static struct series *add_series(struct metrics *m, enum kind k, const char *name, const char *help, int first)
{
    struct series *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->kind = k;
    s->name = xstrdup(name);
    s->help = xstrdup(help ? help : "");
    s->first = first;
    return s;
}

/* Counters and gauges: one series, or one per label value. */
static int add_family(struct metrics *m, enum kind kind, const char *name, const char *help,
                      const char *label, const char *const *values, int nvalues)
{
    int n = label ? nvalues : 1;
    if (!valid_name(name) || (label && (!valid_name(label) || nvalues < 1)) || m->n + n > METRICS_MAX)
        return -1;
    int id = m->n;
    for (int i = 0; i < n; i++) {
        struct series *s = add_series(m, kind, name, help, i == 0);
        if (label)
            s->labels = label_pair(label, values[i]);
    }
    return id;
}

int metrics_counter(struct metrics *m, const char *name, const char *help, const char *label,
                    const char *const *values, int nvalues)
{
    return add_family(m, KIND_COUNTER, name, help, label, values, nvalues);
}

int metrics_gauges(struct metrics *m, const char *name, const char *help, const char *label,
                   const char *const *values, int nvalues)
{
    return add_family(m, KIND_GAUGE, name, help, label, values, nvalues);
}

int metrics_gauge(struct metrics *m, const char *name, const char *help)
{
    if (!valid_name(name) || m->n >= METRICS_MAX)
        return -1;
    add_series(m, KIND_GAUGE, name, help, 1);
    return m->n - 1;
}

int metrics_histograms(struct metrics *m, const char *name, const char *help, const double *bounds,
                       int nbounds, const char *label, const char *const *values, int nvalues)
{
    int n = label ? nvalues : 1;
    if (!valid_name(name) || nbounds < 1 || nbounds > METRICS_BUCKETS || m->n + n > METRICS_MAX ||
        (label && (!valid_name(label) || nvalues < 1)))
        return -1;
    for (int i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return -1;
    int id = m->n;
    for (int i = 0; i < n; i++) {
        struct series *s = add_series(m, KIND_HISTOGRAM, name, help, i == 0);
        memcpy(s->bounds, bounds, (size_t)nbounds * sizeof *bounds);
        s->nbounds = nbounds;
        if (label)
            s->labels = label_pair(label, values[i]);
    }
    return id;
}

int metrics_histogram(struct metrics *m, const char *name, const char *help, const double *bounds, int nbounds)
{
    return metrics_histograms(m, name, help, bounds, nbounds, NULL, NULL, 0);
}

int metrics_info(struct metrics *m, const char *name, const char *help, const char *const *labels,
                 const char *const *values, int n)
{
    if (!valid_name(name) || m->n >= METRICS_MAX || n < 1)
        return -1;
    struct buf b = {0};
    for (int i = 0; i < n; i++) {
        if (!valid_name(labels[i]))
            return -1;
        char *pair = label_pair(labels[i], values[i]);
        buf_printf(&b, "%s%s", i ? "," : "", pair);
        free(pair);
    }
    struct series *s = add_series(m, KIND_GAUGE, name, help, 1);
    s->labels = buf_take(&b);
    s->v = 1;
    return m->n - 1;
}

void metrics_add_process(struct metrics *m)
{
    m->process = 1;
}

void metrics_add(struct metrics *m, int id, uint64_t n)
{
    if (id >= 0 && id < m->n)
        __atomic_add_fetch(&m->s[id].v, (int64_t)n, __ATOMIC_RELAXED);
}

void metrics_set(struct metrics *m, int id, int64_t v)
{
    if (id >= 0 && id < m->n)
        __atomic_store_n(&m->s[id].v, v, __ATOMIC_RELAXED);
}

void metrics_observe(struct metrics *m, int id, double v)
{
    if (id < 0 || id >= m->n || m->s[id].kind != KIND_HISTOGRAM)
        return;
    struct series *s = &m->s[id];
    int b = 0;
    while (b < s->nbounds && v > s->bounds[b])
        b++;
    __atomic_add_fetch(&s->buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->sum_nano, (int64_t)(v * 1e9), __ATOMIC_RELAXED);
}

int64_t metrics_get(const struct metrics *m, int id)
{
    if (id < 0 || id >= m->n)
        return 0;
    return __atomic_load_n(&m->s[id].v, __ATOMIC_RELAXED);
}

/* Label values and help text escaped as the text format requires. */
static void put_escaped(struct buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(b, "\\\\");
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else if (quote && *s == '"')
            buf_puts(b, "\\\"");
        else
            buf_append(b, s, 1);
    }
}

static void render_histogram(struct buf *b, const struct series *s)
{
    const char *l = s->labels ? s->labels : "", *sep = s->labels ? "," : "";
    uint64_t cum = 0;
    for (int i = 0; i <= s->nbounds; i++) {
        cum += __atomic_load_n(&s->buckets[i], __ATOMIC_RELAXED);
        if (i < s->nbounds)
            buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", s->name, l, sep, s->bounds[i],
                       (unsigned long long)cum);
        else
            buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, l, sep, (unsigned long long)cum);
    }
    const char *open = s->labels ? "{" : "", *close = s->labels ? "}" : "";
    buf_printf(b, "%s_sum%s%s%s %.9f\n", s->name, open, l, close,
               (double)__atomic_load_n(&s->sum_nano, __ATOMIC_RELAXED) / 1e9);
    buf_printf(b, "%s_count%s%s%s %llu\n", s->name, open, l, close, (unsigned long long)cum);
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The usual process metrics, from /proc/self (readable under ProcSubset=pid)
 * and the clocks. */
static void render_process(struct buf *b)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long long utime = 0, stime = 0, start = 0;
    long long rss = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    char line[1024];
    if (f && fgets(line, sizeof line, f)) {
        const char *p = strrchr(line, ')');   /* the command may hold spaces */
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                        "%*d %*d %*d %llu %*u %lld", &utime, &stime, &start, &rss) != 4)
            utime = stime = start = 0, rss = 0;
    }
    if (f)
        fclose(f);
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        fds += e->d_name[0] != '.';
    if (d)
        closedir(d);
    struct timespec now, boot;
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_BOOTTIME, &boot);
    double since_boot = (double)start / (double)tick;
    double started = (double)now.tv_sec + now.tv_nsec / 1e9 - (boot.tv_sec + boot.tv_nsec / 1e9) + since_boot;
    family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    buf_printf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)tick);
    family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    buf_printf(b, "process_resident_memory_bytes %lld\n", rss * page);
    family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    buf_printf(b, "process_open_fds %ld\n", d ? fds - 1 : 0);   /* less opendir's own */
    family(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    buf_printf(b, "process_start_time_seconds %.2f\n", started);
}

char *metrics_render(const struct metrics *m, size_t *len)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct buf b = {0};
    pthread_mutex_lock((pthread_mutex_t *)&m->lock);
    for (int i = 0; i < m->n; i++) {
        const struct series *s = &m->s[i];
        if (s->first) {
            buf_printf(&b, "# HELP %s ", s->name);
            put_escaped(&b, s->help, 0);
            buf_printf(&b, "\n# TYPE %s %s\n", s->name, types[s->kind]);
        }
        if (s->kind == KIND_HISTOGRAM) {
            render_histogram(&b, s);
            continue;
        }
        buf_puts(&b, s->name);
        if (s->labels)
            buf_printf(&b, "{%s}", s->labels);
        buf_printf(&b, " %lld\n", (long long)__atomic_load_n(&s->v, __ATOMIC_RELAXED));
    }
    pthread_mutex_unlock((pthread_mutex_t *)&m->lock);
    if (m->process)
        render_process(&b);
    buf_append(&b, "", 0);
    *len = b.len;
    return buf_take(&b);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result probe(struct MHD_Connection *conn, int (*fn)(void *, char *, size_t), void *arg)
{
    char why[256] = "";
    int ok = fn ? fn(arg, why, sizeof why) : 1;
    char *body = xasprintf("%s%s%s\n", ok ? "ok" : "not ok", why[0] ? ": " : "", why);
    return respond(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                   body, strlen(body));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    struct metrics_http *h = cls;
    (void)version, (void)upload, (void)state;
    if (*upload_size)
        return MHD_NO;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        char *body = xstrdup("method not allowed\n");
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", body, strlen(body));
    }
    if (!strcmp(url, "/metrics")) {
        size_t len;
        char *body = metrics_render(h->m, &len);
        return respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
    }
    if (!strcmp(url, "/healthz"))
        return probe(conn, h->probes.alive, h->probes.arg);
    if (!strcmp(url, "/readyz"))
        return probe(conn, h->probes.ready, h->probes.arg);
    char *body = xstrdup("not found: try /metrics, /healthz, /readyz\n");
    return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", body, strlen(body));
}

struct metrics_http *metrics_http_start(struct metrics *m, const char *addr, int port,
                                        const struct metrics_probes *probes, char *err, size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    int v6 = strchr(addr, ':') != NULL;
    if (port < 0 || port > 65535 || (v6 ? inet_pton(AF_INET6, addr, &sa6.sin6_addr)
                                          : inet_pton(AF_INET, addr, &sa.sin_addr)) != 1) {
        errf(err, errlen, "metrics: '%s' port %d is not an IPv4 or IPv6 address and port", addr, port);
        return NULL;
    }
    struct metrics_http *h = xcalloc(1, sizeof *h);
    h->m = m;
    if (probes)
        h->probes = *probes;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
                            (uint16_t)port, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR,
                            v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    if (!h->d) {
        errf(err, errlen, v6 ? "metrics: cannot listen on [%s]:%d" : "metrics: cannot listen on %s:%d",
             addr, port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

int metrics_http_port(const struct metrics_http *h)
{
    return h->port;
}

void metrics_http_stop(struct metrics_http **hp)
{
    struct metrics_http *h = hp ? *hp : NULL;
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
    *hp = NULL;
}
