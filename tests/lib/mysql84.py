"""A stand-in for RDS MySQL 8.4's authentication, in front of MariaDB.

A MySQL-protocol proxy on loopback.  Toward the client it is a MySQL
8.4 server: its handshake says version 8.4.3 and caching_sha2_password,
it offers TLS, and it authenticates as MySQL documents that plugin:

- fast authentication: the client's scramble,
  XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + nonce)), checked against
  SHA256(SHA256(pw)) held in the proxy's cache, then 0x01 0x03 and OK;
- on a cache miss, 0x01 0x04 ("perform full authentication"): the client
  sends the password in clear, which the proxy takes only over TLS (a
  plaintext client would ask for the RSA key, 0x02, which is refused);
  a right password enters the cache.

A wrong password is MySQL's ER_ACCESS_DENIED_ERROR, 1045.  The cache
lives as long as the proxy, so a fresh proxy sees full authentication
and a reconnect fast authentication; both are counted (Proxy.stats).

Toward MariaDB it logs in on a connection of its own with the real
password (mysql_native_password), with the capability flags the client
negotiated (less TLS), and then relays the command phase both ways,
packet by packet.  Where MariaDB differs from MySQL in what the program
relies on, the proxy answers as MySQL would: "SET SESSION
max_execution_time = N" (milliseconds, MySQL's) becomes MariaDB's
max_statement_time, and MariaDB's statement timeout (1969) reaches the
client as MySQL's ER_QUERY_TIMEOUT (3024).  When MariaDB cannot be
reached, the client's connection is closed before any handshake, as a
server that is down would.

Python's standard library only; the certificates come from lib.tls.
"""
import hashlib
import os
import re
import select
import socket
import ssl
import struct
import threading

VERSION = b"8.4.3"
PLUGIN = b"caching_sha2_password"

# capability flags
LONG_PASSWORD = 1           # "CLIENT_MYSQL" to MariaDB: a MySQL peer
CONNECT_WITH_DB = 1 << 3
PROTOCOL_41 = 1 << 9
SSL = 1 << 11
SECURE_CONNECTION = 1 << 15
PLUGIN_AUTH = 1 << 19
CONNECT_ATTRS = 1 << 20
PLUGIN_AUTH_LENENC = 1 << 21
# what MySQL 8.4 offers that MariaDB cannot relay: zstd, query
# attributes, multi-factor authentication
MYSQL_ONLY = (1 << 26) | (1 << 27) | (1 << 28)

ER_ACCESS_DENIED = 1045
ER_STATEMENT_TIMEOUT = 1969     # MariaDB's max_statement_time
ER_QUERY_TIMEOUT = 3024         # MySQL's max_execution_time
QUERY_TIMEOUT_MESSAGE = ("Query execution was interrupted, maximum statement "
                         "execution time exceeded")
SET_LIMIT = re.compile(rb"(?i)^\s*SET\s+SESSION\s+max_execution_time\s*=\s*(\d+)\s*$")


def sha256(b):
    return hashlib.sha256(b).digest()


def sha1(b):
    return hashlib.sha1(b).digest()


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def sha2_scramble(password, nonce):
    """What a caching_sha2_password client sends for password and nonce."""
    p1 = sha256(password)
    return xor(p1, sha256(sha256(p1) + nonce))


def native_scramble(password, nonce):
    """mysql_native_password's answer to nonce."""
    p1 = sha1(password)
    return xor(p1, sha1(nonce + sha1(p1)))


class Closed(Exception):
    pass


