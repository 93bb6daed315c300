#!/usr/bin/env bash
# The browser test (tests/browser/test_browser.py): installs axe-core from
# the npm registry, pinned by tests/browser/package-lock.json, then runs
# the test under Debian's python3, which has selenium.  Chromium,
# chromedriver and the fonts come from scripts/deps.sh.
# Prints "N passed, N failed" last.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
axe=$here/node_modules/axe-core/axe.min.js
if [ ! -s "$axe" ] || [ "$here/package-lock.json" -nt "$axe" ]; then
    npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund \
        --loglevel=error >/dev/null
    touch "$axe"
fi
exec /usr/bin/python3 "$top/tests/pyrun.py" "$here/test_browser.py"
