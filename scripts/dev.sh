#!/usr/bin/env bash
# make dev / make dev-stop: the whole service on this machine, with its
# own database, in .dev/ of the checkout.  Running either twice is safe.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
state=${DEV_STATE:-$top/.dev}
port=${DEV_PORT:-8080}

case ${1:-} in
start)
    "$here/db.sh" start "$state"
    "$here/db.sh" load "$state"
    "$here/web.sh" start "$state" "$port"
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
