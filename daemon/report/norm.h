/* norm: the one text normalisation behind every label and title comparison —
 * the layouts (pre-normalised at load), every reader (text dump, pdftotext
 * -layout, and the HTML and run-together text readers to come) and the rules.
 * Two strings printed differently but meaning the same label normalise to the
 * same bytes. Pure functions, no state: safe from any thread.
 *
 * The fold, code point by code point (norm_fold):
 *   white space       U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680,
 *                     U+2000..U+200B, U+2028, U+2029, U+202F, U+205F,
 *                     U+3000 (ideographic space), U+FEFF     -> dropped
 *   quotes            " ' U+2018..U+201D ‘’‚‛“” U+300C..U+300F 「」『』
 *                     and their full-width forms ＂ ＇          -> dropped
 *   full-width ASCII  U+FF01..U+FF5E -> U+0021..U+007E (half width):
 *                     （）→() ，→,  ：→:  ；→;  ．→.  ０..９→0..9  Ａ→A …
 *   everything else   unchanged (CJK, 、 。 — “” excepted as above)
 * and one rule in context (norm_label_into, norm_label):
 *   U+3001 、 right after an ASCII digit -> "."    ("1、" is "1.")
 * So "（一）" "(一)" and "( 一 )" all become "(一)"; "1." "1、" "１．" "1 、"
 * become "1."; "一、" stays "一、". Invalid UTF-8 bytes are dropped.
 * The output is never longer than the input. */
#ifndef REPORTD_NORM_H
#define REPORTD_NORM_H

#include <stddef.h>
#include <stdint.h>

/* The comparison form of one code point, 0 when it is dropped (the context
 * rule for 、 is not applied here). */
uint32_t norm_fold(uint32_t cp);

/* Normalise s[0..n) into out: at most cap-1 bytes and a NUL, never cutting a
 * code point. Returns the length written. cap = n + 1 always suffices. */
size_t norm_label_into(char *out, size_t cap, const char *s, size_t n);

/* As norm_label_into, and map[i] (when map is not NULL; room for cap entries)
 * is the offset in s of the code point out[i] came from, so a match in the
 * normalised text can be traced back to the bytes as printed. */
size_t norm_label_map(char *out, size_t cap, const char *s, size_t n, size_t *map);

/* Normalise a NUL-terminated string into a fresh heap string (caller frees). */
char *norm_label(const char *s);

/* The first code point of the normalised s[0..n), 0 when it normalises to "".
 * Cheap: for prefiltering lines before norm_label. */
uint32_t norm_first_cp(const char *s, size_t n);

/* Row numbering at the start of a normalised label: "(三)" "(3)" "三、" "十一、"
 * "3." "3)". Returns its length in bytes (0 when there is none) and, when key
 * is not NULL, its key: 1000 with parentheses + 100 for Arabic digits + the
 * number ("(三)" 1003, "三、" 3, "3." 103, "(3)" 1103), -1 without numbering. */
size_t norm_numbering(const char *s, size_t n, int *key);

/* A normalised label without its leading numbering. Borrowed from s. */
const char *norm_skip_numbering(const char *s);

/* Whether two numbering keys name the same row: Arabic digits match whatever
 * encloses them ("3." and "(3)"), Chinese ones must match exactly. */
int norm_key_match(int a, int b);

/* Bytes of one white-space character (as the fold above drops) at s[0..n), or 0. */
static inline size_t norm_space_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r');
    switch (u[0]) {
    case 0xc2:                   /* U+0085, U+00A0 */
        return n >= 2 && (u[1] == 0x85 || u[1] == 0xa0) ? 2 : 0;
    case 0xe1:                   /* U+1680 */
        return n >= 3 && u[1] == 0x9a && u[2] == 0x80 ? 3 : 0;
    case 0xe2:                   /* U+2000..U+200B, U+2028, U+2029, U+202F, U+205F */
        if (n < 3)
            return 0;
        if (u[1] == 0x80)
            return u[2] <= 0x8b || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf ? 3 : 0;
        return u[1] == 0x81 && u[2] == 0x9f ? 3 : 0;
    case 0xe3:                   /* U+3000 */
        return n >= 3 && u[1] == 0x80 && u[2] == 0x80 ? 3 : 0;
    case 0xef:                   /* U+FEFF */
        return n >= 3 && u[1] == 0xbb && u[2] == 0xbf ? 3 : 0;
    default:
        return 0;
    }
}

#endif
