"""A FastCGI client for tests (FastCGI 1.0): records, name-value pairs
with one- and four-byte lengths, whole requests (any role, kept or not,
with a body, their parameters split across records), management
records, and the records read back from a socket."""
import struct

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = range(1, 8)
DATA, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = range(8, 12)
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
KEEP_CONN = 1
# protocolStatus of FCGI_END_REQUEST
REQUEST_COMPLETE, CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE = range(4)
MAX_CONTENT = 65535


def fcgi_record(rtype, content=b"", request_id=1, padding=0):
    return (struct.pack(">BBHHBB", VERSION, rtype, request_id, len(content), padding, 0) +
            content + b"\0" * padding)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def fcgi_params(params):
    """FastCGI name-value pairs: a length under 128 in one byte, longer
    ones in four, the high bit set (FastCGI 1.0, 3.4)."""
    out = b""
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _length(len(k)) + _length(len(v)) + k + v
    return out


def fcgi_stream(rtype, data, request_id=1, chunk=MAX_CONTENT):
    """A stream (PARAMS, STDIN): data in records of at most chunk bytes,
    then the empty record that ends it."""
    out = b""
    for i in range(0, len(data), chunk):
        out += fcgi_record(rtype, data[i:i + chunk], request_id)
    return out + fcgi_record(rtype, b"", request_id)


def fcgi_begin(request_id=1, role=RESPONDER, keep=False):
    return fcgi_record(BEGIN_REQUEST, struct.pack(">HB5x", role, KEEP_CONN if keep else 0),
                       request_id)


def fcgi_request(params, keep=False, role=RESPONDER, request_id=1, stdin=b"",
                 chunk=MAX_CONTENT):
    """The bytes of one whole request; keep asks the program to keep the
    connection (FCGI_KEEP_CONN, as nginx's fastcgi_keep_conn does);
    chunk bounds the bytes of parameters in each record."""
    return (fcgi_begin(request_id, role, keep) +
            fcgi_stream(PARAMS, fcgi_params(params), request_id, chunk) +
            fcgi_stream(STDIN, stdin, request_id))


def fcgi_get_values(names):
    """An FCGI_GET_VALUES management record asking for names."""
    return fcgi_record(GET_VALUES, fcgi_params({n: "" for n in names}), request_id=0)


def parse_pairs(data):
    """The name-value pairs in data, as a dict of str."""
    out, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            if data[i] & 0x80:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(data[i])
                i += 1
        k, v = data[i:i + lens[0]], data[i + lens[0]:i + lens[0] + lens[1]]
        i += lens[0] + lens[1]
        out[k.decode()] = v.decode()
    return out


class Reader:
    """The records coming back on a socket, one at a time."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def record(self):
        """(type, request id, content), or None when the peer closed."""
        while True:
            if len(self.buf) >= 8:
                _, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", self.buf[:8])
                if len(self.buf) >= 8 + clen + plen:
                    content = self.buf[8:8 + clen]
                    self.buf = self.buf[8 + clen + plen:]
                    return rtype, rid, content
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def response(self, request_id=1):
        """Reads until the END_REQUEST of request_id: (its STDOUT bytes,
        its protocolStatus, [the other records seen meanwhile]).  Raises
        ConnectionError if the connection closes first."""
        stdout, others = b"", []
        while True:
            r = self.record()
            if r is None:
                raise ConnectionError("connection closed before END_REQUEST")
            rtype, rid, content = r
            if rid == request_id and rtype == STDOUT:
                stdout += content
            elif rid == request_id and rtype == END_REQUEST:
                return stdout, content[4], others
            else:
                others.append(r)


def fcgi_read_response(sock):
    """Reads records until END_REQUEST; returns the STDOUT bytes."""
    return Reader(sock).response()[0]
