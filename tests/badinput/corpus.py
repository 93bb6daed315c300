"""The hostile-request corpus: what is sent through nginx, and the answer
each must get.

Each case is (group, what, request bytes, status, by): status is the one
expected (None for an HTTP/0.9 answer, which has no status line), and by
says who must answer: "nginx" for nginx's own error pages, "app" for the
program.  The README's table is printed from this list by the test.
"""

H = b"Host: t\r\n"


def get(target, extra=b"", version=b"HTTP/1.1"):
    return b"GET " + target + b" " + version + b"\r\n" + H + extra + b"\r\n"


CASES = [
    # long URIs
    ("long URI", "query string of 2,100 bytes (over the program's 2,048)",
     get(b"/?limit=" + b"1" * 2092), 400, "app"),
    ("long URI", "path of 9,000 bytes (over nginx's 8 KiB buffer)",
     get(b"/" + b"a" * 9000), 414, "nginx"),
    ("long URI", "query string of 100,000 bytes",
     get(b"/?x=" + b"a" * 100000), 414, "nginx"),
    # many and duplicate parameters
    ("parameters", "300 copies of limit=1", get(b"/?" + b"&".join([b"limit=1"] * 300)), 400, "app"),
    ("parameters", "limit given twice", get(b"/?limit=1&limit=2"), 400, "app"),
    ("parameters", "format given twice", get(b"/?format=json&format=html"), 400, "app"),
    ("parameters", "500 different unknown names", get(b"/?" + b"&".join(
        b"p%d=1" % i for i in range(500))), 400, "app"),
    ("parameters", "empty names and values: &&=&", get(b"/?&&=&"), 400, "app"),
    ("parameters", "negative limit: limit=-1", get(b"/?limit=-1"), 400, "app"),
    ("parameters", "limit=1e3", get(b"/?limit=1e3"), 400, "app"),
    ("parameters", "empty value: limit=", get(b"/?limit="), 400, "app"),
    ("parameters", "limit far over the largest integer",
     get(b"/?limit=99999999999999999999999"), 400, "app"),
    ("parameters", "after = 2^63 (one past the largest key)",
     get(b"/?after=9223372036854775808"), 400, "app"),
    ("parameters", "format=xml", get(b"/?format=xml"), 400, "app"),
    # encodings
    ("encoding", "truncated percent-escape: limit=%3", get(b"/?limit=%3"), 400, "app"),
    ("encoding", "non-hex percent-escape: limit=%zz", get(b"/?limit=%zz"), 400, "app"),
    ("encoding", "encoded NUL in a value: limit=1%00", get(b"/?limit=1%00"), 400, "app"),
    ("encoding", "encoded NUL in the path: /%00", get(b"/%00"), 400, "nginx"),
    ("encoding", "raw NUL byte in the query", get(b"/?a\x00b"), 400, "nginx"),
    ("encoding", "raw byte 0xFF in a value", get(b"/?limit=\xff"), 400, "app"),
    ("encoding", "overlong UTF-8 name: %C0%AF=1", get(b"/?%C0%AF=1"), 400, "app"),
    ("encoding", "invalid UTF-8 in the path: /%FF%FE", get(b"/%FF%FE"), 404, "app"),
    ("encoding", "encoded path traversal: /%2e%2e/%2e%2e/etc/passwd",
     get(b"/%2e%2e/%2e%2e/etc/passwd"), 400, "nginx"),
    ("encoding", "path traversal: /../x", get(b"/../x"), 400, "nginx"),
    ("encoding", "tab in the request target", get(b"/\t"), 400, "nginx"),
    # headers
    ("headers", "one header of 9,000 bytes",
     get(b"/", b"X-Big: " + b"a" * 9000 + b"\r\n"), 400, "nginx"),
    ("headers", "headers of 40,000 bytes in all",
     get(b"/", b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(40))), 400, "nginx"),
    ("headers", "Accept of 6,000 bytes of media ranges",
     get(b"/", b"Accept: " + b"text/x;q=0.1, " * 400 + b"\r\n"), 200, "app"),
    ("headers", "two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "nginx"),
    ("headers", "no Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400, "nginx"),
    ("headers", "Content-Length: -1", get(b"/", b"Content-Length: -1\r\n"), 400, "nginx"),
    ("headers", "Content-Length and Transfer-Encoding together (smuggling)",
     get(b"/", b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n") + b"0\r\n\r\n",
     400, "nginx"),
    ("headers", "unknown Transfer-Encoding: gzip", get(b"/", b"Transfer-Encoding: gzip\r\n"),
     400, "nginx"),
    ("headers", "a body of 5,000 bytes", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 5000\r\n\r\n" + b"x" * 5000, 413, "nginx"),
    # methods
    ("methods", "unknown method FOO", b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 405, "app"),
    ("methods", "DELETE", b"DELETE / HTTP/1.1\r\n" + H + b"\r\n", 405, "app"),
    ("methods", "POST with a small body", b"POST / HTTP/1.1\r\n" + H +
     b"Content-Length: 3\r\n\r\nabc", 405, "app"),
    ("methods", "TRACE", b"TRACE / HTTP/1.1\r\n" + H + b"\r\n", 405, "nginx"),
    ("methods", "CONNECT", b"CONNECT t:80 HTTP/1.1\r\n" + H + b"\r\n", 400, "nginx"),
    ("methods", "OPTIONS *", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", 400, "nginx"),
    ("methods", "lower-case get", b"get / HTTP/1.1\r\n" + H + b"\r\n", 400, "nginx"),
    # protocol versions and framing
    ("protocol", "HTTP/1.0 without Host", b"GET / HTTP/1.0\r\n\r\n", 200, "app"),
    ("protocol", "HTTP/2.0 in an HTTP/1 request line", get(b"/", version=b"HTTP/2.0"),
     400, "nginx"),
    ("protocol", "the HTTP/2 preface on an HTTP/1 port", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
     400, "nginx"),
    ("protocol", "HTTP/0.9: GET / and nothing else", b"GET /\r\n", None, "nginx"),
    ("protocol", "bare LF line ends", b"GET / HTTP/1.1\nHost: t\n\n", 200, "app"),
    ("protocol", "absolute URI with a foreign host", get(b"http://elsewhere.example/"),
     200, "app"),
]
