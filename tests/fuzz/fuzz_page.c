/*
 * The renderer: page_html and page_json over a fake database (fake_db.h)
 * whose table, and the page's settings, come from the input.  Both run
 * over the same table, into a sink that holds a bounded number of bytes
 * (few, when the input asks for a client that goes away mid-page).
 *
 * The input: a byte for the limit (1 to 8, or 100000 for 0xFF); a byte
 * of flags (1: the page has after=, 2: on EC2, 4: the sink takes only
 * flags >> 3 KiB); the table's name, the hostname and, on EC2, the
 * instance id and zone, each a length byte and its bytes; then the
 * table, as fake_db_new reads it.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "fake_db.h"
#include "fuzz.h"
#include "http.h"
#include "page.h"

#define SINK_CAP (1u << 20) /* more than any page of the fake's tables */
#define LINK_MAX 128

static struct out o;

/* Up to max bytes of input as a string, which ends at a NUL byte. */
static void
read_string(struct reader *r, char *dst, size_t max)
{
	const uint8_t *p;
	size_t n = rd_bytes(r, rd_byte(r) % max, &p);

	memcpy(dst, p, n);
	dst[n] = '\0';
}

static size_t
count(const struct sink *s, const char *what)
{
	size_t k = strlen(what), c = 0;
	const char *p = s->buf, *end = s->buf + s->len;

	while ((p = memmem(p, (size_t)(end - p), what, k)) != NULL) {
		c++;
		p += k;
	}
	return c;
}

static int
ends_with(const struct sink *s, const char *tail)
{
	size_t k = strlen(tail);

	return s->len >= k && memcmp(s->buf + s->len - k, tail, k) == 0;
}

/* A next-page link must ask for the rows after key, limit at a time. */
static void
check_link(const char *link, const struct page *pg, long long key, int json)
{
	struct query q;
	char err[256];

	FUZZ_CHECK(strncmp(link, "/?", 2) == 0);
	FUZZ_CHECK(http_parse_query(link + 2, pg->q->limit, pg->q->limit, &q,
	    err, sizeof(err)) == 0);
	FUZZ_CHECK(q.limit == pg->q->limit && q.has_after && q.after == key);
	FUZZ_CHECK(q.format == (json ? FORMAT_JSON : FORMAT_HTML));
}

/* The text after start up to the first stop, in dst; 0 if none fits. */
static int
between(const struct sink *s, const char *start, char stop, char *dst,
    size_t cap)
{
	const char *p = memmem(s->buf, s->len, start, strlen(start)), *q;

	if (p == NULL)
		return 0;
	p += strlen(start);
	q = memchr(p, stop, (size_t)(s->buf + s->len - p));
	if (q == NULL || (size_t)(q - p) >= cap)
		return 0;
	memcpy(dst, p, (size_t)(q - p));
	dst[q - p] = '\0';
	return 1;
}

static void
check_html(const struct sink *s, enum db_rc rc, const struct page *pg,
    const struct fake_expect *e, unsigned ncols)
{
	char text[LINK_MAX], *amp;

	FUZZ_CHECK(utf8_valid(s->buf, s->len));
	FUZZ_CHECK(html_chars_clean(s->buf, s->len));
	FUZZ_CHECK(rc == e->rc);
	/* an unfinished page must not pass for a whole one */
	if (rc != DB_OK) {
		FUZZ_CHECK(!ends_with(s, "</html>\n"));
		FUZZ_CHECK(count(s, "<p id=\"count\">") == 0);
		return;
	}
	FUZZ_CHECK(ends_with(s, "</html>\n"));
	/* markup from the table would show in these counts */
	FUZZ_CHECK(count(s, "<tr>") == e->rows + 1);
	FUZZ_CHECK(count(s, "<th scope=\"col\">") == ncols);
	FUZZ_CHECK(count(s, "<td") == e->rows * ncols);
	FUZZ_CHECK(count(s, "id=\"error\"") == 0);
	FUZZ_CHECK(between(s, "<p id=\"count\">", '<', text, sizeof(text)));
	FUZZ_CHECK(strtoul(text, NULL, 10) == e->rows);
	FUZZ_CHECK(count(s, "rel=\"first\"") == (pg->q->has_after ? 1 : 0));
	FUZZ_CHECK(count(s, "rel=\"next\"") == (e->more ? 1 : 0));
	if (!e->more)
		return;
	FUZZ_CHECK(between(s, "<a rel=\"next\" href=\"", '"', text,
	    sizeof(text)));
	while ((amp = strstr(text, "&amp;")) != NULL)
		memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
	check_link(text, pg, e->key, 0);
}

