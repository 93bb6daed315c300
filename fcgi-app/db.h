/*
 * db: the worker's one database connection and its one prepared query.
 * This is the only file that sees the client library.
 *
 * The connection opens lazily and is kept across requests.  When it is
 * lost, the next call reconnects and re-prepares, and a read that failed
 * because the connection dropped is retried once.  After a failed
 * connect, a lost connection or a timeout, calls fail fast with the same
 * answer (DB_DOWN, or DB_SLOW after a timeout) until reconnect-delay-ms
 * has passed, so an outage costs each request nothing.
 *
 * db.c holds the connection and this outage policy (dbpolicy.h), dbcell.c
 * the columns and the cells; they are the only files that see the client
 * library.
 *
 * A page is read as a stream: db_page_open runs the query, db_page_next
 * steps to the next row, db_cell hands a value out in bounded chunks.
 * A worker holds one row at a time (the client library reads a whole row
 * packet, at most max_allowed_packet) and fixed buffers, whatever the
 * size of the table or of the page.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>

#include "config.h"

enum db_rc {
	DB_OK,
	DB_ROW,   /* db_page_next: a row is ready */
	DB_END,   /* db_page_next: no more rows */
	DB_DOWN,  /* the database cannot be reached, or the connection was
		     lost: 503 */
	DB_SLOW,  /* the database is up but gave up in time: the statement
		     limit (read-timeout less half a second) or a lock
		     wait; the connection stays.  A reply that does not
		     come within read-timeout loses the connection: DB_DOWN.
		     503, with the same words as DB_DOWN */
	DB_ERROR, /* anything else: 500, and the log says why */
};

struct db_col {
	const char *name; /* valid until the next db_page_open */
	size_t name_len;
	int numeric; /* integer, decimal or floating-point: right-aligned */
	/*
	 * Every value of the column is a JSON number; otherwise every one
	 * is a string.  Decided by the column's type, never by a value, so
	 * a column keeps one JSON type on every row (dbcell_json_number).
	 */
	int json_number;
};

/* Receives one chunk of a value; returns 0, or -1 to stop. */
typedef int (*db_chunk_fn)(void *ctx, const char *p, size_t n);

struct db;

/*
 * Sets up the client library once, in the master before it forks, so the
 * workers share its start-up work instead of each repeating it.
 */
int db_library_init(void);
void db_library_end(void);

/* Returns a handle that has not connected yet, or NULL. */
struct db *db_new(const struct config *cfg);
void db_free(struct db *db);

/* Connects now if needed; for start-up and /readyz. */
enum db_rc db_ping(struct db *db);

/* Runs the page query: rows with key >= from, at most nrows of them. */
enum db_rc db_page_open(struct db *db, long long from, unsigned nrows);
unsigned db_ncols(const struct db *db);
const struct db_col *db_cols(const struct db *db);
enum db_rc db_page_next(struct db *db);
/* Nonzero if cell i of the current row is SQL NULL. */
int db_cell_is_null(const struct db *db, unsigned i);
/* Streams cell i of the current row to fn: DB_OK or DB_ERROR. */
enum db_rc db_cell(struct db *db, unsigned i, db_chunk_fn fn, void *ctx);
/* The key column of the current row. */
enum db_rc db_row_key(struct db *db, long long *key);
/* Discards unread rows; the connection is ready for the next query. */
void db_page_close(struct db *db);

#endif
