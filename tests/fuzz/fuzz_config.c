/*
 * The config reader: config_load on the input as the whole file,
 * which lives in a memfd and is read through /proc/self/fd/N.
 */
#define _GNU_SOURCE /* memfd_create */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define ERR_LEN 512

static int
in(unsigned v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi;
}

/* What a loaded config must hold: config.c's bounds for each setting. */
static void
check_config(const struct config *c, const char *path)
{
	struct in_addr a;

	FUZZ_CHECK(strcmp(c->path, path) == 0);
	FUZZ_CHECK(memchr(c->table, '\0', sizeof(c->table)) != NULL);
	FUZZ_CHECK(memchr(c->key, '\0', sizeof(c->key)) != NULL);
	FUZZ_CHECK(config_is_ident(c->table));
	FUZZ_CHECK(config_is_ident(c->key));
	FUZZ_CHECK(config_is_mount(c->mount));
	FUZZ_CHECK(in(c->default_limit, 1, 100000));
	FUZZ_CHECK(in(c->max_limit, 1, 100000));
	FUZZ_CHECK(c->default_limit <= c->max_limit);
	FUZZ_CHECK(in(c->connect_timeout, 1, 3600));
	FUZZ_CHECK(in(c->read_timeout, 1, 3600));
	FUZZ_CHECK(in(c->write_timeout, 1, 3600));
	FUZZ_CHECK(in(c->reconnect_delay_ms, 0, 60000));
	FUZZ_CHECK(in(c->retry_after, 1, 3600));
	FUZZ_CHECK(in(c->workers, 1, 256));
	FUZZ_CHECK(in(c->drain_seconds, 0, 600));
	FUZZ_CHECK(c->require_tls == 0 || c->require_tls == 1);
	FUZZ_CHECK(c->imds == 0 || c->imds == 1);
	FUZZ_CHECK(memchr(c->imds_host, '\0', sizeof(c->imds_host)) != NULL);
	FUZZ_CHECK(inet_pton(AF_INET, c->imds_host, &a) == 1);
	FUZZ_CHECK(in(c->imds_port, 1, 65535));
	FUZZ_CHECK(in(c->imds_timeout_ms, 1, 10000));
	FUZZ_CHECK(in(c->request_read_timeout, 1, 3600));
	FUZZ_CHECK(in(c->response_write_timeout, 1, 3600));
	FUZZ_CHECK(memchr(c->run_as_user, '\0', sizeof(c->run_as_user)) != NULL);
	FUZZ_CHECK(strspn(c->run_as_user, "abcdefghijklmnopqrstuvwxyz0123456789_-")
	    == strlen(c->run_as_user));
	FUZZ_CHECK(c->run_as_user[0] != '-' &&
	    (c->run_as_user[0] < '0' || c->run_as_user[0] > '9'));
}

static void
check_err(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FUZZ_CHECK(err[0] != '\0');
}

/* The length of the longest line, without its newline. */
static size_t
longest_line(const uint8_t *data, size_t size)
{
	size_t i, start = 0, max = 0;

	for (i = 0; i <= size; i++)
		if (i == size || data[i] == '\n') {
			if (i - start > max)
				max = i - start;
			start = i + 1;
		}
	return max;
}

/*
 * Loads path; on failure loads it again into an error buffer of exactly
 * small bytes, whose message must be the start of the whole one.
 */
static void
check_load(const char *path, const uint8_t *data, size_t size, size_t small)
{
	static struct config cfg, again;
	char err[ERR_LEN], *cut = NULL;
	int rc;

	memset(err, 0xA5, sizeof(err));
	rc = config_load(&cfg, path, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	/* a NUL byte is no text: no line would mean what it says */
	if (size > 0 && memchr(data, '\0', size) != NULL)
		FUZZ_CHECK(rc == -1);
	if (longest_line(data, size) <= CONFIG_LINE_MAX)
		FUZZ_CHECK(rc == 0 || strstr(err, "longer than") == NULL);
	if (rc == 0) {
		check_config(&cfg, path);
		return;
	}
	check_err(err, sizeof(err));
	FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
	cut = malloc(small);
	FUZZ_CHECK(cut != NULL);
	FUZZ_CHECK(config_load(&again, path, cut, small) == -1);
	check_err(cut, small);
	FUZZ_CHECK(strncmp(cut, err, strlen(cut)) == 0);
	free(cut);
}

/* config_is_ident against its definition, on the input as a string. */
static void
check_ident(const uint8_t *data, size_t size)
{
	char s[CONFIG_IDENT_MAX + 8];
	size_t i, n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int ok, digits = 1;

	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	n = strlen(s);
	ok = n > 0 && n <= CONFIG_IDENT_MAX;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_' || c == '$'))
			ok = 0;
		if (c < '0' || c > '9')
			digits = 0;
	}
	FUZZ_CHECK(!config_is_ident(s) == !(ok && !digits));
}

/* The lowest free descriptor: the same after a load that closed its own. */
static int
free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	FUZZ_CHECK(fd >= 0 && close(fd) == 0);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd, n, before;

	/* 0600, or config_load warns on every input that others may read it */
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(fchmod(fd, 0600) == 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	n = snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(path));
	before = free_fd();
	check_load(path, data, size, 2 + size % 64);
	/* a FILE left open is no leak to LeakSanitizer: glibc lists them */
	FUZZ_CHECK(free_fd() == before);
	check_ident(data, size);
	FUZZ_CHECK(close(fd) == 0);
	return 0;
}
