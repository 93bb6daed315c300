/* accept4() and signalfd are Linux calls */
#define _GNU_SOURCE

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "dbpool.h"
#include "fcgiconn.h"
#include "log.h"
#include "out.h"

#define WORKER_STOP_GRACE_MS 1000
/* After an accept that failed for want of descriptors or memory. */
#define ACCEPT_PAUSE_MS 100
/* Connections taken from the listening socket in one go. */
#define ACCEPT_BATCH 64
/* The longest the loop sleeps with nothing due: stop and rests show. */
#define TICK_MS 100
/* After this long with nothing in flight, a burst's memory goes back. */
#define QUIET_TRIM_MS 1000
#define EVENTS 256

/* What an epoll event's data.ptr points at: each starts with its kind. */
enum kind { K_LISTEN, K_SIGNAL };

struct conn {
	struct fconn fc;
	int fd;
	int out_watched;  /* EPOLLOUT is asked for */
	int closing;      /* close once `out` is sent */
	int cut;          /* an answer cut off: close without its end */
	int has_job;      /* job is with the pool */
	int served;       /* a request has ended on it: nginx keeps it */
	long long deadline_ms; /* a stall's end, or 0 */
	struct conn *prev, *next; /* on the idle list or the busy list */
	int idle;         /* which of the two */
	int dead;         /* closed: freed once the events in hand are done */
	struct conn *next_dead;
	struct dbjob job;     /* first: done() finds the conn from it */
	struct app_plan plan;
};

struct worker {
	const struct config *cfg;
	struct app app;
	struct fconn_limits lim;
	struct dbpool *pool;
	struct out *o;
	int epfd, sfd;
	int listening;      /* fd 0 is in epoll */
	long long accept_resume_ms;
	int stopping;
	long long stop_at_ms;
	unsigned nconns, max_conns;
	/* idle connections, longest idle first; and the others */
	struct conn *idle_head, *idle_tail, *busy_head;
	struct conn *dead; /* closed in this round of events */
	long long busy_ms; /* when a connection or a page was last in flight */
	int untrimmed;     /* in flight since the last trim */
	int k_listen, k_signal; /* epoll data for fd 0 and the signalfd */
};

static struct worker *the_worker; /* for the pool's done callback */

/* Takes c off its list; every live connection is on one. */
static void
list_unlink(struct worker *w, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (c->idle)
		w->idle_head = c->next;
	else
		w->busy_head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else if (c->idle)
		w->idle_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Puts c, on no list, at the idle list's end (idle) or on the busy list. */
static void
list_put(struct worker *w, struct conn *c, int idle)
{
	c->idle = idle;
	if (idle) {
		c->prev = w->idle_tail;
		if (w->idle_tail != NULL)
			w->idle_tail->next = c;
		else
			w->idle_head = c;
		w->idle_tail = c;
	} else {
		c->next = w->busy_head;
		if (w->busy_head != NULL)
			w->busy_head->prev = c;
		w->busy_head = c;
	}
}

static void
listen_watch(struct worker *w, int on)
{
	struct epoll_event ev;

	if (on == w->listening)
		return;
	memset(&ev, 0, sizeof(ev));
	/* one worker wakes for a new connection, not all of them */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.ptr = &w->k_listen;
	if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, 0,
	    on ? &ev : NULL) == 0)
		w->listening = on;
	else
		log_rate("listen epoll", clock_ms(), "worker: cannot %s the "
		    "listening socket: %s", on ? "watch" : "stop watching",
		    strerror(errno));
}

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->has_job)
		dbpool_cancel(w->pool, &c->job);
	list_unlink(w, c);
	/* close() takes the descriptor out of epoll */
	if (close(c->fd) != 0)
		log_rate("close", clock_ms(), "worker: closing a connection "
		    "failed: %s", strerror(errno));
	fconn_free(&c->fc);
	/* an event for it may still be in hand: freed after them */
	c->dead = 1;
	c->next_dead = w->dead;
	w->dead = c;
	w->nconns--;
}

