"""One qemu guest of the built image, as EC2 would boot it: SMBIOS that
says "Amazon EC2", one virtio NIC on qemu's user networking, and the
AWS stand-ins (aws_standin.py) at the addresses the instance uses.

The guest's network is 169.254.0.0/16 with restrict=on: it reaches
nothing but what the test forwards to it:
    169.254.169.254:80   the metadata service (stand-in, unix socket)
    169.254.0.20:80      SSM (stand-in)
    169.254.0.21:3128    the HTTPS proxy that is CloudFormation (stand-in)
    169.254.0.10:3306    the test's MariaDB on the host's loopback
and the host reaches the guest's ports 80 and 22 on loopback ports.
Every wait is bounded; the serial console is a file.
"""
import json
import os
import re
import secrets
import signal
import subprocess
import time

SSM_ADDR = "169.254.0.20"
PROXY_ADDR, PROXY_PORT = "169.254.0.21", 3128
DB_ADDR = "169.254.0.10"


def fmt_s(seconds):
    return "%.1f s" % seconds


class Stage:
    """with Stage("name", limit): prints how long the stage took."""

    def __init__(self, name, limit):
        self.name, self.limit = name, limit

    def __enter__(self):
        self.t0 = time.monotonic()
        print("[stage] %s (bound %d s) ..." % (self.name, self.limit), flush=True)
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.t0
        print("[stage] %s: %s%s" % (self.name, fmt_s(self.seconds),
                                    "" if exc[0] is None else " (failed)"), flush=True)
        return False


def wait_for(what, seconds, probe, every=1.0):
    """Calls probe() until it returns something true; returns that, or
    raises after seconds."""
    deadline = time.monotonic() + seconds
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError("%s: not within %d s" % (what, seconds))
        time.sleep(every)


class Guest:
    def __init__(self, name, workdir, image_dir, accel, db_port, standin_dir,
                 instance_id, mac, ssh_key):
        self.name, self.dir = name, workdir
        self.image_dir, self.accel = image_dir, accel
        self.instance_id, self.mac, self.key = instance_id, mac, ssh_key
        self.overlay = os.path.join(workdir, name + ".qcow2")
        self.console = os.path.join(workdir, name + "-console.log")
        self.db_port, self.standin_dir = db_port, standin_dir
        self.proc = None
        self.http_port = self.ssh_port = None

    def netdev(self):
        # socat -t 0: the connection ends as soon as the stand-in's does
        # (the program reads the metadata service's answers to the close)
        def to_unix(sock):
            return "cmd:socat -t 0 STDIO UNIX-CONNECT:" + os.path.join(self.standin_dir, sock)
        fwd = [
            "hostfwd=tcp:127.0.0.1:%d-:80" % self.http_port,
            "hostfwd=tcp:127.0.0.1:%d-:22" % self.ssh_port,
            "guestfwd=tcp:169.254.169.254:80-" + to_unix("imds.sock"),
            "guestfwd=tcp:%s:80-%s" % (SSM_ADDR, to_unix("ssm.sock")),
            "guestfwd=tcp:%s:%d-%s" % (PROXY_ADDR, PROXY_PORT, to_unix("cfn.sock")),
            "guestfwd=tcp:%s:3306-cmd:socat -t 0 STDIO TCP:127.0.0.1:%d" % (DB_ADDR, self.db_port),
        ]
        return ",".join(["user", "id=n0", "net=169.254.0.0/16", "restrict=on"] + fwd)

    def start(self, free_port):
        if not os.path.exists(self.overlay):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                            os.path.join(self.image_dir, "fcgi-app.qcow2"), self.overlay],
                           check=True, timeout=60)
        self.http_port, self.ssh_port = free_port(), free_port()
        with open(os.path.join(self.image_dir, "cmdline")) as f:
            cmdline = f.read().strip()
        # EC2's SMBIOS: the vendor, and a system UUID and serial that
        # start with "ec2" (what cloud-init's ds-identify looks for)
        uuid = "ec2" + secrets.token_hex(16)[3:]
        uuid = "%s-%s-%s-%s-%s" % (uuid[:8], uuid[8:12], uuid[12:16], uuid[16:20], uuid[20:])
        args = ["qemu-system-x86_64", "-accel", self.accel, "-smp", "2", "-m", "1024",
                "-nodefaults", "-display", "none", "-monitor", "none",
                "-kernel", os.path.join(self.image_dir, "vmlinuz"),
                "-initrd", os.path.join(self.image_dir, "initrd.img"),
                "-append", cmdline,
                "-serial", "file:" + self.console,
                "-smbios", "type=1,manufacturer=Amazon EC2,product=t2.micro,"
                           "serial=%s,uuid=%s" % (uuid, uuid),
                "-smbios", "type=3,manufacturer=Amazon EC2,asset=Amazon EC2",
                "-drive", "file=%s,if=virtio,format=qcow2" % self.overlay,
                "-netdev", self.netdev(),
                "-device", "virtio-net-pci,netdev=n0,mac=" + self.mac]
        log = open(os.path.join(self.dir, self.name + "-qemu.log"), "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, start_new_session=True)
        self.boots = getattr(self, "boots", 0) + 1

    def console_text(self):
        try:
            with open(self.console, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ssh(self, command, timeout=60, check=True):
        p = subprocess.run(
            ["ssh", "-i", self.key, "-p", str(self.ssh_port), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "admin@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("guest %s: %r failed (%d): %s%s" % (
                self.name, command, p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
        return p.stdout

    def ssh_ok(self):
        try:
            return self.ssh("true", timeout=30, check=False) == "" and \
                self.ssh("echo up", timeout=30, check=False).strip() == "up"
        except subprocess.TimeoutExpired:
            return False

    def wait_ssh(self, seconds):
        return wait_for("SSH to guest %s" % self.name, seconds, self.ssh_ok, every=3)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def calls(log):
    try:
        with open(log) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def signals(log):
    return [c for c in calls(log) if c.get("role") == "cfn" and "form" in c]


def unit_properties(guest, unit, *props):
    out = guest.ssh("systemctl show %s -p %s" % (unit, ",".join(props)))
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)


def exposure(text, unit="fcgi-app.service"):
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(unit), text)
    return float(m.group(1)) if m else None
