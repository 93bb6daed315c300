#!/usr/bin/env bash
# qemu-accel.sh KERNEL: prints "kvm" if a guest kernel boots under KVM
# here, "tcg" otherwise.  /dev/kvm can open and create a VM and still
# hang a guest, so the probe boots KERNEL with no root file system and
# waits (bounded) for it to get through its whole start-up to the panic
# that ends it.  QEMU_ACCEL=kvm|tcg skips the probe.
set -euo pipefail
kernel=${1:?usage: qemu-accel.sh KERNEL}
if [ -n "${QEMU_ACCEL:-}" ]; then
    echo "$QEMU_ACCEL"
    exit 0
fi
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
    echo "qemu-accel.sh: no usable /dev/kvm: TCG" >&2
    echo tcg
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
timeout 20 qemu-system-x86_64 -accel kvm -m 256 -smp 1 -nodefaults -no-reboot \
    -display none -serial "file:$log" -kernel "$kernel" \
    -append "console=ttyS0 panic=-1 root=/dev/fcgi-app-none" >/dev/null 2>&1 || true
if grep -q 'Kernel panic' "$log"; then
    echo "qemu-accel.sh: a kernel booted under KVM in $((SECONDS - start)) s: KVM" >&2
    echo kvm
else
    echo "qemu-accel.sh: no kernel start-up under KVM within 20 s: TCG" >&2
    echo tcg
fi