static void
free_dead(struct worker *w)
{
	struct conn *c;

	while ((c = w->dead) != NULL) {
		w->dead = c->next_dead;
		free(c);
	}
}

/*
 * Where c stands after any change: idle (a request has ended on it, and
 * nothing is read, to send or in progress) costs no buffer and has no
 * deadline; otherwise its stall deadline runs from its last progress
 * (set by the caller), and for a new connection from its accept: one
 * that never sends a request is closed after request-read-timeout.
 */
static void
conn_settle(struct worker *w, struct conn *c)
{
	int idle = c->served && !fconn_busy(&c->fc) && c->fc.in.len == 0 &&
	    c->fc.out.len == 0 && !c->closing;

	if (idle) {
		fconn_trim(&c->fc);
		c->deadline_ms = 0;
	}
	if (idle != c->idle) {
		list_unlink(w, c);
		list_put(w, c, idle);
	}
}

static int
conn_events(struct worker *w, struct conn *c, int want_out)
{
	struct epoll_event ev;

	if (want_out == c->out_watched)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		return -1;
	c->out_watched = want_out;
	return 0;
}

/*
 * Sends what c has for its peer, as far as the socket takes it.  Returns
 * 0, or -1 when c was closed (the peer went, or c was to close).
 */
static int
conn_flush(struct worker *w, struct conn *c)
{
	struct buf *b = &c->fc.out;
	ssize_t n;

	while (b->len > 0) {
		n = send(c->fd, buf_data(b), b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf_take(b, (size_t)n);
			c->deadline_ms = clock_ms() +
			    (long long)w->cfg->response_write_timeout * 1000;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_events(w, c, 1) != 0)
				break;
			conn_settle(w, c);
			return 0;
		}
		if (!c->cut)
			log_rate("gone", clock_ms(), "worker: client went away "
			    "during the answer");
		break;
	}
	/*
	 * A connection that is not kept closes once its answer is sent,
	 * but not while its request's body is still coming: a close with
	 * bytes unread resets the connection, and a server still sending
	 * the body (Apache sends the empty end of FCGI_STDIN after the
	 * parameters, when the answer may be out already) fails on it.
	 */
	if (b->len == 0 && !c->cut && (!c->closing || c->fc.body_id != 0) &&
	    conn_events(w, c, 0) == 0) {
		conn_settle(w, c);
		return 0;
	}
	conn_close(w, c);
	return -1;
}

static int
sink(void *ctx, const char *p, size_t n)
{
	struct conn *c = ctx;

	return fconn_stdout(&c->fc, p, n);
}

/*
 * Ends c's request once its answer is written into w->o: whole, with
 * FCGI_END_REQUEST; or cut off (cut), without it, and the connection
 * closes once what went out is sent, so that nginx aborts the client's
 * response.  Not kept if nginx did not ask, or the worker is stopping.
 */
static void
conn_answered(struct worker *w, struct conn *c, int cut)
{
	if (out_finish(w->o) != 0 || cut) {
		fconn_drop(&c->fc);
		c->cut = 1;
	} else if (fconn_end(&c->fc) != 0) {
		c->cut = 1;
	} else if (!c->fc.keep || w->stopping) {
		c->closing = 1;
	}
	c->served = 1;
}

/* The pool's answer for c's job. */
static void
job_done(struct dbjob *j, struct db *db, enum db_rc rc)
{
	struct worker *w = the_worker;
	struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, job));
	int cut;

	c->has_job = 0;
	out_init(w->o, sink, c);
	cut = app_finish(&w->app, &c->plan, db, rc, w->o) != 0;
	conn_answered(w, c, cut);
	(void)conn_flush(w, c);
}

static const char *
param(const struct conn *c, const char *name)
{
	return fconn_param(&c->fc, name);
}

