#!/usr/bin/env bash
# The instance part of the local stack: fcgi-app under spawn-fcgi, and
# nginx with the production site from nginx/fcgi-app.conf.
#
#   web.sh start STATE PORT [BINARY]   start both (BINARY: build/fcgi-app)
#   web.sh static STATE PORT FILE      nginx alone, serving FILE at /
#   web.sh site STATE PORT SITE        nginx alone, with SITE as its site
#                                      (make bench's peers)
#   web.sh stop STATE                  stop what runs
#
# STATE/fcgi-app.cnf must exist (db.sh load writes it).  nginx listens on
# $LISTEN_ADDR:PORT (default 127.0.0.1); the FastCGI socket is
# STATE/fcgi-app.sock.  start waits for $HEALTH_PATH (default /healthz;
# MOUNT/healthz for a program mounted below a prefix).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

cmd=${1:-}
state=${2:-}
if [ -z "$cmd" ] || [ -z "$state" ]; then usage "web.sh start STATE PORT [BINARY] | static STATE PORT FILE | stop STATE"; fi
mkdir -p "$state"
state=$(cd "$state" && pwd)
top=$(cd "$here/.." && pwd)
listen=${LISTEN_ADDR:-127.0.0.1}
cnf=$state/fcgi-app.cnf
sock=$state/fcgi-app.sock
app_pid=$state/fcgi-app.pid
nginx_pid=$state/nginx.pid
nginx_conf=$state/nginx.conf

# The site for the app: the production site with only the listen
# address, the socket path, the access log and the folder of real-IP
# settings (STATE/nginx.d/, which the caller may fill) replaced.
write_app_site() {
    local port=$1 site=$top/nginx/fcgi-app.conf
    if ! grep -q '^    listen 80 default_server[ ;]' "$site" ||
        ! grep -q 'unix:/run/fcgi-app/fcgi-app.sock;' "$site" ||
        ! grep -q 'access_log /var/log/nginx/fcgi-app.access.log ' "$site" ||
        ! grep -q 'include /etc/nginx/fcgi-app.d/\*.conf;' "$site"; then
        die "$site no longer has the lines this script replaces"
    fi
    sed -e "s|^    listen 80 default_server|    listen $listen:$port|" \
        -e "s|unix:/run/fcgi-app/fcgi-app.sock;|unix:$sock;|" \
        -e "s|access_log /var/log/nginx/fcgi-app.access.log |access_log $state/nginx-access.log |" \
        -e "s|include /etc/nginx/fcgi-app.d/|include $state/nginx.d/|" \
        "$site" >"$state/nginx-site.conf"
}

# Starts nginx with STATE/nginx-site.conf inside the private nginx.conf
# made from nginx/local.conf.in.
start_nginx() {
    local user_line=""
    if [ "$(id -u)" -eq 0 ]; then
        user_line="user $RUN_USER $RUN_GROUP;"
    fi
    # the AMI's 32768 descriptors, or as many as this shell may have
    local nofile
    nofile=$(ulimit -Hn)
    if [ "$nofile" = unlimited ] || [ "$nofile" -gt 32768 ]; then nofile=32768; fi
    sed -e "s|@STATE@|$state|g" -e "s|@USER_LINE@|$user_line|" -e "s|@NOFILE@|$nofile|" \
        "$top/nginx/local.conf.in" >"$nginx_conf"
    # the site includes fastcgi_params relative to the config folder
    ln -sf /etc/nginx/fastcgi_params "$state/fastcgi_params"
    mkdir -p "$state/nginx-tmp"
    nginx -q -t -c "$nginx_conf" -e "$state/nginx-error.log" ||
        die "nginx config test failed"
    nginx -c "$nginx_conf" -e "$state/nginx-error.log" ||
        die "nginx failed to start; see $state/nginx-error.log"
}

