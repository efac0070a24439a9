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

int pbguard_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
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

/* How a walk treats what it meets: lenient (malformed bytes are left to
 * protobuf-c) or strict (malformed bytes are an error, decided as protobuf-c
 * decides them); strings checked or not. */
struct mode {
    int strict, strings;
};

/* A strict walk's refusal: the field path, the byte offset and why. */
static int malformed(const struct path *path, size_t at, const char *why, char *err,
                     size_t errlen)
{
    char where[256];
    path_format(path, where, sizeof where);
    return errf(err, errlen, "%s (byte %zu): %s", where, at, why);
}

/* protobuf-c's key: at most 5 bytes, the field number cut to 32 bits, and
 * not a first byte that says field 0. */
static int key_of(const uint8_t *buf, size_t len, size_t *pos, uint64_t *key)
{
    size_t start = *pos;
    if ((buf[start] & 0xf8) == 0)
        return -1;
    return pbguard_varint(buf, len, pos, key) != 0 || *pos - start > 5 ? -1 : 0;
}

/* The wire type a known field of type t must come with (bool: any, as
 * protobuf-c reads it); -1 for any. */
static inline int wire_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 5;
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 1;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    case PROTOBUF_C_TYPE_BOOL:
        return -1;
    default:
        return 0;
    }
}

/* The body of a packed repeated field of type t: whole elements only. */
static int packed_ok(ProtobufCType t, const uint8_t *p, size_t n)
{
    int w = wire_of(t);
    if (w == 5 || w == 1)
        return n % (w == 5 ? 4 : 8) == 0;
    for (size_t pos = 0; pos < n;) {
        uint64_t v;
        size_t start = pos;
        if (t == PROTOBUF_C_TYPE_BOOL) {
            if (p[pos++] > 1)
                return 0;
        } else if (pbguard_varint(p, n, &pos, &v) != 0 || pos - start > 10) {
            return 0;
        }
    }
    return 1;
}

/* A known field f met with wire type wire and (wire 2) body p[0..n): 0, or
 * -1 with err where protobuf-c would refuse it. */
static inline int strict_field(const ProtobufCFieldDescriptor *f, unsigned wire, const uint8_t *p,
                        size_t n, size_t at, const struct path *sub, char *err, size_t errlen)
{
    int packable = f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES &&
                   f->type != PROTOBUF_C_TYPE_MESSAGE;
    if (f->label == PROTOBUF_C_LABEL_REPEATED && wire == 2 &&
        (packable || (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED))) {
        if (!packable || !packed_ok(f->type, p, n))
            return malformed(sub, at, "a packed repeated field with a partial element", err,
                             errlen);
        return 0;
    }
    int want = wire_of(f->type);
    if (want >= 0 && (unsigned)want != wire)
        return malformed(sub, at, "the wrong wire type for its field", err, errlen);
    return 0;
}

/* The required fields of d without a default that seen (a bit per field
 * index) lacks: 0, or -1 with the first one's path in err. */
static int required_ok(const ProtobufCMessageDescriptor *d, const uint8_t *seen,
                       const struct path *path, size_t base, char *err, size_t errlen)
{
    for (unsigned i = 0; i < d->n_fields && i < 256; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !d->fields[i].default_value &&
            !(seen[i / 8] & (1u << (i % 8)))) {
            struct path sub = {path, d->fields[i].name};
            return malformed(&sub, base, "a required field is missing", err, errlen);
        }
    return 0;
}

/* A varint at *pos whose first byte ends it (most keys and lengths), else
 * the general reader. */
static inline int varint_fast(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    if (*pos < len && buf[*pos] < 0x80) {
        *out = buf[(*pos)++];
        return 0;
    }
    return pbguard_varint(buf, len, pos, out);
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, size_t base,
                const struct path *path, int depth, struct mode m, char *err, size_t errlen)
{
    uint8_t seen[32] = {0};         /* required fields met, by index (a message of <= 256) */
    size_t pos = 0;
    while (pos < len) {
        uint64_t key, n;
        size_t at = base + pos;
        if (m.strict ? (buf[pos] & 0xf8) != 0 && buf[pos] < 0x80 ? (key = buf[pos++], 0)
                                                              : key_of(buf, len, &pos, &key)
                     : varint_fast(buf, len, &pos, &key))
            return m.strict ? malformed(path, at, "a truncated field key or field number 0", err,
                                        errlen) : 0;
        unsigned wire = (unsigned)(key & 7);
        uint32_t id = (uint32_t)(key >> 3);
        /* fields numbered 1..n in order (every message of report.proto): by index */
        const ProtobufCFieldDescriptor *f = id - 1 < d->n_fields && d->fields[id - 1].id == id
                                                ? &d->fields[id - 1] : field_of(d, id);
        size_t idx = f ? (size_t)(f - d->fields) : 0;
        if (f && idx < 256)
            seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
        struct path sub = {path, f ? f->name : "(unknown field)"};
        const uint8_t *p = buf + pos;
        if (wire == 0) {
            size_t start = pos;
            if (varint_fast(buf, len, &pos, &n) != 0 || pos - start > 10)
                return m.strict ? malformed(&sub, at, "a truncated varint", err, errlen) : 0;
            n = 0;
        } else if (wire == 1 || wire == 5) {
            n = wire == 1 ? 8 : 4;
            if (len - pos < n)
                return m.strict ? malformed(&sub, at, "a truncated fixed-size value", err, errlen)
                                : 0;
        } else if (wire == 2) {
            size_t start = pos;
            if (varint_fast(buf, len, &pos, &n) != 0 || pos - start > 5 ||
                (n &= 0xffffffffu) > len - pos)     /* protobuf-c reads 32 bits of it */
                return m.strict ? malformed(&sub, at, "a length past the end of the message",
                                            err, errlen) : 0;
            p = buf + pos;
        } else {
            /* groups and wire types 6, 7: protobuf-c refuses them */
            return m.strict ? malformed(&sub, at, "an unsupported wire type", err, errlen) : 0;
        }
        pos += (size_t)n;
        if (!f)
            continue;
        if (m.strict && strict_field(f, wire, p, (size_t)n, at, &sub, err, errlen) != 0)
            return -1;
        if (wire != 2)
            continue;
        if (f->type == PROTOBUF_C_TYPE_STRING && m.strings) {
            /* one pass: util_utf8_valid refuses NUL too; memchr only names why */
            if (!util_utf8_valid((const char *)p, (size_t)n)) {
                const char *why = memchr(p, '\0', (size_t)n)
                                      ? "a NUL character inside a string is not accepted"
                                      : "not valid UTF-8";
                return malformed(&sub, base + (size_t)(p - buf), why, err, errlen);
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < PBGUARD_DEPTH) {
            if (walk(f->descriptor, p, (size_t)n, base + (size_t)(p - buf), &sub, depth + 1, m,
                     err, errlen) != 0)
                return -1;
        }
    }
    return m.strict ? required_ok(d, seen, path, base, err, errlen) : 0;
}

int pbguard_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                          char *err, size_t errlen)
{
    struct path root = {NULL, d->short_name};
    return walk(d, buf, len, 0, &root, 0, (struct mode){0, 1}, err, errlen);
}

int pbguard_valid(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                  int strings, char *err, size_t errlen)
{
    struct path root = {NULL, d->short_name};
    return walk(d, buf, len, 0, &root, 0, (struct mode){1, strings}, err, errlen);
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
