"""make cluster: HAProxy in front of two instances (network namespaces as
root), one MariaDB.  Both instances serve through the balancer, the
balancer checks them like the target group, and when one stops, traffic
goes only to the other."""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "stack"))
from stack import Instance, free_port  # noqa: E402

STATE = None
PORT = None
LB = None


def cluster(cmd):
    env = dict(os.environ, CLUSTER_STATE=STATE, CLUSTER_PORT=str(PORT))
    return subprocess.run([os.path.join(TOP, "scripts", "cluster.sh"), cmd], env=env,
                          capture_output=True, text=True, timeout=300)


def setUpModule():
    global STATE, PORT, LB
    STATE = tempfile.mkdtemp(prefix="fcgi-app-cluster-")
    PORT = free_port()
    p = cluster("start")
    if p.returncode != 0:
        cluster("stop")
        raise RuntimeError("cluster start failed:\n" + p.stdout + p.stderr)
    LB = Instance(STATE, PORT)


def tearDownModule():
    if STATE is not None:
        p = cluster("stop")
        print(p.stdout + p.stderr, end="")
        subprocess.run(["rm", "-rf", STATE])


def served_by():
    r = LB.get("/?format=json")
    if r.status != 200:
        return None
    return r.json()["served_by"]["instance_id"]


def haproxy_status():
    """{server: status} from HAProxy's stats socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(os.path.join(STATE, "haproxy.sock"))
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    rows = [l.split(",") for l in data.decode().splitlines() if l and not l.startswith("#")]
    return {r[1]: r[17] for r in rows if r[0] == "targets" and r[1] in ("a", "c")}


def wait_status(want, seconds):
    """Polls the balancer until its servers' status is want."""
    deadline = time.monotonic() + seconds
    while haproxy_status() != want and time.monotonic() < deadline:
        served_by()  # keep traffic flowing meanwhile
        time.sleep(0.2)
    return haproxy_status()


class A_Cluster(unittest.TestCase):
    def test_1_both_instances_serve(self):
        # the first checks run within one interval of the start
        self.assertEqual(wait_status({"a": "UP", "c": "UP"}, 15), {"a": "UP", "c": "UP"})
        seen = {served_by() for _ in range(10)}
        self.assertEqual(seen, {"i-0cluster0000000a", "i-0cluster0000000c"})
        zones = {LB.get("/?format=json").json()["served_by"]["availability_zone"]
                 for _ in range(4)}
        self.assertEqual(zones, {"ap-northeast-2a", "ap-northeast-2c"})

    def test_2_health_check_is_the_target_groups(self):
        out = subprocess.run(["/usr/bin/python3", os.path.join(TOP, "stack", "target_group.py")],
                             capture_output=True, text=True, check=True).stdout
        tg = dict(l.split("=", 1) for l in out.split())
        with open(os.path.join(STATE, "haproxy.cfg")) as f:
            cfg = f.read()
        self.assertIn("option httpchk GET %s\n" % tg["CHECK_PATH"], cfg)
        self.assertIn("http-check expect status %s\n" % tg["CHECK_STATUS"], cfg)
        self.assertIn("timeout check %ss\n" % tg["CHECK_TIMEOUT"], cfg)
        self.assertIn("default-server inter %ss rise %s fall %s\n" % (
            tg["CHECK_INTERVAL"], tg["HEALTHY"], tg["UNHEALTHY"]), cfg)
        self.assertEqual(len(re.findall(r"(?m)^    server [ac] \S+ check$", cfg)), 2)
        self.assertEqual(tg["CHECK_PATH"], "/healthz")

    def test_3_starting_again_is_harmless(self):
        p = cluster("start")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({served_by() for _ in range(6)},
                         {"i-0cluster0000000a", "i-0cluster0000000c"})

    def test_4_one_instance_stops_traffic_goes_to_the_other(self):
        p = subprocess.run([os.path.join(TOP, "scripts", "web.sh"), "stop",
                            os.path.join(STATE, "a")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # two failed checks, five seconds apart, take an instance out
        self.assertEqual(wait_status({"a": "DOWN", "c": "UP"}, 30), {"a": "DOWN", "c": "UP"})
        for _ in range(20):
            self.assertEqual(served_by(), "i-0cluster0000000c")

    def test_5_stop_twice_cleans_up(self):
        # stop now, then again in tearDownModule: both must succeed
        self.assertEqual(cluster("stop").returncode, 0)
        p = cluster("stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        ident = __import__("hashlib").md5(STATE.encode()).hexdigest()[:6]
        self.assertNotIn("fcgiapp-%s" % ident, netns)
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", PORT)), 0)
