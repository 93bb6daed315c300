"""The image, booted as on EC2.  `make image` (packer build, qemu source)
builds build/image/fcgi-app.qcow2; qemu boots it with EC2's SMBIOS, so
that cloud-init picks its EC2 datasource and reads the stand-in metadata
service (IMDSv2), which serves the launch template's user data: the
stack's own text, its exports filled in, with the test's endpoints.
Nothing of the test runs in the guest before the user data is done:
cloud-init runs it, fcgi-app-configure writes the config from the SSM
stand-in, systemd starts fcgi-app and nginx, and the user data signals
the CloudFormation stand-in.  The page then comes from the host's MariaDB
through the MySQL 8.4 stand-in (tests/lib/mysql84.py): verified TLS and
caching_sha2_password, as RDS for MySQL 8.4 answers, so the client's
plugin loads under the hardened unit.  Then, over SSH: the units, their hardening and the
processes; a reboot; a stop under load; and a second instance whose SSM
parameter is missing.

    IMAGE_REUSE=1   boot the image as it is (no packer build); it must have
                    been built from this checkout as it is now, whose
                    git describe the pages' X-Fcgi-App-Build must equal
    IMAGE_DIR=DIR   build and boot DIR instead of build/image
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import yaml

from lib import TOP
from lib.localstack import Stack
from lib.mysql84 import Proxy
from lib.page import Page
from lib.proc import free_port
from lib.tls import make_server

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TOP, "stack"))
import check as stack_check  # noqa: E402
from guest import (DB_ADDR, PROXY_ADDR, PROXY_PORT, SSM_ADDR, Guest, Stage,  # noqa: E402
                   calls, exposure, signals, unit_properties, wait_for)

IMAGE = os.path.abspath(os.environ.get("IMAGE_DIR", os.path.join(TOP, "build", "image")))
CA_DIR = os.path.join(TOP, "build", "image-ca")   # packer/image.sh's local CA
SSM_PATH = "/fcgi-app/"
STACK_NAME = "fcgi-app-boot-test"
REGION = "ap-northeast-2"
PASSWORD = 'b00t "pass" \\ w0rd $HOME ;x-9Zr4mark'
PASSWORD_MARK = "9Zr4mark"
# bounds, in seconds, generous for TCG on a shared 2-core machine
BUILD_S, BOOT_S, REBOOT_S = 3600, 900, 600
T = None


class Run:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-boot-", dir="/var/tmp")
        os.chmod(self.dir, 0o711)
        self.stack = None
        self.proxy = None  # the MySQL 8.4 stand-in in front of MariaDB
        self.guests = []
        self.procs = []
        self.times = {}

    def teardown(self):
        for g in self.guests:
            g.stop()
        for p in self.procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.proxy is not None:
            self.proxy.stop()
        if self.stack is not None:
            try:
                self.stack.db_stop()
            except Exception as e:  # noqa: BLE001 - report, then clean up the rest
                print("teardown:", e)
        if os.environ.get("IMAGE_TEST_KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def sql_string(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def launch_template_user_data():
    """The stack's UserData with its ${...} filled in, and the test's
    endpoints exported after the stack's own exports.  What follows the
    exports is packer/user-data.sh's body, byte for byte."""
    with open(os.path.join(TOP, "stack", "fcgi-app.yaml")) as f:
        t = yaml.load(f, Loader=stack_check.Loader)
    sub = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"][
        "UserData"]["Fn::Base64"]["Fn::Sub"]
    text = (sub.replace("${SsmPath}", SSM_PATH).replace("${AWS::StackName}", STACK_NAME)
            .replace("${AWS::Region}", REGION).replace("${DbConnectionsPerInstance}", "8"))
    assert "${" not in text, text
    last = "export FCGI_APP_REGION='%s'\n" % REGION
    head, _, body = text.partition(last)
    with open(os.path.join(TOP, "packer", "user-data.sh")) as f:
        script_body = f.read().split("# --- body ---\n", 1)[1]
    assert body == script_body, "the stack's user data is not packer/user-data.sh"
    endpoints = ("# the test's stand-ins for SSM and CloudFormation\n"
                 "export FCGI_APP_SSM_ENDPOINT=http://%s\n"
                 "export HTTPS_PROXY=http://%s:%d\n"
                 "export NO_PROXY=169.254.169.254,127.0.0.1\n"
                 "export AWS_CA_BUNDLE=/etc/fcgi-app/rds-ca.pem\n"
                 % (SSM_ADDR, PROXY_ADDR, PROXY_PORT))
    return head + last + endpoints + body


