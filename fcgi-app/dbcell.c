/*
 * dbcell: the columns of the page query and the cells of its current
 * row: how each column is typed and bound, how a cell streams out in
 * chunks, and the row's key.  The connection is db.c's.
 */
#include "dbint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dbtext.h"
#include "log.h"

void
dbcell_free(struct db *db)
{
	if (db->meta != NULL)
		mysql_free_result(db->meta);
	free(db->cols);
	free(db->nat);
	free(db->res);
	free(db->bufs);
	free(db->lens);
	free(db->nulls);
	free(db->errs);
	db->meta = NULL;
	db->cols = NULL;
	db->nat = NULL;
	db->res = NULL;
	db->bufs = NULL;
	db->lens = NULL;
	db->nulls = NULL;
	db->errs = NULL;
	db->ncols = 0;
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

/* A column that can page the table: a unique integer. */
static int
is_key(const MYSQL_FIELD *f)
{
	return is_integer(f->type) && f->type != MYSQL_TYPE_YEAR &&
	    (f->flags & (PRI_KEY_FLAG | UNIQUE_KEY_FLAG)) != 0;
}

int
dbcell_reshaped(const struct db *db)
{
	const MYSQL_FIELD *now = db->mysql->fields, *was;
	unsigned i;

	if (db->meta == NULL || now == NULL ||
	    db->mysql->field_count != db->ncols)
		return 1;
	was = mysql_fetch_fields(db->meta);
	for (i = 0; i < db->ncols; i++)
		if (now[i].type != was[i].type ||
		    now[i].length != was[i].length ||
		    now[i].decimals != was[i].decimals ||
		    now[i].charsetnr != was[i].charsetnr ||
		    now[i].flags != was[i].flags ||
		    now[i].name_length != was[i].name_length ||
		    memcmp(now[i].name, was[i].name, was[i].name_length) != 0)
			return 1;
	return 0;
}

/* The most digits of a DECIMAL that a double holds exactly. */
#define JSON_DECIMAL_DIGITS 15

int
dbcell_json_number(const MYSQL_FIELD *f)
{
	unsigned long digits;

	/* a year is a number; its four digits' zeros are only display */
	if (f->type == MYSQL_TYPE_YEAR)
		return 1;
	if (f->flags & ZEROFILL_FLAG)
		return 0;
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		return 1;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
		/* the display length counts a sign and a point besides */
		digits = f->length;
		if (!(f->flags & UNSIGNED_FLAG) && digits > 0)
			digits--;
		if (f->decimals > 0 && digits > 0)
			digits--;
		return digits <= JSON_DECIMAL_DIGITS;
	default:
		return 0;
	}
}

/* Which way a column is fetched; see enum db_kind. */
static enum db_kind
kind_of(const MYSQL_FIELD *f)
{
	if (is_integer(f->type))
		/* a ZEROFILL width too wide for dbtext: the library pads */
		return (f->flags & ZEROFILL_FLAG) && (!(f->flags &
		    UNSIGNED_FLAG) || f->length > DBTEXT_WIDTH_MAX) ?
		    DB_KIND_TEXT : DB_KIND_INT;
	switch (f->type) {
	case MYSQL_TYPE_DATE:
		return DB_KIND_DATE;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		return f->decimals <= 6 ? DB_KIND_DATETIME : DB_KIND_TEXT;
	case MYSQL_TYPE_TIME:
		return f->decimals <= 6 ? DB_KIND_TIME : DB_KIND_TEXT;
	default:
		return DB_KIND_TEXT;
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
	case DB_KIND_INT:
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = &nv->v.i;
		b->is_unsigned = nv->is_unsigned;
		break;
	case DB_KIND_DATE:
	case DB_KIND_DATETIME:
	case DB_KIND_TIME:
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

enum db_rc
dbcell_bind(struct db *db)
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
		db->cols[i].json_number = dbcell_json_number(&f[i]);
		if (strcasecmp(f[i].name, db->cfg->key) == 0)
			db->key_col = (int)i;
		db_bind_column(db, i, &f[i]);
	}
	if (db->key_col < 0) {
		log_rate("key", clock_ms(), "table `%s` has no column `%s` to "
		    "page by (set key = in [fcgi-app])", db->cfg->table,
		    db->cfg->key);
		return DB_ERROR;
	}
	if (!is_key(&f[db->key_col])) {
		log_rate("key", clock_ms(), "column `%s` of table `%s` cannot "
		    "be paged by: it must be an integer that is the primary "
		    "key or a unique key", db->cfg->key, db->cfg->table);
		return DB_ERROR;
	}
	if (mysql_stmt_bind_result(db->stmt, db->res) != 0)
		return DB_ERROR;
	return DB_OK;
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

	if (nv->kind == DB_KIND_INT)
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
	k = nv->kind == DB_KIND_DATE ? DBTEXT_DATE : nv->kind == DB_KIND_TIME ?
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
		log_rate("shown", clock_ms(), "a value of column `%s` cannot "
		    "be shown", db->cols[i].name);
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
			log_rate("long value", clock_ms(), "reading a long "
			    "value failed: %s", mysql_stmt_error(db->stmt));
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
	if (db->nat[i].kind != DB_KIND_TEXT && !db->nulls[i])
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

	if (db->nat[i].kind == DB_KIND_INT) {
		if (!db->nulls[i] && (!db->nat[i].is_unsigned ||
		    db->nat[i].v.i >= 0)) {
			*key = db->nat[i].v.i;
			rc = DB_OK;
		}
	} else if (db->nat[i].kind == DB_KIND_TEXT && !db->nulls[i] && n > 0 &&
	    n < sizeof(tmp)) {
		memcpy(tmp, db->bufs + (size_t)i * DB_CHUNK, n);
		tmp[n] = '\0';
		errno = 0;
		*key = strtoll(tmp, &end, 10);
		if (errno == 0 && *end == '\0')
			rc = DB_OK;
	}
	if (rc != DB_OK)
		log_rate("row key", clock_ms(), "key column `%s` must be a "
		    "unique, non-NULL integer", db->cfg->key);
	return rc;
}
