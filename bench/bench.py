"""make bench: the page against the servers a user would pick instead,
and against this machine's own limits, side by side in one run.

It starts the local stack (MariaDB, fcgi-app under spawn-fcgi, nginx),
the peers of bench/peers.py (PHP-FPM, Go written two ways, the seed's
Python) on the same database and table behind the same nginx, nginx
serving the page's bytes as a static file, and loads them with wrk over
loopback.  Loads run in rounds, each load against every server in turn,
the order rotating from round to round; medians are reported.  For
every run it reads from /proc the CPU time of the server's own
processes, of MariaDB and of nginx, per page.  Then:

- the sweep: the demo page at 16, 64, 256, 1,000 and 4,000 clients for
  fcgi-app, both Go peers and static nginx (wrk's socket errors and
  non-2xx answers counted);
- the open loop (bench/openloop.c): requests started on a fixed
  schedule at 50 % and 80 % of fcgi-app's closed-loop rate at 64
  clients, the same rates for fcgi-app, the lean Go peer and static
  nginx, latency counted from each request's scheduled start;
- the idle test (bench/idle.py): 4,096 kept FastCGI connections held
  idle on a fresh instance's socket, then one page through its nginx
  with a 5 s deadline, and the program's memory meanwhile.

Every load run is bounded in time and every database run in count.  It
prints the targets table (ratio, pass or fail), the side-by-side table,
the sweep and the open loop, and writes them, the raw numbers and a plot
to build/bench/ (table.txt, results.json, bench.png).

    python3 bench/bench.py [--quick] [--workers N] [--seconds S] [--rounds N]

Full run: 3 rounds of 5 s side by side, the sweep 10 s a level, the open
loop 10 s a rate, a 1,000,000-row table; about 12 minutes.  --quick is
the smoke run of make test: one round of 1 s, the sweep 1 s a level (the
1,000 and 4,000 levels 5 s, long enough for a page through 4,000
clients), the open loop 2 s a rate, 64 idle connections, a 20,000-row
table,
and the targets reported, not enforced.
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
import idle  # noqa: E402
import peers  # noqa: E402

OUT = os.path.join(TOP, "build", "bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
LEVELS = (16, 64, 256, 1000, 4000)  # the connection sweep
HELD = (1000, 4000)                 # levels run at least held_secs
OPEN_LOOP = (0.5, 0.8)              # open-loop rates, of fcgi-app's at 64 clients
REST_SECS = 1.5                     # quiet before a memory reading (the quiet trim)
OPEN_CONNS = 64                     # the open loop's connections, as the closed loop's
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


def openloop(binary, url, rate, seconds):
    """One bounded open-loop run (bench/openloop.c); returns its figures."""
    p = subprocess.run([binary, "-url", url, "-rate", "%.1f" % rate, "-seconds", str(seconds),
                        "-conns", str(OPEN_CONNS), "-timeout", "5s"],
                       capture_output=True, text=True, timeout=seconds + 60)
    if p.returncode != 0:
        raise RuntimeError("openloop failed:\n" + p.stdout + p.stderr)
    return json.loads(p.stdout)


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



def same_page(reference, server, path, exact):
    """Checks that server's page at path holds the same rows as the
    reference's (HTML parsed; JSON decoded): the peers do the same job.
    exact: every cell of every row alike (for the lean Go peer, which
    escapes as the program does); else the same ids and the first row's
    name and city."""
    def rows(s):
        with urllib.request.urlopen(s.url.rstrip("/") + path, timeout=30) as r:
            body = r.read().decode("utf-8")
        if "format=json" in path:
            return [[None if v is None else str(v) for v in
                     (row.values() if isinstance(row, dict) else row)]
                    for row in json.loads(body)["rows"]]
        return Page(body).rows
    want, got = rows(reference), rows(server)
    if exact:
        same = got == want
    else:
        same = len(got) == len(want) and [r[0] for r in got] == [r[0] for r in want] and \
            got[0][1:3] == want[0][1:3]
    if not same or not want:
        first = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), 0)
        raise RuntimeError("%s%s does not show the rows fcgi-app shows (%d and %d rows; "
                           "row %d):\n%r\n%r" % (server.label, path, len(got), len(want), first,
                                                 got[first:first + 1], want[first:first + 1]))
    return {"server": server.label, "path": path, "rows": len(got), "exact": exact}


def plot(res, path):
    """Four panels: rates side by side (axes from zero), 1000-row pages,
    closed-loop latency percentiles by clients, and the open loop's
    percentiles by server and rate."""
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
    ol = os.path.join(OUT, "openloop.dat")
    with open(ol, "w") as f:
        for label, runs in res["open_for_plot"]:
            f.write('"%s" %s\n' % (label, " ".join(
                "%.3f %.3f" % (max(r["p99_ms"], 0.01), max(r["p999_ms"], 0.01)) for r in runs)))
    colors = {"fcgi-app": "#1f77b4", "Go lean": "#2ca02c", "Go": "#98df8a",
              "nginx static": "#7f7f7f"}
    lines = []
    for label, f in lat.items():
        c = colors.get(label, "#d62728")
        lines.append("'%s' using 1:4 with linespoints lw 2 lc rgb '%s' title '%s p99'" % (f, c, label))
        lines.append("'%s' using 1:2 with linespoints dt 3 lc rgb '%s' title '%s p50'" % (f, c, label))
    pcts = ["%d %%" % (100 * x) for x in OPEN_LOOP]
    script = """
