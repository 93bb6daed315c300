"""make cluster for tests: started and stopped by scripts/cluster.sh in a
private state folder, with HAProxy's view read from its stats socket."""
import importlib.util
import os
import subprocess
import tempfile

from . import SCRIPTS
from .localstack import Instance
from .proc import free_port, wait_until

# the runtime API client that scripts/rollout.py uses, from scripts/
_spec = importlib.util.spec_from_file_location("haproxy", os.path.join(SCRIPTS, "haproxy.py"))
haproxy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(haproxy)

INSTANCE_IDS = {"a": "i-0cluster0000000a", "c": "i-0cluster0000000c"}


class Cluster:
    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="fcgi-app-cluster-")
        self.port = free_port()
        self.lb = Instance(self.state, self.port)  # the balancer's front

    def run(self, cmd):
        env = dict(os.environ, CLUSTER_STATE=self.state, CLUSTER_PORT=str(self.port))
        return subprocess.run([os.path.join(SCRIPTS, "cluster.sh"), cmd], env=env,
                              capture_output=True, text=True, timeout=300)

    def start(self):
        p = self.run("start")
        if p.returncode != 0:
            self.run("stop")
            raise RuntimeError("cluster start failed:\n" + p.stdout + p.stderr)

    def stop(self):
        """Stops everything and removes the state; returns the output."""
        p = self.run("stop")
        subprocess.run(["rm", "-rf", self.state])
        return p.stdout + p.stderr

    def instance(self, zone):
        """The instance of one zone (its pids and log; not its port)."""
        return Instance(os.path.join(self.state, zone), None)

    def served_by(self):
        r = self.lb.get("/?format=json")
        if r.status != 200:
            return None
        return r.json()["served_by"]["instance_id"]

    def backend_status(self):
        """{server: status} of every server of the balancer's backend,
        from HAProxy's stats socket."""
        lb = haproxy.StatsSocket(os.path.join(self.state, "haproxy.sock"), "targets")
        return {name: status for name, (status, _) in lb.servers().items()}

    def status(self):
        """{server: status} of the two instances make cluster starts."""
        return {k: v for k, v in self.backend_status().items() if k in INSTANCE_IDS}

    def wait_status(self, want, seconds, poke=True):
        """Polls the balancer until its servers' status is want; with
        poke, sends a request meanwhile to keep traffic flowing."""
        def reached():
            if self.status() == want:
                return True
            if poke:
                self.served_by()
            return False
        wait_until(reached, seconds, interval=0.1)
        return self.status()
