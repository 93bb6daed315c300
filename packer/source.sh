#!/usr/bin/env bash
# source.sh OUT [worktree|HEAD]: the source tarball the image is built
# from, as the template's file provisioner uploads it.
#   worktree  (make image) the tracked files as they are in the work tree,
#             uncommitted changes included; named `git describe --always
#             --dirty`
#   HEAD      (make ami) the last commit only; named `git describe --always`
# The name goes into the tarball as a file BUILD_ID at its top.  The tree
# there has no .git, so make reads the build id from that file, and the
# image's pages say in X-Fcgi-App-Build which commit they came from.
# Prints the build id.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-}
from=${2:-worktree}
usage() { echo "usage: source.sh OUT [worktree|HEAD]" >&2; exit 2; }
[ -n "$out" ] || usage
case $out in
    /*) ;;
    *) out=$PWD/$out ;;
esac
case $from in
    worktree)
        tree=$(git -C "$top" stash create)
        tree=${tree:-HEAD}
        id=$(git -C "$top" describe --always --dirty)
        ;;
    HEAD)
        tree=HEAD
        id=$(git -C "$top" describe --always HEAD)
        ;;
    *) usage ;;
esac
[[ $id =~ ^[A-Za-z0-9._+-]{1,64}$ ]] ||
    { echo "source.sh: '$id' cannot be a build id (1-64 of A-Z a-z 0-9 . _ + -)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$id" >"$tmp/BUILD_ID"
git -C "$top" archive --format=tar.gz --add-file="$tmp/BUILD_ID" -o "$out" "$tree"
printf '%s\n' "$id"