set terminal pngcairo size 1400,1000 font ",10"
set output '%(out)s'
set multiplot layout 2,2 title '%(title)s'
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
unset key
set yrange [0:*]
set xtics rotate by -30
set title 'demo page, 64 clients, closed loop (req/s; MariaDB: q/s of the bare SELECT)'
set ylabel 'per second'
plot '%(bars)s' using 0:2:xtic(1) with boxes lc rgb '#1f77b4', \\
     '' using 0:2:(sprintf('%%.0f', $2)) with labels offset 0,0.7 notitle
set title '1000-row pages, 16 clients (req/s)'
set key top right
set style data histograms
set style histogram clustered gap 1
plot '%(big)s' using 2:xtic(1) title 'HTML' lc rgb '#1f77b4', '' using 3 title 'JSON' lc rgb '#ff7f0e'
set title 'open loop: latency from the scheduled start (ms, log)'
set logscale y
set yrange [*:*]
set ylabel 'ms'
plot '%(ol)s' using 2:xtic(1) title 'p99 at %(p0)s' lc rgb '#aec7e8', \\
     '' using 3 title 'p999 at %(p0)s' lc rgb '#1f77b4', \\
     '' using 4 title 'p99 at %(p1)s' lc rgb '#ffbb78', \\
     '' using 5 title 'p999 at %(p1)s' lc rgb '#ff7f0e'
