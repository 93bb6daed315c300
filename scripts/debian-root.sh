#!/usr/bin/env bash
# A fresh Debian root made with debootstrap, for the tests that need a
# machine with nothing on it.  Bootstrapping takes minutes, so each root
# is kept under build/cache/ as a tar, keyed by everything that went into
# it, and a second run unpacks that instead.
#
#   debian-root.sh make DEST [PACKAGE...]  DEST (new or empty) becomes a
#                                          root with PACKAGEs installed
#   debian-root.sh debs                    prints the folder of downloaded
#                                          .debs, to bind-mount on a root's
#                                          /var/cache/apt/archives
#   debian-root.sh key [PACKAGE...]        prints the cache key
#
# Every root gets a policy-rc.d that refuses to start services, so that a
# package installed in it never starts Debian's own nginx or database on
# the host's ports.  Settings: DEBIAN_SUITE (bookworm), DEBIAN_MIRROR,
# DEBIAN_VARIANT (minbase), ROOT_CACHE (build/cache of the checkout).
# `rm -rf build/cache` starts again from the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)

suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
variant=${DEBIAN_VARIANT:-minbase}
cache=${ROOT_CACHE:-$top/build/cache}
debs=$cache/debs/$suite

# key PACKAGE...: a hash of the inputs a root is made from
key() {
    local pkgs
    pkgs=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
    {
        echo "suite=$suite variant=$variant mirror=$mirror arch=$(dpkg --print-architecture)"
        echo "packages=$pkgs"
        dpkg-query -W -f='debootstrap=${Version}\n' debootstrap
        sha256sum "$here/debian-root.sh" | cut -d' ' -f1
    } | sha256sum | cut -c1-16
}

# bootstrap TAR PACKAGE...: debootstrap a root and keep it as TAR
bootstrap() {
    local tar=$1 tmp include=()
    shift
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    [ $# -eq 0 ] || include=(--include="$(IFS=,; echo "$*")")
    tmp=$(mktemp -d "$cache/debian-root/new.XXXXXX")
    say "debootstrap $suite ($variant${*:+, with $*}) into the cache"
    if ! debootstrap --variant="$variant" "${include[@]}" --cache-dir="$debs" \
        "$suite" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
        tail -n 20 "$tmp/debootstrap.log" >&2
        rm -rf "$tmp"
        die "debootstrap failed"
    fi
    printf '#!/bin/sh\n# no service starts in this root\nexit 101\n' \
        >"$tmp/root/usr/sbin/policy-rc.d"
    chmod 0755 "$tmp/root/usr/sbin/policy-rc.d"
    rm -f "$tmp/root/var/cache/apt/archives/"*.deb
    tar -C "$tmp/root" --numeric-owner -cf "$tmp/root.tar" .
    mv "$tmp/root.tar" "$tar"
    rm -rf "$tmp"
}

make_root() {
    local dest=${1:-} k tar
    [ -n "$dest" ] || usage "debian-root.sh make DEST [PACKAGE...]"
    shift
    [ "$(id -u)" -eq 0 ] || die "making a root needs root"
    if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then die "$dest is not empty"; fi
    mkdir -p "$cache/debian-root" "$debs/partial" "$dest"
    k=$(key "$@")
    tar=$cache/debian-root/$k.tar
    # one bootstrap per key, even with two tests starting at once
    exec 9>"$tar.lock"
    flock 9
    if [ -s "$tar" ]; then
        say "debian root $k from the cache"
    else
        bootstrap "$tar" "$@"
    fi
    exec 9>&-
    tar -C "$dest" --numeric-owner -xpf "$tar"
}

case ${1:-} in
make) shift; make_root "$@" ;;
debs) mkdir -p "$debs/partial"; echo "$debs" ;;
key) shift; key "$@" ;;
*) usage "debian-root.sh make DEST [PACKAGE...] | debs | key [PACKAGE...]" ;;
esac
