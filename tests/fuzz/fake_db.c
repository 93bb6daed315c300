/* The fake database of fake_db.h. */
#include "fake_db.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fuzz.h"

#define COLS_MAX 8
#define ROWS_MAX 64
#define CHUNKS_MAX 1024
#define NAME_MAX_LEN 31
#define NUMBER_MAX_LEN 64      /* a numeric value arrives whole */
#define FILL_UNIT 32           /* a fill chunk is up to 127 of these */
#define FILL_BUDGET (1 << 15)  /* bytes of fill in the whole table */

struct chunk {
	const uint8_t *p; /* NULL: n copies of fill */
	size_t n;
	uint8_t fill;
};

struct cell {
	int null, fail;
	unsigned first, nchunks;
};

struct row {
	long long key;
	int key_fail;
	struct cell cell[COLS_MAX];
};

/* Where the handle is, as db.c's steps. */
enum fake_state {
	FAKE_CLOSED,     /* not connected */
	FAKE_CONNECTING, /* a connect waits */
	FAKE_READY,      /* connected and idle */
	FAKE_RUNNING,    /* a page query or a ping waits */
	FAKE_PAGE,       /* a page's rows are read */
};

struct db {
	unsigned ncols, nrows, nchunks;
	struct db_col cols[COLS_MAX];
	struct row rows[ROWS_MAX];
	enum db_rc end; /* after the last row: DB_END, or an error */
	struct chunk chunks[CHUNKS_MAX];
	size_t fill_left;
	int cur;  /* the current row, -1 before the first */
	int done; /* db_page_next has returned something other than DB_ROW */
	enum fake_state state;
	int waits;          /* each call answers after one DB_WAIT */
	int pooled;         /* made by db_new: answers as fake_db_pool */
	int pinging;        /* the call under way is a ping, not a page */
	long long deadline_ms;
	enum db_rc connect_rc, open_rc, ping_rc;
	struct fake_calls calls;
	char fillbuf[127 * FILL_UNIT];
};

uint8_t
rd_byte(struct reader *r)
{
	return r->i < r->n ? r->p[r->i++] : 0;
}

size_t
rd_bytes(struct reader *r, size_t want, const uint8_t **out)
{
	size_t k = r->n - r->i < want ? r->n - r->i : want;

	*out = r->p + r->i;
	r->i += k;
	return k;
}

/* One chunk: literal bytes, or (top bit set) a run of one byte. */
static void
read_chunk(struct db *db, struct reader *r, struct chunk *c, int numeric)
{
	uint8_t len = rd_byte(r);
	size_t n;

	if (!numeric && (len & 0x80) != 0) {
		n = (size_t)(len & 0x7F) * FILL_UNIT;
		if (n > db->fill_left)
			n = db->fill_left;
		db->fill_left -= n;
		c->p = NULL;
		c->n = n;
		c->fill = rd_byte(r);
		return;
	}
	if (numeric)
		len %= NUMBER_MAX_LEN + 1;
	c->n = rd_bytes(r, len, &c->p);
}

/* A cell: NULL, failing after its chunks, or a value in 1 to 4 chunks. */
static void
read_cell(struct db *db, struct reader *r, struct cell *c, int numeric)
{
	uint8_t b = rd_byte(r);
	unsigned want = numeric ? 1 : 1 + (unsigned)(b >> 3) % 4, k;

	c->null = b % 8 == 0;
	c->fail = b % 8 == 1;
	c->first = db->nchunks;
	c->nchunks = 0;
	if (c->null)
		return;
	for (k = 0; k < want && db->nchunks < CHUNKS_MAX; k++) {
		read_chunk(db, r, &db->chunks[db->nchunks++], numeric);
		c->nchunks++;
	}
}

static void
read_row(struct db *db, struct reader *r, struct row *row)
{
	uint8_t b = rd_byte(r), v[8];
	const uint8_t *p;
	unsigned long long u = 0;
	size_t k, n;

	row->key_fail = b == 0xFF;
	if (b == 0xFE) { /* any 64-bit key, big-endian */
		memset(v, 0, sizeof(v));
		n = rd_bytes(r, sizeof(v), &p);
		memcpy(v, p, n);
		for (k = 0; k < sizeof(v); k++)
			u = u << 8 | v[k];
		memcpy(&row->key, &u, sizeof(row->key));
	} else {
		row->key = (long long)b - 100;
	}
	for (k = 0; k < db->ncols; k++)
		read_cell(db, r, &row->cell[k], db->cols[k].numeric);
}

