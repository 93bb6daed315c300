"""A local stack for tests, started by the project's own scripts.

MariaDB (scripts/db.sh), fcgi-app under spawn-fcgi and nginx
(scripts/web.sh) run in a temporary state folder on loopback ports.
"""
import html.parser
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(TOP, "scripts")
BINARY = os.environ.get("FCGI_APP_BIN", os.path.join(TOP, "build", "fcgi-app"))
# what AddressSanitizer, LeakSanitizer and UBSan write when they report
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, env=None, stdin=None):
    merged = dict(os.environ, **(env or {}))
    p = subprocess.run(args, input=stdin, capture_output=True, text=True,
                       env=merged, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                      p.stdout, p.stderr))
    return p.stdout


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
        run(os.path.join(SCRIPTS, "web.sh"), "start", state, str(port), binary)
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

    def log(self):
        with open(os.path.join(self.state, "fcgi-app.log"), errors="replace") as f:
            return f.read()

    def master_pid(self):
        with open(os.path.join(self.state, "fcgi-app.pid")) as f:
            return int(f.read())

    def worker_pids(self):
        """The master's children, read from /proc."""
        master = self.master_pid()
        kids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:
                    kids.append(int(d))
        return sorted(kids)


def pids_by_cmdline(match):
    """The processes whose command line (NUL-separated bytes) match(cmdline)
    is true for."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if match(f.read()):
                        pids.append(int(d))
            except OSError:
                continue
    return sorted(pids)


def fcgi_record(rtype, content=b"", request_id=1):
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), 0, 0) + content


def fcgi_params(params):
    """FastCGI name-value pairs (all shorter than 128 bytes here)."""
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        out += bytes([len(k), len(v)]) + k + v
    return out


def fcgi_request(params):
    """The bytes of one whole FastCGI GET request."""
    begin = struct.pack(">HB5x", 1, 0)  # role RESPONDER, no keep-alive
    return (fcgi_record(1, begin) + fcgi_record(4, fcgi_params(params)) +
            fcgi_record(4) + fcgi_record(5))


def fcgi_read_response(sock):
    """Reads records until END_REQUEST; returns the STDOUT bytes."""
    buf, stdout = b"", b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before END_REQUEST")
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if rtype == 6:
                stdout += content
            elif rtype == 3:
                return stdout


class Page(html.parser.HTMLParser):
    """The parts of the table page the tests look at."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.headers = []
        self.rows = []
        self.links = {}
        self.ids = {}
        self.tags = []  # every start tag, in order
        self._cell = None
        self._id = None
        self._in_tbody = False
        self.body_tags = []  # start tags inside <tbody>
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if self._in_tbody:
            self.body_tags.append(tag)
        if tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = {"tag": tag, "null": a.get("class") == "null", "text": ""}
        elif tag == "a" and "rel" in a:
            self.links[a["rel"]] = a.get("href")
        if "id" in a:
            self._id = a["id"]
            self.ids[self._id] = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_tbody = False
        elif tag in ("td", "th") and self._cell is not None:
            c = self._cell
            if c["tag"] == "th":
                self.headers.append(c["text"])
            else:
                self.rows[-1].append(None if c["null"] else c["text"])
            self._cell = None
        self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._id is not None:
            self.ids[self._id] += data


def as_shown_in_html(value):
    """What a value looks like on the page: C0 controls other than tab,
    LF and CR, and DEL, are shown as their Unicode control pictures."""
    if value is None:
        return None
    return "".join(chr(0x2400 + ord(ch)) if ord(ch) < 0x20 and ch not in "\t\n\r"
                   else "\u2421" if ch == "\x7f" else ch for ch in value)
