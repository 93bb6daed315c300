/*
 * A stand-in for db.c: the whole of db.h, serving a table decoded from
 * fuzz input.  The page harness uses the rows; the unit tests of app.c
 * and worker.c also the calls around them (db_page_open, db_ping, ...),
 * whose answers fake_db_answer sets.  It keeps to
 * db.h's contract (a numeric value in one chunk, every other value in
 * one or more, an empty one as one empty chunk) and checks that its
 * caller does too.
 */
#ifndef FAKE_DB_H
#define FAKE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Reads fuzz input front to back; past its end every byte is 0. */
struct reader {
	const uint8_t *p;
	size_t n, i;
};

uint8_t rd_byte(struct reader *r);
/* Up to want bytes at *out; returns how many there were. */
size_t rd_bytes(struct reader *r, size_t want, const uint8_t **out);

/*
 * The table takes the rest of r's input: columns (name, numeric or
 * not, a JSON number or not), then rows (key, or a failure to read it; each cell NULL, a value
 * in chunks, or a value that fails after its chunks), then how the page
 * ends (no more rows, or an error).  NULL if out of memory.
 */
struct db *fake_db_new(struct reader *r);
void fake_db_free(struct db *db);
/* Back to before the first row, for the next page over the same table. */
void fake_db_rewind(struct db *db);

/* What a page of limit rows over the table must come to. */
struct fake_expect {
	enum db_rc rc; /* what page_html and page_json return */
	unsigned rows; /* rows shown, when rc is DB_OK */
	int more;      /* a next page exists */
	long long key; /* the key of the last row shown */
};

/*
 * json: the JSON page, where a value of a JSON-number column that is no
 * number breaks the page as a failed cell does.
 */
void fake_db_expect(const struct db *db, unsigned limit, int json,
    struct fake_expect *e);

/*
 * What db_page_open and db_ping answer from now on (both DB_OK at
 * first).  db_page_open rewinds the table when it answers DB_OK.
 */
void fake_db_answer(struct db *db, enum db_rc open_rc, enum db_rc ping_rc);

/* The calls made so far, and what the last db_page_open asked for. */
struct fake_calls {
	unsigned opens, closes, pings;
	long long from;
	unsigned nrows;
};
const struct fake_calls *fake_db_calls(const struct db *db);

#endif
