/*
 * page: the table as HTML or JSON, streamed row by row from an open
 * db page.  Every value passes through the HTML or JSON escaper.
 */
#ifndef PAGE_H
#define PAGE_H

#include "db.h"
#include "hostinfo.h"
#include "http.h"
#include "out.h"

struct page {
	const char *table;
	const struct hostinfo *host;
	const struct query *q; /* limit and format of this page */
	const char *mount;     /* where the page is, for its links */
	unsigned rows; /* out: the rows written so far, also on failure */
};

/*
 * Writes the body for a page whose query db_page_start has run with
 * nrows = q->limit + 1 (0 when no row can follow); the extra row only
 * tells that a next page exists.  Returns DB_OK, or DB_DOWN, DB_SLOW or
 * DB_ERROR if the rows could not all be read, or a value of a
 * JSON-number column is no number: the page then stops where it is,
 * unfinished, and the caller answers 503 or 500 instead if nothing has
 * been sent yet (out_rewind), or else cuts the answer off (app_finish).
 */
enum db_rc page_html(struct out *o, struct db *db, struct page *pg);
enum db_rc page_json(struct out *o, struct db *db, struct page *pg);

#endif
