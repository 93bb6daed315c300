/*
 * A recursive-descent JSON validator (RFC 8259), which can also find a
 * member of the top-level object, and the decoder of a string's inside
 * that shares its string rules.
 */
#include <string.h>

#include "fuzz.h"

struct rd {
	const char *p;
	size_t n, i;
	char *dst; /* decoded string bytes go here, if not NULL */
	size_t cap, len;
	int depth;
	const char *const *names; /* top-level members to find */
	size_t nnames;
	struct json_span *found;
	char *kinds; /* json_row_kinds: each row member's kind, or NULL */
	size_t nkinds;
	int mixed; /* a row member's kind differs from an earlier row's */
};

static int value(struct rd *r);

static int
at(const struct rd *r, char c)
{
	return r->i < r->n && r->p[r->i] == c;
}

static void
ws(struct rd *r)
{
	while (r->i < r->n && strchr(" \t\n\r", r->p[r->i]) != NULL &&
	    r->p[r->i] != '\0')
		r->i++;
}

static int
emit(struct rd *r, const char *b, size_t k)
{
	if (r->dst == NULL)
		return 1;
	if (k > r->cap - r->len)
		return 0;
	memcpy(r->dst + r->len, b, k);
	r->len += k;
	return 1;
}

/* Four hex digits after \u; -1 if they are not there. */
static long
hex4(struct rd *r)
{
	long v = 0;
	int k;

	for (k = 0; k < 4; k++, r->i++) {
		char c = r->i < r->n ? r->p[r->i] : 'x';

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	return v;
}

static int
emit_cp(struct rd *r, long cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	return emit(r, b, k);
}

/* One escape, r->i just past the backslash. */
static int
escape(struct rd *r)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *f;
	long cp, lo;

	if (r->i >= r->n)
		return 0;
	if (r->p[r->i] != 'u') {
		f = r->p[r->i] != '\0' ? strchr(from, r->p[r->i]) : NULL;
		if (f == NULL)
			return 0;
		r->i++;
		return emit(r, &to[f - from], 1);
	}
	r->i++;
	cp = hex4(r);
	if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
		return 0;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (!at(r, '\\') || r->i + 1 >= r->n || r->p[r->i + 1] != 'u')
			return 0;
		r->i += 2;
		lo = hex4(r);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return 0;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	return emit_cp(r, cp);
}

/*
 * A string's characters up to the closing quote (quoted) or to the end
 * of the input (not quoted, where a raw quote is an error).
 */
static int
chars(struct rd *r, int quoted)
{
	size_t k;

	for (;;) {
		unsigned char c;

		if (r->i >= r->n)
			return !quoted;
		c = (unsigned char)r->p[r->i];
		if (c == '"') {
			r->i++;
			return quoted;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			r->i++;
			if (!escape(r))
				return 0;
			continue;
		}
		k = utf8_seq_len(r->p + r->i, r->n - r->i);
		if (k == 0 || !emit(r, r->p + r->i, k))
			return 0;
		r->i += k;
	}
}

static int
string(struct rd *r)
{
	if (!at(r, '"'))
		return 0;
	r->i++;
	return chars(r, 1);
}

static size_t
digits(struct rd *r)
{
	size_t start = r->i;

	while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9')
		r->i++;
	return r->i - start;
}

static int
number(struct rd *r)
{
	if (at(r, '-'))
		r->i++;
	if (at(r, '0'))
		r->i++;
	else if (digits(r) == 0)
		return 0;
	if (at(r, '.')) {
		r->i++;
		if (digits(r) == 0)
			return 0;
	}
	if (at(r, 'e') || at(r, 'E')) {
		r->i++;
		if (at(r, '+') || at(r, '-'))
			r->i++;
		if (digits(r) == 0)
			return 0;
	}
	return 1;
}

static int
literal(struct rd *r, const char *word)
{
	size_t k = strlen(word);

	if (r->n - r->i < k || memcmp(r->p + r->i, word, k) != 0)
		return 0;
	r->i += k;
	return 1;
}

