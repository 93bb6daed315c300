"""The service end to end: real MariaDB, fcgi-app under spawn-fcgi, real
nginx, all on loopback, checked over HTTP."""
import http.client
import json
import os
import pwd
import signal
import socket
import subprocess
import threading
import time
import unittest

from lib import dbsession
from lib.fcgi import fcgi_read_response, fcgi_request
from lib.imds import Imds
from lib.localstack import Stack
from lib.page import Page, as_shown_in_html
from lib.proc import children_of, free_port, pids_by_cmdline, uids_of, wait_gone, wait_until

INSTANCE_ID = "i-0123456789abcdef0"
ZONE = "ap-northeast-2a"

STACK = None
WEB = None      # the main instance: the demo table, as make dev runs it
IMDS = None
EC2 = None      # a second instance that finds itself "on EC2"


def setUpModule():
    global STACK, WEB, IMDS, EC2
    STACK = Stack()
    STACK.up()
    try:
        WEB = STACK.web_start("a")
        IMDS = Imds(INSTANCE_ID, ZONE)
        # the stand-in answers from this process, which a loaded machine
        # may keep from it for longer than the 200 ms meant for EC2's own
        EC2 = STACK.web_start("ec2", settings={
            "imds": "on", "imds-host": "127.0.0.1", "imds-port": IMDS.port,
            "imds-timeout-ms": 2000})
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    try:
        if STACK is not None:
            STACK.down()  # fails on any sanitizer report
    finally:
        if IMDS is not None:
            IMDS.stop()


def rows_as_strings(cols, rows):
    return [dict(zip(cols, r)) for r in rows]


class TablePage(unittest.TestCase):
    def test_html_rows_equal_table(self):
        cols, rows = STACK.table("demo")
        r = WEB.get("/")
        self.assertEqual(r.status, 200)
        page = Page(r.text())
        self.assertEqual(page.headers, cols)
        self.assertEqual(len(rows), 10)
        self.assertEqual(page.rows, [[as_shown_in_html(v) for v in row] for row in rows])
        self.assertEqual(page.ids["count"], "10 rows")

    def test_json_equals_table(self):
        cols, rows = STACK.table("demo")
        r = WEB.get("/?format=json")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")
        doc = r.json()
        self.assertEqual(doc["columns"], cols)
        self.assertEqual(doc["count"], len(rows))
        self.assertIsNone(doc["next"])
        import decimal
        for got, want in zip(doc["rows"], rows_as_strings(cols, rows)):
            self.assertEqual(list(got.keys()), cols)
            for c in cols:
                if want[c] is None:
                    self.assertIsNone(got[c], c)
                elif c in ("id", "price"):  # numeric columns are JSON numbers
                    self.assertIsInstance(got[c], (int, decimal.Decimal), c)
                    self.assertEqual(decimal.Decimal(want[c]), got[c])
                else:
                    self.assertEqual(got[c], want[c])
        self.assertEqual(len(doc["rows"]), len(rows))

    def test_accept_header_selects_json(self):
        r = WEB.get("/", headers={"Accept": "application/json"})
        self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")
        self.assertEqual(len(r.json()["rows"]), 10)
        self.assertIn("Accept", r.header("vary"))
        r = WEB.get("/", headers={"Accept": "text/html,*/*;q=0.8"})
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        # an explicit format wins over the header
        r = WEB.get("/?format=html", headers={"Accept": "application/json"})
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")

    def test_markup_is_escaped(self):
        r = WEB.get("/")
        page = Page(r.text())
        # the data holds <script>, <b> and <i>: none may become an element
        self.assertEqual(set(page.body_tags), {"tr", "td"})
        self.assertNotIn("script", page.tags)
        names = [row[1] for row in page.rows]
        self.assertIn('<script>alert("x")</script>', names)
        self.assertIn("Tom & Jerry", names)
        self.assertIn("O'Brien", names)
        self.assertIn("default-src 'none'", r.header("content-security-policy"))
        self.assertEqual(r.header("x-content-type-options"), "nosniff")

    def test_utf8_intact(self):
        r = WEB.get("/")
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        text = r.body.decode("utf-8")  # strict: fails on any invalid byte
        page = Page(text)
        cells = [c for row in page.rows for c in row if c]
        for s in ("서울", "Hello from 대한민국", "Rocket 🚀", "Emoji ✨🎉 and a snowman ☃",
                  "山田太郎", "Ünïcödé", "Ελληνικά, русский, العربية"):
            self.assertIn(s, cells)
        self.assertIn('<meta charset="utf-8">', text)
        doc = WEB.get("/?format=json").json()
        self.assertEqual(doc["rows"][4]["name"], "Rocket 🚀")

    def test_null_differs_from_empty_and_from_the_string_null(self):
        page = Page(WEB.get("/").text())
        by_id = {row[0]: row for row in page.rows}
        self.assertEqual(by_id["4"][1], "")     # empty string
        self.assertIsNone(by_id["4"][2])        # SQL NULL
        self.assertEqual(by_id["8"][1], "NULL")  # the string 'NULL'
        self.assertIsNone(by_id["8"][4])
        rows = {r["id"]: r for r in WEB.get("/?format=json").json()["rows"]}
        self.assertEqual(rows[4]["name"], "")
        self.assertIsNone(rows[4]["city"])
        self.assertEqual(rows[8]["name"], "NULL")
        self.assertEqual(rows[10]["note"], "")

    def test_control_characters(self):
        rows = {r["id"]: r for r in WEB.get("/?format=json").json()["rows"]}
        self.assertEqual(rows[7]["name"], "Tab\there")
        self.assertEqual(rows[7]["city"], "Line\nbreak")
        self.assertEqual(rows[7]["note"], "Backslash \\, backspace \b and Ctrl-Z \x1a")
        page = Page(WEB.get("/").text())
        self.assertEqual(page.rows[6][3], "Backslash \\, backspace \u2408 and Ctrl-Z \u241a")

    def test_host_shown(self):
        page = Page(WEB.get("/").text())
        self.assertEqual(page.ids["hostname"], socket.gethostname())
        self.assertNotIn("instance-id", page.ids)  # imds = off
        doc = WEB.get("/?format=json").json()
        self.assertEqual(doc["served_by"], {"hostname": socket.gethostname(),
                                            "instance_id": None,
                                            "availability_zone": None})

    def test_whole_answers_carry_their_length(self):
        """An answer that fits the program's buffer, as every demo page
        and error does, carries a Content-Length equal to its body: nginx
        then passes it on in one write, not chunked."""
        for path, status in (("/", 200), ("/?format=json", 200), ("/?limit=1", 200),
                             ("/nope", 404), ("/?limit=abc", 400), ("/healthz", 200)):
            r = WEB.get(path)
            self.assertEqual(r.status, status, path)
            self.assertIsNone(r.header("transfer-encoding"), path)
            self.assertEqual(r.header("content-length"), str(len(r.body)), path)

    def test_head(self):
        g = WEB.get("/")
        h = WEB.get("/", method="HEAD")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        self.assertEqual(h.header("content-type"), g.header("content-type"))


