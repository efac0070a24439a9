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
#include "report/norm.h"
#include "base/util.h"

#define LR_MAX_INPUT ((size_t)64 << 20)
#define LR_NORM 384              /* bytes kept of a normalized label */
#define LR_HEAD_MAX 255          /* longest line (bytes) tried as a heading */
#define LR_MAX_CPS 64            /* first code points of heading titles */
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
    const char **t2lab;          /* official T2 row labels of every layout, normalized (borrowed) */
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

/* Tokenize lines [from, to) into c->sc: number tokens, label fragments, and
 * the number lines (lines ending in number tokens). */
void layoutscan_scan_region(struct ctx *c, unsigned from, unsigned to);

/* A fragment's text (borrowed from the document) and its length in *n. */
const char *layoutscan_frag_text(const struct ctx *c, const struct frag *f, size_t *n);

/* A fragment normalized into out (norm_label_into). */
size_t layoutscan_frag_norm(const struct ctx *c, const struct frag *f, char *out, size_t cap);

/* Append s[0..n) to b without its white space. */
void layoutscan_append_nospace(struct buf *b, const char *s, size_t n);

/* Append the fragments [lo, hi) owned by row to b, white space removed. */
void layoutscan_frag_label(const struct ctx *c, size_t lo, size_t hi, int row, struct buf *b);

/* Whether line li opens table ti: a centred header, aligned columns, or one
 * of the table's header labels (T2 blocks, column labels and groups). */
int layoutscan_table_line(const struct ctx *c, unsigned li, int ti);


#endif
