"""make test-faults: the service under steady load while things break.

Each test puts bounded load on loopback (load.py), breaks one thing, and
checks every answer on the timeline against what the service promises.
The figures each test measured are printed as `FAULT ...` lines, which
the README's table quotes.
"""
import os
import signal
import threading
import time
import unittest

from lib import dbsession
from lib.cluster import Cluster
from lib.localstack import Stack
from lib.proc import children_of, pid_of, wait_gone, wait_until
from load import Load, between, summary

STACK = None
WORKERS = 4


def setUpModule():
    global STACK
    STACK = Stack()
    STACK.up()


def tearDownModule():
    STACK.down()


def report(name, **figures):
    print("FAULT %s: %s" % (name, ", ".join("%s=%s" % kv for kv in figures.items())))


def fcgi_sessions():
    return dbsession.count(STACK, user="fcgi_app")


def sleeping_session(seconds):
    """Waits until a session sleeps (in SELECT SLEEP) with its lock held."""
    return dbsession.wait_for(STACK, seconds, state="User sleep")


class Database(unittest.TestCase):
    def test_killed_and_restarted_under_load(self):
        """SIGKILL to MariaDB mid-load, back 2 s later: only 200 and 503,
        503 only while it is down, all 200 again within 2 s."""
        inst = STACK.web_start("dbkill", settings={"workers": WORKERS})
        # stopped even when an assertion fails: its sessions would count
        # in the next test's
        self.addCleanup(STACK.web_stop, inst)
        master, workers = inst.master_pid(), inst.worker_pids()
        load = Load(inst.port, clients=8, seconds=40).start()
        try:
            time.sleep(2)
            db_pid = pid_of(os.path.join(STACK.db_state, "mariadb.pid"))
            t_kill = time.monotonic()
            os.kill(db_pid, signal.SIGKILL)
            self.assertTrue(wait_gone(db_pid, 10))
            time.sleep(2)
            STACK.db_start()  # returns once the server answers
            t_back = time.monotonic()
            time.sleep(4)
        finally:
            answers = load.stop()
        before = [a for a in answers if a.end < t_kill]
        after = between(answers, t_back + 2, float("inf"))
        counts = summary(answers)
        report("database killed", requests=len(answers), answers=counts,
               first_200_after_return_s="%.2f" % min(
                   (a.end - t_back for a in answers if a.start >= t_back and
                    not a.failed()), default=float("nan")))
        self.assertGreater(len(before), 50)
        self.assertGreater(len(after), 50)
        self.assertEqual(set(counts) - {"200", "503"}, set(), counts)
        self.assertFalse([a for a in before if a.failed()])
        self.assertFalse([a for a in after if a.failed()])
        self.assertTrue([a for a in answers if a.status == 503])
        self.assertEqual(inst.master_pid(), master)
        self.assertEqual(inst.worker_pids(), workers)
        self.assertNotIn("killed by signal", inst.log())

    def test_slow_under_load(self):
        """A lock holds the page query: every answer is a 503 within the
        configured time, workers and database sessions stay bounded (by
        db-connections), and pages come back once the lock goes."""
        rt = 2
        db_conns = WORKERS
        inst = STACK.web_start("dbslow", settings={"workers": WORKERS, "read-timeout": rt,
                                                   "db-connections": db_conns})
        self.addCleanup(STACK.web_stop, inst)
        workers = inst.worker_pids()
        hold = threading.Thread(target=STACK.sql, args=(
            "LOCK TABLES demo WRITE; SELECT SLEEP(6); UNLOCK TABLES;",))
        sessions = []
        load = Load(inst.port, clients=16, seconds=40).start()
        try:
            time.sleep(1)
            hold.start()
            self.assertTrue(sleeping_session(10))  # the lock is held
            t_lock = time.monotonic()
            while hold.is_alive():
                sessions.append(fcgi_sessions())
                time.sleep(0.2)
            t_free = time.monotonic()
            # the answers checked after the lock are those sent from
            # rt + 1 s after it went; give them 2 s of their own
            time.sleep(rt + 1 + 2)
        finally:
            answers = load.stop()
        during = between(answers, t_lock + 0.5, t_free - rt - 1)
        after = between(answers, t_free + rt + 1, float("inf"))
        counts = summary(answers)
        slowest = max(a.end - a.start for a in answers)
        report("database slow (lock held 6 s)", requests=len(answers), answers=counts,
               slowest_s="%.2f" % slowest, max_db_sessions=max(sessions))
        self.assertEqual(set(counts) - {"200", "503", "504"}, set(), counts)
        self.assertTrue(during)
        self.assertTrue(all(a.status in (503, 504) for a in during),
                        summary(during))
        self.assertLessEqual(slowest, 2 * rt + 1)
        self.assertLessEqual(max(sessions), db_conns)
        self.assertTrue(after)
        self.assertFalse([a for a in after if a.failed()], summary(after))
        self.assertEqual(inst.worker_pids(), workers)


