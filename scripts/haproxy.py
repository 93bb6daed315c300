"""HAProxy's runtime API on a stats socket (`stats socket ... level
admin`): one command a connection, and one backend's servers as
`show stat` lists them.

    lb = StatsSocket(path, "targets")
    lb.cmd("set server targets/a state drain")   # HAProxy's answer, as text
    lb.servers()                                 # {server: (status, sessions)}

scripts/rollout.py drives the rolling update with it; the tests' make
cluster helper (tests/lib/cluster.py) reads the balancer's view with it.
"""
import socket


class StatsSocket:
    def __init__(self, path, backend, timeout=5):
        self.path = path
        self.backend = backend
        self.timeout = timeout

    def cmd(self, line):
        """Sends one command and returns the whole answer, stripped."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
            s.sendall(line.encode() + b"\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        return data.decode(errors="replace").strip()

    def servers(self):
        """{server: (status, current sessions)} of the backend's servers,
        its BACKEND and FRONTEND rows left out.  The CSV's columns are
        found by the names in its header line."""
        lines = self.cmd("show stat").splitlines()
        names = lines[0].lstrip("# ").split(",") if lines and lines[0].startswith("#") else []
        if not {"pxname", "svname", "status", "scur"} <= set(names):
            raise ValueError("not an answer to show stat: %r" % "\n".join(lines[:2]))
        px, sv, st, cur = (names.index(k) for k in ("pxname", "svname", "status", "scur"))
        out = {}
        for line in lines[1:]:
            f = line.split(",")
            if len(f) == len(names) and f[px] == self.backend and \
                    f[sv] not in ("BACKEND", "FRONTEND"):
                out[f[sv]] = (f[st], int(f[cur] or 0))
        return out
