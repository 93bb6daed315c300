#!/usr/bin/env bash
# make dev / make dev-stop: the whole service on this machine, with its
# own database, in .dev/ of the checkout.  Running either twice is safe.
#
# Started by root, the workers and nginx run as $RUN_USER, who must reach
# the program and its config.  When they cannot reach the checkout (a
# clone in /root, which is mode 0700), the state and a copy of the
# program go to /var/lib/fcgi-app-dev/ instead, in a folder named for the
# checkout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
port=${DEV_PORT:-8080}
bin=$top/build/fcgi-app
apart=0
if [ "$(id -u)" -eq 0 ] && ! runuser -u "$RUN_USER" -- test -x "$top/scripts"; then
    apart=1
fi
if [ -n "${DEV_STATE:-}" ]; then
    state=$DEV_STATE
elif [ "$apart" -eq 1 ]; then
    state=/var/lib/fcgi-app-dev/$(printf '%s' "$top" | sha256sum | cut -c1-16)
else
    state=$top/.dev
fi

# The program where $RUN_USER can run it: a copy in the state folder when
# the checkout is out of its reach.  The copy is replaced, never written
# over, so that a running program is not touched.
program() {
    if [ "$apart" -eq 1 ]; then
        mkdir -p "$state"
        cp "$bin" "$state/fcgi-app.new"
        chmod 0755 "$state/fcgi-app.new"
        mv -f "$state/fcgi-app.new" "$state/fcgi-app"
        bin=$state/fcgi-app
    fi
    printf '%s\n' "$bin"
}

case ${1:-} in
start)
    "$here/db.sh" start "$state"
    "$here/db.sh" load "$state"
    "$here/web.sh" start "$state" "$port" "$(program)"
    cat <<MSG

  fcgi-app is running: http://127.0.0.1:$port/
  JSON:                http://127.0.0.1:$port/?format=json
  logs:                $state/*.log
  stop it with:        make dev-stop
MSG
    ;;
stop)
    "$here/web.sh" stop "$state"
    "$here/db.sh" stop "$state"
    ;;
*)
    echo "usage: dev.sh start|stop" >&2
    exit 2
    ;;
esac
