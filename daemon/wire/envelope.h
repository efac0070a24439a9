/* envelope: the few fields a broker needs of a Submission or a Result, read
 * from the protobuf wire bytes — no unpacking, nothing allocated; the bytes
 * it forwards or stores stay as they came. Strings are slices into the
 * caller's buffer, cut at a NUL as protobuf-c's C strings would be. A
 * message field that occurs twice is merged, as protobuf does: a later value
 * wins, an earlier one stays where the later occurrence lacks it. */
#ifndef REPORTD_ENVELOPE_H
#define REPORTD_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

/* One field as it is on the wire. */
struct envelope_field {
    uint32_t id;                /* field number */
    unsigned wire;              /* 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit */
    uint64_t value;             /* wire 0: the varint; 1 and 5: the little-endian bytes */
    const uint8_t *data;        /* wire 2: the body (len bytes); else the value's bytes */
    size_t len;
    size_t start, value_at, end; /* offsets in the message: its key, its value, past its end */
};

/* The field at *pos of buf[0..len), *pos moved past it. Returns 1, 0 at the
 * end, or -1 when the bytes are not a field: a key or varint that runs off
 * the end or past 10 bytes, a first key byte saying field 0, a length past
 * the end, wire type 3, 4, 6 or 7. */
int envelope_next(const uint8_t *buf, size_t len, size_t *pos, struct envelope_field *f);

/* A string field's bytes; p NULL when the field is absent. */
struct envelope_str {
    const char *p;
    size_t len;                 /* up to the first NUL */
};

struct envelope_submission {
    struct envelope_str submission_id;  /* field 2 */
    struct envelope_str body_name;      /* body (3) . name (1) */
    struct envelope_str body_region;    /* body (3) . region_code (2) */
    int has_year;                       /* year (4) */
    uint32_t year;
    int has_previous;                   /* previous (8) */
};

/* A Submission's envelope, after checking that the bytes are a Submission
 * protobuf-c would unpack with valid strings (pbguard_valid). Returns 0, or
 * -1 with the field path, byte offset and why in err. */
int envelope_submission(const uint8_t *buf, size_t len, struct envelope_submission *e,
                        char *err, size_t errlen);

struct envelope_result {
    int32_t status;                     /* field 3, as the enum's int32 */
    struct envelope_str submission_id;  /* field 2 */
    int has_body;                       /* body (10) */
    struct envelope_str body_name, body_region;
    int has_region;                     /* enrichment (6) . region (13) */
    struct envelope_str region_code;    /* … . code (1) */
    int has_year;                       /* year (11) */
    uint32_t year;
    unsigned severity[3];               /* findings (5) by severity: notice, warning, error */
    int has_report;                     /* report (12): the report as read */
};

/* A Result's envelope, after checking that protobuf-c would unpack the
 * bytes as a Result (strings are not checked: a broker never did). Returns
 * 0, or -1 with the reason in err. */
int envelope_result(const uint8_t *buf, size_t len, struct envelope_result *e, char *err,
                    size_t errlen);
/* The same for bytes that were checked before: no check. */
void envelope_result_read(const uint8_t *buf, size_t len, struct envelope_result *e);

/* The region code a Result's topics are named after: enrichment.region.code
 * when present, else body.region_code (p NULL: none). */
struct envelope_str envelope_result_region(const struct envelope_result *e);

/* A checked Result without its report (field 12): the rest of its bytes in
 * their order (heap, *outlen), and the report's bytes (heap, *rlen; several
 * occurrences concatenated, which merges them). */
uint8_t *envelope_strip_report(const uint8_t *buf, size_t len, size_t *outlen, uint8_t **report,
                               size_t *rlen);

/* The Alert of a checked Result buf[0..len) whose envelope is e, packed
 * (heap, *outlen): the bytes checker_alert's Alert packs to — body, region,
 * counts by severity, the top findings without cell lists and message_en,
 * year. */
uint8_t *envelope_alert(const uint8_t *buf, size_t len, const struct envelope_result *e,
                        size_t *outlen);

/* A slice as a heap C string (NULL for an absent one). */
char *envelope_strdup(struct envelope_str s);

#endif
