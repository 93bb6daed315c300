/*
 * dbint: the layout of a database handle, shared by db.c (connection,
 * outage policy) and dbcell.c (columns and cells), and by nothing else.
 */
#ifndef DBINT_H
#define DBINT_H

#include <mysql.h>

#include "db.h"
#include "dbpolicy.h"

#define DB_CHUNK 1024 /* bytes of a value held at a time */
#define DB_QUERY_MAX 512

/*
 * How a column is fetched.  Integers, dates and times arrive in binary
 * and dbtext prints them; that skips the client library's sprintf for
 * every such cell.  Everything else, DECIMAL, FLOAT, DOUBLE and BIT
 * included, is fetched as text the client library made: printing
 * floating point exactly as it does is not worth the risk.
 */
enum db_kind {
	DB_KIND_TEXT,
	DB_KIND_INT,
	DB_KIND_DATE,
	DB_KIND_DATETIME,
	DB_KIND_TIME,
};

/* The binary value of one native column, and how to print it. */
struct db_native {
	union {
		long long i;
		MYSQL_TIME t;
	} v;
	enum db_kind kind;
	unsigned width;    /* DB_KIND_INT: ZEROFILL display width, or 0 */
	unsigned decimals; /* temporal kinds: fractional digits, 0 to 6 */
	my_bool is_unsigned;
};

/*
 * Two prepared statements of the same columns: the first page's, with
 * no WHERE, and the pages after a key's.  A range on the key, even one
 * from its least value, makes the server estimate the range's rows in
 * the index on every execution: the first page cost MariaDB about a
 * fifth more CPU as "WHERE key >= ?" than without it.  stmt is the one
 * in use, or NULL when not connected; both share one set of result
 * buffers.
 */
struct db {
	const struct config *cfg;
	MYSQL *mysql;
	MYSQL_STMT *stmt;
	MYSQL_STMT *first;
	MYSQL_STMT *after;
	MYSQL_RES *meta;
	char query_first[DB_QUERY_MAX];
	char query_after[DB_QUERY_MAX];
	unsigned ncols;
	int key_col;
	struct db_col *cols;
	struct db_native *nat;
	MYSQL_BIND *res;
	char *bufs;
	unsigned long *lens;
	my_bool *nulls;
	my_bool *errs;
	MYSQL_BIND param[2];
	long long p_from;
	unsigned p_limit;
	int from_start; /* the page starts at the first row: db->first */
	int step;       /* enum db_step in db.c: where the connection is */
	unsigned wait;  /* the client library's MYSQL_WAIT_* of the step */
	long long deadline_ms; /* of the wait, or 0 */
	long long started_ms;  /* when the call under way started */
	int retry;      /* db_may_retry */
	int iret;       /* what the step's _start and _cont calls return */
	my_bool bret;
	MYSQL *mret;
};

/*
 * Sets up result buffers for the prepared statement's columns: DB_OK,
 * or DB_ERROR (logged when the key column is missing).  What it took is
 * freed by dbcell_free, also after a failure.
 */
enum db_rc dbcell_bind(struct db *db);
/*
 * Nonzero if the result of the statement just executed has not the
 * columns dbcell_bind bound: another count, name, type, length,
 * decimals, character set or flags.  Reads the connection's own copy of
 * the execute's metadata, since the statement's copy keeps the old names
 * (mysql_stmt_execute in Connector/C updates only types and flags).
 */
int dbcell_reshaped(const struct db *db);
/*
 * Nonzero if every value of a column of this type is written as a JSON
 * number: integers whose every value a double holds exactly (up to
 * 2^53), YEAR, DECIMAL of up to 15 digits, FLOAT and DOUBLE.  BIGINT,
 * wider DECIMALs and ZEROFILL columns are strings, so that no client
 * loses digits or zeros.
 */
int dbcell_json_number(const MYSQL_FIELD *f);
void dbcell_free(struct db *db);

#endif
