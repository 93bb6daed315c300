"""A FastCGI client for tests: the records of one request, and the
response read back from a socket."""
import struct


def fcgi_record(rtype, content=b"", request_id=1):
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), 0, 0) + content


def fcgi_params(params):
    """FastCGI name-value pairs (all shorter than 128 bytes here)."""
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        out += bytes([len(k), len(v)]) + k + v
    return out


def fcgi_request(params, keep=False):
    """The bytes of one whole FastCGI GET request; keep asks the program
    to keep the connection open after it (FCGI_KEEP_CONN), as nginx's
    fastcgi_keep_conn does."""
    begin = struct.pack(">HB5x", 1, 1 if keep else 0)  # role RESPONDER
    return (fcgi_record(1, begin) + fcgi_record(4, fcgi_params(params)) +
            fcgi_record(4) + fcgi_record(5))


def fcgi_read_response(sock):
    """Reads records until END_REQUEST; returns the STDOUT bytes."""
    buf, stdout = b"", b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before END_REQUEST")
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
            if rtype == 6:
                stdout += content
            elif rtype == 3:
                return stdout
