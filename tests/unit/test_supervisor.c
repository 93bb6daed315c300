/*
 * supervisor.c in a forked master: a dead worker is replaced, one that
 * died young only after a pause, SIGTERM drains first when configured
 * and SIGINT or a second signal skips the drain, and the master exits 0
 * once every worker is gone.  The workers report on a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "drain.h"
#include "supervisor.h"
#include "unit.h"

static int report_fd = -1; /* the workers' end of the pipe */

struct master {
	pid_t pid;
	int rd;          /* the test's end of the pipe */
	char log[64];    /* the master's stderr */
	char buf[4096];  /* lines read so far, not yet taken */
	size_t len;
};

static void
report(char what)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%c%ld\n", what, (long)getpid());

	if (n > 0 && write(report_fd, line, (size_t)n) != n)
		_exit(9);
}

/* Lets the stop signals in, as worker_run does once it is ready. */
static void
unblock_stop(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (sigprocmask(SIG_UNBLOCK, &stop, NULL) != 0)
		_exit(10);
}

/*
 * Says S, takes 300 ms to get ready with the stop signals still blocked,
 * says R, and lets them in: one sent meanwhile stops it then.
 */
static int
slow_start_worker(void *arg)
{
	struct timespec ready = {0, 300 * 1000000L}, tick = {0, 20 * 1000000L};

	(void)arg;
	report('S');
	while (nanosleep(&ready, &ready) != 0 && errno == EINTR)
		;
	report('R');
	unblock_stop();
	while (nanosleep(&tick, NULL) == 0 || errno == EINTR)
		;
	return 0;
}

/* Says S when it starts, D once it sees the drain; stops on SIGTERM. */
static int
steady_worker(void *arg)
{
	struct timespec tick = {0, 20 * 1000000L};
	int drained = 0;

	(void)arg;
	report('S');
	unblock_stop();
	while (nanosleep(&tick, NULL) == 0 || errno == EINTR) {
		if (!drained && drain_active()) {
			report('D');
			drained = 1;
		}
	}
	return 1;
}

/* Says S and exits at once, with status 3. */
static int
dying_worker(void *arg)
{
	(void)arg;
	report('S');
	return 3;
}

static void
master_start(struct master *m, unsigned n, unsigned drain_ms,
    int (*work)(void *))
{
	sigset_t stop, orig;
	int p[2], fd;

	memset(m, 0, sizeof(*m));
	snprintf(m->log, sizeof(m->log), "/tmp/fcgi-app-unit-%ld.log",
	    (long)getpid());
	ck_assert_int_eq(pipe(p), 0);
	/* stop signals wait until the child has Check's handlers replaced */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &stop, &orig), 0);
	fflush(NULL);
	m->pid = fork();
	ck_assert_int_ge(m->pid, 0);
	if (m->pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fd = open(m->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		/* gone with the test, and signals handled as after exec */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
		    fd < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    signal(SIGTERM, SIG_DFL) == SIG_ERR ||
		    signal(SIGINT, SIG_DFL) == SIG_ERR ||
		    sigprocmask(SIG_SETMASK, &orig, NULL) != 0)
			_exit(8);
		exit(supervisor_run(n, drain_ms, work, NULL)); /* gcov: exit */
	}
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &orig, NULL), 0);
	close(p[1]);
	m->rd = p[0];
}

/*
 * The next line a worker reported, within ms: its kind (S or D) and pid
 * in *pid; 0 if none came in time, or the pipe was closed.
 */
static char
next_report(struct master *m, int ms, long *pid)
{
	long long end = clock_ms() + ms;
	struct pollfd pf;
	char *nl, kind;
	ssize_t r;

	for (;;) {
		nl = memchr(m->buf, '\n', m->len);
		if (nl != NULL) {
			*nl = '\0';
			kind = m->buf[0];
			*pid = strtol(m->buf + 1, NULL, 10);
			m->len -= (size_t)(nl + 1 - m->buf);
			memmove(m->buf, nl + 1, m->len);
			return kind;
		}
		pf.fd = m->rd;
		pf.events = POLLIN;
		if (clock_ms() >= end || poll(&pf, 1, (int)(end - clock_ms())) <= 0)
			return 0;
		r = read(m->rd, m->buf + m->len, sizeof(m->buf) - m->len);
		if (r <= 0)
			return 0;
		m->len += (size_t)r;
	}
}

/* The master's log; removes the file. */
static const char *
master_log(struct master *m)
{
	const char *text = file_text(m->log);

	unlink(m->log);
	close(m->rd);
	return text;
}

