/* The unit tests' shared helpers: a sink in memory, captured log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "unit.h"

static int
mem_sink(void *ctx, const char *p, size_t n)
{
	struct mem *m = ctx;

	m->calls++;
	if (m->fail_after > 0 && m->calls > m->fail_after)
		return -1;
	ck_assert_uint_lt(m->len + n, sizeof(m->data));
	memcpy(m->data + m->len, p, n);
	m->len += n;
	m->data[m->len] = '\0';
	return 0;
}

void
mem_open(struct out *o, struct mem *m)
{
	memset(m, 0, sizeof(*m));
	out_init(o, mem_sink, m);
}

const char *
mem_str(struct out *o, struct mem *m)
{
	(void)out_flush(o);
	return m->data;
}

static int saved_stderr = -1;
static FILE *captured;

void
log_capture_begin(void)
{
	captured = tmpfile();
	ck_assert_ptr_nonnull(captured);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(fileno(captured), STDERR_FILENO), STDERR_FILENO);
}

/* Reads f from where it is into buf, NUL-terminated, and closes it. */
static const char *
read_close(FILE *f, char *buf, size_t cap)
{
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

const char *
log_capture_end(void)
{
	static char text[1 << 14];

	ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	return read_close(captured, text, sizeof(text));
}

int
child_wait(pid_t pid, int ms)
{
	struct timespec tick = {0, 10 * 1000000L};
	long long end = clock_ms() + ms;
	int st;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && clock_ms() < end)
		(void)nanosleep(&tick, NULL);
	if (r == 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
		ck_abort_msg("process %ld did not exit within %d ms", (long)pid,
		    ms);
	}
	ck_assert_int_eq(r, pid);
	ck_assert_msg(WIFEXITED(st), "process %ld was killed by signal %d",
	    (long)pid, WTERMSIG(st));
	return WEXITSTATUS(st);
}

const char *
file_text(const char *path)
{
	static char text[8192];

	return read_close(fopen(path, "r"), text, sizeof(text));
}

unsigned
count_of(const char *haystack, const char *needle)
{
	unsigned n = 0;
	const char *p = haystack;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}
