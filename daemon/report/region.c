/* region: the division table behind region.h. The file is read once into
 * `text` and split in place; every entry's name points into it. Entries are
 * sorted by code with no duplicates (the loader refuses anything else), so a
 * lookup is a binary search. Each county knows the index of its province and
 * of its prefecture (-1 when it has none), each prefecture its province; a
 * parent always sorts before its children. regions_guess is a linear scan of
 * the names against one short body name, with its scratch state on the heap,
 * so a loaded table is never written again. */
#include "report/region.h"

#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGIONS_MAX_BYTES (16u << 20)

enum level { REGION_PROVINCE, REGION_PREFECTURE, REGION_COUNTY };

struct region {
    char code[7];
    enum level level;
    const char *name;     /* into regions.text, NUL-terminated */
    size_t name_len;      /* bytes */
    size_t stem_len;      /* bytes of the name without its suffix; 0: no stem */
    int matchable;        /* 0 for placeholders such as 市辖区 */
    ptrdiff_t province;   /* index of the province; -1 for a province */
    ptrdiff_t prefecture; /* index of the prefecture; -1 when there is none */
};

struct regions {
    char *text;
    struct region *v;
    size_t n;
};

/* Prefecture-level rows that group divisions rather than name a place. */
static const char *const placeholders[] = {
    "市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划",
};

/* Longer suffixes first: 自治区 must win over 区. */
static const char *const suffixes[] = {
    "特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区",
    "省", "市", "区", "县", "旗", "盟",
};

/* Peoples named in autonomous divisions ("恩施土家族苗族自治州" -> 恩施). */
static const char *const peoples[] = {
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗",
    "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "拉祜",
    "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗",
    "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
    "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春",
    "赫哲", "门巴", "珞巴", "基诺", "高山", "各",
};

/* Words that begin department names and equal a stem (公安县): 荆州市公安局 is
 * the city's police, so no stem may match where one of these starts. */
static const char *const not_stems[] = { "公安" };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static size_t codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        uint32_t cp;
        size_t step = util_utf8_next(s + i, len - i, &cp);
        i += step ? step : 1;
    }
    return n;
}

/* Bytes of suffix when s[0..len) ends with it, else 0. */
static size_t ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return n < len && memcmp(s + len - n, suffix, n) == 0 ? n : 0;
}

/* Strip trailing peoples, with or without 族, while two characters remain. */
static size_t strip_peoples(const char *name, size_t len)
{
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < COUNT(peoples) && !again; i++) {
            char with_zu[32];
            snprintf(with_zu, sizeof with_zu, "%s族", peoples[i]);
            size_t cut = ends_with(name, len, with_zu);
            /* A bare single-character people would eat 西藏 and 内蒙古. */
            if (!cut && codepoints(peoples[i], strlen(peoples[i])) > 1)
                cut = ends_with(name, len, peoples[i]);
            if (cut && codepoints(name, len - cut) >= 2) {
                len -= cut;
                again = 1;
            }
        }
    }
    return len;
}

/* The name without its administrative suffix: 湘乡市 -> 湘乡, 新疆维吾尔自治区 ->
 * 新疆. Returns its length in bytes, or 0 when fewer than two characters would
 * remain (城区, 矿区) or there is no suffix. */
static size_t stem_of(const char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(suffixes); i++) {
        size_t cut = ends_with(name, len, suffixes[i]);
        if (!cut)
            continue;
        size_t stem = len - cut;
        if (strncmp(suffixes[i], "自治", strlen("自治")) == 0)
            stem = strip_peoples(name, stem);
        return codepoints(name, stem) >= 2 ? stem : 0;
    }
    return 0;
}

static int is_placeholder(const char *name)
{
    for (size_t i = 0; i < COUNT(placeholders); i++)
        if (strcmp(name, placeholders[i]) == 0)
            return 1;
    return 0;
}