class Paging(unittest.TestCase):
    def walk_html(self, limit):
        url, pages, rows = "/?limit=%d" % limit, 0, []
        while url:
            r = WEB.get(url)
            self.assertEqual(r.status, 200, url)
            page = Page(r.text())
            self.assertLessEqual(len(page.rows), limit)
            rows += page.rows
            pages += 1
            if pages > 1:
                self.assertIn("first", page.links)
            url = page.links.get("next")
            self.assertLess(pages, 50)
        return pages, rows

    def test_html_pages_cover_table_once(self):
        cols, table = STACK.table("demo")
        want = [[as_shown_in_html(v) for v in row] for row in table]
        for limit, npages in ((3, 4), (5, 2), (10, 1), (1000, 1)):
            pages, rows = self.walk_html(limit)
            self.assertEqual(rows, want, limit)
            self.assertEqual(pages, npages, limit)

    def test_json_next(self):
        doc = WEB.get("/?format=json&limit=4").json()
        self.assertEqual(doc["limit"], 4)
        self.assertEqual([r["id"] for r in doc["rows"]], [1, 2, 3, 4])
        self.assertEqual(doc["next"], "/?format=json&limit=4&after=4")
        seen = [r["id"] for r in doc["rows"]]
        while doc["next"]:
            doc = WEB.get(doc["next"]).json()
            seen += [r["id"] for r in doc["rows"]]
        self.assertEqual(seen, list(range(1, 11)))
        self.assertEqual(doc["count"], 2)

    def test_default_limit_and_empty_page(self):
        doc = WEB.get("/?format=json").json()
        self.assertEqual(doc["limit"], 100)
        doc = WEB.get("/?format=json&after=9223372036854775807").json()
        self.assertEqual(doc["rows"], [])
        self.assertIsNone(doc["next"])
        page = Page(WEB.get("/?after=10").text())
        self.assertEqual(page.rows, [])
        self.assertNotIn("next", page.links)


class Errors(unittest.TestCase):
    def test_bad_parameters_get_400_with_reason(self):
        cases = {
            "/?limit=0": "limit must be a whole number from 1 to 1000",
            "/?limit=1001": "limit must be a whole number from 1 to 1000",
            "/?limit=ten": "limit must be",
            "/?after=x": "after must be",
            "/?format=xml": "format must be html or json",
            "/?limit=1&limit=2": "limit is given twice",
            "/?color=red": "unknown parameter 'color'",
            "/?limit=%zz": "malformed value for 'limit'",
            "/?%3Cb%3E=1": "unknown parameter '<b>'",
        }
        for url, reason in cases.items():
            r = WEB.get(url)
            self.assertEqual(r.status, 400, url)
            page = Page(r.text())
            self.assertIn(reason, page.ids["error"], url)
            self.assertNotIn("b", page.tags)  # the echoed name is escaped
        r = WEB.get("/?limit=0", headers={"Accept": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"status": 400, "error":
                                    "limit must be a whole number from 1 to 1000"})

    def test_unknown_path_404(self):
        for path in ("/nope", "/healthz/x", "/index.php", "/a/../nope"):
            r = WEB.get(path)
            self.assertEqual(r.status, 404, path)
        # nginx itself refuses a path that climbs above the root
        self.assertEqual(WEB.get("/%2e%2e/etc/passwd").status, 400)

    def test_other_methods_405(self):
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            r = WEB.get("/", method=m)
            self.assertEqual(r.status, 405, m)
            self.assertEqual(r.header("allow"), "GET, HEAD", m)

    def test_no_path_is_a_500_that_names_the_variables(self):
        # a server that sends none of SCRIPT_NAME, PATH_INFO, REQUEST_URI
        with WEB.fcgi_socket() as s:
            s.sendall(fcgi_request({"REQUEST_METHOD": "GET", "QUERY_STRING": ""}))
            out = fcgi_read_response(s)
        head = out.split(b"\r\n\r\n", 1)[0].decode()
        self.assertEqual(head.split("\r\n")[0], "Status: 500 Internal Server Error")
        lines = [l for l in WEB.log().splitlines() if "the request has no path" in l]
        self.assertEqual(len(lines), 1, lines)
        for name in ("SCRIPT_NAME", "PATH_INFO", "REQUEST_URI"):
            self.assertIn(name, lines[0])

    def test_still_serving_after_bad_requests(self):
        before = WEB.worker_pids()
        for i in range(50):
            WEB.get("/?limit=%d" % (i * 1000))
            WEB.get("/x" * i)
        self.assertEqual(WEB.get("/").status, 200)
        self.assertEqual(WEB.worker_pids(), before)


