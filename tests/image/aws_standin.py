"""Stand-ins for the two AWS endpoints an instance talks to at boot, on
loopback: the instance metadata service (IMDSv2 only: every GET must
carry a session token) with a role's credentials, and SSM Parameter
Store's GetParameters.  The SSM side checks that calls are signed with
the role's credentials.

    python3 aws_standin.py PORT PARAMS.json LOG.json

PARAMS.json maps parameter names to values (read at each call); LOG.json
receives the calls.
"""
import json
import secrets
import sys
import http.server

REGION = "ap-northeast-2"
ROLE = "fcgi-app-instance"
MAC = "0a:1b:2c:3d:4e:5f"
VPC_CIDR = "10.0.0.0/16"
CREDS = {"Code": "Success", "Type": "AWS-HMAC",
         "AccessKeyId": "ASIATESTROLEKEY00001", "SecretAccessKey": secrets.token_hex(20),
         "Token": secrets.token_urlsafe(40), "Expiration": "2099-01-01T00:00:00Z",
         "LastUpdated": "2026-01-01T00:00:00Z"}
TOKEN = secrets.token_urlsafe(32)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, **kw):
        self.server.calls.append(dict(method=self.command, path=self.path, **kw))
        with open(self.server.log, "w") as f:
            json.dump(self.server.calls, f)

    def send(self, status, body, ctype="text/plain"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        ok = (self.path == "/latest/api/token"
              and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"))
        self.record(token=False, status=200 if ok else 400)
        if not ok:
            return self.send(400, "bad token request")
        self.send(200, TOKEN)

    def do_GET(self):
        has_token = self.headers.get("X-aws-ec2-metadata-token") == TOKEN
        pages = {
            "/latest/meta-data/placement/region": REGION,
            "/latest/meta-data/mac": MAC,
            "/latest/meta-data/network/interfaces/macs/%s/vpc-ipv4-cidr-blocks" % MAC: VPC_CIDR,
            "/latest/meta-data/iam/security-credentials/": ROLE,
            "/latest/meta-data/iam/security-credentials/" + ROLE: json.dumps(CREDS),
        }
        status = 401 if not has_token else 200 if self.path in pages else 404
        self.record(token=has_token, status=status)
        if status != 200:
            return self.send(status, "")
        self.send(200, pages[self.path])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        signed = ("AWS4-HMAC-SHA256 Credential=%s/" % CREDS["AccessKeyId"] in auth
                  and "/%s/ssm/aws4_request" % REGION in auth
                  and self.headers.get("X-Amz-Security-Token") == CREDS["Token"])
        target = self.headers.get("X-Amz-Target")
        self.record(target=target, signed=signed)
        if not signed:
            return self.send(403, json.dumps({"__type": "UnrecognizedClientException",
                                              "message": "not signed by the role"}),
                             "application/x-amz-json-1.1")
        if target != "AmazonSSM.GetParameters":
            return self.send(400, json.dumps({"__type": "InvalidAction"}),
                             "application/x-amz-json-1.1")
        req = json.loads(body)
        with open(self.server.params_path) as f:  # reread: tests change it
            params = json.load(f)
        found = [{"Name": n, "Type": "SecureString" if n.endswith("password") else "String",
                  "Value": params[n], "Version": 1}
                 for n in req["Names"] if n in params]
        missing = [n for n in req["Names"] if n not in params]
        if not req.get("WithDecryption"):
            for p in found:
                if p["Type"] == "SecureString":
                    p["Value"] = "AQICAH-encrypted-blob"
        self.send(200, json.dumps({"Parameters": found, "InvalidParameters": missing}),
                  "application/x-amz-json-1.1")


def main():
    port, params, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.params_path = params
    server.calls = []
    server.log = log
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
