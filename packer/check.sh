#!/usr/bin/env bash
# make packer-check: the image's code, checked offline.
#   - packer fmt -check, and packer validate of the main template
#   - the same fmt check of the staged template for current Packer
#   - shellcheck on every shell script of the project
#   - systemd-analyze verify on every unit, in a scratch root that holds
#     the binaries the units name; any warning fails
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

shell_scripts=(scripts/*.sh tests/*.sh tests/fuzz/*.sh tests/browser/*.sh .ci/run packer/*.sh packer/files/fcgi-app-configure stack/*.sh)
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
    cp "$top/build/fcgi-app" "$root/usr/local/sbin/fcgi-app" || return 1
    cp "$(command -v spawn-fcgi)" "$root/usr/bin/spawn-fcgi"
    cp "$(command -v nginx)" "$root/usr/sbin/nginx"
    out=$(systemd-analyze verify --root="$root" fcgi-app.service nginx.service 2>&1)
    local rc=$?
    [ -n "$out" ] && printf '%s\n' "$out"
    [ $rc -eq 0 ] && [ -z "$out" ]
}
tally_run "systemd-analyze verify (fcgi-app.service, nginx drop-in)" verify_units

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
