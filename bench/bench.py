"""make bench: the page against this machine's own limits, in one run.

It starts the local stack (MariaDB, fcgi-app under spawn-fcgi, nginx) and
loads it with wrk over loopback; every load run is bounded in time, and
every database run in count.  It prints one table of figures, each with
its ratio and a pass or fail against its target, and writes it, the raw
numbers and a plot (throughput and p99 latency against connections) to
build/bench/.

    python3 bench/bench.py [--quick] [--workers N] [--seconds S]

--quick is the smoke run of make test: short runs, a 20,000-row table
instead of a 1,000,000-row one, and the targets reported, not enforced.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from stack import Stack, free_port  # noqa: E402

OUT = os.path.join(TOP, "build", "bench")
QUERY = "SELECT * FROM demo WHERE id >= -9223372036854775808 ORDER BY id LIMIT 101"


def wrk(url, conns, seconds):
    """One bounded wrk run; returns its figures."""
    threads = min(2, conns)
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds,
                        "--timeout", "5s", "--latency", url],
                       capture_output=True, text=True, timeout=seconds + 30)
    out = p.stdout
    if p.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError("wrk failed:\n" + out + p.stderr)

    def ms(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "conns": conns,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": ms("50%"), "p99_ms": ms("99%"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0,
    }


def slap(sock, user, clients, queries):
    """The database's own rate for the page's SELECT (count-bounded)."""
    t = time.monotonic()
    p = subprocess.run(["mariadb-slap", "--no-defaults", "--socket=" + sock, "--user=" + user,
                        "--create-schema=fcgi_app", "--concurrency=%d" % clients,
                        "--number-of-queries=%d" % queries, "--iterations=1", "--query=" + QUERY],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("mariadb-slap failed:\n" + p.stdout + p.stderr)
    secs = float(re.search(r"Average number of seconds to run all queries: ([\d.]+)",
                           p.stdout).group(1))
    return {"clients": clients, "queries": queries, "seconds": secs, "qps": queries / secs,
            "wall": time.monotonic() - t}


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def private_kib(pid):
    """Memory that is this process's alone: what one more worker costs."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        text = f.read()
    return sum(int(re.search(r"^%s:\s+(\d+) kB" % k, text, re.M).group(1))
               for k in ("Private_Clean", "Private_Dirty"))


def static_nginx(stack, body):
    """nginx with the local stack's settings, serving the page's exact bytes."""
    state = os.path.join(stack.dir, "static")
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o711)
    page = os.path.join(state, "page.html")
    with open(page, "wb") as f:
        f.write(body)
    port = free_port()
    subprocess.run([os.path.join(TOP, "scripts", "web.sh"), "static", state, str(port), page],
                   check=True, capture_output=True, timeout=60)
    return state, port


