#include "page.h"

#include <string.h>

#include "clock.h"
#include "html.h"
#include "json.h"
#include "log.h"

/* JSON keys of a page, "name": with a comma before all but the first. */
#define KEYS_BYTES 2048
#define KEYS_COLS 64

struct keys {
	int ok; /* 0: escape the names on every row instead */
	unsigned short end[KEYS_COLS]; /* where column i's key ends */
	char buf[KEYS_BYTES];
};

struct cell {
	struct out *o;
	struct utf8_esc esc;
	int chunks;
	int bad_number; /* json_number met a value that is no number */
};

static int
html_chunk(void *ctx, const char *p, size_t n)
{
	struct cell *c = ctx;

	html_escape(c->o, &c->esc, p, n);
	return out_error(c->o);
}

static int
json_chunk(void *ctx, const char *p, size_t n)
{
	struct cell *c = ctx;

	json_escape(c->o, &c->esc, p, n);
	return out_error(c->o);
}

/*
 * A value of a JSON-number column arrives whole: it is far shorter than
 * a chunk.  A YEAR's display zeros go ("0000" is 0).  A value that is
 * still no JSON number fails the page: writing it as a string would
 * change the column's type on this one row.
 */
static int
json_number(void *ctx, const char *p, size_t n)
{
	struct cell *c = ctx;

	if (c->chunks++ > 0)
		return -1;
	while (n > 1 && p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
		p++;
		n--;
	}
	if (!json_is_number(p, n)) {
		c->bad_number = 1;
		return -1;
	}
	out_write(c->o, p, n);
	return out_error(c->o);
}

/*
 * Writes every column's key once for the page, so that a row copies
 * them.  Only names that need no escaping are held, and only while they
 * fit; otherwise k->ok stays 0.
 */
static void
keys_build(struct keys *k, const struct db_col *cols, unsigned ncols)
{
	size_t len = 0, n;
	unsigned i;

	k->ok = 0;
	if (ncols > KEYS_COLS)
		return;
	for (i = 0; i < ncols; i++) {
		n = cols[i].name_len;
		if (!json_plain(cols[i].name, n) ||
		    n + 4 > sizeof(k->buf) - len)
			return;
		if (i > 0)
			k->buf[len++] = ',';
		k->buf[len++] = '"';
		memcpy(k->buf + len, cols[i].name, n);
		len += n;
		k->buf[len++] = '"';
		k->buf[len++] = ':';
		k->end[i] = (unsigned short)len;
	}
	k->ok = 1;
}

/* The key of column i, with the comma before it. */
static void
json_key(struct out *o, const struct keys *k, const struct db_col *cols,
    unsigned i, struct utf8_esc *esc)
{
	size_t start;

	if (k->ok) {
		start = i > 0 ? k->end[i - 1] : 0;
		out_write(o, k->buf + start, k->end[i] - start);
	} else {
		out_puts(o, i > 0 ? ",\"" : "\"");
		json_escape(o, esc, cols[i].name, cols[i].name_len);
		utf8_esc_end(o, esc);
		out_puts(o, "\":");
	}
}

/* The query string of a page after `after` (or the first page). */
static void
page_link(struct out *o, const struct page *pg, int json, int has_after,
    long long after, const char *amp)
{
	out_puts(o, pg->mount); /* config_is_mount: needs no escaping */
	out_putc(o, '?');
	if (json) {
		out_puts(o, "format=json");
		out_puts(o, amp);
	}
	out_puts(o, "limit=");
	out_uint(o, pg->q->limit);
	if (has_after) {
		out_puts(o, amp);
		out_puts(o, "after=");
		out_int(o, after);
	}
}

/*
 * Everything up to the title.  The grey of NULL cells keeps a contrast
 * of at least 4.5:1 (WCAG AA).  On a narrow screen text values wrap
 * anywhere, so that the table fits the width instead of running off the
 * side, while numbers and column names stay whole.
 */
static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>body{font-family:system-ui,sans-serif;margin:2em}"
    "table{border-collapse:collapse}caption{text-align:left;padding:.3em 0}"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;"
    "vertical-align:top}td.num{text-align:right}"
    "td.null{color:#666;font-style:italic}"
    "#served-by,caption{color:#555}.error{color:#b00}"
    "@media (max-width:40em){body{margin:.5em;font-size:.9em}"
    "th,td{padding:.2em .3em}td{overflow-wrap:anywhere}"
    "th,td.num,td.null{white-space:nowrap}}</style>\n<title>";

static void
html_host(struct out *o, const struct hostinfo *h)
{
	out_puts(o, "<p id=\"served-by\">Served by <b id=\"hostname\">");
	html_text(o, h->hostname);
	out_puts(o, "</b>");
	if (h->instance_id[0] != '\0') {
		out_puts(o, ", instance <b id=\"instance-id\">");
		html_text(o, h->instance_id);
		out_puts(o, "</b> in <b id=\"availability-zone\">");
		html_text(o, h->az);
		out_puts(o, "</b>");
	}
	out_puts(o, "</p>\n");
}