/* A request's parameters are whole: answered now, or given to the pool. */
static void
conn_request(struct worker *w, struct conn *c)
{
	struct app_request req;
	enum db_rc rc;

	req.method = param(c, "REQUEST_METHOD");
	req.script_name = param(c, "SCRIPT_NAME");
	req.path_info = param(c, "PATH_INFO");
	req.request_uri = param(c, "REQUEST_URI");
	req.query = param(c, "QUERY_STRING");
	req.accept = param(c, "HTTP_ACCEPT");
	out_init(w->o, sink, c);
	if (app_begin(&w->app, &req, w->o, &c->plan) == APP_ANSWERED) {
		conn_answered(w, c, 0);
		return;
	}
	memset(&c->job, 0, sizeof(c->job));
	c->job.ping = c->plan.need == APP_PING;
	c->job.from = c->plan.from;
	c->job.nrows = c->plan.nrows;
	c->job.done = job_done;
	c->has_job = 1;
	c->deadline_ms = 0; /* the pool bounds the wait from here */
	rc = dbpool_submit(w->pool, &c->job);
	if (rc != DB_WAIT) {
		c->has_job = 0;
		(void)app_finish(&w->app, &c->plan, NULL, rc, w->o);
		conn_answered(w, c, 0);
	}
}

/*
 * Reads what c's peer sent and acts on its records.  Returns 0, or -1
 * when c was closed.
 */
static int
conn_read(struct worker *w, struct conn *c)
{
	struct buf *in = &c->fc.in;
	unsigned char *room;
	size_t want;
	ssize_t n;
	enum fconn_ev ev;
	int eof = 0;

	for (;;) {
		want = in->max - in->len;
		if (want > 65536)
			want = 65536;
		if (want == 0)
			break; /* a whole record is in: take it first */
		room = buf_room(in, want);
		if (room == NULL) {
			log_msg("worker: out of memory for a connection");
			conn_close(w, c);
			return -1;
		}
		n = recv(c->fd, room, want, MSG_DONTWAIT);
		if (n > 0) {
			in->len += (size_t)n;
			if ((size_t)n < want)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		eof = 1; /* the peer closed, or the connection failed */
		break;
	}
	while ((ev = fconn_next(&c->fc)) != FCONN_MORE) {
		if (ev == FCONN_REQUEST) {
			conn_request(w, c);
		} else if (ev == FCONN_ABORT) {
			/* the request ends now; its database call is let go */
			if (c->has_job) {
				dbpool_cancel(w->pool, &c->job);
				c->has_job = 0;
			}
			if (fconn_end(&c->fc) != 0 || !c->fc.keep)
				c->closing = 1;
		} else if (ev == FCONN_CLOSE) {
			c->closing = 1;
		} else {
			conn_close(w, c);
			return -1;
		}
	}
	if (eof) {
		/* nothing more can come: a request in progress is let go */
		conn_close(w, c);
		return -1;
	}
	if (in->len > 0 || (fconn_busy(&c->fc) && !c->fc.params_done))
		c->deadline_ms = clock_ms() +
		    (long long)w->cfg->request_read_timeout * 1000;
	return conn_flush(w, c);
}

/* Closes the connection idle longest, to make room; 0, or -1 if none. */
static int
evict_idle(struct worker *w)
{
	if (w->idle_head == NULL)
		return -1;
	conn_close(w, w->idle_head);
	return 0;
}

static void
conn_new(struct worker *w, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev;

	if (c == NULL) {
		log_rate("conn memory", clock_ms(), "worker: out of memory for "
		    "a connection; closed");
		(void)close(fd);
		return;
	}
	c->fd = fd;
	fconn_init(&c->fc, &w->lim);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_rate("conn epoll", clock_ms(), "worker: cannot watch a "
		    "connection: %s; closed", strerror(errno));
		(void)close(fd);
		free(c);
		return;
	}
	w->nconns++;
	c->deadline_ms = clock_ms() +
	    (long long)w->cfg->request_read_timeout * 1000;
	list_put(w, c, 0);
}

/*
 * Takes new connections.  At the limit, the connection idle longest
 * makes room (nginx opens another when it needs one); with none idle,
 * the listening socket waits until a connection closes.  Out of
 * descriptors or memory, the same, or else a rest of ACCEPT_PAUSE_MS.
 */