class Probes(unittest.TestCase):
    def test_healthz_and_readyz(self):
        r = WEB.get("/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        r = WEB.get("/readyz")
        self.assertEqual((r.status, r.body), (200, b"ready\n"))


def gave_up_lines(inst):
    return [l for l in inst.log().splitlines() if "instance metadata" in l]


class OnEc2(unittest.TestCase):
    def test_instance_and_zone_from_imds_v2(self):
        r = EC2.get("/")
        self.assertEqual(r.status, 200, EC2.log())
        page = Page(r.text())
        self.assertIn("instance-id", page.ids, EC2.log())
        self.assertEqual(page.ids["instance-id"], INSTANCE_ID)
        self.assertEqual(page.ids["availability-zone"], ZONE)
        served = EC2.get("/?format=json").json()["served_by"]
        self.assertEqual(served["instance_id"], INSTANCE_ID)
        self.assertEqual(served["availability_zone"], ZONE)
        # IMDSv2: a token first, then reads that carry it, once at start
        calls = IMDS.calls
        self.assertEqual(calls[0], ("PUT", "/latest/api/token"))
        self.assertEqual(sorted(calls[1:]), [
            ("GET", "/latest/meta-data/instance-id"),
            ("GET", "/latest/meta-data/placement/availability-zone")])

    def ec2_with(self, name, **misbehave):
        """An instance whose metadata stand-in fails or stalls its first
        requests, and that stand-in."""
        imds = Imds(INSTANCE_ID, ZONE, **misbehave)
        self.addCleanup(imds.stop)
        inst = STACK.web_start(name, settings={
            "imds": "on", "imds-host": "127.0.0.1", "imds-port": imds.port})
        return inst, imds

    def assert_found(self, inst):
        page = Page(inst.get("/").text())
        self.assertEqual(page.ids["instance-id"], INSTANCE_ID)
        self.assertEqual(page.ids["availability-zone"], ZONE)
        self.assertEqual(gave_up_lines(inst), [])

    def test_lookup_tries_again_after_an_error(self):
        inst, imds = self.ec2_with("imds503", fail_first=2)
        self.assert_found(inst)
        # 503 for the token, a new try: 503 for the token, a third try
        self.assertEqual([c[0] for c in imds.calls], ["PUT", "PUT", "PUT", "GET", "GET"])

    def test_lookup_tries_again_after_a_stall(self):
        # the first token request is held past imds-timeout-ms (200)
        inst, imds = self.ec2_with("imdsslow", stall_first=1, stall_seconds=1.5)
        self.assert_found(inst)
        self.assertEqual([c[0] for c in imds.calls], ["PUT", "PUT", "GET", "GET"])

    def test_lookup_gives_up_after_three_tries(self):
        inst, imds = self.ec2_with("imdsdown", fail_first=1000)
        page = Page(inst.get("/").text())
        self.assertNotIn("instance-id", page.ids)
        self.assertNotIn("availability-zone", page.ids)
        self.assertEqual(page.ids["hostname"], socket.gethostname())
        self.assertEqual(imds.calls, [("PUT", "/latest/api/token")] * 3)
        lines = gave_up_lines(inst)
        self.assertEqual(len(lines), 1, inst.log())
        self.assertIn("after 3 tries", lines[0])
        self.assertIn("HTTP 503", lines[0])

    def test_no_imds_is_quiet(self):
        inst = STACK.web_start("noec2", settings={
            "imds": "on", "imds-host": "127.0.0.1", "imds-port": free_port()})
        page = Page(inst.get("/").text())
        self.assertEqual(page.ids["hostname"], socket.gethostname())
        self.assertNotIn("instance-id", page.ids)
        self.assertEqual(len(page.rows), 10)


class Secrets(unittest.TestCase):
    def password(self):
        with open(os.path.join(STACK.db_state, "fcgi-app.cnf")) as f:
            for line in f:
                if line.startswith("password = "):
                    return line.split("=", 1)[1].strip()
        self.fail("no password in the config")

    def test_password_nowhere_visible(self):
        pw = self.password()
        self.assertGreaterEqual(len(pw), 12)
        for url in ("/", "/?format=json", "/?limit=0", "/nope", "/readyz"):
            self.assertNotIn(pw.encode(), WEB.get(url).body, url)
        self.assertNotIn(pw, WEB.log())
        for pid in [WEB.master_pid()] + WEB.worker_pids():
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                self.assertNotIn(pw.encode(), f.read())
            with open("/proc/%d/environ" % pid, "rb") as f:
                self.assertNotIn(pw.encode(), f.read())

    def test_app_user_cannot_write(self):
        out = STACK.sql("SHOW GRANTS FOR 'fcgi_app'@'%';")
        grants = [g for g in out.split("\n")[1:] if g]
        self.assertIn("GRANT USAGE ON *.*", grants[0])
        self.assertIn("GRANT SELECT ON `fcgi_app`.`demo` TO `fcgi_app`@`%`", grants)
        for g in grants[1:]:
            self.assertRegex(g, r"^GRANT SELECT ON `fcgi_app`\.`\w+` TO `fcgi_app`@`%`$")
        # and for real, with the app's own config
        cnf = os.path.join(STACK.db_state, "fcgi-app.cnf")
        for stmt in ("DELETE FROM demo", "UPDATE demo SET name = 'x'",
                     "INSERT INTO demo (id, name, created_at) VALUES (99, 'x', NOW())",
                     "DROP TABLE demo", "CREATE TABLE t (i INT)"):
            p = subprocess.run(["mariadb", "--defaults-file=" + cnf, "-e", stmt],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, stmt)
            self.assertIn("command denied to user 'fcgi_app'", p.stderr, stmt)
        p = subprocess.run(["mariadb", "--defaults-file=" + cnf, "-e",
                            "SELECT COUNT(*) FROM demo"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.stdout.split(), ["COUNT(*)", "10"])


def get_503(case, inst, path, within):
    """GETs path: a 503 with Retry-After: 1, answered within `within` s."""
    t = time.monotonic()
    r = inst.get(path)
    case.assertEqual(r.status, 503, path)
    case.assertEqual(r.header("retry-after"), "1")
    case.assertLess(time.monotonic() - t, within)
    return r


class DatabaseOutage(unittest.TestCase):
    def test_database_down_then_back(self):
        workers = WEB.worker_pids()
        master = WEB.master_pid()
        self.assertEqual(len(workers), 4)
        STACK.db_stop()
        try:
            for url in ("/", "/?format=json"):
                get_503(self, WEB, url, within=5)
            self.assertEqual(WEB.get("/readyz").status, 503)
            self.assertEqual(WEB.get("/healthz").status, 200)
            self.assertEqual(WEB.get("/?format=json").json()["status"], 503)
        finally:
            STACK.db_start()
        # A worker that failed during the outage tries again only once
        # reconnect-delay-ms (500 ms here) has passed, and then at once:
        # from then on, every request gets a whole page.
        time.sleep(1.0)
        for i in range(12):
            r = WEB.get("/")
            page = Page(r.text())
            self.assertEqual((r.status, len(page.rows)), (200, 10),
                             "request %d after the restart:\n%s\n--- fcgi-app.log:\n%s" % (
                                 i, r.text(), WEB.log()[-3000:]))
        # no restart: the same master and the same workers
        self.assertEqual(WEB.master_pid(), master)
        self.assertEqual(WEB.worker_pids(), workers)
        self.assertIn("database connection restored", WEB.log())


class Reconnect(unittest.TestCase):
    def test_first_request_after_a_restart_is_served(self):
        """A connection the database closed while it was idle goes when
        it closes, not when a page takes it: the first request after the
        restart opens a new one and gets 200, and no page ever ran on
        the dead one (which would log it as lost)."""
        inst = STACK.web_start("retry", settings={"workers": 1})
        self.assertEqual(inst.get("/").status, 200)
        STACK.db_stop()
        STACK.db_start()
        r = inst.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(Page(r.text()).rows), 10)
        self.assertIn("the database closed an idle connection", inst.log())
        self.assertNotIn("database connection lost", inst.log())

    def test_slow_query_gets_503_and_leaves_no_session_behind(self):
        """The server gives up on the page query a little before the read
        timeout, so the answer is a 503 in time and no session is left
        waiting on the database."""
        inst = STACK.web_start("slow", settings={"workers": 1, "read-timeout": 1,
                                                 "reconnect-delay-ms": 0})
        self.assertEqual(inst.get("/").status, 200)
        hold = threading.Thread(target=STACK.sql, args=(
            "LOCK TABLES demo WRITE; SELECT SLEEP(4); UNLOCK TABLES;",))
        hold.start()
        try:
            self.assertTrue(wait_for_process("User sleep", pwd.getpwuid(os.getuid()).pw_name))
            for _ in range(2):
                get_503(self, inst, "/?format=json", within=1.0)
                waiting = dbsession.count(STACK, user="fcgi_app", state="Waiting%")
                self.assertEqual(waiting, 0)
        finally:
            hold.join(20)
        self.assertEqual(len(inst.get("/?format=json").json()["rows"]), 10)
        log = inst.log()
        self.assertEqual(log.count("database too slow: " + STACK.timeout_message), 1)
        self.assertIn("database answering in time again", log)
        self.assertNotIn("database connection lost", log)

    def test_back_off_after_a_failed_connect(self):
        """A database that accepts and never answers: one connect attempt
        per reconnect-delay-ms, and fast 503s in between.  A page that
        comes while the worker's first connect is under way waits for it
        db-wait-ms, as for a busy connection; once it has failed, the
        outage is known and the 503 comes at once."""
        accepted = []
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                accepted.append(conn)  # held open, never answered
        threading.Thread(target=serve, daemon=True).start()
        try:
            inst = STACK.web_start("backoff", settings={
                "workers": 1, "connect-timeout": 1, "read-timeout": 1,
                "reconnect-delay-ms": 5000, "db-wait-ms": 100},
                client={"host": "127.0.0.1", "port": listener.getsockname()[1]})
            before = len(accepted)  # the worker's connect at start
            self.assertGreaterEqual(before, 1)
            for _ in range(8):
                get_503(self, inst, "/", within=0.5)
            self.assertEqual(len(accepted), before)
        finally:
            listener.close()
            for c in accepted:
                c.close()


def stalled_connections(inst, count, data):
    """count FastCGI connections to inst's socket, each sent data and
    then left alone."""
    held = [inst.fcgi_socket() for _ in range(count)]
    for s in held:
        s.sendall(data)
    return held


def log_lines_after(inst, held, line, want):
    """Closes held; then how many times line is in inst's log, once it
    holds want of them or 5 s have passed."""
    for s in held:
        s.close()
    wait_until(lambda: inst.log().count(line) >= want, 5)
    return inst.log().count(line)


def closed_by_peer(s):
    """True once the worker has closed s (what it sent is read first)."""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return True


class Deadlines(unittest.TestCase):
    def test_stalled_requests_do_not_stop_the_service(self):
        """Three times as many half-sent or silent requests as workers:
        each is closed after request-read-timeout and logged, and the
        page through nginx is served meanwhile."""
        inst = STACK.web_start("stall", settings={"workers": 2,
                                                  "request-read-timeout": 1})
        half = fcgi_request({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/"})[:20]
        held = stalled_connections(inst, 4, half) + stalled_connections(inst, 2, b"")
        try:
            r = inst.get("/?format=json", timeout=20)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.json()["rows"]), 10)
            for s in held:
                self.assertTrue(closed_by_peer(s))
        finally:
            lines = log_lines_after(inst, held, "a request stalled for 1 s "
                                    "(request-read-timeout); connection closed", 6)
        self.assertEqual(lines, 6)
        STACK.web_stop(inst)


class TableChanges(unittest.TestCase):
    def test_column_added_and_dropped_under_a_running_worker(self):
        STACK.sql("CREATE TABLE shape (id INT PRIMARY KEY, a VARCHAR(10));"
                  "INSERT INTO shape VALUES (1, 'one'), (2, 'two');"
                  "GRANT SELECT ON shape TO 'fcgi_app'@'%';")
        inst = STACK.web_start("shape", settings={"table": "shape", "workers": 1})
        self.assertEqual(Page(inst.get("/").text()).headers, ["id", "a"])
        STACK.sql("ALTER TABLE shape ADD COLUMN b INT NULL DEFAULT 7;")
        r = inst.get("/")
        self.assertEqual(r.status, 200)
        page = Page(r.text())
        self.assertEqual(page.headers, ["id", "a", "b"])
        self.assertEqual(page.rows, [["1", "one", "7"], ["2", "two", "7"]])
        STACK.sql("ALTER TABLE shape DROP COLUMN a;")
        r = inst.get("/?format=json")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["rows"], [{"id": 1, "b": 7}, {"id": 2, "b": 7}])