static int is_code(const char *s, size_t len)
{
    if (len != 6)
        return 0;
    for (size_t i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static enum level level_of(const char *code)
{
    if (memcmp(code + 2, "0000", 4) == 0)
        return REGION_PROVINCE;
    if (memcmp(code + 4, "00", 2) == 0)
        return REGION_PREFECTURE;
    return REGION_COUNTY;
}

struct loader {
    struct regions *rs;
    size_t cap;
    const char *path;
    size_t line;
    ptrdiff_t province;   /* the last province seen, -1 before the first */
    ptrdiff_t prefecture; /* the last prefecture seen */
};

/* Link e to the province and prefecture above it; both must already be loaded
 * because parents sort first. */
static int link_parents(struct loader *ld, struct region *e, char *err, size_t errlen)
{
    const struct region *v = ld->rs->v;
    e->province = e->prefecture = -1;
    if (e->level == REGION_PROVINCE)
        return 0;
    if (ld->province < 0 || memcmp(v[ld->province].code, e->code, 2) != 0)
        return errf(err, errlen, "%s:%zu: %s has no province %.2s0000 before it",
                    ld->path, ld->line, e->code, e->code);
    e->province = ld->province;
    if (e->level == REGION_PREFECTURE || memcmp(e->code + 2, "00", 2) == 0)
        return 0;
    if (ld->prefecture < 0 || memcmp(v[ld->prefecture].code, e->code, 4) != 0)
        return errf(err, errlen, "%s:%zu: %s has no prefecture %.4s00 before it",
                    ld->path, ld->line, e->code, e->code);
    e->prefecture = ld->prefecture;
    return 0;
}

/* Parse one `code<TAB>name` line (NUL-terminated, len bytes) into the table. */
static int add_line(struct loader *ld, char *line, size_t len, char *err, size_t errlen)
{
    struct regions *rs = ld->rs;
    char *tab = memchr(line, '\t', len);
    if (!util_utf8_valid(line, len))
        return errf(err, errlen, "%s:%zu: not valid UTF-8", ld->path, ld->line);
    if (!tab || !is_code(line, (size_t)(tab - line)))
        return errf(err, errlen, "%s:%zu: expected a 6-digit code, a tab and a name",
                    ld->path, ld->line);
    const char *name = tab + 1;
    size_t name_len = len - (size_t)(name - line);
    if (name_len == 0)
        return errf(err, errlen, "%s:%zu: empty name", ld->path, ld->line);
    if (memchr(name, '\t', name_len))
        return errf(err, errlen, "%s:%zu: more than one tab", ld->path, ld->line);
    if (memcmp(line, "00", 2) == 0)
        return errf(err, errlen, "%s:%zu: %.6s has province 00", ld->path, ld->line, line);
    if (rs->n > 0 && memcmp(rs->v[rs->n - 1].code, line, 6) >= 0)
        return errf(err, errlen, "%s:%zu: %.6s does not sort after %s (sorted, no duplicates)",
                    ld->path, ld->line, line, rs->v[rs->n - 1].code);
    if (rs->n == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 4096;
        rs->v = xrealloc(rs->v, ld->cap * sizeof *rs->v);
    }
    struct region *e = &rs->v[rs->n];
    memcpy(e->code, line, 6);
    e->code[6] = '\0';
    e->level = level_of(e->code);
    if (link_parents(ld, e, err, errlen) != 0)
        return -1;
    e->name = name;
    e->name_len = name_len;
    e->matchable = !is_placeholder(name);
    e->stem_len = e->matchable ? stem_of(name, name_len) : 0;
    if (e->level == REGION_PROVINCE)
        ld->province = (ptrdiff_t)rs->n;
    else if (e->level == REGION_PREFECTURE)
        ld->prefecture = (ptrdiff_t)rs->n;
    rs->n++;
    return 0;
}

struct regions *regions_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = util_read_file(path, REGIONS_MAX_BYTES, &len, err, errlen);
    if (!text)
        return NULL;
    struct regions *rs = xcalloc(1, sizeof *rs);
    rs->text = text;
    struct loader ld = { .rs = rs, .path = path, .province = -1, .prefecture = -1 };
    char *p = text, *end = text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *eol = nl ? nl : end;
        *eol = '\0';
        if (eol > p && eol[-1] == '\r')
            *--eol = '\0';
        ld.line++;
        if (eol > p && *p != '#' && add_line(&ld, p, (size_t)(eol - p), err, errlen) != 0)
            goto fail;
        p = nl ? nl + 1 : end;
    }
    if (rs->n == 0) {
        errf(err, errlen, "%s:%zu: no regions in the file", path, ld.line);
        goto fail;
    }
    return rs;
fail:
    regions_destroy(&rs);
    return NULL;
}

