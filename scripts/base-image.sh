#!/usr/bin/env bash
# base-image.sh [PACKAGE...]: the local stand-in for Debian's official
# Debian 12 AMI, for Packer's qemu source.  Prints the folder that holds
#   disk.qcow2   one ext4 file system (no partition table), label "root"
#   vmlinuz, initrd.img   the image's own kernel, for direct kernel boot
#   cmdline      the kernel command line to boot it with
#
# It is a debootstrap root (scripts/debian-root.sh make, cached) with
# linux-image-cloud-amd64, systemd, cloud-init, openssh-server and sudo;
# cloud-init creates the default user "admin" at first boot, as on
# Debian's AMI, and finds its data in a NoCloud seed (Packer's cd_files)
# or the EC2 metadata service.  The disk is written with mkfs.ext4 -d:
# no loop device, no mount.  The PACKAGEs (what provision.sh installs)
# are downloaded into the image's apt cache, so that provisioning does
# not download them again; provision.sh's apt-get clean removes them.
#
# Cached under build/cache/base-image/KEY, KEY a hash of this script, the
# root's key (debian-root.sh key) and the PACKAGEs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CACHE_DIR:-$top/build/cache}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_packages=(linux-image-cloud-amd64 systemd systemd-sysv udev dbus
    cloud-init openssh-server openssh-client sudo ifupdown isc-dhcp-client
    ca-certificates e2fsprogs procps iproute2 netbase less)
disk_size=3G
cmdline="root=/dev/vda ro console=ttyS0,115200 net.ifnames=0"

key=$( { cat "$0"; "$top/scripts/debian-root.sh" key; printf '%s\n' "$@" | sort -u; } |
    sha256sum | cut -c1-16)
out=$cache/base-image/$key
if [ -s "$out/disk.qcow2" ]; then
    echo "base-image.sh: cached $out" >&2
    echo "$out"
    exit 0
fi

mkdir -p "$cache/base-image"
work=$(mktemp -d "$cache/base-image/.work.XXXXXX")
root=$work/root
mounts=(var/cache/apt/archives dev/pts dev sys proc)
cleanup() {
    for m in "${mounts[@]}"; do
        mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS
# a minbase root from debian-root.sh's cache; the image's packages go in
# with apt (debootstrap --include cannot order cloud-init's Python
# dependencies), from the shared cache of .debs
"$top/scripts/debian-root.sh" make "$root" >&2
# the archive with its updates, as on Debian's AMI
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount --bind "$("$top/scripts/debian-root.sh" debs)" "$root/var/cache/apt/archives"
echo "base-image.sh: installing ${base_packages[*]}" >&2
if ! timeout 1800 chroot "$root" sh -c 'apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' \
    sh "${base_packages[@]}" >"$work/apt.log" 2>&1; then
    tail -n 30 "$work/apt.log" >&2
    exit 1
fi
umount "$root/var/cache/apt/archives"
# the image starts its services; only the root's making must not
rm -f "$root/usr/sbin/policy-rc.d"

# what Debian's cloud images configure: the root file system, and
# cloud-init's default user
echo 'LABEL=root / ext4 defaults,errors=remount-ro 0 1' >"$root/etc/fstab"
echo localhost >"$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cat >"$root/etc/cloud/cloud.cfg.d/01_debian_cloud.cfg" <<'EOF'
# as on Debian's AMI: the default user is "admin"; the data comes from
# the EC2 metadata service, or from a NoCloud seed for a local build
datasource_list: [NoCloud, Ec2, None]
manage_etc_hosts: true
locale: C.UTF-8
system_info:
  default_user:
    name: admin
    lock_passwd: true
    gecos: Debian
    groups: [adm, audio, cdrom, dialout, dip, floppy, plugdev, sudo, video]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
EOF
cat >"$root/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*
auto lo
iface lo inet loopback
EOF

# the provisioning packages, downloaded only, into the image's apt cache
if [ $# -gt 0 ]; then
    echo "base-image.sh: downloading $* into the image's apt cache" >&2
    if ! timeout 1200 chroot "$root" sh -c 'apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only \
            --no-install-recommends "$@"' sh "$@" >>"$work/apt.log" 2>&1; then
        tail -n 20 "$work/apt.log" >&2
        exit 1
    fi
fi
for m in dev/pts dev sys proc; do
    umount "$root/$m"
done

# a new machine at first boot: its own machine id and SSH host keys
rm -f "$root/etc/resolv.conf" "$root/etc/ssh/ssh_host_"*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

mkdir "$work/out"
kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd=$(find "$root/boot" -name 'initrd.img-*' | sort -V | tail -n 1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
    echo "base-image.sh: no kernel in the root" >&2
    exit 1
fi
cp "$kernel" "$work/out/vmlinuz"
cp "$initrd" "$work/out/initrd.img"
chmod 0644 "$work/out/vmlinuz" "$work/out/initrd.img"
echo "$cmdline" >"$work/out/cmdline"
mkfs.ext4 -q -L root -d "$root" "$work/disk.raw" "$disk_size" >&2
qemu-img convert -O qcow2 "$work/disk.raw" "$work/out/disk.qcow2"
rm -rf "$out"
mv "$work/out" "$out"
echo "base-image.sh: made $out in $((SECONDS - start)) s" >&2
echo "$out"