class FailurePartWay(unittest.TestCase):
    """The database fails part-way through a page's rows: its statement
    limit stops the query at row `stop` of a view whose rows take a
    second each from there on."""

    @classmethod
    def setUpClass(cls):
        rows = ",".join("(%d, REPEAT('v', 1000))" % i for i in range(1, 41))
        STACK.sql("CREATE TABLE partway (id INT PRIMARY KEY, v TEXT);"
                  "INSERT INTO partway VALUES %s;"
                  "CREATE VIEW partway_early AS SELECT id, v, "
                  "IF(id >= 3, SLEEP(1), 0) AS s FROM partway;"
                  "CREATE VIEW partway_late AS SELECT id, v, "
                  "IF(id >= 30, SLEEP(1), 0) AS s FROM partway;"
                  "GRANT SELECT ON partway_early TO 'fcgi_app'@'%%';"
                  "GRANT SELECT ON partway_late TO 'fcgi_app'@'%%';" % rows)

    def start(self, table):
        return STACK.web_start(table, settings={
            "table": table, "workers": 1, "read-timeout": 1,
            "reconnect-delay-ms": 0})

    def test_nothing_sent_yet_gives_a_clean_503(self):
        """Rows 1 and 2 are in the buffer when row 3 fails: the answer
        is the 503 error page, not a 200 cut short."""
        inst = self.start("partway_early")
        r = inst.get("/?limit=10")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("retry-after"), "1")
        page = Page(r.text())
        self.assertEqual(page.rows, [])
        self.assertIn("database is unavailable", page.ids["error"])
        r = inst.get("/?format=json&limit=10")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["status"], 503)
        self.assertIn("unavailable", r.json()["error"])
        # the failure was the database's, and it was logged
        self.assertIn(STACK.timeout_message, inst.log())
        # the connection is still good: a page that stops before the
        # slow rows (limit 1 reads rows 1 and 2) is served on it
        r = inst.get("/?limit=1")
        self.assertEqual(r.status, 200)
        self.assertEqual([row[0] for row in Page(r.text()).rows], ["1"])
        self.assertNotIn("database connection lost", inst.log())

    def test_a_page_longer_than_the_buffer_still_gets_a_clean_503(self):
        """29 rows of 1 KiB are more than the 16 KiB buffer; the rows are
        read whole before the page is written, so when row 30 fails
        nothing has gone out, and the answer is the 503 error page, not
        a 200 cut short (test_truth.py has the curl side)."""
        inst = self.start("partway_late")
        r = inst.get("/?limit=40")
        self.assertEqual(r.status, 503)
        page = Page(r.text())
        self.assertEqual(page.rows, [])
        self.assertIn("database is unavailable", page.ids["error"])
        r = inst.get("/?format=json&limit=40")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["status"], 503)
        self.assertIn(STACK.timeout_message, inst.log())
        self.assertNotIn("a page failed after", inst.log())
        # and a page that stops before the slow rows is whole (limit 28
        # reads rows 1 to 29)
        r = inst.get("/?limit=28&format=json")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["count"], 28)


