#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "drain.h"
#include "log.h"

#define RESPAWN_DELAY_MS 1000 /* for a worker that died young */
#define TICK_MS 500           /* how often stop signals are repeated */

struct slot {
	pid_t pid;
	long long started;
	long long respawn_at;
};

/*
 * In a new worker: stop signals blocked (worker_run lets them in only
 * while it waits), SIGHUP ignored, so that a hangup of the terminal or a
 * reload sent to the whole group does not kill it.
 */
static int
worker_mask(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	return sigprocmask(SIG_BLOCK, &stop, NULL) != 0 ||
	    signal(SIGHUP, SIG_IGN) == SIG_ERR ? -1 : 0;
}

static void
spawn(struct slot *s, const sigset_t *orig, int (*work)(void *), void *arg)
{
	pid_t master = getpid(), pid = fork();

	if (pid < 0) {
		log_msg("cannot fork a worker: %s", strerror(errno));
		s->respawn_at = clock_ms() + RESPAWN_DELAY_MS;
		return;
	}
	if (pid == 0) {
		/*
		 * A worker outlives no master.  Stop signals stay blocked
		 * until the worker has its own handlers (worker_run), so one
		 * that comes before them is not lost; SIGCHLD and SIGHUP are
		 * the master's alone.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 ||
		    getppid() != master || sigprocmask(SIG_SETMASK, orig,
		    NULL) != 0 || worker_mask() != 0)
			_exit(1);
		exit(work(arg)); /* exit: sanitizers check at exit */
	}
	s->pid = pid;
	s->started = clock_ms();
}

static void
reap(struct slot *slots, unsigned n, int stopping)
{
	pid_t pid;
	unsigned i;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n && slots[i].pid != pid; i++)
			;
		if (i == n)
			continue;
		slots[i].pid = 0;
		if (WIFSIGNALED(st))
			log_msg("worker %ld killed by signal %d%s", (long)pid,
			    WTERMSIG(st), stopping ? "" : "; starting another");
		else if (WEXITSTATUS(st) != 0 || !stopping)
			log_msg("worker %ld exited with status %d%s",
			    (long)pid, WEXITSTATUS(st),
			    stopping ? "" : "; starting another");
		slots[i].respawn_at = clock_ms() - slots[i].started <
			RESPAWN_DELAY_MS ? clock_ms() + RESPAWN_DELAY_MS : 0;
	}
}

static void
signal_all(struct slot *slots, unsigned n, int sig)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
			(void)kill(slots[i].pid, sig);
}

/* Takes a stop signal: the first SIGTERM drains first, if configured. */
static void
on_stop_signal(int sig, unsigned drain_ms, long long *stop_at)
{
	if (sig == SIGTERM && *stop_at == 0 && drain_ms > 0) {
		log_msg("stopping in %u ms: health checks fail from now, "
		    "pages are still served", drain_ms);
		drain_begin();
		*stop_at = clock_ms() + drain_ms;
		return;
	}
	*stop_at = clock_ms(); /* SIGINT, or a second signal: stop now */
}

int
supervisor_run(unsigned n, unsigned drain_ms, int (*work)(void *), void *arg)
{
	struct timespec tick = {TICK_MS / 1000, (TICK_MS % 1000) * 1000000L};
	sigset_t set, orig;
	struct slot *slots = calloc(n, sizeof(*slots));
	long long stop_at = 0; /* when the workers are told to stop */
	unsigned i, alive;
	int sig, stopping = 0, rc = 1;

	if (slots == NULL) {
		log_msg("out of memory");
		goto out;
	}
	if (drain_init() != 0) {
		log_msg("cannot share memory with the workers: %s",
		    strerror(errno));
		goto out;
	}
	/* signals are taken with sigtimedwait, so none can be missed */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, &orig) != 0)
		goto out;
	for (;;) {
		alive = 0;
		for (i = 0; i < n; i++) {
			if (slots[i].pid == 0 && !stopping &&
			    clock_ms() >= slots[i].respawn_at)
				spawn(&slots[i], &orig, work, arg);
			alive += slots[i].pid > 0;
		}
		if (stopping && alive == 0)
			break;
		if (!stopping && stop_at != 0 && clock_ms() >= stop_at) {
			log_msg("stopping: letting %u workers finish", alive);
			stopping = 1;
		}
		/*
		 * Repeated on every tick: a signal that lands just before a
		 * worker blocks in accept() would otherwise be lost on it.
		 */
		if (stopping)
			signal_all(slots, n, SIGTERM);
		sig = sigtimedwait(&set, NULL, &tick);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping)
			on_stop_signal(sig, drain_ms, &stop_at);
		if (sig == SIGHUP)
			log_msg("SIGHUP ignored: the config is read at start; "
			    "restart the service to read it again");
		reap(slots, n, stopping);
	}
	log_msg("all workers stopped; exiting");
	rc = 0;
out:
	free(slots);
	return rc;
}