start() {
    local port=${1:-} bin=${2:-$top/build/fcgi-app} asuser=()
    [ -n "$port" ] || usage "web.sh start STATE PORT [BINARY]"
    [ -x "$bin" ] || die "$bin is not built (run make)"
    [ -s "$cnf" ] || die "$cnf is missing (run scripts/db.sh load first)"
    if [ "$(id -u)" -eq 0 ]; then
        asuser=(-u "$RUN_USER" -g "$RUN_GROUP" -U "$RUN_USER" -G "$RUN_GROUP")
        runuser -u "$RUN_USER" -- test -r "$cnf" ||
            die "$RUN_USER cannot read $cnf: every folder above it must be searchable (chmod o+x)"
        runuser -u "$RUN_USER" -- test -x "$bin" ||
            die "$RUN_USER cannot run $bin: every folder above it must be searchable (chmod o+x)"
    fi
    "$bin" -t -c "$cnf" >/dev/null
    if pid_alive "$app_pid"; then
        say "fcgi-app already running (pid $(cat "$app_pid"))"
    else
        rm -f "$sock"
        # -n: spawn-fcgi binds the socket and execs the program, as the
        # systemd unit does, so the pid is the supervisor's and its log
        # lines reach the log file
        # -b: the listen backlog, as in the unit (fcgi-app.service says
        # how it was chosen).  The descriptors: the unit's LimitNOFILE,
        # 16384, or this shell's hard limit if lower, for the program
        # only; the shell's own soft limit (often 1024) would cap each
        # worker near 1,000 connections, short of `connections`.
        local nofile
        nofile=$(ulimit -Hn)
        if [ "$nofile" = unlimited ] || [ "$nofile" -gt 16384 ]; then nofile=16384; fi
        (
            ulimit -Sn "$nofile"
            exec setsid spawn-fcgi -n -s "$sock" -b 4096 -M 0660 "${asuser[@]}" \
                -- "$bin" -c "$cnf"
        ) </dev/null >>"$state/fcgi-app.log" 2>&1 &
        echo $! >"$app_pid"
    fi
    if pid_alive "$nginx_pid"; then
        say "nginx already running (pid $(cat "$nginx_pid"))"
    else
        write_app_site "$port"
        start_nginx
    fi
    local addr=$listen
    [ "$addr" != 0.0.0.0 ] || addr=127.0.0.1
    local health=${HEALTH_PATH:-/healthz}
    if ! wait_for 20 curl -fsS --max-time 2 -o /dev/null "http://$addr:$port$health"; then
        stop >/dev/null # a failed start leaves nothing running
        die "no answer on http://$addr:$port$health; see $state/*.log"
    fi
    say "serving on http://$addr:$port/"
}

# The same nginx serving FILE's exact bytes at / (the benchmark's yardstick),
# with the production site's connection settings.
static() {
    local port=${1:-} file=${2:-}
    if [ -z "$port" ] || [ ! -s "$file" ]; then
        usage "web.sh static STATE PORT FILE"
    fi
    mkdir -p "$state/www"
    chmod 0755 "$state/www"
    install -m 0644 "$file" "$state/www/page.html"
    cat >"$state/nginx-site.conf" <<SITE
server {
    listen $listen:$port backlog=4096;
    server_tokens off;
    keepalive_timeout 75s;
    keepalive_requests 10000;
    location = / {
        root $state/www;
        try_files /page.html =404;
        default_type text/html;
    }
}
SITE
    start_nginx
    if ! wait_for 20 curl -fsS --max-time 2 -o /dev/null "http://$listen:$port/"; then
        stop_pid "$nginx_pid"
        die "no answer on http://$listen:$port/; see $state/nginx-error.log"
    fi
}

# nginx with the local stack's nginx.conf around SITE, a site of its own
# in which @LISTEN@ stands for the address and port.
site() {
    local port=${1:-} file=${2:-}
    if [ -z "$port" ] || [ ! -s "$file" ]; then
        usage "web.sh site STATE PORT SITE"
    fi
    sed -e "s|@LISTEN@|$listen:$port|g" "$file" >"$state/nginx-site.conf"
    start_nginx
}

stop() {
    stop_pid "$nginx_pid"
    # SIGINT: stop without the drain (drain-seconds) that SIGTERM starts,
    # since nginx, which the balancer checks through, is already gone
    stop_pid "$app_pid" 20 INT
    rm -f "$sock"
    say "fcgi-app and nginx stopped"
}

case $cmd in
start) shift 2; start "$@" ;;
static) shift 2; static "$@" ;;
site) shift 2; site "$@" ;;
stop) stop ;;
*) die "unknown command: $cmd" ;;
esac
