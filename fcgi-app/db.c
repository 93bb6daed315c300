/*
 * db: the connection, its prepared statements, and the steps that
 * connect, run a page and ping without blocking.  The outage policy is
 * dbpolicy.c's, the columns and cells of a page dbcell.c's.
 *
 * Each call is a step of the client library's non-blocking API
 * (mysql_..._start, then mysql_..._cont until it is done); when one
 * step is done, advance() checks its result and starts the next, until
 * the call is answered.
 */
#include "dbint.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dbtls.h"
#include "log.h"

enum db_step {
	STEP_CLOSED,     /* not connected */
	STEP_CONNECT,    /* mysql_real_connect */
	STEP_CHARSET,    /* mysql_set_character_set, when [client] undid it */
	STEP_LIMIT,      /* the statement time limit (db_limit_time) */
	STEP_PREP_FIRST, /* preparing the first page's query */
	STEP_PREP_AFTER, /* and the pages' after a key */
	STEP_READY,      /* connected and idle */
	STEP_EXECUTE,    /* running the page query */
	STEP_STORE,      /* reading its rows */
	STEP_PAGE,       /* the rows are read: the page is written from them */
	STEP_PING,
};

int
db_library_init(void)
{
	if (db_shared_init() != 0)
		return -1;
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void
db_library_end(void)
{
	mysql_library_end();
}

/*
 * Closes the connection.  mysql_close sends COM_QUIT, a few bytes that
 * a socket's empty send buffer always has room for, so it does not
 * wait; on a connection that never opened it sends nothing.
 */
void
db_close(struct db *db)
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
	db->step = STEP_CLOSED;
	db->wait = 0;
	db->deadline_ms = 0;
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
 * Sorts out a call that failed on an open connection by the outage
 * policy, and closes a connection that was lost.  A connection lost
 * quickly may be retried at once on a new one (db_may_retry), with no
 * back-off: the new connection tells whether the database is down.
 */
static enum db_rc
db_failed(struct db *db, const char *what)
{
	const char *msg;
	unsigned e = db_errno(db, &msg);
	enum db_fault f = db_fault_of(e);
	long long now = clock_ms();
	struct db_outage *st;
	enum db_rc rc;

	db->retry = db_outage_retry(f, 0, now - db->started_ms,
	    db->cfg->read_timeout);
	st = db_shared_lock();
	rc = db_outage_failed(st, f, now, db->cfg->reconnect_delay_ms, msg,
	    what);
	if (db->retry)
		st->next_try_ms = 0; /* reconnect at once */
	db_shared_unlock();
	/*
	 * A connection that failed while its rows were being read is
	 * closed as well: after an error in mysql_stmt_store_result the
	 * client library would wait, on the next statement, for the rest of
	 * a result the server has already ended.  A new one opens in the
	 * background.
	 */
	if (f == DB_FAULT_LOST || db->step == STEP_STORE) {
		db_close(db); /* frees msg */
	} else {
		db->step = STEP_READY;
		if (db->stmt != NULL)
			(void)mysql_stmt_free_result(db->stmt);
	}
	return rc;
}

/*
 * A connect that failed: the outage policy backs off, and logs the
 * outage when msg names one (NULL: an option, TLS or the query is
 * wrong, a 500).
 */
static enum db_rc
db_unreachable(struct db *db, enum db_rc rc, const char *msg)
{
	struct db_outage *st = db_shared_lock();

	db_outage_unreachable(st, clock_ms(), db->cfg->reconnect_delay_ms, msg);
	db_shared_unlock();
	db_close(db);
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
	db_close(db);
	free(db);
}

int
db_is_ready(const struct db *db)
{
	return db->step == STEP_READY;
}

int
db_is_closed(const struct db *db)
{
	return db->step == STEP_CLOSED;
}

int
db_may_retry(const struct db *db)
{
	return db->retry;
}

void
db_wait_of(const struct db *db, struct db_wait *w)
{
	w->fd = db->mysql != NULL && db->wait != 0 ?
	    (int)mysql_get_socket(db->mysql) : -1;
	w->events = (db->wait & MYSQL_WAIT_READ ? DB_WAIT_READ : 0) |
	    (db->wait & MYSQL_WAIT_WRITE ? DB_WAIT_WRITE : 0);
	w->deadline_ms = db->deadline_ms;
}

int
db_socket(const struct db *db)
{
	return db->mysql != NULL ? (int)mysql_get_socket(db->mysql) : -1;
}

/*
 * The statement time limit: the server itself gives up on a page query
 * a little before the client's read timeout would.  The client's timeout
 * only closes our end: the server would go on waiting (for a lock, say),
 * and every retry would leave one more session waiting behind it.
 * MariaDB calls the limit max_statement_time (seconds); MySQL has
 * max_execution_time (ms).  Returns the statement's length, or -1.
 */
static int
db_limit_sql(struct db *db, char *sql, size_t size)
{
	unsigned ms = db->cfg->read_timeout * 1000u;
	int n;

	ms = ms > 1000 ? ms - 500 : ms / 2;
	if (strstr(mysql_get_server_info(db->mysql), "MariaDB") != NULL)
		n = snprintf(sql, size, "SET SESSION max_statement_time = "
		    "%u.%03u", ms / 1000, ms % 1000);
	else
		n = snprintf(sql, size, "SET SESSION max_execution_time = %u",
		    ms);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Sets the options of a new handle; 0, or -1 (logged). */
static int
db_options(struct db *db)
{
	const struct config *cfg = db->cfg;
	unsigned ct = cfg->connect_timeout, rt = cfg->read_timeout,
	    wt = cfg->write_timeout;
	my_bool on = 1;

	/* [client] of our own file: host, user, password, database, ssl */
	if (mysql_optionsv(db->mysql, MYSQL_OPT_NONBLOCK, 0) ||
	    mysql_optionsv(db->mysql, MYSQL_READ_DEFAULT_FILE, cfg->path) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_CONNECT_TIMEOUT, &ct) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_READ_TIMEOUT, &rt) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_WRITE_TIMEOUT, &wt) ||
	    mysql_optionsv(db->mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
	    (cfg->require_tls &&
	    (mysql_optionsv(db->mysql, MYSQL_OPT_SSL_ENFORCE, &on) ||
	    mysql_optionsv(db->mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on)))) {
		log_rate("options", clock_ms(),
		    "cannot set database connection options");
		return -1;
	}
	return 0;
}

