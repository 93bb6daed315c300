"""Stand-ins for the AWS endpoints an instance talks to at boot: the
instance metadata service (IMDSv2 only: every GET must carry a session
token) with a role's credentials, SSM Parameter Store's GetParameters,
and (for a booted image) CloudFormation's SignalResource.  The SSM and
CloudFormation sides check that calls are signed with the role's
credentials.

    python3 aws_standin.py PORT PARAMS.json LOG.json
        one HTTP server on 127.0.0.1:PORT: the metadata service and SSM
    python3 aws_standin.py --dir DIR --meta META.json PARAMS.json LOG.json
        for a qemu guest (the test forwards guest addresses to these):
        DIR/imds.sock  the metadata service, with everything cloud-init's
                       EC2 datasource reads (META.json: instance_id, zone,
                       mac, user_data file, ssh_key, ami_id)
        DIR/ssm.sock   SSM over plain HTTP (FCGI_APP_SSM_ENDPOINT)
        DIR/cfn.sock   an HTTPS proxy (HTTPS_PROXY) that answers CONNECT
                       to cloudformation.REGION.amazonaws.com:443 itself,
                       with META.json's tls_cert and tls_key

PARAMS.json maps parameter names to values (read at each call); LOG.json
receives the calls, rewritten after each one.
"""
import argparse
import json
import os
import secrets
import socketserver
import ssl
import sys
import threading
import urllib.parse
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
# the metadata versions cloud-init asks for, and "latest"
VERSIONS = ("latest", "2021-03-23", "2018-09-24", "2016-09-02", "2009-04-04")
CFN_HOST = "cloudformation.%s.amazonaws.com:443" % REGION


def meta_cidr(meta):
    """The guest's network stands for its VPC."""
    return meta.get("vpc_cidr", "169.254.0.0/16")


def metadata_tree(meta):
    """The instance's meta-data as nested dicts; leaves are strings."""
    iid, zone, mac = meta["instance_id"], meta["zone"], meta["mac"]
    ip = meta.get("local_ipv4", "169.254.0.15")
    host = "ip-%s.%s.compute.internal" % (ip.replace(".", "-"), REGION)
    tree = {
        "ami-id": meta.get("ami_id", "ami-0fcgiapplocal00001"),
        "ami-launch-index": "0",
        "hostname": host, "local-hostname": host, "local-ipv4": ip,
        "instance-id": iid, "instance-type": "t2.micro", "mac": mac,
        "placement": {"availability-zone": zone, "region": REGION},
        "services": {"domain": "amazonaws.com", "partition": "aws"},
        "iam": {"info": json.dumps({"Code": "Success", "InstanceProfileArn":
                                    "arn:aws:iam::123456789012:instance-profile/" + ROLE}),
                "security-credentials": {ROLE: json.dumps(CREDS)}},
        "network": {"interfaces": {"macs": {mac: {
            "device-number": "0", "interface-id": "eni-0fcgiapp0000001",
            "local-hostname": host, "local-ipv4s": ip, "mac": mac,
            "owner-id": "123456789012", "subnet-id": "subnet-0fcgiapp000001",
            "vpc-id": "vpc-0fcgiapp0000001", "vpc-ipv4-cidr-block": meta_cidr(meta),
            "vpc-ipv4-cidr-blocks": meta_cidr(meta)}}}},
    }
    if meta.get("ssh_key"):
        tree["public-keys"] = {"0=fcgi-app-test": {"openssh-key": meta["ssh_key"]}}
    return tree


def lookup(tree, parts):
    """The node at parts (public-keys/0/ names the key "0=name")."""
    node = tree
    for p in parts:
        if not isinstance(node, dict):
            return None
        if p not in node:
            p = next((k for k in node if k.split("=", 1)[0] == p and "=" in k), None)
            if p is None:
                return None
        node = node[p]
    return node


def listing(node):
    """A folder's entries; as EC2 lists keys, "0=name" has no slash."""
    return "\n".join(k + "/" if isinstance(v, dict) and "=" not in k else k
                     for k, v in node.items())