struct db *
fake_db_new(struct reader *r)
{
	struct db *db = calloc(1, sizeof(*db));
	const uint8_t *name;
	uint8_t b;
	unsigned i;

	if (db == NULL)
		return NULL;
	db->fill_left = FILL_BUDGET;
	db->ncols = rd_byte(r) % (COLS_MAX + 1);
	for (i = 0; i < db->ncols; i++) {
		b = rd_byte(r);
		db->cols[i].numeric = (b & 0x80) != 0;
		db->cols[i].json_number = db->cols[i].numeric && (b & 0x40);
		db->cols[i].name_len = rd_bytes(r, b & NAME_MAX_LEN, &name);
		db->cols[i].name = (const char *)name;
	}
	/* each row starts with a byte: 0 ends the page, 1 to 3 break it */
	db->end = DB_END;
	while (db->nrows < ROWS_MAX) {
		b = rd_byte(r) % 16;
		if (b < 4) {
			db->end = b == 0 ? DB_END : b == 1 ? DB_ERROR :
			    b == 2 ? DB_DOWN : DB_SLOW;
			break;
		}
		read_row(db, r, &db->rows[db->nrows++]);
	}
	db->state = FAKE_READY;
	return db;
}

void
fake_db_free(struct db *db)
{
	free(db);
}

void
fake_db_rewind(struct db *db)
{
	db->cur = -1;
	db->done = 0;
	db->state = FAKE_PAGE;
}

/*
 * Nonzero if a value of a JSON-number column can be written as one: a
 * number once the display zeros in front are gone, as a YEAR's are.
 */
static int
json_number_ok(const struct db *db, const struct cell *c)
{
	const struct chunk *ch = &db->chunks[c->first];
	const char *p = (const char *)ch->p;
	size_t n = ch->n;

	if (c->nchunks != 1 || p == NULL)
		return 0;
	while (n > 1 && p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
		p++;
		n--;
	}
	return n > 0 && (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) &&
	    p[n - 1] >= '0' && p[n - 1] <= '9' && json_valid(p, n);
}

void
fake_db_expect(const struct db *db, unsigned limit, int json,
    struct fake_expect *e)
{
	const struct cell *c;
	unsigned i, k;

	memset(e, 0, sizeof(*e));
	e->rc = DB_ERROR;
	for (i = 0; i < db->nrows; i++) {
		if (e->rows == limit) {
			e->more = 1;
			continue;
		}
		if (db->rows[i].key_fail)
			return;
		e->key = db->rows[i].key;
		e->rows++;
		for (k = 0; k < db->ncols; k++) {
			c = &db->rows[i].cell[k];
			if (!c->null && (c->fail || (json &&
			    db->cols[k].json_number && !json_number_ok(db, c))))
				return;
		}
	}
	e->rc = db->end == DB_END ? DB_OK : db->end;
}

/* The row page.c may look at: there is one, and it is not past the end. */
static const struct row *
current(const struct db *db)
{
	FUZZ_CHECK(db->state == FAKE_PAGE);
	FUZZ_CHECK(!db->done && db->cur >= 0 && (unsigned)db->cur < db->nrows);
	return &db->rows[db->cur];
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
	FUZZ_CHECK(db->state == FAKE_PAGE && !db->done);
	if ((unsigned)(db->cur + 1) < db->nrows) {
		db->cur++;
		return DB_ROW;
	}
	db->done = 1;
	return db->end;
}

int
db_cell_is_null(const struct db *db, unsigned i)
{
	FUZZ_CHECK(i < db->ncols);
	return current(db)->cell[i].null;
}

enum db_rc
db_cell(struct db *db, unsigned i, db_chunk_fn fn, void *ctx)
{
	const struct cell *c;
	const struct chunk *ch;
	unsigned k;

	FUZZ_CHECK(i < db->ncols);
	c = &current(db)->cell[i];
	FUZZ_CHECK(!c->null);
	if (c->nchunks == 0) /* out of chunks: an empty value, as db.c sends */
		return fn(ctx, "", 0) != 0 || c->fail ? DB_ERROR : DB_OK;
	for (k = 0; k < c->nchunks; k++) {
		ch = &db->chunks[c->first + k];
		if (ch->p == NULL) {
			memset(db->fillbuf, ch->fill, ch->n);
			if (fn(ctx, db->fillbuf, ch->n) != 0)
				return DB_ERROR;
		} else if (fn(ctx, (const char *)ch->p, ch->n) != 0) {
			return DB_ERROR;
		}
	}
	return c->fail ? DB_ERROR : DB_OK;
}

enum db_rc
db_row_key(struct db *db, long long *key)
{
	const struct row *row = current(db);

	if (row->key_fail)
		return DB_ERROR;
	*key = row->key;
	return DB_OK;
}

