#!/usr/bin/env bash
# Installs the Amazon CloudWatch agent on the amazon-ebs build instance
# (the build block runs it for that source only; the qemu build has no
# AWS to download from).  The package comes from AWS's documented S3
# location for Debian on amd64, and is installed only if its detached
# signature verifies against AWS's published key, whose fingerprint is
# pinned here (Amazon CloudWatch User Guide, "Download and configure the
# CloudWatch agent using the command line").  gpgv, which apt itself
# uses, checks it: no key enters any keyring of the image.
#
# Then it translates the configuration provision.sh installed
# (/usr/local/share/fcgi-app/amazon-cloudwatch-agent.json) with the
# agent's own tool, which refuses a configuration it cannot use, and
# enables the agent's unit, which starts at boot and ships the files.
#
#   cloudwatch-agent.sh [--verify-only]
#
# --verify-only stops once the signature is checked.  For its offline
# test (tests/image/test_agent_signature.py), CWA_BASE_URL and
# CWA_FINGERPRINT point it at a package and key of the test's own.
set -euo pipefail
base=${CWA_BASE_URL:-https://s3.amazonaws.com/amazoncloudwatch-agent}
deb_url=$base/debian/amd64/latest/amazon-cloudwatch-agent.deb
key_url=$base/assets/amazon-cloudwatch-agent.gpg
fingerprint=${CWA_FINGERPRINT:-937616F3450B7D806CBD9725D58167303B789C72}
verify_only=0
case ${1:-} in
--verify-only) verify_only=1 ;;
"") ;;
*) echo "usage: cloudwatch-agent.sh [--verify-only]" >&2; exit 2 ;;
esac
config=/usr/local/share/fcgi-app/amazon-cloudwatch-agent.json
ctl=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl

say() { printf '==> %s\n' "$*"; }
fail() { printf 'cloudwatch-agent.sh: %s\n' "$*" >&2; exit 1; }

[ "$verify_only" -eq 1 ] || [ -s "$config" ] || fail "no $config: provision.sh must run first"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "downloading the CloudWatch agent from $deb_url"
for u in "$deb_url" "$deb_url.sig" "$key_url"; do
    curl -fsS --retry 3 --max-time 300 -o "$work/${u##*/}" "$u" || fail "cannot download $u"
done

# the key as AWS publishes it, ASCII-armoured, made binary for gpgv
python3 - "$work/amazon-cloudwatch-agent.gpg" "$work/key.gpg" <<'PY' || fail "the key is not an armoured OpenPGP key"
import base64, sys
lines = open(sys.argv[1]).read().splitlines()
start = lines.index("-----BEGIN PGP PUBLIC KEY BLOCK-----")
end = lines.index("-----END PGP PUBLIC KEY BLOCK-----")
body = lines[start + 1:end]
body = body[body.index("") + 1:] if "" in body else body
body = [l for l in body if not l.startswith("=")]
open(sys.argv[2], "wb").write(base64.b64decode("".join(body), validate=True))
PY

say "verifying its signature (key $fingerprint)"
status=$(gpgv --status-fd 1 --keyring "$work/key.gpg" "$work/amazon-cloudwatch-agent.deb.sig" \
    "$work/amazon-cloudwatch-agent.deb" 2>"$work/gpgv.log") ||
    fail "the package's signature does not verify: $(tail -n 2 "$work/gpgv.log")"
grep -qE "^\[GNUPG:\] VALIDSIG ([0-9A-F]+ .* )?$fingerprint\$|^\[GNUPG:\] VALIDSIG $fingerprint " \
    <<<"$status" || fail "the package is signed, but not by the key $fingerprint"

say "the signature is good"
[ "$verify_only" -eq 0 ] || exit 0
say "installing the CloudWatch agent"
dpkg -i "$work/amazon-cloudwatch-agent.deb" >/dev/null
"$ctl" -a fetch-config -m ec2 -c "file:$config" >/dev/null ||
    fail "the agent refuses $config"
systemctl enable amazon-cloudwatch-agent.service >/dev/null
say "done: the agent ships the files of $config at boot"