def drain_seconds(inst):
    with open(os.path.join(inst.state, "fcgi-app.cnf")) as f:
        for line in f:
            if line.startswith("drain-seconds = "):
                return int(line.split("=")[1])
    return 0


class Balanced(unittest.TestCase):
    """make cluster: HAProxy with the target group's health check in
    front of two instances; one of them goes away under load."""

    BOTH_UP = {"a": "UP", "c": "UP"}

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster()
        cls.cluster.start()

    @classmethod
    def tearDownClass(cls):
        print(cls.cluster.stop(), end="")

    def setUp(self):
        # both in service: start again brings back what a test took away
        p = self.cluster.run("start")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.cluster.wait_status(self.BOTH_UP, 30), self.BOTH_UP)

    def watch_down(self, zone, seconds):
        """Polls HAProxy until zone is DOWN; returns when, or None."""
        return wait_until(lambda: self.cluster.status().get(zone) == "DOWN" and
                          time.monotonic(), seconds) or None

    def test_sigterm_drains_without_losing_a_request(self):
        a = self.cluster.instance("a")
        drain = drain_seconds(a)
        self.assertGreater(drain, 0)
        master, workers = a.master_pid(), a.worker_pids()
        load = Load(self.cluster.port, clients=8, seconds=drain + 40).start()
        try:
            time.sleep(2)
            t_term = time.monotonic()
            os.kill(master, signal.SIGTERM)
            t_down = self.watch_down("a", drain + 5)
            self.assertTrue(wait_gone(master, drain + 15))
            t_gone = time.monotonic()
            time.sleep(2)
        finally:
            answers = load.stop()
        counts = summary(answers)
        report("SIGTERM to one instance behind the balancer", requests=len(answers),
               answers=counts, marked_down_after_s="%.1f" % (t_down - t_term),
               exited_after_s="%.1f" % (t_gone - t_term), drain_s=drain)
        self.assertIsNotNone(t_down)
        self.assertLess(t_down, t_gone)  # out of service before it stopped
        self.assertEqual(counts, {"200": len(answers)})
        self.assertGreater(len(between(answers, t_term, t_down)), 50)
        for p in workers:
            self.assertFalse(os.path.exists("/proc/%d" % p), p)
        log = a.log()
        self.assertIn("stopping in %d ms" % (drain * 1000), log)
        self.assertIn("all workers stopped; exiting", log)

    def test_instance_killed(self):
        a = self.cluster.instance("a")
        pids = [a.master_pid()] + a.worker_pids()
        nginx = pid_of(os.path.join(a.state, "nginx.pid"))
        pids += [nginx] + children_of(nginx)
        load = Load(self.cluster.port, clients=8, seconds=60).start()
        try:
            time.sleep(2)
            t_kill = time.monotonic()
            for p in pids:
                os.kill(p, signal.SIGKILL)
            t_down = self.watch_down("a", 30)
            time.sleep(3)
        finally:
            answers = load.stop()
        self.assertIsNotNone(t_down)
        lost = [a for a in answers if a.failed()]
        after_down = between(answers, t_down, float("inf"))
        report("one instance killed (SIGKILL to nginx and fcgi-app)", requests=len(answers),
               answers=summary(answers), failed=len(lost),
               failed_after_marked_down=len([a for a in after_down if a.failed()]),
               marked_down_after_s="%.1f" % (t_down - t_kill))
        self.assertFalse([a for a in answers if a.end < t_kill and a.failed()])
        self.assertGreater(len(after_down), 50)
        self.assertFalse([a for a in after_down if a.failed()], summary(after_down))


if __name__ == "__main__":
    unittest.main()
