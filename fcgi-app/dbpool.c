#include "dbpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "clock.h"
#include "dbpolicy.h"
#include "log.h"

/*
 * While the line moves, a page waits up to this many times db-wait-ms;
 * a line that has not moved for db-wait-ms is busy.
 */
#define DBPOOL_MOVING_WAITS 10

struct dbslot {
	struct db *db;
	struct dbjob *job; /* running here; NULL when idle or orphaned */
	int busy;          /* a call is under way (a job, or a connect) */
	int connecting;    /* the call is a connect */
	int regfd;         /* the socket registered with epoll, or -1 */
	int pending;       /* the call ended as it started: see dbpool_tick */
	enum db_rc pending_rc;
	uint32_t regev;
};

struct dbpool {
	const struct config *cfg;
	int epfd;
	unsigned n;
	struct dbslot *slots;
	struct dbjob *head, *tail; /* the line */
	unsigned queued, running;
	long long moved_ms;    /* when a job last ended on a connection */
	enum db_rc connect_rc; /* how the last connect failed */
	int connect_failed;    /* since the last dbpool_tick */
	int peer_closed;       /* the database closed an idle connection,
				  and no connect has started since */
};

/*
 * Watches the socket the slot's call waits on; an idle connection's for
 * its peer's close (a restart, a KILL, wait_timeout), so that a dead
 * connection goes when it dies rather than when a page takes it; or
 * none.
 */
static void
slot_watch(struct dbpool *p, struct dbslot *s)
{
	struct epoll_event ev;
	struct db_wait w;

	db_wait_of(s->db, &w);
	memset(&ev, 0, sizeof(ev));
	ev.events = (w.events & DB_WAIT_READ ? EPOLLIN : 0) |
	    (w.events & DB_WAIT_WRITE ? EPOLLOUT : 0);
	if (!s->busy && db_is_ready(s->db)) {
		w.fd = db_socket(s->db);
		ev.events = EPOLLRDHUP;
	}
	if (w.fd < 0 || ev.events == 0) {
		/* a closed socket has left epoll: EBADF and ENOENT are fine */
		if (s->regfd >= 0)
			(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->regfd, NULL);
		s->regfd = -1;
		return;
	}
	ev.data.ptr = s;
	if (s->regfd == w.fd && s->regev == ev.events)
		return;
	if (s->regfd >= 0 && s->regfd != w.fd)
		(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->regfd, NULL);
	if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, w.fd, &ev) != 0 &&
	    (errno != ENOENT ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, w.fd, &ev) != 0)) {
		log_rate("db epoll", clock_ms(), "cannot watch a database "
		    "connection: %s; it closes", strerror(errno));
		db_close(s->db);
		s->regfd = -1;
		return;
	}
	s->regfd = w.fd;
	s->regev = ev.events;
}

struct dbpool *
dbpool_new(const struct config *cfg, unsigned n, int epfd)
{
	struct dbpool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->cfg = cfg;
	p->epfd = epfd;
	p->slots = calloc(n, sizeof(*p->slots));
	if (p->slots == NULL) {
		free(p);
		return NULL;
	}
	for (p->n = 0; p->n < n; p->n++) {
		p->slots[p->n].regfd = -1;
		p->slots[p->n].db = db_new(cfg);
		if (p->slots[p->n].db == NULL) {
			dbpool_free(p);
			return NULL;
		}
	}
	return p;
}

void
dbpool_free(struct dbpool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		db_free(p->slots[i].db);
	free(p->slots);
	free(p);
}

int
dbpool_owns(const struct dbpool *p, const void *ptr)
{
	const struct dbslot *s = ptr;

	return s >= p->slots && s < p->slots + p->n;
}

unsigned
dbpool_jobs(const struct dbpool *p)
{
	return p->queued + p->running;
}

static void
line_push(struct dbpool *p, struct dbjob *j)
{
	j->next = NULL;
	j->prev = p->tail;
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	j->queued = 1;
	p->queued++;
}

static void
line_remove(struct dbpool *p, struct dbjob *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		p->head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		p->tail = j->prev;
	j->next = j->prev = NULL;
	j->queued = 0;
	p->queued--;
}

static void run(struct dbpool *p, struct dbslot *s, struct dbjob *j);

static void
close_idle(struct dbpool *p)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (!p->slots[i].busy && db_is_ready(p->slots[i].db)) {
			db_close(p->slots[i].db);
			slot_watch(p, &p->slots[i]);
		}
}

