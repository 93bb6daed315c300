#include "html.h"

#include <string.h>

/* bytes below 0x80 that need escaping */
static const unsigned char html_special[128] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

static void
html_special_char(struct out *o, unsigned char c)
{
	char pic[3];

	switch (c) {
	case '&':
		out_puts(o, "&amp;");
		break;
	case '<':
		out_puts(o, "&lt;");
		break;
	case '>':
		out_puts(o, "&gt;");
		break;
	case '"':
		out_puts(o, "&quot;");
		break;
	case '\'':
		out_puts(o, "&#39;");
		break;
	default:
		/* U+2400 + c for C0, U+2421 for DEL */
		pic[0] = '\xE2';
		pic[1] = '\x90';
		pic[2] = (char)(c == 0x7F ? 0xA1 : 0x80 + c);
		out_write(o, pic, sizeof(pic));
		break;
	}
}

void
html_escape(struct out *o, struct utf8_esc *st, const char *p, size_t n)
{
	utf8_esc_write(o, st, p, n, html_special, html_special_char, 1);
}

void
html_text(struct out *o, const char *s)
{
	struct utf8_esc st = {{0}, 0};

	html_escape(o, &st, s, strlen(s));
	utf8_esc_end(o, &st);
}
