/*
 * worker.c in a forked child, on a listening unix socket as fd 0 and the
 * fake database (its pool's connections answer after one wait): a stop
 * signal that lands while a request is being read waits for the answer,
 * an idle worker stops at once and one with kept connections within its
 * grace, a request that stalls is closed after request-read-timeout
 * while other connections are served meanwhile, and running out of
 * descriptors does not end it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fake_db.h"
#include "unit.h"
#include "worker.h"

static struct config cfg;
static struct hostinfo host;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t worker;
static char log_path[64];

static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* 0, or how many connections the worker has descriptors for */
static int fd_room;
/* request-read-timeout and connections of the next worker_start */
static unsigned read_timeout = 1, conns = 16;

/* The descriptors a worker opens for itself: its epoll and signalfd. */
#define WORKER_OWN_FDS 2
#define FD_LIMIT 64

/*
 * In the worker's child: every descriptor below a limit of FD_LIMIT
 * taken, but for the worker's own and fd_room connections.  The limit
 * is well above what the worker sizes its connections for, so that an
 * accept fails with EMFILE, as when the descriptors are used elsewhere.
 */
static int
limit_fds(void)
{
	struct rlimit rl = {FD_LIMIT, FD_LIMIT};
	int fds[FD_LIMIT], n = 0, i;

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	while (n < FD_LIMIT && (fds[n] = dup(0)) >= 0)
		n++;
	if (n == FD_LIMIT || errno != EMFILE || n < WORKER_OWN_FDS + fd_room)
		return -1;
	for (i = 0; i < WORKER_OWN_FDS + fd_room; i++)
		if (close(fds[--n]) != 0)
			return -1;
	return 0;
}

static void
worker_start(void)
{
	struct sockaddr_un a;
	sigset_t stop, orig;
	int l, fd;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.table, "demo");
	strcpy(cfg.mount, "/");
	cfg.default_limit = 10;
	cfg.max_limit = 100;
	cfg.retry_after = 1;
	cfg.request_read_timeout = read_timeout;
	cfg.response_write_timeout = 1;
	cfg.workers = 1;
	cfg.connections = conns;
	cfg.db_connections = 1;
	cfg.db_wait_ms = 500;
	cfg.read_timeout = 5;
	fake_db_pool.waits = 1;
	strcpy(host.hostname, "web-1");
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(sock_path, sizeof(sock_path), "/tmp/fcgi-app-unit-%ld.sock",
	    (long)getpid());
	strcpy(a.sun_path, sock_path);
	(void)unlink(sock_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 8), 0);
	/*
	 * Stop signals wait until the child has Check's handlers, which
	 * would signal the test, replaced; worker_run keeps them blocked
	 * but for its wait.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &stop, &orig), 0);
	fflush(NULL);
	snprintf(log_path, sizeof(log_path), "/tmp/fcgi-app-unit-%ld.log",
	    (long)getpid());
	worker = fork();
	ck_assert_int_ge(worker, 0);
	if (worker == 0) {
		fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		/* gone with the test, and signals handled as after exec */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
		    dup2(l, 0) != 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    signal(SIGTERM, SIG_DFL) == SIG_ERR ||
		    signal(SIGINT, SIG_DFL) == SIG_ERR ||
		    (fd_room > 0 && limit_fds() != 0)) {
			fprintf(stderr, "setup failed: %s\n", strerror(errno));
			_exit(8);
		}
		exit(worker_run(&cfg, &host)); /* exit: gcov writes at exit */
	}
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &orig, NULL), 0);
	close(l);
}

/* The worker's exit status if it exits within ms; fails if not. */
static int
worker_wait(int ms)
{
	int st = child_wait(worker, ms);

	unlink(sock_path);
	unlink(log_path);
	return st;
}

