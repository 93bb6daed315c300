#include "hostinfo.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IMDS_RESPONSE_MAX 2048
#define IMDS_TOKEN_TTL "60" /* seconds: it is used once, at start */
#define IMDS_TRIES 3
#define IMDS_BACKOFF_MS 100 /* before the second try, doubled after */

/* One lookup: its settings, its overall deadline, why it last failed. */
struct imds {
	const struct config *cfg;
	long long end;
	char why[96];
};

static void
imds_fail(struct imds *im, const char *what, int err)
{
	if (snprintf(im->why, sizeof(im->why), "%s%s%s", what,
	    err ? ": " : "", err ? strerror(err) : "") < 0)
		strcpy(im->why, what);
}

/*
 * Waits for ev on fd until deadline; returns 0 when ready, else -1 with
 * errno set (ETIMEDOUT when the deadline passed).
 */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = {fd, ev, 0};
	long long left;
	int r = 0;

	do {
		left = deadline - clock_ms();
		if (left > 0)
			r = poll(&p, 1, (int)left);
	} while (left > 0 && r < 0 && errno == EINTR);
	if (left <= 0 || r == 0)
		errno = ETIMEDOUT;
	return left > 0 && r == 1 ? 0 : -1;
}

/*
 * One HTTP/1.0 exchange with the metadata service, bounded by
 * imds-timeout-ms and by the lookup's deadline.  Puts the body of a 200
 * answer, NUL-terminated, in body.  Returns 0, or -1 with im->why set.
 */
static int
imds_call(struct imds *im, const char *req, char *body, size_t cap)
{
	char resp[IMDS_RESPONSE_MAX + 1], *p;
	struct sockaddr_in sa;
	long long deadline = clock_ms() + im->cfg->imds_timeout_ms;
	size_t len = 0, reqlen = strlen(req), sent = 0;
	ssize_t n;
	int fd = -1, rc = -1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (deadline > im->end)
		deadline = im->end;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)im->cfg->imds_port);
	if (inet_pton(AF_INET, im->cfg->imds_host, &sa.sin_addr) != 1) {
		imds_fail(im, "not an IPv4 address", 0);
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		imds_fail(im, "socket", errno);
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		imds_fail(im, "connect", errno);
		goto out;
	}
	if (wait_fd(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		imds_fail(im, "connect", soerr ? soerr : errno);
		goto out;
	}
	while (sent < reqlen) {
		if (wait_fd(fd, POLLOUT, deadline) != 0) {
			imds_fail(im, "send", errno);
			goto out;
		}
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			imds_fail(im, "send", errno);
			goto out;
		}
		if (n > 0)
			sent += (size_t)n;
	}
	for (;;) {
		if (len == IMDS_RESPONSE_MAX) {
			imds_fail(im, "answer too long", 0);
			goto out;
		}
		if (wait_fd(fd, POLLIN, deadline) != 0) {
			imds_fail(im, "read", errno);
			goto out;
		}
		n = read(fd, resp + len, IMDS_RESPONSE_MAX - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			imds_fail(im, "read", errno);
			goto out;
		}
		if (n > 0)
			len += (size_t)n;
	}
	resp[len] = '\0';
	p = strstr(resp, "\r\n\r\n");
	if (len < 13 || strncmp(resp, "HTTP/1.", 7) != 0 || p == NULL) {
		imds_fail(im, len ? "not an HTTP answer" : "closed unanswered",
		    0);
		goto out;
	}
	if (strncmp(resp + 8, " 200 ", 5) != 0) {
		resp[12] = '\0';
		if (snprintf(im->why, sizeof(im->why), "HTTP%s", resp + 8) < 0)
			strcpy(im->why, "not HTTP 200");
		goto out;
	}
	if (strlen(p + 4) >= cap) {
		imds_fail(im, "answer too long", 0);
		goto out;
	}
	strcpy(body, p + 4);
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

/* Instance ids, zones and tokens: keep only what such values can hold. */
static int
plain(const char *s)
{
	size_t i = 0;

	while (s[i] != '\0' && ((s[i] >= 'a' && s[i] <= 'z') ||
	    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
	    s[i] == '-' || s[i] == '_' || s[i] == '=' || s[i] == '.'))
		i++;
	return i > 0 && s[i] == '\0';
}

