/* envelope: see envelope.h. A reader of top-level fields (envelope_next),
 * lookups that follow every occurrence of a message field (protobuf's merge:
 * the last value wins), and a small writer for the Alert. Validation is
 * pbguard_valid's, before anything is read; after it, a field's wire type is
 * the one its type needs, so readers only skip what they do not know. */
#include "wire/envelope.h"

#include <stdlib.h>
#include <string.h>

#include "base/pbguard.h"
#include "base/util.h"
#include "check/check.h"
#include "report.pb-c.h"

/* Field numbers of report.proto the broker reads or writes. */
enum {
    SUB_ID = 2, SUB_BODY = 3, SUB_YEAR = 4, SUB_PREVIOUS = 8,
    RES_ID = 2, RES_STATUS = 3, RES_FINDINGS = 5, RES_ENRICHMENT = 6, RES_BODY = 10,
    RES_YEAR = 11, RES_REPORT = 12,
    BODY_NAME = 1, BODY_REGION = 2, BODY_KIND = 3,
    ENRICH_REGION = 13, REGION_CODE = 1, REGION_FIELDS = 6,
    FINDING_SEVERITY = 2, FINDING_CELLS = 6, FINDING_EN = 10, FINDING_MISSING = 11,
    FINDING_FIELDS = 11,
    ALERT_VERSION = 1, ALERT_ID = 2, ALERT_BODY = 3, ALERT_REGION = 4, ALERT_STATUS = 5,
    ALERT_ERRORS = 6, ALERT_WARNINGS = 7, ALERT_NOTICES = 8, ALERT_TOP = 9, ALERT_YEAR = 10,
};

int envelope_next(const uint8_t *buf, size_t len, size_t *pos, struct envelope_field *f)
{
    uint64_t key, n;
    if (*pos >= len)
        return 0;
    f->start = *pos;
    /* a first byte that says field 0: protobuf-c refuses it */
    if ((buf[*pos] & 0xf8) == 0 || pbguard_varint(buf, len, pos, &key) != 0)
        return -1;
    f->id = (uint32_t)(key >> 3);       /* protobuf-c keeps 32 bits of it */
    f->wire = (unsigned)(key & 7);
    f->value = 0;
    f->value_at = *pos;
    f->data = buf + *pos;
    switch (f->wire) {
    case 0:
        if (pbguard_varint(buf, len, pos, &f->value) != 0)
            return -1;
        f->len = *pos - f->value_at;
        break;
    case 1:
    case 5:
        f->len = f->wire == 1 ? 8 : 4;
        if (len - *pos < f->len)
            return -1;
        for (size_t i = f->len; i-- > 0;)
            f->value = f->value << 8 | buf[*pos + i];
        *pos += f->len;
        break;
    case 2:
        /* protobuf-c reads 32 bits of a length */
        if (pbguard_varint(buf, len, pos, &n) != 0 || (n &= 0xffffffffu) > len - *pos)
            return -1;
        f->data = buf + *pos;
        f->len = (size_t)n;
        *pos += f->len;
        break;
    default:
        return -1;
    }
    f->end = *pos;
    return 1;
}

static struct envelope_str str_of(const struct envelope_field *f)
{
    return (struct envelope_str){(const char *)f->data, strnlen((const char *)f->data, f->len)};
}

/* The last occurrence of field ids[n-1] under the message fields ids[0..n-1)
 * of buf, through every occurrence of each (merged). 1 with *out, or 0. */
static int find_last(const uint8_t *buf, size_t len, const uint32_t *ids, size_t n,
                     struct envelope_field *out)
{
    struct envelope_field f;
    size_t pos = 0;
    int found = 0;
    while (envelope_next(buf, len, &pos, &f) == 1) {
        if (f.id != ids[0])
            continue;
        if (n == 1) {
            *out = f;
            found = 1;
        } else if (f.wire == 2 && find_last(f.data, f.len, ids + 1, n - 1, out)) {
            found = 1;
        }
    }
    return found;
}

