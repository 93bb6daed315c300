#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void
log_msg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, k;

	n = snprintf(line, sizeof(line), "fcgi-app[%ld]: ", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2; /* truncated: still one line */
	line[n++] = '\n';
	/* one write, so lines from several workers do not interleave */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
