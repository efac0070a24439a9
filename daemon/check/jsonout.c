/* jsonout: JSON for people's tools, one encoder for every place reportd
 * writes JSON. Field names follow the contract of issue 1 and the README's
 * schema: {"schema_version","version","ruleset_version","file","status",
 * "layout","findings":[{"rule","severity","table","row","column","expected",
 * "actual","message_zh","message_en","missing"}],"enrichment":{…}}. Absent
 * values are omitted (enrichment, optional fields) or "" (finding ids). */
#include "check/jsonout.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/version.h"

/* Lower-cased names, built once from the descriptors: the descriptors'
 * own strings serve Status as they are. */
static const ProtobufCEnumDescriptor *const named[] = {
    &reportd__severity__descriptor, &reportd__rating__descriptor, &reportd__cell_state__descriptor,
    &reportd__body_kind__descriptor, &reportd__document_form__descriptor,
};
#define NAMED (sizeof named / sizeof named[0])
static char lower[NAMED][8][24];
static pthread_once_t lower_once = PTHREAD_ONCE_INIT;

static const char *unprefixed(const char *name)
{
    const char *u = strchr(name, '_');
    return u ? u + 1 : name;
}

static void build_lower(void)
{
    for (size_t d = 0; d < NAMED; d++)
        for (unsigned i = 0; i < named[d]->n_values && i < 8; i++) {
            const char *s = unprefixed(named[d]->values[i].name);
            size_t j = 0;
            for (; s[j] && j + 1 < sizeof lower[d][i]; j++)
                lower[d][i][j] = (char)tolower((unsigned char)s[j]);
            lower[d][i][j] = '\0';
        }
}

const char *jsonout_enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    if (!ev)
        return NULL;
    if (d == &reportd__status__descriptor)
        return unprefixed(ev->name);
    pthread_once(&lower_once, build_lower);
    for (size_t i = 0; i < NAMED; i++)
        if (named[i] == d && ev - d->values < 8)
            return lower[i][ev - d->values];
    return NULL;
}

const char *jsonout_status(Reportd__Status s)
{
    const char *n = jsonout_enum_name(&reportd__status__descriptor, (int)s);
    return n ? n : "UNKNOWN";
}

const char *jsonout_severity(Reportd__Severity s)
{
    const char *n = jsonout_enum_name(&reportd__severity__descriptor, (int)s);
    return n ? n : "unknown";
}

const char *jsonout_rating(Reportd__Rating r)
{
    const char *n = jsonout_enum_name(&reportd__rating__descriptor, (int)r);
    return n ? n : "unknown";
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *finding_json(const Reportd__Finding *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "rule", str_or_empty(f->rule));
    json_object_set_new(o, "severity", json_string(jsonout_severity(f->severity)));
    json_object_set_new(o, "table", str_or_empty(f->table));
    json_object_set_new(o, "row", str_or_empty(f->row));
    json_object_set_new(o, "column", str_or_empty(f->column));
    json_object_set_new(o, "expected", str_or_empty(f->expected));
    json_object_set_new(o, "actual", str_or_empty(f->actual));
    json_object_set_new(o, "message_zh", str_or_empty(f->message_zh));
    json_object_set_new(o, "message_en", str_or_empty(f->message_en));
    if (f->n_missing) {
        json_t *m = json_array();
        for (size_t i = 0; i < f->n_missing; i++) {
            json_t *c = json_object();
            json_object_set_new(c, "row", str_or_empty(f->missing[i]->row));
            json_object_set_new(c, "column", str_or_empty(f->missing[i]->column));
            json_array_append_new(m, c);
        }
        json_object_set_new(o, "missing", m);
    }
    return o;
}

static void set_rate(json_t *o, const char *key, const Reportd__Rate *r)
{
    if (!r || !r->has_value)
        return;
    json_t *v = json_object();
    json_object_set_new(v, "value", json_real(r->value));
    json_object_set_new(v, "rating", json_string(jsonout_rating(r->rating)));
    json_object_set_new(o, key, v);
}

static void set_int(json_t *o, const char *key, int has, long long v)
{
    if (has)
        json_object_set_new(o, key, json_integer(v));
}

static void set_str(json_t *o, const char *key, const char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
}

static json_t *region_json(const Reportd__Region *g)
{
    json_t *o = json_object();
    set_str(o, "code", g->code);
    set_str(o, "province", g->province);
    set_str(o, "prefecture", g->prefecture);
    set_str(o, "county", g->county);
    return o;
}

static json_t *year_on_year_json(const Reportd__YearOnYear *y)
{
    json_t *o = json_object();
    json_object_set_new(o, "previous_year", json_integer(y->previous_year));
    set_int(o, "received", y->has_received, y->received);
    set_int(o, "concluded", y->has_concluded, y->concluded);
    if (y->has_disclosure_rate)
        json_object_set_new(o, "disclosure_rate", json_real(y->disclosure_rate));
    set_int(o, "reviews", y->has_reviews, y->reviews);
    set_int(o, "suits", y->has_suits, y->suits);
    return o;
}

