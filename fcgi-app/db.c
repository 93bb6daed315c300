/*
 * db: the connection, its one prepared statement, and the outage policy
 * (dbpolicy.h).  The columns and cells of a page are dbcell.c's.
 */
#include "dbint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "clock.h"
#include "dbtls.h"
#include "log.h"

/* What an op returns when the table no longer has the shape bound. */
#define OP_RESHAPED 2

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void
db_library_end(void)
{
	mysql_library_end();
}

/*
 * DB_FAULT_LOST: errors after which the connection, or the statement
 * prepared on it, is no longer usable and a new one may work: the
 * connection is gone, or the table changed shape under the prepared
 * statement.  A TLS error on an open connection is one that went away
 * without a close_notify (a server that failed over or was killed):
 * Connector/C reports it as CR_SSL_CONNECTION_ERROR, not as lost.
 * DB_FAULT_SLOW: a database that is up but did not finish in
 * time, by the server's own statement time limit (set by db_limit_time)
 * or a lock wait; the connection stays usable.
 */
enum db_fault
db_fault_of(unsigned e)
{
	switch (e) {
	case CR_NEW_STMT_METADATA:
	case ER_NEED_REPREPARE:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_SSL_CONNECTION_ERROR:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_UNKNOWN_STMT_HANDLER:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8 */
		return DB_FAULT_LOST;
	case ER_STATEMENT_TIMEOUT:
	case ER_LOCK_WAIT_TIMEOUT:
	case 3024: /* ER_QUERY_TIMEOUT, MySQL's max_execution_time */
		return DB_FAULT_SLOW;
	default:
		return DB_FAULT_OTHER;
	}
}

enum db_rc
db_outage_wait(const struct db_outage *st, long long now_ms)
{
	if (now_ms >= st->next_try_ms)
		return DB_OK;
	return st->held == DB_SLOW || st->held == DB_ERROR ? st->held : DB_DOWN;
}

void
db_outage_unreachable(struct db_outage *st, long long now_ms,
    unsigned delay_ms, const char *msg)
{
	if (msg != NULL) {
		if (!st->down)
			log_msg("database unreachable: %s", msg);
		st->down = 1;
	}
	/* a failure that is no outage stays the 500 it was */
	st->held = msg != NULL ? DB_DOWN : DB_ERROR;
	st->next_try_ms = now_ms + delay_ms;
}

enum db_rc
db_outage_failed(struct db_outage *st, enum db_fault f, long long now_ms,
    unsigned delay_ms, const char *msg, const char *what)
{
	switch (f) {
	case DB_FAULT_SLOW:
		if (!st->slow)
			log_msg("database too slow: %s", msg);
		st->slow = 1;
		st->held = DB_SLOW;
		break;
	case DB_FAULT_LOST:
		if (!st->down)
			log_msg("database connection lost: %s", msg);
		st->down = 1;
		st->held = DB_DOWN;
		break;
	default:
		log_rate(what, now_ms, "%s failed: %s", what, msg);
		return DB_ERROR;
	}
	st->next_try_ms = now_ms + delay_ms;
	return st->held;
}

void
db_outage_connected(struct db_outage *st)
{
	if (st->down)
		log_msg("database connection restored");
	st->down = 0;
}

void
db_outage_answered(struct db_outage *st)
{
	if (st->slow)
		log_msg("database answering in time again");
	st->slow = 0;
}

int
db_outage_retry(enum db_fault f, int attempt, long long elapsed_ms,
    unsigned read_timeout_s)
{
	return f == DB_FAULT_LOST && attempt == 0 &&
	    elapsed_ms < (long long)read_timeout_s * 1000;
}

static void
db_disconnect(struct db *db)
{
	dbcell_free(db);
	if (db->first != NULL)
		mysql_stmt_close(db->first);
	if (db->after != NULL)
		mysql_stmt_close(db->after);
	if (db->mysql != NULL)
		mysql_close(db->mysql);
	db->stmt = NULL;
	db->first = NULL;
	db->after = NULL;
	db->mysql = NULL;
}

/* The error of the last call: the connection's, or else the statement's. */
static unsigned
db_errno(const struct db *db, const char **msg)
{
	unsigned e = mysql_errno(db->mysql);

	*msg = mysql_error(db->mysql);
	if (e == 0 && db->stmt != NULL) {
		e = mysql_stmt_errno(db->stmt);
		*msg = mysql_stmt_error(db->stmt);
	}
	return e;
}

/*
 * Sorts out a failed call on a connection by the outage policy, and
 * closes a connection that was lost.  what names the call for the log.
 */
static enum db_rc
db_failed(struct db *db, unsigned e, const char *msg, const char *what)
{
	enum db_fault f = db_fault_of(e);
	enum db_rc rc = db_outage_failed(&db->outage, f, clock_ms(),
	    db->cfg->reconnect_delay_ms, msg, what);

	if (f == DB_FAULT_LOST)
		db_disconnect(db); /* frees msg */
	return rc;
}