static void
accept_some(struct worker *w)
{
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (w->nconns >= w->max_conns && w->idle_head == NULL) {
			listen_watch(w, 0);
			return;
		}
		fd = accept4(0, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/* room is made for a connection that came, not before */
			if (w->nconns >= w->max_conns)
				(void)evict_idle(w);
			conn_new(w, fd);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		/*
		 * Out of descriptors, accept4 fails before it looks for a
		 * connection: past the batch's first accept, the failure
		 * says nothing of one waiting, so it ends the batch.
		 * Evicting then would close an idle connection for none:
		 * the one just taken, when it is the only one.
		 */
		if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) && i > 0)
			return;
		if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) && evict_idle(w) == 0)
			continue;
		log_rate("accept", clock_ms(), "worker: accept failed: %s; "
		    "taking no new connection for %d ms", strerror(errno),
		    ACCEPT_PAUSE_MS);
		w->accept_resume_ms = clock_ms() + ACCEPT_PAUSE_MS;
		listen_watch(w, 0);
		return;
	}
}

/* Stalls past their bounds close; returns the next deadline, or 0. */
static long long
sweep(struct worker *w, long long now)
{
	struct conn *c, *next;
	long long due = 0;

	for (c = w->busy_head; c != NULL; c = next) {
		next = c->next;
		if (c->deadline_ms == 0)
			continue;
		if (now >= c->deadline_ms) {
			if (c->closing && c->fc.out.len == 0)
				; /* answered: the rest of a body never came */
			else if (c->fc.out.len > 0)
				log_msg("worker: an answer stalled for %u s "
				    "(response-write-timeout); connection "
				    "closed", w->cfg->response_write_timeout);
			else
				log_msg("worker: a request stalled for %u s "
				    "(request-read-timeout); connection closed",
				    w->cfg->request_read_timeout);
			conn_close(w, c);
		} else if (due == 0 || c->deadline_ms < due) {
			due = c->deadline_ms;
		}
	}
	return due;
}

/* A stop signal: no new connections, and the kept ones' grace starts. */
static void
stop_begin(struct worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	if (w->stopping)
		return;
	w->stopping = 1;
	w->stop_at_ms = clock_ms() + WORKER_STOP_GRACE_MS;
	listen_watch(w, 0);
}

/* Nonzero once the worker may exit: stopping, and nothing in flight. */
static int
stop_done(struct worker *w, long long now)
{
	if (!w->stopping)
		return 0;
	if (now >= w->stop_at_ms)
		while (evict_idle(w) == 0)
			;
	return w->nconns == 0 || (now >= w->stop_at_ms &&
	    w->busy_head == NULL);
}

static void
dispatch(struct worker *w, struct epoll_event *ev)
{
	void *p = ev->data.ptr;
	struct conn *c;

	if (p == &w->k_listen) {
		if (!w->stopping)
			accept_some(w);
	} else if (p == &w->k_signal) {
		stop_begin(w);
	} else if (dbpool_owns(w->pool, p)) {
		dbpool_event(w->pool, p, ev->events);
	} else {
		c = p;
		if (c->dead)
			return;
		if ((ev->events & EPOLLOUT) && conn_flush(w, c) != 0)
			return;
		if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			(void)conn_read(w, c);
	}
}

/*
 * Once nothing has been in flight for QUIET_TRIM_MS, the heap that a
 * burst of connections and pages grew goes back to the system: the
 * free memory between the blocks still in use, not only at its top.
 */
static void
rest(struct worker *w, long long now)
{
	if (w->busy_head != NULL || dbpool_jobs(w->pool) != 0) {
		w->busy_ms = now;
		w->untrimmed = 1;
	} else if (w->untrimmed && now - w->busy_ms >= QUIET_TRIM_MS) {
		/* its answer says only whether any was given back */
		(void)malloc_trim(0);
		w->untrimmed = 0;
	}
}

