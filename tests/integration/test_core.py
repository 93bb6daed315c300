"""The serving core's promises, end to end: idle kept connections hold
no capacity, a slow client stalls only its own answer, a database pool
that stays busy past db-wait-ms gives a 503 in time while a line that
moves drains without one, a database
that drops connection attempts gives quick 503s, and a worker gives a
burst's memory back once it is quiet.

Real MariaDB, fcgi-app and nginx on loopback, as in test_service.py;
the FastCGI socket is also reached directly (lib/fcgi.py).  Settings
the program had not always known (connections, db-connections,
db-wait-ms) are written into an instance's config only where its test
needs them.
"""
import json
import os
import select
import signal
import socket
import threading
import time
import unittest

from lib import dbsession
from lib.fcgi import END_REQUEST, STDOUT, Reader, fcgi_request
from lib.localstack import Stack
from lib.page import Page
from lib.proc import wait_until

STACK = None

BUSY = "The database is busy; try again shortly."
UNAVAILABLE = "The database is unavailable; try again shortly."


def setUpModule():
    global STACK
    STACK = Stack()
    STACK.up()


def tearDownModule():
    if STACK is not None:
        STACK.down()  # fails on any sanitizer report


def page_params(query="format=json"):
    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/", "REQUEST_URI": "/?" + query,
            "QUERY_STRING": query}


def cgi_answer(stdout):
    """A FastCGI answer's STDOUT as (status, headers with lower-case
    names, body)."""
    head, sep, body = stdout.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no end of headers in %r" % stdout[:200])
    headers = {}
    for line in head.decode("ascii").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise AssertionError("not a header line: %r" % line)
        headers[name.strip().lower()] = value.strip()
    return int(headers["status"].split()[0]), headers, body


def connect(inst, timeout=5):
    return inst.fcgi_socket(timeout=timeout)


def ask(sock, query="format=json", keep=True):
    """Sends one page request on sock and reads its whole answer:
    (status, headers, body).  Raises socket.timeout when none comes."""
    sock.sendall(fcgi_request(page_params(query), keep=keep))
    stdout, proto, _ = Reader(sock).response()
    if proto != 0:
        raise AssertionError("protocolStatus %d" % proto)
    return cgi_answer(stdout)


def peer_closed(sock):
    """True once the program has closed its end of sock (POLLRDHUP),
    without reading what it sent."""
    p = select.poll()
    p.register(sock, select.POLLRDHUP)
    return any(ev & (select.POLLRDHUP | select.POLLHUP) for _, ev in p.poll(0))


def timed_get(inst, path, timeout=5):
    """GETs path through nginx: (response, seconds it took)."""
    t = time.monotonic()
    try:
        r = inst.get(path, timeout=timeout)
    except socket.timeout:
        raise AssertionError("no answer to %s within %d s" % (path, timeout)) from None
    return r, time.monotonic() - t


class Holder:
    """FastCGI sockets to close when the test ends."""

    def __init__(self, case):
        self.socks = []
        case.addCleanup(self.close)

    def add(self, s):
        self.socks.append(s)
        return s

    def close(self):
        for s in self.socks:
            s.close()


