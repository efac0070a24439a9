/* norm: the label fold documented in norm.h. norm_label_into is on the
 * readers' hot path: CJK ideographs (lead bytes E4..E9, none of which fold)
 * and plain ASCII are copied without decoding; only the rest goes through
 * norm_fold. Every fold maps a code point to one no longer than itself, so
 * the output never outgrows the input. */
#include "report/norm.h"

#include <string.h>

#include "base/util.h"

uint32_t norm_fold(uint32_t cp)
{
    if (cp >= 0xff01 && cp <= 0xff5e)
        cp -= 0xfee0;            /* full-width ASCII forms */
    switch (cp) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f:
    case 0x3000: case 0xfeff:
    case '"': case '\'': case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x201c:
    case 0x201d: case 0x300c: case 0x300d: case 0x300e: case 0x300f:
        return 0;
    default:
        return cp >= 0x2000 && cp <= 0x200b ? 0 : cp;
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t norm_label_into(char *out, size_t cap, const char *s, size_t n)
{
    return norm_label_map(out, cap, s, n, NULL);
}

size_t norm_label_map(char *out, size_t cap, const char *s, size_t n, size_t *map)
{
    size_t o = 0, i = 0;
    if (cap == 0)
        return 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xe4 && c <= 0xe9 && i + 2 < n && ((unsigned char)s[i + 1] & 0xc0) == 0x80 &&
            ((unsigned char)s[i + 2] & 0xc0) == 0x80) {
            if (o + 3 >= cap)
                break;
            memcpy(out + o, s + i, 3);     /* U+4000..U+9FFF: nothing folds */
            if (map)
                map[o] = map[o + 1] = map[o + 2] = i;
            o += 3, i += 3;
            continue;
        }
        if (c < 0x80) {
            i++;
            if (c == ' ' || (c >= '\t' && c <= '\r') || c == '"' || c == '\'')
                continue;        /* as norm_fold(c) == 0 */
            if (o + 1 >= cap)
                break;
            if (map)
                map[o] = i - 1;
            out[o++] = (char)c;
            continue;
        }
        uint32_t cp;
        size_t w = util_utf8_next(s + i, n - i, &cp);
        if (w == 0) {
            i++;                 /* an invalid byte */
            continue;
        }
        uint32_t f = norm_fold(cp);
        if (f == 0x3001 && o > 0 && is_digit(out[o - 1]))
            f = '.';
        if (f == 0) {
            i += w;
            continue;
        }
        if (f == cp) {
            if (o + w >= cap)
                break;
            memcpy(out + o, s + i, w);
            for (size_t k = 0; map && k < w; k++)
                map[o + k] = i;
            o += w;
        } else {                 /* every fold that changes a code point lands in ASCII */
            if (o + 1 >= cap)
                break;
            if (map)
                map[o] = i;
            out[o++] = (char)f;
        }
        i += w;
    }
    out[o] = '\0';
    return o;
}

char *norm_label(const char *s)
{
    size_t n = strlen(s);
    char *out = xmalloc(n + 1);
    norm_label_into(out, n + 1, s, n);
    return out;
}

uint32_t norm_first_cp(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t w = util_utf8_next(s + i, n - i, &cp);
        if (w == 0) {
            i++;
            continue;
        }
        uint32_t f = norm_fold(cp);
        if (f)
            return f;
        i += w;
    }
    return 0;
}

/* 一..十 at s as 1..10, 0 otherwise. */
static int cn_digit(const char *s, size_t n)
{
    static const char *const d[] = {"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
    if (n < 3)
        return 0;
    for (int i = 0; i < 10; i++)
        if (!memcmp(s, d[i], 3))
            return i + 1;
    return 0;
}

size_t norm_numbering(const char *s, size_t n, int *key)
{
    size_t i = 0;
    int paren = 0, v = 0, digit = 0;
    if (key)
        *key = -1;
    if (n >= 1 && s[0] == '(')
        paren = 1, i = 1;
    if (i < n && is_digit(s[i])) {
        digit = 1;
        while (i < n && is_digit(s[i]) && v < 100)
            v = v * 10 + (s[i++] - '0');
    } else {
        int d;
        for (int nd = 0; nd < 3 && (d = cn_digit(s + i, n - i)); nd++, i += 3)
            v = d == 10 ? (v ? v : 1) * 10 : v + d;     /* 十一 11, 二十 20, 二十一 21 */
    }
    if (v == 0)
        return 0;
    size_t k;
    if (paren || (digit && i < n && s[i] == ')'))
        k = i < n && s[i] == ')';
    else if (digit)
        k = i < n && s[i] == '.';
    else
        k = n - i >= 3 && !memcmp(s + i, "、", 3) ? 3 : 0;
    if (k == 0)
        return 0;
    if (key)
        *key = paren * 1000 + digit * 100 + v;
    return i + k;
}

const char *norm_skip_numbering(const char *s)
{
    return s + norm_numbering(s, strlen(s), NULL);
}

int norm_key_match(int a, int b)
{
    if (a < 0 || b < 0)
        return 0;
    if (a % 1000 >= 100 && b % 1000 >= 100)
        return a % 1000 == b % 1000;
    return a == b;
}