/* A string field by path: *s replaced when found (a later value wins). */
static void find_str(const uint8_t *buf, size_t len, const uint32_t *ids, size_t n,
                     struct envelope_str *s)
{
    struct envelope_field f;
    if (find_last(buf, len, ids, n, &f) && f.wire == 2)
        *s = str_of(&f);
}

int envelope_submission(const uint8_t *buf, size_t len, struct envelope_submission *e,
                        char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    if (pbguard_valid(&reportd__submission__descriptor, buf, len, 1, err, errlen) != 0)
        return -1;
    struct envelope_field f;
    size_t pos = 0;
    while (envelope_next(buf, len, &pos, &f) == 1) {
        if (f.id == SUB_ID && f.wire == 2) {
            e->submission_id = str_of(&f);
        } else if (f.id == SUB_BODY && f.wire == 2) {
            find_str(f.data, f.len, (const uint32_t[]){BODY_NAME}, 1, &e->body_name);
            find_str(f.data, f.len, (const uint32_t[]){BODY_REGION}, 1, &e->body_region);
        } else if (f.id == SUB_YEAR && f.wire == 0) {
            e->has_year = 1;
            e->year = (uint32_t)f.value;
        } else if (f.id == SUB_PREVIOUS) {
            e->has_previous = 1;
        }
    }
    return 0;
}

/* A finding's severity as protobuf-c reads the enum: 32 bits of the varint. */
static int32_t severity_of(const struct envelope_field *finding)
{
    struct envelope_field s;
    if (!find_last(finding->data, finding->len, (const uint32_t[]){FINDING_SEVERITY}, 1, &s) ||
        s.wire != 0)
        return -1;
    return (int32_t)(uint32_t)s.value;
}

void envelope_result_read(const uint8_t *buf, size_t len, struct envelope_result *e)
{
    memset(e, 0, sizeof *e);
    struct envelope_field f, g;
    size_t pos = 0;
    while (envelope_next(buf, len, &pos, &f) == 1) {
        if (f.id == RES_ID && f.wire == 2) {
            e->submission_id = str_of(&f);
        } else if (f.id == RES_STATUS && f.wire == 0) {
            e->status = (int32_t)(uint32_t)f.value;
        } else if (f.id == RES_FINDINGS && f.wire == 2) {
            int32_t s = severity_of(&f);
            if (s >= 0 && s < 3)
                e->severity[s]++;
        } else if (f.id == RES_ENRICHMENT && f.wire == 2) {
            for (size_t at = 0; envelope_next(f.data, f.len, &at, &g) == 1;)
                if (g.id == ENRICH_REGION && g.wire == 2) {
                    e->has_region = 1;
                    find_str(g.data, g.len, (const uint32_t[]){REGION_CODE}, 1, &e->region_code);
                }
        } else if (f.id == RES_BODY && f.wire == 2) {
            e->has_body = 1;
            find_str(f.data, f.len, (const uint32_t[]){BODY_NAME}, 1, &e->body_name);
            find_str(f.data, f.len, (const uint32_t[]){BODY_REGION}, 1, &e->body_region);
        } else if (f.id == RES_YEAR && f.wire == 0) {
            e->has_year = 1;
            e->year = (uint32_t)f.value;
        } else if (f.id == RES_REPORT) {
            e->has_report = 1;
        }
    }
}

int envelope_result(const uint8_t *buf, size_t len, struct envelope_result *e, char *err,
                    size_t errlen)
{
    memset(e, 0, sizeof *e);
    if (pbguard_valid(&reportd__result__descriptor, buf, len, 0, err, errlen) != 0)
        return -1;
    envelope_result_read(buf, len, e);
    return 0;
}

struct envelope_str envelope_result_region(const struct envelope_result *e)
{
    if (e->has_region && e->region_code.p)
        return e->region_code;
    return e->has_body ? e->body_region : (struct envelope_str){NULL, 0};
}

