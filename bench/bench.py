"""make bench: the page against the servers a user would pick instead,
and against this machine's own limits, side by side in one run.

It starts the local stack (MariaDB, fcgi-app under spawn-fcgi, nginx),
the peers of bench/peers.py (PHP-FPM, Go, the seed's Python) on the same
database and table behind the same nginx, nginx serving the page's bytes
as a static file, and loads them with wrk over loopback.  Loads run in
rounds, each load against every server in turn, the order rotating from
round to round; medians are reported.  For every run it reads from /proc
the CPU time of the server's own processes, of MariaDB and of nginx, per
page.  It holds 1,000 and 4,000 kept connections for 10 s each.  Every
load run is bounded in time and every database run in count.

It prints the targets table (ratio, pass or fail), the side-by-side
table and the connection sweep, and writes them, the raw numbers and a
plot to build/bench/ (table.txt, results.json, bench.png).

    python3 bench/bench.py [--quick] [--workers N] [--seconds S] [--rounds N]

--quick is the smoke run of make test: one round of 1 s (the held
levels 5 s), a 20,000-row table instead of a 1,000,000-row one, and the
targets reported, not enforced.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

# the tests' helpers (tests/lib); peers.py is beside this file
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
from lib import SCRIPTS, TOP  # noqa: E402
from lib.localstack import Stack  # noqa: E402
from lib.page import Page  # noqa: E402
from lib.proc import free_port  # noqa: E402
import peers  # noqa: E402

OUT = os.path.join(TOP, "build", "bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LEVELS = (16, 64, 256, 1000, 4000)  # the connection sweep
HELD = (1000, 4000)                 # the levels held for 10 s
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
        "p50_ms": ms("50%"), "p75_ms": ms("75%"), "p90_ms": ms("90%"), "p99_ms": ms("99%"),
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
    subprocess.run([os.path.join(SCRIPTS, "web.sh"), "static", state, str(port), page],
                   check=True, capture_output=True, timeout=60)
    return state, port


def measured(server, db_pid, path, conns, seconds):
    """One wrk run against server, with the CPU time per page (us) of its
    own processes, of MariaDB and of its nginx, read from /proc."""
    app, ngx = server.app_pids(), server.nginx_pids()
    before = (peers.cpu_ticks(app), peers.cpu_ticks([db_pid]), peers.cpu_ticks(ngx))
    r = wrk(server.url.rstrip("/") + path, conns, seconds)
    after = (peers.cpu_ticks(app), peers.cpu_ticks([db_pid]), peers.cpu_ticks(ngx))
    n = max(r["requests"], 1)
    for key, b, a in zip(("app_us", "db_us", "nginx_us"), before, after):
        r[key] = (a - b) * 1e6 / CLK_TCK / n
    r["server"] = server.label
    return r


def median_of(runs):
    m = {k: statistics.median(r[k] for r in runs)
         for k in ("rps", "p50_ms", "p75_ms", "p90_ms", "p99_ms", "app_us", "db_us", "nginx_us")}
    m["errors"] = sum(r["non2xx"] + r["socket_errors"] for r in runs)
    m["requests"] = sum(r["requests"] for r in runs)
    m["runs"] = len(runs)
    return m


def side_by_side(loads, rounds, seconds, db_pid):
    """loads: (name, path, conns, [servers]).  Rounds in which every load
    runs against each of its servers in turn, the order rotating."""
    runs = {(name, s.label): [] for name, _, _, servers in loads for s in servers}
    for rnd in range(rounds):
        for name, path, conns, servers in loads:
            k = rnd % len(servers)
            for s in servers[k:] + servers[:k]:
                r = measured(s, db_pid, path, conns, seconds)
                runs[(name, s.label)].append(r)
                print("round %d  %-30s %-10s %8.0f req/s  p99 %8.2f ms  errors %d" % (
                    rnd + 1, name, s.label, r["rps"], r["p99_ms"],
                    r["non2xx"] + r["socket_errors"]), flush=True)
    return {key: median_of(v) for key, v in runs.items()}, runs


def same_page(reference, server, path):
    """Checks that server's page at path holds the same rows as the
    reference's (HTML parsed; JSON decoded): the peers do the same job."""
    def rows(s):
        with urllib.request.urlopen(s.url.rstrip("/") + path, timeout=30) as r:
            body = r.read().decode("utf-8")
        if "format=json" in path:
            return [[None if v is None else str(v) for v in
                     (row.values() if isinstance(row, dict) else row)]
                    for row in json.loads(body)["rows"]]
        return Page(body).rows
    want, got = rows(reference), rows(server)
    if len(got) != len(want) or [r[0] for r in got] != [r[0] for r in want] or \
            got[0][1:3] != want[0][1:3]:
        raise RuntimeError("%s%s does not show the rows fcgi-app shows:\n%r\n%r" % (
            server.label, path, got[:2], want[:2]))