enum db_rc
page_html(struct out *o, struct db *db, struct page *pg)
{
	const struct db_col *cols = db_cols(db);
	unsigned i, ncols = db_ncols(db), nrows = 0;
	long long key = 0;
	struct cell c = {o, {{0}, 0}, 0, 0};
	enum db_rc rc, ret = DB_ERROR;
	int more = 0;

	out_puts(o, html_head);
	html_text(o, pg->table);
	out_puts(o, "</title>\n</head>\n<body>\n<main>\n<h1>");
	html_text(o, pg->table);
	out_puts(o, "</h1>\n");
	html_host(o, pg->host);
	out_puts(o, "<table id=\"rows\">\n<caption>Rows of ");
	html_text(o, pg->table);
	out_puts(o, " in key order. A grey, italic NULL is no value; "
	    "an empty cell is an empty string.</caption>\n<thead><tr>");
	for (i = 0; i < ncols; i++) {
		out_puts(o, "<th scope=\"col\">");
		html_escape(o, &c.esc, cols[i].name, cols[i].name_len);
		utf8_esc_end(o, &c.esc);
		out_puts(o, "</th>");
	}
	out_puts(o, "</tr></thead>\n<tbody>\n");
	while ((rc = db_page_next(db)) == DB_ROW) {
		if (nrows == pg->q->limit) {
			more = 1; /* the extra row: a next page exists */
			continue;
		}
		if ((rc = db_row_key(db, &key)) != DB_OK)
			goto broken;
		nrows++;
		out_puts(o, "<tr>");
		for (i = 0; i < ncols; i++) {
			if (db_cell_is_null(db, i)) {
				out_puts(o, "<td class=\"null\">NULL</td>");
				continue;
			}
			out_puts(o, cols[i].numeric ? "<td class=\"num\">"
						    : "<td>");
			rc = db_cell(db, i, html_chunk, &c);
			utf8_esc_end(o, &c.esc);
			if (rc != DB_OK)
				goto broken;
			out_puts(o, "</td>");
		}
		out_puts(o, "</tr>\n");
	}
	if (rc != DB_END)
		goto broken;
	out_puts(o, "</tbody>\n</table>\n<p id=\"count\">");
	out_uint(o, nrows);
	out_puts(o, nrows == 1 ? " row" : " rows");
	out_puts(o, "</p>\n<nav>");
	if (pg->q->has_after) {
		out_puts(o, "<a rel=\"first\" href=\"");
		page_link(o, pg, 0, 0, 0, "&amp;");
		out_puts(o, "\">First page</a> ");
	}
	if (more) {
		out_puts(o, "<a rel=\"next\" href=\"");
		page_link(o, pg, 0, 1, key, "&amp;");
		out_puts(o, "\">Next page</a>");
	}
	out_puts(o, "</nav>\n</main>\n</body>\n</html>\n");
	ret = DB_OK;
	goto done;
broken:
	/* the page stays unfinished: app_finish has it cut off */
	ret = rc == DB_DOWN || rc == DB_SLOW ? rc : DB_ERROR;
done:
	pg->rows = nrows;
	return ret;
}

enum db_rc
page_json(struct out *o, struct db *db, struct page *pg)
{
	const struct db_col *cols = db_cols(db);
	const struct hostinfo *h = pg->host;
	unsigned i, ncols = db_ncols(db), nrows = 0;
	long long key = 0;
	struct cell c = {o, {{0}, 0}, 0, 0};
	struct keys k;
	enum db_rc rc, ret = DB_ERROR;
	int more = 0;

	keys_build(&k, cols, ncols);
	out_puts(o, "{\"table\":");
	json_string(o, pg->table);
	out_puts(o, ",\"served_by\":{\"hostname\":");
	json_string(o, h->hostname);
	out_puts(o, ",\"instance_id\":");
	json_string(o, h->instance_id[0] != '\0' ? h->instance_id : NULL);
	out_puts(o, ",\"availability_zone\":");
	json_string(o, h->az[0] != '\0' ? h->az : NULL);
	out_puts(o, "},\"columns\":[");
	for (i = 0; i < ncols; i++) {
		out_puts(o, i > 0 ? ",\"" : "\"");
		json_escape(o, &c.esc, cols[i].name, cols[i].name_len);
		utf8_esc_end(o, &c.esc);
		out_putc(o, '"');
	}
	out_puts(o, "],\"rows\":[");
	while ((rc = db_page_next(db)) == DB_ROW) {
		if (nrows == pg->q->limit) {
			more = 1;
			continue;
		}
		if ((rc = db_row_key(db, &key)) != DB_OK)
			goto broken;
		out_puts(o, nrows++ > 0 ? ",\n{" : "\n{");
		for (i = 0; i < ncols; i++) {
			json_key(o, &k, cols, i, &c.esc);
			if (db_cell_is_null(db, i)) {
				out_puts(o, "null");
				continue;
			}
			if (cols[i].json_number) {
				c.chunks = 0;
				rc = db_cell(db, i, json_number, &c);
				if (c.bad_number) {
					log_rate("number", clock_ms(), "column "
					    "`%.*s` holds a value that is not "
					    "a number", (int)cols[i].name_len,
					    cols[i].name);
					c.bad_number = 0;
				}
			} else {
				out_putc(o, '"');
				rc = db_cell(db, i, json_chunk, &c);
				utf8_esc_end(o, &c.esc);
				out_putc(o, '"');
			}
			if (rc != DB_OK)
				goto broken;
		}
		out_putc(o, '}');
	}
	if (rc != DB_END)
		goto broken;
	out_puts(o, "],\"count\":");
	out_uint(o, nrows);
	out_puts(o, ",\"limit\":");
	out_uint(o, pg->q->limit);
	out_puts(o, ",\"next\":");
	if (more) {
		out_putc(o, '"');
		page_link(o, pg, 1, 1, key, "&");
		out_putc(o, '"');
	} else {
		out_puts(o, "null");
	}
	out_puts(o, "}\n");
	ret = DB_OK;
	goto done;
broken:
	/* the JSON stays unfinished: no parser takes it for a whole answer */
	ret = rc == DB_DOWN || rc == DB_SLOW ? rc : DB_ERROR;
done:
	pg->rows = nrows;
	return ret;
}