class IdleConnections(unittest.TestCase):
    """Kept FastCGI connections that sit idle cost a worker nothing: it
    takes and answers new ones however many idle ones it holds."""
    IDLE = 300

    def assert_demo(self, status, headers, body):
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        self.assertEqual(len(json.loads(body)["rows"]), 10)

    def test_hundreds_of_idle_kept_connections_leave_room(self):
        inst = STACK.web_start("idle")  # the database's config: 4 workers
        held = Holder(self)
        for i in range(self.IDLE):
            s = held.add(connect(inst))
            try:
                self.assert_demo(*ask(s))
            except socket.timeout:
                self.fail("kept connection %d got no answer within 5 s, with %d "
                          "idle kept connections open" % (i + 1, i))
        # all of them idle now: a new page through nginx, and on a new
        # connection of its own, in well under a second
        r, took = timed_get(inst, "/?format=json")
        self.assert_demo(r.status, r.headers, r.body)
        self.assertLess(took, 1.0, "through nginx, past %d idle connections" % self.IDLE)
        s = held.add(connect(inst))
        t = time.monotonic()
        try:
            self.assert_demo(*ask(s, keep=False))
        except socket.timeout:
            self.fail("a new connection got no answer past %d idle ones" % self.IDLE)
        self.assertLess(time.monotonic() - t, 1.0)
        # the idle ones were kept all along, and still serve
        self.assertEqual([i for i, s in enumerate(held.socks[:self.IDLE]) if peer_closed(s)],
                         [])
        for s in held.socks[:self.IDLE]:
            self.assert_demo(*ask(s))

    def test_at_the_limit_the_longest_idle_connection_closes(self):
        """connections = 50 with one worker: the 51st connection closes
        the one idle longest, and so on; new ones are served."""
        limit, extra = 50, 10
        inst = STACK.web_start("evict", settings={"workers": 1, "connections": limit})
        # nginx's own kept connection, from the start's health check, is
        # the longest idle of all: the first to go; of these, the first
        # `extra` follow, and the worker holds `limit` at the end
        held = Holder(self)
        for i in range(limit + extra):
            s = held.add(connect(inst))
            try:
                self.assert_demo(*ask(s))
            except socket.timeout:
                self.fail("connection %d got no answer within 5 s" % (i + 1))
        closed = [i for i, s in enumerate(held.socks) if peer_closed(s)]
        self.assertEqual(closed, list(range(extra)))
        for s in held.socks[:extra]:
            s.settimeout(2)
            self.assertEqual(s.recv(1), b"")  # EOF, and nothing before it
        # a page through nginx: its new connection closes the next oldest
        r, took = timed_get(inst, "/?format=json")
        self.assert_demo(r.status, r.headers, r.body)
        self.assertLess(took, 1.0)
        s = held.add(connect(inst))
        self.assert_demo(*ask(s, keep=False))
        closed = [i for i, s in enumerate(held.socks[:limit + extra]) if peer_closed(s)]
        self.assertEqual(closed, list(range(extra + 2)))
        # the rest were kept, and still serve
        for s in held.socks[extra + 2:limit + extra]:
            self.assert_demo(*ask(s))


class StalledAnswers(unittest.TestCase):
    """Clients that stop reading stall only their own answers; each
    stalled answer's connection closes after response-write-timeout."""
    STALLED = 40   # more than 16 for each of the 2 workers
    WRITE_TIMEOUT = 2
    ROWS = 500     # rows of a stalled page: about 500 KiB

    @classmethod
    def setUpClass(cls):
        # 1,000 rows of about 1 KiB: a page of them far exceeds what the
        # socket holds, so it stalls when its reader never reads
        STACK.sql("CREATE TABLE wide (id INT PRIMARY KEY, body VARCHAR(1100) NOT NULL);"
                  "INSERT INTO wide SELECT seq, CONCAT('row ', seq, ' ', "
                  "REPEAT('abcdefghij', 100)) FROM seq_1_to_1000;"
                  "GRANT SELECT ON wide TO 'fcgi_app'@'%';")

    def test_a_page_is_served_while_every_other_answer_stalls(self):
        inst = STACK.web_start("stall", settings={
            "table": "wide", "workers": 2,
            "response-write-timeout": self.WRITE_TIMEOUT})
        r = inst.get("/?limit=%d" % self.ROWS)
        self.assertEqual(r.status, 200)
        whole = len(r.body)
        self.assertEqual(len(Page(r.text()).rows), self.ROWS)
        held = Holder(self)
        sent = time.monotonic()
        for _ in range(self.STALLED):
            s = held.add(connect(inst))
            s.sendall(fcgi_request(page_params("limit=%d" % self.ROWS), keep=False))
        time.sleep(0.5)  # every stalled page is made and waits to be sent
        # a new page, through nginx and on a connection of its own
        r, took = timed_get(inst, "/?format=json&limit=10")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual([row["id"] for row in r.json()["rows"]], list(range(1, 11)))
        self.assertLess(took, 1.0, "a page while %d answers stall" % self.STALLED)
        s = connect(inst)
        t = time.monotonic()
        try:
            status, _, body = ask(s, "format=json&limit=3", keep=False)
        except socket.timeout:
            self.fail("no answer on a new connection while %d answers stall"
                      % self.STALLED)
        finally:
            s.close()
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["rows"]), 3)
        self.assertLess(time.monotonic() - t, 1.0)
        # the stalled ones are open until their timeout, counted from
        # their last progress (no earlier than `sent`), and closed soon after
        stalled = held.socks
        closed_at = {}
        while len(closed_at) < len(stalled) and \
                time.monotonic() < sent + self.WRITE_TIMEOUT + 5:
            for i, s in enumerate(stalled):
                if i not in closed_at and peer_closed(s):
                    closed_at[i] = time.monotonic()
            time.sleep(0.05)
        self.assertEqual(sorted(closed_at), list(range(self.STALLED)),
                         "stalled answers still open %.1f s after they were asked"
                         % (time.monotonic() - sent))
        self.assertGreaterEqual(min(closed_at.values()) - sent, self.WRITE_TIMEOUT)
        # each got part of its page, then the end of the connection: no
        # FCGI_END_REQUEST, so nginx would report the answer cut off
        for s in stalled:
            s.settimeout(5)
            reader, got, types = Reader(s), b"", set()
            while True:
                rec = reader.record()
                if rec is None:
                    break
                types.add(rec[0])
                if rec[0] == STDOUT:
                    got += rec[2]
            self.assertEqual(types, {STDOUT})
            self.assertNotIn(END_REQUEST, types)
            self.assertTrue(got.startswith(b"Status: 200 OK\r\n"), got[:100])
            self.assertLess(len(got), whole)
        log = inst.log()
        self.assertEqual(log.count(
            "worker: an answer stalled for %d s (response-write-timeout); "
            "connection closed" % self.WRITE_TIMEOUT), self.STALLED, log[-2000:])
        # and the instance serves on
        self.assertEqual(len(inst.get("/?format=json&limit=5").json()["rows"]), 5)


