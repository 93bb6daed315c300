#!/usr/bin/env bash
# make stack-check: the CloudFormation templates, checked offline against
# CloudFormation's published resource specification, and by the
# project's rules (stack/rules.py), and the database connection budget
# (stack/budget.py, stack/rds.json).  The specification
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
# the database connection budget, its arithmetic shown (the tests hold it)
/usr/bin/python3 "$top/stack/budget.py" || true
# Debian's python3, which has PyYAML (python3-yaml)
exec /usr/bin/python3 "$top/tests/pyrun.py" "$top/tests/stack/test_stack.py"