char *envelope_strdup(struct envelope_str s)
{
    return s.p ? xstrndup(s.p, s.len) : NULL;
}

/* A growing output buffer. */
struct out {
    uint8_t *p;
    size_t n, cap;
};

static void out_bytes(struct out *o, const void *p, size_t n)
{
    if (o->cap - o->n < n) {
        while (o->cap - o->n < n)
            o->cap = o->cap ? 2 * o->cap : 256;
        o->p = xrealloc(o->p, o->cap);
    }
    if (n)
        memcpy(o->p + o->n, p, n);
    o->n += n;
}

static void out_varint(struct out *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    out_bytes(o, b, n);
}

static void out_key(struct out *o, uint32_t id, unsigned wire)
{
    out_varint(o, (uint64_t)id << 3 | wire);
}

static void out_str(struct out *o, uint32_t id, struct envelope_str s)
{
    if (!s.p)
        return;
    out_key(o, id, 2);
    out_varint(o, s.len);
    out_bytes(o, s.p, s.len);
}

/* An int32 or enum as protobuf-c packs it: a negative one in 10 bytes. */
static void out_int32(struct out *o, uint32_t id, int32_t v)
{
    out_key(o, id, 0);
    out_varint(o, (uint64_t)(int64_t)v);
}

static void out_msg(struct out *o, uint32_t id, struct out *inner)
{
    out_key(o, id, 2);
    out_varint(o, inner->n);
    out_bytes(o, inner->p, inner->n);
    free(inner->p);
    *inner = (struct out){0};
}

uint8_t *envelope_strip_report(const uint8_t *buf, size_t len, size_t *outlen, uint8_t **report,
                               size_t *rlen)
{
    /* each part fits in len: one allocation each */
    struct out rest = {xmalloc(len ? len : 1), 0, len ? len : 1};
    struct out rep = {xmalloc(len ? len : 1), 0, len ? len : 1};
    struct envelope_field f;
    size_t pos = 0;
    while (envelope_next(buf, len, &pos, &f) == 1) {
        if (f.id == RES_REPORT && f.wire == 2)
            out_bytes(&rep, f.data, f.len);
        else
            out_bytes(&rest, buf + f.start, f.end - f.start);
    }
    *outlen = rest.n;
    *rlen = rep.n;
    *report = rep.p;
    return rest.p;
}

/* A finding as an Alert carries it (checker_alert's finding_brief): its
 * known fields but the cell lists and message_en, in field order, each its
 * last value, then the fields it does not know, as they came. */
static void brief_finding(struct out *o, const struct envelope_field *finding)
{
    struct envelope_field known[FINDING_FIELDS + 1], f;
    int has[FINDING_FIELDS + 1] = {0};
    struct out b = {0};
    size_t pos = 0;
    while (envelope_next(finding->data, finding->len, &pos, &f) == 1)
        if (f.id >= 1 && f.id <= FINDING_FIELDS) {
            known[f.id] = f;
            has[f.id] = 1;
        }
    for (uint32_t id = 1; id <= FINDING_FIELDS; id++) {
        if (!has[id] || id == FINDING_CELLS || id == FINDING_EN || id == FINDING_MISSING)
            continue;
        if (id == FINDING_SEVERITY)
            out_int32(&b, id, (int32_t)(uint32_t)known[id].value);
        else
            out_str(&b, id, str_of(&known[id]));
    }
    for (pos = 0; envelope_next(finding->data, finding->len, &pos, &f) == 1;)
        if (f.id < 1 || f.id > FINDING_FIELDS) {
            out_key(&b, f.id, f.wire);
            out_bytes(&b, finding->data + f.value_at, f.end - f.value_at);
        }
    out_msg(o, ALERT_TOP, &b);
}

/* The Alert's body: name, region code and the kind as checker_alert sets it
 * (a government, a department, or unknown). */