class BusyPool(unittest.TestCase):
    """Every database connection busy past db-wait-ms: the page waiting
    for one gets a 503 at its deadline, the probes stay up, and once the
    database moves again, pages are whole again."""
    WAIT_MS = 200
    HOLD_S = 5

    def assert_busy(self, status, headers, body, took=None):
        self.assertEqual(status, 503, body[:300])
        self.assertEqual(headers["retry-after"], "1")
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        self.assertEqual(json.loads(body), {"status": 503, "error": BUSY})
        if took is not None:
            # it waited for its deadline, and not much longer
            self.assertGreaterEqual(took, self.WAIT_MS / 1000 - 0.01)
            self.assertLess(took, self.WAIT_MS / 1000 + 0.4)

    def waiting(self):
        return dbsession.count(STACK, user="fcgi_app", state="Waiting for table%")

    def test_pages_past_db_wait_ms_get_503_busy(self):
        # one worker, so that every connection reaches the worker whose
        # one database connection waits on the lock
        inst = STACK.web_start("busy", settings={
            "workers": 1, "db-connections": 1, "db-wait-ms": self.WAIT_MS,
            "read-timeout": 20})
        self.assertEqual(len(inst.get("/?format=json").json()["rows"]), 10)
        hold = threading.Thread(target=STACK.sql, args=(
            "LOCK TABLES demo WRITE; SELECT SLEEP(%d); UNLOCK TABLES;" % self.HOLD_S,))
        locked_at = time.monotonic()
        hold.start()
        held = Holder(self)
        try:
            self.assertTrue(dbsession.wait_for(STACK, 10, state="User sleep"))
            # a page that takes the one database connection, which waits
            blocked = held.add(connect(inst))
            blocked.sendall(fcgi_request(page_params(), keep=False))
            self.assertTrue(wait_until(lambda: self.waiting() == 1, 5))
            # now every page waits db-wait-ms, then is told the database is busy
            for _ in range(6):
                r, took = timed_get(inst, "/?format=json")
                self.assert_busy(r.status, r.headers, r.body, took)
                h, took = timed_get(inst, "/healthz")
                self.assertEqual((h.status, h.body), (200, b"ok\n"))
                self.assertLess(took, 0.5)
            r, took = timed_get(inst, "/")  # HTML asked: the same 503, in HTML
            self.assertEqual(r.status, 503)
            self.assertEqual(r.header("retry-after"), "1")
            self.assertEqual(Page(r.text()).ids["error"], BUSY)
            self.assertLess(took, self.WAIT_MS / 1000 + 0.4)
            self.assertTrue(hold.is_alive())
            self.assertLess(time.monotonic() - locked_at, self.HOLD_S)
        finally:
            hold.join(30)
        # the lock gone, the pages that waited on it are answered whole
        status, _, body = cgi_answer(Reader(blocked).response()[0])
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["rows"]), 10)
        for _ in range(4):
            r = inst.get("/?format=json")
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertEqual(len(r.json()["rows"]), 10)
        self.assertEqual(len(Page(inst.get("/").text()).rows), 10)
        self.assertEqual(self.waiting(), 0)

    def test_a_line_that_moves_drains_without_a_503(self):
        """Eight pages at once on one database connection whose query
        takes 0.1 s: the last waits about 0.7 s, well past db-wait-ms,
        but the line moves every 0.1 s, so every page is whole."""
        wait_ms, pages = 300, 8
        STACK.sql("CREATE TABLE drip_rows (id INT PRIMARY KEY, v INT);"
                  "INSERT INTO drip_rows VALUES (1, 1);"
                  "CREATE VIEW drip AS SELECT id, v, SLEEP(0.1) AS s FROM drip_rows;"
                  "GRANT SELECT ON drip TO 'fcgi_app'@'%';")
        inst = STACK.web_start("drip", settings={
            "table": "drip", "workers": 1, "db-connections": 1, "db-wait-ms": wait_ms})
        held = Holder(self)
        socks = [held.add(connect(inst, timeout=10)) for _ in range(pages)]
        start = time.monotonic()
        for s in socks:
            s.sendall(fcgi_request(page_params(), keep=False))
        answers = [cgi_answer(Reader(s).response()[0]) for s in socks]
        took = time.monotonic() - start
        self.assertEqual([status for status, _, _ in answers], [200] * pages,
                         [body[:200] for _, _, body in answers])
        for _, _, body in answers:
            self.assertEqual([(r["id"], r["v"]) for r in json.loads(body)["rows"]], [(1, 1)])
        # the pages did wait in line past db-wait-ms, one after another
        self.assertGreater(took, 2 * wait_ms / 1000)


