"""MariaDB's CPU per execution of the page query, by shape and setting.

Starts a private database with the demo table (the local stack's
scripts), builds bench/dbcost.c into build/bench/, and runs it: one
client executing each variant in turn, rounds with the order rotating,
the server's CPU time read from /proc.  Bounded by count.

    python3 bench/dbcost.py [--executions N] [--rounds N]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests"))
sys.path.insert(0, HERE)
from lib.localstack import Stack  # noqa: E402
import peers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--executions", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    out = os.path.join(TOP, "build", "bench")
    os.makedirs(out, exist_ok=True)
    flags = subprocess.run(["mariadb_config", "--cflags", "--libs"], capture_output=True,
                           text=True, check=True).stdout.split()
    binary = peers.build_c(out, os.path.join(HERE, "dbcost.c"), "dbcost", flags)
    stack = Stack()
    try:
        stack.db_start()
        stack.db_load()
        sock, db, user, pw = peers.db_client(stack.db_state)
        pid = peers.read_pid(os.path.join(stack.db_state, "mariadb.pid"))
        p = subprocess.run([binary, sock, user, db, str(pid), str(args.executions),
                            str(args.rounds)], env=dict(os.environ, DBCOST_PASSWORD=pw),
                           capture_output=True, text=True, timeout=1800)
        print(p.stdout + p.stderr, end="")
        return p.returncode
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    sys.exit(main())
