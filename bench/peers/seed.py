"""The Python peer of make bench: the hand-built setup's server, a
Python http.server that opens a database connection for every request
(PyMySQL), forked into as many processes as the other peers have
workers, all accepting on one socket.  nginx proxies to it.

    PEER_USER=.. PEER_PASSWORD=.. python3 seed.py PORT SOCKET DB TABLE PROCESSES
"""
import html
import http.server
import json
import os
import sys
import urllib.parse

import pymysql


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            limit = int(q.get("limit", ["100"])[0])
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            self.send_error(400, "bad limit")
            return
        try:
            conn = pymysql.connect(unix_socket=SOCKET, user=os.environ["PEER_USER"],
                                   password=os.environ["PEER_PASSWORD"], database=DB,
                                   charset="utf8mb4")
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT * FROM `%s` ORDER BY id LIMIT %%s" % TABLE, (limit,))
                    cols = [d[0] for d in cur.description]
                    rows = cur.fetchall()
            finally:
                conn.close()
        except pymysql.MySQLError:
            self.send_error(503, "database unavailable")
            return
        if q.get("format") == ["json"]:
            body = json.dumps({"rows": [dict(zip(cols, (None if v is None else str(v)
                                                        for v in r))) for r in rows]},
                              ensure_ascii=False).encode() + b"\n"
            ctype = "application/json"
        else:
            cells = "".join("<tr>%s</tr>\n" % "".join(
                '<td class="null">NULL</td>' if v is None else "<td>%s</td>" % html.escape(str(v))
                for v in r) for r in rows)
            body = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>"
                    "</head><body><table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
                    "</body></html>\n" % (html.escape(TABLE), "".join(
                        "<th>%s</th>" % html.escape(c) for c in cols), cells)).encode()
            ctype = "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    PORT, SOCKET, DB, TABLE, PROCS = (int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                                      int(sys.argv[5]))
    http.server.HTTPServer.request_queue_size = 1024
    server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
    for _ in range(PROCS - 1):
        if os.fork() == 0:
            break
    server.serve_forever()
