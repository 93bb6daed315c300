/*
 * openloop: make bench's open-loop load generator.  It starts GET
 * requests on a fixed schedule (request i is due at start + i/rate) over
 * a fixed pool of keep-alive connections, all opened before the first is
 * due, and counts each request's latency from the moment it was due, not
 * from when a free connection sent it: a server that stalls is charged
 * for every request it held up, which a closed loop such as wrk hides
 * (coordinated omission).  One thread, epoll, a timerfd for the
 * schedule: it costs the machine a few microseconds a request, so the
 * servers it measures keep the CPU.
 *
 * Bounded in count (rate x seconds requests, at most MAX_REQUESTS) and in
 * time (the schedule, then at most -timeout for the last answers; each
 * answer is awaited at most -timeout from its send).  It prints one JSON
 * object: the requests due, answered and failed (connections lost under
 * a request, timeouts, non-2xx, and any still unanswered at the end),
 * and the percentiles in ms, from the due time (p50_ms ...) and from the
 * send (service_p50_ms, service_p99_ms).
 *
 *   openloop -url http://127.0.0.1:PORT/PATH -rate R -seconds S
 *            [-conns N] [-timeout SECONDS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS 20000000L
#define MAX_CONNS 4096
#define HEAD_MAX 16384
#define READ_CHUNK 65536
#define EVENTS 256
/* a connection that could not connect tries again after this */
#define RECONNECT_NS 10000000LL
/* deadlines are looked at this often */
#define SWEEP_NS 5000000LL