/* The text of a member's value, as json_find found it. */
static int
member(const struct sink *s, const struct json_span *m, char *dst, size_t cap)
{
	if (m->len == 0 || m->len >= cap)
		return 0;
	memcpy(dst, s->buf + m->off, m->len);
	dst[m->len] = '\0';
	return 1;
}

static void
check_json(const struct sink *s, enum db_rc rc, const struct page *pg,
    const struct fake_expect *e, const struct db *db)
{
	static const char *const names[] = {"count", "limit", "next"};
	const struct db_col *cols = db_cols(db);
	unsigned k, ncols = db_ncols(db);
	struct json_span m[3];
	char text[LINK_MAX], link[LINK_MAX], kinds[16];
	long n;

	FUZZ_CHECK(utf8_valid(s->buf, s->len));
	FUZZ_CHECK(rc == e->rc);
	/* an unfinished page must not pass for a whole one */
	FUZZ_CHECK(json_find(s->buf, s->len, names, 3, m) == (rc == DB_OK));
	if (rc != DB_OK)
		return;
	/* a column has one JSON type, its own, on every row */
	FUZZ_CHECK(json_row_kinds(s->buf, s->len, kinds, sizeof(kinds)));
	for (k = 0; k < ncols && k < sizeof(kinds); k++)
		FUZZ_CHECK(kinds[k] == 0 ||
		    kinds[k] == (cols[k].json_number ? 'n' : 's'));
	FUZZ_CHECK(member(s, &m[0], text, sizeof(text)));
	FUZZ_CHECK(strtoul(text, NULL, 10) == e->rows);
	FUZZ_CHECK(member(s, &m[1], text, sizeof(text)));
	FUZZ_CHECK(strtoul(text, NULL, 10) == pg->q->limit);
	FUZZ_CHECK(member(s, &m[2], text, sizeof(text)));
	if (!e->more) {
		FUZZ_CHECK(strcmp(text, "null") == 0);
		return;
	}
	FUZZ_CHECK(text[0] == '"');
	n = json_unescape(text + 1, strlen(text) - 2, link, sizeof(link) - 1);
	FUZZ_CHECK(n >= 0);
	link[n] = '\0';
	check_link(link, pg, e->key, 1);
}

/*
 * Runs one renderer over the table.  With a sink that takes all, the
 * output is checked; with one that fails, only that the failure shows.
 */
static void
render(struct db *db, struct page *pg, const struct fake_expect *e,
    size_t cap, int json)
{
	struct sink s;
	enum db_rc rc;
	int flushed;

	fake_db_rewind(db);
	FUZZ_CHECK(sink_open(&s, &o, cap) == 0);
	rc = json ? page_json(&o, db, pg) : page_html(&o, db, pg);
	FUZZ_CHECK(rc == DB_OK || rc == DB_ERROR || rc == DB_DOWN ||
	    rc == DB_SLOW);
	FUZZ_CHECK(rc != DB_OK || pg->rows == e->rows);
	flushed = out_flush(&o);
	FUZZ_CHECK((flushed != 0) == s.overflow);
	if (cap < SINK_CAP)
		FUZZ_CHECK(s.len <= cap);
	else
		FUZZ_CHECK(!s.overflow);
	if (cap < SINK_CAP)
		; /* a prefix of the page, cut anywhere: nothing more to check */
	else if (json)
		check_json(&s, rc, pg, e, db);
	else
		check_html(&s, rc, pg, e, db_ncols(db));
	sink_close(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size, 0};
	struct hostinfo host;
	char table[48];
	struct query q;
	struct page pg = {table, &host, &q, "/", 0};
	struct fake_expect e;
	struct db *db;
	uint8_t limit = rd_byte(&r), flags = rd_byte(&r);
	size_t cap = flags & 4 ? (size_t)(flags >> 3) * 1024 : SINK_CAP;

	memset(&q, 0, sizeof(q));
	q.limit = limit == 0xFF ? 100000 : 1 + limit % 8u;
	q.has_after = flags & 1;
	read_string(&r, table, sizeof(table));
	read_string(&r, host.hostname, 64);
	host.instance_id[0] = host.az[0] = '\0';
	if (flags & 2) {
		read_string(&r, host.instance_id, sizeof(host.instance_id));
		read_string(&r, host.az, sizeof(host.az));
	}
	db = fake_db_new(&r);
	FUZZ_CHECK(db != NULL);
	fake_db_expect(db, q.limit, 0, &e);
	render(db, &pg, &e, cap, 0);
	fake_db_expect(db, q.limit, 1, &e);
	render(db, &pg, &e, cap, 1);
	fake_db_free(db);
	return 0;
}
