/* pbguard: a wire-format walk that checks string fields against the message
 * descriptors, and a budgeted ProtobufCAllocator. The walk reads the bytes
 * only; whatever it cannot parse it leaves for protobuf-c to refuse, so the
 * two never disagree on what a valid message is. pbguard_unpack's allocator
 * hands out plain malloc memory, so the usual free_unpacked(m, NULL) frees
 * it; pbguard_unpack_in draws from an arena, freed with it in one go. */
#include "base/pbguard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"

#define PBGUARD_DEPTH 32            /* nesting we follow (the schema has 4) */

struct budget {
    size_t used, limit;             /* bytes */
    int refused;                    /* an allocation went past limit */
};

static void *budget_alloc(void *data, size_t size)
{
    struct budget *b = data;
    if (size > b->limit - b->used) {
        b->refused = 1;
        return NULL;
    }
    b->used += size;
    return malloc(size ? size : 1);
}

static void budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* A varint at *pos; 0, or -1 when it runs off the end or past 10 bytes. */
static int varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t c = buf[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Returns 0 (fine, or malformed: protobuf-c will say so), -1 with err. */
/* The field path of an error, kept as a chain on the stack and written out
 * only when there is an error (a report has hundreds of fields). */
struct path {
    const struct path *up;
    const char *name;
};

static void path_format(const struct path *p, char *out, size_t outlen)
{
    if (!p) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    path_format(p->up, out, outlen);
    size_t n = strlen(out);
    snprintf(out + n, outlen - n, "%s%s", p->up ? "." : "", p->name);
}

/* Field number id of d: fields numbered 1..n in order (every message of
 * report.proto) are found by index, others by protobuf-c's search. */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, uint64_t id)
{
    if (id - 1 < d->n_fields && d->fields[id - 1].id == id)
        return &d->fields[id - 1];
    return id <= 0xffffffffu ? protobuf_c_message_descriptor_get_field(d, (unsigned)id) : NULL;
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, size_t base,
                const struct path *path, int depth, char *err, size_t errlen)
{
    size_t pos = 0;
    while (pos < len) {
        uint64_t key, n;
        if (varint(buf, len, &pos, &key) != 0)
            return 0;
        unsigned wire = (unsigned)(key & 7);
        const ProtobufCFieldDescriptor *f = field_of(d, key >> 3);
        if (wire == 0) {
            if (varint(buf, len, &pos, &n) != 0)
                return 0;
            continue;
        }
        if (wire == 1 || wire == 5) {
            size_t w = wire == 1 ? 8 : 4;
            if (len - pos < w)
                return 0;
            pos += w;
            continue;
        }
        if (wire != 2 || varint(buf, len, &pos, &n) != 0 || n > len - pos)
            return 0;                       /* groups, bad lengths: protobuf-c refuses */
        const uint8_t *p = buf + pos;
        size_t at = base + pos;
        pos += (size_t)n;
        if (!f)
            continue;
        struct path sub = {path, f->name};
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            /* one pass: util_utf8_valid refuses NUL too; memchr only names why */
            if (!util_utf8_valid((const char *)p, (size_t)n)) {
                const char *why = memchr(p, '\0', (size_t)n)
                                      ? "a NUL character inside a string is not accepted"
                                      : "not valid UTF-8";
                char where[256];
                path_format(&sub, where, sizeof where);
                return errf(err, errlen, "%s (byte %zu): %s", where, at, why);
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < PBGUARD_DEPTH) {
            if (walk(f->descriptor, p, (size_t)n, at, &sub, depth + 1, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

int pbguard_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                          char *err, size_t errlen)
{
    struct path root = {NULL, d->short_name};
    return walk(d, buf, len, 0, &root, 0, err, errlen);
}

static int budget_refused(const ProtobufCAllocator *pa)
{
    return ((const struct budget *)pa->allocator_data)->refused;
}

static int arena_pb_refused(const ProtobufCAllocator *pa)
{
    return arena_refused(pa->allocator_data);
}

/* Check the strings, then unpack through pa; refused says whether pa ran out. */
static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                                size_t budget, ProtobufCAllocator *pa,
                                int (*refused)(const ProtobufCAllocator *), char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (pbguard_check_strings(d, buf, len, err, errlen) != 0)
        return NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, pa, len, buf);
    if (!m && refused(pa))
        errf(err, errlen, "unpacking it would take more than %zu bytes of memory", budget);
    return m;
}

ProtobufCMessage *pbguard_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                 size_t len, size_t budget, char *err, size_t errlen)
{
    struct budget b = {0, budget, 0};
    ProtobufCAllocator pa = {budget_alloc, budget_free, &b};
    return unpack(d, buf, len, budget, &pa, budget_refused, err, errlen);
}

ProtobufCMessage *pbguard_unpack_in(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                    size_t len, size_t budget, struct arena *a, char *err,
                                    size_t errlen)
{
    ProtobufCAllocator pa;
    arena_pb_allocator(a, budget, &pa);
    return unpack(d, buf, len, budget, &pa, arena_pb_refused, err, errlen);
}