void regions_destroy(struct regions **rp)
{
    if (!rp || !*rp)
        return;
    free((*rp)->v);
    free((*rp)->text);
    free(*rp);
    *rp = NULL;
}

size_t regions_count(const struct regions *rs)
{
    return rs->n;
}

static int cmp_code(const void *key, const void *elem)
{
    return memcmp(key, ((const struct region *)elem)->code, 6);
}

static const struct region *find(const struct regions *rs, const char *code6)
{
    return bsearch(code6, rs->v, rs->n, sizeof *rs->v, cmp_code);
}

/* The name at code6's first `digits` digits padded with zeros, or NULL. */
static const char *name_at(const struct regions *rs, const char *code6, size_t digits)
{
    char key[6];
    memcpy(key, code6, digits);
    memset(key + digits, '0', 6 - digits);
    const struct region *e = find(rs, key);
    return e ? e->name : NULL;
}

int regions_lookup(const struct regions *rs, const char *code, struct region_names *out)
{
    memset(out, 0, sizeof *out);
    if (!code || !is_code(code, strlen(code)))
        return -1;
    memcpy(out->code, code, 6);
    memcpy(out->province_code, code, 2);
    out->province = name_at(rs, code, 2);
    enum level level = level_of(code);
    /* A county directly under its province (NN00CC) has no prefecture. */
    if (level != REGION_PROVINCE && memcmp(code + 2, "00", 2) != 0) {
        memcpy(out->prefecture_code, code, 4);
        out->prefecture = name_at(rs, code, 4);
    }
    const struct region *e = find(rs, code);
    if (e && level == REGION_COUNTY)
        out->county = e->name;
    return e ? 0 : -1;
}

/* One occurrence of a name or stem in the body, in bytes. */
struct match {
    size_t entry;
    size_t start, end;
    int dead;
};

struct matches {
    struct match *v;
    size_t n, cap;
};

static void add_match(struct matches *m, size_t entry, size_t start, size_t end)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xrealloc(m->v, m->cap * sizeof *m->v);
    }
    m->v[m->n++] = (struct match){ .entry = entry, .start = start, .end = end };
}

static int stem_allowed_at(const char *s)
{
    for (size_t i = 0; i < COUNT(not_stems); i++)
        if (strncmp(s, not_stems[i], strlen(not_stems[i])) == 0)
            return 0;
    return 1;
}

/* Bytes of a stem match of e at s, counting the short suffix of an autonomous
 * division when it follows (湘西州, 城步县, 海南州 rather than 海南省); 0 when
 * the stem does not match. */
static size_t stem_match(const struct region *e, const char *s, size_t left)
{
    static const char *const autonomous[] = { "自治州", "自治县", "自治旗" };
    if (!e->stem_len || e->stem_len > left || memcmp(s, e->name, e->stem_len) != 0)
        return 0;
    for (size_t i = 0; i < COUNT(autonomous); i++) {
        if (!ends_with(e->name, e->name_len, autonomous[i]))
            continue;
        const char *short_suffix = autonomous[i] + strlen("自治");
        size_t n = strlen(short_suffix);
        if (left - e->stem_len >= n && memcmp(s + e->stem_len, short_suffix, n) == 0)
            return e->stem_len + n;
    }
    return e->stem_len;
}

