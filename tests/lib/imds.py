"""A stand-in for the EC2 instance metadata service (IMDSv2), for local
stacks and tests; it listens on a loopback address only.

It answers like the real service for the calls fcgi-app makes at start:
PUT /latest/api/token for a session token, then GETs that must carry it.
A test can make it fail (503, as the real service does when throttled) or
stall (hold the connection, then close it unanswered) its first requests.

    python3 tests/lib/imds.py HOST PORT INSTANCE_ID ZONE
"""
import http.server
import ipaddress
import secrets
import sys
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _misbehave(self, n):
        """True when request number n (from 1) is one of the first ones to
        fail or stall; it has then been dealt with."""
        if n <= self.server.stall_first:
            time.sleep(self.server.stall_seconds)
            self.close_connection = True
            return True
        if n <= self.server.stall_first + self.server.fail_first:
            self._send(503)
            return True
        return False

    def _record(self, method):
        """Records the call; returns its number, from 1."""
        with self.server.lock:
            self.server.calls.append((method, self.path))
            return len(self.server.calls)

    def do_PUT(self):
        if self._misbehave(self._record("PUT")):
            return
        if self.path != "/latest/api/token" or \
                not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400)
        self._send(200, self.server.token.encode())

    def do_GET(self):
        if self._misbehave(self._record("GET")):
            return
        if self.headers.get("X-aws-ec2-metadata-token") != self.server.token:
            return self._send(401)  # IMDSv2: no token, no answer
        values = {"/latest/meta-data/instance-id": self.server.instance_id,
                  "/latest/meta-data/placement/availability-zone": self.server.zone}
        if self.path not in values:
            return self._send(404)
        self._send(200, values[self.path].encode())


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a stalled client that gave up and closed: nothing to report


class Imds:
    """The stand-in in a thread of the calling process.  The first
    stall_first requests are held for stall_seconds and closed unanswered,
    the next fail_first answered 503; later ones are served."""

    def __init__(self, instance_id, zone, host="127.0.0.1", port=0,
                 fail_first=0, stall_first=0, stall_seconds=1.0):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the IMDS stand-in listens on loopback only")
        self.server = _Server((host, port), _Handler)
        self.server.token = secrets.token_urlsafe(32)
        self.server.calls = []
        self.server.lock = threading.Lock()
        self.server.fail_first = fail_first
        self.server.stall_first = stall_first
        self.server.stall_seconds = stall_seconds
        self.server.instance_id = instance_id
        self.server.zone = zone
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def calls(self):
        with self.server.lock:
            return list(self.server.calls)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    imds = Imds(sys.argv[3], sys.argv[4], sys.argv[1], int(sys.argv[2]))
    print("imds stand-in on %s:%d" % (sys.argv[1], imds.port), flush=True)
    imds.thread.join()
