"""packer/cloudwatch-agent.sh installs the CloudWatch agent only when its
package carries a good signature by the pinned key.  Offline: a key of
the test's own (gpg, in a scratch home) signs a stand-in package; the
script fetches package, signature and key through file:// URLs laid out
as AWS's bucket is, and stops after the check (--verify-only)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from lib import TOP

SCRIPT = os.path.join(TOP, "packer", "cloudwatch-agent.sh")


def gpg(home, *args, **kw):
    return subprocess.run(["gpg", "--homedir", home, "--batch", "--quiet", *args],
                          capture_output=True, timeout=120, check=True, **kw)


class AgentSignature(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fcgi-app-cwa-")
        cls.keys = {}
        for name in ("aws", "other"):
            home = os.path.join(cls.dir, "gnupg-" + name)
            os.mkdir(home, 0o700)
            gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                "%s test <%s@example.invalid>" % (name, name), "ed25519", "sign", "1d")
            out = gpg(home, "--with-colons", "--list-keys").stdout.decode()
            fpr = [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")][0]
            cls.keys[name] = (home, fpr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def bucket(self, signer="aws", published="aws", tamper=False):
        """A bucket laid out as AWS's: the package signed by signer, the
        key of published as the assets' key; its file:// URL."""
        b = tempfile.mkdtemp(dir=self.dir)
        deb = os.path.join(b, "debian", "amd64", "latest")
        os.makedirs(deb)
        os.makedirs(os.path.join(b, "assets"))
        pkg = os.path.join(deb, "amazon-cloudwatch-agent.deb")
        with open(pkg, "wb") as f:
            f.write(b"!<arch>\nnot really a package\n")
        gpg(self.keys[signer][0], "--detach-sign", "-o", pkg + ".sig", pkg)
        if tamper:
            with open(pkg, "ab") as f:
                f.write(b"one more byte")
        with open(os.path.join(b, "assets", "amazon-cloudwatch-agent.gpg"), "wb") as f:
            f.write(gpg(self.keys[published][0], "--armor", "--export").stdout)
        return "file://" + b

    def run_script(self, base, fingerprint):
        env = dict(os.environ, CWA_BASE_URL=base, CWA_FINGERPRINT=fingerprint)
        return subprocess.run(["bash", SCRIPT, "--verify-only"], capture_output=True,
                              text=True, timeout=120, env=env)

    def test_good_signature_passes(self):
        p = self.run_script(self.bucket(), self.keys["aws"][1])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("==> the signature is good", p.stdout)
        self.assertNotIn("installing", p.stdout)

    def test_tampered_package_fails(self):
        p = self.run_script(self.bucket(tamper=True), self.keys["aws"][1])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("cloudwatch-agent.sh: the package's signature does not verify", p.stderr)

    def test_other_key_fails(self):
        """A package and key swapped together for another's still fail:
        the fingerprint is pinned, not taken from the download."""
        p = self.run_script(self.bucket(signer="other", published="other"),
                            self.keys["aws"][1])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("not by the key " + self.keys["aws"][1], p.stderr)
        # signed by another key than the one published: gpgv has no key
        p = self.run_script(self.bucket(signer="other"), self.keys["aws"][1])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("the package's signature does not verify", p.stderr)

    def test_missing_download_fails(self):
        p = self.run_script("file://" + self.dir + "/nothing", self.keys["aws"][1])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("cloudwatch-agent.sh: cannot download file://", p.stderr)

    def test_pinned_fingerprint_is_aws(self):
        with open(SCRIPT) as f:
            text = f.read()
        self.assertIn("CWA_FINGERPRINT:-937616F3450B7D806CBD9725D58167303B789C72}", text)
        self.assertIn("base=${CWA_BASE_URL:-https://s3.amazonaws.com/amazoncloudwatch-agent}",
                      text)


if __name__ == "__main__":
    unittest.main()