class JsonKeys(unittest.TestCase):
    """Column names as JSON keys on every row: ones that need escaping,
    more columns than the page holds keys for, and longer names than it
    has room for."""

    def check(self, table, names, values):
        inst = STACK.web_start(table, settings={"table": table, "workers": 1})
        doc = inst.get("/?format=json").json()
        self.assertEqual(doc["columns"], names)
        self.assertEqual([list(r.keys()) for r in doc["rows"]], [names] * len(values))
        self.assertEqual([list(r.values()) for r in doc["rows"]], values)
        self.assertEqual(Page(inst.get("/").text()).headers, names)

    def test_names_that_need_escaping(self):
        STACK.sql("CREATE TABLE oddnames (id INT PRIMARY KEY, `say \"hi\"` INT,"
                  " `back\\slash` CHAR(1), `서울 ☃` CHAR(2), plain CHAR(1));"
                  "INSERT INTO oddnames VALUES (1, 2, 'x', '가나', 'p'),"
                  " (2, NULL, NULL, NULL, NULL);"
                  "GRANT SELECT ON oddnames TO 'fcgi_app'@'%';")
        self.check("oddnames", ["id", 'say "hi"', "back\\slash", "서울 ☃", "plain"],
                   [[1, 2, "x", "가나", "p"], [2, None, None, None, None]])

    def test_many_columns_and_long_names(self):
        for table, names in (
                ("manycols", ["id"] + ["c%03d" % i for i in range(1, 80)]),
                ("longnames", ["id"] + [("n%02d_" % i) + "x" * 60 for i in range(1, 40)])):
            STACK.sql("CREATE TABLE %s (%s);"
                      "INSERT INTO %s VALUES (%s), (%s);"
                      "GRANT SELECT ON %s TO 'fcgi_app'@'%%';" % (
                          table, ", ".join("`%s` INT%s" % (n, " PRIMARY KEY" if n == "id" else "")
                                           for n in names),
                          table, ", ".join(str(i) for i in range(1, len(names) + 1)),
                          ", ".join(["2"] + ["NULL"] * (len(names) - 1)), table))
            self.check(table, names, [list(range(1, len(names) + 1)),
                                      [2] + [None] * (len(names) - 1)])


