"""Certificates for tests: a CA of our own and server certificates it
signs, made with openssl in a folder the unprivileged workers can read."""
import os
import subprocess


def openssl(d, *args):
    subprocess.run(("openssl",) + args, cwd=d, check=True, capture_output=True, timeout=60)


def make_ca(d, name="fcgi-app test CA"):
    """d/ca.pem and d/ca-key.pem."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=" + name, "-keyout", "ca-key.pem", "-out", "ca.pem")
    os.chmod(os.path.join(d, "ca.pem"), 0o644)


def make_server(d, ca_dir, san="DNS:localhost,IP:127.0.0.1"):
    """d/server-cert.pem (signed by the CA in ca_dir, for san),
    d/server-key.pem, and a copy of the CA as d/ca.pem: the layout
    scripts/db.sh takes in DB_TLS_DIR."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=fcgi-app test db",
            "-keyout", "server-key.pem", "-out", "server.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    ca = os.path.join(ca_dir, "ca.pem")
    openssl(d, "x509", "-req", "-in", "server.csr", "-CA", ca,
            "-CAkey", os.path.join(ca_dir, "ca-key.pem"), "-CAcreateserial",
            "-CAserial", os.path.join(d, "ca.srl"), "-days", "2", "-extfile", "san.ext",
            "-out", "server-cert.pem")
    if os.path.abspath(ca_dir) != os.path.abspath(d):
        with open(ca) as src, open(os.path.join(d, "ca.pem"), "w") as dst:
            dst.write(src.read())
    for name in os.listdir(d):  # keys for the server's user only
        os.chmod(os.path.join(d, name), 0o600 if name.endswith("key.pem") else 0o644)
