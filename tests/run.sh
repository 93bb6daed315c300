#!/usr/bin/env bash
# make test: every suite, plain and under AddressSanitizer + UBSan.
# Each suite runs even if an earlier one failed; the last line is the
# total, "N passed, N failed", and the exit status is 0 only if all pass.
# It runs below a child subreaper (tests/lib/subreaper.py), so that
# whatever a suite leaves running stays below it; the last check finds
# such processes, stops them and fails.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if [ -z "${FCGI_APP_SUBREAPER:-}" ]; then
    exec python3 tests/lib/subreaper.py tests/run.sh "$@"
fi
# shellcheck source=tests/tally.sh
. tests/tally.sh

banner() { printf '\n=== %s ===\n' "$*"; }

# A Check runner: its summary line gives the counts.
run_check() {
    local name=$1 bin=$2 out n f e
    banner "$name"
    out=$("$bin" 2>&1)
    printf '%s\n' "$out"
    if [[ $out =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
        n=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} e=${BASH_REMATCH[3]}
        tally "$name" $((n - f - e)) $((f + e))
    else
        tally "$name" 0 1
    fi
}

# A runner whose last line is "N passed, N failed".
run_counted() {
    local name=$1 out
    shift
    banner "$name"
    out=$("$@" 2>&1)
    printf '%s\n' "$out"
    if [[ $(tail -n 1 <<<"$out") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        tally "$name" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    else
        tally "$name" 0 1
    fi
}

banner "build (plain and sanitized)"
if make -s all build/unit-tests build/unit-fake &&
    make -s BUILD=build/asan SANITIZE=1 all build/asan/unit-tests build/asan/unit-fake; then
    tally build 1 0
else
    tally build 0 1
fi

banner "make install (DESTDIR, PREFIX)"
dest=$(mktemp -d)
if make -s install DESTDIR="$dest" PREFIX=/opt/fa >/dev/null &&
    [ -x "$dest/opt/fa/sbin/fcgi-app" ] &&
    [ -f "$dest/opt/fa/share/fcgi-app/sql/grants.sql" ] &&
    [ -f "$dest/opt/fa/share/fcgi-app/nginx-site.conf" ] &&
    [ -f "$dest/opt/fa/share/man/man8/fcgi-app.8" ] &&
    "$dest/opt/fa/sbin/fcgi-app" -t -c "$dest/opt/fa/share/fcgi-app/fcgi-app.cnf.example" 2>/dev/null; then
    tally install 1 0
else
    echo "make install did not put the files under DESTDIR/PREFIX"
    tally install 0 1
fi
rm -rf "$dest"

run_counted "docs (links, named files, make targets, man page)" \
    python3 tests/pyrun.py tests/docs/test_docs.py
run_counted "packer-check" packer/check.sh
run_counted "stack-check (CloudFormation, offline)" stack/check.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_check "unit" build/unit-tests
run_check "unit (ASan+UBSan)" build/asan/unit-tests
run_check "unit over the fake database" build/unit-fake
run_check "unit over the fake database (ASan+UBSan)" build/asan/unit-fake
run_counted "fuzz (libFuzzer, ASan+UBSan)" tests/fuzz/run.sh
run_counted "integration" python3 tests/pyrun.py tests/integration/test_service.py
FCGI_APP_BIN=$top/build/asan/fcgi-app \
    run_counted "integration (ASan+UBSan)" python3 tests/pyrun.py tests/integration/test_service.py
run_counted "the serving core (idle and stalled connections, busy pool, dropped connects)" \
    python3 tests/pyrun.py tests/integration/test_core.py
FCGI_APP_BIN=$top/build/asan/fcgi-app \
    run_counted "the serving core (ASan+UBSan)" python3 tests/pyrun.py tests/integration/test_core.py
run_counted "the page tells the truth" /usr/bin/python3 tests/pyrun.py tests/integration/test_truth.py
FCGI_APP_BIN=$top/build/asan/fcgi-app \
    run_counted "the page tells the truth (ASan+UBSan)" \
    /usr/bin/python3 tests/pyrun.py tests/integration/test_truth.py
run_counted "the page in a browser (Chromium, axe-core)" tests/browser/run.sh
run_counted "behind Apache, lighttpd, Caddy, h2o and nginx (interop)" \
    python3 tests/pyrun.py tests/interop/test_interop.py tests/interop/test_fastcgi.py
run_counted "TLS to the database (own CA)" python3 tests/pyrun.py tests/integration/test_tls.py
FCGI_APP_TEST_DB=mysql84 \
    run_counted "integration through the MySQL 8.4 stand-in (TLS)" \
    python3 tests/pyrun.py tests/integration/test_service.py
run_counted "MySQL 8.4's authentication (stand-in, TLS)" \
    python3 tests/pyrun.py tests/integration/test_mysql84.py
FCGI_APP_BIN=$top/build/asan/fcgi-app \
    run_counted "MySQL 8.4's authentication (stand-in, TLS, ASan+UBSan)" \
    python3 tests/pyrun.py tests/integration/test_mysql84.py

run_counted "bad input through nginx" python3 tests/pyrun.py tests/badinput/test_bad_input.py
FCGI_APP_BIN=$top/build/asan/fcgi-app \
    run_counted "bad input through nginx (ASan+UBSan)" \
    python3 tests/pyrun.py tests/badinput/test_bad_input.py
run_counted "cluster (network namespaces)" \
    env CLUSTER_MODE=netns python3 tests/pyrun.py tests/cluster/test_cluster.py
run_counted "cluster (loopback addresses)" \
    env CLUSTER_MODE=loopback python3 tests/pyrun.py tests/cluster/test_cluster.py
run_counted "faults under load (make test-faults)" \
    python3 tests/pyrun.py tests/faults/test_faults.py
run_counted "load held: 1,000 connections through nginx" \
    python3 tests/pyrun.py tests/load/test_load_held.py
run_counted "bench smoke (make bench --quick)" \
    python3 tests/pyrun.py tests/bench/test_bench_smoke.py
run_counted "newcomer: make dev in a fresh Debian root" \
    python3 tests/pyrun.py tests/newcomer/test_newcomer.py
run_counted "gzip bench smoke (bench/compress.py --quick)" \
    python3 tests/pyrun.py tests/bench/test_compress_smoke.py
run_counted "rollout under load (make cluster-rollout)" \
    python3 tests/pyrun.py tests/cluster/test_rollout.py
run_counted "image rehearsal (debootstrap + provision.sh)" \
    python3 tests/pyrun.py tests/image/test_image.py
run_counted "image boot (make image-test: packer build, qemu, cloud-init, systemd)" \
    python3 tests/pyrun.py tests/image/test_boot.py

banner "nothing left running"
tally_run "nothing the suites started is left running" \
    python3 tests/lib/subreaper.py --leftovers

banner "summary"
tally_table
tally_end
