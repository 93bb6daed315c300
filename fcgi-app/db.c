#include "db.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "clock.h"
#include "dbtext.h"
#include "log.h"

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
	KIND_TEXT,
	KIND_INT,
	KIND_DATE,
	KIND_DATETIME,
	KIND_TIME,
};

/* The binary value of one native column, and how to print it. */
struct db_native {
	union {
		long long i;
		MYSQL_TIME t;
	} v;
	enum db_kind kind;
	unsigned width;    /* KIND_INT: ZEROFILL display width, or 0 */
	unsigned decimals; /* temporal kinds: fractional digits, 0 to 6 */
	my_bool is_unsigned;
};

struct db {
	const struct config *cfg;
	MYSQL *mysql;
	MYSQL_STMT *stmt;
	MYSQL_RES *meta;
	char query[DB_QUERY_MAX];
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
	long long next_try_ms; /* no connect attempt before this */
	int down;              /* an outage has been logged */
	int slow;              /* a timed-out query has been logged */
};

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
 * Errors after which the connection, or the statement prepared on it, is
 * no longer usable and a new one may work: the connection is gone, or the
 * table changed shape under the prepared statement.
 */
static int
is_conn_error(unsigned e)
{
	switch (e) {
	case CR_NEW_STMT_METADATA:
	case ER_NEED_REPREPARE:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_UNKNOWN_STMT_HANDLER:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT, MySQL 8 */
		return 1;
	default:
		return 0;
	}
}

/*
 * Errors of a database that is up but did not finish in time: the
 * server's own statement time limit (set by db_limit_time) or a lock wait.
 * The connection stays usable.
 */
static int
is_timeout(unsigned e)
{
	return e == ER_STATEMENT_TIMEOUT || e == ER_LOCK_WAIT_TIMEOUT ||
	    e == 3024; /* ER_QUERY_TIMEOUT, MySQL's max_execution_time */
}

static void db_disconnect(struct db *db);

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
 * Sorts out a failed call on a connection: a timeout or a lost connection
 * is DB_DOWN, with a back-off before the next try, and a lost connection
 * is closed; anything else is DB_ERROR.  An outage is logged when it
 * starts, not on every request.  what names the call for the log.
 */
static enum db_rc
db_failed(struct db *db, unsigned e, const char *msg, const char *what)
{
	enum db_rc rc = DB_DOWN;

	if (is_timeout(e)) {
		if (!db->slow)
			log_msg("database too slow: %s", msg);
		db->slow = 1;
	} else if (is_conn_error(e)) {
		if (!db->down)
			log_msg("database connection lost: %s", msg);
		db->down = 1;
		db_disconnect(db); /* frees msg */
	} else {
		log_msg("%s failed: %s", what, msg);
		rc = DB_ERROR;
	}
	if (rc == DB_DOWN)
		db->next_try_ms = clock_ms() + db->cfg->reconnect_delay_ms;
	return rc;
}

static void
db_disconnect(struct db *db)
{
	if (db->meta != NULL)
		mysql_free_result(db->meta);
	if (db->stmt != NULL)
		mysql_stmt_close(db->stmt);
	if (db->mysql != NULL)
		mysql_close(db->mysql);
	free(db->cols);
	free(db->nat);
	free(db->res);
	free(db->bufs);
	free(db->lens);
	free(db->nulls);
	free(db->errs);
	db->meta = NULL;
	db->stmt = NULL;
	db->mysql = NULL;
	db->cols = NULL;
	db->nat = NULL;
	db->res = NULL;
	db->bufs = NULL;
	db->lens = NULL;
	db->nulls = NULL;
	db->errs = NULL;
	db->ncols = 0;
}

