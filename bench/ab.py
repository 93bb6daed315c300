"""Two or more builds of fcgi-app side by side, in one run.

On a shared machine absolute rates drift by more than most changes are
worth, so this compares builds under the same conditions: one database,
one instance (nginx + fcgi-app) per build, and rounds in which each load
runs against every build in turn, the order rotating from round to round.
It prints, for each load, every build's median rate and p99, its rate
as a ratio of the first build's, and the median CPU time per page of
its own processes, of MariaDB and of its nginx (from /proc).

    python3 bench/ab.py [--rounds N] [--seconds S] [--rows N] [--only WORD]
                        [--nginx-workers LABEL=N ...] [--workers-of LABEL=N ...]
                        [--site LABEL=SITE.conf ...] LABEL=BINARY ...

--only runs just the loads whose name holds WORD (e.g. big, json).

--site gives a build's instance another nginx site file in place of
nginx/fcgi-app.conf (the listen and socket lines are replaced the same
way), so that two nginx settings can be compared with one binary;
--nginx-workers LABEL=N gives its nginx N worker processes instead of
the local stack's one; --workers-of LABEL=N gives that build N
fcgi-app workers instead of --workers (8).  The same binary may appear
under two labels, to compare settings.
Every load run is bounded in time (wrk -d), the whole run by
rounds x loads x builds x seconds.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

# the tests' helpers (tests/lib); bench.py and peers.py are beside this file
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
from bench import measured, wrk  # noqa: E402
from lib.localstack import Stack  # noqa: E402
import peers  # noqa: E402

# (name, table, path, connections)
LOADS = [
    ("demo html, 10 rows, c64", "demo", "/", 64),
    ("demo json, 10 rows, c64", "demo", "/?format=json", 64),
    ("demo html, 10 rows, c1000", "demo", "/", 1000),
    ("big html, 1000 rows, c16", "big", "/?limit=1000", 16),
    ("big json, 1000 rows, c16", "big", "/?format=json&limit=1000", 16),
]


def use_site(inst, site):
    """Reloads inst's nginx with site in place of the production one."""
    conf = os.path.join(inst.state, "nginx-site.conf")
    with open(conf) as f:
        current = f.read()
    listen = [l for l in current.splitlines() if l.strip().startswith("listen ")][0]
    listen = listen.split(" backlog=")[0].rstrip(";")
    sock = "unix:%s;" % os.path.join(inst.state, "fcgi-app.sock")
    with open(site) as f:
        text = f.read()
    if "    listen 80 default_server" not in text or \
            "unix:/run/fcgi-app/fcgi-app.sock;" not in text:
        raise SystemExit("%s lacks the listen and socket lines to replace" % site)
    text = text.replace("    listen 80 default_server", listen)
    text = text.replace("unix:/run/fcgi-app/fcgi-app.sock;", sock)
    replace_file(conf, text)
    reload_nginx(inst)


def use_nginx_workers(inst, n):
    """Reloads inst's nginx with n worker processes."""
    conf = os.path.join(inst.state, "nginx.conf")
    with open(conf) as f:
        text = f.read()
    text, count = re.subn(r"(?m)^worker_processes \S+;$", "worker_processes %d;" % n, text)
    if count != 1:
        raise SystemExit("%s lacks the worker_processes line to replace" % conf)
    replace_file(conf, text)
    reload_nginx(inst)


def replace_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    shutil.copymode(path, path + ".tmp")
    os.replace(path + ".tmp", path)


def reload_nginx(inst):
    nginx_conf = os.path.join(inst.state, "nginx.conf")
    subprocess.run(["nginx", "-q", "-t", "-c", nginx_conf], check=True, timeout=60)
    subprocess.run(["nginx", "-s", "reload", "-c", nginx_conf], check=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--site", action="append", default=[])
    ap.add_argument("--nginx-workers", action="append", default=[])
    ap.add_argument("--workers-of", action="append", default=[])
    ap.add_argument("--only", default="")
    ap.add_argument("builds", nargs="+", help="LABEL=BINARY")
    args = ap.parse_args()
    builds = [b.split("=", 1) for b in args.builds]
    sites = dict(s.split("=", 1) for s in args.site)
    nginx_workers = dict(s.split("=", 1) for s in args.nginx_workers)
    workers_of = {k: int(v) for k, v in (s.split("=", 1) for s in args.workers_of)}
    loads = [load for load in LOADS if args.only in load[0]]
    results = {(load[0], label): [] for load in loads for label, _ in builds}
    stack = Stack()
    try:
        stack.db_start()
        stack.db_load()
        stack.sql("CREATE TABLE big LIKE demo;"
                  "INSERT INTO big (id, name, city, note, price, created_at) "
                  "SELECT seq, CONCAT('name ', seq), '서울 Seoul', 'a <b>note</b> & more', "
                  "seq / 100, '2024-03-01 09:00:00' FROM seq_1_to_%d;"
                  "GRANT SELECT ON big TO 'fcgi_app'@'%%';" % args.rows)
        insts = {}
        for label, binary in builds:
            for table in ("demo", "big"):
                inst = stack.web_start("%s-%s" % (label, table), binary=os.path.abspath(binary),
                                       settings={"workers": workers_of.get(label, args.workers),
                                                 "table": table})
                if label in sites:
                    use_site(inst, sites[label])
                if label in nginx_workers:
                    use_nginx_workers(inst, int(nginx_workers[label]))
                insts[(label, table)] = inst
        db_pid = peers.read_pid(os.path.join(stack.db_state, "mariadb.pid"))
        servers = {key: peers.Server(key[0], "http://127.0.0.1:%d/" % inst.port,
                                     inst.master_pid(), inst.state, lambda: None)
                   for key, inst in insts.items()}
        for (label, table), inst in insts.items():  # warm up
            wrk("http://127.0.0.1:%d/" % inst.port, 16, 1)
        for rnd in range(args.rounds):
            order = builds[rnd % len(builds):] + builds[:rnd % len(builds)]
            for name, table, path, conns in loads:
                for label, _ in order:
                    r = measured(servers[(label, table)], db_pid, path, conns, args.seconds)
                    if r["non2xx"] or r["socket_errors"]:
                        print("warning: %s %s: %d non-2xx, %d socket errors" % (
                            label, name, r["non2xx"], r["socket_errors"]))
                    results[(name, label)].append(r)
                    print("round %d  %-26s %-10s %8.0f req/s  p99 %7.2f ms  app %6.1f us  "
                          "db %6.1f us  nginx %6.1f us" % (
                              rnd + 1, name, label, r["rps"], r["p99_ms"], r["app_us"],
                              r["db_us"], r["nginx_us"]), flush=True)
    finally:
        stack.stop()
        stack.cleanup()
    base = builds[0][0]
    print("\n%-26s %-10s %10s %10s %8s %8s %8s %8s" % (
        "load", "build", "req/s", "p99 ms", "ratio", "app us", "db us", "nginx us"))
    for name, _, _, _ in loads:
        base_rps = statistics.median(r["rps"] for r in results[(name, base)])
        for label, _ in builds:
            rs = results[(name, label)]
            rps = statistics.median(r["rps"] for r in rs)
            print("%-26s %-10s %10.0f %10.2f %8.3f %8.1f %8.1f %8.1f" % (
                name, label, rps, statistics.median(r["p99_ms"] for r in rs), rps / base_rps,
                statistics.median(r["app_us"] for r in rs),
                statistics.median(r["db_us"] for r in rs),
                statistics.median(r["nginx_us"] for r in rs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
