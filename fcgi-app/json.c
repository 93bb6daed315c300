#include "json.h"

#include <string.h>

/* bytes below 0x80 that need escaping */
static const unsigned char json_special[128] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void
json_special_char(struct out *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = {'\\', 'u', '0', '0', 0, 0};

	switch (c) {
	case '"':
		out_puts(o, "\\\"");
		break;
	case '\\':
		out_puts(o, "\\\\");
		break;
	case '\n':
		out_puts(o, "\\n");
		break;
	case '\r':
		out_puts(o, "\\r");
		break;
	case '\t':
		out_puts(o, "\\t");
		break;
	case '\b':
		out_puts(o, "\\b");
		break;
	case '\f':
		out_puts(o, "\\f");
		break;
	default:
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0xF];
		out_write(o, u, sizeof(u));
		break;
	}
}

void
json_escape(struct out *o, struct utf8_esc *st, const char *p, size_t n)
{
	utf8_esc_write(o, st, p, n, json_special, json_special_char, 0);
}

int
json_plain(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int r, plain = 1;

	while (plain && i < n) {
		if (p[i] < 0x80) {
			plain = !json_special[p[i]];
			i++;
		} else {
			r = utf8_seq(p + i, n - i);
			plain = r > 0;
			i += plain ? (size_t)r : 0;
		}
	}
	return plain;
}

void
json_string(struct out *o, const char *s)
{
	struct utf8_esc st = {{0}, 0};

	if (s == NULL) {
		out_puts(o, "null");
		return;
	}
	out_putc(o, '"');
	json_escape(o, &st, s, strlen(s));
	utf8_esc_end(o, &st);
	out_putc(o, '"');
}

static size_t
digits(const char *p, size_t i, size_t n)
{
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

int
json_is_number(const char *p, size_t n)
{
	size_t i = 0, j;

	if (i < n && p[i] == '-')
		i++;
	if (i < n && p[i] == '0') {
		i++;
	} else {
		j = digits(p, i, n);
		if (j == i || p[i] == '0')
			return 0;
		i = j;
	}
	if (i < n && p[i] == '.') {
		j = digits(p, i + 1, n);
		if (j == i + 1)
			return 0;
		i = j;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		j = digits(p, i, n);
		if (j == i)
			return 0;
		i = j;
	}
	return i == n && n > 0;
}