def status_kib(pid, field):
    """A memory figure of /proc/PID/status, in KiB: VmRSS, VmHWM."""
    with open("/proc/%d/status" % pid) as f:
        return int(next(l for l in f if l.startswith(field + ":")).split()[1])


class BurstMemory(unittest.TestCase):
    """A burst of pages in flight at once grows a worker's heap, and the
    few connections a web server keeps afterwards hold it scattered;
    once nothing has been in flight for a second, the worker gives the
    free part back to the system."""
    BURST = 1000
    KEPT_EVERY = 50  # nginx keeps some of a burst's connections

    def test_a_burst_s_memory_goes_back_once_the_worker_is_quiet(self):
        if "asan" in os.environ.get("FCGI_APP_BIN", ""):
            self.skipTest("AddressSanitizer's allocator keeps a heap of its own")
        inst = STACK.web_start("burst", settings={"workers": 1})
        [worker] = inst.worker_pids()
        before = status_kib(worker, "VmRSS")
        held = Holder(self)
        # every request is in before the worker reads one: it is stopped
        # meanwhile, and its listening socket's backlog holds the connects
        os.kill(worker, signal.SIGSTOP)
        try:
            socks = [held.add(connect(inst, timeout=20)) for _ in range(self.BURST)]
            for s in socks:
                s.sendall(fcgi_request(page_params(), keep=True))
        finally:
            os.kill(worker, signal.SIGCONT)
        for s in socks:
            stdout, proto, _ = Reader(s).response()
            self.assertEqual((proto, cgi_answer(stdout)[0]), (0, 200))
        growth = status_kib(worker, "VmHWM") - before
        self.assertGreater(growth, 2048, "the burst grew the worker too little to tell")
        for i, s in enumerate(socks):
            if i % self.KEPT_EVERY:
                s.close()
        self.assertTrue(
            wait_until(lambda: status_kib(worker, "VmRSS") - before < growth / 3, 5),
            "worker RSS %d KiB before the burst, %d more at its peak, %d now"
            % (before, growth, status_kib(worker, "VmRSS")))
        # the kept ones still serve
        for s in socks[::self.KEPT_EVERY]:
            self.assertEqual(ask(s)[0], 200)


