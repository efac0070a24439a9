/* digitsplit: splits table rows whose cells ran together into one digit run
 * ("21710000218") by solving the layout's own identities (each row's 总计 =
 * Σ its columns, the column sums, each T4 block's 总计). Numbers are written
 * without leading zeros ("0" alone is fine). A split is read only when it is
 * the one that satisfies them; otherwise the caller gets the row and its
 * candidates, never a guess. */
#ifndef REPORTD_DIGITSPLIT_H
#define REPORTD_DIGITSPLIT_H

#include <stddef.h>

#include "report/layout.h"

#define DIGITSPLIT_MAX_NODES 100000ul   /* search nodes per table: the bound on the work (real pages: < 1,000) */

struct digitsplit;

/* Split row r's run runs[r] (lens[r] bytes: ASCII digits, and '.' in an
 * amount cell) into the cells of lt's row r. A row with lens[r] == 0 has
 * blank cells and is left out. A row no identity touches keeps its split only
 * when it is the one possible; otherwise it is left unread (digitsplit_note
 * says why). Returns the solution (owned; digitsplit_destroy), or NULL with
 * the reason in err ("T3 row new: 21710000218 splits 2 ways: …") and the row
 * named in *bad_row (-1: the table as a whole). */
struct digitsplit *digitsplit_solve(const struct layout_table *lt, const char *const runs[],
                                    const size_t lens[], unsigned long max_nodes, int *bad_row,
                                    char *err, size_t errlen);
void digitsplit_destroy(struct digitsplit **dp);

/* Cell k (in row order) of row r as the offset and length of its digits in
 * runs[r]. Returns 1, or 0 when the row was blank or left unread. */
int digitsplit_cell(const struct digitsplit *d, int r, int k, size_t *off, size_t *len);
/* Why row r was left unread ("77132470 splits 15 ways: 7,7,132470 | …"), or NULL. Borrowed. */
const char *digitsplit_note(const struct digitsplit *d, int r);
/* 1 when row r was split from a run of more than one cell. */
int digitsplit_split(const struct digitsplit *d, int r);
/* Search nodes the solution took (row enumeration and the combination). */
unsigned long digitsplit_nodes(const struct digitsplit *d);

#endif
