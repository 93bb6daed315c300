"""A short run of bench/compress.py (make bench's gzip part), so that it
cannot rot.  No timed test: it checks that every figure is measured and
that gzip round-trips and shrinks every page of gzip_min_length or more
and leaves shorter ones alone, not how fast anything was."""
import json
import os
import subprocess
import sys
import unittest

from lib import TOP

OUT = os.path.join(TOP, "build", "bench")


class CompressSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = subprocess.run([sys.executable, os.path.join(TOP, "bench", "compress.py"),
                                "--quick"], capture_output=True, text=True, timeout=600)

    def test_every_page_measured_both_ways(self):
        self.assertEqual(self.p.returncode, 0, self.p.stdout + self.p.stderr)
        with open(os.path.join(OUT, "gzip.json")) as f:
            res = json.load(f)
        self.assertEqual(len(res["pages"]), 6)
        for r in res["pages"]:
            for k in ("plain_rps", "gzip_rps", "plain_nginx_us", "gzip_nginx_us"):
                self.assertGreater(r[k], 0, (r["page"], k))
            self.assertLess(r["gzip_bytes"], r["bytes"], r["page"])
        self.assertEqual(len(res["sizes"]), 16)
        # pages carry a Content-Length, so gzip_min_length (1024) applies
        for r in res["sizes"]:
            if r["bytes"] < 1024:
                self.assertEqual(r["gzip_bytes"], r["bytes"], r)
            else:
                self.assertLess(r["gzip_bytes"], r["bytes"], r)
        self.assertTrue(any(r["bytes"] < 1024 for r in res["sizes"]), res["sizes"])
        with open(os.path.join(OUT, "gzip.txt")) as f:
            self.assertIn("gz req/s", f.read())