unset logscale y
set style data linespoints
unset style histogram
set xtics norotate
set title 'closed loop (wrk, keep-alive): latency by clients'
set logscale xy
set xrange [12:5000]
set yrange [*:*]
set xtics (16, 64, 256, 1000, 4000)
set xlabel 'clients'
set ylabel 'ms'
set key top left
plot %(lines)s
unset multiplot
""" % {"out": path, "title": res["title"], "bars": bars, "big": big, "lines": ", ".join(lines),
       "ol": ol, "p0": pcts[0], "p1": pcts[1]}
    subprocess.run(["gnuplot"], input=script, text=True, check=True, timeout=60,
                   capture_output=True)


def ratio(a, b):
    return a / b if b else 0.0


def errors_of(r):
    return r["non2xx"] + r["socket_errors"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    # the program sizes itself by default (one worker per CPU, 16 database
    # connections); the peers get 8 processes or connections
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    secs = args.seconds or (1 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 3)
    sweep_secs = 1 if args.quick else 10
    # long enough that a page gets through 4,000 clients on a busy machine
    held_secs = 5 if args.quick else 10
    open_secs = 2 if args.quick else 10
    idle_count = 64 if args.quick else 4096
    big_rows = 20000 if args.quick else 1000000
    os.makedirs(OUT, exist_ok=True)
    go_bins = peers.build_peers(OUT)
    loop_bin = peers.build_c(OUT, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "openloop.c"), "openloop")
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
        w = args.workers or 8

        def fcgi(name, table):
            settings = {"table": table}
            if args.workers:
                settings["workers"] = args.workers
            inst = stack.web_start(name, settings=settings)
            return inst, peers.Server("fcgi-app", "http://127.0.0.1:%d/" % inst.port,
                                      inst.master_pid(), inst.state, lambda: None)

        def go(name, table, label):
            conns = 16 if label == "Go lean" else w
            s = peers.start_go(stack.dir, name, stack.db_state, table, conns, go_bins[label],
                               free_port, label)
            servers.append(s)
            return s

        web, app = fcgi("a", "demo")
        bigw, app_big = fcgi("big", "big")
        hundw, app_hund = fcgi("hundred", "hundred")
        body = web.get("/").body
        static_state, static_port = static_nginx(stack, body)
        static = peers.Server("nginx static", "http://127.0.0.1:%d/" % static_port, None,
                              static_state, lambda: None)
        lean, lean_big = go("go-lean", "demo", "Go lean"), go("go-lean-big", "big", "Go lean")
        gop, go_big = go("go", "demo", "Go"), go("go-big", "big", "Go")
        php = peers.start_php(stack.dir, "php", stack.db_state, "demo", w, free_port)
        servers.append(php)
        php_big = peers.start_php(stack.dir, "php-big", stack.db_state, "big", w, free_port)
        servers.append(php_big)
        py = peers.start_python(stack.dir, "python", stack.db_state, "demo", w, free_port)
        servers.append(py)
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()

        checked = [same_page(app, lean, "/", True), same_page(app_big, lean_big, "/?limit=1000",
                                                              True)]
        for path, ref, others in (("/", app, (gop, php, py)),
                                  ("/?limit=1000", app_big, (go_big, php_big)),
                                  ("/?format=json&limit=1000", app_big, (go_big, php_big))):
            checked += [same_page(ref, s, path, False) for s in others]
        # warm up every server, then everything side by side
        for s in (app, app_big, static, lean, lean_big, gop, go_big, php, php_big, py):
            wrk(s.url, 16, 1)
        db = slap(os.path.join(stack.db_state, "mysql.sock"), user, w,
                  2000 if args.quick else 100000)
        loads = [("demo page, 64 connections", "/", 64, [app, lean, gop, php, py, static]),
                 ("1000-row HTML, 16 connections", "/?limit=1000", 16,
                  [app_big, lean_big, go_big, php_big]),
                 ("1000-row JSON, 16 connections", "/?format=json&limit=1000", 16,
                  [app_big, go_big, php_big])]
        med, raw = side_by_side(loads, rounds, secs, db_pid)
        own64 = med[("demo page, 64 connections", "fcgi-app")]["rps"]

        # the sweep, 16 to 4,000 clients: the program, both Go peers, nginx
        sweep = []
        swept = [app, lean, gop, static]
        for i, c in enumerate(LEVELS):
            lvl = {"conns": c}
            k = i % len(swept)
            for s in swept[k:] + swept[:k]:
                r = measured(s, db_pid, "/", c, held_secs if c in HELD else sweep_secs)
                lvl[s.label] = r
                print("sweep %5d connections  %-12s %8.0f req/s  p99 %8.2f ms  "
                      "non-2xx %d  socket errors %d" % (c, s.label, r["rps"], r["p99_ms"],
                                                       r["non2xx"], r["socket_errors"]),
                      flush=True)
            sweep.append(lvl)
        rss = [rss_kib(p) for p in web.worker_pids()]
        private = [private_kib(p) for p in web.worker_pids()]

        # the open loop at fixed shares of the program's closed-loop rate,
        # the same rates for the program, the lean peer and static nginx
        opened = []
        for i, share in enumerate(OPEN_LOOP):
            rate = max(1.0, share * own64)
            order = [app, lean, static]
            order = order[i % 3:] + order[:i % 3]
            for s in order:
                r = openloop(loop_bin, s.url, rate, open_secs)
                r.update(server=s.label, share=share)
                opened.append(r)
                print("open loop %3d %% (%6.0f/s)  %-12s p50 %7.2f  p99 %8.2f  p999 %8.2f ms  "
                      "errors %d" % (100 * share, rate, s.label, r["p50_ms"], r["p99_ms"],
                                     r["p999_ms"], r["errors"]), flush=True)

        # growth: a big table against a 100-row one, same shape
        burl = "http://127.0.0.1:%d/" % bigw.port
        wrk(burl + "?limit=100", 16, 1)
        wrk(app_hund.url + "?limit=100", 16, 1)
        # memory at rest, before and after: a worker gives a burst's free
        # heap back once it has been quiet for a second
        time.sleep(REST_SECS)
        mem_big_before = peers.pss_kib(app_big.app_pids())
        big100 = measured(app_big, db_pid, "/?limit=100", 64, secs)
        hund100 = measured(app_hund, db_pid, "/?limit=100", 64, secs)
        sizes = {n: wrk(burl + "?limit=%d" % n, 16, secs) for n in (10, 100, 1000)}
        time.sleep(REST_SECS)
        mem_big_after = peers.pss_kib(app_big.app_pids())

        # idle kept connections, on a fresh instance whose nginx holds none
        idlew, app_idle = fcgi("idle", "demo")
        held = idle.hold(idlew, idle_count, lambda: peers.pss_kib(app_idle.app_pids()))
        print("idle: %(count)d kept FastCGI connections, %(connected)d connected, "
              "%(answered)d answered; " % held + (
                  "a new page in %.1f ms" % held["page_ms"] if held["page_error"] is None
                  else held["page_error"]) + "; program memory %.1f MiB" % (
                      held["memory_kib"] / 1024), flush=True)
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
    l64, p64, s64 = med[(demo, "Go lean")], med[(demo, "PHP-FPM")], med[(demo, "nginx static")]
    bh, bj = "1000-row HTML, 16 connections", "1000-row JSON, 16 connections"
    per_req = {n: 1e6 / (s["rps"] / s["conns"]) if s["rps"] else 0 for n, s in sizes.items()}
    row_us_small = (per_req[100] - per_req[10]) / 90
    row_us_large = (per_req[1000] - per_req[100]) / 900
    rows = []
    for lvl in sweep:
        c, a, g = lvl["conns"], lvl["fcgi-app"], lvl["Go lean"]
        rows += [
            ("S1 %d clients: rate / Go lean" % c, "%.0f / %.0f req/s" % (a["rps"], g["rps"]),
             ratio(a["rps"], g["rps"]), ">= 1.50", ratio(a["rps"], g["rps"]) >= 1.5),
            ("S2 %d clients: rate / own at 64" % c, "%.0f / %.0f req/s" % (a["rps"], own64),
             ratio(a["rps"], own64), ">= 0.90", ratio(a["rps"], own64) >= 0.9),
            ("S3 %d clients: errors" % c, "%d non-2xx, %d socket, p99 %.0f ms" % (
                a["non2xx"], a["socket_errors"], a["p99_ms"]), float(errors_of(a)), "= 0",
             errors_of(a) == 0 and a["requests"] > 0),
        ]
    rows += [
        ("P1 page rate / PHP-FPM, 64 clients", "%.0f / %.0f req/s" % (at64["rps"], p64["rps"]),
         ratio(at64["rps"], p64["rps"]), ">= 3.00", ratio(at64["rps"], p64["rps"]) >= 3.0),
        ("P2 program CPU per page / Go lean's", "%.1f / %.1f us" % (at64["app_us"],
                                                                    l64["app_us"]),
         ratio(at64["app_us"], l64["app_us"]), "<= 0.50",
         ratio(at64["app_us"], l64["app_us"]) <= 0.5),
        ("P3 database CPU per page / Go lean's", "%.1f / %.1f us" % (at64["db_us"],
                                                                     l64["db_us"]),
         ratio(at64["db_us"], l64["db_us"]), "<= 1.00",
         ratio(at64["db_us"], l64["db_us"]) <= 1.0),
    ]
    for name, load, peer in (("HTML", bh, "Go lean"), ("JSON", bj, "Go")):
        a, g = med[(load, "fcgi-app")], med[(load, peer)]
        rows.append(("P4 1000-row %s rate / %s, 16 clients" % (name, peer),
                     "%.0f / %.0f req/s" % (a["rps"], g["rps"]), ratio(a["rps"], g["rps"]),
                     ">= 1.50", ratio(a["rps"], g["rps"]) >= 1.5))
    for share, limit in zip(OPEN_LOOP, (2.0, 5.0)):
        a = next(r for r in opened if r["share"] == share and r["server"] == "fcgi-app")
        st = next(r for r in opened if r["share"] == share and r["server"] == "nginx static")
        rows.append(("O1 open loop %d %% (%.0f/s): p99 / static's" % (100 * share, a["rate"]),
                     "%.2f / %.2f ms, %d errors" % (a["p99_ms"], st["p99_ms"], a["errors"]),
                     ratio(a["p99_ms"], st["p99_ms"]), "<= %.2f, 0 errors" % limit,
                     a["answered"] > 0 and a["errors"] == 0 and
                     ratio(a["p99_ms"], st["p99_ms"]) <= limit))
    page = ("a new page in %.1f ms" % held["page_ms"] if held["page_error"] is None
            else held["page_error"])
    rows += [
        ("I1 new page, %d idle kept FastCGI conns" % held["count"],
         "%s (%d answered)" % (page, held["answered"]),
         (held["page_ms"] or 0) / 100.0 if held["page_error"] is None else float("inf"),
         "<= 100 ms", held["page_error"] is None and held["page_ms"] <= 100),
        ("I2 program memory, %d idle conns held" % held["count"],
         "%.1f MiB (PSS, master + workers)" % (held["memory_kib"] / 1024),
         held["memory_kib"] / 65536.0, "<= 64 MiB", 0 < held["memory_kib"] <= 65536),
        ("T1 page / database SELECT rate", "%.0f / %.0f req/s" % (at64["rps"], db["qps"]),
         at64["rps"] / db["qps"], ">= 0.50", at64["rps"] / db["qps"] >= 0.5),
        ("T2 page / static bytes", "%.0f / %.0f req/s" % (at64["rps"], s64["rps"]),
         ratio(at64["rps"], s64["rps"]), ">= 0.20", ratio(at64["rps"], s64["rps"]) >= 0.2),
        ("T4 worker RSS (max)", "%.2f MiB (%.2f MiB private)" % (
            max(rss) / 1024, max(private) / 1024), max(rss) / 4096.0, "<= 4 MiB",
         max(rss) <= 4096),
        ("T5 %d-row / 100-row table" % big_rows, "%.0f / %.0f req/s" % (big100["rps"],
                                                                        hund100["rps"]),
         ratio(big100["rps"], hund100["rps"]), "0.80-1.20",
         0.8 <= ratio(big100["rps"], hund100["rps"]) <= 1.2),
        ("T5 program CPU per page, big / 100-row", "%.1f / %.1f us" % (big100["app_us"],
                                                                        hund100["app_us"]),
         ratio(big100["app_us"], hund100["app_us"]), "flat (0.80-1.25)",
         0.8 <= ratio(big100["app_us"], hund100["app_us"]) <= 1.25),
        ("T5 program memory over the big-table runs", "%.1f -> %.1f MiB (PSS)" % (
            mem_big_before / 1024, mem_big_after / 1024), ratio(mem_big_after, mem_big_before),
         "flat (<= 1.10)", 0 < mem_big_after <= 1.1 * mem_big_before),
        ("T5 time per row, 10->100 / 100->1000", "%.2f / %.2f us" % (row_us_small, row_us_large),
         row_us_large / row_us_small if row_us_small > 0 else 0.0, "roughly equal (0.5-2)",
         row_us_small > 0 and 0.5 <= row_us_large / row_us_small <= 2),
    ]
    lines = ["fcgi-app bench: fcgi-app %s, peers %d processes or connections each, "
             "wrk -t2 over loopback, %d round(s) of %d s, "
             "medians; sweep %d s a level (1,000 and 4,000: %d s); open loop %d s a rate; "
             "%s" % ("%d workers" % args.workers if args.workers else "sized by itself",
                     w, rounds, secs, sweep_secs, held_secs, open_secs,
                     "quick smoke, targets not enforced" if args.quick else "full"),
             "%-46s %-38s %7s  %-18s %s" % ("figure", "measured", "ratio", "target", "result")]
    for name, value, rt, target, ok in rows:
        lines.append("%-46s %-38s %7.2f  %-18s %s" % (name, value, rt, target,
                                                     "pass" if ok else "FAIL"))
    lines.append("%d of %d targets met" % (sum(1 for r in rows if r[4]), len(rows)))
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
    lines.append("the sweep, demo page, closed loop (p50 / p90 / p99 ms, req/s, "
                 "non-2xx + socket errors)")
    for lvl in sweep:
        lines.append("%5d clients  " % lvl["conns"] + "   ".join(
            "%s %.1f/%.1f/%.1f %.0f/s %d" % (
                s.label, lvl[s.label]["p50_ms"], lvl[s.label]["p90_ms"], lvl[s.label]["p99_ms"],
                lvl[s.label]["rps"], errors_of(lvl[s.label])) for s in swept))
    lines.append("")
    lines.append("open loop, demo page, latency from the scheduled start (ms), %d "
                 "connections" % OPEN_CONNS)
    lines.append("%-6s %8s  %-13s %8s %8s %8s %8s %7s %6s %11s" % (
        "share", "rate/s", "server", "p50", "p99", "p999", "max", "conns", "errors",
        "p99 served"))
    for r in opened:
        lines.append("%4d %% %8.0f  %-13s %8.2f %8.2f %8.2f %8.1f %7d %6d %11.2f" % (
            100 * r["share"], r["rate"], r["server"], r["p50_ms"], r["p99_ms"], r["p999_ms"],
            r["max_ms"], r["connections"], r["errors"], r["service_p99_ms"]))
    lines.append("")
    lines.append("idle: %d kept FastCGI connections opened straight to a fresh instance's "
                 "socket, one request each, then silent: %d connected, %d answered in %.0f s; "
                 "then one page through nginx: %s; program memory %.1f MiB" % (
                     held["count"], held["connected"], held["answered"], 3.0, page,
                     held["memory_kib"] / 1024))
    lines.append("page sizes on the big table (16 clients): " + ", ".join(
        "%d rows %.0f req/s" % (n, s["rps"]) for n, s in sizes.items()))
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(OUT, "table.txt"), "w") as f:
        f.write(table + "\n")
    res = {"side_by_side": {"%s|%s" % k: v for k, v in med.items()},
           "runs": {"%s|%s" % k: v for k, v in raw.items()},
           "same_rows": checked, "sweep": sweep, "open_loop": opened, "idle": held,
           "db": db, "rss_kib": rss, "private_kib": private,
           "big100": big100, "hundred100": hund100, "sizes": sizes,
           "memory_big_kib": [mem_big_before, mem_big_after],
           "figures": [{"name": r[0], "measured": r[1], "ratio": r[2], "target": r[3],
                        "pass": r[4]} for r in rows]}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    plot({"title": "fcgi-app against its peers, one run on this machine (%s)" % (
              "quick smoke" if args.quick else "make bench"),
          "rates_for_plot": [(s.label, med[(demo, s.label)]["rps"])
                             for s in (app, lean, gop, php, py, static)] + [
                                 ("MariaDB SELECT", db["qps"])],
          "big_for_plot": [(s.label, med[(bh, s.label)]["rps"],
                            med[(bj, s.label)]["rps"] if (bj, s.label) in med else 0)
                           for s in (app_big, lean_big, go_big, php_big)],
          "open_for_plot": [(label, [r for r in opened if r["server"] == label])
                            for label in ("fcgi-app", "Go lean", "nginx static")],
          "sweep": sweep, "sweep_servers": [s.label for s in swept]},
         os.path.join(OUT, "bench.png"))
    print("wrote build/bench/table.txt, results.json and bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
