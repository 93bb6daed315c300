#include "hostinfo.h"

#include "clock.h"

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

/* Waits for ev on fd until deadline; returns 0 when ready. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd p = {fd, ev, 0};
	long long left = deadline - clock_ms();
	int r;

	if (left <= 0)
		return -1;
	do {
		r = poll(&p, 1, (int)left);
	} while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/*
 * One HTTP/1.0 exchange with the metadata service.  Puts the body of a
 * 200 answer, NUL-terminated, in body.  Returns 0 or -1.
 */
static int
imds_call(const struct config *cfg, const char *req, char *body, size_t cap)
{
	char resp[IMDS_RESPONSE_MAX + 1], *p;
	struct sockaddr_in sa;
	long long deadline = clock_ms() + cfg->imds_timeout_ms;
	size_t len = 0, reqlen = strlen(req), sent = 0;
	ssize_t n;
	int fd, rc = -1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)cfg->imds_port);
	if (inet_pton(AF_INET, cfg->imds_host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS)
		goto out;
	if (wait_fd(fd, POLLOUT, deadline) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr)
		goto out;
	while (sent < reqlen) {
		if (wait_fd(fd, POLLOUT, deadline) != 0)
			goto out;
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto out;
		if (n > 0)
			sent += (size_t)n;
	}
	for (;;) {
		if (len == IMDS_RESPONSE_MAX || wait_fd(fd, POLLIN, deadline))
			goto out;
		n = read(fd, resp + len, IMDS_RESPONSE_MAX - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto out;
		if (n > 0)
			len += (size_t)n;
	}
	resp[len] = '\0';
	if (len < 13 || strncmp(resp, "HTTP/1.", 7) != 0 ||
	    strncmp(resp + 8, " 200 ", 5) != 0)
		goto out;
	p = strstr(resp, "\r\n\r\n");
	if (p == NULL || strlen(p + 4) >= cap)
		goto out;
	strcpy(body, p + 4);
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Instance ids, zones and tokens: keep only what such values can hold. */
static int
plain(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '=' || s[i] == '.'))
			return 0;
	return i > 0;
}

static int
imds_get(const struct config *cfg, const char *token, const char *path,
    char *out, size_t cap)
{
	char req[512], body[IMDS_RESPONSE_MAX];
	int n;

	n = snprintf(req, sizeof(req), "GET /latest/meta-data/%s HTTP/1.0\r\n"
	    "Host: %s\r\nX-aws-ec2-metadata-token: %s\r\n\r\n", path,
	    cfg->imds_host, token);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    imds_call(cfg, req, body, sizeof(body)) != 0 || !plain(body) ||
	    strlen(body) >= cap)
		return -1;
	strcpy(out, body);
	return 0;
}

void
hostinfo_load(struct hostinfo *hi, const struct config *cfg)
{
	char req[256], token[IMDS_RESPONSE_MAX];
	int n;

	memset(hi, 0, sizeof(*hi));
	if (gethostname(hi->hostname, sizeof(hi->hostname) - 1) != 0)
		strcpy(hi->hostname, "unknown");
	if (!cfg->imds)
		return;
	n = snprintf(req, sizeof(req), "PUT /latest/api/token HTTP/1.0\r\n"
	    "Host: %s\r\nX-aws-ec2-metadata-token-ttl-seconds: "
	    IMDS_TOKEN_TTL "\r\nContent-Length: 0\r\n\r\n", cfg->imds_host);
	if (n < 0 || (size_t)n >= sizeof(req) ||
	    imds_call(cfg, req, token, sizeof(token)) != 0 || !plain(token))
		return;
	if (imds_get(cfg, token, "instance-id", hi->instance_id,
	    sizeof(hi->instance_id)) != 0 ||
	    imds_get(cfg, token, "placement/availability-zone", hi->az,
	    sizeof(hi->az)) != 0)
		hi->instance_id[0] = hi->az[0] = '\0';
}
