"""The servers a user would pick instead of fcgi-app, for make bench:
PHP-FPM with persistent PDO, Go net/http with database/sql written two
ways (idiomatic, with html/template, and lean, written for speed), and
the hand-built setup's connect-per-request Python http.server; each with
as many workers (children, connections, processes) as fcgi-app has (the
lean Go peer: a pool of 16 connections), on the same database and table,
behind the same nginx (the local stack's nginx.conf, one worker, the
production site's connection settings).

Each peer is a Server: a URL, and the processes whose CPU time counts
as the application's and as nginx's.  They run as the same user as
fcgi-app's workers (nobody when started by root).
"""
import os
import re
import shutil
import subprocess
import time
import urllib.request

from lib import SCRIPTS  # bench/ puts tests/ on the path first
from lib.proc import descendants

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")
WEB = os.path.join(SCRIPTS, "web.sh")


def pss_kib(pids):
    """The processes' proportional set size, summed: their memory, each
    shared page split among those that map it."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                total += int(re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M).group(1))
        except OSError:
            continue
    return total


def read_pid(path):
    with open(path) as f:
        return int(f.read().strip())


def cpu_ticks(pids):
    """utime + stime of the processes, in clock ticks (all threads)."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total


class Server:
    """One thing wrk loads: its URL and the processes to account."""

    def __init__(self, label, url, app_root, nginx_state, stop):
        self.label = label
        self.url = url
        self.app_root = app_root        # a pid, or None (static nginx)
        self.nginx_state = nginx_state  # the state folder of its nginx
        self._stop = stop

    def app_pids(self):
        return [self.app_root] + descendants(self.app_root) if self.app_root else []

    def nginx_pids(self):
        nginx = read_pid(os.path.join(self.nginx_state, "nginx.pid"))
        return [nginx] + descendants(nginx)

    def stop(self):
        self._stop()


def _as_user(user):
    """The argv prefix that runs a command as fcgi-app's workers' user."""
    if os.getuid() != 0:
        return []
    return ["setpriv", "--reuid=" + user, "--regid=nogroup", "--clear-groups"]


def db_client(db_state):
    """(socket, database, user, password) of the app's database user,
    from the config db.sh wrote."""
    with open(os.path.join(db_state, "fcgi-app.cnf")) as f:
        text = f.read()

    def opt(k):
        m = re.search(r"(?m)^%s\s*=\s*(.*?)\s*$" % k, text)
        return m.group(1) if m else None
    return opt("socket"), opt("database"), opt("user"), opt("password")


def _wait(url, what, proc=None, seconds=20):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (what, proc.returncode))
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s did not answer %s" % (what, url))


def _state(parent, name):
    d = os.path.join(parent, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o711)
    return d


def _nginx(state, port, template, fields):
    with open(os.path.join(PEERS, template)) as f:
        text = f.read()
    for k, v in fields.items():
        text = text.replace("@%s@" % k, v)
    site = os.path.join(state, "peer-site.conf")
    with open(site, "w") as f:
        f.write(text)
    subprocess.run([WEB, "site", state, str(port), site], check=True, capture_output=True,
                   timeout=60)


def _stopper(state, procs):
    def stop():
        subprocess.run([WEB, "stop", state], capture_output=True, timeout=60)
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)  # the peer's own process group
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    p.wait(timeout=20)
    return stop