def start_standin(name, meta, params):
    d = os.path.join(T.dir, name)
    os.makedirs(d)
    paths = {k: os.path.join(d, k + ".json") for k in ("meta", "params", "calls")}
    with open(paths["meta"], "w") as f:
        json.dump(meta, f)
    with open(paths["params"], "w") as f:
        json.dump({SSM_PATH + k: v for k, v in params.items()}, f)
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "aws_standin.py"), "--dir", d,
                          "--meta", paths["meta"], paths["params"], paths["calls"]],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    T.procs.append(p)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError("the AWS stand-in did not start")
    return d, paths["calls"]


def boot(name, instance_id, zone, params, mac):
    d_meta = {"instance_id": instance_id, "zone": zone, "mac": mac,
              "user_data": T.user_data_path, "ssh_key": T.ssh_pub,
              "tls_cert": os.path.join(T.cfn_tls, "server-cert.pem"),
              "tls_key": os.path.join(T.cfn_tls, "server-key.pem")}
    sdir, log = start_standin(name, d_meta, params)
    g = Guest(name, T.dir, IMAGE, T.accel, T.proxy.port, sdir, instance_id, mac, T.ssh_key)
    g.calls = log
    g.zone = zone
    T.guests.append(g)
    with Stage("boot %s: qemu (%s) to the user data's signal (cloud-init, systemd)"
               % (name, T.accel), BOOT_S) as st:
        g.start(free_port)
        try:
            wait_for("the signal of guest " + name, BOOT_S,
                     lambda: signals(log) or (not g.alive() and
                                              RuntimeError("qemu exited")), every=2)
        except Exception:
            print(g.console_text()[-6000:])
            raise
    T.times[name] = st.seconds
    return g


def on_sigterm(*_):
    """A run stopped from outside (a timeout) still stops its guests."""
    if T is not None:
        T.teardown()
    os._exit(1)


def setUpModule():
    global T
    T = Run()
    signal.signal(signal.SIGTERM, on_sigterm)
    # what packer/source.sh names the work tree that make image uploads
    T.build_id = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty"],
                                capture_output=True, text=True, check=True,
                                timeout=30).stdout.strip()
    try:
        if not (os.environ.get("IMAGE_REUSE") and
                os.path.exists(os.path.join(IMAGE, "fcgi-app.qcow2"))):
            with Stage("make image: packer build, qemu source", BUILD_S) as st:
                p = subprocess.run([os.path.join(TOP, "packer", "image.sh")],
                                   capture_output=True, text=True, timeout=BUILD_S,
                                   env=dict(os.environ, IMAGE_DIR=IMAGE))
                print("\n".join(l for l in p.stdout.splitlines()
                                if l.startswith(("image.sh:", "==> qemu.debian12: Provisioning",
                                                 "Build", "==> Builds"))))
                if p.returncode != 0:
                    print(p.stdout[-5000:], p.stderr[-3000:])
                    raise RuntimeError("make image failed")
            T.times["image"] = st.seconds
        with open(os.path.join(TOP, "build", "packer-manifest.json")) as f:
            T.manifest = json.load(f)
        T.accel = subprocess.run([os.path.join(TOP, "scripts", "qemu-accel.sh"),
                                  os.path.join(IMAGE, "vmlinuz")], capture_output=True,
                                 text=True, timeout=60).stdout.strip() or "tcg"
        with Stage("database: MariaDB with TLS from the image's CA", 120):
            T.db_tls = os.path.join(T.dir, "db-tls")
            make_server(T.db_tls, CA_DIR, san="IP:%s,IP:127.0.0.1" % DB_ADDR)
            T.cfn_tls = os.path.join(T.dir, "cfn-tls")
            make_server(T.cfn_tls, CA_DIR, san="DNS:cloudformation.%s.amazonaws.com" % REGION)
            T.stack = Stack()
            T.stack.db_state = os.path.join(T.dir, "db")
            T.db_port = free_port()
            os.environ["DB_PORT"] = str(T.db_port)
            os.environ["DB_TLS_DIR"] = T.db_tls
            T.stack.db_start()
            T.stack.db_load()
            T.stack.sql("SET @app_password = %s;\n%s" % (
                sql_string(PASSWORD), open(os.path.join(TOP, "sql", "grants.sql")).read()))
            T.proxy = Proxy(("127.0.0.1", T.db_port),
                            lambda user: PASSWORD if user == "fcgi_app" else None, T.db_tls)
        T.ssh_key = os.path.join(T.dir, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "boot test",
                        "-f", T.ssh_key], check=True, timeout=30)
        with open(T.ssh_key + ".pub") as f:
            T.ssh_pub = f.read().strip()
        T.user_data = launch_template_user_data()
        T.user_data_path = os.path.join(T.dir, "user-data")
        with open(T.user_data_path, "w") as f:
            f.write(T.user_data)
        T.params = {"host": DB_ADDR, "port": "3306", "user": "fcgi_app",
                    "password": PASSWORD, "database": "fcgi_app", "table": "demo"}
        T.a = boot("a", "i-0fcgiapp00000000a", "ap-northeast-2a", T.params,
                   "0a:5e:00:00:00:0a")
        with Stage("SSH to guest a", 300):
            T.a.wait_ssh(300)
    except Exception:
        T.teardown()
        raise


