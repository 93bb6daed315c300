"""Idle kept FastCGI connections, for make bench: what a client that
opens many connections straight to the program's socket, sends one
request on each with FCGI_KEEP_CONN and then stays silent, does to the
next page through nginx.

hold() first has the instance's nginx let go of the FastCGI connections
it keeps (a reload: its old worker closes them as it exits), so that the
page needs a new connection, as it does whenever nginx's pool is spent.
Then it opens the idle ones, counts the answers that came within a
bound, times one page through nginx with a deadline (a page that does
not come is a result, not a hang), reads the program's memory while
they are all held, and closes them.
"""
import http.client
import os
import selectors
import signal
import socket
import struct
import time

from lib.fcgi import fcgi_request
from lib.page import Page
from lib.proc import children_of, pid_of, wait_gone

PAGE = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/", "SCRIPT_NAME": "/",
        "REQUEST_URI": "/", "QUERY_STRING": ""}


def _ended(buf):
    """Whether buf holds a whole FCGI_END_REQUEST record (records walked
    from the start)."""
    at = 0
    while len(buf) - at >= 8:
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[at:at + 8])
        if rtype == 3 and len(buf) - at >= 8 + clen + plen:
            return True
        at += 8 + clen + plen
    return False


def _answers(socks, seconds):
    """How many of socks carried a whole answer within seconds."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    done = 0
    end = time.monotonic() + seconds
    while bufs and time.monotonic() < end:
        for key, _ in sel.select(timeout=max(0.0, end - time.monotonic())):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            bufs[s] += chunk
            if not chunk or _ended(bufs[s]):
                sel.unregister(s)
                done += 1 if chunk else 0
                del bufs[s]
    sel.close()
    return done


def _page(port, deadline):
    """(ms, error) of one GET / through nginx within deadline seconds."""
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=deadline)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        body = r.read()
        ms = (time.monotonic() - t) * 1000
        if r.status != 200:
            return ms, "status %d" % r.status
        if not Page(body.decode("utf-8")).rows:
            return ms, "a page with no rows"
        return ms, None
    except (OSError, http.client.HTTPException) as e:
        return None, "no page in %.0f s (%s)" % (deadline, type(e).__name__)
    finally:
        c.close()


def _release_kept(inst):
    """Reloads inst's nginx and waits until its old workers, and with
    them its kept FastCGI connections, are gone."""
    master = pid_of(os.path.join(inst.state, "nginx.pid"))
    old = children_of(master)
    os.kill(master, signal.SIGHUP)
    if not wait_gone(old, 10):
        raise RuntimeError("nginx's old workers did not exit after a reload")
    time.sleep(0.2)  # the program's workers see the closes


def hold(inst, count, memory, answer_secs=3.0, deadline=5.0):
    """Holds count idle kept connections to inst's FastCGI socket and
    times a page through its nginx, which first lets go of the
    connections it keeps.  memory() is called while they are held.
    Returns the figures as a dict."""
    _release_kept(inst)
    sock_path = os.path.join(inst.state, "fcgi-app.sock")
    socks, refused = [], 0
    end = time.monotonic() + deadline
    try:
        for _ in range(count):
            if time.monotonic() > end:
                break
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                s.connect(sock_path)
                s.sendall(fcgi_request(PAGE, keep=True))
            except OSError:
                s.close()
                refused += 1
                continue
            socks.append(s)
        answered = _answers(socks, answer_secs)
        ms, error = _page(inst.port, deadline)
        mem = memory()
    finally:
        for s in socks:
            s.close()
    return {"count": count, "connected": len(socks), "refused": refused,
            "answered": answered, "page_ms": ms, "page_error": error,
            "deadline_s": deadline, "memory_kib": mem}
