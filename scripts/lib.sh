# Helpers shared by the local-stack scripts.  Sourced, not run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables below are for the sourcing scripts

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }
# usage TEXT: a command line that makes no sense; exit status 2
usage() { printf 'usage: %s\n' "$*" >&2; exit 2; }

# pid_alive FILE: the process named in FILE is running.
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1") || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# stop_pid FILE [SECONDS [SIGNAL]]: signal the process in FILE (SIGTERM
# by default), wait for it to go.
stop_pid() {
    local file=$1 secs=${2:-20} sig=${3:-TERM} pid i
    pid_alive "$file" || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }
        sleep 0.1
    done
    die "process $pid ($file) did not stop within ${secs}s"
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds, for
# at most SECONDS however long each try takes.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# The unprivileged account the workers and nginx run as when started by
# root; otherwise everything runs as the invoking user.
if [ "$(id -u)" -eq 0 ]; then
    RUN_USER=nobody
    RUN_GROUP=nogroup
else
    RUN_USER=$(id -un)
    RUN_GROUP=$(id -gn)
fi

# The admin account of a private database: the invoking OS user, through
# unix-socket authentication, so it has no password at all.
DB_ADMIN=$(id -un)