def plot(res, path):
    """Two panels: rates side by side (axes from zero), and latency
    percentiles by connections."""
    bars = os.path.join(OUT, "rates.dat")
    with open(bars, "w") as f:
        for label, v in res["rates_for_plot"]:
            f.write('"%s" %.1f\n' % (label, v))
    big = os.path.join(OUT, "rates-1000.dat")
    with open(big, "w") as f:
        for label, html_rps, json_rps in res["big_for_plot"]:
            f.write('"%s" %.1f %.1f\n' % (label, html_rps, json_rps))
    lat = {}
    for label in res["sweep_servers"]:
        lat[label] = os.path.join(OUT, "latency-%s.dat" % label.replace(" ", "-"))
        with open(lat[label], "w") as f:
            for lvl in res["sweep"]:
                m = lvl[label]
                f.write("%d %.3f %.3f %.3f %.1f\n" % (lvl["conns"], m["p50_ms"], m["p90_ms"],
                                                     m["p99_ms"], m["rps"]))
    colors = {"fcgi-app": "#1f77b4", "Go": "#2ca02c", "nginx static": "#7f7f7f"}
    lines = []
    for label, f in lat.items():
        c = colors.get(label, "#d62728")
        lines.append("'%s' using 1:4 with linespoints lw 2 lc rgb '%s' title '%s p99'" % (f, c, label))
        lines.append("'%s' using 1:3 with linespoints dt 2 lc rgb '%s' title '%s p90'" % (f, c, label))
        lines.append("'%s' using 1:2 with linespoints dt 3 lc rgb '%s' title '%s p50'" % (f, c, label))
    script = """
set terminal pngcairo size 1500,520 font ",10"
set output '%(out)s'
set multiplot layout 1,3 title '%(title)s'
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
unset key
set yrange [0:*]
set xtics rotate by -30
set title 'demo page, 64 connections (req/s; MariaDB: q/s of the bare SELECT)'
set ylabel 'per second'
plot '%(bars)s' using 0:2:xtic(1) with boxes lc rgb '#1f77b4', \\
     '' using 0:2:(sprintf('%%.0f', $2)) with labels offset 0,0.7 notitle
set title '1000-row pages, 16 connections (req/s)'
set key top right
set style data histograms
set style histogram clustered gap 1
plot '%(big)s' using 2:xtic(1) title 'HTML' lc rgb '#1f77b4', '' using 3 title 'JSON' lc rgb '#ff7f0e'
set style data linespoints
unset style histogram
set xtics norotate
set title 'latency by connections (wrk, keep-alive)'
set logscale xy
set xrange [12:5000]
set yrange [*:*]
set xtics (16, 64, 256, 1000, 4000)
set xlabel 'connections'
set ylabel 'ms'
set key top left
plot %(lines)s
unset multiplot
""" % {"out": path, "title": res["title"], "bars": bars, "big": big, "lines": ", ".join(lines)}
    subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60,
                   capture_output=True)