/* Sends req; puts a plain, non-empty body that fits cap in out. */
static int
imds_value(struct imds *im, const char *req, char *out, size_t cap)
{
	char body[IMDS_RESPONSE_MAX];
	int rc = -1;

	if (imds_call(im, req, body, sizeof(body)) != 0)
		goto out;
	if (!plain(body) || strlen(body) >= cap) {
		imds_fail(im, "an answer that is no plain value", 0);
		goto out;
	}
	strcpy(out, body);
	rc = 0;
out:
	return rc;
}

static int
imds_get(struct imds *im, const char *token, const char *path, char *out,
    size_t cap)
{
	char req[512];
	int n, rc = -1;

	n = snprintf(req, sizeof(req), "GET /latest/meta-data/%s HTTP/1.0\r\n"
	    "Host: %s\r\nX-aws-ec2-metadata-token: %s\r\n\r\n", path,
	    im->cfg->imds_host, token);
	if (n < 0 || (size_t)n >= sizeof(req))
		imds_fail(im, "request too long", 0);
	else
		rc = imds_value(im, req, out, cap);
	return rc;
}

/* One try: a session token, then the two reads.  Fills hi only if all
 * three answer. */
static int
imds_try(struct imds *im, struct hostinfo *hi)
{
	char req[256], token[IMDS_RESPONSE_MAX];
	char id[sizeof(hi->instance_id)], az[sizeof(hi->az)];
	int n, rc = -1;

	n = snprintf(req, sizeof(req), "PUT /latest/api/token HTTP/1.0\r\n"
	    "Host: %s\r\nX-aws-ec2-metadata-token-ttl-seconds: "
	    IMDS_TOKEN_TTL "\r\nContent-Length: 0\r\n\r\n",
	    im->cfg->imds_host);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		imds_fail(im, "request too long", 0);
		goto out;
	}
	if (imds_value(im, req, token, sizeof(token)) != 0 ||
	    imds_get(im, token, "instance-id", id, sizeof(id)) != 0 ||
	    imds_get(im, token, "placement/availability-zone", az,
	    sizeof(az)) != 0)
		goto out;
	strcpy(hi->instance_id, id);
	strcpy(hi->az, az);
	rc = 0;
out:
	return rc;
}

/* Sleeps until the monotonic clock reaches when. */
static void
pause_until(long long when)
{
	long long left;

	while ((left = when - clock_ms()) > 0)
		if (poll(NULL, 0, (int)left) < 0 && errno != EINTR)
			break;
}

/*
 * Up to IMDS_TRIES tries, IMDS_BACKOFF_MS apart and doubling, all within
 * IMDS_TRIES times imds-timeout-ms plus the back-offs.  Logs one line if
 * none answers; hi's instance id and zone then stay empty.
 */
static void
imds_lookup(struct hostinfo *hi, const struct config *cfg)
{
	struct imds im;
	long long backoff = IMDS_BACKOFF_MS, wake;
	int tries = 0, found = 0;

	memset(&im, 0, sizeof(im));
	im.cfg = cfg;
	im.end = clock_ms() + IMDS_TRIES * (long long)cfg->imds_timeout_ms +
	    IMDS_BACKOFF_MS * ((1LL << (IMDS_TRIES - 1)) - 1);
	while (!found && tries < IMDS_TRIES && clock_ms() < im.end) {
		if (tries > 0) {
			wake = clock_ms() + backoff;
			pause_until(wake < im.end ? wake : im.end);
			backoff *= 2;
		}
		found = imds_try(&im, hi) == 0;
		tries++;
	}
	if (!found)
		log_msg("instance metadata: no answer from %s:%u after %d "
		    "tr%s (last: %s); pages show the hostname only",
		    cfg->imds_host, cfg->imds_port, tries,
		    tries == 1 ? "y" : "ies", im.why);
}

void
hostinfo_load(struct hostinfo *hi, const struct config *cfg)
{
	memset(hi, 0, sizeof(*hi));
	if (gethostname(hi->hostname, sizeof(hi->hostname) - 1) != 0)
		strcpy(hi->hostname, "unknown");
	if (cfg->imds)
		imds_lookup(hi, cfg);
}
