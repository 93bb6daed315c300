/* ppoll() is a Linux call */
#define _GNU_SOURCE

#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "app.h"
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

int
worker_run(const struct config *cfg, const struct hostinfo *host)
{
	struct sigaction sa;
	sigset_t stopset, waitmask;
	FCGX_Request fr;
	struct app_request req;
	struct app app;
	struct out *o = NULL;
	int rc = 1, r, flags;

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
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		log_msg("worker: cannot set up libfcgi");
		goto out;
	}
	(void)db_ping(app.db); /* connect early; failure is logged */
	while ((r = wait_for_connection(&waitmask)) == 0) {
		r = FCGX_Accept_r(&fr);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			continue; /* another worker took it */
		if (r < 0) {
			log_msg("worker: accept failed (%d)", r);
			goto out;
		}
		req.method = FCGX_GetParam("REQUEST_METHOD", fr.envp);
		req.path = FCGX_GetParam("DOCUMENT_URI", fr.envp);
		req.query = FCGX_GetParam("QUERY_STRING", fr.envp);
		req.accept = FCGX_GetParam("HTTP_ACCEPT", fr.envp);
		out_init(o, fcgx_sink, fr.out);
		app_handle(&app, &req, o);
		if (out_flush(o) != 0)
			log_msg("worker: client went away during the answer");
		FCGX_Finish_r(&fr);
	}
	if (r > 0)
		rc = 0;
out:
	FCGX_Free(&fr, 1);
	db_free(app.db);
	free(o);
	return rc;
}