/*
 * The checks of a connection just made, before its first statement:
 * TLS as asked, and the options [client] may have changed.  Returns
 * 0, or -1 (logged).
 */
static int
db_check_connection(struct db *db)
{
	if (db->cfg->require_tls && mysql_get_ssl_cipher(db->mysql) == NULL) {
		log_rate("tls", clock_ms(),
		    "require-tls is on but the connection is not encrypted");
		return -1;
	}
	return dbtls_check_options(db->mysql, db->cfg);
}

/* Binds the prepared statements' parameters and results: 0, or -1. */
static int
db_bind(struct db *db)
{
	/* the first page binds the limit alone; both, the same results */
	db->stmt = db->after;
	if (mysql_stmt_bind_param(db->first, db->param + 1) != 0 ||
	    mysql_stmt_bind_param(db->after, db->param) != 0 ||
	    dbcell_bind(db) != DB_OK ||
	    mysql_stmt_bind_result(db->first, db->res) != 0)
		return -1;
	return 0;
}

/* A prepare that failed: logged; a lost connection is an outage. */
static enum db_rc
db_prepare_failed(struct db *db, MYSQL_STMT *stmt)
{
	unsigned e = mysql_stmt_errno(stmt);

	log_rate("prepare", clock_ms(), "cannot prepare the page query: %s",
	    mysql_stmt_error(stmt));
	return db_fault_of(e) == DB_FAULT_LOST ?
	    db_unreachable(db, DB_DOWN, mysql_stmt_error(stmt)) :
	    db_unreachable(db, DB_ERROR, NULL);
}

/*
 * The step just done succeeded or failed: checks it, starts the next
 * one, and returns its status (MYSQL_WAIT_* bits; 0 when the call is
 * answered, with *rc).
 */