struct db *
db_new(const struct config *cfg)
{
	struct db *db = calloc(1, sizeof(*db));
	int n;

	if (db == NULL)
		return NULL;
	db->cfg = cfg;
	/* identifiers were checked by config_load, so quoting is enough */
	n = snprintf(db->query, sizeof(db->query),
	    "SELECT * FROM `%s` WHERE `%s` >= ? ORDER BY `%s` LIMIT ?",
	    cfg->table, cfg->key, cfg->key);
	if (n < 0 || (size_t)n >= sizeof(db->query)) {
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

/* The integer types, YEAR among them. */
static int
is_integer(enum enum_field_types t)
{
	switch (t) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return 1;
	default:
		return 0;
	}
}

/* Shown as a number: right-aligned in HTML, unquoted in JSON. */
static int
is_numeric(enum enum_field_types t)
{
	return is_integer(t) || t == MYSQL_TYPE_DECIMAL ||
	    t == MYSQL_TYPE_NEWDECIMAL || t == MYSQL_TYPE_FLOAT ||
	    t == MYSQL_TYPE_DOUBLE;
}

/* Which way a column is fetched; see enum db_kind. */
static enum db_kind
kind_of(const MYSQL_FIELD *f)
{
	if (is_integer(f->type))
		/* a ZEROFILL width too wide for dbtext: the library pads */
		return (f->flags & ZEROFILL_FLAG) && (!(f->flags &
		    UNSIGNED_FLAG) || f->length > DBTEXT_WIDTH_MAX) ?
		    KIND_TEXT : KIND_INT;
	switch (f->type) {
	case MYSQL_TYPE_DATE:
		return KIND_DATE;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		return f->decimals <= 6 ? KIND_DATETIME : KIND_TEXT;
	case MYSQL_TYPE_TIME:
		return f->decimals <= 6 ? KIND_TIME : KIND_TEXT;
	default:
		return KIND_TEXT;
	}
}

/* Binds column i to its native buffer, or to its text buffer. */
static void
db_bind_column(struct db *db, unsigned i, const MYSQL_FIELD *f)
{
	struct db_native *nv = &db->nat[i];
	MYSQL_BIND *b = &db->res[i];

	nv->kind = kind_of(f);
	nv->is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
	nv->width = (f->flags & ZEROFILL_FLAG) ? (unsigned)f->length : 0;
	nv->decimals = f->decimals;
	b->length = &db->lens[i];
	b->is_null = &db->nulls[i];
	b->error = &db->errs[i];
	switch (nv->kind) {
	case KIND_INT:
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = &nv->v.i;
		b->is_unsigned = nv->is_unsigned;
		break;
	case KIND_DATE:
	case KIND_DATETIME:
	case KIND_TIME:
		b->buffer_type = f->type; /* the library fills a MYSQL_TIME */
		b->buffer = &nv->v.t;
		break;
	default:
		b->buffer_type = MYSQL_TYPE_STRING;
		b->buffer = db->bufs + (size_t)i * DB_CHUNK;
		b->buffer_length = DB_CHUNK;
		break;
	}
}

/* Sets up result buffers for the prepared statement's columns. */
static enum db_rc
db_bind_result(struct db *db)
{
	MYSQL_FIELD *f;
	unsigned i, n;

	db->meta = mysql_stmt_result_metadata(db->stmt);
	if (db->meta == NULL)
		return DB_ERROR;
	n = mysql_num_fields(db->meta);
	f = mysql_fetch_fields(db->meta);
	db->cols = calloc(n, sizeof(*db->cols));
	db->nat = calloc(n, sizeof(*db->nat));
	db->res = calloc(n, sizeof(*db->res));
	db->bufs = malloc((size_t)n * DB_CHUNK);
	db->lens = calloc(n, sizeof(*db->lens));
	db->nulls = calloc(n, sizeof(*db->nulls));
	db->errs = calloc(n, sizeof(*db->errs));
	if (n == 0 || db->cols == NULL || db->nat == NULL || db->res == NULL ||
	    db->bufs == NULL || db->lens == NULL || db->nulls == NULL ||
	    db->errs == NULL)
		return DB_ERROR;
	db->ncols = n;
	db->key_col = -1;
	for (i = 0; i < n; i++) {
		db->cols[i].name = f[i].name;
		db->cols[i].name_len = f[i].name_length;
		db->cols[i].numeric = is_numeric(f[i].type);
		if (strcasecmp(f[i].name, db->cfg->key) == 0)
			db->key_col = (int)i;
		db_bind_column(db, i, &f[i]);
	}
	if (db->key_col < 0) {
		log_msg("table `%s` has no column `%s` to page by (set key = "
		    "in [fcgi-app])", db->cfg->table, db->cfg->key);
		return DB_ERROR;
	}
	if (mysql_stmt_bind_result(db->stmt, db->res) != 0)
		return DB_ERROR;
	return DB_OK;
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

/* Connects and prepares, unless connected or inside the back-off. */
static enum db_rc
db_connect(struct db *db)
{
	const struct config *cfg = db->cfg;
	unsigned ct = cfg->connect_timeout, rt = cfg->read_timeout,
	    wt = cfg->write_timeout;
	my_bool on = 1;
	enum db_rc rc = DB_DOWN;

	if (clock_ms() < db->next_try_ms)
		return DB_DOWN;
	if (db->stmt != NULL)
		return DB_OK;
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
		log_msg("cannot set database connection options");
		rc = DB_ERROR;
		goto out;
	}
	if (mysql_real_connect(db->mysql, NULL, NULL, NULL, NULL, 0, NULL,
	    0) == NULL) {
		if (!db->down)
			log_msg("database unreachable: %s",
			    mysql_error(db->mysql));
		db->down = 1;
		goto out;
	}
	if (cfg->require_tls && mysql_get_ssl_cipher(db->mysql) == NULL) {
		log_msg("require-tls is on but the connection is not encrypted");
		rc = DB_ERROR;
		goto out;
	}
	/* the file's default-character-set must not undo utf8mb4 */
	if (strcmp(mysql_character_set_name(db->mysql), "utf8mb4") != 0 &&
	    mysql_set_character_set(db->mysql, "utf8mb4") != 0) {
		log_msg("cannot use utf8mb4: %s", mysql_error(db->mysql));
		rc = DB_ERROR;
		goto out;
	}
	if (db_limit_time(db) != 0) {
		log_msg("cannot set the statement time limit: %s",
		    mysql_error(db->mysql));
		rc = is_conn_error(mysql_errno(db->mysql)) ? DB_DOWN : DB_ERROR;
		goto out;
	}
	db->stmt = mysql_stmt_init(db->mysql);
	if (db->stmt == NULL) {
		rc = DB_ERROR;
		goto out;
	}
	if (mysql_stmt_prepare(db->stmt, db->query, strlen(db->query)) != 0) {
		unsigned e = mysql_stmt_errno(db->stmt);

		log_msg("cannot prepare the page query: %s",
		    mysql_stmt_error(db->stmt));
		rc = is_conn_error(e) ? DB_DOWN : DB_ERROR;
		goto out;
	}
	if (mysql_stmt_bind_param(db->stmt, db->param) != 0 ||
	    db_bind_result(db) != DB_OK) {
		rc = DB_ERROR;
		goto out;
	}
	if (db->down)
		log_msg("database connection restored");
	db->down = 0;
	rc = DB_OK;
out:
	if (rc != DB_OK) {
		db_disconnect(db);
		db->next_try_ms = clock_ms() + cfg->reconnect_delay_ms;
	}
	return rc;
}

/*
 * Runs op once, and once more on a fresh connection if the first try lost
 * the connection quickly.  A try that used up the read timeout is not
 * repeated: the database is slow, and a second wait would double it.
 */
static enum db_rc
db_retry(struct db *db, int (*op)(struct db *))
{
	const char *msg;
	long long start;
	unsigned e;
	int attempt;
	enum db_rc rc = DB_DOWN;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = db_connect(db);
		if (rc != DB_OK)
			break;
		start = clock_ms();
		if (op(db) == 0) {
			if (db->slow)
				log_msg("database answering in time again");
			db->slow = 0;
			break;
		}
		e = db_errno(db, &msg);
		rc = db_failed(db, e, msg, "query");
		/* only a lost connection is tried again, and only if quick */
		if (!is_conn_error(e) ||
		    clock_ms() - start >= (long long)db->cfg->read_timeout * 1000)
			break;
		db->next_try_ms = 0; /* reconnect at once for the retry */
	}
	return rc;
}

