"""A local stack for tests, started by the project's own scripts.

MariaDB (scripts/db.sh), fcgi-app under spawn-fcgi and nginx
(scripts/web.sh) run in a temporary state folder on loopback ports.
"""
import http.client
import json
import os
import re
import shutil
import socket
import tempfile

from . import SCRIPTS, TOP
from .proc import children_of, free_port, pid_of, run

BINARY = os.environ.get("FCGI_APP_BIN", os.path.join(TOP, "build", "fcgi-app"))
# what AddressSanitizer, LeakSanitizer and UBSan write when they report
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

__all__ = ["BINARY", "Instance", "Response", "Stack", "free_port"]


class Stack:
    """One database and one or more web instances sharing it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-test-")
        os.chmod(self.dir, 0o711)
        self.db_state = os.path.join(self.dir, "a")
        self.instances = []
        self.stopped = []  # instances web_stop took away

    # --- database -------------------------------------------------------
    def db_start(self):
        run(os.path.join(SCRIPTS, "db.sh"), "start", self.db_state)

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
        [client] options (a dict) added to that group."""
        state = os.path.join(self.dir, name)
        os.makedirs(state, exist_ok=True)
        os.chmod(state, 0o711)
        cnf = os.path.join(state, "fcgi-app.cnf")
        src = os.path.join(self.db_state, "fcgi-app.cnf")
        if settings or client or cnf != src:
            with open(src) as f:
                text = f.read()
            for k, v in (client or {}).items():
                text = text.replace("[client]\n", "[client]\n%s = %s\n" % (k, v), 1)
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