class Conn:
    """One side of a MySQL connection: whole packets in and out."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.seq = 0

    def fill(self, most=65536):
        data = self.sock.recv(most)
        if not data:
            raise Closed()
        self.buf += data

    def packet(self):
        """The next packet, whole: (seq, payload).  It reads no byte past
        the packet: after the client's request for TLS, what follows is
        the TLS handshake, for the TLS socket to read."""
        while len(self.buf) < 4:
            self.fill(4 - len(self.buf))
        n = int.from_bytes(self.buf[:3], "little")
        while len(self.buf) < 4 + n:
            self.fill(4 + n - len(self.buf))
        seq, payload = self.buf[3], self.buf[4:4 + n]
        self.buf = self.buf[4 + n:]
        self.seq = (seq + 1) & 0xff
        return seq, payload

    def send(self, payload, seq=None):
        if seq is not None:
            self.seq = seq
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xff

    def has_packet(self):
        return len(self.buf) >= 4 and len(self.buf) >= 4 + int.from_bytes(self.buf[:3],
                                                                           "little")


def err_packet(code, state, msg):
    return b"\xff" + struct.pack("<H", code) + b"#" + state + msg.encode()


def cstr(b, i):
    """The NUL-terminated string at b[i:], and the offset after it."""
    j = b.index(b"\0", i)
    return b[i:j], j + 1


def lenenc(b, i):
    """A length-encoded integer at b[i:], and the offset after it."""
    c = b[i]
    if c < 0xfb:
        return c, i + 1
    size = {0xfc: 2, 0xfd: 3, 0xfe: 8}[c]
    return int.from_bytes(b[i + 1:i + 1 + size], "little"), i + 1 + size


def lenenc_bytes(b):
    n = len(b)
    if n < 0xfb:
        return bytes([n]) + b
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little") + b
    return b"\xfd" + n.to_bytes(3, "little") + b


class Proxy:
    """Listens on 127.0.0.1:port; relays to MariaDB at backend (host,
    port).  users(name) gives the real password of a user, or None.
    cert_dir holds server-cert.pem and server-key.pem (lib.tls); None
    offers no TLS.  stats counts what happened (see the keys below)."""

    def __init__(self, backend, users, cert_dir=None, port=0):
        self.backend = backend
        self.users = users
        self.cache = {}       # user -> SHA256(SHA256(password))
        self.lock = threading.Lock()
        self.stats = dict(connections=0, tls=0, fast_auth=0, full_auth=0, denied=0,
                          refused_plaintext=0, backend_down=0, limits=[],
                          timeouts=0, plugins=[])
        self.ctx = None
        if cert_dir is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(os.path.join(cert_dir, "server-cert.pem"),
                                     os.path.join(cert_dir, "server-key.pem"))
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.conns = set()
        self.stopping = False
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def count(self, key, value=None):
        with self.lock:
            if value is None:
                self.stats[key] += 1
            else:
                self.stats[key].append(value)

    def snapshot(self):
        with self.lock:
            return {k: (list(v) if isinstance(v, list) else v)
                    for k, v in self.stats.items()}

    def forget(self):
        """Empties the cache, as a server restart does."""
        with self.lock:
            self.cache.clear()

    def stop(self):
        self.stopping = True
        self.listener.close()
        with self.lock:
            socks = list(self.conns)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)

    def accept_loop(self):
        while not self.stopping:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def track(self, *socks, add=True):
        with self.lock:
            for s in socks:
                (self.conns.add if add else self.conns.discard)(s)

    def serve(self, csock):
        client, back = Conn(csock), None
        self.track(csock)
        try:
            csock.settimeout(30)
            try:
                back = Conn(socket.create_connection(self.backend, timeout=10))
            except OSError:
                self.count("backend_down")
                return
            self.track(back.sock)
            self.count("connections")
            _, greeting = back.packet()
            resp = self.authenticate(client, self.server_caps(greeting))
            if resp is None:
                return
            ok = self.backend_login(back, greeting, resp)
            if ok is None:
                client.send(err_packet(ER_ACCESS_DENIED, b"28000", "backend login failed"))
                return
            client.send(ok)
            client.sock.settimeout(None)
            back.sock.settimeout(None)
            self.relay(client, back)
        except (Closed, OSError, ValueError, ssl.SSLError):
            pass  # either side went away: close both
        finally:
            for c in (client, back):
                if c is not None:
                    self.track(c.sock, add=False)
                    try:
                        c.sock.close()
                    except OSError:
                        pass

    @staticmethod
    def server_caps(greeting):
        """MariaDB's capability flags, lower 32 bits."""
        _, i = cstr(greeting, 1)
        i += 4 + 8 + 1             # thread id, scramble part 1, filler
        low = struct.unpack_from("<H", greeting, i)[0]
        high = struct.unpack_from("<H", greeting, i + 3)[0]
        return low | high << 16

    def authenticate(self, client, bcaps):
        """MySQL 8.4's side of the handshake on client (whose socket
        becomes a TLS one if the client asks).  Returns the parsed
        handshake response, or None when refused."""
        nonce = bytes(b % 94 + 33 for b in os.urandom(20))  # printable, no NUL
        caps = (bcaps | LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH
                | PLUGIN_AUTH_LENENC | CONNECT_ATTRS) & ~MYSQL_ONLY
        if self.ctx is not None:
            caps |= SSL
        else:
            caps &= ~SSL
        hello = (b"\x0a" + VERSION + b"\0" + struct.pack("<I", 8) + nonce[:8] + b"\0"
                 + struct.pack("<H", caps & 0xffff) + bytes([255])   # utf8mb4_0900_ai_ci
                 + struct.pack("<H", 2) + struct.pack("<H", caps >> 16)
                 + bytes([21]) + b"\0" * 10 + nonce[8:] + b"\0" + PLUGIN + b"\0")
        client.send(hello, seq=0)
        _, p = client.packet()
        tls = False
        if len(p) == 32 and struct.unpack_from("<I", p)[0] & SSL:
            if self.ctx is None:
                return None
            self.track(client.sock, add=False)
            client.sock = self.ctx.wrap_socket(client.sock, server_side=True)
            self.track(client.sock)
            tls = True
            self.count("tls")
            _, p = client.packet()
        resp = self.parse_response(p)
        self.count("plugins", resp["plugin"].decode())
        user = resp["user"].decode()
        real = self.users(user)
        denied = err_packet(ER_ACCESS_DENIED, b"28000",
                            "Access denied for user '%s'@'127.0.0.1' (using password: %s)"
                            % (user, "YES" if resp["auth"] else "NO"))
        if resp["plugin"] != PLUGIN:
            # a client on another plugin is switched to ours
            client.send(b"\xfe" + PLUGIN + b"\0" + nonce + b"\0")
            _, resp["auth"] = client.packet()
        with self.lock:
            cached = self.cache.get(user)
        if real is None:
            self.count("denied")
            client.send(denied)
            return None
        if real == "" and resp["auth"] in (b"", b"\0"):
            return resp
        if cached is not None:
            # fast authentication
            if len(resp["auth"]) == 32 and \
                    sha256(xor(resp["auth"], sha256(cached + nonce))) == cached:
                self.count("fast_auth")
                client.send(b"\x01\x03")
                return resp
            self.count("denied")
            client.send(denied)
            return None
        client.send(b"\x01\x04")           # perform full authentication
        _, p = client.packet()
        if not tls:
            # the client asks for the RSA key (0x02) or sent a scramble:
            # MySQL takes a clear password only over a secure transport
            self.count("refused_plaintext")
            client.send(err_packet(2061, b"HY000",
                                   "Authentication requires secure connection."))
            return None
        if p.rstrip(b"\0") != real.encode():
            self.count("denied")
            client.send(denied)
            return None
        with self.lock:
            self.cache[user] = sha256(sha256(real.encode()))
        self.count("full_auth")
        return resp

    @staticmethod
    def parse_response(p):
        """HandshakeResponse41: flags, charset, user, auth, db, plugin."""
        flags, _maxp, charset = struct.unpack_from("<IIB", p)
        user, i = cstr(p, 32)
        if flags & PLUGIN_AUTH_LENENC:
            n, i = lenenc(p, i)
        else:
            n, i = p[i], i + 1
        auth, i = p[i:i + n], i + n
        db = b""
        if flags & CONNECT_WITH_DB and i < len(p):
            db, i = cstr(p, i)
        plugin = b""
        if flags & PLUGIN_AUTH and i < len(p):
            plugin, i = cstr(p, i)
        return dict(flags=flags, charset=charset, user=user, auth=auth, db=db,
                    plugin=plugin)

    def backend_login(self, back, greeting, resp):
        """Logs in to MariaDB as resp's user with the real password;
        returns the OK packet's payload, or None."""
        _, i = cstr(greeting, 1)
        nonce = greeting[i + 4:i + 12]
        i += 4 + 8 + 1 + 2 + 1 + 2 + 2
        alen = greeting[i]
        i += 1 + 10
        nonce += greeting[i:i + max(13, alen - 8)].rstrip(b"\0")
        password = (self.users(resp["user"].decode()) or "").encode()
        flags = (resp["flags"] & ~(SSL | CONNECT_ATTRS | PLUGIN_AUTH_LENENC)
                 | LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH)
        if resp["db"]:
            flags |= CONNECT_WITH_DB
        auth = native_scramble(password, nonce[:20]) if password else b""
        p = (struct.pack("<IIB", flags, 1 << 24, resp["charset"]) + b"\0" * 23
             + resp["user"] + b"\0" + bytes([len(auth)]) + auth)
        if flags & CONNECT_WITH_DB:
            p += resp["db"] + b"\0"
        p += b"mysql_native_password\0"
        back.send(p, seq=1)
        while True:
            _, r = back.packet()
            if r[:1] == b"\x00":
                return r
            if r[:1] == b"\xfe" and len(r) > 1:     # switch, to native again
                plugin, j = cstr(r, 1)
                if plugin != b"mysql_native_password":
                    return None
                back.send(native_scramble(password, r[j:j + 20]))
                continue
            return None

    def relay(self, client, back):
        """The command phase, packet by packet, until either side closes."""
        while True:
            pending = [c for c in (client, back) if c.has_packet()]
            if not pending and isinstance(client.sock, ssl.SSLSocket) and \
                    client.sock.pending():
                client.fill()
                continue
            if not pending:
                r, _, _ = select.select([client.sock, back.sock], [], [])
                for c in (client, back):
                    if c.sock in r:
                        c.fill()
                continue
            for c in pending:
                seq, p = c.packet()
                if c is client:
                    back.send(self.to_backend(seq, p), seq=seq)
                else:
                    client.send(self.to_client(p), seq=seq)

    def to_backend(self, seq, p):
        """A client packet as MariaDB should see it."""
        m = SET_LIMIT.match(p[1:]) if seq == 0 and p[:1] == b"\x03" else None
        if m is None:
            return p
        ms = int(m.group(1))
        self.count("limits", ms)
        return b"\x03" + ("SET SESSION max_statement_time = %d.%03d"
                          % (ms // 1000, ms % 1000)).encode()

    def to_client(self, p):
        """A MariaDB packet as MySQL 8.4 would send it."""
        if p[:1] == b"\xff" and len(p) >= 3 and len(p) < 0xffffff and \
                struct.unpack_from("<H", p, 1)[0] == ER_STATEMENT_TIMEOUT:
            self.count("timeouts")
            return err_packet(ER_QUERY_TIMEOUT, b"HY000", QUERY_TIMEOUT_MESSAGE)
        return p