def _spawn(argv, env, log):
    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def build_go(out_dir, source, name):
    """Builds one Go program (a path) into out_dir/name, offline, from
    Debian's packaged sources; returns the binary's path."""
    binary = os.path.join(out_dir, name)
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOFLAGS="",
               GOCACHE=os.path.join(out_dir, "go-cache"))
    p = subprocess.run(["go", "build", "-o", binary, source], env=env,
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("go build %s failed:\n%s" % (source, p.stderr))
    return binary


# the program's own warnings and hardening (Makefile), for bench's C tools
C_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-Wformat=2", "-Wshadow",
           "-Wpointer-arith", "-Wstrict-prototypes",
           "-Wmissing-prototypes", "-Wvla", "-Wundef", "-Wcast-align", "-Wwrite-strings",
           "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-fstack-clash-protection",
           "-fcf-protection", "-fPIE", "-pie", "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]


def build_c(out_dir, source, name, extra=()):
    """Builds one of bench's C tools (a path) into out_dir/name with the
    program's warnings and hardening; returns the binary's path."""
    binary = os.path.join(out_dir, name)
    p = subprocess.run(["cc"] + C_FLAGS + ["-o", binary, source] + list(extra),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("cc %s failed:\n%s" % (source, p.stderr))
    return binary


def build_peers(out_dir):
    """The two Go peers' binaries: {"Go": idiomatic, "Go lean": lean}."""
    return {"Go": build_go(out_dir, os.path.join(PEERS, "peer.go"), "peer-go"),
            "Go lean": build_go(out_dir, os.path.join(PEERS, "lean.go"), "peer-go-lean")}


def _behind_proxy(name, state, proc, app_port, keepalive, free_port):
    """A peer that serves HTTP on app_port, once it answers, behind an
    nginx proxy_pass site with the given upstream keepalive line."""
    port = free_port()
    stop = _stopper(state, [proc])
    try:
        _wait("http://127.0.0.1:%d/" % app_port, "the %s peer" % name, proc)
        _nginx(state, port, "proxy-site.conf.in", {"UPSTREAM": "127.0.0.1:%d" % app_port,
                                                   "KEEPALIVE": keepalive})
    except Exception:
        stop()
        raise
    return Server(name, "http://127.0.0.1:%d/" % port, proc.pid, state, stop)


def start_go(parent, name, db_state, table, conns, go_binary, free_port, label="Go"):
    """A Go peer (go_binary, from build_peers) with conns database
    connections, as the Server label."""
    state = _state(parent, name)
    sock, db, user, pw = db_client(db_state)
    binary = os.path.join(state, "peer-go")
    shutil.copy(go_binary, binary)
    app_port = free_port()
    env = {"PATH": os.environ["PATH"],
           "PEER_DSN": "%s:%s@unix(%s)/%s?charset=utf8mb4" % (user, pw, sock, db)}
    run_user = "nobody" if os.getuid() == 0 else None
    proc = _spawn(_as_user(run_user) + [binary, "-listen", "127.0.0.1:%d" % app_port,
                                        "-table", table, "-conns", str(conns)],
                  env, os.path.join(state, "peer.log"))
    # one kept connection per client connection of the 64-connection load
    return _behind_proxy(label, state, proc, app_port, "keepalive 64;", free_port)


def start_python(parent, name, db_state, table, workers, free_port):
    state = _state(parent, name)
    sock, db, user, pw = db_client(db_state)
    script = os.path.join(state, "seed.py")
    shutil.copy(os.path.join(PEERS, "seed.py"), script)
    os.chmod(script, 0o644)
    app_port = free_port()
    env = {"PATH": os.environ["PATH"], "PEER_USER": user, "PEER_PASSWORD": pw}
    run_user = "nobody" if os.getuid() == 0 else None
    proc = _spawn(_as_user(run_user) + ["python3", script, str(app_port), sock, db, table,
                                        str(workers)], env, os.path.join(state, "peer.log"))
    # HTTP/1.0: a connection per request, as the seed had
    return _behind_proxy("Python", state, proc, app_port, "", free_port)


def start_php(parent, name, db_state, table, workers, free_port):
    state = _state(parent, name)
    sock, db, user, pw = db_client(db_state)
    script = os.path.join(state, "index.php")
    shutil.copy(os.path.join(PEERS, "peer.php"), script)
    os.chmod(script, 0o644)
    with open(os.path.join(PEERS, "php-fpm.conf.in")) as f:
        conf = f.read()
    users = "user = nobody\ngroup = nogroup" if os.getuid() == 0 else ""
    for k, v in {"STATE": state, "USER_LINES": users, "CHILDREN": str(workers),
                 "DB_SOCKET": sock, "DB_NAME": db, "TABLE": table, "DB_USER": user,
                 "DB_PASSWORD": pw}.items():
        conf = conf.replace("@%s@" % k, v)
    conf_path = os.path.join(state, "php-fpm.conf")
    fd = os.open(conf_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(conf)
    argv = ["php-fpm8.2", "--nodaemonize", "--fpm-config", conf_path]
    if os.getuid() == 0:
        argv.append("--allow-to-run-as-root")  # the master; children drop to nobody
    proc = _spawn(argv, {"PATH": os.environ["PATH"]}, os.path.join(state, "peer.log"))
    port = free_port()
    stop = _stopper(state, [proc])
    try:
        end = time.monotonic() + 20
        while not os.path.exists(os.path.join(state, "php-fpm.sock")):
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("PHP-FPM did not start; see %s/php-fpm.log" % state)
            time.sleep(0.1)
        _nginx(state, port, "php-site.conf.in", {"STATE": state, "SCRIPT": script})
        _wait("http://127.0.0.1:%d/" % port, "the PHP peer", proc)
    except Exception:
        stop()
        raise
    return Server("PHP-FPM", "http://127.0.0.1:%d/" % port, proc.pid, state, stop)