class ExtremeKeys(unittest.TestCase):
    def test_smallest_and_largest_keys_are_shown(self):
        STACK.sql("CREATE TABLE edges (id BIGINT PRIMARY KEY, v CHAR(3));"
                  "INSERT INTO edges VALUES (-9223372036854775808, 'min'), (-1, 'neg'),"
                  " (0, 'nil'), (9223372036854775807, 'max');"
                  "GRANT SELECT ON edges TO 'fcgi_app'@'%';")
        inst = STACK.web_start("edges", settings={"table": "edges", "workers": 1})
        doc = inst.get("/?format=json&limit=2").json()
        self.assertEqual([r["v"] for r in doc["rows"]], ["min", "neg"])
        self.assertEqual(doc["next"], "/?format=json&limit=2&after=-1")
        doc = inst.get(doc["next"]).json()
        self.assertEqual([r["v"] for r in doc["rows"]], ["nil", "max"])
        self.assertIsNone(doc["next"])
        doc = inst.get("/?format=json&after=9223372036854775806").json()
        # BIGINT is a string in JSON: a double would lose its digits
        self.assertEqual([r["id"] for r in doc["rows"]], ["9223372036854775807"])
        doc = inst.get("/?format=json&after=9223372036854775807").json()
        self.assertEqual((doc["rows"], doc["next"]), ([], None))
        self.assertEqual(doc["columns"], ["id", "v"])
        page = Page(inst.get("/?after=-9223372036854775808").text())
        self.assertEqual([r[1] for r in page.rows], ["neg", "nil", "max"])


class ValueText(unittest.TestCase):
    """Integers (ZEROFILL and YEAR padded to their width), dates and
    times at their edges read exactly as MariaDB itself prints them, in
    the HTML and the JSON.  Decimal, floating
    point and bit columns ride along: their text comes from the client
    library, and must stay as it is."""

    @classmethod
    def setUpClass(cls):
        STACK.sql("""
            CREATE TABLE vals (id INT NOT NULL PRIMARY KEY,
              ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
              mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
              bi BIGINT, bu BIGINT UNSIGNED, y YEAR,
              zi INT(8) UNSIGNED ZEROFILL, zs SMALLINT(3) ZEROFILL,
              d DATE, dt DATETIME, dt6 DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL,
              ts3 TIMESTAMP(3) NULL DEFAULT NULL, t TIME, t3 TIME(3), t6 TIME(6),
              dec4 DECIMAL(20,4), f FLOAT, dbl DOUBLE, b BIT(8));
            SET SESSION sql_mode = '';
            SET SESSION time_zone = '+00:00';
            INSERT INTO vals VALUES
              (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0,
               -9223372036854775808, 0, 1901, 0, 0,
               '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000',
               '1970-01-01 00:00:01', '1970-01-01 00:00:01.000',
               '-838:59:59', '-838:59:59.000', '-838:59:59.000000',
               -1234567890123456.7890, -1.5, -2.25, b'0'),
              (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
               9223372036854775807, 18446744073709551615, 2155, 4294967295, 65535,
               '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999',
               '2038-01-19 03:14:07', '2038-01-19 03:14:07.999',
               '838:59:59', '838:59:59.999', '838:59:59.999999',
               1234567890123456.7890, 3.5, 1e300, b'1111111'),
              (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000',
               '0000-00-00 00:00:00', '0000-00-00 00:00:00.000',
               '00:00:00', '00:00:00.000', '00:00:00.000000',
               0, 0, 0, b'1'),
              (4, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, 2000, 1, 1,
               '2024-02-29', '2024-02-29 09:08:07', '2024-03-01 09:00:00.000001',
               '2024-03-01 12:00:00', '2024-03-01 12:00:00.5',
               '100:00:00', '-00:00:00.001', '24:00:00.5',
               0.0001, 0.1, 0.1, b'1000001'),
              (5, 99, 100, 999, 1000, 99999, 100000, 999999999, 1000000000,
               999999999999999999, 10000000000000000000, 1970, 12345, 7,
               '2024-00-00', '2024-01-02 03:04:05', '2024-01-02 03:04:05.120000',
               '2024-01-02 03:04:05', '2024-01-02 03:04:05.020',
               '-12:00:00', '12:34:56.7', '-00:00:01.000010',
               -0.5, 123456, 1234567.125, b'1010'),
              (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
            GRANT SELECT ON vals TO 'fcgi_app'@'%';
        """)
        cls.web = STACK.web_start("vals", settings={"table": "vals", "workers": 1})
        cls.cols, cls.rows = STACK.table("vals")

    def test_html_text_is_mariadbs(self):
        page = Page(self.web.get("/").text())
        self.assertEqual(page.headers, self.cols)
        self.assertEqual(len(page.rows), 6)
        for got, want in zip(page.rows, self.rows):
            self.assertEqual(dict(zip(self.cols, got)),
                             dict(zip(self.cols, (as_shown_in_html(v) for v in want))))

    # the columns whose values are JSON numbers (docs/service.md); YEAR
    # loses its display zeros there, BIGINT, wide DECIMAL and ZEROFILL
    # are strings of MariaDB's text
    NUMBERS = {"id", "ti", "tu", "si", "su", "mi", "mu", "i", "iu", "y", "f", "dbl"}

    def test_json_text_is_mariadbs(self):
        body = self.web.get("/?format=json").text()
        # numbers keep their text: compare digits, not values
        doc = json.loads(body, parse_int=lambda t: ("n", t), parse_float=lambda t: ("n", t))
        self.assertEqual(doc["columns"], self.cols)
        self.assertEqual([list(r.keys()) for r in doc["rows"]], [self.cols] * 6)
        for got, want in zip(doc["rows"], self.rows):
            for c, w in zip(self.cols, want):
                if w is None:
                    self.assertIsNone(got[c], c)
                elif c in self.NUMBERS:
                    self.assertEqual(got[c], ("n", str(int(w)) if c == "y" else w), c)
                else:
                    self.assertEqual(got[c], w, c)


