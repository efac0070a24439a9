/* layoutscan: the line and token scanner under layoutread (pdftotext
 * -layout). It splits a document into lines (trimmed, page numbers cut,
 * indentation measured in code points), and table regions into number tokens
 * and label fragments. Private to the pdftotext reader: layoutread.c is its
 * only user. */
#ifndef REPORTD_LAYOUTSCAN_H
#define REPORTD_LAYOUTSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "report/layout.h"
#include "base/util.h"

#define LR_MAX_INPUT ((size_t)64 << 20)
#define LR_NORM 384              /* bytes kept of a normalized label */
#define LR_HEAD_MAX 255          /* longest line (bytes) tried as a heading */
#define LR_MAX_CPS 64            /* first code points of heading titles */
#define LR_T2LAB 128             /* bytes kept of a normalized T2 row label */
#define LR_GAP 32                /* label pieces between two rows, or on a row's line */

enum { LINE_BLANK, LINE_PAGENO, LINE_TEXT, LINE_BARE_DIGITS };
enum { TOK_TEXT, TOK_NUM, TOK_MARK };    /* MARK: a placeholder like "/" "—" "无" */
#define OWNER_NONE (-1)          /* group label, header, or nobody's */
#define OWNER_OPEN (-2)          /* not decided yet */
#define OWNER_ALONE (-3)         /* T2: an official row label without numbers */

struct line {
    const char *s;
    unsigned len;                /* bytes, newline and CR excluded */
    unsigned a, b;               /* content [a, b) in bytes: trimmed, page numbers cut */
    unsigned indent;             /* code points before a, form feeds not counted */
    unsigned page;               /* 0-based */
    unsigned char kind;
};

struct tok { unsigned line, a, b, col, gap; };   /* gap: spaces before it */
struct frag { unsigned line, a, b, col; int owner; };
struct numline { unsigned line, tok0, ntok, frag0, nfrag; };

struct scan {
    struct tok *t;
    size_t nt, ct;
    struct frag *f;
    size_t nf, cf;
    struct numline *n;
    size_t nn, cn;
};

struct ctx {
    const char *fn;
    const struct layouts *ls;
    struct line *lines;
    unsigned nlines;
    int head[LAYOUT_SECTIONS];   /* heading line index, or -1 */
    struct scan sc;
    char (*t2lab)[LR_T2LAB];     /* official T2 row labels of every layout, normalized */
    int nt2lab;
    char *err;
    size_t errlen;
};

/* Small helpers shared by the scanner and the reader. */
static inline size_t char_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static inline int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static inline int is_alnum(char ch)
{
    return is_digit(ch) || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z');
}

/* Bytes of one white-space character at s, or 0. */
static inline size_t space_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == ' ' || u[0] == '\t' || u[0] == '\f' || u[0] == '\r' || u[0] == '\v')
        return 1;
    if (u[0] < 0xc2 || (u[0] != 0xc2 && u[0] != 0xe3))
        return 0;
    if (n >= 3 && u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
        return 3;                /* U+3000 ideographic space */
    if (n >= 2 && u[0] == 0xc2 && u[1] == 0xa0)
        return 2;                /* U+00A0 */
    return 0;
}

static inline unsigned ncp(const char *s, size_t n)
{
    unsigned k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

/* Trim one line, cut page numbers, classify it; returns the page of the next line. */
unsigned layoutscan_measure(struct line *ln, unsigned page);

/* Split text into c->lines (owned by c), measured. */
void layoutscan_split_lines(struct ctx *c, const char *text, size_t len);

/* Normalize s[0..n) for comparing labels into out (at most cap-1 bytes and a
 * NUL): no white space or quotes, one form of punctuation, "1、" as "1.".
 * Returns the length written. A fixed-buffer sibling of layout_normalize_label. */
size_t layoutscan_norm(char *out, size_t cap, const char *s, size_t n);

/* The row marker at the start of a normalized label ("（三）" 1003, "三、" 3,
 * "1." 101), or -1. */
int layoutscan_marker_key(const char *s, size_t n);

/* Whether two markers match: digits whatever encloses them, Chinese exactly. */
int layoutscan_key_match(int a, int b);

/* Tokenize lines [from, to) into c->sc: number tokens, label fragments, and
 * the number lines (lines ending in number tokens). */
void layoutscan_scan_region(struct ctx *c, unsigned from, unsigned to);

/* A fragment's text (borrowed from the document) and its length in *n. */
const char *layoutscan_frag_text(const struct ctx *c, const struct frag *f, size_t *n);

/* A fragment normalized into out, as layoutscan_norm. */
size_t layoutscan_frag_norm(const struct ctx *c, const struct frag *f, char *out, size_t cap);

/* Append s[0..n) to b without its white space. */
void layoutscan_append_nospace(struct buf *b, const char *s, size_t n);

/* Append the fragments [lo, hi) owned by row to b, white space removed. */
void layoutscan_frag_label(const struct ctx *c, size_t lo, size_t hi, int row, struct buf *b);

/* Whether line li opens table ti: a centred header, aligned columns, or one
 * of the table's header labels (T2 blocks, column labels and groups). */
int layoutscan_table_line(const struct ctx *c, unsigned li, int ti);


#endif
