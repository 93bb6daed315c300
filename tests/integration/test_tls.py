"""TLS to the database, as on RDS: MariaDB on a loopback TCP port with a
certificate from a CA this test makes, and the program with
require-tls = on and that CA as ssl-ca.  A verified connection serves;
a certificate from another CA, a certificate for another name, and a
server without TLS are each refused, with a log line that says why.  So
is a [client] group that undoes what [fcgi-app] set (the client library
reads it inside mysql_real_connect, after the program's own options):
the program reads each option back once connected."""
import os
import unittest

from lib.localstack import Stack
from lib.page import Page
from lib.proc import free_port
from lib.tls import make_ca, make_server

STACK = None
PORT = None
CERTS = None


def setUpModule():
    global STACK, PORT, CERTS
    STACK = Stack()
    PORT = free_port()
    CERTS = os.path.join(STACK.dir, "certs")
    make_ca(os.path.join(CERTS, "ca"))
    make_ca(os.path.join(CERTS, "other-ca"), "another CA")
    make_server(os.path.join(CERTS, "good"), os.path.join(CERTS, "ca"))
    make_server(os.path.join(CERTS, "foreign"), os.path.join(CERTS, "other-ca"))
    make_server(os.path.join(CERTS, "wrong-name"), os.path.join(CERTS, "ca"),
                san="DNS:db.elsewhere.example")
    try:
        db_restart("good")
        STACK.db_load()
    except Exception:
        STACK.down()
        raise


def tearDownModule():
    STACK.down()


def db_restart(certs):
    """The database on 127.0.0.1:PORT with the server certificate in
    CERTS/certs, or without TLS when certs is None."""
    STACK.db_stop()
    os.environ["DB_PORT"] = str(PORT)
    if certs:
        os.environ["DB_TLS_DIR"] = os.path.join(CERTS, certs)
    try:
        STACK.db_start()
    finally:
        os.environ.pop("DB_PORT")
        os.environ.pop("DB_TLS_DIR", None)


def ssl_accepts():
    out = STACK.sql("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                    "WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS';")
    return int(out.split("\n")[1])


def web(name, client=None, settings=None):
    """The program over TCP with TLS required, trusting only our CA;
    client adds to or replaces its [client] options, settings its
    [fcgi-app] ones."""
    return STACK.web_start(name, settings=dict({"workers": 1, "require-tls": "on"},
                                               **(settings or {})), client=dict({
        "host": "127.0.0.1", "port": PORT,
        "ssl-ca": os.path.join(CERTS, "ca", "ca.pem")}, **(client or {})))


class Tls(unittest.TestCase):
    def refused(self, inst, why):
        """Every page and the readiness probe get 503; the log names the
        reason once, and no connection was ever made."""
        for path in ("/", "/?format=json", "/readyz"):
            self.assertEqual(inst.get(path).status, 503, path)
        log = inst.log()
        print(log.strip().splitlines()[-1])
        self.assertEqual(log.count("database unreachable"), 1)
        self.assertRegex(log, why)
        self.assertNotIn("database connection restored", log)

    def test_1_verified_connection_serves(self):
        db_restart("good")
        before = ssl_accepts()
        inst = web("verified")
        page = Page(inst.get("/").text())
        self.assertEqual(len(page.rows), 10)
        self.assertEqual(inst.get("/readyz").status, 200)
        # the server saw the program's TLS handshake
        self.assertGreater(ssl_accepts(), before)

    def test_2_certificate_from_another_ca_is_refused(self):
        db_restart("foreign")
        self.refused(web("foreign-ca"), "TLS/SSL error: (self-signed certificate in "
                                        "certificate chain|unable to get local issuer)")

    def test_3_certificate_for_another_name_is_refused(self):
        db_restart("wrong-name")
        self.refused(web("wrong-name"), "Validation of SSL server certificate failed")

    def test_4_plaintext_server_is_refused(self):
        db_restart(None)
        self.refused(web("plaintext"), "SSL is required, but the server does not support it")

    def test_5_back_on_a_good_certificate_it_serves(self):
        """The same settings that were refused above are the ones that
        serve: the refusals came from the certificates alone."""
        db_restart("good")
        inst = web("good-again")
        self.assertEqual(len(Page(inst.get("/").text()).rows), 10)


class ClientGroupCannotUndoTls(unittest.TestCase):
    """Each [client] option that would override [fcgi-app]: the worker's
    first connect is refused, and until reconnect-delay-ms has passed (a
    minute here) the pages get 500, a setup failure that no retry mends,
    and the probe 503; the log names the option, once."""

    @classmethod
    def setUpClass(cls):
        db_restart("good")

    def refused(self, name, option, value):
        inst = web(name, client={option: value}, settings={"reconnect-delay-ms": 60000})
        for path in ("/", "/?format=json", "/"):
            r = inst.get(path)
            self.assertEqual(r.status, 500, path)
            self.assertIsNone(r.header("retry-after"))
        self.assertEqual(inst.get("/readyz").status, 503)
        log = inst.log()
        self.assertEqual(log.count("refusing the database connection: [client] %s "
                                   "overrides what [fcgi-app] sets" % option), 1)
        self.assertNotIn("database connection restored", log)
        STACK.web_stop(inst)

    def test_ssl_verify_server_cert_off(self):
        self.refused("no-verify", "ssl-verify-server-cert", "0")

    def test_ssl_enforce_off_cannot_turn_tls_off(self):
        """Connector/C turns TLS back on at the handshake while ssl-ca is
        set, and reads the option back as on: the page is served, over a
        verified TLS connection."""
        before = ssl_accepts()
        inst = web("no-enforce", client={"ssl-enforce": "0"})
        self.assertEqual(len(Page(inst.get("/").text()).rows), 10)
        self.assertGreater(ssl_accepts(), before)
        self.assertNotIn("refusing", inst.log())

    def test_connect_timeout(self):
        self.refused("connect-timeout", "connect-timeout", "60")

    def test_reconnect(self):
        self.refused("reconnect", "reconnect", "1")

    def test_init_command(self):
        self.refused("init-command", "init-command", "SET SESSION max_statement_time = 0")

    def test_the_same_values_serve(self):
        """[client] values equal to what the program sets are no override."""
        inst = web("same", client={"ssl-verify-server-cert": "1", "ssl-enforce": "1",
                                   "connect-timeout": "2", "reconnect": "0"})
        self.assertEqual(len(Page(inst.get("/").text()).rows), 10)


if __name__ == "__main__":
    unittest.main()