static int
gone(long pid)
{
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

START_TEST(a_dead_worker_is_replaced)
{
	struct master m;
	long a, b, c;
	const char *log;

	master_start(&m, 2, 0, steady_worker);
	ck_assert_int_eq(next_report(&m, 5000, &a), 'S');
	ck_assert_int_eq(next_report(&m, 5000, &b), 'S');
	ck_assert_int_eq(kill((pid_t)a, SIGKILL), 0);
	ck_assert_int_eq(next_report(&m, 5000, &c), 'S');
	ck_assert_int_ne(c, a);
	ck_assert_int_ne(c, b);
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	ck_assert(gone(b) && gone(c));
	log = master_log(&m);
	ck_assert_uint_eq(count_of(log, "killed by signal 9; starting another"),
	    1);
	ck_assert_uint_eq(count_of(log, "all workers stopped; exiting"), 1);
}
END_TEST

START_TEST(a_worker_that_dies_young_is_replaced_after_a_pause)
{
	struct master m;
	long long end;
	long pid;
	unsigned starts;
	const char *log;

	master_start(&m, 1, 0, dying_worker);
	ck_assert_int_eq(next_report(&m, 5000, &pid), 'S');
	starts = 1;
	end = clock_ms() + 2200;
	while (clock_ms() < end &&
	    next_report(&m, (int)(end - clock_ms()), &pid) == 'S')
		starts++;
	/* one a second after the first; without the pause, hundreds */
	ck_assert_uint_ge(starts, 2);
	ck_assert_uint_le(starts, 4);
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	log = master_log(&m);
	ck_assert_uint_ge(count_of(log, "exited with status 3; starting another"),
	    1);
}
END_TEST

START_TEST(sigterm_drains_first)
{
	struct master m;
	long w, d;
	const char *log;

	master_start(&m, 1, 300, steady_worker);
	ck_assert_int_eq(next_report(&m, 5000, &w), 'S');
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	/* the worker sees the drain while it still runs */
	ck_assert_int_eq(next_report(&m, 5000, &d), 'D');
	ck_assert_int_eq(d, w);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	ck_assert(gone(w));
	log = master_log(&m);
	ck_assert_uint_eq(count_of(log, "stopping in 300 ms"), 1);
	ck_assert_uint_eq(count_of(log, "all workers stopped; exiting"), 1);
}
END_TEST

START_TEST(sigint_skips_the_drain)
{
	struct master m;
	long w, x;
	const char *log;

	master_start(&m, 1, 20000, steady_worker);
	ck_assert_int_eq(next_report(&m, 5000, &w), 'S');
	ck_assert_int_eq(kill(m.pid, SIGINT), 0);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	ck_assert_int_eq(next_report(&m, 100, &x), 0); /* no drain seen */
	log = master_log(&m);
	ck_assert_uint_eq(count_of(log, "stopping in"), 0);
}
END_TEST

START_TEST(a_second_sigterm_ends_the_drain)
{
	struct master m;
	long w, d;

	master_start(&m, 1, 20000, steady_worker);
	ck_assert_int_eq(next_report(&m, 5000, &w), 'S');
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	ck_assert_int_eq(next_report(&m, 5000, &d), 'D');
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	(void)master_log(&m);
}
END_TEST

START_TEST(a_stop_signal_before_the_worker_is_ready_waits_for_it)
{
	struct master m;
	long w, r;

	master_start(&m, 1, 0, slow_start_worker);
	ck_assert_int_eq(next_report(&m, 5000, &w), 'S');
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	/* not killed on arrival: the worker got ready, then stopped */
	ck_assert_int_eq(next_report(&m, 5000, &r), 'R');
	ck_assert_int_eq(r, w);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	ck_assert(gone(w));
	(void)master_log(&m);
}
END_TEST

START_TEST(sighup_is_ignored)
{
	struct master m;
	long w, x;
	const char *log;

	master_start(&m, 2, 0, steady_worker);
	ck_assert_int_eq(next_report(&m, 5000, &w), 'S');
	ck_assert_int_eq(next_report(&m, 5000, &x), 'S');
	ck_assert_int_eq(kill(m.pid, SIGHUP), 0);
	ck_assert_int_eq(kill((pid_t)w, SIGHUP), 0);
	/* no worker died, so none is started */
	ck_assert_int_eq(next_report(&m, 700, &x), 0);
	ck_assert(!gone(w) && !gone(m.pid));
	ck_assert_int_eq(kill(m.pid, SIGTERM), 0);
	ck_assert_int_eq(child_wait(m.pid, 5000), 0);
	log = master_log(&m);
	ck_assert_uint_eq(count_of(log, "SIGHUP ignored"), 1);
	ck_assert_uint_eq(count_of(log, "starting another"), 0);
}
END_TEST

Suite *
suite_supervisor(void)
{
	Suite *s = suite_create("supervisor");
	TCase *tc = tcase_create("master");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_dead_worker_is_replaced);
	tcase_add_test(tc, a_worker_that_dies_young_is_replaced_after_a_pause);
	tcase_add_test(tc, sigterm_drains_first);
	tcase_add_test(tc, sigint_skips_the_drain);
	tcase_add_test(tc, a_second_sigterm_ends_the_drain);
	tcase_add_test(tc, a_stop_signal_before_the_worker_is_ready_waits_for_it);
	tcase_add_test(tc, sighup_is_ignored);
	suite_add_tcase(s, tc);
	return s;
}
