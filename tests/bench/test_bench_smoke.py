"""A short run of make bench, so that the benchmark cannot rot.  It is
no timed test: it checks that every figure is measured and reported for
the project and for every peer, that the lean Go peer shows the same
rows as the program, that the open loop and the idle test report their
figures, and that no request to the program failed, not how fast
anything was."""
import json
import os
import subprocess
import sys
import unittest

from lib import TOP

OUT = os.path.join(TOP, "build", "bench")
LEVELS = [16, 64, 256, 1000, 4000]


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "bench.py"),
                                "--quick"], capture_output=True, text=True, timeout=900)
        cls.res = None
        if cls.p.returncode == 0:
            with open(os.path.join(OUT, "results.json")) as f:
                cls.res = json.load(f)

    def setUp(self):
        self.assertEqual(self.p.returncode, 0, self.p.stdout[-6000:] + self.p.stderr[-6000:])

    def test_reports_every_figure(self):
        with open(os.path.join(OUT, "table.txt")) as f:
            table = f.read()
        figures = []
        for c in LEVELS:
            figures += ["S1 %d clients: rate / Go lean" % c, "S2 %d clients: rate / own at 64" % c,
                        "S3 %d clients: errors" % c]
        figures += ["P1 page rate / PHP-FPM", "P2 program CPU per page / Go lean's",
                    "P3 database CPU per page / Go lean's", "P4 1000-row HTML rate / Go lean",
                    "P4 1000-row JSON rate / Go,", "O1 open loop 50 %", "O1 open loop 80 %",
                    "I1 new page, 64 idle kept FastCGI conns",
                    "I2 program memory, 64 idle conns held", "T1 page / database SELECT rate",
                    "T2 page / static bytes", "T4 worker RSS", "T5 20000-row / 100-row table",
                    "T5 program CPU per page", "T5 program memory over the big-table runs",
                    "T5 time per row"]
        for figure in figures:
            self.assertIn(figure, table)
        names = [f["name"] for f in self.res["figures"]]
        self.assertEqual(len(names), len(figures))
        for name, figure in zip(names, figures):
            self.assertTrue(name.startswith(figure), (name, figure))
        for f in self.res["figures"]:
            self.assertIsInstance(f["pass"], bool, f)

    def test_every_server_answered_without_errors(self):
        want = {"demo page, 64 connections": ("fcgi-app", "Go lean", "Go", "PHP-FPM", "Python",
                                              "nginx static"),
                "1000-row HTML, 16 connections": ("fcgi-app", "Go lean", "Go", "PHP-FPM"),
                "1000-row JSON, 16 connections": ("fcgi-app", "Go", "PHP-FPM")}
        got = {}
        for key, m in self.res["side_by_side"].items():
            load, server = key.split("|")
            got.setdefault(load, []).append(server)
            self.assertGreater(m["requests"], 0, key)
            self.assertEqual(m["errors"], 0, key)
            self.assertGreater(m["nginx_us"], 0, key)
            if server != "nginx static":
                self.assertGreater(m["app_us"], 0, key)
                self.assertGreater(m["db_us"], 0, key)
        self.assertEqual({k: sorted(v) for k, v in got.items()},
                         {k: sorted(v) for k, v in want.items()})
        self.assertGreater(self.res["db"]["qps"], 0)

    def test_the_lean_peer_shows_the_programs_rows(self):
        exact = [(c["server"], c["path"], c["rows"]) for c in self.res["same_rows"]
                 if c["exact"]]
        self.assertEqual(exact, [("Go lean", "/", 10), ("Go lean", "/?limit=1000", 1000)])

    def test_the_sweep_counts_errors_at_every_level(self):
        self.assertEqual([l["conns"] for l in self.res["sweep"]], LEVELS)
        for l in self.res["sweep"]:
            for server in ("fcgi-app", "Go lean", "Go", "nginx static"):
                self.assertGreater(l[server]["requests"], 0, (l["conns"], server))
                self.assertIn("socket_errors", l[server])
                self.assertIn("non2xx", l[server])
            self.assertEqual((l["fcgi-app"]["non2xx"], l["fcgi-app"]["socket_errors"]),
                             (0, 0), l["conns"])

    def test_the_open_loop_reports_its_figures(self):
        runs = self.res["open_loop"]
        self.assertEqual(sorted((r["share"], r["server"]) for r in runs),
                         sorted((s, n) for s in (0.5, 0.8)
                                for n in ("fcgi-app", "Go lean", "nginx static")))
        for share in (0.5, 0.8):
            rates = {r["rate"] for r in runs if r["share"] == share}
            self.assertEqual(len(rates), 1, "the same rate for all three")
        for r in runs:
            self.assertEqual(r["due"], int(r["rate"] * r["seconds"]), r)
            self.assertEqual(r["answered"] + r["errors"], r["due"], r)
            self.assertGreater(r["answered"], 0, r)
            self.assertTrue(0 < r["p50_ms"] <= r["p99_ms"] <= r["p999_ms"] <= r["max_ms"], r)
            # from the scheduled start, so never below the time served
            self.assertGreaterEqual(r["p99_ms"], r["service_p99_ms"] * 0.999, r)
            if r["server"] == "fcgi-app":
                self.assertEqual(r["errors"], 0, r)

    def test_the_idle_test_reports_a_result(self):
        held = self.res["idle"]
        # 64 connections fit the 8 workers' 16 slots each: today's
        # workers answer all of them and still take nginx's new one
        self.assertEqual((held["count"], held["connected"], held["answered"]), (64, 64, 64))
        self.assertIsNone(held["page_error"])
        self.assertGreater(held["page_ms"], 0)
        self.assertGreater(held["memory_kib"], 0)

    def test_plot_is_a_png(self):
        with open(os.path.join(OUT, "bench.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