def signed_for(headers, service):
    auth = headers.get("Authorization", "")
    return ("AWS4-HMAC-SHA256 Credential=%s/" % CREDS["AccessKeyId"] in auth
            and "/%s/%s/aws4_request" % (REGION, service) in auth
            and headers.get("X-Amz-Security-Token") == CREDS["Token"])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, **kw):
        with self.server.lock:
            self.server.calls.append(dict(role=self.server.role, method=self.command,
                                          path=self.path, **kw))
            tmp = self.server.log + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.server.calls, f)
            os.replace(tmp, self.server.log)

    def send(self, status, body, ctype="text/plain"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    # --- the metadata service ---------------------------------------------
    def do_PUT(self):
        if self.server.role not in ("imds", "both"):
            return self.send(405, "")
        ok = (self.path == "/latest/api/token"
              and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"))
        self.record(token=False, status=200 if ok else 400)
        if not ok:
            return self.send(400, "bad token request")
        self.send(200, TOKEN)

    def do_GET(self):
        if self.server.role not in ("imds", "both"):
            return self.send(405, "")
        has_token = self.headers.get("X-aws-ec2-metadata-token") == TOKEN
        body = self.imds_page(self.path) if has_token else None
        status = 401 if not has_token else 200 if body is not None else 404
        self.record(token=has_token, status=status)
        if status != 200:
            return self.send(status, "")
        self.send(200, body)

    def imds_page(self, path):
        meta = self.server.meta
        if meta is None:  # the loopback stand-in of the chroot rehearsal
            pages = {
                "/latest/meta-data/placement/region": REGION,
                "/latest/meta-data/mac": MAC,
                "/latest/meta-data/network/interfaces/macs/%s/vpc-ipv4-cidr-blocks" % MAC:
                    VPC_CIDR,
                "/latest/meta-data/iam/security-credentials/": ROLE,
                "/latest/meta-data/iam/security-credentials/" + ROLE: json.dumps(CREDS),
            }
            return pages.get(path)
        path = urllib.parse.unquote(path.split("?", 1)[0])
        if path == "/":
            return "\n".join(VERSIONS[1:] + ("latest",))
        parts = path.strip("/").split("/")
        if parts[0] not in VERSIONS:
            return None
        if parts[1:] == ["user-data"]:
            with open(meta["user_data"], "rb") as f:
                return f.read()
        md = metadata_tree(meta)
        identity = {"accountId": "123456789012", "architecture": "x86_64",
                    "availabilityZone": meta["zone"], "imageId": md["ami-id"],
                    "instanceId": meta["instance_id"], "instanceType": "t2.micro",
                    "privateIp": md["local-ipv4"], "region": REGION, "version": "2017-09-30"}
        tree = {"dynamic": {"instance-identity": {"document": json.dumps(identity)}},
                "meta-data": md, "user-data": ""}
        node = lookup(tree, [p for p in parts[1:] if p])
        if node is None:
            return None
        return listing(node) if isinstance(node, dict) else node

    # --- SSM Parameter Store and CloudFormation ------------------------------
    def do_POST(self):
        body = self.read_body()
        if self.server.role == "cfn":
            return self.cloudformation(body)
        if self.server.role not in ("ssm", "both"):
            return self.send(405, "")
        signed = signed_for(self.headers, "ssm")
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

    def do_CONNECT(self):
        """The HTTPS proxy: a tunnel to CloudFormation is answered here,
        over TLS with the test's certificate; nothing else is let out."""
        if self.server.role != "cfn" or self.path != CFN_HOST:
            self.record(connect=self.path, status=403)
            return self.send(403, "")
        self.record(connect=self.path, status=200)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.connection = self.server.tls.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = socketserver._SocketWriter(self.connection)
        self.close_connection = False  # the next requests come through TLS

    def cloudformation(self, body):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        signed = signed_for(self.headers, "cloudformation")
        self.record(form=form, signed=signed, tls=isinstance(self.connection, ssl.SSLSocket))
        ns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
        if not signed or form.get("Action") != "SignalResource":
            return self.send(403, '<ErrorResponse xmlns="%s"><Error><Type>Sender</Type>'
                             '<Code>AccessDenied</Code></Error></ErrorResponse>' % ns, "text/xml")
        self.send(200, '<SignalResourceResponse xmlns="%s"><ResponseMetadata><RequestId>'
                  '%s</RequestId></ResponseMetadata></SignalResourceResponse>'
                  % (ns, secrets.token_hex(8)), "text/xml")


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("guest", 0)  # the handler's logging wants a pair


def serve(server, role, args, meta, tls, lock, calls):
    server.role, server.params_path, server.log = role, args.params, args.log
    server.meta, server.tls, server.lock, server.calls = meta, tls, lock, calls
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir")
    ap.add_argument("--meta")
    ap.add_argument("rest", nargs="+")
    args = ap.parse_args()
    lock, calls = threading.Lock(), []
    if args.dir is None:
        port, args.params, args.log = int(args.rest[0]), args.rest[1], args.rest[2]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        serve(server, "both", args, None, None, lock, calls)
    else:
        args.params, args.log = args.rest
        with open(args.meta) as f:
            meta = json.load(f)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(meta["tls_cert"], meta["tls_key"])
        for role in ("imds", "ssm", "cfn"):
            path = os.path.join(args.dir, role + ".sock")
            if os.path.exists(path):
                os.unlink(path)
            serve(UnixServer(path, Handler), role, args, meta, tls, lock, calls)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