def tearDownModule():
    if T is not None:
        names = ("image", "a", "reboot", "stop", "b")
        print("\nstage durations: " + ", ".join(
            "%s %.0f s" % (n, T.times[n]) for n in names if n in T.times))
        T.teardown()


def get(guest, path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", guest.http_port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def header(guest, path, name, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", guest.http_port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.getheader(name)
    finally:
        c.close()


def check_level():
    """The exposure level that make packer-check enforces."""
    with open(os.path.join(TOP, "packer", "check.sh")) as f:
        return float(re.search(r"l <= ([0-9.]+)", f.read()).group(1))


class PageChecks:
    def assert_page(self, guest):
        status, body = get(guest, "/")
        self.assertEqual(status, 200, body[-2000:])
        page = Page(body)
        cols, rows = T.stack.table("demo")
        self.assertEqual(page.headers, cols)
        self.assertEqual([r[0] for r in page.rows], [r[0] for r in rows])
        self.assertEqual(page.rows[0][1:3], list(rows[0][1:3]))
        self.assertEqual((page.ids.get("instance-id"), page.ids.get("availability-zone")),
                         (guest.instance_id, guest.zone),
                         guest.ssh("sudo journalctl -b -u fcgi-app --no-pager | tail -n 20"))


class A_FirstBoot(unittest.TestCase, PageChecks):
    def test_0_packer_manifest_names_the_image(self):
        qemu = [b for b in T.manifest["builds"] if b["builder_type"] == "qemu"]
        self.assertTrue(qemu)
        self.assertIn("fcgi-app.qcow2", [os.path.basename(f["name"]) for f in qemu[-1]["files"]])
        self.assertEqual(qemu[-1]["name"], "debian12")

    def test_1_signal_success_with_the_instance_id(self):
        sigs = signals(T.a.calls)
        self.assertEqual(len(sigs), 1, sigs)
        s = sigs[0]
        self.assertEqual(s["form"].get("Action"), "SignalResource")
        self.assertEqual(s["form"].get("Status"), "SUCCESS")
        self.assertEqual(s["form"].get("UniqueId"), T.a.instance_id)
        self.assertEqual(s["form"].get("StackName"), STACK_NAME)
        self.assertEqual(s["form"].get("LogicalResourceId"), "AutoScalingGroup")
        self.assertTrue(s["signed"] and s["tls"], s)

    def test_2_page_from_the_host_over_verified_tls(self):
        s = T.proxy.snapshot()
        # the workers connected with TLS, through caching_sha2_password's
        # full authentication, and took the MySQL branch
        self.assertGreater(s["tls"], 0, s)
        self.assertGreaterEqual(s["full_auth"], 1, s)
        self.assertEqual(set(s["plugins"]), {"caching_sha2_password"}, s)
        self.assertGreater(len(s["limits"]), 0, s)
        self.assertEqual(s["denied"], 0, s)
        self.assert_page(T.a)
        cnf = T.a.ssh("sudo cat /etc/fcgi-app/fcgi-app.cnf")
        lines = cnf.splitlines()
        self.assertIn("ssl-ca = /etc/fcgi-app/rds-ca.pem", lines)
        self.assertIn("ssl-verify-server-cert", lines)
        self.assertIn("require-tls = on", lines)
        self.assertIn('host = "%s"' % DB_ADDR, lines)
        # the stack's DbConnectionsPerInstance, the instance's whole budget
        self.assertIn("db-connections = 8", lines)
        self.assertFalse([l for l in lines if l.startswith("workers")], lines)

    def test_2b_build_header_names_the_commit(self):
        # the uploaded source has no .git; packer/source.sh named it
        self.assertEqual(header(T.a, "/", "X-Fcgi-App-Build"), T.build_id)

    def test_3_cloud_init_ran_the_user_data(self):
        result = json.loads(T.a.ssh("cat /run/cloud-init/result.json"))
        self.assertIn("DataSourceEc2", result["v1"]["datasource"])
        self.assertEqual(result["v1"]["errors"], [])
        self.assertEqual(T.a.ssh("cat /var/lib/cloud/data/instance-id").strip(),
                         T.a.instance_id)
        self.assertEqual(T.a.ssh("sudo cat /var/lib/cloud/instance/user-data.txt"), T.user_data)
        status = T.a.ssh("cloud-init status --long", check=False)
        self.assertIn("status: done", status)
        console = T.a.console_text()
        self.assertIn("fcgi-app-configure: wrote /etc/fcgi-app/fcgi-app.cnf from %s in %s"
                      % (SSM_PATH, REGION), console)
        self.assertIn("fcgi-app-configure: nginx takes X-Forwarded-For from 169.254.0.0/16",
                      console)
        # IMDSv2 only; SSM read with the role's credentials, signed
        c = calls(T.a.calls)
        gets = [x for x in c if x["method"] == "GET"]
        self.assertTrue(gets and all(x["token"] for x in gets))
        ssm = [x for x in c if x["role"] == "ssm"]
        self.assertTrue(ssm and all(x["signed"] for x in ssm), ssm)

    def test_4_config_0600_and_no_password_elsewhere(self):
        self.assertEqual(T.a.ssh("sudo stat -c '%a %U %G' /etc/fcgi-app/fcgi-app.cnf").split(),
                         ["600", "fcgi-app", "fcgi-app"])
        self.assertNotIn(PASSWORD_MARK, T.a.console_text())
        self.assertEqual(T.a.ssh("sudo journalctl -b --no-pager | grep -c %s || true"
                                 % PASSWORD_MARK).strip(), "0")

    def test_5_units_active_and_as_shipped(self):
        self.assertEqual(T.a.ssh("systemctl is-active fcgi-app nginx").split(),
                         ["active", "active"])
        self.assertEqual(T.a.ssh("systemctl --failed --no-legend --plain"), "")
        with open(os.path.join(TOP, "packer", "files", "fcgi-app.service")) as f:
            shipped = f.read()
        self.assertEqual(T.a.ssh("systemctl cat fcgi-app.service"),
                         "# /etc/systemd/system/fcgi-app.service\n" + shipped)
        props = unit_properties(T.a, "fcgi-app", "User", "NoNewPrivileges",
                                "CapabilityBoundingSet", "ProtectSystem", "PrivateUsers")
        self.assertEqual(props, {"User": "fcgi-app", "NoNewPrivileges": "yes",
                                 "CapabilityBoundingSet": "", "ProtectSystem": "strict",
                                 "PrivateUsers": "yes"})
        after = unit_properties(T.a, "nginx", "After")["After"].split()
        self.assertIn("fcgi-app.service", after)

    def test_6_exposure_at_most_packer_checks_level(self):
        out = T.a.ssh("systemd-analyze security fcgi-app.service --no-pager", check=False)
        level = exposure(out)
        print("        systemd-analyze security (booted): %s, packer-check allows %s"
              % (level, check_level()))
        self.assertIsNotNone(level, out[-1000:])
        self.assertLessEqual(level, check_level())

    def test_7_processes_as_fcgi_app_without_capabilities(self):
        pids = T.a.ssh("cat /sys/fs/cgroup/system.slice/fcgi-app.service/cgroup.procs").split()
        self.assertGreaterEqual(len(pids), 2, pids)  # the master and its workers
        uid = T.a.ssh("id -u fcgi-app").strip()
        for pid in pids:
            st = dict(l.split(":", 1) for l in
                      T.a.ssh("sudo cat /proc/%s/status" % pid).splitlines() if ":" in l)
            self.assertEqual(st["Name"].strip(), "fcgi-app", st)
            self.assertEqual(st["Uid"].split(), [uid] * 4, pid)
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                self.assertEqual(int(st[cap], 16), 0, (pid, cap, st[cap]))
            self.assertEqual(st["NoNewPrivs"].strip(), "1")
            self.assertEqual(st["Seccomp"].strip(), "2")

    def test_8_journal_copied_for_the_agent(self):
        """fcgi-app-journal.service copies the program's journal, line for
        line, into the file the CloudWatch agent ships, each line starting
        with the time in the agent's timestamp_format."""
        self.assertEqual(T.a.ssh("systemctl is-active fcgi-app-journal").strip(), "active")
        journal = journal_lines(T.a)
        self.assertTrue(journal, "fcgi-app wrote nothing to the journal")
        wait_copied(T.a, journal)
        copied = copied_lines(T.a)
        self.assertEqual(len(copied), len(set(copied)), "lines copied twice")
        stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4} ")
        for line in copied_lines(T.a):
            self.assertRegex(line, stamp)
        # the journal's copy is for root (the agent) only
        self.assertEqual(T.a.ssh("sudo stat -c '%U %a' /var/log/fcgi-app-journal.log").split(),
                         ["root", "600"])