static int
db_step_done(struct db *db, enum db_rc *rc)
{
	char sql[96];
	int n;

	*rc = DB_OK;
	switch (db->step) {
	case STEP_CONNECT:
		if (db->mret == NULL) {
			*rc = db_unreachable(db, DB_DOWN, mysql_error(db->mysql));
			return 0;
		}
		if (db_check_connection(db) != 0) {
			*rc = db_unreachable(db, DB_ERROR, NULL);
			return 0;
		}
		/* the file's default-character-set must not undo utf8mb4 */
		if (strcmp(mysql_character_set_name(db->mysql), "utf8mb4") != 0) {
			db->step = STEP_CHARSET;
			return mysql_set_character_set_start(&db->iret,
			    db->mysql, "utf8mb4");
		}
		/* fall through */
	case STEP_CHARSET:
		if (db->step == STEP_CHARSET && db->iret != 0) {
			log_rate("utf8mb4", clock_ms(), "cannot use utf8mb4: %s",
			    mysql_error(db->mysql));
			*rc = db_unreachable(db, DB_ERROR, NULL);
			return 0;
		}
		if ((n = db_limit_sql(db, sql, sizeof(sql))) < 0) {
			*rc = db_unreachable(db, DB_ERROR, NULL);
			return 0;
		}
		db->step = STEP_LIMIT;
		return mysql_real_query_start(&db->iret, db->mysql, sql,
		    (unsigned long)n);
	case STEP_LIMIT:
		if (db->iret != 0) {
			log_rate("time limit", clock_ms(), "cannot set the "
			    "statement time limit: %s", mysql_error(db->mysql));
			*rc = db_fault_of(mysql_errno(db->mysql)) ==
			    DB_FAULT_LOST ? db_unreachable(db, DB_DOWN,
			    mysql_error(db->mysql)) : db_unreachable(db,
			    DB_ERROR, NULL);
			return 0;
		}
		db->first = mysql_stmt_init(db->mysql);
		db->after = mysql_stmt_init(db->mysql);
		if (db->first == NULL || db->after == NULL) {
			*rc = db_unreachable(db, DB_ERROR, NULL);
			return 0;
		}
		db->step = STEP_PREP_FIRST;
		return mysql_stmt_prepare_start(&db->iret, db->first,
		    db->query_first, strlen(db->query_first));
	case STEP_PREP_FIRST:
		if (db->iret != 0) {
			*rc = db_prepare_failed(db, db->first);
			return 0;
		}
		db->step = STEP_PREP_AFTER;
		return mysql_stmt_prepare_start(&db->iret, db->after,
		    db->query_after, strlen(db->query_after));
	case STEP_PREP_AFTER:
		if (db->iret != 0) {
			*rc = db_prepare_failed(db, db->after);
			return 0;
		}
		if (db_bind(db) != 0) {
			*rc = db_unreachable(db, DB_ERROR, NULL);
			return 0;
		}
		db_outage_connected(db_shared_lock());
		db_shared_unlock();
		db->step = STEP_READY;
		return 0;
	case STEP_EXECUTE:
		if (db->iret != 0) {
			*rc = db_failed(db, "query");
			return 0;
		}
		/*
		 * The result must still have the columns the binds were
		 * made for: the client library takes a changed type into
		 * the statement without a word, and a renamed or moved
		 * column not at all (dbcell_reshaped).  The connection is
		 * made anew, and the page may be tried again on it.
		 */
		if (dbcell_reshaped(db)) {
			log_rate("reshaped", clock_ms(), "table `%s` changed "
			    "shape; preparing the page query again",
			    db->cfg->table);
			db_close(db);
			db->retry = 1;
			*rc = DB_ERROR;
			return 0;
		}
		db->step = STEP_STORE;
		return mysql_stmt_store_result_start(&db->iret, db->stmt);
	case STEP_STORE:
		if (db->iret != 0) {
			*rc = db_failed(db, "reading rows");
			return 0;
		}
		db_outage_answered(db_shared_lock());
		db_shared_unlock();
		db->step = STEP_PAGE;
		return 0;
	case STEP_PING:
		if (db->iret != 0) {
			*rc = db_failed(db, "ping");
			return 0;
		}
		db_outage_answered(db_shared_lock());
		db_shared_unlock();
		db->step = STEP_READY;
		return 0;
	default:
		*rc = DB_ERROR;
		return 0;
	}
}

/*
 * Takes the status a _start or _cont call returned: a wait, with its
 * deadline, or the end of the step (and the next one starts).
 */
