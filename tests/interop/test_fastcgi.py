"""FastCGI 1.0 over a raw socket to the program (lib/fcgi.py): what a
server other than nginx may send.  Management records, roles, a second
request on a busy connection, a body, an abort at each stage of a
request, parameters in many records and with long names and values."""
import json
import os
import pwd
import threading
import time
import unittest

from lib import dbsession, fcgi
from lib.fcgi import Reader, fcgi_begin, fcgi_params, fcgi_record, fcgi_request, fcgi_stream
from lib.localstack import Stack

WORKERS = 2
CONNECTIONS = 100  # the setting: FastCGI connections a worker holds
PAGE = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/", "QUERY_STRING": "format=json",
        "REQUEST_URI": "/?format=json"}

STACK = None
INST = None


def setUpModule():
    global STACK, INST
    STACK = Stack()
    STACK.up()
    try:
        INST = STACK.web_start("a", settings={"workers": WORKERS,
                                                "connections": CONNECTIONS})
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    if STACK is not None:
        STACK.down()  # fails on any sanitizer report


def status_of(stdout):
    return stdout.split(b"\r\n", 1)[0].decode()


def body_of(stdout):
    return stdout.split(b"\r\n\r\n", 1)[1]


class FastCgi(unittest.TestCase):
    def connect(self):
        s = INST.fcgi_socket(timeout=10)
        self.addCleanup(s.close)
        return s, Reader(s)

    def assertPage(self, stdout, status=0):
        self.assertEqual(status, fcgi.REQUEST_COMPLETE)
        self.assertEqual(status_of(stdout), "Status: 200 OK")
        self.assertEqual(json.loads(body_of(stdout))["count"], 10)

    def test_get_values_tells_what_the_core_enforces(self):
        s, r = self.connect()
        s.sendall(fcgi.fcgi_get_values(["FCGI_MAX_CONNS", "FCGI_MAX_REQS",
                                        "FCGI_MPXS_CONNS", "FCGI_NO_SUCH_NAME"]))
        rtype, rid, content = r.record()
        self.assertEqual((rtype, rid), (fcgi.GET_VALUES_RESULT, 0))
        self.assertEqual(fcgi.parse_pairs(content), {
            "FCGI_MAX_CONNS": str(WORKERS * CONNECTIONS),
            "FCGI_MAX_REQS": str(WORKERS * CONNECTIONS), "FCGI_MPXS_CONNS": "0"})
        # the connection then carries a request
        s.sendall(fcgi_request(PAGE))
        stdout, status, others = r.response()
        self.assertPage(stdout, status)
        self.assertEqual(others, [])

    def test_unknown_management_record_gets_unknown_type(self):
        s, r = self.connect()
        s.sendall(fcgi_record(200, b"", request_id=0))
        self.assertEqual(r.record(), (fcgi.UNKNOWN_TYPE, 0, bytes([200]) + b"\0" * 7))
        s.sendall(fcgi_request(PAGE))
        self.assertPage(*r.response()[:2])

    def test_other_roles_get_unknown_role(self):
        for role in (fcgi.AUTHORIZER, fcgi.FILTER, 7):
            s, r = self.connect()
            s.sendall(fcgi_request(PAGE, role=role))
            stdout, status, others = r.response()
            self.assertEqual((stdout, status, others), (b"", fcgi.UNKNOWN_ROLE, []), role)
        s, r = self.connect()
        s.sendall(fcgi_request(PAGE))
        self.assertPage(*r.response()[:2])

    def test_second_begin_while_the_parameters_arrive_gets_cant_mpx_conn(self):
        s, r = self.connect()
        params = fcgi_params(PAGE)
        s.sendall(fcgi_begin(1) + fcgi_record(fcgi.PARAMS, params[:10]) +
                  fcgi_begin(2) + fcgi_record(fcgi.PARAMS, fcgi_params(PAGE), 2) +
                  fcgi_record(fcgi.PARAMS, params[10:]) + fcgi_stream(fcgi.PARAMS, b"") +
                  fcgi_stream(fcgi.STDIN, b""))
        stdout, status, others = r.response()
        self.assertPage(stdout, status)
        self.assertEqual(others, [(fcgi.END_REQUEST, 2,
                                   b"\0\0\0\0" + bytes([fcgi.CANT_MPX_CONN]) + b"\0\0\0")])

    def test_second_begin_while_the_body_arrives_gets_cant_mpx_conn(self):
        s, r = self.connect()
        s.sendall(fcgi_begin(1, keep=True) + fcgi_stream(fcgi.PARAMS, fcgi_params(PAGE)) +
                  fcgi_record(fcgi.STDIN, b"x" * 100) + fcgi_begin(2) +
                  fcgi_stream(fcgi.STDIN, b""))
        stdout, status, others = r.response()
        self.assertEqual(status_of(stdout), "Status: 200 OK")
        self.assertEqual(others, [(fcgi.END_REQUEST, 2,
                                   b"\0\0\0\0" + bytes([fcgi.CANT_MPX_CONN]) + b"\0\0\0")])
        s.sendall(fcgi_request(PAGE, keep=True))
        self.assertPage(*r.response()[:2])

    def test_abort_after_the_answer_is_dropped_and_the_connection_kept(self):
        # as a server sends it when its client leaves as the answer ends
        s, r = self.connect()
        for _ in range(2):
            s.sendall(fcgi_request(PAGE, keep=True))
            stdout, status, others = r.response()
            self.assertPage(stdout, status)
            self.assertEqual(others, [])
            s.sendall(fcgi_record(fcgi.ABORT_REQUEST))

    def test_abort_while_the_body_arrives_ends_the_request(self):
        s, r = self.connect()
        s.sendall(fcgi_begin(1, keep=True) + fcgi_stream(fcgi.PARAMS, fcgi_params(PAGE)) +
                  fcgi_record(fcgi.STDIN, b"x" * 100) + fcgi_record(fcgi.ABORT_REQUEST))
        stdout, status, others = r.response()
        self.assertEqual((stdout, status, others), (b"", fcgi.REQUEST_COMPLETE, []))
        # the rest of its body is read past, and the kept connection serves on
        s.sendall(fcgi_stream(fcgi.STDIN, b"y" * 100) + fcgi_request(PAGE, keep=True))
        self.assertPage(*r.response()[:2])

    def test_abort_while_the_parameters_arrive_ends_the_request(self):
        params = fcgi_params(PAGE)
        for keep in (True, False):
            s, r = self.connect()
            s.sendall(fcgi_begin(1, keep=keep) + fcgi_record(fcgi.PARAMS, params[:10]) +
                      fcgi_record(fcgi.ABORT_REQUEST))
            stdout, status, others = r.response()
            self.assertEqual((stdout, status, others), (b"", fcgi.REQUEST_COMPLETE, []))
            if keep:
                s.sendall(fcgi_request(PAGE, keep=True))
                self.assertPage(*r.response()[:2])
            else:
                self.assertIsNone(r.record())  # the connection ends with it

    def test_abort_while_the_page_waits_for_the_database_ends_it_at_once(self):
        """A page held up by a table lock is aborted: its end comes at
        once, not when the lock goes, and no answer of it follows."""
        hold = threading.Thread(target=STACK.sql, args=(
            "LOCK TABLES demo WRITE; SELECT SLEEP(3); UNLOCK TABLES;",))
        hold.start()
        self.addCleanup(hold.join)
        self.assertTrue(dbsession.wait_for(STACK, 10, state="User sleep",
                                           user=pwd.getpwuid(os.getuid()).pw_name))
        s, r = self.connect()
        s.sendall(fcgi_request(PAGE, keep=True))
        self.assertTrue(dbsession.wait_for(STACK, 10, user="fcgi_app",
                                           state="Waiting for table%"))
        t = time.monotonic()
        s.sendall(fcgi_record(fcgi.ABORT_REQUEST))
        stdout, status, others = r.response()
        self.assertLess(time.monotonic() - t, 1.0)
        self.assertEqual((stdout, status, others), (b"", fcgi.REQUEST_COMPLETE, []))
        hold.join()
        # once the lock goes, the connection serves the next request, and
        # nothing of the aborted one comes first
        s.sendall(fcgi_request(PAGE, keep=True, request_id=2))
        stdout, status, others = r.response(request_id=2)
        self.assertPage(stdout, status)
        self.assertEqual(others, [])

    def test_a_body_gets_405_and_the_kept_connection_stays_usable(self):
        s, r = self.connect()
        post = dict(PAGE, REQUEST_METHOD="POST", CONTENT_LENGTH="65536",
                    CONTENT_TYPE="application/octet-stream")
        for _ in range(2):
            s.sendall(fcgi_request(post, keep=True, stdin=b"b" * 65536, chunk=8192))
            stdout, status, others = r.response()
            self.assertEqual(status, fcgi.REQUEST_COMPLETE)
            self.assertEqual(status_of(stdout), "Status: 405 Method Not Allowed")
            s.sendall(fcgi_request(PAGE, keep=True))
            self.assertPage(*r.response()[:2])

    def test_parameters_in_many_records_and_long_ones_are_read_whole(self):
        long_name = "HTTP_X_" + "N" * 200
        base = dict(PAGE, HTTP_ACCEPT="text/html", QUERY_STRING="limit=3&format=json")
        # a name over 127 bytes, one byte a record; a 70 KB value, past
        # one record's 65535, two bytes a record and more.  The query
        # comes after them: a pair read wrong would lose it (10 rows).
        cases = [(dict({long_name: "v" * 300}, **base), (1, 2, 127, 128)),
                 (dict({long_name: "v" * 70000}, **base), (2, 7, 4096, fcgi.MAX_CONTENT))]
        for params, chunks in cases:
            for chunk in chunks:
                s, r = self.connect()
                s.sendall(fcgi_request(params, chunk=chunk))
                stdout, status, _ = r.response()
                self.assertEqual(status, fcgi.REQUEST_COMPLETE, chunk)
                self.assertEqual(json.loads(body_of(stdout))["count"], 3, chunk)
        # a long value reaches the program whole: 6 KiB of query is a 400
        s, r = self.connect()
        s.sendall(fcgi_request(dict(PAGE, QUERY_STRING="limit=3&" + "x" * 6144,
                                    HTTP_ACCEPT="application/json"), chunk=100))
        stdout, status, _ = r.response()
        self.assertEqual(status_of(stdout), "Status: 400 Bad Request")
        self.assertIn("longer than 2048", json.loads(body_of(stdout))["error"])

    def test_workers_unchanged(self):
        before = INST.worker_pids()
        self.assertEqual(len(before), WORKERS)
        for role in (fcgi.FILTER, 9):
            s, r = self.connect()
            s.sendall(fcgi_request(PAGE, role=role))
            try:
                r.response()
            except ConnectionError:
                pass
        self.assertEqual(INST.worker_pids(), before)
