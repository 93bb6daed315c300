"""fcgi-app behind every FastCGI server Debian ships: Apache 2.4
(mod_proxy_fcgi), lighttpd 1.4 (mod_fastcgi), Caddy 2.6 (transport
fastcgi), h2o 2.2 (fastcgi.connect) and nginx, each at the root and with
the program mounted below /table/ (its [fcgi-app] mount).  Each server
runs from its configuration in tests/interop/conf/ (lib/frontend.py).
Every answer is compared, parsed, with the one nginx's production site
gives at the root."""
import os
import threading
import time
import unittest

from lib.frontend import NAMES, Frontend
from lib.localstack import Instance, Stack
from lib.page import Page, as_shown_in_html

MOUNTS = {"root": "/", "table": "/table/"}
LOAD_CLIENTS = 4
LOAD_REQUESTS = 50   # each client's: 200 pages in all
LOAD_SECONDS = 30    # the bound on the whole run

STACK = None
NGINX = None         # the production site at the root: the reference
INSTANCES = {}       # mount -> the instance serving it
WORKERS = {}         # mount -> its worker pids at the start


def setUpModule():
    global STACK, NGINX
    STACK = Stack()
    STACK.up()
    try:
        NGINX = STACK.web_start("root")
        INSTANCES["/"] = NGINX
        INSTANCES["/table/"] = STACK.web_start("table", settings={"mount": "/table/"})
        for mount, inst in INSTANCES.items():
            WORKERS[mount] = inst.worker_pids()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    if STACK is not None:
        STACK.down()  # fails on any sanitizer report


class Behind:
    """The checks, for one server at one mount (the subclasses below)."""
    SERVER = MOUNT = None

    @classmethod
    def setUpClass(cls):
        sock = os.path.join(INSTANCES[cls.MOUNT].state, "fcgi-app.sock")
        cls.front = Frontend(cls.SERVER, sock, cls.MOUNT).start()
        cls.http = Instance(cls.front.dir, cls.front.port)

    @classmethod
    def tearDownClass(cls):
        cls.front.stop()

    def get(self, rest="", **kw):
        return self.http.request(self.MOUNT + rest, **kw)

    def test_html_rows_as_nginx_shows_them(self):
        cols, table = STACK.table("demo")
        want = Page(NGINX.get("/").text())
        r = self.get()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        page = Page(r.text())
        self.assertEqual(page.headers, want.headers)
        self.assertEqual(page.rows, want.rows)
        self.assertEqual(page.rows, [[as_shown_in_html(v) for v in row] for row in table])
        self.assertEqual(page.ids["count"], want.ids["count"])

    def test_json_as_nginx_gives_it(self):
        want = NGINX.get("/?format=json").json()
        doc = self.get("?format=json").json()
        for k in ("table", "columns", "rows", "count", "limit", "next"):
            self.assertEqual(doc[k], want[k], k)

    def test_links_keep_the_mount(self):
        cols, table = STACK.table("demo")
        url, rows, pages = self.MOUNT + "?limit=3", [], 0
        while url:
            self.assertTrue(url.startswith(self.MOUNT + "?"), url)
            page = Page(self.http.request(url).text())
            rows += page.rows
            pages += 1
            if pages > 1:
                self.assertEqual(page.links["first"], self.MOUNT + "?limit=3")
            url = page.links.get("next")
            self.assertLess(pages, 20)
        self.assertEqual(pages, 4)
        self.assertEqual(rows, [[as_shown_in_html(v) for v in row] for row in table])
        doc, ids = self.get("?format=json&limit=4").json(), []
        while True:
            ids += [r["id"] for r in doc["rows"]]
            if doc["next"] is None:
                break
            self.assertTrue(doc["next"].startswith(self.MOUNT + "?format=json&"))
            doc = self.http.request(doc["next"]).json()
        self.assertEqual(ids, list(range(1, 11)))

    def test_probes(self):
        for name, body in (("healthz", b"ok\n"), ("readyz", b"ready\n")):
            r = self.get(name)
            self.assertEqual((r.status, r.body), (200, body), name)

    def test_head(self):
        r = self.get(method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        self.assertEqual(r.body, b"")

    def test_400_404_405_as_nginx(self):
        for rest, method in (("?limit=abc", "GET"), ("?format=json&after=x", "GET"),
                             ("nope", "GET"), ("healthz/x", "GET"), ("", "POST"),
                             ("", "DELETE")):
            want = NGINX.request("/" + rest, method=method)
            r = self.get(rest, method=method)
            self.assertEqual(r.status, want.status, (rest, method))
            self.assertEqual(r.header("content-type"), want.header("content-type"))
            self.assertEqual(r.header("allow"), want.header("allow"))
            if want.header("content-type").startswith("application/json"):
                self.assertEqual(r.json(), want.json())
            else:
                self.assertEqual(Page(r.text()).ids, Page(want.text()).ids)

    def test_six_kilobytes_of_header_and_of_query(self):
        cols, table = STACK.table("demo")
        # a header value of 6 KiB reaches the program as a long parameter
        r = self.get("?format=json", headers={"X-Padding": "p" * 6144})
        self.assertEqual(r.status, 200)
        self.assertEqual([row["id"] for row in r.json()["rows"]],
                         [int(row[0]) for row in table])
        long_query = "limit=3&" + "&".join(["limit=3"] * 768)  # 6 KiB
        want = NGINX.get("/?" + long_query)
        r = self.get("?" + long_query)
        self.assertEqual((r.status, want.status), (400, 400))
        self.assertEqual(Page(r.text()).ids["error"], Page(want.text()).ids["error"])

    def test_short_load_without_errors(self):
        errors, done = [], []
        deadline = time.monotonic() + LOAD_SECONDS

        def client():
            for i in range(LOAD_REQUESTS):
                if time.monotonic() > deadline:
                    errors.append("out of time")
                    return
                try:
                    r = self.get("?format=json&limit=%d" % (i % 10 + 1), timeout=10)
                    if r.status != 200 or r.json()["count"] != i % 10 + 1:
                        errors.append(r.status)
                    else:
                        done.append(1)
                except Exception as e:  # every failure counts
                    errors.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(LOAD_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(LOAD_SECONDS + 15)
        self.assertEqual(errors, [])
        self.assertEqual(len(done), LOAD_CLIENTS * LOAD_REQUESTS)
        self.assertEqual(INSTANCES[self.MOUNT].worker_pids(), WORKERS[self.MOUNT])


# one class per server and mount: Apache_root, Apache_table, ...
for _server in NAMES:
    for _label, _mount in MOUNTS.items():
        _name = "%s_%s" % (_server.capitalize(), _label)
        globals()[_name] = type(_name, (Behind, unittest.TestCase),
                                {"SERVER": _server, "MOUNT": _mount})


class WorkersAtTheEnd(unittest.TestCase):
    """Runs last (by name): no request through any server ended a worker."""

    def test_every_worker_alive(self):
        for mount, inst in INSTANCES.items():
            self.assertEqual(inst.worker_pids(), WORKERS[mount], mount)
            self.assertEqual(inst.get(mount + "healthz").status, 200)