enum rstate { A_NONE, A_OK, A_NON2XX, A_FAILED };
enum cstate { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
enum pstate { P_HEAD, P_LENGTH, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END,
	P_TRAILER };

struct conn {
	int fd;
	enum cstate state;
	long req;        /* the request under way */
	int64_t sent_ns;
	int64_t retry_ns; /* C_DOWN: when to connect again */
	enum pstate ps;
	int status;
	int close_after;
	int64_t left;    /* body or chunk bytes still to come */
	char head[HEAD_MAX];
	size_t nhead;
	struct conn *next_idle;
	int listed;      /* on the idle list (perhaps closed since) */
};

struct run {
	struct sockaddr_in addr;
	char request[1024];
	size_t request_len;
	double rate;
	long total, due, sent;
	int64_t begin_ns, timeout_ns;
	int epfd, tfd;
	int nconns;
	struct conn *conns, *idle;
	int64_t *lat_due, *lat_svc;
	unsigned char *result;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t
due_ns(const struct run *r, long i)
{
	return r->begin_ns + (int64_t)((double)i * 1e9 / r->rate);
}

/* Closes c; it connects again from retry_ns on. */
static void
conn_close(struct run *r, struct conn *c, int64_t retry_ns)
{
	if (c->fd >= 0) {
		(void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		(void)close(c->fd);
	}
	c->fd = -1;
	c->state = C_DOWN;
	c->retry_ns = retry_ns;
}

static void
conn_idle(struct run *r, struct conn *c)
{
	c->state = C_IDLE;
	if (c->listed)
		return;
	c->listed = 1;
	c->next_idle = r->idle;
	r->idle = c;
}

/* Starts a connect; a connection that cannot start retries later. */
static void
conn_open(struct run *r, struct conn *c, int64_t now)
{
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (c->fd < 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    (connect(c->fd, (const struct sockaddr *)&r->addr,
	    sizeof(r->addr)) != 0 && errno != EINPROGRESS) ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		conn_close(r, c, now + RECONNECT_NS);
		return;
	}
	c->state = C_CONNECTING;
}

static void
record(struct run *r, struct conn *c, enum rstate rs, int64_t now)
{
	if (c->req >= 0 && r->result[c->req] == A_NONE) {
		r->result[c->req] = (unsigned char)rs;
		r->lat_due[c->req] = now - due_ns(r, c->req);
		r->lat_svc[c->req] = now - c->sent_ns;
	}
	c->req = -1;
}

/* The request under way on c failed: the connection goes too. */
static void
conn_fail(struct run *r, struct conn *c, int64_t now)
{
	if (c->state == C_BUSY)
		record(r, c, A_FAILED, now);
	conn_close(r, c, now);
}

static int
send_request(struct run *r, struct conn *c, long i, int64_t now)
{
	ssize_t n = send(c->fd, r->request, r->request_len, MSG_NOSIGNAL);

	c->state = C_BUSY;
	c->req = i;
	c->sent_ns = now;
	c->ps = P_HEAD;
	c->nhead = 0;
	c->status = 0;
	c->close_after = 0;
	/* the socket's buffer holds a short request whole, or it failed */
	return n == (ssize_t)r->request_len ? 0 : -1;
}

/* Parses the head in c->head[0..end): status, length or chunked. */
static int
parse_head(struct conn *c, size_t end)
{
	char *p = c->head, *eol, *line;
	int chunked = 0, have_len = 0;

	c->head[end] = '\0';
	if (strncmp(p, "HTTP/1.", 7) != 0 || end < 12)
		return -1;
	c->status = atoi(p + 9);
	if (c->status < 100 || c->status > 999)
		return -1;
	c->left = 0;
	for (line = strstr(p, "\r\n"); line != NULL && line[2] != '\0';
	    line = eol) {
		line += 2;
		eol = strstr(line, "\r\n");
		if (eol == NULL)
			break;
		if (strncasecmp(line, "content-length:", 15) == 0) {
			c->left = strtoll(line + 15, NULL, 10);
			have_len = 1;
		} else if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
			chunked = memmem(line, (size_t)(eol - line), "chunked", 7) != NULL;
		} else if (strncasecmp(line, "connection:", 11) == 0) {
			c->close_after = memmem(line, (size_t)(eol - line), "close", 5) != NULL;
		}
	}
	if (chunked) {
		c->ps = P_CHUNK_SIZE;
		c->nhead = 0;
		return 0;
	}
	if (!have_len && c->status != 204 && c->status != 304)
		return -1;
	if (c->left < 0)
		return -1;
	c->ps = P_LENGTH;
	return 0;
}

/*
 * Feeds n bytes of the answer to c's parser.  Returns 1 when the answer
 * is whole (it ends the buffer: nothing is pipelined), 0 for more, -1 on
 * a malformed answer.
 */
static int
feed(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		size_t take;
		char *end;

		switch (c->ps) {
		case P_HEAD:
		case P_CHUNK_SIZE:
		case P_TRAILER:
			if (c->nhead + 1 >= sizeof(c->head))
				return -1;
			c->head[c->nhead++] = *p++;
			n--;
			c->head[c->nhead] = '\0';
			if (c->ps == P_HEAD) {
				if (c->nhead >= 4 && memcmp(c->head + c->nhead - 4,
				    "\r\n\r\n", 4) == 0 && parse_head(c, c->nhead) != 0)
					return -1;
			} else if (c->nhead >= 2 &&
			    memcmp(c->head + c->nhead - 2, "\r\n", 2) == 0) {
				if (c->ps == P_TRAILER) {
					if (c->nhead == 2)
						return n == 0 ? 1 : -1;
				} else {
					c->left = strtoll(c->head, &end, 16);
					if (end == c->head || c->left < 0)
						return -1;
					c->ps = c->left == 0 ? P_TRAILER : P_CHUNK_DATA;
				}
				c->nhead = 0;
			}
			break;
		case P_LENGTH:
		case P_CHUNK_DATA:
			take = n < (size_t)c->left ? n : (size_t)c->left;
			p += take;
			n -= take;
			c->left -= (int64_t)take;
			if (c->left == 0 && c->ps == P_CHUNK_DATA) {
				c->ps = P_CHUNK_END;
				c->left = 2;
			}
			break;
		case P_CHUNK_END:
			take = n < (size_t)c->left ? n : (size_t)c->left;
			p += take;
			n -= take;
			c->left -= (int64_t)take;
			if (c->left == 0) {
				c->ps = P_CHUNK_SIZE;
				c->nhead = 0;
			}
			break;
		}
		if (c->ps == P_LENGTH && c->left == 0)
			return n == 0 ? 1 : -1;
	}
	return 0;
}

static void
on_event(struct run *r, struct conn *c, uint32_t events, int64_t now)
{
	static char buf[READ_CHUNK];
	int err = 0, rc;
	socklen_t len = sizeof(err);
	ssize_t n;
	struct epoll_event ev;

	if (c->state == C_CONNECTING) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0 || epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
			conn_close(r, c, now + RECONNECT_NS);
			return;
		}
		conn_idle(r, c);
		return;
	}
	if (c->fd < 0 || !(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/*
	 * Closed, bytes nobody asked for, or a malformed answer: the
	 * connection goes (an idle one leaves the idle list when it is
	 * next taken).
	 */
	rc = n > 0 && c->state == C_BUSY ? feed(c, buf, (size_t)n) : -1;
	if (rc < 0) {
		conn_fail(r, c, now);
	} else if (rc > 0) {
		record(r, c, c->status >= 200 && c->status <= 299 ? A_OK :
		    A_NON2XX, now);
		if (c->close_after) {
			conn_close(r, c, now);
		} else {
			conn_idle(r, c);
		}
	}
}

/* Sends every request that is due, while a connection is idle. */
static void
send_due(struct run *r, int64_t now)
{
	long due = (long)((double)(now - r->begin_ns) * r->rate / 1e9) + 1;

	if (now < r->begin_ns)
		due = 0;
	r->due = due < r->total ? due : r->total;
	while (r->sent < r->due && r->idle != NULL) {
		struct conn *c = r->idle;

		r->idle = c->next_idle;
		c->listed = 0;
		if (c->state != C_IDLE)
			continue; /* closed while it was on the list */
		if (send_request(r, c, r->sent, now) != 0) {
			/* not sent: the request goes to the next connection */
			c->req = -1;
			conn_close(r, c, now);
			continue;
		}
		r->sent++;
	}
}

/* Timeouts of answers under way, and connections to open again. */
static void
sweep(struct run *r, int64_t now)
{
	int i;

	for (i = 0; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];

		if (c->state == C_BUSY && now - c->sent_ns >= r->timeout_ns)
			conn_fail(r, c, now);
		if (c->state == C_DOWN && now >= c->retry_ns)
			conn_open(r, c, now);
	}
}