static int
connect_worker(void)
{
	struct sockaddr_un a;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(s, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, sock_path);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

/* Nonzero if the peer closed s within ms, with nothing sent first. */
static int
closed_within(int s, int ms)
{
	struct pollfd pf = {s, POLLIN, 0};
	char b;

	return poll(&pf, 1, ms) == 1 && read(s, &b, 1) == 0;
}

/* A FastCGI record of type t carrying n bytes of p, appended to buf. */
static size_t
record(unsigned char *buf, size_t at, int t, const void *p, size_t n)
{
	unsigned char h[8] = {1, (unsigned char)t, 0, 1,
	    (unsigned char)(n >> 8), (unsigned char)n, 0, 0};

	memcpy(buf + at, h, 8);
	memcpy(buf + at + 8, p, n);
	return at + 8 + n;
}

/* A name-value pair with one-byte lengths, appended to buf. */
static size_t
param(unsigned char *buf, size_t at, const char *k, const char *v)
{
	buf[at++] = (unsigned char)strlen(k);
	buf[at++] = (unsigned char)strlen(v);
	memcpy(buf + at, k, strlen(k));
	at += strlen(k);
	memcpy(buf + at, v, strlen(v));
	return at + strlen(v);
}

/* Where FCGI_KEEP_CONN goes in fcgi_get's bytes: the begin's flags. */
#define KEEP_AT 10

/* The bytes of a whole GET request for path, on a connection not kept. */
static size_t
fcgi_get(unsigned char *buf, const char *path)
{
	static const unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};
	unsigned char params[256];
	size_t n = 0, at;

	n = param(params, n, "REQUEST_METHOD", "GET");
	n = param(params, n, "SCRIPT_NAME", path);
	n = param(params, n, "QUERY_STRING", "");
	at = record(buf, 0, 1, begin, sizeof(begin));
	at = record(buf, at, 4, params, n);
	at = record(buf, at, 4, "", 0);
	return record(buf, at, 5, "", 0);
}

/* The body of an answer: what follows the headers' blank line. */
static const char *
body_of(const char *out)
{
	const char *p = strstr(out, "\r\n\r\n");

	ck_assert_msg(p != NULL, "no headers: %s", out);
	return p + 4;
}