def plot(levels, static_levels, path):
    data = os.path.join(OUT, "levels.dat")
    with open(data, "w") as f:
        for a, s in zip(levels, static_levels):
            f.write("%d %.1f %.3f %.1f %.3f\n" % (a["conns"], a["rps"], a["p99_ms"],
                                                   s["rps"], s["p99_ms"]))
    script = """
set terminal pngcairo size 900,500 font ",10"
set output '%s'
set title 'fcgi-app page vs nginx static bytes (wrk, loopback)'
set xlabel 'connections'
set logscale x 2
set ylabel 'requests/s'
set y2label 'p99 latency (ms)'
set ytics nomirror
set y2tics
set key top left
plot '%s' using 1:2 with linespoints title 'page req/s' axes x1y1, \\
     '%s' using 1:4 with linespoints title 'static req/s' axes x1y1, \\
     '%s' using 1:3 with linespoints dashtype 2 title 'page p99 ms' axes x1y2, \\
     '%s' using 1:5 with linespoints dashtype 2 title 'static p99 ms' axes x1y2
""" % (path, data, data, data, data)
    subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=None)
    args = ap.parse_args()
    secs = args.seconds or (1 if args.quick else 10)
    big_rows = 20000 if args.quick else 1000000
    os.makedirs(OUT, exist_ok=True)
    stack = Stack()
    try:
        stack.db_start()
        stack.db_load()
        web = stack.web_start("a", settings={"workers": args.workers})
        url = "http://127.0.0.1:%d/" % web.port
        body = web.get("/").body
        static_state, static_port = static_nginx(stack, body)
        surl = "http://127.0.0.1:%d/" % static_port
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()

        # warm up, then everything side by side in this one run
        wrk(url, 16, 1)
        wrk(surl, 16, 1)
        db = slap(os.path.join(stack.db_state, "mysql.sock"), user, args.workers,
                  2000 if args.quick else 100000)
        levels = [wrk(url, c, secs) for c in (16, 64, 256)]
        static_levels = [wrk(surl, c, secs) for c in (16, 64, 256)]
        rss = [rss_kib(p) for p in web.worker_pids()]
        private = [private_kib(p) for p in web.worker_pids()]

        # growth: a 1,000,000-row table against a 100-row one, same shape
        stack.sql("CREATE TABLE big LIKE demo; CREATE TABLE hundred LIKE demo;"
                  "INSERT INTO big (id, name, city, note, price, created_at) "
                  "SELECT seq, CONCAT('name ', seq), '서울 Seoul', 'a <b>note</b> & more', "
                  "seq / 100, '2024-03-01 09:00:00' FROM seq_1_to_%d;"
                  "INSERT INTO hundred SELECT * FROM big WHERE id <= 100;"
                  "GRANT SELECT ON big TO 'fcgi_app'@'%%';"
                  "GRANT SELECT ON hundred TO 'fcgi_app'@'%%';" % big_rows)
        bigw = stack.web_start("big", settings={"workers": args.workers, "table": "big"})
        hundw = stack.web_start("hundred", settings={"workers": args.workers,
                                                     "table": "hundred"})
        burl = "http://127.0.0.1:%d/" % bigw.port
        hurl = "http://127.0.0.1:%d/" % hundw.port
        wrk(burl + "?limit=100", 16, 1)
        wrk(hurl + "?limit=100", 16, 1)
        rss_big_before = [rss_kib(p) for p in bigw.worker_pids()]
        big100 = wrk(burl + "?limit=100", 64, secs)
        hund100 = wrk(hurl + "?limit=100", 64, secs)
        sizes = {n: wrk(burl + "?limit=%d" % n, 16, secs) for n in (10, 100, 1000)}
        rss_big_after = [rss_kib(p) for p in bigw.worker_pids()]
    finally:
        if "static_state" in locals():
            subprocess.run([os.path.join(TOP, "scripts", "web.sh"), "stop", static_state],
                           capture_output=True, timeout=60)
        stack.stop()
        stack.cleanup()

    at64 = levels[1]
    # per-row cost: the difference between page sizes, per extra row
    per_req = {n: 1e6 / (s["rps"] / s["conns"]) if s["rps"] else 0 for n, s in sizes.items()}
    row_us_small = (per_req[100] - per_req[10]) / 90
    row_us_large = (per_req[1000] - per_req[100]) / 900
    rows = [
        ("T1 page / database SELECT rate", "%.0f / %.0f req/s" % (at64["rps"], db["qps"]),
         at64["rps"] / db["qps"], ">= 0.50", at64["rps"] / db["qps"] >= 0.5),
        ("T2 page / static bytes", "%.0f / %.0f req/s" % (at64["rps"], static_levels[1]["rps"]),
         at64["rps"] / static_levels[1]["rps"], ">= 0.20",
         at64["rps"] / static_levels[1]["rps"] >= 0.2),
        ("T3 p99 at 64 connections", "%.2f ms" % at64["p99_ms"], at64["p99_ms"] / 5.0,
         "<= 5 ms", at64["p99_ms"] <= 5.0),
        ("T3 errors at 16/64/256", "%d non-2xx, %d socket" % (
            sum(l["non2xx"] for l in levels), sum(l["socket_errors"] for l in levels)),
         0.0, "= 0", all(l["non2xx"] == 0 and l["socket_errors"] == 0 for l in levels)),
        ("T4 worker RSS (max)", "%.2f MiB (%.2f MiB private)" % (
            max(rss) / 1024, max(private) / 1024), max(rss) / 4096.0, "<= 4 MiB",
         max(rss) <= 4096),
        ("T5 %d-row / 100-row table" % big_rows, "%.0f / %.0f req/s" % (big100["rps"],
                                                                        hund100["rps"]),
         big100["rps"] / hund100["rps"], "0.80-1.20",
         0.8 <= big100["rps"] / hund100["rps"] <= 1.2),
        ("T5 RSS growth over the big-table runs", "%+d KiB" % (max(rss_big_after) -
                                                              max(rss_big_before)),
         max(rss_big_after) / max(rss_big_before), "flat (<= 1.10)",
         max(rss_big_after) <= 1.1 * max(rss_big_before)),
        ("T5 time per row, 10->100 / 100->1000", "%.2f / %.2f us" % (row_us_small, row_us_large),
         row_us_large / row_us_small if row_us_small > 0 else 0.0, "roughly equal (0.5-2)",
         row_us_small > 0 and 0.5 <= row_us_large / row_us_small <= 2),
    ]
    lines = ["fcgi-app bench: %d workers, wrk -t2 over loopback, %d s per run, %s" % (
        args.workers, secs, "quick smoke" if args.quick else "full"),
        "%-40s %-30s %7s  %-22s %s" % ("figure", "measured", "ratio", "target", "result")]
    for name, value, ratio, target, ok in rows:
        lines.append("%-40s %-30s %7.2f  %-22s %s" % (name, value, ratio, target,
                                                     "pass" if ok else "FAIL"))
    lines.append("")
    lines.append("%-12s %10s %10s %10s %10s %8s" % ("connections", "page req/s", "page p99",
                                                 "static r/s", "static p99", "errors"))
    for a, s in zip(levels, static_levels):
        lines.append("%-12d %10.0f %8.2fms %10.0f %8.2fms %8d" % (
            a["conns"], a["rps"], a["p99_ms"], s["rps"], s["p99_ms"],
            a["non2xx"] + a["socket_errors"]))
    lines.append("database: mariadb-slap, %d clients, %d queries: %.0f q/s" % (
        db["clients"], db["queries"], db["qps"]))
    lines.append("page sizes on the big table (16 connections): " + ", ".join(
        "%d rows %.0f req/s" % (n, s["rps"]) for n, s in sizes.items()))
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"levels": levels, "static": static_levels, "db": db, "rss_kib": rss, "private_kib": private,
                   "big100": big100, "hundred100": hund100, "sizes": sizes,
                   "rss_big": [rss_big_before, rss_big_after],
                   "figures": [{"name": r[0], "measured": r[1], "ratio": r[2], "target": r[3],
                                "pass": r[4]} for r in rows]}, f, indent=1)
    plot(levels, static_levels, os.path.join(OUT, "bench.png"))
    print("wrote build/bench/table.txt, results.json and bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