/* Arms the schedule's timer for the next request due, or leaves it. */
static void
arm(struct run *r)
{
	struct itimerspec it;
	int64_t t;

	if (r->sent < r->due || r->due >= r->total)
		return;
	t = due_ns(r, r->due);
	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = t / 1000000000LL;
	it.it_value.tv_nsec = t % 1000000000LL;
	(void)timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
pct(const int64_t *d, long n, double p)
{
	long i = (long)(p * (double)n);

	if (n == 0)
		return 0;
	if (i >= n)
		i = n - 1;
	return (double)d[i] / 1e6;
}

static void
report(struct run *r, double seconds, int64_t elapsed)
{
	long i, ok = 0, failed = 0, non2xx = 0, unanswered = 0;
	double el = (double)elapsed / 1e9;

	for (i = 0; i < r->total; i++) {
		switch (r->result[i]) {
		case A_OK:
			r->lat_due[ok] = r->lat_due[i];
			r->lat_svc[ok] = r->lat_svc[i];
			ok++;
			break;
		case A_NON2XX:
			non2xx++;
			break;
		case A_FAILED:
			failed++;
			break;
		default:
			unanswered++;
		}
	}
	qsort(r->lat_due, (size_t)ok, sizeof(int64_t), cmp64);
	qsort(r->lat_svc, (size_t)ok, sizeof(int64_t), cmp64);
	printf("{\"rate\": %.1f, \"seconds\": %g, \"due\": %ld, \"answered\": %ld, "
	    "\"connections\": %d, \"elapsed_s\": %.3f, \"failed\": %ld, "
	    "\"non2xx\": %ld, \"unanswered\": %ld, \"errors\": %ld, "
	    "\"achieved_rps\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
	    "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
	    "\"service_p50_ms\": %.3f, \"service_p99_ms\": %.3f}\n",
	    r->rate, seconds, r->total, ok, r->nconns, el, failed, non2xx,
	    unanswered, failed + non2xx + unanswered, el > 0 ? ok / el : 0,
	    pct(r->lat_due, ok, 0.50), pct(r->lat_due, ok, 0.90),
	    pct(r->lat_due, ok, 0.99), pct(r->lat_due, ok, 0.999),
	    pct(r->lat_due, ok, 1), pct(r->lat_svc, ok, 0.50),
	    pct(r->lat_svc, ok, 0.99));
}

/* http://A.B.C.D:PORT/PATH into the address and the request. */
static int
parse_url(struct run *r, const char *url)
{
	char host[64];
	const char *p = url + 7, *colon, *path;
	long port;
	char *end;
	int n;

	if (strncmp(url, "http://", 7) != 0 || (colon = strchr(p, ':')) == NULL ||
	    colon == p || (size_t)(colon - p) >= sizeof(host))
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (port < 1 || port > 65535 || (*end != '/' && *end != '\0'))
		return -1;
	path = *end == '/' ? end : "/";
	memset(&r->addr, 0, sizeof(r->addr));
	r->addr.sin_family = AF_INET;
	r->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &r->addr.sin_addr) != 1)
		return -1;
	n = snprintf(r->request, sizeof(r->request), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%ld\r\nUser-Agent: openloop\r\n\r\n", path, host, port);
	if (n < 0 || (size_t)n >= sizeof(r->request))
		return -1;
	r->request_len = (size_t)n;
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: openloop -url http://A.B.C.D:PORT/PATH -rate R "
	    "-seconds S [-conns 1..%d] [-timeout SECONDS]\n", MAX_CONNS);
	return 2;
}