/* Full names anywhere; then stems where a name could start: at the start of the
 * body or right after another match, so 自然资源局 does not become 资源县. */
static void collect(const struct regions *rs, const char *body, size_t len, struct matches *m)
{
    char *after = xcalloc(len + 1, 1);
    after[0] = 1;
    for (size_t i = 0; i < rs->n; i++) {
        if (!rs->v[i].matchable)
            continue;
        for (const char *s = body; (s = strstr(s, rs->v[i].name)) != NULL; s++) {
            size_t start = (size_t)(s - body);
            add_match(m, i, start, start + rs->v[i].name_len);
            after[start + rs->v[i].name_len] = 1;
        }
    }
    for (size_t p = 0; p < len; p++) {
        if (!after[p] || !stem_allowed_at(body + p))
            continue;
        for (size_t i = 0; i < rs->n; i++) {
            size_t n = stem_match(&rs->v[i], body + p, len - p);
            if (n) {
                add_match(m, i, p, p + n);
                after[p + n] = 1;
            }
        }
    }
    free(after);
}

/* Drop a match lying inside a longer one (城区 in 东城区, 淮安 in 淮安市) and,
 * among matches of the same text, all but the highest level: 湘潭 is the city
 * rather than 湘潭县, 嘉峪关市 the prefecture rather than its county. */
static void prune(const struct regions *rs, struct matches *m)
{
    for (size_t a = 0; a < m->n; a++) {
        struct match *x = &m->v[a];
        for (size_t b = 0; b < m->n && !x->dead; b++) {
            const struct match *y = &m->v[b];
            int inside = y->start <= x->start && x->end <= y->end;
            int same = y->start == x->start && y->end == x->end;
            if (inside && !same)
                x->dead = 1;
            else if (same && rs->v[y->entry].level < rs->v[x->entry].level)
                x->dead = 1;
        }
    }
}

static int matched(const struct matches *m, ptrdiff_t entry)
{
    for (size_t i = 0; entry >= 0 && i < m->n; i++)
        if (!m->v[i].dead && m->v[i].entry == (size_t)entry)
            return 1;
    return 0;
}

/* How many of the entry's ancestors the body also names. */
static int support(const struct regions *rs, const struct matches *m, size_t entry)
{
    const struct region *e = &rs->v[entry];
    return matched(m, e->province) + matched(m, e->prefecture);
}

/* The one best match at `level`: 1 with *entry set, 0 when the level has no
 * usable match, -1 when it is ambiguous. */
static int pick(const struct regions *rs, const struct matches *m, enum level level, size_t *entry)
{
    int best = -1, ties = 0, higher = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct match *x = &m->v[i];
        if (x->dead)
            continue;
        if (rs->v[x->entry].level < level)
            higher = 1;
        if (rs->v[x->entry].level != level)
            continue;
        int s = support(rs, m, x->entry);
        if (s > best)
            best = s, ties = 1, *entry = x->entry;
        else if (s == best && x->entry != *entry)
            ties++;
    }
    if (best < 0)
        return 0;
    /* A county that is in none of the named prefectures or provinces is noise
     * (淮安市城区...): fall back to the level above. */
    if (best == 0 && higher)
        return 0;
    return ties == 1 ? 1 : -1;
}

const char *regions_guess(const struct regions *rs, const char *body_name)
{
    size_t len = body_name ? strlen(body_name) : 0;
    if (len == 0 || !util_utf8_valid(body_name, len))
        return NULL;
    struct matches m = { 0 };
    collect(rs, body_name, len, &m);
    prune(rs, &m);
    const char *code = NULL;
    for (int level = REGION_COUNTY; level >= REGION_PROVINCE; level--) {
        size_t entry = 0;
        int r = pick(rs, &m, (enum level)level, &entry);
        if (r == 0)
            continue;
        if (r == 1)
            code = rs->v[entry].code;
        break;
    }
    free(m.v);
    return code;
}
