"""Runs a command as a child subreaper, and finds what it left running.

    python3 tests/lib/subreaper.py CMD [ARGS...]    runs CMD; exits as it did
    python3 tests/lib/subreaper.py --leftovers      from inside CMD: lists and
                                                    stops what is still running

A process whose parent exits is handed to the nearest subreaper above
it, so everything CMD starts, however it detaches (setsid, a double
fork, a shell that was killed), stays below this process until it ends.
--leftovers, run from CMD at its end, finds those processes: every
descendant of the subreaper that is not one of its own callers.  It
prints them, stops them (SIGTERM, then SIGKILL), and exits 1 if there
were any.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

from proc import cmdline, descendants, parent_of  # run as a script, beside proc.py

ENV = "FCGI_APP_SUBREAPER"  # the subreaper's pid, for --leftovers
PR_SET_CHILD_SUBREAPER = 36


def leftovers():
    root = int(os.environ[ENV])
    callers, p = set(), os.getpid()
    while p not in (None, 0, root):
        callers.add(p)
        p = parent_of(p)
    left = [p for p in descendants(root) if p not in callers]
    for p in left:
        print("still running: %d %s" % (p, cmdline(p)))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in left:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                os.path.exists("/proc/%d" % p) and parent_of(p) is not None for p in left):
            time.sleep(0.1)
    return 1 if left else 0


def run(cmd):
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("subreaper: prctl: %s" % os.strerror(ctypes.get_errno()))
    child = subprocess.Popen(cmd, env=dict(os.environ, **{ENV: str(os.getpid())}))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _: child.send_signal(s))
    status = None
    # reap everything handed to us; the command's own status is the answer
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            break
        if pid == child.pid:
            status = os.waitstatus_to_exitcode(st)
            break
    return status if status is not None and status >= 0 else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--leftovers"]:
        sys.exit(leftovers())
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1:]))
