"""A stand-in for the EC2 instance metadata service (IMDSv2), on loopback.

It answers like the real one for the calls fcgi-app makes: PUT
/latest/api/token for a session token, then GETs that must carry it.
"""
import http.server
import secrets
import threading

INSTANCE_ID = "i-0123456789abcdef0"
ZONE = "ap-northeast-2a"


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
        values = {"/latest/meta-data/instance-id": INSTANCE_ID,
                  "/latest/meta-data/placement/availability-zone": ZONE}
        if self.path not in values:
            return self._send(404)
        self._send(200, values[self.path].encode())


class Imds:
    def __init__(self):
        self.server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
        self.server.token = secrets.token_urlsafe(32)
        self.server.calls = []
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def calls(self):
        return list(self.server.calls)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
