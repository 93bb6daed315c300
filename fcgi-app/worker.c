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
#include "log.h"

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
fcgx_sink(void *ctx, const char *p, size_t n)
{
	FCGX_Stream *s = ctx;

	return FCGX_PutStr(p, (int)n, s) == (int)n ? 0 : -1;
}

/*
 * Waits until a connection is ready on the listening socket.  Stop
 * signals are let in here and nowhere else: ppoll() unblocks them
 * atomically for the wait, so none is lost, and none can land inside
 * libfcgi, which drops a connection it is reading when a signal
 * interrupts it.  Returns 0 when ready, 1 on stop, -1 on error.
 */
static int
wait_for_connection(const sigset_t *waitmask)
{
	struct pollfd p = {0, POLLIN, 0};
	int r;

	for (;;) {
		r = ppoll(&p, 1, NULL, waitmask);
		if (stopping)
			return 1;
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			log_msg("worker: waiting for connections failed: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/*
 * Accepts a connection from the listening socket, bounded in time: a
 * read of its request waits at most request-read-timeout seconds for
 * bytes, a write of its answer response-write-timeout seconds for room,
 * so that a peer that stalls frees the worker.  The bounds belong to
 * the connection, so a worker holding several keeps one for each.
 * Returns the descriptor, -2 if another worker took the connection, or
 * -1 on error.
 */
static int
conn_accept(const struct config *cfg)
{
	struct timeval rt = {(time_t)cfg->request_read_timeout, 0};
	struct timeval wt = {(time_t)cfg->response_write_timeout, 0};
	int fd = accept4(0, NULL, NULL, SOCK_CLOEXEC);

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
		log_msg("worker: a request stalled for %u s "
		    "(request-read-timeout); connection closed",
		    cfg->request_read_timeout);
	else
		log_msg("worker: a request could not be read; connection "
		    "closed");
	return -1;
}

int
worker_run(const struct config *cfg, const struct hostinfo *host)
{
	struct sigaction sa;
	sigset_t stopset, waitmask;
	FCGX_Request fr;
	struct app_request req;
	struct app app;
	struct out *o = NULL;
	int rc = 1, r, flags, fd, idle = -1;

	memset(&fr, 0, sizeof(fr));
	app.cfg = cfg;
	app.host = host;
	app.db = db_new(cfg);
	o = malloc(sizeof(*o));
	if (app.db == NULL || o == NULL) {
		log_msg("worker: out of memory");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	/* stop signals stay blocked except inside wait_for_connection */
	if (sigprocmask(SIG_BLOCK, &stopset, &waitmask) != 0 ||
	    sigdelset(&waitmask, SIGTERM) != 0 ||
	    sigdelset(&waitmask, SIGINT) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
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
	if (idle < 0 || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, idle, 0) != 0) {
		log_msg("worker: cannot set up libfcgi");
		goto out;
	}
	(void)db_ping(app.db); /* connect early; failure is logged */
	while ((r = wait_for_connection(&waitmask)) == 0) {
		fd = conn_accept(cfg);
		if (fd == -2)
			continue; /* another worker took it */
		if (fd < 0) {
			log_msg("worker: accept failed: %s", strerror(errno));
			goto out;
		}
		if (conn_read(&fr, fd, cfg) != 0)
			continue;
		req.method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		req.path = FCGX_GetParam("DOCUMENT_URI", fr.envp);
		req.query = FCGX_GetParam("QUERY_STRING", fr.envp);
		req.accept = FCGX_GetParam("HTTP_ACCEPT", fr.envp);
		out_init(o, fcgx_sink, fr.out);
		app_handle(&app, &req, o);
		if (out_flush(o) != 0 && (FCGX_GetError(fr.out) == EAGAIN ||
		    FCGX_GetError(fr.out) == EWOULDBLOCK))
			log_msg("worker: an answer stalled for %u s "
			    "(response-write-timeout); connection closed",
			    cfg->response_write_timeout);
		else if (out_error(o) != 0)
			log_msg("worker: client went away during the answer");
		FCGX_Finish_r(&fr);
	}
	if (r > 0)
		rc = 0;
out:
	FCGX_Free(&fr, 1);
	if (idle >= 0)
		(void)close(idle);
	db_free(app.db);
	free(o);
	return rc;
}
