/*
 * dbpool: a worker's database connections and the pages waiting for
 * one.  A job (a page query or a ping) runs on an idle connection at
 * once, or waits in line, and gets DB_BUSY once the line has not moved
 * for db-wait-ms.  The
 * connections open in the background, never inside a request: while
 * the database is down (the outage state all workers share), a job gets
 * its 503 at once, and one connect at a time probes the database.
 */
#ifndef DBPOOL_H
#define DBPOOL_H

#include <stdint.h>

#include "config.h"
#include "db.h"

struct dbjob;

/*
 * Called once when a job ends: with DB_OK, db holds the page's rows (or
 * answered the ping) until db_page_close; else rc is the answer to give.
 */
typedef void (*dbjob_done_fn)(struct dbjob *j, struct db *db, enum db_rc rc);

struct dbjob {
	int ping;          /* a ping; else the page query from..nrows */
	long long from;
	unsigned nrows;
	dbjob_done_fn done;
	/* the pool's */
	struct dbjob *next, *prev;
	long long since_ms; /* in line since */
	int attempt;
	int queued;
	struct dbslot *slot;
};

struct dbpool;

/* n connections, their sockets watched on epfd. */
struct dbpool *dbpool_new(const struct config *cfg, unsigned n, int epfd);
void dbpool_free(struct dbpool *p);

/*
 * Starts j: DB_WAIT when it runs or waits in line (its done comes
 * later), or its answer now (done is not called): an outage's held
 * answer.
 */
enum db_rc dbpool_submit(struct dbpool *p, struct dbjob *j);
/*
 * The request went: j leaves the line, or its result is dropped when it
 * ends; done is not called.
 */
void dbpool_cancel(struct dbpool *p, struct dbjob *j);

/* An epoll event for a slot (the data.ptr dbpool registered). */
void dbpool_event(struct dbpool *p, void *slot, uint32_t events);
/* Deadlines and background connects; returns the next deadline, or 0. */
long long dbpool_tick(struct dbpool *p, long long now_ms);
/* Nonzero if ptr is one of the pool's slots (epoll data). */
int dbpool_owns(const struct dbpool *p, const void *ptr);
/* Jobs running or waiting. */
unsigned dbpool_jobs(const struct dbpool *p);

#endif
