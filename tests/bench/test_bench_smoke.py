"""A short run of make bench, so that the benchmark cannot rot.  It is
no timed test: it checks that every figure is measured and reported for
the project and for every peer, and that no request failed, not how
fast anything was."""
import json
import os
import subprocess
import sys
import unittest

from lib import TOP

OUT = os.path.join(TOP, "build", "bench")


class BenchSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "bench.py"),
                                "--quick"], capture_output=True, text=True, timeout=600)

    def test_runs_and_reports_every_figure(self):
        self.assertEqual(self.p.returncode, 0, self.p.stdout + self.p.stderr)
        with open(os.path.join(OUT, "table.txt")) as f:
            table = f.read()
        figures = ("P1 page rate / Go", "P1 page rate / PHP-FPM", "P2 program CPU per page",
                   "P3 database CPU per page", "P4 1000-row HTML rate / Go",
                   "P4 1000-row JSON rate / Go", "L1 1000 connections held",
                   "L1 4000 connections held", "T1 page / database SELECT rate",
                   "T2 page / static bytes", "T3 p99 at 64 connections",
                   "T3 errors at 16/64/256", "T4 worker RSS", "T5 20000-row / 100-row table",
                   "T5 RSS growth", "T5 time per row")
        for figure in figures:
            self.assertIn(figure, table)
        with open(os.path.join(OUT, "results.json")) as f:
            res = json.load(f)
        self.assertEqual([f["name"].split(" ")[0] for f in res["figures"]],
                         [f.split(" ")[0] for f in figures])
        # every server of every side-by-side load answered, without errors,
        # and its CPU per page was read
        want = {"demo page, 64 connections": ("fcgi-app", "Go", "PHP-FPM", "Python",
                                              "nginx static"),
                "1000-row HTML, 16 connections": ("fcgi-app", "Go", "PHP-FPM"),
                "1000-row JSON, 16 connections": ("fcgi-app", "Go", "PHP-FPM")}
        got = {}
        for key, m in res["side_by_side"].items():
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
        self.assertEqual([l["conns"] for l in res["sweep"]], [16, 64, 256, 1000, 4000])
        for l in res["sweep"]:
            for server in ("fcgi-app", "Go", "nginx static"):
                self.assertGreater(l[server]["requests"], 0, (l["conns"], server))
            self.assertEqual((l["fcgi-app"]["non2xx"], l["fcgi-app"]["socket_errors"]),
                             (0, 0), l["conns"])
        self.assertGreater(res["db"]["qps"], 0)

    def test_plot_is_a_png(self):
        with open(os.path.join(OUT, "bench.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