struct db *
db_new(const struct config *cfg)
{
	struct db *db = calloc(1, sizeof(*db));
	int n, m;

	if (db == NULL)
		return NULL;
	db->cfg = cfg;
	/* identifiers were checked by config_load, so quoting is enough */
	n = snprintf(db->query_first, sizeof(db->query_first),
	    "SELECT * FROM `%s` ORDER BY `%s` LIMIT ?", cfg->table, cfg->key);
	m = snprintf(db->query_after, sizeof(db->query_after),
	    "SELECT * FROM `%s` WHERE `%s` >= ? ORDER BY `%s` LIMIT ?",
	    cfg->table, cfg->key, cfg->key);
	if (n < 0 || (size_t)n >= sizeof(db->query_first) || m < 0 ||
	    (size_t)m >= sizeof(db->query_after)) {
		free(db);
		return NULL;
	}
	db->param[0].buffer_type = MYSQL_TYPE_LONGLONG;
	db->param[0].buffer = &db->p_from;
	db->param[1].buffer_type = MYSQL_TYPE_LONG;
	db->param[1].buffer = &db->p_limit;
	db->param[1].is_unsigned = 1;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

/*
 * Makes the server itself give up on a page query a little before the
 * client's read timeout would.  The client's timeout only closes our end:
 * the server would go on waiting (for a lock, say), and every retry would
 * leave one more session waiting behind it.  MariaDB calls the limit
 * max_statement_time (seconds); MySQL has max_execution_time (ms).
 */
static int
db_limit_time(struct db *db)
{
	unsigned ms = db->cfg->read_timeout * 1000u;
	char sql[96];
	int n;

	ms = ms > 1000 ? ms - 500 : ms / 2;
	if (strstr(mysql_get_server_info(db->mysql), "MariaDB") != NULL)
		n = snprintf(sql, sizeof(sql),
		    "SET SESSION max_statement_time = %u.%03u", ms / 1000,
		    ms % 1000);
	else
		n = snprintf(sql, sizeof(sql),
		    "SET SESSION max_execution_time = %u", ms);
	if (n < 0 || (size_t)n >= sizeof(sql))
		return -1;
	return mysql_real_query(db->mysql, sql, (unsigned long)n);
}

/* Prepares one of the page queries on a new connection. */
static enum db_rc
db_prepare(MYSQL_STMT *stmt, const char *query)
{
	unsigned e;

	if (mysql_stmt_prepare(stmt, query, strlen(query)) == 0)
		return DB_OK;
	e = mysql_stmt_errno(stmt);
	log_rate("prepare", clock_ms(), "cannot prepare the page query: %s",
	    mysql_stmt_error(stmt));
	return db_fault_of(e) == DB_FAULT_LOST ? DB_DOWN : DB_ERROR;
}

/* Connects and prepares, unless connected or inside the back-off. */
static enum db_rc
db_connect(struct db *db)
{
	const struct config *cfg = db->cfg;
	unsigned ct = cfg->connect_timeout, rt = cfg->read_timeout,
	    wt = cfg->write_timeout;
	my_bool on = 1;
	enum db_rc rc = db_outage_wait(&db->outage, clock_ms());
	int unreachable = 0;

	if (rc != DB_OK || db->after != NULL)
		return rc;
	rc = DB_DOWN;
	db->mysql = mysql_init(NULL);
	if (db->mysql == NULL) {
		log_msg("out of memory for a database handle");
		rc = DB_ERROR;
		goto out;
	}
	/* [client] of our own file: host, user, password, database, ssl */
	if (mysql_optionsv(db->mysql, MYSQL_READ_DEFAULT_FILE, cfg->path) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &ct) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_READ_TIMEOUT, &rt) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &wt) ||
	    mysql_optionsv(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	    (cfg->require_tls &&
	    (mysql_optionsv(db->mysql, MYSQL_OPT_SSL_ENFORCE, &on) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on)))) {
		log_rate("options", clock_ms(),
		    "cannot set database connection options");
		rc = DB_ERROR;
		goto out;
	}
	if (mysql_real_connect(db->mysql, NULL, NULL, NULL, NULL, 0, NULL,
	    0) == NULL) {
		unreachable = 1;
		goto out;
	}
	if (cfg->require_tls && mysql_get_ssl_cipher(db->mysql) == NULL) {
		log_rate("tls", clock_ms(),
		    "require-tls is on but the connection is not encrypted");
		rc = DB_ERROR;
		goto out;
	}
	if (dbtls_check_options(db->mysql, cfg) != 0) {
		rc = DB_ERROR;
		goto out;
	}
	/* the file's default-character-set must not undo utf8mb4 */
	if (strcmp(mysql_character_set_name(db->mysql), "utf8mb4") != 0 &&
	    mysql_set_character_set(db->mysql, "utf8mb4") != 0) {
		log_rate("utf8mb4", clock_ms(), "cannot use utf8mb4: %s",
		    mysql_error(db->mysql));
		rc = DB_ERROR;
		goto out;
	}
	if (db_limit_time(db) != 0) {
		log_rate("time limit", clock_ms(),
		    "cannot set the statement time limit: %s",
		    mysql_error(db->mysql));
		rc = db_fault_of(mysql_errno(db->mysql)) == DB_FAULT_LOST ?
		    DB_DOWN : DB_ERROR;
		goto out;
	}
	db->first = mysql_stmt_init(db->mysql);
	db->after = mysql_stmt_init(db->mysql);
	if (db->first == NULL || db->after == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	if ((rc = db_prepare(db->first, db->query_first)) != DB_OK ||
	    (rc = db_prepare(db->after, db->query_after)) != DB_OK)
		goto out;
	rc = DB_ERROR;
	/* the first page binds the limit alone; both, the same results */
	db->stmt = db->after;
	if (mysql_stmt_bind_param(db->first, db->param + 1) != 0 ||
	    mysql_stmt_bind_param(db->after, db->param) != 0 ||
	    dbcell_bind(db) != DB_OK ||
	    mysql_stmt_bind_result(db->first, db->res) != 0)
		goto out;
	db_outage_connected(&db->outage);
	rc = DB_OK;
out:
	if (rc != DB_OK) {
		/* before the handle goes: its message is the log's */
		db_outage_unreachable(&db->outage, clock_ms(),
		    cfg->reconnect_delay_ms,
		    unreachable ? mysql_error(db->mysql) : NULL);
		db_disconnect(db);
	}
	return rc;
}