/* Notes where the value of a top-level member that is looked for is. */
static void
note_member(struct rd *r, size_t name, size_t name_end, size_t start)
{
	size_t k;

	for (k = 0; k < r->nnames; k++)
		if (name_end - name == strlen(r->names[k]) &&
		    memcmp(r->p + name, r->names[k], name_end - name) == 0) {
			r->found[k].off = start;
			r->found[k].len = r->i - start;
		}
}

/*
 * Notes the kind of the value at start, member idx of an object three
 * deep (a row of "rows"): 'n' for a number, 's' a string, 'o' anything
 * else but null, which fits every kind.
 */
static void
note_kind(struct rd *r, size_t idx, size_t start)
{
	char c = r->p[start], kind;

	if (c == 'n')
		return;
	kind = c == '"' ? 's' : (c == '-' || (c >= '0' && c <= '9')) ? 'n' : 'o';
	if (idx >= r->nkinds)
		r->mixed = 1;
	else if (r->kinds[idx] == 0)
		r->kinds[idx] = kind;
	else if (r->kinds[idx] != kind)
		r->mixed = 1;
}

/*
 * The members of an object or the elements of an array, r->i past the
 * opening bracket.
 */
static int
members(struct rd *r, char close, int keyed)
{
	ws(r);
	if (at(r, close)) {
		r->i++;
		return 1;
	}
	for (size_t idx = 0;; idx++) {
		size_t name = 0, name_end = 0, start;

		if (keyed) {
			ws(r);
			name = r->i + 1;
			if (!string(r))
				return 0;
			name_end = r->i - 1;
			ws(r);
			if (!at(r, ':'))
				return 0;
			r->i++;
		}
		ws(r);
		start = r->i;
		if (!value(r))
			return 0;
		if (keyed && r->depth == 1)
			note_member(r, name, name_end, start);
		if (keyed && r->depth == 3 && r->kinds != NULL)
			note_kind(r, idx, start);
		ws(r);
		if (at(r, close)) {
			r->i++;
			return 1;
		}
		if (!at(r, ','))
			return 0;
		r->i++;
	}
}

static int
value(struct rd *r)
{
	int ok;

	ws(r);
	if (r->i >= r->n)
		return 0;
	switch (r->p[r->i]) {
	case '{':
	case '[':
		if (r->depth >= JSON_DEPTH_MAX)
			return 0;
		r->depth++;
		r->i++;
		ok = members(r, r->p[r->i - 1] == '{' ? '}' : ']',
		    r->p[r->i - 1] == '{');
		r->depth--;
		return ok;
	case '"':
		return string(r);
	case 't':
		return literal(r, "true");
	case 'f':
		return literal(r, "false");
	case 'n':
		return literal(r, "null");
	default:
		return number(r);
	}
}

static int
document(struct rd *r)
{
	if (!value(r))
		return 0;
	ws(r);
	return r->i == r->n;
}

int
json_valid(const char *p, size_t n)
{
	return json_find(p, n, NULL, 0, NULL);
}

int
json_find(const char *p, size_t n, const char *const names[], size_t nnames,
    struct json_span found[])
{
	struct rd r = {p, n, 0, NULL, 0, 0, 0, names, nnames, found, NULL, 0,
	    0};

	if (nnames > 0)
		memset(found, 0, nnames * sizeof(found[0]));
	return document(&r);
}

int
json_row_kinds(const char *p, size_t n, char kinds[], size_t nkinds)
{
	struct rd r = {p, n, 0, NULL, 0, 0, 0, NULL, 0, NULL, kinds, nkinds,
	    0};

	memset(kinds, 0, nkinds);
	return document(&r) && !r.mixed;
}

long
json_unescape(const char *p, size_t n, char *dst, size_t cap)
{
	struct rd r = {p, n, 0, dst, cap, 0, 0, NULL, 0, NULL, NULL, 0, 0};

	return chars(&r, 0) ? (long)r.len : -1;
}
