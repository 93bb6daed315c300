/*
 * worker.c in a forked child, on a listening unix socket as fd 0 and the
 * fake database: a stop signal that lands while a request is being read
 * waits for the answer, an idle worker stops at once, and a request that
 * stalls frees the worker after request-read-timeout.
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

/*
 * In the worker's child: a limit on descriptors that leaves room for
 * fd_room connections besides the worker's own socket.
 */
static int
limit_fds(void)
{
	struct rlimit rl;
	int lowest = dup(0);

	if (lowest < 0 || close(lowest) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max = (rlim_t)(lowest + 1 + fd_room);
	return setrlimit(RLIMIT_NOFILE, &rl);
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
	cfg.request_read_timeout = 1;
	cfg.response_write_timeout = 1;
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
		    (fd_room > 0 && limit_fds() != 0))
			_exit(8);
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

/* The bytes of a whole GET request for path. */
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

static void
send_all(int s, const unsigned char *p, size_t n)
{
	ck_assert_int_eq(write(s, p, n), (ssize_t)n);
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
	ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, "ok\n");
	close(s);
	ck_assert_int_eq(worker_wait(5000), 0);
}
END_TEST

/*
 * SIGUSR1 and SIGHUP while a request is read: libfcgi's own handler
 * would end the read with EINTR and drop the request.
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
 * one that nginx keeps (FCGI_KEEP_CONN) and is offered a second.  It
 * must not end, which would reset the kept one, but serve the second
 * once the first is closed.
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
	req[10] = 1; /* FCGI_KEEP_CONN in the begin record's flags */
	send_all(first, req, n);
	ck_assert_int_eq(fcgi_read(first, out, sizeof(out), 5000), 0);
	second = connect_worker();
	pause_ms(300); /* its accept fails, and fails again */
	send_all(first, req, n); /* the kept one still serves */
	ck_assert_int_eq(fcgi_read(first, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, "ok\n");
	close(first);
	req[10] = 0;
	send_all(second, req, n);
	ck_assert_int_eq(fcgi_read(second, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, "ok\n");
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
	worker_start();
	pause_ms(200);
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

START_TEST(a_stalled_request_frees_the_worker)
{
	unsigned char req[512];
	char out[4096], b;
	size_t n = fcgi_get(req, "/healthz");
	int s, p, t;

	worker_start();
	s = connect_worker();
	send_all(s, req, 10); /* inside the begin record, and no more */
	p = connect_worker();
	send_all(p, req, 20); /* inside the parameters, and no more */
	t = connect_worker();
	send_all(t, req, n);
	/* the one worker serves t once s and p have stalled a second each */
	ck_assert_int_eq(fcgi_read(t, out, sizeof(out), 5000), 0);
	ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, "ok\n");
	/* closed without an answer: half a request is not one */
	ck_assert_int_eq(read(s, &b, 1), 0);
	ck_assert_int_eq(read(p, &b, 1), 0);
	close(s);
	close(p);
	close(t);
	ck_assert_uint_eq(count_of(file_text(log_path), "a request stalled for "
	    "1 s (request-read-timeout); connection closed"), 2);
	ck_assert_int_eq(kill(worker, SIGTERM), 0);
	ck_assert_int_eq(worker_wait(3000), 0);
}
END_TEST

START_TEST(a_worker_serves_one_request_after_another)
{
	unsigned char req[512];
	char out[4096];
	size_t n = fcgi_get(req, "/healthz");
	int i, s;

	worker_start();
	for (i = 0; i < 3; i++) {
		s = connect_worker();
		send_all(s, req, n);
		ck_assert_int_eq(fcgi_read(s, out, sizeof(out), 5000), 0);
		ck_assert_str_eq(strstr(out, "\r\n\r\n") + 4, "ok\n");
		close(s);
	}
	ck_assert_int_eq(kill(worker, SIGINT), 0);
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
	tcase_add_test(tc, a_worker_serves_one_request_after_another);
	tcase_add_test(tc, a_stalled_request_frees_the_worker);
	suite_add_tcase(s, tc);
	return s;
}
