"""The AMI rehearsed offline: packer/provision.sh, unmodified, provisions
a fresh Debian 12 root made with debootstrap; fcgi-app-configure (the
launch template's user data) writes the config from stand-ins for IMDSv2
and SSM; then the program, started with its unit's own command line, and
nginx, with the installed site, answer HTTP with the table's rows from a
test database that requires TLS.  Everything after provisioning runs in
a network namespace of its own, with only loopback."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from lib import TOP
from lib.localstack import Stack
from lib.page import Page
from lib.proc import pids_by_cmdline
from lib.tls import make_ca, make_server

HERE = os.path.dirname(os.path.abspath(__file__))

UPLOAD = "/tmp/fcgi-app-upload"   # where Packer's file provisioner puts it
SSM_PATH = "/fcgi-app/"
# a password the option file must carry intact
PASSWORD = 'p#ss "w0rd" \\ with \'quotes\' $HOME ;x-7Hq2mark'
# the part of it that the option file's quoting leaves as it is
PASSWORD_MARK = "7Hq2mark"
ROLE_KEY_ID = "ASIATESTROLEKEY00001"  # the instance role's key in aws_standin.py
R = None  # the rehearsal


def sh(*args, check=True, timeout=900, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                        p.stdout[-3000:], p.stderr[-3000:]))
    return p


class Rehearsal:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fcgi-app-image-", dir="/var/tmp")
        os.chmod(self.dir, 0o711)
        self.root = os.path.join(self.dir, "root")
        self.ns = "fcgiapp-img-%d" % os.getpid()
        self.mounts = []
        self.procs = []
        self.stack = None
        self.provision_logs = []

    # --- the root ---------------------------------------------------------
    def bootstrap(self):
        # a fresh minbase root, from the cache of scripts/debian-root.sh
        sh(os.path.join(TOP, "scripts", "debian-root.sh"), "make", self.root, timeout=1800)
        # As in a container build: package installs must not start services
        # in the chroot (they would bind the host's ports).
        with open(os.path.join(self.root, "usr/sbin/policy-rc.d"), "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(os.path.join(self.root, "usr/sbin/policy-rc.d"), 0o755)
        shutil.copy("/etc/resolv.conf", os.path.join(self.root, "etc/resolv.conf"))
        for src, dst, opts in (("proc", "proc", ["-t", "proc"]),
                               ("/dev", "dev", ["--bind"]),
                               ("/dev/pts", "dev/pts", ["--bind"]),
                               ("tmpfs", "run", ["-t", "tmpfs"])):
            target = os.path.join(self.root, dst)
            sh("mount", *opts, src, target)
            self.mounts.append(target)

    def upload(self, ca_pem):
        """What the template's file provisioner uploads, and the script."""
        up = self.root + UPLOAD
        os.makedirs(up, exist_ok=True)
        # as make image makes it: the work tree's tracked files, named
        sh(os.path.join(TOP, "packer", "source.sh"),
           os.path.join(up, "fcgi-app-src.tar.gz"), "worktree")
        shutil.copy(ca_pem, os.path.join(up, "rds-ca.pem"))
        shutil.copy(os.path.join(TOP, "packer", "provision.sh"),
                    os.path.join(self.root, "tmp", "provision.sh"))

    def provision(self):
        p = sh("chroot", self.root, "env", "UPLOAD_DIR=" + UPLOAD,
               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "bash", "/tmp/provision.sh", timeout=1800)
        self.provision_logs.append(p.stdout + p.stderr)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    # --- inside the namespace ----------------------------------------------
    def netns(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")

    def in_ns(self, *args, **kw):
        return sh("ip", "netns", "exec", self.ns, *args, **kw)

    def in_root(self, *args, **kw):
        return self.in_ns("chroot", self.root, *args, **kw)

    def spawn(self, args, log):
        f = open(log, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + args, stdout=f, stderr=f,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        return p

    def curl(self, url):
        p = self.in_ns("curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", url)
        body, _, status = p.stdout.rpartition("\n")
        return int(status), body

    def headers(self, url):
        """The answer's header fields, names in lower case."""
        p = self.in_ns("curl", "-sS", "--max-time", "10", "-D", "-", "-o", "/dev/null", url)
        fields = {}
        for line in p.stdout.splitlines()[1:]:
            name, sep, value = line.partition(":")
            if sep:
                fields[name.strip().lower()] = value.strip()
        return fields

    def teardown(self):
        if os.path.exists(self.path("/run/nginx.pid")):
            self.in_root("/usr/sbin/nginx", "-s", "stop", check=False)
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if self.stack is not None:
            try:
                self.stack.db_stop()
            except Exception as e:
                print("teardown:", e)
        for m in reversed(self.mounts):
            sh("umount", "-l", m, check=False)
        sh("ip", "netns", "delete", self.ns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def make_tls(d):
    """A CA and a server certificate for 127.0.0.1 and localhost."""
    make_ca(d)
    make_server(d, d)


def sql_string(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def setUpModule():
    global R
    R = Rehearsal()
    try:
        tls = os.path.join(R.dir, "tls")
        make_tls(tls)
        R.bootstrap()
        R.upload(os.path.join(tls, "ca.pem"))
        R.provision()
        R.upload(os.path.join(tls, "ca.pem"))
        R.provision()  # a second run must work as well: it is idempotent
        R.netns()
        # the database, in the namespace, on 127.0.0.1:3306 with TLS
        R.stack = Stack()
        R.stack.db_state = os.path.join(R.dir, "db")
        os.environ["DB_PORT"] = "3306"
        os.environ["DB_TLS_DIR"] = tls
        R.stack.db_start = lambda: R.in_ns(os.path.join(TOP, "scripts", "db.sh"),
                                           "start", R.stack.db_state)
        R.stack.db_start()
        R.stack.db_load()
        R.stack.sql("SET @app_password = %s;\n%s" % (
            sql_string(PASSWORD), open(os.path.join(TOP, "sql", "grants.sql")).read()))
        # the AWS stand-ins, in the namespace
        R.params = os.path.join(R.dir, "params.json")
        R.calls = os.path.join(R.dir, "calls.json")
        set_params({"host": "127.0.0.1", "port": "3306", "user": "fcgi_app",
                    "password": PASSWORD, "database": "fcgi_app", "table": "demo"})
        R.aws_port = 8111
        R.spawn(["python3", os.path.join(HERE, "aws_standin.py"), str(R.aws_port),
                 R.params, R.calls], os.path.join(R.dir, "standin.log"))
        deadline = time.monotonic() + 20
        while R.in_ns("curl", "-s", "-o", "/dev/null", "-X", "PUT",
                      "http://127.0.0.1:%d/" % R.aws_port, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the AWS stand-in did not start")
            time.sleep(0.2)
    except Exception:
        R.teardown()
        raise


def tearDownModule():
    if R is not None:
        R.teardown()


def set_params(values):
    with open(R.params, "w") as f:
        json.dump({SSM_PATH + k: v for k, v in values.items()}, f)


def configure(*extra, imds_port=None):
    port = imds_port or R.aws_port
    return R.in_root("env", "FCGI_APP_IMDS_ENDPOINT=http://127.0.0.1:%d" % port,
                     "FCGI_APP_SSM_ENDPOINT=http://127.0.0.1:%d" % R.aws_port,
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "/usr/local/sbin/fcgi-app-configure", "--ssm-path", SSM_PATH,
                     "--no-restart", *extra, check=False, timeout=120)


# the first line of a PEM private key of any kind
PEM_PRIVATE_KEY = r"^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----\s*$"


def files_holding(text, regex=False, under=None):
    """Every file of the root (or of the folders under) that holds text
    (or, with regex, every text file with a line matching it), as paths
    inside it; the kernel's and the test's mounts are left out."""
    if under is None:
        tops = [os.path.join(R.root, d) for d in sorted(os.listdir(R.root))
                if d not in ("proc", "sys", "dev", "run")]
    else:
        tops = [R.path(d) for d in under if os.path.exists(R.path(d))]
    # a PEM key is text; libraries hold the marker lines as strings
    p = sh("grep", "-rlIE" if regex else "-rlF", "--", text, *tops, check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError(p.stderr)
    return sorted("/" + os.path.relpath(f, R.root) for f in p.stdout.splitlines())


def unit_lines(key):
    with open(R.path("/etc/systemd/system/fcgi-app.service")) as f:
        return [l.split("=", 1)[1].strip() for l in f if l.startswith(key + "=")]


class A_Provisioned(unittest.TestCase):
    def test_packages_and_program(self):
        for b in ("/usr/sbin/nginx", "/usr/bin/spawn-fcgi", "/usr/local/sbin/fcgi-app",
                  "/usr/local/sbin/fcgi-app-configure", "/usr/bin/aws"):
            self.assertTrue(os.access(R.path(b), os.X_OK), b)
        # the build packages are gone again
        for b in ("/usr/bin/gcc", "/usr/include/fcgiapp.h", "/usr/bin/mariadb_config"):
            self.assertFalse(os.path.exists(R.path(b)), b)
        p = R.in_root("/usr/local/sbin/fcgi-app", "-h", check=False)
        self.assertIn("usage: fcgi-app", p.stderr)

    def test_log_shipping_files(self):
        """The CloudWatch agent's configuration, as the repository has it,
        the journal's copy unit, enabled, and its rotation; the agent
        itself only comes in the amazon-ebs build."""
        with open(os.path.join(TOP, "packer", "files", "amazon-cloudwatch-agent.json")) as f:
            want = json.load(f)
        with open(R.path("/usr/local/share/fcgi-app/amazon-cloudwatch-agent.json")) as f:
            self.assertEqual(json.load(f), want)
        with open(os.path.join(TOP, "packer", "files", "fcgi-app-journal.service")) as f:
            unit = f.read()
        with open(R.path("/etc/systemd/system/fcgi-app-journal.service")) as f:
            self.assertEqual(f.read(), unit)
        with open(os.path.join(TOP, "packer", "files", "fcgi-app-journal-copy")) as f:
            copy = f.read()
        with open(R.path("/usr/local/sbin/fcgi-app-journal-copy")) as f:
            self.assertEqual(f.read(), copy)
        self.assertTrue(os.access(R.path("/usr/local/sbin/fcgi-app-journal-copy"), os.X_OK))
        link = R.path("/etc/systemd/system/multi-user.target.wants/fcgi-app-journal.service")
        self.assertTrue(os.path.islink(link), "fcgi-app-journal.service is not enabled")
        self.assertEqual(os.path.basename(os.readlink(link)), "fcgi-app-journal.service")
        self.assertTrue(os.path.exists(R.path("/etc/logrotate.d/fcgi-app-journal")))
        self.assertTrue(os.access(R.path("/usr/sbin/logrotate"), os.X_OK))
        self.assertFalse(os.path.exists(R.path("/opt/aws/amazon-cloudwatch-agent")))

    def test_system_user(self):
        with open(R.path("/etc/passwd")) as f:
            users = {l.split(":")[0]: l.strip().split(":") for l in f}
        u = users["fcgi-app"]
        self.assertLess(int(u[2]), 1000)                 # a system user
        self.assertEqual(u[6], "/usr/sbin/nologin")
        with open(R.path("/etc/group")) as f:
            groups = {l.split(":")[0]: l.strip().split(":") for l in f}
        self.assertEqual(groups["fcgi-app"][3].split(","), ["www-data"])

    def test_files_and_no_credentials(self):
        st = os.stat(R.path("/etc/fcgi-app"))
        self.assertEqual(oct(st.st_mode & 0o777), "0o750")
        self.assertEqual(os.listdir(R.path("/etc/fcgi-app")), ["rds-ca.pem"])
        with open(R.path("/etc/fcgi-app/rds-ca.pem")) as f:
            self.assertIn("BEGIN CERTIFICATE", f.read())
        self.assertFalse(os.path.exists(R.path(UPLOAD)))
        self.assertEqual(os.listdir(R.path("/etc/nginx/sites-enabled")), ["fcgi-app"])
        self.assertEqual(os.readlink(R.path("/etc/nginx/sites-enabled/fcgi-app")),
                         "../sites-available/fcgi-app")
        with open(R.path("/etc/nginx/sites-available/fcgi-app")) as f:
            self.assertEqual(f.read(), open(os.path.join(TOP, "nginx", "fcgi-app.conf")).read())
        self.assertTrue(os.path.exists(R.path("/etc/systemd/system/nginx.service.d/fcgi-app.conf")))
        # the connection limits: the image's nginx.conf and nginx's unit
        with open(R.path("/etc/nginx/nginx.conf")) as f:
            self.assertEqual(f.read(), open(os.path.join(TOP, "packer", "files",
                                                         "nginx.conf")).read())
        with open(R.path("/etc/systemd/system/nginx.service.d/limits.conf")) as f:
            self.assertIn("LimitNOFILE=32768", f.read().splitlines())
        # no password, private key or AWS credential anywhere in the image
        self.assertEqual(files_holding(PASSWORD_MARK), [])
        self.assertEqual(files_holding(PEM_PRIVATE_KEY, regex=True), [])
        # the AWS CLI's own files name it; no credentials file may
        self.assertEqual(files_holding("aws_secret_access_key", under=(
            "/etc", "/root", "/home", "/usr/local", "/opt", "/srv", "/tmp", "/var/tmp")), [])
        self.assertEqual(files_holding(ROLE_KEY_ID), [])

    def test_provisioning_runs_twice(self):
        self.assertEqual(len(R.provision_logs), 2)
        self.assertIn("done:", R.provision_logs[1])


class B_UserData(unittest.TestCase):
    def test_1_missing_parameter_fails_loudly(self):
        set_params({"host": "127.0.0.1", "port": "3306", "user": "fcgi_app",
                    "database": "fcgi_app", "table": "demo"})
        p = configure()
        self.assertEqual(p.returncode, 1)
        self.assertIn("missing SSM parameters: /fcgi-app/password", p.stderr)
        self.assertFalse(os.path.exists(R.path("/etc/fcgi-app/fcgi-app.cnf")))
        self.assertEqual(os.listdir(R.path("/etc/fcgi-app")), ["rds-ca.pem"])

    def test_2_bad_values_fail(self):
        for key, value, says in (("port", "33o6", "port is not a port number"),
                                 ("table", "demo; DROP TABLE demo", "not a plain table name"),
                                 ("host", "db\n[client]", "holds a line break")):
            vals = {"host": "127.0.0.1", "port": "3306", "user": "fcgi_app",
                    "password": PASSWORD, "database": "fcgi_app", "table": "demo"}
            vals[key] = value
            set_params(vals)
            p = configure()
            self.assertEqual(p.returncode, 1, key)
            self.assertIn(says, p.stderr, key)
            self.assertFalse(os.path.exists(R.path("/etc/fcgi-app/fcgi-app.cnf")))

    def test_3_no_metadata_service_fails(self):
        p = configure(imds_port=9)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no IMDSv2 token", p.stderr)

    def test_4_writes_the_config(self):
        set_params({"host": "127.0.0.1", "port": "3306", "user": "fcgi_app",
                    "password": PASSWORD, "database": "fcgi_app", "table": "demo"})
        p = configure()
        self.assertEqual(p.returncode, 0, p.stderr)
        cnf = R.path("/etc/fcgi-app/fcgi-app.cnf")
        st = os.stat(cnf)
        self.assertEqual(oct(st.st_mode & 0o777), "0o600")
        with open(R.path("/etc/passwd")) as f:
            uid = [int(l.split(":")[2]) for l in f if l.startswith("fcgi-app:")][0]
        self.assertEqual(st.st_uid, uid)
        with open(cnf) as f:
            text = f.read()
        self.assertIn("[client]\nhost = \"127.0.0.1\"\nport = 3306\n", text)
        self.assertIn("ssl-ca = /etc/fcgi-app/rds-ca.pem\nssl-verify-server-cert\n", text)
        self.assertIn("[fcgi-app]\ntable = demo\nrequire-tls = on\n", text)
        # nginx believes X-Forwarded-For from the VPC's addresses only
        with open(R.path("/etc/nginx/fcgi-app.d/real-ip.conf")) as f:
            self.assertEqual([l for l in f.read().splitlines() if not l.startswith("#")],
                             ["set_real_ip_from 10.0.0.0/16;"])
        self.assertNotIn(PASSWORD_MARK, p.stdout + p.stderr)
        # the program accepts it
        c = R.in_root("/usr/local/sbin/fcgi-app", "-t", "-c", "/etc/fcgi-app/fcgi-app.cnf")
        self.assertIn("ok (table `demo`", c.stdout)
        # IMDSv2 only, and SSM called with the role's signed credentials
        with open(R.calls) as f:
            calls = json.load(f)
        gets = [c for c in calls if c["method"] == "GET"]
        self.assertTrue(gets)
        self.assertTrue(all(c["token"] for c in gets), gets)
        self.assertIn("/latest/meta-data/iam/security-credentials/", [c["path"] for c in gets])
        posts = [c for c in calls if c["method"] == "POST"]
        self.assertTrue(posts and all(c["signed"] for c in posts), posts)


    def test_5_db_connections_from_the_stack(self):
        """--db-connections (the stack's DbConnectionsPerInstance) becomes
        the program's db-connections, which it accepts; no workers line
        is written (one per CPU, at most that many); a count outside
        1-4096 fails before anything is read or written."""
        cnf = R.path("/etc/fcgi-app/fcgi-app.cnf")
        try:
            p = configure("--db-connections", "12")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(cnf) as f:
                text = f.read()
            self.assertIn("[fcgi-app]\ntable = demo\nrequire-tls = on\ndb-connections = 12\n",
                          text)
            self.assertNotIn("workers", text)
            c = R.in_root("/usr/local/sbin/fcgi-app", "-t", "-c", "/etc/fcgi-app/fcgi-app.cnf")
            self.assertIn("ok (table `demo`", c.stdout)
            with open(cnf, "rb") as f:
                before = f.read()
            for bad in ("0", "4097", "8x", "", "-1"):
                p = configure("--db-connections", bad)
                self.assertEqual(p.returncode, 1, bad)
                self.assertIn("fcgi-app-configure: --db-connections must be a whole number from "
                              "1 to 4096: %s" % bad, p.stderr)
                with open(cnf, "rb") as f:
                    self.assertEqual(f.read(), before, bad)
            # the option it replaced is gone
            p = configure("--workers", "4")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("usage: fcgi-app-configure", p.stderr)
        finally:
            # the next suites serve with the default config of test_4
            self.assertEqual(configure().returncode, 0)


class C_Serving(unittest.TestCase):
    def test_unit_command_line_and_nginx_serve_the_table(self):
        self.assertTrue(os.path.exists(R.path("/etc/fcgi-app/fcgi-app.cnf")),
                        "B_UserData must run first")
        user = unit_lines("User")[0]
        runtime = unit_lines("RuntimeDirectory")[0]
        mode = int(unit_lines("RuntimeDirectoryMode")[0], 8)
        with open(R.path("/etc/passwd")) as f:
            ids = [l.split(":") for l in f if l.startswith(user + ":")][0]
        # what systemd does before ExecStart
        rd = R.path("/run/" + runtime)
        os.makedirs(rd, exist_ok=True)
        os.chown(rd, int(ids[2]), int(ids[3]))
        os.chmod(rd, mode)
        as_user = ["chroot", "--userspec=%s:%s" % (user, unit_lines("Group")[0]), R.root,
                   "/bin/sh", "-c", 'umask 077 && exec "$@"', "sh"]
        for pre in unit_lines("ExecStartPre"):
            R.in_ns(*as_user, *shlex.split(pre))
        log = os.path.join(R.dir, "fcgi-app.log")
        R.spawn(as_user + shlex.split(unit_lines("ExecStart")[0]), log)
        R.in_root("/usr/sbin/nginx")
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline:
            status, body = R.curl("http://127.0.0.1/healthz")
            if status == 200:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200)
        status, body = R.curl("http://127.0.0.1/")
        self.assertEqual(status, 200, open(log).read())
        cols, rows = R.stack.table("demo")
        page = Page(body)
        self.assertEqual(page.headers, cols)
        self.assertEqual(len(page.rows), len(rows))
        self.assertEqual([r[0] for r in page.rows], [r[0] for r in rows])
        self.assertEqual(page.rows[0][1:3], list(rows[0][1:3]))
        status, body = R.curl("http://127.0.0.1/readyz")
        self.assertEqual(status, 200)
        # the uploaded source has no .git, yet the build is named after
        # the commit (and the work tree's changes) it was made from
        want = sh("git", "-C", TOP, "describe", "--always", "--dirty").stdout.strip()
        self.assertEqual(R.headers("http://127.0.0.1/").get("x-fcgi-app-build"), want)
        # require-tls is on, so 200 means TLS, verified against the CA
        # that provisioning installed as the RDS bundle
        ssl = R.stack.sql("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                          "WHERE VARIABLE_NAME = 'SSL_ACCEPTS';").split("\n")[1]
        self.assertGreater(int(ssl), 0)
        # every fcgi-app process runs as the unit's user
        uids = set()
        for pid in pids_by_cmdline(lambda c: c.startswith(b"/usr/local/sbin/fcgi-app\0-c")):
            try:
                uids.add(os.stat("/proc/%d" % pid).st_uid)
            except OSError:
                continue
        self.assertEqual(uids, {int(ids[2])})
        self.assertNotIn(PASSWORD_MARK, open(log).read())

    def test_password_only_in_the_config(self):
        """After boot-time configuration and serving, the password is in
        one file of the whole root: the 0600 config.  (Before it, in
        what the AMI is made of, it is nowhere: A_Provisioned.)"""
        self.assertEqual(files_holding(PASSWORD_MARK), ["/etc/fcgi-app/fcgi-app.cnf"])
        self.assertEqual(files_holding(ROLE_KEY_ID), [])
