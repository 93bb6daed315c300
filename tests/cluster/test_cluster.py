"""make cluster: HAProxy in front of two instances (network namespaces as
root), one MariaDB.  Both instances serve through the balancer, the
balancer checks them like the target group, and when one stops, traffic
goes only to the other."""
import os
import re
import socket
import subprocess
import unittest

from lib import SCRIPTS, TOP
from lib.cluster import Cluster

CLUSTER = None
LB = None


def setUpModule():
    global CLUSTER, LB
    CLUSTER = Cluster()
    CLUSTER.start()
    LB = CLUSTER.lb


def tearDownModule():
    if CLUSTER is not None:
        print(CLUSTER.stop(), end="")


def served_by():
    return CLUSTER.served_by()


def wait_status(want, seconds):
    return CLUSTER.wait_status(want, seconds)


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
        with open(os.path.join(CLUSTER.state, "haproxy.cfg")) as f:
            cfg = f.read()
        self.assertIn("option httpchk GET %s\n" % tg["CHECK_PATH"], cfg)
        self.assertIn("http-check expect status %s\n" % tg["CHECK_STATUS"], cfg)
        self.assertIn("timeout check %ss\n" % tg["CHECK_TIMEOUT"], cfg)
        self.assertIn("default-server inter %ss rise %s fall %s\n" % (
            tg["CHECK_INTERVAL"], tg["HEALTHY"], tg["UNHEALTHY"]), cfg)
        self.assertEqual(len(re.findall(r"(?m)^    server [ac] \S+ check$", cfg)), 2)
        self.assertEqual(tg["CHECK_PATH"], "/healthz")

    def test_3_starting_again_is_harmless(self):
        p = CLUSTER.run("start")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({served_by() for _ in range(6)},
                         {"i-0cluster0000000a", "i-0cluster0000000c"})

    def test_4_one_instance_stops_traffic_goes_to_the_other(self):
        p = subprocess.run([os.path.join(SCRIPTS, "web.sh"), "stop",
                            os.path.join(CLUSTER.state, "a")], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        # two failed checks, five seconds apart, take an instance out
        self.assertEqual(wait_status({"a": "DOWN", "c": "UP"}, 30), {"a": "DOWN", "c": "UP"})
        for _ in range(20):
            self.assertEqual(served_by(), "i-0cluster0000000c")

    def test_5_stop_twice_cleans_up(self):
        # stop now, then again in tearDownModule: both must succeed
        self.assertEqual(CLUSTER.run("stop").returncode, 0)
        p = CLUSTER.run("stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        ident = __import__("hashlib").md5(CLUSTER.state.encode()).hexdigest()[:6]
        self.assertNotIn("fcgiapp-%s" % ident, netns)
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", CLUSTER.port)), 0)