static int
op_ping(struct db *db)
{
	return mysql_ping(db->mysql);
}

static int
op_execute(struct db *db)
{
	return mysql_stmt_execute(db->stmt);
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
	return db_retry(db, op_execute);
}

unsigned
db_ncols(const struct db *db)
{
	return db->ncols;
}

const struct db_col *
db_cols(const struct db *db)
{
	return db->cols;
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

int
db_cell_is_null(const struct db *db, unsigned i)
{
	return db->nulls[i];
}

/* The text of native cell i: its length, or 0 if it could not be made. */
static size_t
db_native_text(const struct db *db, unsigned i, char *buf, size_t size)
{
	const struct db_native *nv = &db->nat[i];
	const MYSQL_TIME *t = &nv->v.t;
	struct dbtext_time tt;
	enum dbtext_kind k;

	if (nv->kind == KIND_INT)
		return dbtext_int(buf, size, (unsigned long long)nv->v.i,
		    nv->is_unsigned, nv->width);
	tt.year = t->year;
	tt.month = t->month;
	tt.day = t->day;
	tt.hour = t->hour; /* of a TIME: with its days counted in */
	tt.minute = t->minute;
	tt.second = t->second;
	tt.usec = t->second_part;
	tt.neg = t->neg != 0;
	k = nv->kind == KIND_DATE ? DBTEXT_DATE : nv->kind == KIND_TIME ?
	    DBTEXT_TIME : DBTEXT_DATETIME;
	return dbtext_time(buf, size, k, &tt, nv->decimals);
}

/* A native cell, printed whole in one chunk. */
static enum db_rc
db_cell_native(struct db *db, unsigned i, db_chunk_fn fn, void *ctx)
{
	char text[DBTEXT_MAX];
	size_t n = db_native_text(db, i, text, sizeof(text));

	if (n == 0) {
		log_msg("a value of column `%s` cannot be shown",
		    db->cols[i].name);
		return DB_ERROR;
	}
	return fn(ctx, text, n) == 0 ? DB_OK : DB_ERROR;
}

/* A text cell, in chunks of at most DB_CHUNK bytes. */
static enum db_rc
db_cell_text(struct db *db, unsigned i, db_chunk_fn fn, void *ctx)
{
	char *buf = db->bufs + (size_t)i * DB_CHUNK;
	unsigned long total = db->nulls[i] ? 0 : db->lens[i], off, got;
	MYSQL_BIND b;

	got = total < DB_CHUNK ? total : DB_CHUNK;
	if (fn(ctx, buf, got) != 0)
		return DB_ERROR;
	/* a value longer than the buffer: fetch the rest piece by piece */
	for (off = got; off < total; off += got) {
		unsigned long len = 0;

		memset(&b, 0, sizeof(b));
		b.buffer_type = MYSQL_TYPE_STRING;
		b.buffer = buf;
		b.buffer_length = DB_CHUNK;
		b.length = &len;
		if (mysql_stmt_fetch_column(db->stmt, &b, i, off) != 0) {
			log_msg("reading a long value failed: %s",
			    mysql_stmt_error(db->stmt));
			return DB_ERROR;
		}
		got = total - off < DB_CHUNK ? total - off : DB_CHUNK;
		if (fn(ctx, buf, got) != 0)
			return DB_ERROR;
	}
	return DB_OK;
}

enum db_rc
db_cell(struct db *db, unsigned i, db_chunk_fn fn, void *ctx)
{
	if (db->nat[i].kind != KIND_TEXT && !db->nulls[i])
		return db_cell_native(db, i, fn, ctx);
	return db_cell_text(db, i, fn, ctx);
}

enum db_rc
db_row_key(struct db *db, long long *key)
{
	unsigned i = (unsigned)db->key_col;
	char tmp[32], *end;
	unsigned long n = db->lens[i];

	enum db_rc rc = DB_ERROR;

	if (db->nat[i].kind == KIND_INT) {
		if (!db->nulls[i] && (!db->nat[i].is_unsigned ||
		    db->nat[i].v.i >= 0)) {
			*key = db->nat[i].v.i;
			rc = DB_OK;
		}
	} else if (db->nat[i].kind == KIND_TEXT && !db->nulls[i] && n > 0 &&
	    n < sizeof(tmp)) {
		memcpy(tmp, db->bufs + (size_t)i * DB_CHUNK, n);
		tmp[n] = '\0';
		errno = 0;
		*key = strtoll(tmp, &end, 10);
		if (errno == 0 && *end == '\0')
			rc = DB_OK;
	}
	if (rc != DB_OK)
		log_msg("key column `%s` must be a unique, non-NULL integer",
		    db->cfg->key);
	return rc;
}

void
db_page_close(struct db *db)
{
	if (db->stmt != NULL && mysql_stmt_free_result(db->stmt) != 0)
		db_disconnect(db);
}