static void
send_all(int s, const unsigned char *p, size_t n)
{
	ck_assert_int_eq(send(s, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * Reads records until END_REQUEST, within ms; the STDOUT bytes go to
 * out.  Returns 0, or -1 if the connection closed or time ran out first.
 */
static int
fcgi_read(int s, char *out, size_t cap, int ms)
{
	unsigned char buf[8192];
	size_t len = 0, clen, plen, olen = 0;
	long long end = clock_ms() + ms;
	struct pollfd pf = {s, POLLIN, 0};
	ssize_t r;

	out[0] = '\0';
	for (;;) {
		while (len >= 8) {
			clen = (size_t)buf[4] << 8 | buf[5];
			plen = buf[6];
			if (len < 8 + clen + plen)
				break;
			if (buf[1] == 3)
				return 0;
			if (buf[1] == 6 && olen + clen < cap) {
				memcpy(out + olen, buf + 8, clen);
				olen += clen;
				out[olen] = '\0';
			}
			len -= 8 + clen + plen;
			memmove(buf, buf + 8 + clen + plen, len);
		}
		if (clock_ms() >= end || poll(&pf, 1, (int)(end - clock_ms())) <= 0)
			return -1;
		r = read(s, buf + len, sizeof(buf) - len);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
}

START_TEST(a_stop_signal_during_a_request_waits_for_the_answer)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	int s;

	worker_start();
	pause_ms(200); /* the worker waits for a connection */
	s = connect_worker();
	send_all(s, req, n / 2);
	pause_ms(200); /* it has accepted and reads the request */
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	pause_ms(100);
	send_all(s, req + n / 2, n - n / 2);
	ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
	ck_assert_msg(strncmp(out, "Status: 200 OK\r\n", 16) == 0, "got: %s",
	    out);
	ck_assert_str_eq(body_of(out), "ok\n");
	close(s);
	ck_assert_int_eq(worker_wait(5000), 0);
}
END_TEST

/*
 * SIGUSR1, SIGHUP and SIGPIPE while a request is read: none may end the
 * worker or the request.
 */
START_TEST(other_signals_during_a_request_change_nothing)
{
	static const int sigs[] = {SIGUSR1, SIGHUP, SIGPIPE};
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz"), i;
	int s;

	worker_start();
	pause_ms(200);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		s = connect_worker();
		send_all(s, req, n / 2);
		pause_ms(200); /* it has accepted and reads the request */
		ck_assert_int_eq(kill(worker, sigs[i]), 0);
		pause_ms(100);
		send_all(s, req + n / 2, n - n / 2);
		ck_assert_msg(fcgi_read(s, out, sizeof(out), 5000) == 0,
		    "signal %d dropped the request", sigs[i]);
		ck_assert_msg(strncmp(out, "Status: 200 OK\r\n", 16) == 0,
		    "got: %s", out);
		close(s);
	}
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(5000), 0);
}
END_TEST

/*
 * Descriptors run out: the worker, with room for one connection, holds
 * one that nginx keeps (FCGI_KEEP_CONN), in the middle of a request,
 * and is offered a second.  It must not end, which would reset the kept
 * one: it answers the first, and then, the first idle, closes it to
 * make room for the second, and serves that.
 */
START_TEST(running_out_of_descriptors_does_not_end_the_worker)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	int first, second;

	fd_room = 1;
	worker_start();
	fd_room = 0;
	first = connect_worker();
	req[KEEP_AT] = 1;
	send_all(first, req, n);
	ck_assert_int_eq(fcgi_read(first, out, sizeof(out), 5000), 0);
	send_all(first, req, n / 2); /* busy: it cannot make room */
	second = connect_worker();
	pause_ms(300); /* its accept fails, and fails again */
	send_all(first, req + n / 2, n - n / 2); /* the kept one still serves */
	ck_assert_int_eq(fcgi_read(first, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ok\n");
	req[KEEP_AT] = 0;
	send_all(second, req, n);
	ck_assert_int_eq(fcgi_read(second, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ok\n");
	/* the idle kept one made the room */
	ck_assert(closed_within(first, 1000));
	close(first);
	close(second);
	ck_assert_msg(count_of(file_text(log_path), "accept failed: Too "
	    "many open files; taking no new connection for 100 ms") == 1,
	    "log: %s", file_text(log_path));
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

START_TEST(an_idle_worker_stops_at_once)
{
	long long t;

	worker_start();
	pause_ms(200);
	t = clock_ms();
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
	/* no connection to wait for: not even the kept ones' grace */
	ck_assert_int_lt(clock_ms() - t, 500);
}
END_TEST

/*
 * A kept connection with nothing on it holds a stopping worker for its
 * grace of a second (worker.h), in which a request sent on it is still
 * answered; then it is closed, and the worker exits.
 */
START_TEST(a_kept_connection_gets_a_second_of_grace)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	long long t;
	int s;

	worker_start();
	s = connect_worker();
	req[KEEP_AT] = 1;
	send_all(s, req, n);
	ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
	t = clock_ms();
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	pause_ms(300);
	send_all(s, req, n);
	ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ok\n");
	/* the answer is the last on it: closed at once, not at the grace */
	ck_assert(closed_within(s, 500));
	close(s);
	ck_assert_int_eq(worker_wait(3000), 0);
	ck_assert_int_lt(clock_ms() - t, 1000);
	/* one kept and left idle: closed when the grace ends */
	worker_start();
	s = connect_worker();
	send_all(s, req, n);
	ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
	t = clock_ms();
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert(closed_within(s, 3000));
	ck_assert_int_ge(clock_ms() - t, 900);
	ck_assert_int_lt(clock_ms() - t, 2000);
	close(s);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

/*
 * Stalled requests: one inside its begin record, one inside its
 * parameters.  Another connection is served meanwhile, and the two are
 * closed, unanswered, after request-read-timeout.
 */
START_TEST(a_stalled_request_is_closed_after_the_read_timeout)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	long long t;
	int s, p, u;

	worker_start();
	s = connect_worker();
	send_all(s, req, 10); /* inside the begin record, and no more */
	p = connect_worker();
	send_all(p, req, 20); /* inside the parameters, and no more */
	t = clock_ms();
	u = connect_worker();
	send_all(u, req, n);
	ck_assert_int_eq(fcgi_read(u, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ok\n");
	ck_assert_int_lt(clock_ms() - t, 500); /* not after the stalls */
	/* closed without an answer: half a request is not one */
	ck_assert(closed_within(s, 3000));
	ck_assert(closed_within(p, 3000));
	ck_assert_int_ge(clock_ms() - t, 900);
	close(s);
	close(p);
	close(u);
	ck_assert_uint_eq(count_of(file_text(log_path), "a request stalled for "
	    "1 s (request-read-timeout); connection closed"), 2);
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

/*
 * Two connections, one stalled in the middle of its request: the other
 * is served at once, long before the stall's timeout; then the stalled
 * one goes on and is served too.  A core serving one connection at a
 * time would answer the second only after the first.
 */
START_TEST(a_stalled_connection_holds_up_no_other)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/readyz");
	long long t;
	int slow, quick;

	read_timeout = 10;
	worker_start();
	read_timeout = 1;
	slow = connect_worker();
	send_all(slow, req, n / 2);
	pause_ms(100);
	t = clock_ms();
	quick = connect_worker();
	send_all(quick, req, n);
	ck_assert_int_eq(fcgi_read(quick, out, sizeof(out), 5000), 0);
	ck_assert_int_lt(clock_ms() - t, 1000);
	ck_assert_str_eq(body_of(out), "ready\n");
	send_all(slow, req + n / 2, n - n / 2);
	ck_assert_int_eq(fcgi_read(slow, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ready\n");
	close(slow);
	close(quick);
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

/* Requests one after another, each on a connection of its own, and one
 * that asks the database (a ping on the pool's connection). */
START_TEST(a_worker_serves_one_request_after_another)
{
	static const char *const paths[] = {"/healthz", "/readyz", "/healthz",
	    "/readyz"};
	static const char *const bodies[] = {"ok\n", "ready\n", "ok\n",
	    "ready\n"};
	unsigned char req[512];
	char out[4096];
	size_t n, i;
	int s;

	worker_start();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n = fcgi_get(req, paths[i]);
		s = connect_worker();
		send_all(s, req, n);
		ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
		ck_assert_str_eq(body_of(out), bodies[i]);
		ck_assert(closed_within(s, 1000)); /* not kept: closed */
		close(s);
	}
	ck_assert_int_eq(kill(worker, SIGINT), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

/*
 * At connections = 2, with two kept connections idle, a third is taken
 * in place of the one idle longest; the other is still served.
 */
START_TEST(a_connection_at_the_limit_closes_the_longest_idle_alone)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	int a, b, c;

	conns = 2;
	worker_start();
	conns = 16;
	req[KEEP_AT] = 1;
	a = connect_worker();
	send_all(a, req, n);
	ck_assert_int_eq(fcgi_read(a, out, sizeof(out), 5000), 0);
	pause_ms(50);
	b = connect_worker();
	send_all(b, req, n);
	ck_assert_int_eq(fcgi_read(b, out, sizeof(out), 5000), 0);
	pause_ms(50);
	c = connect_worker();
	send_all(c, req, n);
	ck_assert_int_eq(fcgi_read(c, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(body_of(out), "ok\n");
	ck_assert(closed_within(a, 1000));
	send_all(b, req, n);
	ck_assert_msg(fcgi_read(b, out, sizeof(out), 5000) == 0,
	    "the second kept connection was closed too");
	ck_assert_str_eq(body_of(out), "ok\n");
	close(a);
	close(b);
	close(c);
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

Suite *
suite_worker(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("signals");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_stop_signal_during_a_request_waits_for_the_answer);
	tcase_add_test(tc, other_signals_during_a_request_change_nothing);
	tcase_add_test(tc, running_out_of_descriptors_does_not_end_the_worker);
	tcase_add_test(tc, an_idle_worker_stops_at_once);
	tcase_add_test(tc, a_kept_connection_gets_a_second_of_grace);
	tcase_add_test(tc, a_worker_serves_one_request_after_another);
	tcase_add_test(tc, a_stalled_request_is_closed_after_the_read_timeout);
	tcase_add_test(tc, a_stalled_connection_holds_up_no_other);
	tcase_add_test(tc, a_connection_at_the_limit_closes_the_longest_idle_alone);
	suite_add_tcase(s, tc);
	return s;
}
