#include "worker.h"

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
	FCGX_ShutdownPending();
}

static int
fcgx_sink(void *ctx, const char *p, size_t n)
{
	FCGX_Stream *s = ctx;

	return FCGX_PutStr(p, (int)n, s) == (int)n ? 0 : -1;
}

int
worker_run(const struct config *cfg, const struct hostinfo *host)
{
	struct sigaction sa;
	sigset_t stopset;
	FCGX_Request fr;
	struct request req;
	struct app app;
	struct out *o = NULL;
	int rc = 1, accepted;

	memset(&fr, 0, sizeof(fr));
	app.cfg = cfg;
	app.host = host;
	app.db = db_new(cfg);
	o = malloc(sizeof(*o));
	if (app.db == NULL || o == NULL) {
		log_msg("worker: out of memory");
		goto out;
	}
	/*
	 * No SA_RESTART: a stop signal must break accept(), and
	 * FCGI_FAIL_ACCEPT_ON_INTR makes libfcgi return instead of retrying.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_msg("worker: cannot set signal handlers");
		goto out;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_msg("worker: cannot set up libfcgi");
		goto out;
	}
	(void)db_ping(app.db); /* connect early; failure is logged */
	while (!stopping) {
		/* a stop signal may interrupt the wait, never a request */
		sigprocmask(SIG_UNBLOCK, &stopset, NULL);
		accepted = FCGX_Accept_r(&fr);
		sigprocmask(SIG_BLOCK, &stopset, NULL);
		if (accepted < 0) {
			if (!stopping) {
				log_msg("worker: accept failed (%d)", accepted);
				goto out;
			}
			break;
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
	rc = 0;
out:
	FCGX_Free(&fr, 1);
	db_free(app.db);
	free(o);
	return rc;
}