class KilledIdleConnections(unittest.TestCase):
    """The database closes every idle connection of both workers (a
    restart, a KILL, wait_timeout): each goes when it closes, not when a
    page takes it, so no page runs on a dead connection, and no page
    gets a 503 for what was never an outage."""
    CLIENTS, PAGES = 8, 25

    def test_pages_after_the_kill_are_all_served(self):
        inst = STACK.web_start("idlekill", settings={"workers": 2, "db-connections": 8})
        workers = inst.worker_pids()
        held = Holder(self)
        # 32 pages in at once open every connection the pool may have
        for w in workers:
            os.kill(w, signal.SIGSTOP)
        try:
            socks = [held.add(connect(inst, timeout=20)) for _ in range(32)]
            for sock in socks:
                sock.sendall(fcgi_request(page_params(), keep=False))
        finally:
            for w in workers:
                os.kill(w, signal.SIGCONT)
        for sock in socks:
            self.assertEqual(cgi_answer(Reader(sock).response()[0])[0], 200)
        sessions = dbsession.ids(STACK, "fcgi_app")
        self.assertGreaterEqual(len(sessions), 4, "too few connections opened to tell")
        self.assertTrue(dbsession.kill(STACK, "fcgi_app", sessions))
        statuses, lock = [], threading.Lock()

        def client():
            for _ in range(self.PAGES):
                r = inst.get("/?format=json")
                rows = len(r.json()["rows"]) if r.status == 200 else None
                with lock:
                    statuses.append((r.status, rows))

        threads = [threading.Thread(target=client) for _ in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(statuses, [(200, 10)] * (self.CLIENTS * self.PAGES))
        log = inst.log()
        self.assertIn("the database closed an idle connection", log)
        self.assertNotIn("database connection lost", log)
        self.assertEqual(inst.worker_pids(), workers)


def black_hole():
    """A loopback TCP listener that never accepts, its backlog full: a
    connection attempt to it gets no SYN-ACK and hangs until its own
    timeout, as a firewall that drops packets makes it."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(0)
    fillers = []
    for _ in range(8):
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(lsn.getsockname())
        except socket.timeout:
            probe.close()
            return lsn, fillers
        fillers.append(probe)  # it took a place in the backlog
    raise AssertionError("the listener's backlog never filled")


class DroppedConnects(unittest.TestCase):
    """A database whose connection attempts go unanswered: pages are
    503 at once, not after connect-timeout, and /healthz stays 200."""
    CONNECT_TIMEOUT = 2
    WAIT_MS = 500  # db-wait-ms left at its default
    CLIENTS = 4
    LOAD_S = 3

    def test_pages_get_quick_503s_and_healthz_stays_up(self):
        lsn, fillers = black_hole()
        self.addCleanup(lsn.close)
        for f in fillers:
            self.addCleanup(f.close)
        inst = STACK.web_start("hole", settings={
            "workers": 2, "connect-timeout": self.CONNECT_TIMEOUT},
            client={"host": "127.0.0.1", "port": lsn.getsockname()[1]})
        # the very first connect is still under way: a page waits for it
        # at most db-wait-ms, then is told the database is busy
        r, took = timed_get(inst, "/?format=json")
        self.assertEqual(r.status, 503, r.body[:300])
        self.assertEqual(r.header("retry-after"), "1")
        self.assertIn(r.json()["error"], (BUSY, UNAVAILABLE))
        self.assertLess(took, self.WAIT_MS / 1000 + 0.4)
        # once it has failed (connect-timeout after the worker started)
        self.assertTrue(wait_until(lambda: "database unreachable" in inst.log(),
                                   2 * self.CONNECT_TIMEOUT + 3), inst.log()[-2000:])
        pages, probes, errors = [], [], []
        stop = time.monotonic() + self.LOAD_S

        def client(path, into, pause):
            try:
                while time.monotonic() < stop:
                    r, took = timed_get(inst, path)
                    into.append((r, took))
                    time.sleep(pause)
            except Exception as e:  # the test thread reports it
                errors.append(e)

        threads = [threading.Thread(target=client, args=("/?format=json", pages, 0))
                   for _ in range(self.CLIENTS)]
        threads.append(threading.Thread(target=client, args=("/healthz", probes, 0.05)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.LOAD_S + 10)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])
        self.assertGreater(len(pages), 4 * self.LOAD_S)
        self.assertGreater(len(probes), self.LOAD_S)
        slow = sorted(took for _, took in pages if took >= 0.1)
        self.assertEqual(slow, [], "of %d pages" % len(pages))
        for r, _ in pages:
            self.assertEqual(r.status, 503, r.body[:300])
            self.assertEqual(r.header("retry-after"), "1")
            self.assertEqual(r.json(), {"status": 503, "error": UNAVAILABLE})
        for r, took in probes:
            self.assertEqual((r.status, r.body), (200, b"ok\n"))
            self.assertLess(took, 0.1)


if __name__ == "__main__":
    unittest.main()
