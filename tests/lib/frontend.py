"""Web servers in front of an instance's FastCGI socket (tests/interop):
Apache, lighttpd, Caddy and h2o from the configurations in
tests/interop/conf/, and nginx at a prefix through scripts/web.sh, each
in a temporary folder of its own on a free loopback port.  One way to
start one, wait for it and stop it: Frontend.start, Frontend.stop."""
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.request

from . import SCRIPTS, TOP
from .proc import free_port, run, wait_until

CONF = os.path.join(TOP, "tests", "interop", "conf")
NAMES = ("apache", "lighttpd", "caddy", "h2o", "nginx")


def _user_group():
    """The account a server started by root runs as: the one the
    instance's socket belongs to (scripts/lib.sh's RUN_USER)."""
    if os.getuid() == 0:
        return "nobody", "nogroup"
    import grp
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


class Frontend:
    """One server, named in NAMES, serving the program at mount ("/" or a
    prefix such as "/table/") from the FastCGI socket sock."""

    TEMPLATES = {"apache": "apache.conf.in", "lighttpd": "lighttpd.conf.in",
                 "caddy": "Caddyfile.in", "h2o": "h2o.conf.in",
                 "nginx": "nginx-site.conf.in"}

    def __init__(self, name, sock, mount):
        self.name, self.sock, self.mount = name, sock, mount
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.proc = None
        user, group = _user_group()
        # lighttpd and h2o open their logs after they drop privileges
        shutil.chown(self.dir, user, group)
        with open(os.path.join(CONF, self.TEMPLATES[name])) as f:
            text = f.read()
        for k, v in (("DIR", self.dir), ("PORT", str(self.port)), ("SOCK", sock),
                     ("MOUNT", mount), ("USER", user), ("GROUP", group)):
            text = text.replace("@%s@" % k, v)
        # not nginx-site.conf: scripts/web.sh writes that one from it
        self.conf = os.path.join(self.dir, "frontend-" + self.TEMPLATES[name][:-3])
        with open(self.conf, "w") as f:
            f.write(text)

    def _argv(self):
        return {"apache": ["apache2", "-f", self.conf, "-DFOREGROUND"],
                "lighttpd": ["lighttpd", "-D", "-f", self.conf],
                "caddy": ["caddy", "run", "--adapter", "caddyfile",
                          "--config", self.conf],
                "h2o": ["h2o", "-c", self.conf]}[self.name]

    def url(self, rest=""):
        """The address of rest below the mount: url("healthz")."""
        return "http://127.0.0.1:%d%s%s" % (self.port, self.mount, rest)

    def _answers(self):
        try:
            with urllib.request.urlopen(self.url("healthz"), timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def start(self, seconds=20):
        """Starts the server and waits until the program's /healthz
        answers through it; raises, with the server's log, if not."""
        if self.name == "nginx":
            run(os.path.join(SCRIPTS, "web.sh"), "site", self.dir, str(self.port),
                self.conf)
        else:
            env = dict(os.environ, HOME=self.dir, XDG_DATA_HOME=self.dir,
                       XDG_CONFIG_HOME=self.dir)
            self.proc = subprocess.Popen(
                self._argv(), cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                stdout=open(os.path.join(self.dir, "stdout.log"), "w"),
                stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(lambda: self._answers() or
                          (self.proc is not None and self.proc.poll() is not None),
                          seconds) or not self._answers():
            log = self.log()
            self.stop()
            raise RuntimeError("%s did not serve %s:\n%s" % (self.name,
                                                              self.url("healthz"), log))
        return self

    def log(self):
        out = []
        for name in ("stdout.log", "error.log", "nginx-error.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f.read()[-3000:])
        return "\n".join(out)

    def stop(self):
        """Stops the server and all its processes, and removes its folder."""
        try:
            if self.name == "nginx":
                run(os.path.join(SCRIPTS, "web.sh"), "stop", self.dir)
            elif self.proc is not None and self.proc.poll() is None:
                # the session holds the server's own children too
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(20)
            if self.proc is not None:
                pgid = self.proc.pid
                wait_until(lambda: not _group_alive(pgid), 10)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