/*
 * Runs op once, and once more on a fresh connection if the first try lost
 * the connection quickly, or found the table changed shape (then a
 * second change in a row is a 500).  A try that used up the read timeout
 * is not repeated: the database is slow, and a second wait would double
 * it.
 */
static enum db_rc
db_retry(struct db *db, int (*op)(struct db *))
{
	const char *msg;
	long long start;
	unsigned e;
	int attempt, r;
	enum db_rc rc = DB_DOWN;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = db_connect(db);
		if (rc != DB_OK)
			break;
		start = clock_ms();
		r = op(db);
		if (r == 0) {
			db_outage_answered(&db->outage);
			break;
		}
		if (r == OP_RESHAPED) {
			/* prepare and bind anew, on a new connection */
			log_rate("reshaped", clock_ms(), "table `%s` changed "
			    "shape; preparing the page query again",
			    db->cfg->table);
			db_disconnect(db);
			rc = DB_ERROR;
			continue;
		}
		e = db_errno(db, &msg);
		rc = db_failed(db, e, msg, "query");
		if (!db_outage_retry(db_fault_of(e), attempt,
		    clock_ms() - start, db->cfg->read_timeout))
			break;
		db->outage.next_try_ms = 0; /* reconnect at once */
	}
	return rc;
}

static int
op_ping(struct db *db)
{
	return mysql_ping(db->mysql);
}

/*
 * Runs the page query, and checks that its result still has the
 * columns the page's binds were made for: the client library takes a
 * changed type into the statement without a word, and a renamed or
 * moved column not at all (dbcell_reshaped).
 */
static int
op_execute(struct db *db)
{
	db->stmt = db->from_start ? db->first : db->after;
	if (mysql_stmt_execute(db->stmt) != 0)
		return 1;
	return dbcell_reshaped(db) ? OP_RESHAPED : 0;
}

enum db_rc
db_ping(struct db *db)
{
	return db_retry(db, op_ping);
}

enum db_rc
db_page_open(struct db *db, long long from, unsigned nrows)
{
	db->p_from = from;
	db->p_limit = nrows;
	db->from_start = from == LLONG_MIN;
	return db_retry(db, op_execute);
}

enum db_rc
db_page_next(struct db *db)
{
	const char *msg;
	unsigned e;
	int r = mysql_stmt_fetch(db->stmt);

	if (r == 0 || r == MYSQL_DATA_TRUNCATED)
		return DB_ROW;
	e = db_errno(db, &msg);
	/*
	 * No data with an error on the connection is not the end of the
	 * rows: when the result cannot be read (commands out of sync), the
	 * library reports the error on the connection and no data from the
	 * statement, which would pass an empty page for a whole one.
	 */
	if (r == MYSQL_NO_DATA && e == 0)
		return DB_END;
	return db_failed(db, e, msg, "reading rows");
}

void
db_page_close(struct db *db)
{
	if (db->stmt != NULL && mysql_stmt_free_result(db->stmt) != 0)
		db_disconnect(db);
}
