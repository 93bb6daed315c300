"""The page tells the truth: a table that changes shape under running
workers, a page whose rows fail part-way, each column's JSON type, HTML that an
HTML5 parser takes without an error, errors in the format asked for,
and failures that are no outage logged once per cause.

Real MariaDB, fcgi-app and nginx on loopback, as in test_service.py.
It runs under Debian's python3, whose html5lib parses the pages.
"""
import decimal
import json
import os
import subprocess
import threading
import time
import unittest

import html5lib

from lib import TOP
from lib.localstack import Stack
from lib.page import Page, as_shown_in_html
from lib.proc import wait_until

STACK = None


def setUpModule():
    global STACK
    STACK = Stack()
    STACK.up()


def tearDownModule():
    if STACK is not None:
        STACK.down()  # fails on any sanitizer report


def grant(table):
    return "GRANT SELECT ON %s TO 'fcgi_app'@'%%';" % table


def html5_errors(body):
    """The parse errors an HTML5 parser (html5lib) finds in a page."""
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(body, transport_encoding="utf-8")
    return parser.errors


def shape_of(doc):
    """A JSON page as (columns, rows as lists)."""
    return doc["columns"], [list(r.values()) for r in doc["rows"]]


class TableChanges(unittest.TestCase):
    """ALTER TABLE under workers that keep their prepared statements:
    each kind of change that keeps the column count, while pages are
    fetched all along.  Every page must be one whole shape: its columns
    and every row's values those of one state of the table."""

    def expected(self):
        """The JSON page the table's present shape gives: columns, and
        rows with each value typed as the page types its column."""
        cols, rows = STACK.table("morph")
        types = dict(line.split("\t") for line in STACK.sql(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'morph';"
        ).split("\n")[1:-1])
        typed = [[None if v is None else int(v) if types[c] == "int" else v
                  for c, v in zip(cols, row)] for row in rows]
        return cols, typed

    def test_every_change_is_seen_and_no_page_mixes_shapes(self):
        STACK.sql("CREATE TABLE morph (id INT PRIMARY KEY, a VARCHAR(10), b INT);"
                  "INSERT INTO morph VALUES (1, 'one', 10), (2, 'two', 20), (3, 'six', 30);"
                  + grant("morph"))
        inst = STACK.web_start("morph", settings={"table": "morph", "workers": 2})
        shapes = [self.expected()]
        seen, stop = [], threading.Event()

        def fetch():
            while not stop.is_set():
                r = inst.get("/?format=json")
                seen.append((r.status, r.body))

        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for change in (
                    "ALTER TABLE morph MODIFY b VARCHAR(10)",            # type
                    "ALTER TABLE morph RENAME COLUMN a TO name",          # rename
                    "ALTER TABLE morph MODIFY b VARCHAR(10) AFTER id",   # reorder
                    "ALTER TABLE morph DROP COLUMN name, "
                    "ADD COLUMN c INT NOT NULL DEFAULT 5",               # drop and add
                    "ALTER TABLE morph MODIFY id INT NOT NULL AFTER c"):  # the key moved
                STACK.sql(change + ";")
                want = self.expected()
                self.assertNotIn(want, shapes, change)
                shapes.append(want)
                got = wait_until(lambda: shape_of(inst.get("/?format=json").json()) == want
                                 and Page(inst.get("/").text()).headers == want[0], 10)
                self.assertTrue(got, "%s: still %s" % (change, inst.get("/?format=json").body))
                time.sleep(0.3)  # pages keep coming in this shape
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertGreater(len(seen), 50)
        for status, body in seen:
            self.assertEqual(status, 200, body)
            self.assertIn(shape_of(json.loads(body)), shapes)
        # the key in its new place still pages the table once, in order
        keys, after = [], None
        while True:
            doc = inst.get("/?format=json&limit=1" + ("&after=%d" % after if after else "")).json()
            keys += [r["id"] for r in doc["rows"]]
            if doc["next"] is None:
                break
            after = keys[-1]
        self.assertEqual(keys, [1, 2, 3])
        self.assertIn("table `morph` changed shape", inst.log())

    def test_a_key_that_is_gone_or_no_key_gives_500_naming_it(self):
        STACK.sql("CREATE TABLE keyless (id INT PRIMARY KEY, v INT);"
                  "INSERT INTO keyless VALUES (1, 1);" + grant("keyless"))
        inst = STACK.web_start("keyless", settings={"table": "keyless", "workers": 1,
                                                    "reconnect-delay-ms": 0})
        self.assertEqual(inst.get("/").status, 200)
        STACK.sql("ALTER TABLE keyless DROP PRIMARY KEY;")
        statuses = [inst.get("/").status for _ in range(5)]
        self.assertEqual(statuses, [500] * 5)
        self.assertIn("column `id` of table `keyless` cannot be paged by", inst.log())
        STACK.sql("ALTER TABLE keyless RENAME COLUMN id TO ident;")
        self.assertEqual(inst.get("/?format=json").json()["status"], 500)
        # the page query itself names the key: it cannot be prepared
        self.assertIn("cannot prepare the page query: Unknown column 'id'", inst.log())