/* A call on s ended with rc: hands it to its job, and s to the line. */
static void
slot_ended(struct dbpool *p, struct dbslot *s, enum db_rc rc)
{
	struct dbjob *j = s->job;

	s->busy = 0;
	/* a socket that closed leaves epoll before its number is reused */
	if (db_is_closed(s->db))
		slot_watch(p, s);
	if (s->connecting && rc != DB_OK) {
		p->connect_rc = rc;
		p->connect_failed = 1;
	}
	s->connecting = 0;
	if (j == NULL) {
		/* a connect, or a job whose request went: its rows go */
		db_page_close(s->db);
	} else {
		s->job = NULL;
		j->slot = NULL;
		p->running--;
		p->moved_ms = clock_ms();
		if (rc != DB_OK && db_may_retry(s->db) && j->attempt == 0) {
			/*
			 * Lost quickly, or reshaped: once more, on a new
			 * connection.  The idle ones close too: they were made
			 * before the restart or prepared for the old shape.
			 */
			close_idle(p);
			j->attempt = 1;
			rc = dbpool_submit(p, j);
			if (rc != DB_WAIT)
				j->done(j, NULL, rc);
		} else {
			j->done(j, rc == DB_OK ? s->db : NULL, rc);
			/* the rows were freed in done; if not, here */
			db_page_close(s->db);
		}
	}
	if (db_is_ready(s->db) && !s->busy && p->head != NULL) {
		j = p->head;
		line_remove(p, j);
		run(p, s, j);
	}
	/* idle now, and watched for its peer's close */
	if (!s->busy)
		slot_watch(p, s);
}

/* Takes the answer of a call just started or resumed on s. */
static void
slot_result(struct dbpool *p, struct dbslot *s, enum db_rc rc)
{
	if (rc == DB_WAIT) {
		slot_watch(p, s);
		return;
	}
	slot_ended(p, s, rc);
}

static void
run(struct dbpool *p, struct dbslot *s, struct dbjob *j)
{
	enum db_rc rc;

	s->job = j;
	s->busy = 1;
	j->slot = s;
	p->running++;
	rc = j->ping ? db_ping_start(s->db) :
	    db_page_start(s->db, j->from, j->nrows);
	if (rc == DB_WAIT) {
		slot_watch(p, s);
		return;
	}
	/*
	 * Answered without a wait: the job's done runs from the next
	 * dbpool_tick, not inside dbpool_submit, where its caller is not
	 * ready for it.
	 */
	s->pending = 1;
	s->pending_rc = rc;
}

/* Slots: idle and ready, and whether any is working or connecting. */
static struct dbslot *
slot_idle(struct dbpool *p, int *running, int *connecting)
{
	struct dbslot *idle = NULL;
	unsigned i;

	*running = *connecting = 0;
	for (i = 0; i < p->n; i++) {
		struct dbslot *s = &p->slots[i];

		if (s->busy && s->job != NULL)
			*running = 1;
		else if (s->busy)
			*connecting = 1;
		else if (idle == NULL && db_is_ready(s->db))
			idle = s;
	}
	return idle;
}

/*
 * Opens one more connection, when one is closed and the outage policy
 * lets: connections open as the pages need them, and stay open.
 * Returns 1 if a connect is under way.
 */
static int
grow(struct dbpool *p)
{
	unsigned i;

	for (i = 0; i < p->n; i++) {
		struct dbslot *s = &p->slots[i];

		if (!s->busy && db_is_closed(s->db)) {
			s->busy = s->connecting = 1;
			p->peer_closed = 0;
			slot_result(p, s, db_connect_start(s->db));
			return s->busy;
		}
	}
	return 0;
}

enum db_rc
dbpool_submit(struct dbpool *p, struct dbjob *j)
{
	long long now = clock_ms();
	struct dbslot *s;
	struct db_outage *st;
	enum db_rc held;
	int running, connecting, down = 0;

	if (j->attempt == 0) {
		j->slot = NULL;
		j->queued = 0;
		/* in an outage, or a slow spell: the held answer at once */
		st = db_shared_lock();
		held = db_outage_wait(st, now);
		down = st->down;
		db_shared_unlock();
		if (held != DB_OK)
			return held;
	}
	s = slot_idle(p, &running, &connecting);
	if (s == NULL && !connecting) {
		/*
		 * A connect that ends as it starts, as one over a socket
		 * whose peer is quick can: its connection takes the page,
		 * or its failure is the page's answer.
		 */
		if (!(connecting = grow(p)))
			s = slot_idle(p, &running, &connecting);
		if (s == NULL && !running && !connecting && p->connect_failed)
			return p->connect_rc;
	}
	if (s != NULL) {
		run(p, s, j);
		return DB_WAIT;
	}
	/*
	 * In line for a connection busy with a page or being made, up to
	 * db-wait-ms: a page does not wait out the connect timeout of a
	 * database that went away; and not at all for the connect that
	 * probes a known outage.
	 */
	if (!running && down)
		return DB_DOWN;
	if (running || connecting) {
		/* a retry keeps the wait it had, if it had one */
		if (j->attempt == 0 || j->since_ms == 0)
			j->since_ms = now;
		line_push(p, j);
		return DB_WAIT;
	}
	return DB_DOWN;
}

