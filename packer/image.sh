#!/usr/bin/env bash
# make image: the fcgi-app image built offline by `packer build` with the
# template's qemu source, into build/image/:
#   fcgi-app.qcow2          the image (its entry: build/packer-manifest.json)
#   vmlinuz, initrd.img, cmdline   its kernel, for direct kernel boot
#   console.log             the build VM's serial console
# The base image is a local stand-in for Debian's AMI (scripts/base-image.sh,
# cached).  cloud-init in it reads a NoCloud seed (cd_files, label cidata)
# that holds a key made for this build; Packer connects with it, uploads
# the source and runs provision.sh as on AWS.  The key is deleted after.
#
# The image is built from the work tree's tracked files (changes not yet
# committed included).  The "RDS CA bundle" of a local image is the local
# CA in build/image-ca (made once; its key never leaves build/), which the
# image boot test signs its database's certificate with.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
start=$SECONDS
for c in packer qemu-system-x86_64 qemu-img debootstrap mkfs.ext4 ssh-keygen openssl; do
    command -v "$c" >/dev/null || { echo "image.sh: $c is missing (make deps)" >&2; exit 1; }
done
command -v genisoimage >/dev/null || command -v xorriso >/dev/null ||
    { echo "image.sh: genisoimage or xorriso is missing (make deps)" >&2; exit 1; }

# what provision.sh installs (its runtime=(...) and build=(...) lists),
# so that the base image's apt cache has it
packages=$(awk '/^(runtime|build)=\(/ { on = 1; sub(/^[a-z]+=\(/, "") }
    on { line = $0; if (sub(/\).*/, "", line)) on = 0; print line }' packer/provision.sh |
    tr -s ' \n' ' ')
[[ $packages =~ ^[a-z0-9.+\ -]*[a-z][a-z0-9.+\ -]*$ ]] ||
    { echo "image.sh: no package lists in provision.sh: $packages" >&2; exit 1; }
# shellcheck disable=SC2086
base=$(scripts/base-image.sh $packages)
echo "image.sh: base image $base ($((SECONDS - start)) s)"
accel=$(scripts/qemu-accel.sh "$base/vmlinuz")

ca=build/image-ca
if ! [ -s "$ca/ca.pem" ]; then
    mkdir -p "$ca"
    chmod 0700 "$ca"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fcgi-app local image CA" \
        -keyout "$ca/ca-key.pem" -out "$ca/ca.pem" 2>/dev/null
fi
cp "$ca/ca.pem" "$ca/rds-ca.pem"  # the name provision.sh takes it by

seed=build/image-seed
rm -rf "$seed"
mkdir -p "$seed"
chmod 0700 "$seed"
ssh-keygen -q -t ed25519 -N "" -C "fcgi-app packer build" -f "$seed/id_ed25519"
trap 'rm -rf "$top/$seed"' EXIT
cat >"$seed/meta-data" <<EOF
instance-id: fcgi-app-build-$(od -An -N6 -tx1 /dev/urandom | tr -d ' ')
local-hostname: fcgi-app-build
EOF
cat >"$seed/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$seed/id_ed25519.pub")
EOF

tree=$(git stash create)
git archive --format=tar.gz -o build/fcgi-app-src.tar.gz "${tree:-HEAD}"
version=$(git describe --tags --always --dirty)
revision=$(git rev-parse HEAD)
rm -f build/image-console.log

echo "image.sh: packer build (qemu, $accel)"
export PACKER_CACHE_DIR=$top/build/packer_cache
timeout 3600 packer build -color=false -force -only=qemu.debian12 \
    -var "version=$version" -var "git_revision=$revision" \
    -var "rds_ca_bundle=$ca/rds-ca.pem" \
    -var "base_image=$base/disk.qcow2" \
    -var "base_image_checksum=sha256:$(sha256sum "$base/disk.qcow2" | cut -d' ' -f1)" \
    -var "base_kernel=$base/vmlinuz" -var "base_initrd=$base/initrd.img" \
    -var "base_cmdline=$(cat "$base/cmdline")" \
    -var "accelerator=$accel" -var "seed_dir=$seed" \
    -var "ssh_private_key_file=$seed/id_ed25519" \
    -var "console_log=build/image-console.log" \
    packer/fcgi-app.pkr.hcl
cp "$base/vmlinuz" "$base/initrd.img" "$base/cmdline" build/image/
mv build/image-console.log build/image/console.log
echo "image.sh: build/image/fcgi-app.qcow2 in $((SECONDS - start)) s"