class LongValues(unittest.TestCase):
    """A second table with values far longer than one read, bytes that
    are not UTF-8, and more rows than one page holds."""

    @classmethod
    def setUpClass(cls):
        STACK.sql("""
            CREATE TABLE wide (id BIGINT NOT NULL PRIMARY KEY,
                               body MEDIUMTEXT NULL, raw VARBINARY(64) NULL)
              DEFAULT CHARSET = utf8mb4;
            INSERT INTO wide VALUES
              (1, REPEAT('가나다🚀', 20000), UNHEX('FF00C0AF41')),
              (2, NULL, NULL);
            SET SESSION max_recursive_iterations = 10000;
            INSERT INTO wide (id, body)
              WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500)
              SELECT n + 10, CONCAT('row ', n) FROM s;
            GRANT SELECT ON wide TO 'fcgi_app'@'%';
        """)
        cls.web = STACK.web_start("wide", settings={"table": "wide", "workers": 2})

    def test_long_value_whole(self):
        want = "가나다🚀" * 20000
        page = Page(self.web.get("/?limit=2").text())
        self.assertEqual(page.headers, ["id", "body", "raw"])
        self.assertEqual(page.rows[0][1], want)
        self.assertIsNone(page.rows[1][1])
        doc = self.web.get("/?format=json&limit=2").json()
        self.assertEqual(doc["rows"][0]["body"], want)

    def test_a_page_past_one_buffer_streams_chunked(self):
        """A page longer than the program's 16 KiB buffer leaves before
        its end is known: chunked, with no Content-Length, and whole."""
        r = self.web.get("/?limit=2")
        self.assertEqual(r.status, 200)
        self.assertGreater(len(r.body), 16384)
        self.assertIsNone(r.header("content-length"))
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertEqual(Page(r.text()).rows[0][0], "1")

    def test_invalid_utf8_replaced(self):
        raw = bytes.fromhex("FF00C0AF41").decode("utf-8", errors="replace")
        page = Page(self.web.get("/?limit=1").body.decode("utf-8"))
        self.assertEqual(page.rows[0][2], as_shown_in_html(raw))
        doc = self.web.get("/?format=json&limit=1").json()
        self.assertEqual(doc["rows"][0]["raw"], raw)

    def test_answers_nobody_reads_do_not_stop_the_service(self):
        """More clients than workers ask for the long row and never read
        it: each answer stalls its worker for response-write-timeout,
        and the page through nginx is still served."""
        inst = STACK.web_start("wstall", settings={
            "table": "wide", "workers": 1, "response-write-timeout": 1})
        req = fcgi_request({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/",
                            "QUERY_STRING": "limit=2"})
        held = stalled_connections(inst, 3, req)
        try:
            r = inst.get("/?limit=1", timeout=30)
            self.assertEqual(r.status, 200)
            self.assertEqual(Page(r.text()).rows[0][0], "1")
            # the page may come first (nginx sends it on a kept connection,
            # which the worker serves before new ones): the stalled answers
            # still stall, while their clients stay
            wait_until(lambda: inst.log().count("an answer stalled") >= 3, 15)
        finally:
            lines = log_lines_after(inst, held, "an answer stalled for 1 s "
                                    "(response-write-timeout); connection closed", 3)
        self.assertEqual(lines, 3)
        STACK.web_stop(inst)

    def test_pages_of_a_thousand(self):
        url, ids = "/?format=json&limit=1000", []
        while url:
            doc = self.web.get(url).json()
            ids += [r["id"] for r in doc["rows"]]
            url = doc["next"]
        # a BIGINT key is a JSON string (docs/service.md, JSON types)
        self.assertEqual(ids, [str(i) for i in [1, 2] + list(range(11, 2511))])


def wait_for_process(state, user, seconds=10):
    """Waits until the database shows a session of user in state (LIKE)."""
    return dbsession.wait_for(STACK, seconds, user=user, state=state)


class KeptConnections(unittest.TestCase):
    """FastCGI connections that nginx keeps: several requests on one, and
    idle kept connections never keep a worker from new ones."""
    PAGE = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/", "QUERY_STRING": "format=json"}

    def connect(self, inst):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(os.path.join(inst.state, "fcgi-app.sock"))
        self.addCleanup(s.close)
        return s

    def assert_page(self, s, keep=True):
        s.sendall(fcgi_request(keep=True, params=self.PAGE) if keep else fcgi_request(self.PAGE))
        head, _, body = fcgi_read_response(s).partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 200 OK"), head)
        self.assertEqual(len(json.loads(body)["rows"]), 10)

    def test_requests_follow_each_other_on_one_connection(self):
        s = self.connect(WEB)
        for _ in range(3):
            self.assert_page(s)
        # still open: no end of file, only nothing more to read
        s.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            s.recv(1)

    def test_idle_kept_connections_pin_no_worker(self):
        """Two workers and five idle kept connections: a new connection is
        still served, and so is the next request on each kept one."""
        inst = STACK.web_start("kept", settings={"workers": 2})
        kept = [self.connect(inst) for _ in range(5)]
        for s in kept:
            self.assert_page(s)
        self.assert_page(self.connect(inst), keep=False)
        for s in reversed(kept):
            self.assert_page(s)


