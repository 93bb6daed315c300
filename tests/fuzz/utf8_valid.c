/* A UTF-8 check written from RFC 3629's table, not from utf8.c. */
#include "fuzz.h"

size_t
utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, k;

	if (c <= 0x7F)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			return 0;
		i += k;
	}
	return 1;
}

size_t
html_forbidden_chars(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t i = 0, k, j, c = 0;

	while (i < n) {
		k = utf8_seq_len(s + i, n - i);
		if (k == 0) {
			i++;
			continue;
		}
		cp = k == 1 ? p[i] : p[i] & (0x7F >> k);
		for (j = 1; j < k; j++)
			cp = cp << 6 | (p[i + j] & 0x3F);
		/* C1 controls and noncharacters, as the HTML standard names them */
		if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
		    (cp & 0xFFFE) == 0xFFFE)
			c++;
		i += k;
	}
	return c;
}

int
html_chars_clean(const char *s, size_t n)
{
	return utf8_valid(s, n) && html_forbidden_chars(s, n) == 0;
}
