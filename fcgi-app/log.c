#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE 1024
#define LOG_CAUSE 64

static void log_line(const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Writes one line: the prefix, fmt with ap, then suffix (may be NULL). */
static void
log_line(const char *suffix, const char *fmt, va_list ap)
{
	char line[LOG_LINE];
	int n, k;

	n = snprintf(line, sizeof(line), "fcgi-app[%ld]: ", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	k = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (k < 0)
		return;
	n += k;
	if (suffix != NULL && (size_t)n < sizeof(line)) {
		k = snprintf(line + n, sizeof(line) - (size_t)n, "%s", suffix);
		if (k < 0)
			return;
		n += k;
	}
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2; /* truncated: still one line */
	line[n++] = '\n';
	/* one write, so lines from several workers do not interleave */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(NULL, fmt, ap);
	va_end(ap);
}

/*
 * The causes log_rate has logged; one process's, and it serves one
 * request at a time.
 */
static struct {
	char cause[LOG_CAUSE];
	long long last_ms;
	unsigned left_out;
	int used;
} causes[LOG_RATE_CAUSES];

void
log_rate(const char *cause, long long now_ms, const char *fmt, ...)
{
	char suffix[96];
	va_list ap;
	int i, slot = -1, oldest = 0;

	for (i = 0; i < LOG_RATE_CAUSES; i++) {
		if (causes[i].used &&
		    strncmp(causes[i].cause, cause, LOG_CAUSE - 1) == 0) {
			slot = i;
			break;
		}
		if (!causes[i].used || (causes[oldest].used &&
		    causes[i].last_ms < causes[oldest].last_ms))
			oldest = i;
	}
	if (slot >= 0 && now_ms - causes[slot].last_ms < LOG_RATE_INTERVAL_MS) {
		causes[slot].left_out++;
		return;
	}
	suffix[0] = '\0';
	if (slot < 0) {
		slot = oldest;
		(void)snprintf(causes[slot].cause, sizeof(causes[slot].cause),
		    "%s", cause);
		causes[slot].used = 1;
		causes[slot].left_out = 0;
	} else if (causes[slot].left_out > 0) {
		(void)snprintf(suffix, sizeof(suffix), " (%u more like it "
		    "since the last such line, left out)",
		    causes[slot].left_out);
	}
	causes[slot].last_ms = now_ms;
	causes[slot].left_out = 0;
	va_start(ap, fmt);
	log_line(suffix, fmt, ap);
	va_end(ap);
}
