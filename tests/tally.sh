# The pass/fail counter of the test runners (tests/run.sh,
# tests/fuzz/run.sh, packer/check.sh).  Sourced, not run.
# shellcheck shell=bash

tally_names=() tally_passed=() tally_failed=()

# tally NAME PASSED FAILED: adds a result
tally() {
    tally_names+=("$1")
    tally_passed+=("$2")
    tally_failed+=("$3")
}

# tally_run NAME CMD...: runs CMD, one pass or one failure, said in a line
tally_run() {
    local name=$1
    shift
    if "$@"; then
        tally "$name" 1 0
        echo "ok      $name"
    else
        tally "$name" 0 1
        echo "FAILED  $name"
    fi
}

# tally_table: a line per result
tally_table() {
    local i
    for i in "${!tally_names[@]}"; do
        printf '%-44s %4d passed, %d failed\n' "${tally_names[i]}" \
            "${tally_passed[i]}" "${tally_failed[i]}"
    done
}

# tally_end: the total, "N passed, N failed", as the runner's last line;
# returns 0 only if nothing failed
tally_end() {
    local i p=0 f=0
    for i in "${!tally_names[@]}"; do
        p=$((p + tally_passed[i]))
        f=$((f + tally_failed[i]))
    done
    echo "$p passed, $f failed"
    [ "$f" -eq 0 ]
}
