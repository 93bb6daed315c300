"""Steady HTTP load for the fault tests, with every answer on a timeline.

wrk gives totals; a fault test needs to know *when* each answer came and
what it was, so this load keeps one record per request.  Each client
thread holds one keep-alive connection, like the ALB, and opens a new one
only after an error.  A run is bounded in time and in requests, and stops
by itself.
"""
import http.client
import json
import threading
import time


class Answer:
    __slots__ = ("start", "end", "status", "error", "whole")

    def __init__(self, start, end, status, error, whole):
        self.start = start    # time.monotonic() when sent
        self.end = end        # ... when the answer (or error) was complete
        self.status = status  # HTTP status, or None for a socket error
        self.error = error    # the exception's text for a socket error
        self.whole = whole    # a 200 whose JSON body parsed completely

    def failed(self):
        return self.status != 200 or not self.whole


def _whole(status, body):
    if status != 200:
        return False
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and "rows" in doc


class Load:
    """clients threads GETting path on host:port until stop(), seconds
    have passed or max_requests have been sent."""

    def __init__(self, port, path="/?format=json", clients=8, seconds=60,
                 max_requests=200000, host="127.0.0.1", timeout=30):
        self.addr = (host, port)
        self.path = path
        self.clients = clients
        self.seconds = seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.answers = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._sent = 0

    def _take(self):
        with self._lock:
            if self._sent >= self.max_requests:
                return False
            self._sent += 1
            return True

    def _client(self, deadline):
        conn = None
        while not self._stop.is_set() and time.monotonic() < deadline and self._take():
            if conn is None:
                conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
            start = time.monotonic()
            try:
                conn.request("GET", self.path)
                r = conn.getresponse()
                body = r.read()
                a = Answer(start, time.monotonic(), r.status, None, _whole(r.status, body))
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                a = Answer(start, time.monotonic(), None, "%s: %s" % (type(e).__name__, e),
                           False)
                conn.close()
                conn = None
            with self._lock:
                self.answers.append(a)
        if conn is not None:
            conn.close()

    def start(self):
        deadline = time.monotonic() + self.seconds
        for _ in range(self.clients):
            t = threading.Thread(target=self._client, args=(deadline,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.answers

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def between(answers, t0, t1):
    """Answers sent at or after t0 and before t1."""
    return [a for a in answers if t0 <= a.start < t1]


def summary(answers):
    """{status or error kind: count}, sorted for printing."""
    counts = {}
    for a in answers:
        k = str(a.status) if a.status is not None else "socket error"
        if a.status == 200 and not a.whole:
            k = "200 incomplete"
        counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items()))