class SetupFailures(unittest.TestCase):
    """A failure at connect that is no outage stays a 500, inside the
    back-off too, and is logged once however many requests meet it."""

    def test_missing_table_is_500_every_time_and_logged_once(self):
        inst = STACK.web_start("missing", settings={"table": "no_such_table", "workers": 1,
                                                    "reconnect-delay-ms": 200})
        statuses = []
        for _ in range(40):
            statuses.append(inst.get("/").status)
            time.sleep(0.02)
        self.assertEqual(statuses, [500] * 40)
        self.assertEqual(inst.log().count("cannot prepare the page query"), 1)
        self.assertIn("no_such_table", inst.log())


class FailsPartWay(unittest.TestCase):
    """29 rows of 1 KiB are more than the 16 KiB buffer, and row 30
    fails: the rows are read whole before the page is written, so the
    client gets a whole 503, never a page that is cut off or looks
    whole with rows missing."""

    @classmethod
    def setUpClass(cls):
        rows = ",".join("(%d, REPEAT('v', 1000))" % i for i in range(1, 41))
        STACK.sql("CREATE TABLE longrows (id INT PRIMARY KEY, v TEXT);"
                  "INSERT INTO longrows VALUES %s;"
                  "CREATE VIEW longrows_late AS SELECT id, v, "
                  "IF(id >= 30, SLEEP(1), 0) AS s FROM longrows;" % rows
                  + grant("longrows_late"))
        cls.inst = STACK.web_start("late", settings={
            "table": "longrows_late", "workers": 1, "read-timeout": 1,
            "reconnect-delay-ms": 0})

    def curl(self, path):
        return subprocess.run(
            ["curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}",
             "http://127.0.0.1:%d%s" % (self.inst.port, path)],
            capture_output=True, text=True, timeout=30)

    def test_curl_gets_a_whole_503(self):
        for path in ("/?limit=40", "/?format=json&limit=40"):
            r = self.curl(path)
            # 0: the transfer is whole; the status says the page is not
            self.assertEqual((r.returncode, r.stdout), (0, "503"), (path, r.stderr))
        self.assertNotIn("a page failed after", self.inst.log())
        # the worker serves on: a page before the slow rows is whole
        r = self.inst.get("/?limit=5")
        self.assertEqual(r.status, 200)
        self.assertEqual(Page(r.text()).ids["count"], "5 rows")
        self.assertEqual(self.curl("/?limit=5").stdout, "200")


class JsonTypes(unittest.TestCase):
    """Each column's JSON type follows from its SQL type, on every row."""

    def test_types_by_column(self):
        STACK.sql("CREATE TABLE typed (id INT PRIMARY KEY, z INT(3) ZEROFILL,"
                  " y YEAR, big BIGINT, small DECIMAL(10,2), wide DECIMAL(20,4),"
                  " f DOUBLE, s VARCHAR(5));"
                  "INSERT INTO typed VALUES"
                  " (1, 7, 0, 1152921504606846977, 0.50, 1234567890123456.7890, 1.5, '1'),"
                  " (2, 123, 2024, -1, -12.25, 0, -2e10, 'x'),"
                  " (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);" + grant("typed"))
        inst = STACK.web_start("typed", settings={"table": "typed", "workers": 1})
        doc = json.loads(inst.get("/?format=json").body, parse_float=decimal.Decimal)
        rows = doc["rows"]
        self.assertEqual([r["z"] for r in rows], ["007", "123", None])
        self.assertEqual([r["y"] for r in rows], [0, 2024, None])
        self.assertEqual([r["big"] for r in rows], ["1152921504606846977", "-1", None])
        self.assertEqual([r["small"] for r in rows],
                         [decimal.Decimal("0.50"), decimal.Decimal("-12.25"), None])
        self.assertEqual([r["wide"] for r in rows],
                         ["1234567890123456.7890", "0.0000", None])
        self.assertEqual([r["s"] for r in rows], ["1", "x", None])
        for c in doc["columns"]:
            kinds = {"string" if isinstance(r[c], str) else "number"
                     if isinstance(r[c], (int, decimal.Decimal)) else type(r[c])
                     for r in rows if r[c] is not None}
            self.assertEqual(len(kinds), 1, c)
        self.assertEqual([r["f"] for r in rows], [decimal.Decimal("1.5"), -2e10, None])


