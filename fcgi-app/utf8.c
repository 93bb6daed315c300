#include "utf8.h"

int
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t need, k;

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return -1;
	if (c < 0xE0) {
		need = 2;
	} else if (c < 0xF0) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c < 0xF5) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		return -1;
	}
	if (n < 2)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return -1;
	for (k = 2; k < need; k++) {
		if (n <= k)
			return 0;
		if ((p[k] & 0xC0) != 0x80)
			return -(int)k;
	}
	return (int)need;
}

int
utf8_html_forbidden(const unsigned char *p, int n)
{
	switch (n) {
	case 2: /* U+0080 to U+009F */
		return p[0] == 0xC2 && p[1] <= 0x9F;
	case 3: /* U+FDD0 to U+FDEF, U+FFFE and U+FFFF */
		return p[0] == 0xEF && ((p[1] == 0xB7 && p[2] >= 0x90 &&
		    p[2] <= 0xAF) || (p[1] == 0xBF && p[2] >= 0xBE));
	case 4: /* U+1FFFE, U+1FFFF ... U+10FFFF: the last two of a plane */
		return (p[1] & 0x0F) == 0x0F && p[2] == 0xBF && p[3] >= 0xBE;
	default:
		return 0;
	}
}

/* Writes one complete, valid sequence, or U+FFFD for a forbidden one. */
static void
esc_char(struct out *o, const unsigned char *p, int n, int strict)
{
	if (strict && utf8_html_forbidden(p, n))
		out_puts(o, UTF8_REPLACEMENT);
	else
		out_write(o, (const char *)p, (size_t)n);
}

/*
 * Feeds bytes into the pending sequence until it completes or fails.
 * Returns how many bytes of p it took.
 */
static size_t
esc_resume(struct out *o, struct utf8_esc *st, const unsigned char *p,
    size_t n, int strict)
{
	size_t i = 0;
	int r;

	while (st->npend > 0 && i < n) {
		st->pend[st->npend++] = p[i++];
		r = utf8_seq(st->pend, st->npend);
		if (r > 0) {
			esc_char(o, st->pend, r, strict);
			st->npend = 0;
		} else if (r < 0) {
			/* the byte just added broke the prefix: reread it */
			out_puts(o, UTF8_REPLACEMENT);
			st->npend = 0;
			i--;
		}
	}
	return i;
}

void
utf8_esc_write(struct out *o, struct utf8_esc *st, const char *s,
    size_t n, const unsigned char special_tab[128], utf8_special_fn special,
    int strict)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = esc_resume(o, st, p, n, strict), run = i;
	int r;

	while (i < n) {
		if (p[i] < 0x80) {
			if (special_tab[p[i]]) {
				out_write(o, (const char *)p + run, i - run);
				special(o, p[i]);
				run = ++i;
			} else {
				i++;
			}
			continue;
		}
		r = utf8_seq(p + i, n - i);
		if (r > 0 && !(strict && utf8_html_forbidden(p + i, r))) {
			i += (size_t)r;
			continue;
		}
		if (r > 0) {
			out_write(o, (const char *)p + run, i - run);
			out_puts(o, UTF8_REPLACEMENT);
			i += (size_t)r;
			run = i;
			continue;
		}
		out_write(o, (const char *)p + run, i - run);
		if (r == 0) {
			/* unfinished at the end of this chunk; n - i < 4 */
			for (st->npend = 0; i < n; i++)
				st->pend[st->npend++] = p[i];
		} else {
			out_puts(o, UTF8_REPLACEMENT);
			i += (size_t)-r;
		}
		run = i;
	}
	out_write(o, (const char *)p + run, i - run);
}

void
utf8_esc_end(struct out *o, struct utf8_esc *st)
{
	if (st->npend > 0)
		out_puts(o, UTF8_REPLACEMENT);
	st->npend = 0;
}
