"""A local stack for tests, started by the project's own scripts.

MariaDB (scripts/db.sh), fcgi-app under spawn-fcgi and nginx
(scripts/web.sh) run in a temporary state folder on loopback ports.

With FCGI_APP_TEST_DB=mysql84 in the environment (or Stack(mysql84=True))
the program reaches MariaDB through the MySQL 8.4 stand-in
(lib/mysql84.py) over TLS, as it reaches RDS: MariaDB listens on a
loopback port, the stand-in in front of it speaks caching_sha2_password
with a certificate from a CA of the stack's own, and every instance gets
host, port and that CA in [client] and require-tls = on.
"""
import http.client
import json
import os
import re
import shutil
import socket
import tempfile

from . import SCRIPTS, TOP
from .mysql84 import QUERY_TIMEOUT_MESSAGE, Proxy
from .proc import children_of, free_port, pid_of, run
from .tls import make_ca, make_server

BINARY = os.environ.get("FCGI_APP_BIN", os.path.join(TOP, "build", "fcgi-app"))
# what AddressSanitizer, LeakSanitizer and UBSan write when they report
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

__all__ = ["BINARY", "Instance", "Response", "Stack", "free_port"]


class Stack:
    """One database and one or more web instances sharing it."""

    def __init__(self, mysql84=None):
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-test-")
        os.chmod(self.dir, 0o711)
        self.db_state = os.path.join(self.dir, "a")
        self.instances = []
        self.stopped = []  # instances web_stop took away
        if mysql84 is None:
            mysql84 = os.environ.get("FCGI_APP_TEST_DB") == "mysql84"
        self.mysql84 = mysql84
        self.proxy = None  # the MySQL 8.4 stand-in, once the database runs
        self.db_port = free_port() if mysql84 else None
        self.certs = os.path.join(self.dir, "certs")

    # --- database -------------------------------------------------------
    def db_start(self):
        env = {"DB_PORT": str(self.db_port)} if self.mysql84 else None
        run(os.path.join(SCRIPTS, "db.sh"), "start", self.db_state, env=env)
        if self.mysql84 and self.proxy is None:
            make_ca(os.path.join(self.certs, "ca"))
            make_server(os.path.join(self.certs, "server"), os.path.join(self.certs, "ca"))
            self.proxy = Proxy(("127.0.0.1", self.db_port), self.password_of,
                               os.path.join(self.certs, "server"))

    def password_of(self, user):
        """The app user's password as db.sh load set it, or None."""
        try:
            with open(os.path.join(self.db_state, "fcgi-app.cnf")) as f:
                text = f.read()
        except OSError:
            return None
        m = re.search(r"(?m)^user = (.*)$", text)
        pw = re.search(r"(?m)^password = (.*)$", text)
        return pw.group(1) if m and pw and m.group(1) == user else None

    @property
    def timeout_message(self):
        """The server's message when its statement time limit stops a
        query: MariaDB's, or MySQL's as the stand-in sends it."""
        if self.mysql84:
            return QUERY_TIMEOUT_MESSAGE
        return "Query execution was interrupted (max_statement_time exceeded)"

    def plaintext_client(self):
        """[client] options that reach the database without TLS: the
        socket, or MariaDB's own port past the stand-in."""
        return {"port": self.db_port} if self.mysql84 else {}

    def db_client(self):
        """[client] options that reach the database the stack's way: {}
        on the socket, or host, port and CA of the MySQL 8.4 stand-in."""
        if not self.mysql84:
            return {}
        return {"host": "127.0.0.1", "port": self.proxy.port,
                "ssl-ca": os.path.join(self.certs, "ca", "ca.pem")}

    def db_load(self):
        run(os.path.join(SCRIPTS, "db.sh"), "load", self.db_state)

    def db_stop(self):
        run(os.path.join(SCRIPTS, "db.sh"), "stop", self.db_state)

    def sql(self, text):
        """Runs SQL as the database admin; returns the rows, tab-separated."""
        return run(os.path.join(SCRIPTS, "db.sh"), "sql", self.db_state,
                   stdin="SET NAMES utf8mb4;\n" + text)

    def table(self, name, key="id"):
        """(columns, rows) of a table, read with the mysql client.

        Values travel as hex, so nothing in them can be mistaken for the
        client's own separators; NULL stays None.
        """
        cols = self.sql(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' "
            "ORDER BY ORDINAL_POSITION;" % name).split("\n")[1:-1]
        exprs = ", ".join("IFNULL(HEX(CAST(`%s` AS CHAR)), '-')" % c for c in cols)
        out = self.sql("SELECT %s FROM `%s` ORDER BY `%s`;" % (exprs, name, key))
        rows = []
        for line in out.split("\n")[1:-1]:
            rows.append(tuple(None if v == "-" else bytes.fromhex(v).decode("utf-8")
                              for v in line.split("\t")))
        return cols, rows

    # --- web instances --------------------------------------------------
    def web_start(self, name="a", settings=None, client=None, binary=BINARY):
        """Starts nginx + fcgi-app with the database's config, plus
        [fcgi-app] settings (a dict) that replace or add to it, and
        [client] options (a dict) that replace or add to that group's."""
        state = os.path.join(self.dir, name)
        os.makedirs(state, exist_ok=True)
        os.chmod(state, 0o711)
        cnf = os.path.join(state, "fcgi-app.cnf")
        src = os.path.join(self.db_state, "fcgi-app.cnf")
        if self.mysql84:
            client = dict(self.db_client(), **(client or {}))
            settings = dict({"require-tls": "on"}, **(settings or {}))
        if settings or client or cnf != src:
            with open(src) as f:
                text = f.read()
            for k, v in (client or {}).items():
                line = "%s = %s" % (k, v)
                text, n = re.subn(r"(?m)^%s = .*$" % re.escape(k), lambda m: line, text,
                                  count=1)
                if n == 0:  # at the end of [client], after what it holds
                    text = re.sub(r"(?ms)^(\[client\]\n.*?)(\n*(?=^\[)|\Z)",
                                  lambda m: m.group(1).rstrip("\n") + "\n" + line + "\n"
                                  + m.group(2), text, count=1)
            for k, v in (settings or {}).items():
                line = "%s = %s" % (k, v)
                text, n = re.subn(r"(?m)^%s = .*$" % re.escape(k), line, text)
                if n == 0:
                    text = text.rstrip("\n") + "\n" + line + "\n"
            with open(cnf + ".tmp", "w") as f:
                f.write(text)
            shutil.copymode(src, cnf + ".tmp")
            st = os.stat(src)
            os.chown(cnf + ".tmp", st.st_uid, st.st_gid)
            os.replace(cnf + ".tmp", cnf)
        port = free_port()
        # a program mounted below a prefix answers its probes there
        mount = (settings or {}).get("mount", "/")
        run(os.path.join(SCRIPTS, "web.sh"), "start", state, str(port), binary,
            env={"HEALTH_PATH": mount + "healthz"})
        inst = Instance(state, port)
        self.instances.append(inst)
        return inst

    def web_stop(self, inst):
        run(os.path.join(SCRIPTS, "web.sh"), "stop", inst.state)
        self.instances.remove(inst)
        self.stopped.append(inst)

    def stop(self):
        for inst in self.instances:
            try:
                run(os.path.join(SCRIPTS, "web.sh"), "stop", inst.state)
            except Exception as e:  # keep tearing down
                print("teardown:", e)
        try:
            self.db_stop()
        except Exception as e:
            print("teardown:", e)
        if self.proxy is not None:
            self.proxy.stop()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def up(self):
        """Starts the database and loads it; if that fails, tears down
        and raises."""
        try:
            self.db_start()
            self.db_load()
        except Exception:
            self.down()
            raise

    def down(self):
        """Stops everything and removes the state.  Raises if a sanitizer
        reported anything in a program's log: the sanitized build reports
        leaks as it exits, so only now can they be seen."""
        self.stop()
        reports = []
        for inst in self.stopped + self.instances:
            log = inst.log() if os.path.exists(os.path.join(inst.state, "fcgi-app.log")) else ""
            for marker in SANITIZER_MARKERS:
                if marker in log:
                    reports.append("%s in %s/fcgi-app.log:\n%s" % (marker, inst.state,
                                                                  log[-4000:]))
                    break
        self.cleanup()
        if reports:
            raise AssertionError("\n".join(reports))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        import decimal
        return json.loads(self.body.decode("utf-8"), parse_float=decimal.Decimal)

    def text(self):
        return self.body.decode("utf-8")


class Instance:
    def __init__(self, state, port):
        self.state = state
        self.port = port

    def request(self, path, method="GET", headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, body)
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request(path, **kw)

    def fcgi_socket(self, timeout=20):
        """A connection to the instance's FastCGI socket, past nginx."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(os.path.join(self.state, "fcgi-app.sock"))
        return s

    def log(self):
        with open(os.path.join(self.state, "fcgi-app.log"), errors="replace") as f:
            return f.read()

    def master_pid(self):
        return pid_of(os.path.join(self.state, "fcgi-app.pid"))

    def worker_pids(self):
        """The master's children, read from /proc."""
        return children_of(self.master_pid())