def ratio(a, b):
    return a / b if b else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    secs = args.seconds or (1 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 3)
    sweep_secs = 1 if args.quick else 10
    # long enough that a page gets through 4,000 clients on a busy machine
    held_secs = 5 if args.quick else 10
    big_rows = 20000 if args.quick else 1000000
    os.makedirs(OUT, exist_ok=True)
    go_binary = peers.build_go(OUT)
    stack = Stack()
    servers = []
    try:
        stack.db_start()
        stack.db_load()
        stack.sql("CREATE TABLE big LIKE demo; CREATE TABLE hundred LIKE demo;"
                  "INSERT INTO big (id, name, city, note, price, created_at) "
                  "SELECT seq, CONCAT('name ', seq), '서울 Seoul', 'a <b>note</b> & more', "
                  "seq / 100, '2024-03-01 09:00:00' FROM seq_1_to_%d;"
                  "INSERT INTO hundred SELECT * FROM big WHERE id <= 100;"
                  "GRANT SELECT ON big TO 'fcgi_app'@'%%';"
                  "GRANT SELECT ON hundred TO 'fcgi_app'@'%%';" % big_rows)
        db_pid = peers.read_pid(os.path.join(stack.db_state, "mariadb.pid"))
        w = args.workers

        def fcgi(name, table):
            inst = stack.web_start(name, settings={"workers": w, "table": table})
            return inst, peers.Server("fcgi-app", "http://127.0.0.1:%d/" % inst.port,
                                      inst.master_pid(), inst.state, lambda: None)

        web, app = fcgi("a", "demo")
        bigw, app_big = fcgi("big", "big")
        hundw, _ = fcgi("hundred", "hundred")
        body = web.get("/").body
        static_state, static_port = static_nginx(stack, body)
        static = peers.Server("nginx static", "http://127.0.0.1:%d/" % static_port, None,
                              static_state, lambda: None)
        go = peers.start_go(stack.dir, "go", stack.db_state, "demo", w, go_binary, free_port)
        servers.append(go)
        go_big = peers.start_go(stack.dir, "go-big", stack.db_state, "big", w, go_binary,
                                free_port)
        servers.append(go_big)
        php = peers.start_php(stack.dir, "php", stack.db_state, "demo", w, free_port)
        servers.append(php)
        php_big = peers.start_php(stack.dir, "php-big", stack.db_state, "big", w, free_port)
        servers.append(php_big)
        py = peers.start_python(stack.dir, "python", stack.db_state, "demo", w, free_port)
        servers.append(py)
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()

        for path, ref, others in (("/", app, (go, php, py)),
                                  ("/?limit=1000", app_big, (go_big, php_big)),
                                  ("/?format=json&limit=1000", app_big, (go_big, php_big))):
            for s in others:
                same_page(ref, s, path)
        # warm up every server, then everything side by side
        for s in (app, app_big, static, go, go_big, php, php_big, py):
            wrk(s.url, 16, 1)
        db = slap(os.path.join(stack.db_state, "mysql.sock"), user, w,
                  2000 if args.quick else 100000)
        loads = [("demo page, 64 connections", "/", 64, [app, go, php, py, static]),
                 ("1000-row HTML, 16 connections", "/?limit=1000", 16, [app_big, go_big, php_big]),
                 ("1000-row JSON, 16 connections", "/?format=json&limit=1000", 16,
                  [app_big, go_big, php_big])]
        med, raw = side_by_side(loads, rounds, secs, db_pid)

        # the connection sweep, 16 to 4,000, for the project, Go and nginx
        sweep = []
        for i, c in enumerate(LEVELS):
            lvl = {"conns": c}
            order = [app, go, static]
            order = order[i % 3:] + order[:i % 3]
            for s in order:
                lvl[s.label] = measured(s, db_pid, "/", c, held_secs if c in HELD else sweep_secs)
                print("sweep %5d connections  %-12s %8.0f req/s  p99 %8.2f ms  errors %d" % (
                    c, s.label, lvl[s.label]["rps"], lvl[s.label]["p99_ms"],
                    lvl[s.label]["non2xx"] + lvl[s.label]["socket_errors"]), flush=True)
            sweep.append(lvl)
        rss = [rss_kib(p) for p in web.worker_pids()]
        private = [private_kib(p) for p in web.worker_pids()]

        # growth: a big table against a 100-row one, same shape
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
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # keep tearing down
                print("teardown:", e)
        if "static_state" in locals():
            subprocess.run([os.path.join(SCRIPTS, "web.sh"), "stop", static_state],
                           capture_output=True, timeout=60)
        stack.stop()
        stack.cleanup()

    demo = "demo page, 64 connections"
    at64 = med[(demo, "fcgi-app")]
    g64, p64, s64 = med[(demo, "Go")], med[(demo, "PHP-FPM")], med[(demo, "nginx static")]
    bh, bj = "1000-row HTML, 16 connections", "1000-row JSON, 16 connections"
    per_req = {n: 1e6 / (s["rps"] / s["conns"]) if s["rps"] else 0 for n, s in sizes.items()}
    row_us_small = (per_req[100] - per_req[10]) / 90
    row_us_large = (per_req[1000] - per_req[100]) / 900
    held = {lvl["conns"]: lvl["fcgi-app"] for lvl in sweep if lvl["conns"] in HELD}
    rows = [
        ("P1 page rate / Go, 64 connections", "%.0f / %.0f req/s" % (at64["rps"], g64["rps"]),
         ratio(at64["rps"], g64["rps"]), ">= 1.50", ratio(at64["rps"], g64["rps"]) >= 1.5),
        ("P1 page rate / PHP-FPM, 64 connections", "%.0f / %.0f req/s" % (
            at64["rps"], p64["rps"]), ratio(at64["rps"], p64["rps"]), ">= 3.00",
         ratio(at64["rps"], p64["rps"]) >= 3.0),
        ("P2 program CPU per page / Go's", "%.1f / %.1f us" % (at64["app_us"], g64["app_us"]),
         ratio(at64["app_us"], g64["app_us"]), "<= 0.50",
         ratio(at64["app_us"], g64["app_us"]) <= 0.5),
        ("P3 database CPU per page / Go's", "%.1f / %.1f us" % (at64["db_us"], g64["db_us"]),
         ratio(at64["db_us"], g64["db_us"]), "<= 1.00",
         ratio(at64["db_us"], g64["db_us"]) <= 1.0),
    ]
    for name, load in (("HTML", bh), ("JSON", bj)):
        a, g = med[(load, "fcgi-app")], med[(load, "Go")]
        rows.append(("P4 1000-row %s rate / Go, 16 conns" % name, "%.0f / %.0f req/s" % (
            a["rps"], g["rps"]), ratio(a["rps"], g["rps"]), ">= 1.50",
            ratio(a["rps"], g["rps"]) >= 1.5))
    for c, m in held.items():
        rows.append(("L1 %d connections held %d s" % (c, held_secs), "%d non-2xx+socket, p99 %.0f ms"
                     % (m["non2xx"] + m["socket_errors"], m["p99_ms"]),
                     float(m["non2xx"] + m["socket_errors"]), "= 0 errors",
                     m["non2xx"] == 0 and m["socket_errors"] == 0 and m["requests"] > 0))
    rows += [
        ("T1 page / database SELECT rate", "%.0f / %.0f req/s" % (at64["rps"], db["qps"]),
         at64["rps"] / db["qps"], ">= 0.50", at64["rps"] / db["qps"] >= 0.5),
        ("T2 page / static bytes", "%.0f / %.0f req/s" % (at64["rps"], s64["rps"]),
         ratio(at64["rps"], s64["rps"]), ">= 0.20", ratio(at64["rps"], s64["rps"]) >= 0.2),
        ("T3 p99 at 64 connections", "%.2f ms" % at64["p99_ms"], at64["p99_ms"] / 5.0,
         "<= 5 ms", at64["p99_ms"] <= 5.0),
        ("T3 errors at 16/64/256", "%d non-2xx, %d socket" % (
            sum(l["fcgi-app"]["non2xx"] for l in sweep if l["conns"] <= 256) + at64["errors"],
            sum(l["fcgi-app"]["socket_errors"] for l in sweep if l["conns"] <= 256)),
         0.0, "= 0", at64["errors"] == 0 and all(
             l["fcgi-app"]["non2xx"] == 0 and l["fcgi-app"]["socket_errors"] == 0
             for l in sweep if l["conns"] <= 256)),
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
    lines = ["fcgi-app bench: %d workers each, wrk -t2 over loopback, %d round(s) of %d s, "
             "medians; sweep %d s, held levels %d s; %s" % (
                 w, rounds, secs, sweep_secs, held_secs, "quick smoke" if args.quick else "full"),
             "%-40s %-32s %7s  %-22s %s" % ("figure", "measured", "ratio", "target", "result")]
    for name, value, rt, target, ok in rows:
        lines.append("%-40s %-32s %7.2f  %-22s %s" % (name, value, rt, target,
                                                     "pass" if ok else "FAIL"))
    lines.append("")
    lines.append("side by side (CPU per page from /proc: the server's own processes, "
                 "MariaDB, its nginx)")
    lines.append("%-30s %-13s %9s %9s %8s %8s %8s %6s %13s" % (
        "load", "server", "req/s", "p99 ms", "app us", "db us", "nginx us", "errors",
        "fcgi-app is"))
    for name, _, _, srvs in loads:
        base = med[(name, "fcgi-app")]["rps"]
        for s in srvs:
            m = med[(name, s.label)]
            lines.append("%-30s %-13s %9.0f %9.2f %8.1f %8.1f %8.1f %6d %12.2fx" % (
                name, s.label, m["rps"], m["p99_ms"], m["app_us"], m["db_us"], m["nginx_us"],
                m["errors"], ratio(base, m["rps"])))
    lines.append("database: mariadb-slap, %d clients, %d queries of the page's SELECT: %.0f q/s" % (
        db["clients"], db["queries"], db["qps"]))
    lines.append("")
    lines.append("connection sweep, demo page (p50 / p90 / p99 ms, req/s, errors)")
    for lvl in sweep:
        lines.append("%5d conns  " % lvl["conns"] + "   ".join(
            "%s %.1f/%.1f/%.1f %.0f/s %d" % (
                label, lvl[label]["p50_ms"], lvl[label]["p90_ms"], lvl[label]["p99_ms"],
                lvl[label]["rps"], lvl[label]["non2xx"] + lvl[label]["socket_errors"])
            for label in ("fcgi-app", "Go", "nginx static")))
    lines.append("page sizes on the big table (16 connections): " + ", ".join(
        "%d rows %.0f req/s" % (n, s["rps"]) for n, s in sizes.items()))
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        f.write(table + "\n")
    res = {"side_by_side": {"%s|%s" % k: v for k, v in med.items()},
           "runs": {"%s|%s" % k: v for k, v in raw.items()},
           "sweep": sweep, "db": db, "rss_kib": rss, "private_kib": private,
           "big100": big100, "hundred100": hund100, "sizes": sizes,
           "rss_big": [rss_big_before, rss_big_after],
           "figures": [{"name": r[0], "measured": r[1], "ratio": r[2], "target": r[3],
                        "pass": r[4]} for r in rows]}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    plot({"title": "fcgi-app against its peers, one run on this machine (%s)" % (
              "quick smoke" if args.quick else "make bench"),
          "rates_for_plot": [(s.label, med[(demo, s.label)]["rps"])
                             for s in (app, go, php, py, static)] + [
                                 ("MariaDB SELECT", db["qps"])],
          "big_for_plot": [(s.label, med[(bh, s.label)]["rps"], med[(bj, s.label)]["rps"])
                           for s in (app_big, go_big, php_big)],
          "sweep": sweep, "sweep_servers": ("fcgi-app", "Go", "nginx static")},
         os.path.join(OUT, "bench.png"))
    print("wrote build/bench/table.txt, results.json and bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