void
fake_db_answer(struct db *db, enum db_rc open_rc, enum db_rc ping_rc)
{
	db->open_rc = open_rc;
	db->ping_rc = ping_rc;
}

void
fake_db_connect_answer(struct db *db, enum db_rc rc)
{
	db->connect_rc = rc;
}

void
fake_db_waits(struct db *db, int waits)
{
	db->waits = waits;
}

const struct fake_calls *
fake_db_calls(const struct db *db)
{
	return &db->calls;
}

struct fake_pool_answers fake_db_pool;

/* A handle over an empty table, for worker.c: not connected yet. */
struct db *
db_new(const struct config *cfg)
{
	struct reader r = {NULL, 0, 0};
	struct db *db;

	(void)cfg;
	db = fake_db_new(&r);
	if (db != NULL) {
		db->state = FAKE_CLOSED;
		db->waits = fake_db_pool.waits;
		db->pooled = 1;
	}
	return db;
}

void
db_free(struct db *db)
{
	fake_db_free(db);
}

int
db_is_ready(const struct db *db)
{
	return db->state == FAKE_READY;
}

int
db_is_closed(const struct db *db)
{
	return db->state == FAKE_CLOSED;
}

/* Only a pooled handle's failures are retried, if fake_db_pool says. */
int
db_may_retry(const struct db *db)
{
	return db->pooled && fake_db_pool.may_retry;
}

void
db_close(struct db *db)
{
	db->state = FAKE_CLOSED;
}

/* A call under way waits for nothing but its deadline, 1 ms on. */
static enum db_rc
fake_wait(struct db *db, enum fake_state state)
{
	db->state = state;
	db->deadline_ms = clock_ms() + 1;
	return DB_WAIT;
}

static enum db_rc
connect_done(struct db *db)
{
	enum db_rc rc = db->pooled ? fake_db_pool.connect_rc : db->connect_rc;

	db->state = rc == DB_OK ? FAKE_READY : FAKE_CLOSED;
	return rc;
}

/*
 * A page query or a ping ends: a page's rows are there to read; a lost
 * connection (DB_DOWN) closes it, any other failure leaves it ready.
 */
static enum db_rc
call_done(struct db *db)
{
	enum db_rc rc = db->pinging ? db->ping_rc :
	    db->pooled ? fake_db_pool.open_rc : db->open_rc;

	db->state = rc == DB_DOWN ? FAKE_CLOSED : FAKE_READY;
	if (rc == DB_OK && !db->pinging) {
		db->calls.opens++;
		fake_db_rewind(db);
	}
	return rc;
}

enum db_rc
db_connect_start(struct db *db)
{
	if (db->state != FAKE_CLOSED)
		return db->state == FAKE_READY ? DB_OK : DB_WAIT;
	db->calls.connects++;
	return db->waits ? fake_wait(db, FAKE_CONNECTING) : connect_done(db);
}

enum db_rc
db_page_start(struct db *db, long long from, unsigned nrows)
{
	FUZZ_CHECK(db->state == FAKE_READY); /* one call at a time */
	db->calls.from = from;
	db->calls.nrows = nrows;
	db->pinging = 0;
	return db->waits ? fake_wait(db, FAKE_RUNNING) : call_done(db);
}

enum db_rc
db_ping_start(struct db *db)
{
	FUZZ_CHECK(db->state == FAKE_READY);
	db->calls.pings++;
	db->pinging = 1;
	return db->waits ? fake_wait(db, FAKE_RUNNING) : call_done(db);
}

enum db_rc
db_resume(struct db *db, unsigned ready)
{
	/* nothing but a deadline is waited for, and only while a call waits */
	FUZZ_CHECK(db->state == FAKE_CONNECTING || db->state == FAKE_RUNNING);
	FUZZ_CHECK(ready == DB_WAIT_TIMEOUT);
	db->calls.resumes++;
	return db->state == FAKE_CONNECTING ? connect_done(db) : call_done(db);
}

void
db_wait_of(const struct db *db, struct db_wait *w)
{
	int waiting = db->state == FAKE_CONNECTING ||
	    db->state == FAKE_RUNNING;

	w->fd = -1;
	w->events = 0;
	w->deadline_ms = waiting ? db->deadline_ms : 0;
}

int
db_socket(const struct db *db)
{
	(void)db;
	return -1;
}

/* Frees a page's rows; on a handle with none, as db.c, nothing. */
void
db_page_close(struct db *db)
{
	if (db->state != FAKE_PAGE)
		return;
	db->calls.closes++;
	db->state = FAKE_READY;
}