static int
loop(struct worker *w)
{
	struct epoll_event evs[EVENTS];
	long long now, due, d;
	int i, n, timeout;

	for (;;) {
		now = clock_ms();
		due = dbpool_tick(w->pool, now);
		d = sweep(w, now);
		if (d != 0 && (due == 0 || d < due))
			due = d;
		if (stop_done(w, now))
			return 0;
		rest(w, now);
		if (!w->stopping && !w->listening && now >= w->accept_resume_ms &&
		    w->nconns < w->max_conns)
			listen_watch(w, 1);
		timeout = TICK_MS;
		if (due != 0 && due - now < timeout)
			timeout = due > now ? (int)(due - now) : 0;
		n = epoll_wait(w->epfd, evs, EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			log_msg("worker: waiting for events failed: %s",
			    strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++)
			dispatch(w, &evs[i]);
		free_dead(w);
	}
}

/*
 * The connections a worker holds: the setting, within the descriptors
 * it may open (its database connections and a few of its own aside).
 */
static unsigned
conn_limit(const struct config *cfg)
{
	struct rlimit rl;
	unsigned want = cfg->connections, spare = config_db_per_worker(cfg) + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)want + spare) {
		want = rl.rlim_cur > spare + 1 ? (unsigned)(rl.rlim_cur - spare) : 1;
		log_msg("worker: holding at most %u connections, as the "
		    "descriptor limit (%llu) allows; connections = %u asks "
		    "for more", want, (unsigned long long)rl.rlim_cur,
		    cfg->connections);
	}
	return want;
}

/*
 * Signals: SIGTERM and SIGINT, blocked since the fork, come through a
 * signalfd; SIGPIPE, SIGUSR1 and SIGHUP mean nothing to a worker.
 */
static int
signals_setup(struct worker *w)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGUSR1, SIG_IGN) == SIG_ERR ||
	    signal(SIGHUP, SIG_IGN) == SIG_ERR)
		return -1;
	w->sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	return w->sfd < 0 ? -1 : 0;
}

int
worker_run(const struct config *cfg, const struct hostinfo *host)
{
	static struct worker wk;
	struct worker *w = &wk;
	struct epoll_event ev;
	unsigned per = config_db_per_worker(cfg);
	int rc = 1, flags;

	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->app.cfg = cfg;
	w->app.host = host;
	w->sfd = -1;
	w->max_conns = conn_limit(cfg);
	w->lim.max_conns = w->max_conns * cfg->workers;
	w->lim.max_reqs = w->max_conns * cfg->workers;
	the_worker = w;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->o = malloc(sizeof(*w->o));
	if (w->epfd < 0 || w->o == NULL || signals_setup(w) != 0) {
		log_msg("worker: cannot set up its event loop: %s",
		    strerror(errno));
		goto out;
	}
	w->pool = dbpool_new(cfg, per, w->epfd);
	if (w->pool == NULL) {
		log_msg("worker: out of memory");
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &w->k_signal;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sfd, &ev) != 0) {
		log_msg("worker: cannot watch its signals: %s", strerror(errno));
		goto out;
	}
	/*
	 * Workers share the listening socket: epoll wakes one of them for a
	 * connection (EPOLLEXCLUSIVE), and an accept that finds it taken
	 * returns EAGAIN.  Accepted sockets do not inherit the flag.
	 */
	flags = fcntl(0, F_GETFL);
	if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) != 0) {
		log_msg("worker: cannot make the listening socket non-blocking");
		goto out;
	}
	listen_watch(w, 1);
	if (!w->listening)
		goto out;
	rc = loop(w);
out:
	while (w->idle_head != NULL)
		conn_close(w, w->idle_head);
	while (w->busy_head != NULL)
		conn_close(w, w->busy_head);
	free_dead(w);
	dbpool_free(w->pool);
	if (w->sfd >= 0)
		(void)close(w->sfd);
	if (w->epfd >= 0)
		(void)close(w->epfd);
	free(w->o);
	return rc;
}