static void alert_body(struct out *o, const uint8_t *buf, size_t len)
{
    struct envelope_str name = {0}, region = {0};
    struct envelope_field f, k;
    int32_t kind = 0;
    struct out b = {0};
    for (size_t pos = 0; envelope_next(buf, len, &pos, &f) == 1;)
        if (f.id == RES_BODY && f.wire == 2) {
            find_str(f.data, f.len, (const uint32_t[]){BODY_NAME}, 1, &name);
            find_str(f.data, f.len, (const uint32_t[]){BODY_REGION}, 1, &region);
            if (find_last(f.data, f.len, (const uint32_t[]){BODY_KIND}, 1, &k) && k.wire == 0)
                kind = (int32_t)(uint32_t)k.value;
        }
    out_str(&b, BODY_NAME, name);
    out_str(&b, BODY_REGION, region);
    out_int32(&b, BODY_KIND, kind == REPORTD__BODY_KIND__BODY_UNKNOWN ? kind
                             : kind == REPORTD__BODY_KIND__BODY_GOVERNMENT
                                 ? kind : REPORTD__BODY_KIND__BODY_DEPARTMENT);
    out_msg(o, ALERT_BODY, &b);
}

/* The Alert's region: the six strings of enrichment.region, each its last
 * value through every occurrence of both (one pass). */
static void alert_region(struct out *o, const uint8_t *buf, size_t len)
{
    struct envelope_str s[REGION_FIELDS + 1];
    struct envelope_field f, g, h;
    memset(s, 0, sizeof s);
    for (size_t pos = 0; envelope_next(buf, len, &pos, &f) == 1;)
        for (size_t at = 0; f.id == RES_ENRICHMENT && f.wire == 2 &&
                            envelope_next(f.data, f.len, &at, &g) == 1;)
            for (size_t in = 0; g.id == ENRICH_REGION && g.wire == 2 &&
                                envelope_next(g.data, g.len, &in, &h) == 1;)
                if (h.id >= 1 && h.id <= REGION_FIELDS && h.wire == 2)
                    s[h.id] = str_of(&h);
    struct out r = {0};
    for (uint32_t id = 1; id <= REGION_FIELDS; id++)
        out_str(&r, id, s[id]);
    out_msg(o, ALERT_REGION, &r);
}

uint8_t *envelope_alert(const uint8_t *buf, size_t len, const struct envelope_result *e,
                        size_t *outlen)
{
    struct out o = {0};
    out_key(&o, ALERT_VERSION, 0);
    out_varint(&o, 1);
    out_str(&o, ALERT_ID, e->submission_id);
    if (e->has_body)
        alert_body(&o, buf, len);
    if (e->has_region)
        alert_region(&o, buf, len);
    out_int32(&o, ALERT_STATUS, e->status);
    out_key(&o, ALERT_ERRORS, 0);
    out_varint(&o, e->severity[2]);
    out_key(&o, ALERT_WARNINGS, 0);
    out_varint(&o, e->severity[1]);
    out_key(&o, ALERT_NOTICES, 0);
    out_varint(&o, e->severity[0]);
    /* the first CHECK_ALERT_TOP findings of each severity, in one pass */
    struct envelope_field top[3][CHECK_ALERT_TOP], f;
    size_t ntop[3] = {0, 0, 0};
    for (size_t pos = 0; envelope_next(buf, len, &pos, &f) == 1;) {
        int32_t sev = f.id == RES_FINDINGS && f.wire == 2 ? severity_of(&f) : -1;
        if (sev >= 0 && sev < 3 && ntop[sev] < CHECK_ALERT_TOP)
            top[sev][ntop[sev]++] = f;
    }
    int left = CHECK_ALERT_TOP;
    for (int sev = 2; sev >= 0; sev--)
        for (size_t i = 0; i < ntop[sev] && left > 0; i++, left--)
            brief_finding(&o, &top[sev][i]);
    if (e->has_year) {
        out_key(&o, ALERT_YEAR, 0);
        out_varint(&o, e->year);
    }
    *outlen = o.n;
    return o.p;
}
