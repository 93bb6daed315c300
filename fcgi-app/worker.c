/* ppoll() is a Linux call */
#define _GNU_SOURCE

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fcgiapp.h>

#include "app.h"
#include "clock.h"
#include "fcgirec.h"
#include "keepalive.h"
#include "log.h"

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * FCGX_Init installs libfcgi's own handlers for SIGPIPE and SIGUSR1
 * (and SIGTERM, which worker_run has taken already), without
 * SA_RESTART: a signal that lands while libfcgi reads a request ends the
 * read with EINTR, and libfcgi drops the request.  After it, they are
 * ignored, and so is SIGHUP: none of them means anything to a worker.
 */
static int
ignore_signals(void)
{
	return signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGUSR1, SIG_IGN) == SIG_ERR ||
	    signal(SIGHUP, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static int
fcgx_sink(void *ctx, const char *p, size_t n)
{
	FCGX_Stream *s = ctx;

	return FCGX_PutStr(p, (int)n, s) == (int)n ? 0 : -1;
}

/*
 * After an accept that failed for want of descriptors or memory, the
 * listening socket is left alone until accept_resume_ms: it stays
 * readable, and trying again at once would spin.
 */
#define ACCEPT_PAUSE_MS 100
static long long accept_resume_ms;

/*
 * Accepts a connection from the listening socket, bounded in time: a
 * read of its request waits at most request-read-timeout seconds for
 * bytes, a write of its answer response-write-timeout seconds for room,
 * so that a peer that stalls frees the worker.  The bounds belong to
 * the connection, so a worker holding several keeps one for each.
 * Returns the descriptor, -2 if another worker took the connection or
 * none can be taken for now (descriptors or memory ran out: logged, and
 * the listening socket rests for ACCEPT_PAUSE_MS), or -1 on error.
 */
static int
conn_accept(const struct config *cfg)
{
	struct timeval rt = {(time_t)cfg->request_read_timeout, 0};
	struct timeval wt = {(time_t)cfg->response_write_timeout, 0};
	int fd = accept4(0, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0 && (errno == EMFILE || errno == ENFILE ||
	    errno == ENOBUFS || errno == ENOMEM)) {
		/* out of descriptors or memory for now: wait, then try again */
		log_rate("accept", clock_ms(), "worker: accept failed: %s; "
		    "taking no new connection for %d ms", strerror(errno),
		    ACCEPT_PAUSE_MS);
		accept_resume_ms = clock_ms() + ACCEPT_PAUSE_MS;
		return -2;
	}
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ECONNABORTED || errno == EINTR ? -2 : -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof(wt)) != 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

static void
log_stall(const struct config *cfg)
{
	log_msg("worker: a request stalled for %u s (request-read-timeout); "
	    "connection closed", cfg->request_read_timeout);
}

/*
 * Reads the request on fd with libfcgi.  It is handed the connection
 * (ipcFd) rather than accepting one itself; keepConnection, until the
 * request's own flag replaces it, stops FCGX_Accept_r from closing it
 * first, and detached, while the request is read, makes a failed one
 * close at once instead of lingering.  A request that cannot be read is
 * closed: by libfcgi if it
 * failed before its parameters, after which libfcgi tries its own
 * listening socket, an idle one here that fails at once, so nothing is
 * accepted without its bounds; by us if it failed in them, which
 * libfcgi takes for their end.  Returns 0 when the request is read, -1
 * if it was not (logged).
 */
static int
conn_read(FCGX_Request *fr, int fd, const struct config *cfg)
{
	long long start = clock_ms();
	int e = 0;

	fr->ipcFd = fd;
	fr->keepConnection = 1;
	fr->detached = 1; /* a failed read closes at once, no lingering */
	if (FCGX_Accept_r(fr) == 0) {
		/* a read that failed in the parameters ends them early */
		e = FCGX_GetError(fr->in);
		if (e == 0) {
			fr->detached = 0; /* a whole request closes gently */
			return 0;
		}
		FCGX_Free(fr, 1);
	}
	fr->detached = 0;
	/* the kernel's timer may end the wait a tick before the clock does */
	if (e == EAGAIN || e == EWOULDBLOCK || clock_ms() - start + 20 >=
	    (long long)cfg->request_read_timeout * 1000)
		log_stall(cfg);
	else
		log_msg("worker: a request could not be read; connection "
		    "closed");
	return -1;
}

/*
 * A worker holds up to WORKER_CONNS FastCGI connections open: nginx keeps
 * connections (fastcgi_keep_conn, upstream keepalive) so that a page
 * costs no connect, accept, shutdown and close, and the worker waits on
 * all of them and on the listening socket at once, so no connection
 * pins it.  Each connection is one FCGX_Request on its own descriptor.
 * 16 x 8 workers hold the site's keepalive 64 with room to spare: with 4,
 * nginx's idle connections outnumbered the slots, a tenth of the pages
 * came on new connections, and each new connection woke all 8 workers.
 */
#ifndef WORKER_CONNS
#define WORKER_CONNS 16
#endif

struct conn {
	FCGX_Request fr;
};

/*
 * A slot for a connection waiting on the listening socket, or NULL when
 * every slot holds one.  A worker with no free slot does not take new
 * connections: closing a kept one instead would make nginx resend a
 * request it may have sent on it already.  The slots free up as nginx
 * closes the connections it does not keep (it keeps at most its
 * keepalive number idle, fewer than all workers' slots), and meanwhile
 * the other workers take the new connections.
 */
static struct conn *
free_slot(struct conn *conns)
{
	int i;

	for (i = 0; i < WORKER_CONNS; i++)
		if (conns[i].fr.ipcFd < 0)
			return &conns[i];
	return NULL;
}

/*
 * Waits until the listening socket or a held connection is ready.  Stop
 * signals are let in here and nowhere else: ppoll() unblocks them
 * atomically for the wait, so none is lost, and none can land inside
 * libfcgi, which drops a connection it is reading when a signal
 * interrupts it.  Fills ready[] with the slots that have a request, and
 * *listen_ready.  Returns 0 when something is ready, 1 on stop, -1 on
 * error.
 */
static int
wait_for_work(const sigset_t *waitmask, struct conn *conns, int *ready,
    int *listen_ready)
{
	struct pollfd p[1 + WORKER_CONNS];
	int slot[1 + WORKER_CONNS];
	struct timespec rest, *limit;
	long long now;
	int i, n, r;

	for (;;) {
		n = 0;
		/* the listening socket only while a slot is free */
		p[n].fd = free_slot(conns) != NULL ? 0 : -1;
		p[n].events = POLLIN;
		slot[n++] = -1;
		/* and not while accepting rests (conn_accept) */
		now = clock_ms();
		limit = NULL;
		if (p[0].fd == 0 && now < accept_resume_ms) {
			p[0].fd = -1;
			rest.tv_sec = (time_t)((accept_resume_ms - now) / 1000);
			rest.tv_nsec = (long)((accept_resume_ms - now) % 1000) *
			    1000000L;
			limit = &rest;
		}
		for (i = 0; i < WORKER_CONNS; i++) {
			ready[i] = 0;
			if (conns[i].fr.ipcFd < 0)
				continue;
			p[n].fd = conns[i].fr.ipcFd;
			p[n].events = POLLIN;
			slot[n++] = i;
		}
		r = ppoll(p, (nfds_t)n, limit, waitmask);
		if (stopping)
			return 1;
		if (r == 0)
			continue; /* the rest is over: poll the socket again */
		if (r > 0) {
			*listen_ready = (p[0].revents & POLLIN) != 0;
			for (i = 1; i < n; i++)
				ready[slot[i]] = p[i].revents != 0;
			return 0;
		}
		if (r < 0 && errno != EINTR) {
			log_msg("worker: waiting for connections failed: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* New connections wait on the listening socket (fd 0). */
static int
connections_waiting(void)
{
	struct pollfd p = {0, POLLIN, 0};

	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

/* The most of a request's body read past on a kept connection. */
#define BODY_SKIP_MAX (1024 * 1024)

/*
 * Reads the rest of the request's body (FCGI_STDIN) to its end, so that
 * the kept connection's next request starts at a record: the program
 * reads no body, but a server may send one (a POST, answered 405).
 * Meanwhile libfcgi answers a second FCGI_BEGIN_REQUEST on the
 * connection with FCGI_CANT_MPX_CONN.  Bounded by BODY_SKIP_MAX bytes
 * and request-read-timeout in all.  Returns 0 at the body's end, -1 if
 * it was not reached (the connection is then not kept).
 */
static int
skip_body(FCGX_Request *fr, const struct config *cfg)
{
	long long start = clock_ms();
	size_t total = 0;
	char buf[4096];
	int n;

	while ((n = FCGX_GetStr(buf, (int)sizeof(buf), fr->in)) > 0) {
		total += (size_t)n;
		if (total > BODY_SKIP_MAX || clock_ms() - start >
		    (long long)cfg->request_read_timeout * 1000)
			return -1;
	}
	return FCGX_GetError(fr->in) == 0 ? 0 : -1;
}

/*
 * Closes fr's connection at once: detached, libfcgi neither shuts it
 * down nor lingers up to 2 s for the peer to close first.  Its buffers
 * are dropped unsent.
 */
static void
conn_close_now(FCGX_Request *fr)
{
	fr->detached = 1;
	FCGX_Free(fr, 1);
	fr->detached = 0;
}

/*
 * Ends a connection whose answer was cut off part-way, without
 * FCGI_END_REQUEST and without sending what is still buffered: nginx
 * then aborts the client's response instead of ending it as whole
 * (app_handle).  Shut down first, so that nothing more reaches the
 * peer, and closed at once, with no lingering.
 */
static void
conn_cut(FCGX_Request *fr)
{
	if (shutdown(fr->ipcFd, SHUT_RDWR) != 0)
		log_msg("worker: shutting down a cut-off connection failed: %s",
		    strerror(errno));
	conn_close_now(fr);
}

/*
 * Serves the next request on c: on its kept connection, when it has one
 * (which nginx may have closed instead), or else on a connection
 * accepted now, with its read and write bounds (conn_accept).  Returns 0,
 * also when there was nothing to serve after all (another worker took
 * the connection, or nginx closed a kept one) or the request could not
 * be read (logged, closed), or -1 when accepting failed.
 */
static int
serve(struct app *app, struct out *o, struct conn *c,
    struct keepalive *keep)
{
	const struct config *cfg = app->cfg;
	/* each worker serves one request at a time, on one of its slots */
	const struct fcgirec_limits lim = {cfg->workers * WORKER_CONNS,
	    cfg->workers};
	struct app_request req;
	int fd = c->fr.ipcFd;
	ssize_t n;
	char b;

	if (fd >= 0) {
		n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0; /* woken for nothing */
		if (n == 0) {
			/* nginx closed it: no request lost, nothing to log */
			conn_close_now(&c->fr);
			return 0;
		}
	} else if ((fd = conn_accept(cfg)) == -2) {
		return 0; /* another worker took it */
	} else if (fd < 0) {
		log_msg("worker: accept failed: %s", strerror(errno));
		return -1;
	}
	/* management records and other roles: answered here (fcgirec.h) */
	switch (fcgirec_answer(fd, &lim,
	    (int)cfg->request_read_timeout * 1000)) {
	case FCGIREC_ANSWERED:
		c->fr.ipcFd = fd; /* held: its request may follow */
		return 0;
	case FCGIREC_STALLED:
		log_stall(cfg);
		/* fall through */
	case FCGIREC_CLOSE:
		c->fr.ipcFd = fd;
		conn_close_now(&c->fr);
		return 0;
	case FCGIREC_REQUEST:
		break;
	}
	if (conn_read(&c->fr, fd, cfg) != 0)
		return 0;
	req.method = FCGX_GetParam("REQUEST_METHOD", c->fr.envp);
	req.script_name = FCGX_GetParam("SCRIPT_NAME", c->fr.envp);
	req.path_info = FCGX_GetParam("PATH_INFO", c->fr.envp);
	req.request_uri = FCGX_GetParam("REQUEST_URI", c->fr.envp);
	req.query = FCGX_GetParam("QUERY_STRING", c->fr.envp);
	req.accept = FCGX_GetParam("HTTP_ACCEPT", c->fr.envp);
	out_init(o, fcgx_sink, c->fr.out);
	if (app_handle(app, &req, o) != 0) {
		conn_cut(&c->fr);
		return 0;
	}
	if (out_finish(o) != 0 && (FCGX_GetError(c->fr.out) == EAGAIN ||
	    FCGX_GetError(c->fr.out) == EWOULDBLOCK))
		log_msg("worker: an answer stalled for %u s "
		    "(response-write-timeout); connection closed",
		    cfg->response_write_timeout);
	else if (out_error(o) != 0)
		log_msg("worker: client went away during the answer");
	/* kept if nginx asked for it and the backlog allows (keepalive.h) */
	if (!keepalive_after_page(keep, clock_ms(), connections_waiting()))
		c->fr.keepConnection = 0;
	if (c->fr.keepConnection && skip_body(&c->fr, cfg) != 0)
		c->fr.keepConnection = 0;
	FCGX_Finish_r(&c->fr);
	return 0;
}

int
worker_run(const struct config *cfg, const struct hostinfo *host)
{
	struct sigaction sa;
	sigset_t stopset, waitmask;
	struct conn *conns = NULL, *c;
	struct app app;
	struct out *o = NULL;
	int ready[WORKER_CONNS];
	struct keepalive keep = {0, 0};
	int rc = 1, r = -1, i, flags, listen_ready, inited = 0, idle = -1;

	app.cfg = cfg;
	app.host = host;
	app.db = db_new(cfg);
	o = malloc(sizeof(*o));
	conns = calloc(WORKER_CONNS, sizeof(*conns));
	if (app.db == NULL || o == NULL || conns == NULL) {
		log_msg("worker: out of memory");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	/* stop signals stay blocked except inside wait_for_work */
	if (sigprocmask(SIG_BLOCK, &stopset, &waitmask) != 0 ||
	    sigdelset(&waitmask, SIGTERM) != 0 ||
	    sigdelset(&waitmask, SIGINT) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		log_msg("worker: cannot set signal handlers");
		goto out;
	}
	/*
	 * Workers share the listening socket: all wake for a connection and
	 * one wins.  Non-blocking, the others get EAGAIN and wait again.
	 * Accepted sockets do not inherit the flag.
	 */
	flags = fcntl(0, F_GETFL);
	if (flags < 0 || fcntl(0, F_SETFL, flags | O_NONBLOCK) != 0) {
		log_msg("worker: cannot make the listening socket non-blocking");
		goto out;
	}
	/* libfcgi's own listening socket: one that never has a connection */
	idle = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (idle < 0 || FCGX_Init() != 0 || ignore_signals() != 0) {
		log_msg("worker: cannot set up libfcgi");
		goto out;
	}
	for (inited = 0; inited < WORKER_CONNS; inited++)
		if (FCGX_InitRequest(&conns[inited].fr, idle, 0) != 0) {
			log_msg("worker: cannot set up libfcgi");
			goto out;
		}
	(void)db_ping(app.db); /* connect early; failure is logged */
	while ((r = wait_for_work(&waitmask, conns, ready,
	    &listen_ready)) == 0) {
		/* requests on held connections first: they are here already */
		for (i = 0; i < WORKER_CONNS && r == 0; i++)
			if (ready[i])
				r = serve(&app, o, &conns[i], &keep);
		if (r == 0 && listen_ready && (c = free_slot(conns)) != NULL)
			r = serve(&app, o, c, &keep);
		if (r != 0)
			goto out;
	}
	if (r > 0)
		rc = 0;
out:
	for (i = 0; i < inited; i++)
		conn_close_now(&conns[i].fr); /* idle: close at once */
	if (idle >= 0)
		(void)close(idle);
	db_free(app.db);
	free(conns);
	free(o);
	return rc;
}
