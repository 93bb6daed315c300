/*
 * The escapers: html_escape and json_escape over struct utf8_esc, and
 * json_is_number.
 *
 * The first byte picks where the rest is cut in two; each escaper runs
 * on the rest whole, in those two pieces, and one byte at a time, and
 * the three outputs must be the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "html.h"
#include "json.h"

/* the most one input byte becomes: &quot; or \u00XX */
#define GROWTH 6

typedef void (*escape_fn)(struct out *, struct utf8_esc *, const char *,
    size_t);

static struct out o;

/*
 * Escapes p[0..cut) and then p[cut..n), each in pieces of at most step
 * bytes, into s, which is opened here; the caller closes it.
 */
static void
run(struct sink *s, escape_fn fn, const char *p, size_t n, size_t cut,
    size_t step)
{
	struct utf8_esc st = {{0}, 0};
	size_t i, end, k;

	FUZZ_CHECK(sink_open(s, &o, GROWTH * n) == 0);
	for (i = 0; i < n; i += k) {
		end = i < cut ? cut : n;
		k = end - i < step ? end - i : step;
		fn(&o, &st, p + i, k);
	}
	utf8_esc_end(&o, &st);
	FUZZ_CHECK(out_flush(&o) == 0);
	FUZZ_CHECK(!s->overflow);
}

static int
same(const struct sink *a, const struct sink *b)
{
	return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* Nonzero if p holds a C0 control other than tab, LF and CR, or DEL. */
static int
has_controls(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7F)
			return 1;
	}
	return 0;
}

static size_t
count(const char *p, size_t n, const char *what)
{
	size_t i, k = strlen(what), c = 0;

	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, what, k) == 0)
			c++;
	return c;
}

static const char *const entities[][2] = {
	{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
	{"&#39;", "'"},
};
#define NENT (sizeof(entities) / sizeof(entities[0]))

/*
 * Replaces the five references html_escape writes by their characters;
 * returns the length, or -1 at an '&' that starts none of them.
 */
static long
html_unescape(const char *p, size_t n, char *dst)
{
	size_t i = 0, k = 0, e, len;

	while (i < n) {
		if (p[i] != '&') {
			dst[k++] = p[i++];
			continue;
		}
		for (e = 0; e < NENT; e++) {
			len = strlen(entities[e][0]);
			if (n - i >= len && memcmp(p + i, entities[e][0], len) == 0)
				break;
		}
		if (e == NENT)
			return -1;
		dst[k++] = entities[e][1][0];
		i += len;
	}
	return (long)k;
}

static void
check_html(const char *p, size_t n, const struct sink *s, char *tmp)
{
	long k;

	FUZZ_CHECK(utf8_valid(s->buf, s->len));
	FUZZ_CHECK(memchr(s->buf, '<', s->len) == NULL);
	FUZZ_CHECK(memchr(s->buf, '>', s->len) == NULL);
	FUZZ_CHECK(memchr(s->buf, '"', s->len) == NULL);
	FUZZ_CHECK(memchr(s->buf, '\'', s->len) == NULL);
	FUZZ_CHECK(!has_controls(s->buf, s->len));
	FUZZ_CHECK(html_chars_clean(s->buf, s->len));
	/* every & starts a reference, and those give the input back */
	k = html_unescape(s->buf, s->len, tmp);
	FUZZ_CHECK(k >= 0);
	if (html_chars_clean(p, n) && !has_controls(p, n))
		FUZZ_CHECK((size_t)k == n && memcmp(tmp, p, n) == 0);
}

static void
check_json(const char *p, size_t n, const struct sink *s, char *tmp)
{
	long k;

	FUZZ_CHECK(utf8_valid(s->buf, s->len));
	k = json_unescape(s->buf, s->len, tmp, GROWTH * n);
	FUZZ_CHECK(k >= 0); /* no raw control, no lone quote or backslash */
	if (utf8_valid(p, n))
		FUZZ_CHECK((size_t)k == n && memcmp(tmp, p, n) == 0);
}

/* Escapes whole, cut in two, and byte by byte; checks all three. */
static void
check_escaper(escape_fn fn, const char *p, size_t n, size_t cut, char *tmp,
    struct sink *whole)
{
	struct sink two, bytes;

	run(whole, fn, p, n, n, n);
	run(&two, fn, p, n, cut, n);
	run(&bytes, fn, p, n, 0, 1);
	FUZZ_CHECK(same(whole, &two));
	FUZZ_CHECK(same(whole, &bytes));
	if (fn == html_escape)
		check_html(p, n, whole, tmp);
	else
		check_json(p, n, whole, tmp);
	sink_close(&two);
	sink_close(&bytes);
}

/* json_is_number agrees with a JSON parser on a bare number. */
static void
check_number(const char *p, size_t n)
{
	int num = n > 0 && (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) &&
	    p[n - 1] >= '0' && p[n - 1] <= '9' && json_valid(p, n);

	FUZZ_CHECK(!json_is_number(p, n) == !num);
}

/* The whole-string forms, on the text before the first NUL. */
static void
check_strings(const char *p, const struct sink *html_whole, size_t n)
{
	struct sink h, j;
	size_t len = strlen(p);

	FUZZ_CHECK(sink_open(&h, &o, GROWTH * len) == 0);
	html_text(&o, p);
	FUZZ_CHECK(out_flush(&o) == 0);
	if (len == n)
		FUZZ_CHECK(same(&h, html_whole));
	FUZZ_CHECK(sink_open(&j, &o, GROWTH * len + 2) == 0);
	json_string(&o, p);
	FUZZ_CHECK(out_flush(&o) == 0);
	FUZZ_CHECK(json_valid(j.buf, j.len));
	sink_close(&h);
	sink_close(&j);
	FUZZ_CHECK(sink_open(&j, &o, 4) == 0);
	json_string(&o, NULL);
	FUZZ_CHECK(out_flush(&o) == 0 && strcmp(j.buf, "null") == 0);
	sink_close(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + (size > 0);
	size_t n = size > 0 ? size - 1 : 0;
	size_t cut = size > 0 ? (size_t)data[0] * n / 255 : 0;
	char *tmp = malloc(GROWTH * n + 1), *str = malloc(n + 1);
	struct sink h, j;

	FUZZ_CHECK(tmp != NULL && str != NULL);
	check_escaper(html_escape, p, n, cut, tmp, &h);
	check_escaper(json_escape, p, n, cut, tmp, &j);
	/*
	 * both replace the same invalid bytes; HTML also the characters it
	 * forbids, which JSON keeps
	 */
	FUZZ_CHECK(count(h.buf, h.len, UTF8_REPLACEMENT) ==
	    count(j.buf, j.len, UTF8_REPLACEMENT) +
	    html_forbidden_chars(j.buf, j.len));
	check_number(p, n);
	memcpy(str, p, n);
	str[n] = '\0';
	check_strings(str, &h, n);
	sink_close(&h);
	sink_close(&j);
	free(tmp);
	free(str);
	return 0;
}