void
dbpool_cancel(struct dbpool *p, struct dbjob *j)
{
	if (j->queued) {
		line_remove(p, j);
	} else if (j->slot != NULL) {
		/* the call ends by itself, soon; its result is dropped */
		j->slot->job = NULL;
		j->slot = NULL;
		p->running--;
	}
}

void
dbpool_event(struct dbpool *p, void *ptr, uint32_t events)
{
	struct dbslot *s = ptr;
	unsigned ready = (events & (EPOLLIN | EPOLLERR | EPOLLHUP) ?
	    DB_WAIT_READ : 0) | (events & (EPOLLOUT | EPOLLERR) ?
	    DB_WAIT_WRITE : 0);

	if (!s->busy) {
		/* the peer closed an idle connection: it goes now */
		if (db_is_ready(s->db)) {
			log_rate("db idle closed", clock_ms(), "the database "
			    "closed an idle connection; a new one opens as "
			    "pages need it");
			db_close(s->db);
			slot_watch(p, s);
			p->peer_closed = 1;
		}
		return;
	}
	/* ready is 0 for an idle watch's event that came after a job took it */
	if (s->pending || ready == 0)
		return;
	slot_result(p, s, db_resume(s->db, ready));
}

/*
 * When the wait of j, in line since since_ms, is over: db-wait-ms for a
 * connection being made; for one busy with a page, db-wait-ms once the
 * line has not moved for as long, and at most DBPOOL_MOVING_WAITS times
 * it.  A burst of pages on a database that answers drains through the
 * line; one that stops answering turns them away.
 */
static long long
line_due(const struct dbpool *p, const struct dbjob *j, int running)
{
	long long wait = p->cfg->db_wait_ms, due = j->since_ms + wait;
	long long moving = p->moved_ms + wait;

	if (!running)
		return due;
	if (moving > j->since_ms + DBPOOL_MOVING_WAITS * wait)
		moving = j->since_ms + DBPOOL_MOVING_WAITS * wait;
	return moving > due ? moving : due;
}

/*
 * The line's jobs whose wait is over, oldest first: DB_BUSY while pages
 * hold the connections, DB_DOWN when there are none; or all of them,
 * with rc.
 */
static void
line_fail(struct dbpool *p, long long now, int all, int running,
    enum db_rc rc)
{
	struct dbjob *j;

	if (!all)
		rc = running ? DB_BUSY : DB_DOWN;
	while ((j = p->head) != NULL && (all ||
	    now >= line_due(p, j, running))) {
		line_remove(p, j);
		j->done(j, NULL, rc);
	}
}

long long
dbpool_tick(struct dbpool *p, long long now)
{
	struct db_wait w;
	long long next = 0;
	struct dbslot *idle;
	unsigned i;
	int running, connecting;

	for (i = 0; i < p->n; i++) {
		struct dbslot *s = &p->slots[i];

		if (s->pending) {
			s->pending = 0;
			slot_ended(p, s, s->pending_rc);
		}
		if (s->busy) {
			db_wait_of(s->db, &w);
			if (w.deadline_ms != 0 && now >= w.deadline_ms)
				slot_result(p, s, db_resume(s->db,
				    DB_WAIT_TIMEOUT));
		}
		if (s->busy) {
			db_wait_of(s->db, &w);
			if (w.deadline_ms != 0 && (next == 0 ||
			    w.deadline_ms < next))
				next = w.deadline_ms;
		}
	}
	/*
	 * A connect failed while no page held a connection: the pages in
	 * line get its answer, a 500 for a wrong table and a 503 for a
	 * database that is down, rather than wait for the next one.
	 */
	idle = slot_idle(p, &running, &connecting);
	if (p->connect_failed && !running)
		line_fail(p, now, 1, 0, p->connect_rc);
	p->connect_failed = 0;
	/*
	 * One connection is kept open, and more are opened for pages in
	 * line; in the background, as the outage policy lets.  One that the
	 * database closed is opened again by the next page: a database
	 * that restarted is back for it at once, not after a back-off that
	 * a connect tried while it was away began.
	 */
	if (idle == NULL && !connecting && (p->head != NULL ||
	    (!running && !p->peer_closed)))
		connecting = grow(p);
	line_fail(p, now, 0, running, DB_DOWN);
	if (!running && !connecting)
		line_fail(p, now, 1, 0, p->connect_failed ? p->connect_rc :
		    DB_DOWN);
	p->connect_failed = 0;
	if (p->head != NULL && (next == 0 ||
	    line_due(p, p->head, running) < next))
		next = line_due(p, p->head, running);
	/* a call answered without a wait is taken at once */
	for (i = 0; i < p->n; i++)
		if (p->slots[i].pending)
			next = now;
	return next;
}
