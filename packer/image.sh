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
# IMAGE_DIR=DIR builds into DIR instead.  The image is built from the
# work tree's tracked files (changes not yet committed included).  The "RDS CA bundle" of a local image is the local
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

out=${IMAGE_DIR:-build/image}
out=${out%/}
ca=build/image-ca
if ! [ -s "$ca/ca.pem" ]; then
    mkdir -p "$ca"
    chmod 0700 "$ca"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=fcgi-app local image CA" \
        -keyout "$ca/ca-key.pem" -out "$ca/ca.pem" 2>/dev/null
fi

# this build's own files, beside the output: the seed with its key, and
# what the file provisioner uploads, by the names provision.sh takes
work=$out.work
rm -rf "$work"
mkdir -p "$work/seed" "$work/upload"
chmod 0700 "$work"
trap 'rm -rf "$work"' EXIT
seed=$work/seed
ssh-keygen -q -t ed25519 -N "" -C "fcgi-app packer build" -f "$seed/id_ed25519"
cat >"$seed/meta-data" <<EOF
instance-id: fcgi-app-build-$(od -An -N6 -tx1 /dev/urandom | tr -d ' ')
local-hostname: fcgi-app-build
EOF
cat >"$seed/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$seed/id_ed25519.pub")
EOF
cp "$ca/ca.pem" "$work/upload/rds-ca.pem"
build_id=$(packer/source.sh "$work/upload/fcgi-app-src.tar.gz" worktree)
echo "image.sh: build id $build_id"
version=$(git describe --tags --always --dirty)
revision=$(git rev-parse HEAD)

echo "image.sh: packer build (qemu, $accel)"
export PACKER_CACHE_DIR=$top/build/packer_cache
timeout 3600 packer build -color=false -force -only=qemu.debian12 \
    -var "version=$version" -var "git_revision=$revision" \
    -var "source_tarball=$work/upload/fcgi-app-src.tar.gz" \
    -var "rds_ca_bundle=$work/upload/rds-ca.pem" \
    -var "base_image=$base/disk.qcow2" \
    -var "base_image_checksum=sha256:$(sha256sum "$base/disk.qcow2" | cut -d' ' -f1)" \
    -var "base_kernel=$base/vmlinuz" -var "base_initrd=$base/initrd.img" \
    -var "base_cmdline=$(cat "$base/cmdline")" \
    -var "accelerator=$accel" -var "seed_dir=$seed" \
    -var "ssh_private_key_file=$seed/id_ed25519" \
    -var "image_dir=$out" -var "console_log=$work/console.log" \
    packer/fcgi-app.pkr.hcl
cp "$base/vmlinuz" "$base/initrd.img" "$base/cmdline" "$out/"
mv "$work/console.log" "$out/console.log"
echo "image.sh: $out/fcgi-app.qcow2 in $((SECONDS - start)) s"
