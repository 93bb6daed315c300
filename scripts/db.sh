#!/usr/bin/env bash
# A private MariaDB for the local stack, kept in one state folder.
#
#   db.sh start STATE   create (first time) and start the server
#   db.sh load STATE    load sql/, create the app user, write the config
#   db.sh stop STATE    stop the server
#   db.sh sql STATE     run SQL from stdin as the database admin
#
# The server listens only on STATE/mysql.sock (and on 127.0.0.1:$DB_PORT
# when DB_PORT is set).  With DB_TLS_DIR holding ca.pem, server-cert.pem
# and server-key.pem it also speaks TLS.  Nothing here touches a system
# service.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then usage "db.sh start|load|stop|sql STATE"; fi
mkdir -p "$state"
state=$(cd "$state" && pwd)
top=$(cd "$here/.." && pwd)
datadir=$state/db
sock=$state/mysql.sock
pidfile=$state/mariadb.pid
cnf=$state/fcgi-app.cnf
DB_NAME=${DB_NAME:-fcgi_app}

admin() {
    mariadb --no-defaults --socket="$sock" --user="$DB_ADMIN" \
        --default-character-set=utf8mb4 "$@"
}

start() {
    if pid_alive "$pidfile"; then
        say "database already running (socket $sock)"
        return 0
    fi
    # the state folder holds sockets that other local users must reach
    chmod 0711 "$state"
    if [ ! -d "$datadir/mysql" ]; then
        say "creating a private database in $datadir"
        rm -rf "$datadir"
        mkdir -p "$datadir"
        chmod 0700 "$datadir"
        mariadb-install-db --no-defaults --datadir="$datadir" \
            --user="$(id -un)" --auth-root-authentication-method=socket \
            --skip-test-db --skip-name-resolve --force >"$state/mariadb-install.log" 2>&1 ||
            die "mariadb-install-db failed; see $state/mariadb-install.log"
    fi
    local net=(--skip-networking)
    if [ -n "${DB_PORT:-}" ]; then
        net=(--port="$DB_PORT" --bind-address=127.0.0.1)
    fi
    if [ -n "${DB_TLS_DIR:-}" ]; then
        net+=(--ssl-ca="$DB_TLS_DIR/ca.pem" --ssl-cert="$DB_TLS_DIR/server-cert.pem"
            --ssl-key="$DB_TLS_DIR/server-key.pem")
    fi
    setsid mariadbd --no-defaults --datadir="$datadir" --socket="$sock" \
        --pid-file="$pidfile" --user="$(id -un)" "${net[@]}" --skip-name-resolve \
        --log-error="$state/mariadb.err" \
        --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci \
        --innodb-buffer-pool-size=64M --max-connections=200 \
        </dev/null >/dev/null 2>&1 &
    wait_for 60 admin -e 'SELECT 1' ||
        die "database did not start; see $state/mariadb.err"
    say "database running (socket $sock${DB_PORT:+, port $DB_PORT})"
}

# A fresh random password for the app user, written only to the config.
new_password() {
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | head -c 24
}

load() {
    local pw
    admin -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`
              CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    admin "$DB_NAME" <"$top/sql/schema.sql"
    admin "$DB_NAME" <"$top/sql/data.sql"
    if [ -s "$cnf" ]; then
        pw=$(sed -n 's/^password *= *//p' "$cnf")
    else
        pw=$(new_password)
    fi
    # the password goes through stdin, never through argv
    { printf "SET @app_password = '%s';\n" "$pw"
      cat "$top/sql/grants.sql"; } | admin "$DB_NAME"
    umask 077
    cat >"$cnf.tmp" <<CNF
# Written by scripts/db.sh for the local stack.
[client]
socket = $sock
user = fcgi_app
password = $pw
database = $DB_NAME

[fcgi-app]
table = demo
workers = ${WORKERS:-4}
imds = off
CNF
    if [ "$(id -u)" -eq 0 ]; then
        chown "$RUN_USER:$RUN_GROUP" "$cnf.tmp"
    fi
    mv "$cnf.tmp" "$cnf"
    say "loaded sql/ into database $DB_NAME; config in $cnf"
}

stop() {
    stop_pid "$pidfile" 60
    say "database stopped"
}

case $cmd in
start) start ;;
load) load ;;
stop) stop ;;
sql) admin "$DB_NAME" ;;
*) die "unknown command: $cmd" ;;
esac
