#!/usr/bin/env bash
# stage.sh OUT: the Packer folder for current Packer (>= 1.7): the main
# template with IMDSv2 required on the build instance, required_plugins,
# and the provisioning scripts.  Debian 12's Packer 1.6.6 builds straight
# from packer/fcgi-app.pkr.hcl instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-}
[ -n "$out" ] || { echo "usage: stage.sh OUT" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"
grep -q '^  # @metadata_options@' "$here/fcgi-app.pkr.hcl" ||
    { echo "stage.sh: the @metadata_options@ marker is missing" >&2; exit 1; }
sed -e "/^  # @metadata_options@/{r $here/imdsv2.hcl" -e 'd}' \
    "$here/fcgi-app.pkr.hcl" >"$out/fcgi-app.pkr.hcl"
cp "$here/plugins.pkr.hcl" "$here/provision.sh" "$here/cloudwatch-agent.sh" "$out/"
