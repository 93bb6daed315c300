#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz/, built by make under ASan+UBSan,
# each run for FUZZ_SECONDS (default 20) over a copy of its seed corpus
# in a scratch directory, so that nothing is written into the checkout.
# A crash, a sanitizer or leak report, a timeout, running out of memory
# or a failed invariant fails that harness; the input that did it is
# kept in build/fuzz/artifacts/HARNESS/.  The bound is time, not a number
# of runs: the harnesses differ a hundredfold in runs per second.
# Prints "N passed, N failed" last; exits non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
seconds=${FUZZ_SECONDS:-20}
harnesses=(fuzz_query fuzz_escape fuzz_config fuzz_page)
bin=build/fuzz
# shellcheck source=tests/tally.sh
. tests/tally.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if ! make -s -j2 "${harnesses[@]/#/$bin/}"; then
    echo "FAILED  build of the harnesses"
    tally "build of the harnesses" 0 "${#harnesses[@]}"
    tally_end
    exit 1
fi

# run_one NAME: fuzzes; prints one line for a pass, the log's end otherwise.
run_one() {
    local h=$1 dir=$work/$1 rc summary
    local args=(-max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp tests/fuzz/corpus/"$h"/* "$dir/corpus/" || return 1
    [ -f tests/fuzz/"$h".dict ] && args+=(-dict=tests/fuzz/"$h".dict)
    "$bin/$h" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1
    rc=$?
    summary=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$dir/log")
    if [ $rc -eq 0 ] && [ -n "$summary" ] && [ -z "$(find "$dir/artifacts" -type f)" ] &&
        ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' "$dir/log"; then
        echo "ok      $h: $summary, corpus $(find "$dir/corpus" -type f | wc -l) inputs"
        return 0
    fi
    tail -n 60 "$dir/log"
    mkdir -p "$bin/artifacts/$h"
    cp "$dir"/artifacts/* "$bin/artifacts/$h/" 2>/dev/null &&
        echo "        input kept in $bin/artifacts/$h/; rerun: $bin/$h FILE"
    echo "FAILED  $h (exit status $rc)"
    return 1
}

for h in "${harnesses[@]}"; do
    if run_one "$h"; then
        tally "$h" 1 0
    else
        tally "$h" 0 1
    fi
done
tally_end