static json_t *enrichment_json(const Reportd__Enrichment *e)
{
    json_t *o = json_object();
    set_int(o, "received", e->has_received, e->received);
    set_int(o, "carried_over", e->has_carried_over, e->carried_over);
    set_int(o, "concluded", e->has_concluded, e->concluded);
    set_int(o, "carried_forward", e->has_carried_forward, e->carried_forward);
    set_rate(o, "disclosure_rate", e->disclosure_rate);
    set_rate(o, "refusal_rate", e->refusal_rate);
    set_rate(o, "unable_rate", e->unable_rate);
    set_int(o, "reviews", e->has_reviews, e->reviews);
    set_int(o, "suits", e->has_suits, e->suits);
    set_rate(o, "review_correction_rate", e->review_correction_rate);
    set_rate(o, "suit_direct_correction_rate", e->suit_direct_correction_rate);
    set_rate(o, "suit_after_review_correction_rate", e->suit_after_review_correction_rate);
    if (e->region)
        json_object_set_new(o, "region", region_json(e->region));
    set_str(o, "deadline", e->deadline);
    set_int(o, "days_after_deadline", e->has_days_after_deadline, e->days_after_deadline);
    set_str(o, "fingerprint", e->fingerprint);
    set_str(o, "reader", e->reader);
    if (e->n_tables_read) {
        json_t *reconstructed = json_array(), *unread = json_array();
        for (size_t i = 0; i < e->n_tables_read; i++) {
            const Reportd__TableRead *t = e->tables_read[i];
            if (t->reconstructed)
                json_array_append_new(reconstructed, json_string(t->table));
            for (size_t k = 0; k < t->n_unread; k++) {
                const char *why = strstr(t->unread[k], ": ");
                size_t n = why ? (size_t)(why - t->unread[k]) : strlen(t->unread[k]);
                json_t *u = json_object();
                json_object_set_new(u, "table", json_string(t->table));
                json_object_set_new(u, "row", json_stringn(t->unread[k], n));
                json_object_set_new(u, "why", json_string(why ? why + 2 : ""));
                json_array_append_new(unread, u);
            }
        }
        json_object_set_new(o, "reconstructed", reconstructed);
        json_object_set_new(o, "unread", unread);
    }
    if (e->year_on_year)
        json_object_set_new(o, "year_on_year", year_on_year_json(e->year_on_year));
    return o;
}

/* schema_version and version first in every top-level object. */
static json_t *versioned(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "schema_version", json_integer(JSONOUT_SCHEMA_VERSION));
    json_object_set_new(o, "version", json_string(reportd_version()));
    return o;
}

char *jsonout_text(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        abort();
    char *copy = xstrdup(s);
    free(s);
    return copy;
}

json_t *jsonout_result_json(const Reportd__Result *res, const char *file)
{
    json_t *o = versioned();
    set_str(o, "ruleset_version", res->ruleset_version);
    if (file)
        json_object_set_new(o, "file", json_string(file));
    if (res->submission_id && *res->submission_id)
        json_object_set_new(o, "submission_id", json_string(res->submission_id));
    json_object_set_new(o, "status", json_string(jsonout_status(res->status)));
    if (res->status == REPORTD__STATUS__STATUS_REJECTED)
        json_object_set_new(o, "reason", str_or_empty(res->reject_reason));
    set_int(o, "layout", res->has_layout, res->layout);
    set_int(o, "year", res->has_year, res->year);
    if (res->body && res->body->name)
        json_object_set_new(o, "body", json_string(res->body->name));
    json_t *fs = json_array();
    for (size_t i = 0; i < res->n_findings; i++)
        json_array_append_new(fs, finding_json(res->findings[i]));
    json_object_set_new(o, "findings", fs);
    json_object_set_new(o, "enrichment",
                        res->enrichment ? enrichment_json(res->enrichment) : json_object());
    return o;
}

json_t *jsonout_alert_json(const Reportd__Alert *a)
{
    json_t *o = versioned();
    json_object_set_new(o, "submission_id", str_or_empty(a->submission_id));
    json_object_set_new(o, "status", json_string(jsonout_status(a->status)));
    set_int(o, "year", a->has_year, a->year);
    if (a->body && a->body->name)
        json_object_set_new(o, "body", json_string(a->body->name));
    if (a->region)
        json_object_set_new(o, "region", region_json(a->region));
    json_object_set_new(o, "errors", json_integer(a->errors));
    json_object_set_new(o, "warnings", json_integer(a->warnings));
    json_object_set_new(o, "notices", json_integer(a->notices));
    json_t *fs = json_array();
    for (size_t i = 0; i < a->n_top_findings; i++)
        json_array_append_new(fs, finding_json(a->top_findings[i]));
    json_object_set_new(o, "top_findings", fs);
    return o;
}

json_t *jsonout_dead_json(const struct jsonout_dead *d)
{
    json_t *o = versioned();
    json_object_set_new(o, "uuid", str_or_empty(d->uuid));
    json_object_set_new(o, "submission_id", str_or_empty(d->submission_id));
    json_object_set_new(o, "reason", str_or_empty(d->reason));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    if (d->updated_at)
        json_object_set_new(o, "updated_at", json_integer(d->updated_at));
    if (d->service) {
        json_object_set_new(o, "service", json_string(d->service));
        json_object_set_new(o, "bytes", json_integer((json_int_t)d->bytes));
    }
    return o;
}

char *jsonout_result(const Reportd__Result *res, const char *file)
{
    return jsonout_text(jsonout_result_json(res, file));
}

char *jsonout_alert(const Reportd__Alert *a)
{
    return jsonout_text(jsonout_alert_json(a));
}

char *jsonout_dead(const struct jsonout_dead *d)
{
    return jsonout_text(jsonout_dead_json(d));
}
