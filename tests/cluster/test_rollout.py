"""make cluster-rollout: the stack's rolling update rehearsed on the make
cluster shape under steady load through HAProxy (scripts/rollout.py).
Both instances are replaced by a new build with no failed request, and a
new build that never becomes ready stops the rollout with the old
instances serving and, again, no failed request.

The deregistration delay is the target group's, shortened for the
rehearsal through CLUSTER_DEREGISTRATION_DELAY (stack/target_group.py)."""
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import unittest

from lib import TOP
from lib.cluster import Cluster

sys.path.insert(0, os.path.join(TOP, "tests", "faults"))
from load import Load  # noqa: E402

DELAY = 3           # seconds of drain (the template's is 30)
READY_TIMEOUT = 15  # seconds a new instance has to answer /readyz 200
CLUSTER = None
NEW_BUILD = None    # (binary, build id)


def setUpModule():
    global CLUSTER, NEW_BUILD
    CLUSTER = Cluster()
    CLUSTER.start()
    try:
        build_id = "rollout-" + secrets.token_hex(4)
        out = os.path.join(CLUSTER.state, "build-new")
        subprocess.run(["make", "-s", "-C", TOP, "BUILD=" + out, "BUILD_ID=" + build_id,
                        os.path.join(out, "fcgi-app")], check=True, capture_output=True,
                       timeout=600)
        NEW_BUILD = (os.path.join(out, "fcgi-app"), build_id)
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    if CLUSTER is not None:
        print(CLUSTER.stop(), end="")


def rollout(binary, *extra):
    env = dict(os.environ, CLUSTER_STATE=CLUSTER.state,
               CLUSTER_DEREGISTRATION_DELAY=str(DELAY))
    return subprocess.run([sys.executable, os.path.join(TOP, "scripts", "rollout.py"), binary,
                           "--ready-timeout", str(READY_TIMEOUT), *extra], env=env,
                          capture_output=True, text=True, timeout=300)


def under_load(fn):
    """Runs fn() under steady load through the balancer; returns fn's
    result and the load's answers.  Bounded: 4 clients, 240 s, 200k
    requests at most."""
    load = Load(CLUSTER.port, clients=4, seconds=240, max_requests=200000)
    load.start()
    time.sleep(1)
    try:
        result = fn()
    finally:
        time.sleep(1)
        load.stop()
    return result, load.answers


def summary(name, answers):
    failed = [a for a in answers if a.failed()]
    print("\n%s: %d requests, %d failed" % (name, len(answers), len(failed)), flush=True)
    return failed


def served():
    """(build id, instance id) of one page through the balancer."""
    r = CLUSTER.lb.get("/?format=json")
    return r.header("x-fcgi-app-build"), r.json()["served_by"]["instance_id"]


def events(out):
    """[(seconds, text)] of the rollout's lines."""
    return [(float(m.group(1)), m.group(2))
            for m in re.finditer(r"(?m)^rollout +([0-9.]+)s (.*)$", out)]


class A_Rollout(unittest.TestCase):
    def test_1_both_instances_replaced_under_load_none_failed(self):
        self.assertEqual(CLUSTER.wait_status({"a": "UP", "c": "UP"}, 15),
                         {"a": "UP", "c": "UP"})
        old_build = served()[0]
        self.assertNotEqual(old_build, NEW_BUILD[1])
        t0 = time.monotonic()
        p, answers = under_load(lambda: rollout(NEW_BUILD[0]))
        took = time.monotonic() - t0
        print(p.stdout, end="")
        print("rollout of two instances took %.1f s" % took)
        failed = summary("rollout", answers)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(failed[:5], [])
        self.assertGreater(len(answers), 100)
        # one at a time, in the order the rolling update keeps
        ev = events(p.stdout)
        order = [t for _, t in ev if re.match(r"[ac]1? (signalled|registered|draining|"
                                              r"deregistered)", t)]
        self.assertEqual([o.split(" ", 2)[:2] for o in order], [
            ["a1", "signalled:"], ["a1", "registered"], ["a", "draining"],
            ["a", "deregistered"],
            ["c1", "signalled:"], ["c1", "registered"], ["c", "draining"],
            ["c", "deregistered"]])
        # the old one is drained for the whole delay, with the new in service
        for old, new in (("a", "a1"), ("c", "c1")):
            reg = [s for s, t in ev if t.startswith(new + " registered")][0]
            drain = [s for s, t in ev if t.startswith(old + " draining")][0]
            gone = [s for s, t in ev if t.startswith(old + " deregistered")][0]
            self.assertLessEqual(reg, drain)
            self.assertGreaterEqual(gone - drain, DELAY)
            line = [t for _, t in ev if t.startswith(new + " registered")][0]
            self.assertIn(" %s " % old, line + " ")  # the old still in service
        # the new build serves from both new instances, the old are gone
        seen = {served() for _ in range(10)}
        self.assertEqual(seen, {(NEW_BUILD[1], "i-0cluster000000a1"),
                                (NEW_BUILD[1], "i-0cluster000000c1")})
        self.assertEqual(self.status(), {"a1": "UP", "c1": "UP"})
        for z in ("a", "c"):
            self.assertFalse(os.path.exists(os.path.join(CLUSTER.state, z, "nginx.pid")), z)
            self.assertFalse(os.path.exists(os.path.join(CLUSTER.state, z, "fcgi-app.pid")), z)

    def test_2_a_build_that_never_becomes_ready_stops_the_rollout(self):
        # the instances of this build find no database: /healthz answers,
        # /readyz never does, as with a broken image or settings
        good = os.path.join(CLUSTER.state, "db", "fcgi-app.cnf")
        bad = os.path.join(CLUSTER.state, "never-ready.cnf")
        shutil.copy2(good, bad)
        st = os.stat(good)
        os.chown(bad, st.st_uid, st.st_gid)
        with open(bad) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^socket = ")
        with open(bad, "w") as f:
            f.write(re.sub(r"(?m)^socket = .*$", "socket = %s/no-such.sock" % CLUSTER.state,
                           text))
        before = self.status()
        self.assertEqual(before, {"a1": "UP", "c1": "UP"})
        t0 = time.monotonic()
        p, answers = under_load(lambda: rollout(NEW_BUILD[0], "--config", bad))
        print(p.stdout, end="")
        print("the stopped rollout took %.1f s" % (time.monotonic() - t0))
        failed = summary("never-ready rollout", answers)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("stopped: a2 never answered /readyz 200", p.stdout)
        self.assertEqual(failed[:5], [])
        self.assertGreater(len(answers), 50)
        # the old instances serve on; the new one is gone, never registered
        self.assertEqual(self.status(), before)
        self.assertNotIn("a2 registered", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(CLUSTER.state, "a2", "nginx.pid")))
        self.assertEqual({served() for _ in range(10)},
                         {(NEW_BUILD[1], "i-0cluster000000a1"),
                          (NEW_BUILD[1], "i-0cluster000000c1")})

    def status(self):
        """{server: status} of every server in the balancer's backend."""
        return CLUSTER.backend_status()
