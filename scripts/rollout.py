"""A rolling update of the local cluster (make cluster), done the way the
stack's AutoScalingRollingUpdate does it with MinInstancesInService 1,
MaxBatchSize 1 and WaitOnResourceSignals: one instance at a time,

  1. start a new instance with the new build (cluster.sh instance-start);
  2. wait for its signal: /readyz answering 200, as the user data waits
     before it signals CloudFormation (at most --ready-timeout seconds,
     the template's PauseTime);
  3. register it with the balancer through HAProxy's runtime API, and
     wait until its health checks pass (the target group's values);
  4. drain the old instance for the target group's deregistration delay,
     take it out, then stop it.

A new instance that never signals stops the rollout, as a failed signal
makes CloudFormation roll back: it is stopped, never registered, and the
old instances keep serving.

    python3 scripts/rollout.py BINARY [--config CNF] [--ready-timeout S]

The cluster's state folder is CLUSTER_STATE (default .cluster/).  Every
step is one line on stdout, with the seconds since the start; exit
status 0 when every old instance was replaced, 1 when the rollout
stopped.
"""
import argparse
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

from haproxy import StatsSocket  # scripts/haproxy.py, beside this file

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BACKEND = "targets"
T0 = time.monotonic()


def say(msg):
    print("rollout %6.1fs %s" % (time.monotonic() - T0, msg), flush=True)


class Stopped(Exception):
    """The rollout stopped; the message says why."""


class Balancer(StatsSocket):
    """The cluster's balancer: HAProxy's runtime API on its stats socket,
    for the backend the instances are in."""

    def __init__(self, path):
        super().__init__(path, BACKEND)

    def wait(self, name, ok, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s = self.servers().get(name)
            if ok(s):
                return True
            time.sleep(0.1)
        return ok(self.servers().get(name))


def cluster(*args):
    p = subprocess.run([os.path.join(HERE, "cluster.sh"), *args], capture_output=True,
                       text=True, timeout=120)
    if p.returncode != 0:
        raise Stopped("cluster.sh %s failed: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout.strip()


def target_group():
    out = cluster("target-group")
    return {k: (v if k == "CHECK_PATH" else int(v))
            for k, v in (l.split("=", 1) for l in out.splitlines())}


def ready(addr, seconds):
    """Waits for http://addr/readyz to answer 200, at most seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://%s/readyz" % addr, timeout=2) as r:
                if r.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    return False


def next_name(old, taken):
    """a -> a1, a1 -> a2: the old instance's zone, the next number."""
    zone, num = old[0], int(old[1:] or 0)
    while True:
        num += 1
        name = "%s%d" % (zone, num)
        if name not in taken:
            return name


def replace(lb, tg, old, binary, config, ready_timeout):
    new = next_name(old, set(lb.servers()))
    args = ["instance-start", new, binary] + ([config] if config else [])
    addr = cluster(*args).splitlines()[-1]
    say("%s started at %s, in place of %s" % (new, addr, old))
    if not ready(addr, ready_timeout):
        cluster("instance-stop", new)
        raise Stopped("%s never answered /readyz 200 within %d s: stopped it; %s and the "
                      "others keep serving" % (new, ready_timeout, old))
    say("%s signalled: /readyz 200" % new)
    # a dynamic server takes none of default-server's settings: the target
    # group's health check is given again
    out = lb.cmd("add server %s/%s %s check inter %ds rise %d fall %d" % (
        BACKEND, new, addr, tg["CHECK_INTERVAL"], tg["HEALTHY"], tg["UNHEALTHY"]))
    if "New server registered" not in out:
        cluster("instance-stop", new)
        raise Stopped("HAProxy did not add %s: %s" % (new, out))
    lb.cmd("enable health %s/%s" % (BACKEND, new))
    lb.cmd("enable server %s/%s" % (BACKEND, new))
    healthy = (tg["HEALTHY"] + 2) * tg["CHECK_INTERVAL"] + tg["CHECK_TIMEOUT"]
    if not lb.wait(new, lambda s: s is not None and s[0] == "UP", healthy):
        remove(lb, new)
        cluster("instance-stop", new)
        raise Stopped("%s did not pass the balancer's health checks within %d s" % (new, healthy))
    say("%s registered and healthy; in service: %s" % (
        new, " ".join(sorted(n for n, s in lb.servers().items() if s[0] == "UP"))))
    lb.cmd("set server %s/%s state drain" % (BACKEND, old))
    say("%s draining for the deregistration delay, %d s" % (old, tg["DEREGISTRATION_DELAY"]))
    time.sleep(tg["DEREGISTRATION_DELAY"])
    remove(lb, old)
    cluster("instance-stop", old)
    say("%s deregistered and stopped" % old)


def remove(lb, name):
    """Maintenance, then out of the backend once it holds no session."""
    lb.cmd("set server %s/%s state maint" % (BACKEND, name))
    lb.wait(name, lambda s: s is None or s[1] == 0, 30)
    deadline = time.monotonic() + 30
    while True:
        out = lb.cmd("del server %s/%s" % (BACKEND, name))
        if "Server deleted" in out or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # idle connections are purged within seconds
    if name in lb.servers():
        say("%s stays in the backend, in maintenance: %s" % (name, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("--config", help="the new instances' config (default: the database's)")
    ap.add_argument("--ready-timeout", type=int, default=900,
                    help="seconds to wait for /readyz (the template's PauseTime: 900)")
    a = ap.parse_args()
    state = os.path.abspath(os.environ.get("CLUSTER_STATE", os.path.join(TOP, ".cluster")))
    os.environ["CLUSTER_STATE"] = state
    lb = Balancer(os.path.join(state, "haproxy.sock"))
    try:
        tg = target_group()
        old = sorted(n for n, s in lb.servers().items() if s[0] == "UP")
        if not old:
            raise Stopped("no instance in service to replace")
        say("replacing %s one at a time (deregistration delay %d s)" % (
            " ".join(old), tg["DEREGISTRATION_DELAY"]))
        for name in old:
            if not re.fullmatch(r"[ac][0-9]*", name):
                raise Stopped("unexpected server %r" % name)
            replace(lb, tg, name, os.path.abspath(a.binary), a.config, a.ready_timeout)
    except Stopped as e:
        say("stopped: %s" % e)
        return 1
    say("done: in service %s" % " ".join(sorted(lb.servers())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
