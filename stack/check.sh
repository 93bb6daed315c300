#!/usr/bin/env bash
# make stack-check: the CloudFormation templates, checked offline against
# CloudFormation's published resource specification, and by the
# project's rules (stack/rules.py).  The specification
# comes from the npm registry, pinned by stack/spec/package-lock.json.
# Prints "N passed, N failed" last.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
spec=$top/stack/spec/node_modules/@aws-cdk/cfnspec/spec/specification.json
if [ ! -s "$spec" ] || [ "$top/stack/spec/package-lock.json" -nt "$spec" ]; then
    npm ci --prefix "$top/stack/spec" --ignore-scripts --no-audit --no-fund \
        --loglevel=error >/dev/null
    touch "$spec"
fi
export CFN_SPEC=$spec
# Debian's python3, which has PyYAML (python3-yaml)
exec /usr/bin/python3 "$top/tests/pyrun.py" "$top/tests/stack/test_stack.py"