class ValidHtml(unittest.TestCase):
    """Values HTML forbids (C1 controls, noncharacters), beside C0
    controls and bytes that are no UTF-8: an HTML5 parser finds no
    error on the page, and each forbidden character shows as U+FFFD."""

    def test_forbidden_characters_do_not_break_the_page(self):
        values = ["C1 \u0080 \u0085 \u009f", "nonchars \ufdd0 \ufdef \ufffe \uffff",
                  "planes \U0001fffe \U0010ffff", "C0 \x01 \x1b and DEL \x7f",
                  "fine \u00a0 \ufffd \U0001f680 \u200b"]
        STACK.sql("CREATE TABLE odd (id INT PRIMARY KEY, v VARCHAR(100), b VARBINARY(10));"
                  + "".join("INSERT INTO odd VALUES (%d, CONVERT(UNHEX('%s') USING utf8mb4),"
                            " UNHEX('41FF80C2'));" % (i + 1, v.encode("utf-8").hex())
                            for i, v in enumerate(values)) + grant("odd"))
        inst = STACK.web_start("odd", settings={"table": "odd", "workers": 1})
        r = inst.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(html5_errors(r.body), [])
        page = Page(r.text())
        want = ["".join("\ufffd" if (0x80 <= ord(ch) <= 0x9f or 0xfdd0 <= ord(ch) <= 0xfdef
                                      or ord(ch) & 0xfffe == 0xfffe) else ch
                        for ch in v) for v in values]
        want = [as_shown_in_html(v) for v in want]
        self.assertEqual([row[1] for row in page.rows], want)
        self.assertEqual({row[2] for row in page.rows}, {"A\ufffd\ufffd\ufffd"})
        # JSON carries them as they are: they are valid JSON
        doc = inst.get("/?format=json").json()
        self.assertEqual([row["v"] for row in doc["rows"]], values)

    def test_the_escaper_fuzz_corpus_parses_clean(self):
        """Every seed of the escaper's fuzz corpus as a row's bytes."""
        corpus = os.path.join(TOP, "tests", "fuzz", "corpus", "fuzz_escape")
        seeds = sorted(os.listdir(corpus))
        values = []
        for name in seeds:
            with open(os.path.join(corpus, name), "rb") as f:
                values.append(f.read()[:60000])
        STACK.sql("CREATE TABLE seeds (id INT PRIMARY KEY, v MEDIUMBLOB);"
                  + "".join("INSERT INTO seeds VALUES (%d, UNHEX('%s'));" % (i + 1, v.hex())
                            for i, v in enumerate(values)) + grant("seeds"))
        inst = STACK.web_start("seeds", settings={"table": "seeds", "workers": 1})
        r = inst.get("/?limit=%d" % len(values))
        self.assertEqual(r.status, 200)
        self.assertEqual(html5_errors(r.body), [])
        page = Page(r.text())
        self.assertEqual(len(page.rows), len(values))
        for row, v in zip(page.rows, values):
            want = v.decode("utf-8", errors="replace")
            self.assertEqual(row[1], as_shown_in_html(want))

    def test_demo_page_and_errors_parse_clean(self):
        inst = STACK.web_start("demo-html5")
        for path in ("/", "/?limit=3&after=3", "/?limit=0", "/nope"):
            self.assertEqual(html5_errors(inst.get(path).body), [], path)


class ErrorFormats(unittest.TestCase):
    def test_errors_follow_format_json_and_vary_on_accept(self):
        inst = STACK.web_start("errors")
        r = inst.get("/?format=json&limit=0", headers={"Accept": "*/*"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")
        self.assertIn("limit", r.json()["error"])
        self.assertIsNone(r.header("vary"))
        r = inst.get("/nope?format=json")
        self.assertEqual((r.status, r.json()["status"]), (404, 404))
        r = inst.get("/?limit=0", headers={"Accept": "application/json"})
        self.assertEqual(r.json()["status"], 400)
        self.assertIn("Accept", r.header("vary"))
        r = inst.get("/?limit=0")
        self.assertEqual(r.status, 400)
        self.assertIn("limit", Page(r.text()).ids["error"])
        self.assertIn("Accept", r.header("vary"))


if __name__ == "__main__":
    unittest.main()
