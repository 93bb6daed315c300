"""A raw HTTP/1.x client for hostile requests: sends bytes exactly as
given and reads back every response on the connection."""
import socket
import time


class Reply:
    def __init__(self, status, headers, body):
        self.status = status    # int, or None when no status line came
        self.headers = headers  # {lower-case name: value}
        self.body = body


class Closed(Exception):
    """The server closed the connection; .rest holds what it sent last."""

    def __init__(self, rest):
        super().__init__("connection closed")
        self.rest = rest


def _fill(sock, buf, enough, deadline):
    """Reads until enough(buf); raises Closed if the server closes first."""
    while not enough(buf):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer did not come in time")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise Closed(buf)
        buf += chunk
    return buf


def _read_to_close(sock, buf, deadline):
    """buf and everything the server sends until it closes."""
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk


def _read_until(sock, buf, marker, deadline):
    return _fill(sock, buf, lambda b: marker in b, deadline)


def _read_n(sock, buf, n, deadline):
    return _fill(sock, buf, lambda b: len(b) >= n, deadline)


class NoStatusLine(Exception):
    """What came back does not start with a status line."""

    def __init__(self, rest):
        super().__init__("no status line")
        self.rest = rest


def _read_one(sock, buf, head_only, deadline):
    """Parses one response from buf + the socket; returns (Reply, rest)."""
    buf = _read_until(sock, buf, b"\r\n", deadline)
    if not buf.startswith(b"HTTP/"):
        raise NoStatusLine(buf)
    buf = _read_until(sock, buf, b"\r\n\r\n", deadline)
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise NoStatusLine(head)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(parts[1])
    body = b""
    if head_only or status in (204, 304) or 100 <= status < 200:
        pass
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            buf = _read_until(sock, buf, b"\r\n", deadline)
            size_line, buf = buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            buf = _read_n(sock, buf, size + 2, deadline)
            body, buf = body + buf[:size], buf[size + 2:]
            if size == 0:
                break
    elif "content-length" in headers:
        n = int(headers["content-length"])
        buf = _read_n(sock, buf, n, deadline)
        body, buf = buf[:n], buf[n:]
    else:  # delimited by the close
        body, buf = _read_to_close(sock, buf, deadline), b""
    return Reply(status, headers, body), buf


def exchange(port, data, expect=1, heads=(), seconds=10):
    """Sends data to 127.0.0.1:port and reads up to expect responses
    (those whose index is in heads answer a HEAD: no body).  Returns the
    responses read, and the bytes left over when the server stopped
    answering (an HTTP/0.9 body, say)."""
    replies, buf = [], b""
    deadline = time.monotonic() + seconds
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as s:
        s.sendall(data)
        try:
            for i in range(expect):
                r, buf = _read_one(s, buf, i in heads, deadline)
                replies.append(r)
        except (Closed, NoStatusLine) as e:
            try:  # the rest of what the server sends before it closes
                buf = _read_to_close(s, e.rest, deadline)
            except OSError:
                buf = e.rest
        except ConnectionResetError:
            pass
    return replies, buf