def journal_lines(guest):
    """The program's journal entries as journalctl prints them for the copy."""
    return [l for l in guest.ssh("sudo journalctl --no-pager --quiet --output=short-iso-precise "
                                 "--unit=fcgi-app.service").splitlines() if l]


def copied_lines(guest):
    return [l for l in guest.ssh("sudo cat /var/log/fcgi-app-journal.log").splitlines() if l]


def wait_copied(guest, journal, seconds=60):
    """Waits until every line of journal is in the copy; if one is not
    within seconds, fails naming the lines that are missing."""
    try:
        wait_for("the journal's copy caught up", seconds,
                 lambda: set(journal) <= set(copied_lines(guest)), every=2)
    except TimeoutError as e:
        missing = [l for l in journal if l not in set(copied_lines(guest))]
        raise AssertionError("%s; %d of %d lines not copied, the first: %r" % (
            e, len(missing), len(journal), missing[:5])) from None


class B_Reboot(unittest.TestCase, PageChecks):
    @classmethod
    def setUpClass(cls):
        cls.ssm_before = len([c for c in calls(T.a.calls) if c["role"] == "ssm"])
        cls.boot_id = T.a.ssh("cat /proc/sys/kernel/random/boot_id").strip()
        cls.console_before = len(T.a.console_text())
        with Stage("reboot guest a (systemd only: no user data)", REBOOT_S) as st:
            T.a.ssh("sudo systemctl reboot", check=False)

            def rebooted():
                if not T.a.ssh_ok():
                    return False
                now = T.a.ssh("cat /proc/sys/kernel/random/boot_id", check=False).strip()
                return now and now != cls.boot_id
            wait_for("guest a back after reboot", REBOOT_S, rebooted, every=3)
            wait_for("fcgi-app and nginx active", 120, lambda: T.a.ssh(
                "systemctl is-active fcgi-app nginx", check=False).split() == ["active"] * 2)
        T.times["reboot"] = st.seconds

    def test_1_serves_again(self):
        self.assert_page(T.a)
        self.assertEqual(T.a.ssh("systemctl --failed --no-legend --plain"), "")

    def test_1b_journal_copy_goes_on_after_the_reboot(self):
        """After the reboot the copy goes on, with no line twice, and
        holds what the program logged while it stopped for the reboot
        (the copy stops after it)."""
        self.assertEqual(T.a.ssh("systemctl is-active fcgi-app-journal").strip(), "active")
        journal = journal_lines(T.a)
        wait_copied(T.a, journal)
        copied = copied_lines(T.a)
        self.assertEqual(len(copied), len(set(copied)), "lines copied twice")

    def test_2_user_data_did_not_run_again(self):
        self.assertEqual(len(signals(T.a.calls)), 1)
        self.assertEqual(len([c for c in calls(T.a.calls) if c["role"] == "ssm"]),
                         self.ssm_before)
        after = T.a.console_text()[self.console_before:]
        self.assertIn("Cloud-init v.", after)  # cloud-init ran at this boot, too
        self.assertNotIn("fcgi-app-configure:", after)

    def test_3_systemd_order_network_fcgi_app_nginx(self):
        net = unit_properties(T.a, "network-online.target", "ActiveEnterTimestampMonotonic")
        app = unit_properties(T.a, "fcgi-app", "ActiveEnterTimestampMonotonic")
        web = unit_properties(T.a, "nginx", "InactiveExitTimestampMonotonic")
        t_net = int(net["ActiveEnterTimestampMonotonic"])
        t_app = int(app["ActiveEnterTimestampMonotonic"])
        t_web = int(web["InactiveExitTimestampMonotonic"])
        print("        at boot: network-online %.2f s, fcgi-app active %.2f s, "
              "nginx starting %.2f s" % (t_net / 1e6, t_app / 1e6, t_web / 1e6))
        self.assertGreater(t_net, 0)
        self.assertLessEqual(t_net, t_app)
        self.assertLessEqual(t_app, t_web)


