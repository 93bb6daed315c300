"""The program against MySQL 8.4's authentication, as RDS runs it: the
stand-in of lib/mysql84.py in front of MariaDB, with TLS required.

A fresh process authenticates in full (caching_sha2_password's clear
password, over TLS), a reconnect after a killed connection or a database
restart by the fast path (the scramble against the server's cache); the
server's version sends the program down its MySQL branch (the statement
limit as max_execution_time, a timeout as error 3024 and a 503); a wrong
password is a 503 and a log line naming the refusal; and the program
never lets the full path run in plaintext."""
import unittest

from lib import dbsession
from lib.localstack import Stack
from lib.mysql84 import Proxy
from lib.page import Page
from lib.proc import wait_until

STACK = None


def setUpModule():
    global STACK
    STACK = Stack(mysql84=True)
    STACK.up()


def tearDownModule():
    STACK.down()


def web(case, name, settings=None, client=None):
    """An instance of one worker, stopped when the test ends."""
    inst = STACK.web_start(name, settings=dict({"workers": 1}, **(settings or {})),
                           client=client)
    case.addCleanup(STACK.web_stop, inst)
    return inst


def served(case, inst, path="/"):
    r = inst.get(path)
    case.assertEqual(r.status, 200, inst.log()[-2000:])
    case.assertEqual(len(Page(r.text()).rows), 10)


class Authentication(unittest.TestCase):
    def setUp(self):
        STACK.proxy.forget()  # each test starts with an empty cache

    def delta(self, before):
        after = STACK.proxy.snapshot()
        return {k: after[k] - before[k] for k in ("full_auth", "fast_auth", "tls", "denied")}

    def test_fresh_process_takes_full_authentication_over_tls(self):
        before = STACK.proxy.snapshot()
        inst = web(self, "fresh")
        served(self, inst)
        self.assertEqual(self.delta(before),
                         {"full_auth": 1, "fast_auth": 0, "tls": 1, "denied": 0})
        # the client's own caching_sha2_password plugin answered
        self.assertEqual(STACK.proxy.snapshot()["plugins"][-1], "caching_sha2_password")

    def test_reconnect_after_a_killed_connection_takes_fast_authentication(self):
        inst = web(self, "killed")
        served(self, inst)
        before = STACK.proxy.snapshot()
        sessions = dbsession.ids(STACK, "fcgi_app")
        self.assertGreaterEqual(len(sessions), 1)
        self.assertTrue(dbsession.kill(STACK, "fcgi_app", sessions))
        served(self, inst)
        self.assertEqual(self.delta(before),
                         {"full_auth": 0, "fast_auth": 1, "tls": 1, "denied": 0})
        # closed when the server closed it, before a page could take it
        self.assertIn("the database closed an idle connection", inst.log())
        self.assertNotIn("database connection lost", inst.log())

    def test_reconnect_after_a_database_restart_takes_fast_authentication(self):
        inst = web(self, "restart")
        served(self, inst)
        before = STACK.proxy.snapshot()
        STACK.db_stop()
        STACK.db_start()
        served(self, inst)
        self.assertEqual(self.delta(before),
                         {"full_auth": 0, "fast_auth": 1, "tls": 1, "denied": 0})
        # the stop closed the idle connection; the next page opened one
        self.assertIn("the database closed an idle connection", inst.log())
        self.assertNotIn("database connection lost", inst.log())

    def refused_password(self, name):
        before = STACK.proxy.snapshot()
        inst = web(self, name,
                   client={"password": "not-the-password-at-all"})
        for path in ("/", "/?format=json", "/readyz"):
            self.assertEqual(inst.get(path).status, 503, path)
        self.assertGreaterEqual(self.delta(before)["denied"], 1)
        self.assertRegex(inst.log(), r"database unreachable: Access denied for user "
                                     r"'fcgi_app'@'127\.0\.0\.1' \(using password: YES\)")
        self.assertEqual(self.delta(before)["full_auth"] + self.delta(before)["fast_auth"], 0)

    def test_wrong_password_on_the_full_path_gives_503(self):
        self.refused_password("wrong-full")

    def test_wrong_password_on_the_fast_path_gives_503(self):
        served(self, web(self, "right"))  # now cached
        self.refused_password("wrong-fast")


class MysqlBranch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rows = ",".join("(%d)" % i for i in range(1, 11))
        STACK.sql("CREATE TABLE slowrows (id INT PRIMARY KEY);"
                  "INSERT INTO slowrows VALUES %s;"
                  "CREATE VIEW slowview AS SELECT id, SLEEP(1) AS s FROM slowrows;"
                  "GRANT SELECT ON slowview TO 'fcgi_app'@'%%';" % rows)

    def test_statement_limit_is_max_execution_time(self):
        """The server says 8.4.3, so the program sets MySQL's limit, in
        milliseconds: half a second under read-timeout."""
        before = len(STACK.proxy.snapshot()["limits"])
        inst = web(self, "limit", settings={"read-timeout": 4})
        served(self, inst)
        self.assertEqual(STACK.proxy.snapshot()["limits"][before:], [3500])

    def test_query_timeout_3024_gives_503(self):
        before = STACK.proxy.snapshot()["timeouts"]
        inst = web(self, "slowview", settings={
            "table": "slowview", "read-timeout": 2,
            "reconnect-delay-ms": 0})
        r = inst.get("/?format=json")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["status"], 503)
        self.assertEqual(STACK.proxy.snapshot()["timeouts"], before + 1)
        self.assertIn("database too slow: " + STACK.timeout_message, inst.log())
        self.assertNotIn("database connection lost", inst.log())


class NoPlaintextPassword(unittest.TestCase):
    """A server that offers no TLS: with require-tls the program stops
    before authenticating, so the full path never runs in plaintext and
    the RSA key is never asked for."""

    @classmethod
    def setUpClass(cls):
        cls.plain = Proxy(("127.0.0.1", STACK.db_port), STACK.password_of)

    @classmethod
    def tearDownClass(cls):
        cls.plain.stop()

    def test_require_tls_stops_before_authentication(self):
        inst = web(self, "no-tls", client={"port": self.plain.port})
        self.assertEqual(inst.get("/").status, 503)
        self.assertRegex(inst.log(), "SSL is required, but the server does not support it")
        s = self.plain.snapshot()
        self.assertGreaterEqual(s["connections"], 1)
        self.assertEqual((s["full_auth"], s["fast_auth"], s["refused_plaintext"]), (0, 0, 0))

    def test_without_require_tls_the_stand_in_refuses_plaintext_full_authentication(self):
        """What the setting prevents: the stand-in, as MySQL, takes no
        clear password without TLS."""
        inst = web(self, "no-tls-allowed", settings={"require-tls": "off"},
                   client={"port": self.plain.port})
        self.assertEqual(inst.get("/").status, 503)
        self.assertTrue(wait_until(lambda: self.plain.snapshot()["refused_plaintext"] >= 1, 5))
        self.assertEqual(self.plain.snapshot()["full_auth"], 0)
        self.assertIn("database unreachable", inst.log())


if __name__ == "__main__":
    unittest.main()
