"""make bench, gzip: what compressing the pages costs and saves, side by
side in one run on one nginx (the production site, gzip level 1).

For each page it runs wrk twice, bounded in time, once asking for gzip
and once not, and reads the CPU time nginx's worker spent from /proc:
CPU per page with and without gzip, and the bytes each sends.  Then, for
pages of 1 to 100 rows, the bytes saved, to place gzip_min_length.

    python3 bench/compress.py [--quick] [--seconds S]

It prints one table and writes it to build/bench/gzip.txt, and the raw
figures to build/bench/gzip.json.
"""
import argparse
import gzip
import http.client
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from lib import TOP  # noqa: E402
from lib.localstack import Stack  # noqa: E402

OUT = os.path.join(TOP, "build", "bench")
# The site's gzip_min_length: answers of a known length below it (every
# page under 16 KiB carries a Content-Length) stay plain.
with open(os.path.join(TOP, "nginx", "fcgi-app.conf")) as f:
    GZIP_MIN_LENGTH = int(re.search(r"^\s*gzip_min_length (\d+);", f.read(), re.M).group(1))
TICK = os.sysconf("SC_CLK_TCK")


def nginx_cpu(state):
    """CPU seconds (user + system) of the nginx workers of an instance."""
    with open(os.path.join(state, "nginx.pid")) as f:
        master = int(f.read())
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def wrk(url, seconds, gz):
    args = ["wrk", "-t1", "-c8", "-d%ds" % seconds, "--timeout", "5s"]
    if gz:
        args += ["-H", "Accept-Encoding: gzip"]
    p = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 30)
    if p.returncode != 0 or "Requests/sec" not in p.stdout:
        raise RuntimeError("wrk failed:\n" + p.stdout + p.stderr)
    if "Non-2xx" in p.stdout or "Socket errors" in p.stdout:
        raise RuntimeError("wrk saw errors:\n" + p.stdout)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", p.stdout).group(1)),
            "requests": int(re.search(r"(\d+) requests in", p.stdout).group(1))}


def sizes(port, path):
    """(bytes plain, bytes gzipped) of one page's body, checked equal; a
    body shorter than gzip_min_length is checked to come plain both ways."""
    def get(headers):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        body = r.read()
        enc = r.getheader("content-encoding")
        c.close()
        if r.status != 200:
            raise RuntimeError("%s answered %d" % (path, r.status))
        return body, enc
    plain, enc = get({})
    packed, enc2 = get({"Accept-Encoding": "gzip"})
    if len(plain) < GZIP_MIN_LENGTH:
        if enc is not None or enc2 is not None or packed != plain:
            raise RuntimeError("%s: %d bytes, below gzip_min_length, came compressed (%s, %s)"
                               % (path, len(plain), enc, enc2))
    elif enc is not None or enc2 != "gzip" or gzip.decompress(packed) != plain:
        raise RuntimeError("%s: gzip did not round-trip (%s, %s)" % (path, enc, enc2))
    return len(plain), len(packed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=int, default=None)
    args = ap.parse_args()
    secs = args.seconds or (1 if args.quick else 5)
    os.makedirs(OUT, exist_ok=True)
    stack = Stack()
    results = {"pages": [], "sizes": []}
    try:
        stack.up()
        stack.sql("CREATE TABLE sized LIKE demo;"
                  "INSERT INTO sized (id, name, city, note, price, created_at) "
                  "SELECT seq, CONCAT('name ', seq), '서울 Seoul', 'a <b>note</b> & more', "
                  "seq / 100, '2024-03-01 09:00:00' FROM seq_1_to_1000;"
                  "GRANT SELECT ON sized TO 'fcgi_app'@'%';")
        web = stack.web_start("rows", settings={"table": "sized", "workers": 4})
        base = "http://127.0.0.1:%d" % web.port
        pages = ["/?limit=10", "/?format=json&limit=10", "/?limit=100",
                 "/?format=json&limit=100", "/?limit=1000", "/?format=json&limit=1000"]
        for path in pages:
            wrk(base + path, 1, True)  # warm up
            row = {"page": path}
            row["bytes"], row["gzip_bytes"] = sizes(web.port, path)
            for gz in (False, True):
                before = nginx_cpu(web.state)
                w = wrk(base + path, secs, gz)
                cpu = nginx_cpu(web.state) - before
                key = "gzip" if gz else "plain"
                row[key + "_rps"] = w["rps"]
                row[key + "_nginx_us"] = cpu / max(w["requests"], 1) * 1e6
            results["pages"].append(row)
        for n in (1, 2, 3, 5, 10, 20, 50, 100):
            for fmt in ("", "&format=json"):
                plain, packed = sizes(web.port, "/?limit=%d%s" % (n, fmt))
                results["sizes"].append({"rows": n, "format": "json" if fmt else "html",
                                         "bytes": plain, "gzip_bytes": packed})
    finally:
        stack.down()

    lines = ["gzip level 1 (nginx/fcgi-app.conf), one nginx worker, wrk -c8, %d s a run" % secs,
             "%-26s %8s %8s %6s %9s %9s %7s %10s %10s" % (
                 "page", "bytes", "gzipped", "ratio", "req/s", "gz req/s", "ratio",
                 "nginx us", "gz us")]
    for r in results["pages"]:
        lines.append("%-26s %8d %8d %6.2f %9.0f %9.0f %7.2f %10.1f %10.1f" % (
            r["page"], r["bytes"], r["gzip_bytes"], r["gzip_bytes"] / r["bytes"],
            r["plain_rps"], r["gzip_rps"], r["gzip_rps"] / r["plain_rps"],
            r["plain_nginx_us"], r["gzip_nginx_us"]))
    lines.append("")
    lines.append("%-6s %-5s %8s %8s %8s" % ("rows", "fmt", "bytes", "gzipped", "saved"))
    for s in results["sizes"]:
        lines.append("%-6d %-5s %8d %8d %8d" % (s["rows"], s["format"], s["bytes"],
                                               s["gzip_bytes"], s["bytes"] - s["gzip_bytes"]))
    table = "\n".join(lines) + "\n"
    print(table, end="")
    with open(os.path.join(OUT, "gzip.txt"), "w") as f:
        f.write(table)
    with open(os.path.join(OUT, "gzip.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