static int
serve_run(struct run *r, double seconds)
{
	struct epoll_event ev, evs[EVENTS];
	int64_t now, end_ns = 0, next_sweep = 0;
	long busy;
	int i, n;
	uint64_t ticks;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->tfd, &ev) != 0)
		return -1;
	now = now_ns();
	for (i = 0; i < r->nconns; i++)
		conn_open(r, &r->conns[i], now);
	/* every connection is open before the first request is due */
	r->begin_ns = now + 200000000LL;
	r->due = 0;
	arm(r);
	for (;;) {
		n = epoll_wait(r->epfd, evs, EVENTS, 1 + (int)(SWEEP_NS / 1000000));
		if (n < 0 && errno != EINTR)
			return -1;
		now = now_ns();
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL) {
				if (read(r->tfd, &ticks, sizeof(ticks)) < 0 &&
				    errno != EAGAIN)
					return -1;
				continue;
			}
			on_event(r, evs[i].data.ptr, evs[i].events, now);
		}
		send_due(r, now);
		arm(r);
		if (now >= next_sweep) {
			sweep(r, now);
			next_sweep = now + SWEEP_NS;
		}
		if (r->sent == r->total && end_ns == 0)
			end_ns = now + r->timeout_ns + 1000000000LL;
		if (end_ns != 0) {
			busy = 0;
			for (i = 0; i < r->nconns; i++)
				busy += r->conns[i].state == C_BUSY;
			if (busy == 0 || now >= end_ns)
				break;
		}
		/* the schedule cannot be kept past its end and the timeout */
		if (now >= due_ns(r, r->total) + r->timeout_ns + 1000000000LL)
			break;
	}
	report(r, seconds, now - r->begin_ns);
	return 0;
}

int
main(int argc, char **argv)
{
	struct run r;
	const char *url = NULL;
	double seconds = 0, timeout = 5;
	int i, rc = 1;

	memset(&r, 0, sizeof(r));
	r.nconns = 64;
	r.epfd = r.tfd = -1;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "-rate") == 0)
			r.rate = atof(argv[i + 1]);
		else if (strcmp(argv[i], "-seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "-conns") == 0)
			r.nconns = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-timeout") == 0)
			timeout = atof(argv[i + 1]);
		else
			return usage();
	}
	if (i != argc || url == NULL || parse_url(&r, url) != 0 || r.rate <= 0 ||
	    seconds <= 0 || r.nconns < 1 || r.nconns > MAX_CONNS ||
	    timeout <= 0 || timeout > 600 || r.rate * seconds > MAX_REQUESTS)
		return usage();
	r.total = (long)(r.rate * seconds);
	r.timeout_ns = (int64_t)(timeout * 1e9);
	r.conns = calloc((size_t)r.nconns, sizeof(*r.conns));
	r.lat_due = calloc((size_t)r.total + 1, sizeof(int64_t));
	r.lat_svc = calloc((size_t)r.total + 1, sizeof(int64_t));
	r.result = calloc((size_t)r.total + 1, 1);
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r.conns == NULL || r.lat_due == NULL || r.lat_svc == NULL ||
	    r.result == NULL || r.epfd < 0 || r.tfd < 0) {
		perror("openloop");
		goto out;
	}
	/* the schedule's timer fires when due, not up to 50 us later */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	for (i = 0; i < r.nconns; i++) {
		r.conns[i].fd = -1;
		r.conns[i].req = -1;
	}
	if (serve_run(&r, seconds) != 0) {
		perror("openloop");
		goto out;
	}
	rc = 0;
out:
	if (r.conns != NULL)
		for (i = 0; i < r.nconns; i++)
			if (r.conns[i].fd >= 0)
				(void)close(r.conns[i].fd);
	free(r.conns);
	free(r.lat_due);
	free(r.lat_svc);
	free(r.result);
	if (r.epfd >= 0)
		(void)close(r.epfd);
	if (r.tfd >= 0)
		(void)close(r.tfd);
	return rc;
}