class C_StopUnderLoad(unittest.TestCase):
    def test_stop_completes_the_requests_in_flight(self):
        """A write lock on the table holds every page's query; systemctl
        stop comes while they wait; each must still get its whole page."""
        hold_s, clients = 4, 4
        _, rows = T.stack.table("demo")
        with Stage("systemctl stop under load", 120) as st:
            hold = threading.Thread(target=T.stack.sql, args=(
                "LOCK TABLES demo WRITE; SELECT SLEEP(%d); UNLOCK TABLES;" % hold_s,))
            hold.start()
            wait_for("the lock", 10, lambda: int(T.stack.sql(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                "WHERE STATE = 'User sleep';").split("\n")[1]) > 0, every=0.05)
            answers = []

            def one():
                try:
                    answers.append(get(T.a, "/", timeout=60))
                except OSError as e:
                    answers.append((0, str(e)))
            load = [threading.Thread(target=one) for _ in range(clients)]
            for t in load:
                t.start()
            def waiting_on_lock():
                n = int(T.stack.sql(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = "
                    "'fcgi_app' AND STATE LIKE 'Waiting for table%';").split("\n")[1])
                return n if n >= 2 else 0
            waiting = wait_for("requests waiting on the lock", hold_s, waiting_on_lock,
                               every=0.05)
            t0 = time.monotonic()
            stop = T.a.ssh("sudo systemctl stop fcgi-app; echo rc=$?", timeout=60, check=False)
            stop_s = time.monotonic() - t0
            for t in load + [hold]:
                t.join(60)
        T.times["stop"] = st.seconds
        print("        %d requests in flight, stop took %.1f s" % (waiting, stop_s))
        self.assertIn("rc=0", stop)
        self.assertEqual(len(answers), clients)
        for status, body in answers:
            self.assertEqual(status, 200, body[-500:])
            self.assertEqual(len(Page(body).rows), len(rows))
        props = unit_properties(T.a, "fcgi-app", "ActiveState", "Result")
        self.assertEqual(props, {"ActiveState": "inactive", "Result": "success"})