class StartAndStop(unittest.TestCase):
    def assert_gone(self, pids, seconds=10):
        """Every process in pids exits within seconds."""
        wait_gone(pids, seconds)
        for p in pids:
            self.assertFalse(os.path.exists("/proc/%d" % p), p)

    def test_sigterm_finishes_the_request_in_flight(self):
        inst = STACK.web_start("term", settings={"workers": 2})
        master, workers = inst.master_pid(), inst.worker_pids()
        # hold a lock so that the next page waits inside a worker
        hold = threading.Thread(target=STACK.sql, args=(
            "LOCK TABLES demo WRITE; SELECT SLEEP(3); UNLOCK TABLES;",))
        hold.start()
        self.assertTrue(wait_for_process("User sleep", pwd.getpwuid(os.getuid()).pw_name))
        answer = {}
        req = threading.Thread(target=lambda: answer.update(r=inst.get("/")))
        req.start()
        self.assertTrue(wait_for_process("Waiting for table%", "fcgi_app"))
        self.assertTrue(req.is_alive())  # waiting on the lock
        os.kill(master, signal.SIGTERM)
        req.join(20)
        hold.join(20)
        self.assertEqual(answer["r"].status, 200)
        self.assertEqual(len(Page(answer["r"].text()).rows), 10)
        self.assert_gone([master] + workers)
        log = inst.log()
        self.assertIn("stopping: letting 2 workers finish", log)
        self.assertIn("all workers stopped; exiting", log)
        self.assertNotIn("killed by signal", log)
        self.assertNotIn("exited with status", log)

    def test_sigterm_while_a_request_is_being_read(self):
        """A stop signal that lands while a worker reads a request must
        neither drop that request nor leave the worker behind."""
        inst = STACK.web_start("term2", settings={"workers": 2})
        master, workers = inst.master_pid(), inst.worker_pids()
        s = inst.fcgi_socket()
        time.sleep(0.3)  # a worker has accepted and waits for the request
        os.kill(master, signal.SIGTERM)
        time.sleep(0.3)
        s.sendall(fcgi_request({"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/",
                                "QUERY_STRING": "format=json"}))
        out = fcgi_read_response(s)
        s.close()
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 200 OK"), head)
        self.assertEqual(len(json.loads(body)["rows"]), 10)
        self.assert_gone([master] + workers)
        self.assertIn("all workers stopped; exiting", inst.log())

    def test_sigterm_drains_first_and_sigint_skips_the_drain(self):
        inst = STACK.web_start("drain", settings={"workers": 2, "drain-seconds": 3})
        master, workers = inst.master_pid(), inst.worker_pids()
        t = time.monotonic()
        os.kill(master, signal.SIGTERM)
        time.sleep(0.3)
        # out of service for the balancer, still serving pages
        for probe in ("/healthz", "/readyz"):
            r = inst.get(probe)
            self.assertEqual((r.status, r.text()), (503, "stopping\n"), probe)
        self.assertEqual(len(Page(inst.get("/").text()).rows), 10)
        self.assertEqual(inst.worker_pids(), workers)
        self.assert_gone([master] + workers, 10)
        self.assertGreaterEqual(time.monotonic() - t, 3)
        self.assertIn("stopping in 3000 ms", inst.log())
        # SIGINT stops at once
        inst = STACK.web_start("drain2", settings={"workers": 2, "drain-seconds": 30})
        master, workers = inst.master_pid(), inst.worker_pids()
        t = time.monotonic()
        os.kill(master, signal.SIGINT)
        self.assert_gone([master] + workers, 10)
        self.assertLess(time.monotonic() - t, 5)
        self.assertNotIn("stopping in", inst.log())

    def test_failed_start_leaves_nothing_running(self):
        """A program that never answers /healthz: web.sh start fails, and
        stops the program and nginx it started instead of leaving them."""
        state = os.path.join(STACK.dir, "deaf")
        os.makedirs(state, exist_ok=True)
        os.chmod(state, 0o711)
        fake = os.path.join(state, "deaf-app")
        with open(fake, "w") as f:
            # passes the config check, then waits without serving; a
            # background job starts with SIGINT ignored, so take it back
            f.write("#!/usr/bin/python3\nimport signal, sys, time\n"
                    "if sys.argv[1:2] == ['-t']:\n    sys.exit(0)\n"
                    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
                    "time.sleep(300)\n")
        os.chmod(fake, 0o755)
        with self.assertRaises(RuntimeError) as failed:
            STACK.web_start("deaf", binary=fake)
        self.assertIn("no answer", str(failed.exception))
        self.assertEqual(pids_by_cmdline(lambda c: state.encode() in c), [])

    def test_never_serves_as_root(self):
        """Started as root, the program refuses to start, unless
        run-as-user names the user to switch to; then the master and
        its workers run as that user."""
        if os.getuid() != 0:
            self.skipTest("needs root, as make test runs")
        from lib.localstack import BINARY
        cnf = os.path.join(STACK.db_state, "fcgi-app.cnf")
        switched = os.path.join(STACK.dir, "switch.cnf")
        with open(cnf) as f:
            text = f.read()
        with open(switched, "w") as f:  # [fcgi-app] is the file's last group
            f.write(text.rstrip("\n") + "\nrun-as-user = nobody\nworkers = 1\n")
        os.chmod(switched, 0o600)
        path = os.path.join(STACK.dir, "root.sock")
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path)
            listener.listen(8)
            p = subprocess.run([BINARY, "-c", cnf], stdin=listener.fileno(),
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stderr.strip().splitlines()[-1],
                             "fcgi-app: refusing to run as root: set run-as-user in "
                             "[fcgi-app], or start it as its own user (systemd User=, "
                             "spawn-fcgi -u)")
            master = subprocess.Popen([BINARY, "-c", switched], stdin=listener.fileno(),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(20)
                    s.connect(path)
                    s.sendall(fcgi_request({"REQUEST_METHOD": "GET",
                                            "SCRIPT_NAME": "/healthz"}))
                    out = fcgi_read_response(s)
                self.assertTrue(out.startswith(b"Status: 200 OK"), out)
                nobody = pwd.getpwnam("nobody").pw_uid
                pids = [master.pid] + children_of(master.pid)
                self.assertGreaterEqual(len(pids), 2)
                for pid in pids:
                    self.assertEqual(uids_of(pid), [nobody] * 4, pid)
            finally:
                master.terminate()
                master.wait(20)

    def test_config_errors_stop_the_start(self):
        from lib.localstack import BINARY
        bad = os.path.join(STACK.dir, "bad.cnf")
        with open(bad, "w") as f:
            f.write("[client]\nuser = x\n\n[fcgi-app]\ntable = demo\nworkrs = 2\n")
        p = subprocess.run([BINARY, "-c", bad], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip().splitlines()[-1], "fcgi-app: %s:6: unknown "
                         "setting 'workrs' in [fcgi-app]" % bad)
        missing = os.path.join(STACK.dir, "none.cnf")
        p = subprocess.run([BINARY, "-c", missing], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s: cannot open: No such file or directory" % missing, p.stderr)
        # a good config, but not started by spawn-fcgi
        good = os.path.join(STACK.db_state, "fcgi-app.cnf")
        p = subprocess.run([BINARY, "-c", good], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("start it with spawn-fcgi", p.stderr)

    def test_require_tls_refuses_plaintext(self):
        inst = STACK.web_start("tls", settings={"require-tls": "on", "workers": 1},
                               client=STACK.plaintext_client())
        r = inst.get("/")
        self.assertEqual(r.status, 503)
        self.assertEqual(inst.get("/readyz").status, 503)
        self.assertIn("database unreachable", inst.log())
        self.assertRegex(inst.log(), "(?i)ssl|tls")
