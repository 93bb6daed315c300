"""Hostile requests through nginx (corpus.py): each gets the answer the
corpus expects, a 4xx or a whole page, never a 5xx; the program's own
answers parse; no worker dies or changes, and nginx logs no upstream
failure.  Prints the README's table."""
import os
import random
import unittest

from corpus import CASES
from lib.localstack import Stack
from lib.page import Page
from lib.rawhttp import exchange

STACK = None
WEB = None


def setUpModule():
    global STACK, WEB
    STACK = Stack()
    STACK.up()
    try:
        WEB = STACK.web_start("bad", settings={"workers": 4})
    except Exception:
        STACK.down()
        raise


def tearDownModule():
    STACK.down()  # fails on any sanitizer report


def processes():
    """fcgi-app's master and workers, and nginx's master."""
    with open(os.path.join(WEB.state, "nginx.pid")) as f:
        nginx = int(f.read())
    return [WEB.master_pid()] + WEB.worker_pids() + [nginx]


def by_app(reply):
    # every answer of the program carries these; nginx's own pages do not
    return (reply.headers.get("x-content-type-options") == "nosniff" and
            reply.headers.get("cache-control") == "no-store")


class Corpus(unittest.TestCase):
    def check_app_answer(self, reply, what):
        """The program's answer is whole: a page with the table, or an
        error document that names the status."""
        ctype = reply.headers.get("content-type", "")
        text = reply.body.decode("utf-8")
        if reply.status == 200:
            self.assertEqual(len(Page(text).rows), 10, what)
        elif ctype.startswith("application/json"):
            import json
            self.assertEqual(json.loads(text)["status"], reply.status, what)
        else:
            self.assertTrue(ctype.startswith("text/html"), what)
            self.assertTrue(Page(text).ids["error"], what)

    def test_corpus(self):
        before = processes()
        rows = []
        for group, what, request, status, by in CASES:
            with self.subTest(what=what):
                replies, rest = exchange(WEB.port, request)
                if status is None:  # HTTP/0.9: the page's bytes, no head
                    self.assertEqual(replies, [])
                    self.assertEqual(len(Page(rest.decode("utf-8")).rows), 10)
                    got = "page without a status line (HTTP/0.9)"
                else:
                    self.assertEqual(len(replies), 1, what)
                    r = replies[0]
                    self.assertEqual(r.status, status, what)
                    self.assertEqual("app" if by_app(r) else "nginx", by, what)
                    if by == "app":
                        self.check_app_answer(r, what)
                    got = "%d (%s)" % (r.status, "fcgi-app" if by == "app" else "nginx")
                rows.append((group, what, len(request), got))
        self.assertEqual(processes(), before)
        print("\n| input | request | bytes | answer |\n|---|---|---:|---|")
        for group, what, n, got in rows:
            print("| %s | %s | %d | %s |" % (group, what, n, got))

    def test_pipelined(self):
        """Three requests in one write, a 400 among them: three answers,
        in order, on one connection."""
        data = (b"GET /?format=json HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET /?limit=x HTTP/1.1\r\nHost: t\r\n\r\n"
                b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        replies, _ = exchange(WEB.port, data, expect=4, heads=(2,))
        self.assertEqual([r.status for r in replies], [200, 400, 200, 200])
        self.assertEqual(len(__import__("json").loads(replies[0].body)["rows"]), 10)
        self.assertEqual(replies[2].body, b"")
        self.assertEqual(len(Page(replies[3].body.decode()).rows), 10)

    def test_pipelined_after_a_request_nginx_rejects(self):
        """nginx answers the bad request and closes: nothing after it is
        served by mistake."""
        data = (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                b"get / HTTP/1.1\r\nHost: t\r\n\r\n"
                b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        replies, rest = exchange(WEB.port, data, expect=3)
        self.assertEqual([r.status for r in replies], [200, 400])
        self.assertEqual(rest, b"")

    def test_random_query_strings(self):
        """1,000 query strings made of the parser's own pieces, seeded:
        each gets 200 or 400 from the program."""
        rng = random.Random(20261125)
        names = ["limit", "after", "format", "lim%69t", "LIMIT", "", "x"]
        values = ["json", "html", "0", "1", "10", "1000", "1001", "-1", "9" * 20, "",
                  "%31", "%00", "%ff", "%C3%A9", "j%73on", "1+1", "\u00e9", "0x10"]
        junk = ["=", "&", "%", "%2", "%26", "%3D", "%00", " ", ";", "#", "?", "/", "\\"]

        def query():
            q = "&".join(rng.choice(names) + "=" + rng.choice(values)
                         for _ in range(rng.randint(1, 3)))
            for _ in range(rng.choice((0, 0, 1, 2))):  # then break it a little
                at = rng.randint(0, len(q))
                q = q[:at] + rng.choice(junk) + q[at:]
            return q
        before = processes()
        seen = {}
        for _ in range(1000):
            qs = query()
            raw = qs.encode("utf-8").replace(b" ", b"%20").replace(b"#", b"%23")
            replies, _ = exchange(WEB.port, get(raw))
            self.assertEqual(len(replies), 1, raw)
            r = replies[0]
            self.assertIn(r.status, (200, 400), raw)
            self.assertTrue(by_app(r), raw)
            seen[r.status] = seen.get(r.status, 0) + 1
        print("random query strings: %s" % dict(sorted(seen.items())))
        self.assertEqual(processes(), before)
        self.assertGreater(seen.get(200, 0), 10)
        self.assertGreater(seen.get(400, 0), 100)

    def test_z_logs_clean(self):
        """Runs last (by name): nothing above broke a worker."""
        log = WEB.log()
        self.assertNotIn("killed by signal", log)
        self.assertNotIn("exited with status", log)
        with open(os.path.join(WEB.state, "nginx-error.log")) as f:
            err = f.read()
        for bad in ("upstream prematurely closed", "connect() to unix", "recv() failed",
                    "while reading response header from upstream"):
            self.assertNotIn(bad, err)


def get(target):
    return b"GET /?" + target + b" HTTP/1.1\r\nHost: t\r\n\r\n"


if __name__ == "__main__":
    unittest.main()