class D_FailureBoot(unittest.TestCase):
    """A second instance whose SSM parameters lack the password."""

    @classmethod
    def setUpClass(cls):
        T.a.stop()  # two TCG guests at once would only slow both
        params = dict(T.params)
        del params["password"]
        T.b = boot("b", "i-0fcgiapp00000000b", "ap-northeast-2c", params, "0a:5e:00:00:00:0b")
        with Stage("SSH to guest b", 300):
            T.b.wait_ssh(300)

    def test_1_signal_failure_with_the_instance_id(self):
        sigs = signals(T.b.calls)
        self.assertEqual([(s["form"].get("Status"), s["form"].get("UniqueId")) for s in sigs],
                         [("FAILURE", T.b.instance_id)])

    def test_2_one_line_reason_in_the_console_log(self):
        lines = [l for l in T.b.console_text().splitlines() if "fcgi-app-configure:" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].rstrip().endswith(
            "fcgi-app-configure: missing SSM parameters: %spassword" % SSM_PATH), lines)

    def test_3_service_stopped_and_nginx_answers_502(self):
        self.assertEqual(T.b.ssh("systemctl is-active fcgi-app nginx", check=False).split(),
                         ["inactive", "active"])
        self.assertEqual(T.b.ssh("sudo test -e /etc/fcgi-app/fcgi-app.cnf; echo $?").strip(), "1")
        status, _ = get(T.b, "/")
        self.assertEqual(status, 502)