static enum db_rc
db_advance(struct db *db, int status)
{
	enum db_rc rc = DB_OK;

	while (status == 0 && db->step != STEP_CLOSED &&
	    db->step != STEP_READY && db->step != STEP_PAGE) {
		status = db_step_done(db, &rc);
		if (rc != DB_OK)
			return rc;
	}
	db->wait = (unsigned)status;
	db->deadline_ms = 0;
	if (status != 0) {
		if (status & MYSQL_WAIT_TIMEOUT)
			db->deadline_ms = clock_ms() +
			    mysql_get_timeout_value_ms(db->mysql);
		return DB_WAIT;
	}
	return rc;
}

enum db_rc
db_connect_start(struct db *db)
{
	struct db_outage *st;
	enum db_rc rc;
	long long now = clock_ms();
	int may;

	if (db->step != STEP_CLOSED)
		return db->step == STEP_READY ? DB_OK : DB_WAIT;
	st = db_shared_lock();
	rc = db_outage_wait(st, now);
	may = db_outage_claim(st, now, db->cfg->connect_timeout * 1000u + 1000u);
	db_shared_unlock();
	if (!may)
		return rc != DB_OK ? rc : DB_DOWN;
	db->retry = 0;
	db->started_ms = now;
	db->mysql = mysql_init(NULL);
	if (db->mysql == NULL) {
		log_msg("out of memory for a database handle");
		return DB_ERROR;
	}
	if (db_options(db) != 0)
		return db_unreachable(db, DB_ERROR, NULL);
	db->step = STEP_CONNECT;
	return db_advance(db, mysql_real_connect_start(&db->mret, db->mysql,
	    NULL, NULL, NULL, NULL, 0, NULL, 0));
}

enum db_rc
db_page_start(struct db *db, long long from, unsigned nrows)
{
	if (db->step != STEP_READY)
		return DB_ERROR;
	db->p_from = from;
	db->p_limit = nrows;
	db->from_start = from == LLONG_MIN;
	db->stmt = db->from_start ? db->first : db->after;
	db->retry = 0;
	db->started_ms = clock_ms();
	db->step = STEP_EXECUTE;
	return db_advance(db, mysql_stmt_execute_start(&db->iret, db->stmt));
}

enum db_rc
db_ping_start(struct db *db)
{
	if (db->step != STEP_READY)
		return DB_ERROR;
	db->retry = 0;
	db->started_ms = clock_ms();
	db->step = STEP_PING;
	return db_advance(db, mysql_ping_start(&db->iret, db->mysql));
}

enum db_rc
db_resume(struct db *db, unsigned ready)
{
	int ev = (ready & DB_WAIT_READ ? MYSQL_WAIT_READ : 0) |
	    (ready & DB_WAIT_WRITE ? MYSQL_WAIT_WRITE : 0) |
	    (ready & DB_WAIT_TIMEOUT ? MYSQL_WAIT_TIMEOUT : 0);
	int status;

	switch (db->step) {
	case STEP_CONNECT:
		status = mysql_real_connect_cont(&db->mret, db->mysql, ev);
		break;
	case STEP_CHARSET:
		status = mysql_set_character_set_cont(&db->iret, db->mysql, ev);
		break;
	case STEP_LIMIT:
		status = mysql_real_query_cont(&db->iret, db->mysql, ev);
		break;
	case STEP_PREP_FIRST:
		status = mysql_stmt_prepare_cont(&db->iret, db->first, ev);
		break;
	case STEP_PREP_AFTER:
		status = mysql_stmt_prepare_cont(&db->iret, db->after, ev);
		break;
	case STEP_EXECUTE:
		status = mysql_stmt_execute_cont(&db->iret, db->stmt, ev);
		break;
	case STEP_STORE:
		status = mysql_stmt_store_result_cont(&db->iret, db->stmt, ev);
		break;
	case STEP_PING:
		status = mysql_ping_cont(&db->iret, db->mysql, ev);
		break;
	default:
		return DB_ERROR;
	}
	return db_advance(db, status);
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
	if (r == MYSQL_NO_DATA && e == 0)
		return DB_END;
	log_rate("reading rows", clock_ms(), "reading rows failed: %s", msg);
	return DB_ERROR;
}

/*
 * The rows were read whole (mysql_stmt_store_result): freeing them
 * sends nothing to the server.
 */
void
db_page_close(struct db *db)
{
	if (db->step != STEP_PAGE)
		return;
	db->step = STEP_READY;
	if (mysql_stmt_free_result(db->stmt) != 0)
		db_close(db);
}
