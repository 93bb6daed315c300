#include "dbtext.h"

#include <limits.h>

/* A bounded buffer that records, rather than makes, an overflow. */
struct tbuf {
	char *p;
	size_t len, size;
	int over;
};

static void
put_char(struct tbuf *b, char c)
{
	if (b->over || b->len == b->size) {
		b->over = 1;
		return;
	}
	b->p[b->len++] = c;
}

/* v in decimal, zero-padded to at least width digits. */
static void
put_uint(struct tbuf *b, unsigned long long v, unsigned width)
{
	char tmp[20]; /* 18446744073709551615 */
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (b->over || (width > n ? width : n) > b->size - b->len) {
		b->over = 1;
		return;
	}
	for (; width > n; width--)
		b->p[b->len++] = '0';
	while (n > 0)
		b->p[b->len++] = tmp[--n];
}

/* hh:mm:ss, then the first decimals digits of the microseconds. */
static void
put_clock(struct tbuf *b, const struct dbtext_time *t, unsigned decimals)
{
	char d[6];
	unsigned long us = t->usec % 1000000;
	unsigned k;

	put_uint(b, t->hour, 2);
	put_char(b, ':');
	put_uint(b, t->minute, 2);
	put_char(b, ':');
	put_uint(b, t->second, 2);
	if (decimals == 0)
		return;
	for (k = sizeof(d); k > 0; k--) {
		d[k - 1] = (char)('0' + us % 10);
		us /= 10;
	}
	put_char(b, '.');
	for (k = 0; k < decimals; k++)
		put_char(b, d[k]);
}

size_t
dbtext_int(char *buf, size_t size, unsigned long long v, int is_unsigned,
    unsigned width)
{
	struct tbuf b = {buf, 0, size, 0};

	if (!is_unsigned && v > (unsigned long long)LLONG_MAX) {
		put_char(&b, '-');
		v = 0 - v; /* the magnitude, also of LLONG_MIN */
	}
	put_uint(&b, v, width);
	return b.over ? 0 : b.len;
}

size_t
dbtext_time(char *buf, size_t size, enum dbtext_kind kind,
    const struct dbtext_time *t, unsigned decimals)
{
	struct tbuf b = {buf, 0, size, 0};

	if (decimals > 6)
		return 0;
	if (kind == DBTEXT_TIME) {
		if (t->neg)
			put_char(&b, '-');
		put_clock(&b, t, decimals);
	} else {
		put_uint(&b, t->year, 4);
		put_char(&b, '-');
		put_uint(&b, t->month, 2);
		put_char(&b, '-');
		put_uint(&b, t->day, 2);
		if (kind == DBTEXT_DATETIME) {
			put_char(&b, ' ');
			put_clock(&b, t, decimals);
		}
	}
	return b.over ? 0 : b.len;
}
