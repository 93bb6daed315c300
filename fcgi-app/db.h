/*
 * db: one database connection and its prepared page queries, driven
 * without blocking: every call that needs the server starts it and
 * returns DB_WAIT, and the serving core calls db_resume when the socket
 * db_wait names is ready or its deadline passes.  A connection is thus
 * one of many that a worker runs at once, next to its FastCGI
 * connections, and no wait for the database holds anything else up.
 *
 * A connection opens when the core asks (db_connect_start), never inside
 * a request.  When it is lost it closes, and the core opens it again;
 * the outage policy (dbpolicy.h) tells whether and when, in one state
 * shared by all workers.
 *
 * A page's rows are read whole into the client library's memory
 * (mysql_stmt_store_result, at most max-limit + 1 rows) before the page
 * is written from them: db_page_next steps to the next row and db_cell
 * hands a value out in bounded chunks, without waiting.
 *
 * db.c holds the connection, dbcell.c the columns and the cells; with
 * dbtls.c they are the only files that see the client library.
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
	DB_BUSY,  /* every connection stayed busy for db-wait-ms: 503 */
	DB_WAIT,  /* under way: wait as db_wait says, then db_resume */
};

/* What a call that returned DB_WAIT waits for. */
#define DB_WAIT_READ 1u
#define DB_WAIT_WRITE 2u
#define DB_WAIT_TIMEOUT 8u

struct db_wait {
	int fd;            /* the socket, or -1 */
	unsigned events;   /* DB_WAIT_READ, DB_WAIT_WRITE */
	long long deadline_ms; /* clock_ms() by which to resume; 0: none */
};

struct db_col {
	const char *name; /* valid until the next db_page_start */
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
 * Sets up the client library and the shared outage state once, in the
 * master before it forks, so the workers share its start-up work
 * instead of each repeating it.
 */
int db_library_init(void);
void db_library_end(void);

/* Returns a handle that has not connected yet, or NULL. */
struct db *db_new(const struct config *cfg);
void db_free(struct db *db);

/* Nonzero when connected and idle: a page or a ping may start. */
int db_is_ready(const struct db *db);
/* Nonzero when not connected and no connect is under way. */
int db_is_closed(const struct db *db);

/*
 * Connects and prepares the page queries, if the outage policy lets a
 * connect be tried now: DB_WAIT, DB_OK once connected, or DB_DOWN or
 * DB_ERROR (logged; the handle stays closed).  Returns the held answer
 * at once when no connect may be tried yet.
 */
enum db_rc db_connect_start(struct db *db);
/* Runs the page query: rows with key >= from, at most nrows of them. */
enum db_rc db_page_start(struct db *db, long long from, unsigned nrows);
/* Asks the server whether it answers; for /readyz. */
enum db_rc db_ping_start(struct db *db);
/*
 * Goes on with the call under way; ready holds the DB_WAIT_* events that
 * came, DB_WAIT_TIMEOUT when the deadline passed.  Returns DB_WAIT
 * again, or the call's answer: DB_OK (a page: its rows are read, and
 * db_page_next may step through them), or DB_DOWN, DB_SLOW or DB_ERROR.
 */
enum db_rc db_resume(struct db *db, unsigned ready);
void db_wait_of(const struct db *db, struct db_wait *w);
/* The socket of an open connection, or -1. */
int db_socket(const struct db *db);
/*
 * Nonzero if the call that just failed may be tried again on another
 * connection: it lost its connection quickly (the database restarted,
 * and a new connection will work), or found the table changed shape.
 */
int db_may_retry(const struct db *db);
/* Closes the connection, whatever it was doing. */
void db_close(struct db *db);

unsigned db_ncols(const struct db *db);
const struct db_col *db_cols(const struct db *db);
enum db_rc db_page_next(struct db *db);
/* Nonzero if cell i of the current row is SQL NULL. */
int db_cell_is_null(const struct db *db, unsigned i);
/* Streams cell i of the current row to fn: DB_OK or DB_ERROR. */
enum db_rc db_cell(struct db *db, unsigned i, db_chunk_fn fn, void *ctx);
/* The key column of the current row. */
enum db_rc db_row_key(struct db *db, long long *key);
/* Frees the page's rows; the connection is ready for the next query. */
void db_page_close(struct db *db);

#endif
