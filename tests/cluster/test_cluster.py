"""make cluster: HAProxy in front of two instances (network namespaces as
root), one MariaDB.  Both instances serve through the balancer, the
balancer checks them like the target group, and when one stops, traffic
goes only to the other."""
import gzip
import http.client
import ipaddress
import json
import os
import re
import secrets
import socket
import subprocess
import time
import unittest

from lib import SCRIPTS, TOP
from lib.cluster import Cluster

CLUSTER = None
LB = None
# the address the tests connect to the balancer from, as a client would
CLIENT = "127.0.0.77"


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

    def test_3a_nginx_logs_the_client_and_the_trace_id(self):
        """The balancer appends the address it sees to X-Forwarded-For;
        nginx logs that one, not the balancer's nor the one the client
        claimed, and the trace id the request came with."""
        claimed = "198.51.100.9"
        traces = ["Root=1-%08x-%s" % (int(time.time()), secrets.token_hex(12))
                  for _ in range(4)]
        for t in traces + [None]:
            c = http.client.HTTPConnection("127.0.0.1", CLUSTER.port, timeout=10,
                                           source_address=(CLIENT, 0))
            headers = {"X-Forwarded-For": claimed}
            if t is not None:
                headers["X-Amzn-Trace-Id"] = t
            c.request("GET", "/?format=json", headers=headers)
            r = c.getresponse()
            r.read()
            c.close()
            self.assertEqual(r.status, 200)
        lines = []
        for z in ("a", "c"):
            with open(os.path.join(CLUSTER.state, z, "nginx-access.log")) as f:
                lines += [json.loads(l) for l in f if l.strip()]
        mine = [l for l in lines if l["trace_id"] in traces]
        self.assertEqual(sorted(l["trace_id"] for l in mine), sorted(traces))
        with open(os.path.join(CLUSTER.state, "a", "nginx.d", "real-ip.conf")) as f:
            vpc = ipaddress.ip_network(re.search(r"set_real_ip_from (\S+);", f.read()).group(1))
        for l in mine:
            self.assertEqual(l["client"], CLIENT, l)
            self.assertIn(ipaddress.ip_address(l["peer"]), vpc, l)
            self.assertEqual(l["status"], 200)
            self.assertGreaterEqual(l["request_time"], 0)
            self.assertGreaterEqual(float(l["upstream_time"]), 0)
            self.assertLessEqual(float(l["upstream_time"]), l["request_time"] + 0.001)
        # a request without one gets one from the balancer, as from the ALB
        minted = [l for l in lines if l["client"] == CLIENT and l["trace_id"] not in traces]
        self.assertEqual(len(minted), 1, minted)
        self.assertRegex(minted[0]["trace_id"], r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")

    def test_3b_pages_say_which_build_served_them(self):
        binary = os.environ.get("FCGI_APP_BIN", os.path.join(TOP, "build", "fcgi-app"))
        with open(os.path.join(os.path.dirname(binary), "build-id")) as f:
            build = f.read().strip()
        for path in ("/", "/?format=json", "/healthz", "/nothing-here"):
            self.assertEqual(LB.get(path).header("x-fcgi-app-build"), build, path)

    def test_3c_html_and_json_are_compressed_for_clients_that_ask(self):
        for path in ("/?format=json", "/"):
            plain = LB.get(path)
            self.assertIsNone(plain.header("content-encoding"))
            c = http.client.HTTPConnection("127.0.0.1", CLUSTER.port, timeout=10)
            c.request("GET", path, headers={"Accept-Encoding": "gzip"})
            r = c.getresponse()
            packed = r.read()
            c.close()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("content-encoding"), "gzip", path)
            vary = {v.strip().lower() for h in r.msg.get_all("vary") for v in h.split(",")}
            self.assertIn("accept-encoding", vary)
            body = gzip.decompress(packed)
            self.assertLess(len(packed), len(body))
            if path == "/?format=json":
                a, b = json.loads(plain.body), json.loads(body)
                self.assertEqual((a["columns"], a["rows"]), (b["columns"], b["rows"]))
            else:
                self.assertEqual(body.count(b"<tr>"), plain.body.count(b"<tr>"))
                self.assertGreater(body.count(b"<tr>"), 1)

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
