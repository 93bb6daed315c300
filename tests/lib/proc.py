"""Processes: running a command, scanning /proc, and one way to wait."""
import os
import socket
import subprocess
import time


def run(*args, env=None, stdin=None, timeout=120):
    """Runs a command; returns its output, or raises with all of it."""
    merged = dict(os.environ, **(env or {}))
    p = subprocess.run(args, input=stdin, capture_output=True, text=True,
                       env=merged, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                      p.stdout, p.stderr))
    return p.stdout


def wait_until(pred, seconds, interval=0.05):
    """Calls pred until it returns something true or seconds pass;
    returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def alive(pid):
    """True while pid exists (a zombie counts: it has not been reaped)."""
    return os.path.exists("/proc/%d" % pid)


def wait_gone(pids, seconds):
    """True if every process in pids (an int or a list) exits within seconds."""
    pids = [pids] if isinstance(pids, int) else list(pids)
    return wait_until(lambda: not any(alive(p) for p in pids), seconds)


def parent_of(pid):
    """The parent of pid, from /proc, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def cmdline(pid):
    """The command line of pid, its arguments joined by spaces; "" if it
    is gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def uids_of(pid):
    """The real, effective, saved and filesystem uids of pid."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(u) for u in line.split()[1:]]
    return []


def _pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(pid):
    """The processes whose parent is pid, from /proc."""
    return sorted(p for p in _pids() if parent_of(p) == pid)


def descendants(root):
    """Every process below root (not root itself), from /proc."""
    kids = {}
    for p in _pids():
        kids.setdefault(parent_of(p), []).append(p)
    found, todo = [], [root]
    while todo:
        for k in kids.get(todo.pop(), []):
            found.append(k)
            todo.append(k)
    return sorted(found)


def pids_by_cmdline(match):
    """The processes whose command line (NUL-separated bytes) match(cmdline)
    is true for."""
    pids = []
    for p in _pids():
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                if match(f.read()):
                    pids.append(p)
        except OSError:
            continue
    return sorted(pids)


def pid_of(path):
    """The pid in a pid file."""
    with open(path) as f:
        return int(f.read())


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
