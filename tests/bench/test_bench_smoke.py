"""A short run of make bench, so that the benchmark cannot rot.  It is
no timed test: it checks that every figure is measured and reported, and
that no request failed, not how fast anything was."""
import json
import os
import subprocess
import sys
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
        for figure in ("T1 page / database SELECT rate", "T2 page / static bytes",
                       "T3 p99 at 64 connections", "T3 errors at 16/64/256",
                       "T4 worker RSS", "T5 20000-row / 100-row table",
                       "T5 RSS growth", "T5 time per row"):
            self.assertIn(figure, table)
        with open(os.path.join(OUT, "results.json")) as f:
            res = json.load(f)
        self.assertEqual([l["conns"] for l in res["levels"]], [16, 64, 256])
        for l in res["levels"] + res["static"]:
            self.assertGreater(l["requests"], 0)
            self.assertEqual((l["non2xx"], l["socket_errors"]), (0, 0), l)
        self.assertGreater(res["db"]["qps"], 0)
        self.assertEqual(len(res["figures"]), 8)

    def test_plot_is_a_png(self):
        with open(os.path.join(OUT, "bench.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
