#!/usr/bin/env bash
# make packer-check: the image's code, checked offline.
#   - packer fmt -check, and packer validate of the main template
#   - the same fmt check of the staged template for current Packer
#   - shellcheck on every shell script of the project
#   - systemd-analyze verify on every unit, in a scratch root that holds
#     the binaries the units name; any warning fails
#   - the connection limits of nginx, the program and its unit agree
# Prints "N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# shellcheck source=tests/tally.sh
. tests/tally.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# what make ami uploads; validate checks that the files exist
packer/source.sh "$work/src.tar.gz" HEAD >/dev/null 2>&1 ||
    tar -czf "$work/src.tar.gz" --exclude=./build --exclude=./.dev --exclude=./.git .
echo "placeholder" >"$work/rds-ca.pem"
# and what make image hands the qemu source: the NoCloud seed, its key
mkdir "$work/seed"
for f in meta-data user-data disk.qcow2; do
    echo "placeholder" >"$work/seed/$f"
done
ssh-keygen -q -t ed25519 -N "" -C "packer-check" -f "$work/seed/id_ed25519"
seed_sum=$(sha256sum "$work/seed/disk.qcow2" | cut -d' ' -f1)

tally_run "packer fmt" packer fmt -check packer/
tally_run "packer validate (amazon-ebs and qemu)" packer validate \
    -var "source_tarball=$work/src.tar.gz" -var "rds_ca_bundle=$work/rds-ca.pem" \
    -var "seed_dir=$work/seed" -var "ssh_private_key_file=$work/seed/id_ed25519" \
    -var "image_dir=$work/image" -var "base_image=$work/seed/disk.qcow2" -var "base_image_checksum=sha256:$seed_sum" \
    packer/fcgi-app.pkr.hcl
staged_fmt() { packer/stage.sh "$work/staged" && packer fmt -check "$work/staged"; }
tally_run "staged template for current Packer" staged_fmt

# The uploaded source has no .git; make in it must still name the build
# after the commit (BUILD_ID, written by source.sh), not "unknown".
source_names_build() {
    local want got
    want=$(packer/source.sh "$work/named.tar.gz" worktree) || return 1
    mkdir "$work/named" && tar -xzf "$work/named.tar.gz" -C "$work/named" || return 1
    [ ! -e "$work/named/.git" ] || return 1
    make -s -C "$work/named" BUILD="$work/named/build" "$work/named/build/build-id" || return 1
    got=$(cat "$work/named/build/build-id")
    echo "        build id: $got (git describe --always --dirty: $want)"
    [ "$got" = "$want" ] && [ "$want" = "$(git describe --always --dirty)" ]
}
tally_run "the image's source names its build (packer/source.sh, BUILD_ID)" source_names_build

# the CloudWatch agent's configuration: our schema of it, and the stack's
# log groups (packer/agent_config.py)
tally_run "CloudWatch agent config: schema and the stack's log groups" \
    python3 packer/agent_config.py

# Packer 1.6.6 accepts any name in a provisioner's `only`: the agent's
# provisioner must name the template's amazon-ebs source, and only it.
agent_only_in_aws() {
    python3 - packer/fcgi-app.pkr.hcl <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ebs = re.findall(r'^source "amazon-ebs" "([^"]+)"', text, re.M)
blocks = re.findall(r'^  provisioner "shell" \{\n(.*?)^  \}', text, re.M | re.S)
agent = [b for b in blocks if "cloudwatch-agent.sh" in b]
only = [re.findall(r'"([^"]+)"', m) for b in agent
        for m in re.findall(r"^\s*only\s*=\s*\[(.*)\]", b, re.M)]
print("        only = %s; amazon-ebs sources: %s" % (only, ebs))
sys.exit(0 if len(agent) == 1 and len(ebs) == 1 and only == [["amazon-ebs." + ebs[0]]] else 1)
PY
}
tally_run "the CloudWatch agent's provisioner runs for the amazon-ebs source only" agent_only_in_aws

# nginx's FastCGI connections stay below what the program holds, and the
# unit gives a worker the descriptors for them (the sum beside the
# numbers in nginx/fcgi-app.conf, with the files' own figures)
tally_run "connection limits: nginx, the program and its unit agree" \
    python3 tests/pyrun.py tests/image/test_limits.py

# the agent's download is installed only with a good signature by the
# pinned key: shown offline with a key and package of the test's own
tally_run "CloudWatch agent: installed only with a good signature (offline)" \
    python3 tests/pyrun.py tests/image/test_agent_signature.py

shell_scripts=(scripts/*.sh tests/*.sh tests/fuzz/*.sh tests/browser/*.sh .ci/run packer/*.sh packer/files/fcgi-app-configure packer/files/fcgi-app-journal-copy stack/*.sh)
for f in "${shell_scripts[@]}"; do
    tally_run "shellcheck $f" shellcheck -x "$f"
done

# A scratch root for systemd-analyze: the system's units, the units of
# this project where the image puts them, and the binaries they run.
verify_units() {
    local root=$work/root out
    mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system/nginx.service.d" \
        "$root/usr/local/sbin" "$root/usr/bin" "$root/usr/sbin"
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/" || return 1
    cp packer/files/fcgi-app.service "$root/etc/systemd/system/"
    cp packer/files/nginx-after-fcgi-app.conf "$root/etc/systemd/system/nginx.service.d/fcgi-app.conf"
    cp packer/files/nginx-limits.conf "$root/etc/systemd/system/nginx.service.d/limits.conf"
    cp packer/files/fcgi-app-journal.service "$root/etc/systemd/system/"
    cp "$(command -v journalctl)" "$root/usr/bin/journalctl"
    cp packer/files/fcgi-app-journal-copy "$root/usr/local/sbin/"
    cp "$top/build/fcgi-app" "$root/usr/local/sbin/fcgi-app" || return 1
    cp "$(command -v spawn-fcgi)" "$root/usr/bin/spawn-fcgi"
    cp "$(command -v nginx)" "$root/usr/sbin/nginx"
    out=$(systemd-analyze verify --root="$root" fcgi-app.service nginx.service \
        fcgi-app-journal.service 2>&1)
    local rc=$?
    [ -n "$out" ] && printf '%s\n' "$out"
    [ $rc -eq 0 ] && [ -z "$out" ]
}
tally_run "systemd-analyze verify (fcgi-app.service, nginx drop-in, fcgi-app-journal.service)" verify_units

# The unit's exposure, as systemd rates it (0 best, 10 worst); hardening
# that slips past 1.5 fails the check.
exposure_ok() {
    local out level
    out=$(systemd-analyze security --offline=true packer/files/fcgi-app.service 2>&1)
    level=$(sed -n 's/.*Overall exposure level for fcgi-app.service: \([0-9.]*\).*/\1/p' <<<"$out")
    echo "        exposure level: ${level:-unknown}"
    [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }'
}
tally_run "systemd-analyze security: exposure at most 1.5" exposure_ok

tally_end
