/*
 * A stand-in for db.c: the whole of db.h, serving a table decoded from
 * fuzz input.  The page harness uses the rows; the unit tests of app.c
 * and worker.c (through dbpool.c) also the calls around them
 * (db_connect_start, db_page_start, db_ping_start, db_resume, ...),
 * whose answers fake_db_answer sets.  A call answers at once, or, with
 * fake_db_waits, after one DB_WAIT for no socket whose deadline is a
 * millisecond on (db_resume then takes DB_WAIT_TIMEOUT).  It keeps to
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
/*
 * Back to before the first row, as a page query that answered DB_OK
 * leaves it: the page harness's way to render the table again.
 */
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
 * What db_page_start and db_ping_start answer from now on (both DB_OK
 * at first).  A page query that answers DB_OK rewinds the table; one
 * that answers DB_DOWN, as a lost connection, closes the handle.
 */
void fake_db_answer(struct db *db, enum db_rc open_rc, enum db_rc ping_rc);
/* What db_connect_start answers from now on (DB_OK at first). */
void fake_db_connect_answer(struct db *db, enum db_rc rc);
/* Nonzero: each call from now on answers after one DB_WAIT. */
void fake_db_waits(struct db *db, int waits);
/*
 * The handles db_new makes (the pool's, for worker.c and dbpool.c):
 * their fake_db_waits, set when made; and, read at each call, what
 * their connects and page queries answer and whether a failed page may
 * be tried again on a new connection, as db_may_retry says.
 */
struct fake_pool_answers {
	int waits;
	enum db_rc connect_rc, open_rc;
	int may_retry;
};
extern struct fake_pool_answers fake_db_pool;

/*
 * The calls made so far: pages read (opens) and their rows freed
 * (closes), pings, connects and resumes; and what the last
 * db_page_start asked for.
 */
struct fake_calls {
	unsigned opens, closes, pings, connects, resumes;
	long long from;
	unsigned nrows;
};
const struct fake_calls *fake_db_calls(const struct db *db);

#endif
