"""A stand-in for the EC2 instance metadata service (IMDSv2), for local
stacks and tests; it listens on a loopback address only.

It answers like the real service for the calls fcgi-app makes at start:
PUT /latest/api/token for a session token, then GETs that must carry it.

    python3 tests/lib/imds.py HOST PORT INSTANCE_ID ZONE
"""
import http.server
import ipaddress
import secrets
import sys
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        self.server.calls.append(("PUT", self.path))
        if self.path != "/latest/api/token" or \
                not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400)
        self._send(200, self.server.token.encode())

    def do_GET(self):
        self.server.calls.append(("GET", self.path))
        if self.headers.get("X-aws-ec2-metadata-token") != self.server.token:
            return self._send(401)  # IMDSv2: no token, no answer
        values = {"/latest/meta-data/instance-id": self.server.instance_id,
                  "/latest/meta-data/placement/availability-zone": self.server.zone}
        if self.path not in values:
            return self._send(404)
        self._send(200, values[self.path].encode())


class Imds:
    """The stand-in in a thread of the calling process."""

    def __init__(self, instance_id, zone, host="127.0.0.1", port=0):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the IMDS stand-in listens on loopback only")
        self.server = http.server.HTTPServer((host, port), _Handler)
        self.server.token = secrets.token_urlsafe(32)
        self.server.calls = []
        self.server.instance_id = instance_id
        self.server.zone = zone
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def calls(self):
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
