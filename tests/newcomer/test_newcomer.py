"""A newcomer's first try, on a machine with nothing on it.

A fresh Debian 12 root made by debootstrap (scripts/debian-root.sh, cached
under build/cache/) gets only git, make, ca-certificates and curl.  In it,
as root in a chroot, the checkout is cloned with git (the commit under
test: HEAD, or NEWCOMER_REV) and `make dev` runs once: it must install
what it needs, build, and print a URL whose page shows the table (parsed)
and whose ?format=json shows its rows.  Then `make dev` again, and
`make dev-stop` twice.  The root's policy-rc.d keeps Debian's own
services from starting; the stack listens on a free port (DEV_PORT), on
loopback.  Afterwards nothing from the root may still run, and every
mount the test made is undone.
"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from lib import TOP
from lib.localstack import Stack
from lib.page import Page, as_shown_in_html
from lib.proc import cmdline, free_port, parent_of

REV = os.environ.get("NEWCOMER_REV", "HEAD")
PACKAGES = ("git", "make", "ca-certificates", "curl")
CHECKOUT = "/root/fcgi-app"     # where the newcomer clones, inside the root
ORIGIN = "/srv/fcgi-app.git"    # what they clone from, inside the root
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
R = None


def sh(*args, timeout=600, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                        p.stdout[-3000:], p.stderr[-3000:]))
    return p


class Root:
    """The fresh machine: a debootstrapped root, its mounts, its port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-newcomer-", dir="/var/tmp")
        self.root = os.path.join(self.dir, "root")
        self.port = free_port()
        self.state = None   # the dev stack's state folder, as make dev says
        self.url = None     # the URL make dev printed
        self.mounts = []
        self.times = {}

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def timed(self, name, fn, *args, **kw):
        t = time.monotonic()
        try:
            return fn(*args, **kw)
        finally:
            self.times[name] = time.monotonic() - t

    def make(self):
        self.timed("debian root", sh, os.path.join(TOP, "scripts", "debian-root.sh"),
                   "make", self.root, *PACKAGES, timeout=1800)
        shutil.copy("/etc/resolv.conf", self.path("/etc/resolv.conf"))
        debs = sh(os.path.join(TOP, "scripts", "debian-root.sh"), "debs").stdout.strip()
        for src, dst, opts in (("proc", "/proc", ["-t", "proc"]),
                               ("/dev", "/dev", ["--bind"]),
                               ("/dev/pts", "/dev/pts", ["--bind"]),
                               (debs, "/var/cache/apt/archives", ["--bind"])):
            sh("mount", *opts, src, self.path(dst))
            self.mounts.append(self.path(dst))
        # the commit under test, as a repository to clone from
        commit = sh("git", "-C", TOP, "rev-parse", "--verify", REV + "^{commit}").stdout.strip()
        origin = self.path(ORIGIN)
        sh("git", "init", "-q", "--bare", origin)
        sh("git", "-C", TOP, "push", "-q", origin, "%s:refs/heads/main" % commit)
        sh("git", "--git-dir", origin, "symbolic-ref", "HEAD", "refs/heads/main")
        self.commit = commit

    def run(self, script, timeout=1200):
        """Runs a shell line as root inside the root, in a clean
        environment: what a newcomer's login shell would have."""
        t = time.monotonic()
        p = subprocess.run(
            ["chroot", self.root, "/usr/bin/env", "-i", "PATH=" + PATH, "HOME=/root",
             "LANG=C.UTF-8", "TERM=dumb", "DEV_PORT=%d" % self.port,
             "/bin/bash", "-c", script],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        p.seconds = time.monotonic() - t
        return p

    def pids(self):
        """Processes whose root directory is this root."""
        found = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.path.realpath("/proc/%s/root" % d) == os.path.realpath(self.root):
                        found.append(int(d))
                except OSError:
                    continue
        return sorted(found)

    def our_mounts(self):
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        return [m for m in points if m == self.dir or m.startswith(self.dir + "/")]

    def teardown(self):
        """Ends what still runs in the root, undoes the mounts, and removes
        the root, but only once nothing is mounted inside it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            end = time.monotonic() + 10
            while self.pids() and time.monotonic() < end:
                time.sleep(0.1)
        for m in reversed(self.mounts):
            sh("umount", m, check=False)
        left = self.our_mounts()
        if left:
            raise AssertionError("still mounted, %s kept: %s" % (self.dir, left))
        shutil.rmtree(self.dir, ignore_errors=True)


def get(url, path=""):
    """GETs url + path; returns the status and the body's text."""
    u = urllib.parse.urlsplit(url + path)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    try:
        c.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = c.getresponse()
        return r.status, r.read().decode("utf-8")
    finally:
        c.close()


class RootDatabase(Stack):
    """Stack's table reader, through the mariadb client inside the root."""

    def __init__(self, root):  # pylint: disable=super-init-not-called
        self.r = root

    def sql(self, text):
        p = subprocess.run(["chroot", self.r.root, "/usr/bin/env", "-i", "PATH=" + PATH,
                            "HOME=/root", CHECKOUT + "/scripts/db.sh", "sql",
                            self.r.state],
                           input="SET NAMES utf8mb4;\n" + text, capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("db.sh sql failed:\n%s%s" % (p.stdout, p.stderr))
        return p.stdout


def setUpModule():
    global R
    R = Root()
    try:
        R.make()
    except Exception:
        R.teardown()
        raise


def tearDownModule():
    print("\ncommit %s; seconds: %s" % (R.commit[:12] if hasattr(R, "commit") else "?",
          ", ".join("%s %.0f" % kv for kv in R.times.items())))
    R.teardown()


def show(p):
    return "exit %d after %.0f s\n%s\n%s" % (p.returncode, p.seconds,
                                            p.stdout[-4000:], p.stderr[-4000:])


class Newcomer(unittest.TestCase):
    """In order: each step starts from where the one before left off."""

    def test_1_clone_and_first_make_dev_serves_the_table(self):
        p = R.timed("clone", R.run, "cd /root && git clone -q %s fcgi-app" % ORIGIN)
        self.assertEqual(p.returncode, 0, show(p))
        p = R.timed("first make dev", R.run, "cd %s && make dev" % CHECKOUT)
        self.assertEqual(p.returncode, 0, show(p))
        m = re.search(r"fcgi-app is running: (http://\S+)", p.stdout)
        self.assertIsNotNone(m, show(p))
        self.assertEqual(m.group(1), "http://127.0.0.1:%d/" % R.port)
        R.url = m.group(1)
        m = re.search(r"logs: +(/\S+)/\*\.log", p.stdout)
        self.assertIsNotNone(m, show(p))
        R.state = m.group(1)
        status, text = get(R.url)
        self.assertEqual(status, 200, text)
        cols, rows = RootDatabase(R).table("demo")
        self.assertEqual(len(rows), 10)
        page = Page(text)
        self.assertEqual(page.headers, cols)
        self.assertEqual(page.rows, [[as_shown_in_html(v) for v in r] for r in rows])

    def test_2_json_shows_the_rows(self):
        import json
        status, text = get(R.url, "?format=json")
        self.assertEqual(status, 200, text)
        doc = json.loads(text)
        cols, rows = RootDatabase(R).table("demo")
        self.assertEqual(doc["columns"], cols)
        self.assertEqual([str(r["id"]) for r in doc["rows"]], [r[0] for r in rows])
        self.assertEqual([r["name"] for r in doc["rows"]], [r[1] for r in rows])

    def test_3_only_the_dev_stack_runs(self):
        """No service of Debian's started (policy-rc.d): every process in
        the root is the checkout's database, program or nginx."""
        pids = R.pids()
        self.assertTrue(pids)
        names = set()
        for pid in pids:
            line, up = cmdline(pid), cmdline(parent_of(pid) or 0)
            self.assertTrue(any(where + "/" in text for where in (CHECKOUT, R.state)
                                for text in (line, up)),
                            "not the dev stack: %d %s (parent: %s)" % (pid, line, up))
            names.add(line.split()[0].rsplit("/", 1)[-1] if line else "")
        self.assertTrue({"mariadbd", "nginx:"} <= names, names)

    def test_4_second_make_dev_keeps_the_same_stack(self):
        before = R.pids()
        p = R.timed("second make dev", R.run, "cd %s && make dev" % CHECKOUT)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("already running", p.stdout)
        self.assertEqual(R.pids(), before)
        status, text = get(R.url)
        self.assertEqual(status, 200)
        self.assertEqual(len(Page(text).rows), 10)

    def test_5_make_dev_stop_twice_leaves_nothing_running(self):
        p = R.run("cd %s && make dev-stop" % CHECKOUT, timeout=120)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual([(pid, cmdline(pid)) for pid in R.pids()], [])
        with self.assertRaises(ConnectionRefusedError):
            get(R.url)
        p = R.run("cd %s && make dev-stop" % CHECKOUT, timeout=120)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(R.pids(), [])


if __name__ == "__main__":
    unittest.main()
