#!/usr/bin/env bash
# make cluster / make cluster-stop: the shape of the AWS stack on one
# machine.  One MariaDB stands in for RDS; two instances, "AZ a" and "AZ
# c", each run their own nginx, spawn-fcgi and fcgi-app, with an IMDSv2
# stand-in that gives each its own instance id and zone; HAProxy stands
# in for the ALB, with the target group's health check.
#
# As root, each instance lives in a network namespace of its own, reached
# over a veth pair; otherwise the instances listen on two loopback
# addresses (CLUSTER_MODE=netns or loopback chooses).  State lives in
# .cluster/ (CLUSTER_STATE); the balancer
# listens on 127.0.0.1:8088 (CLUSTER_PORT).  Running either twice is safe.
#
#   cluster.sh start | stop
#   cluster.sh instance-start NAME BINARY [CNF]   one more instance, named
#                  for its zone (a1, c2, ...); prints the address the
#                  balancer reaches it at.  CNF: a config in place of the
#                  database's (scripts/rollout.py uses both)
#   cluster.sh instance-stop NAME
#   cluster.sh target-group    the target group's values, as NAME=value
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
top=$(cd "$here/.." && pwd)
state=${CLUSTER_STATE:-$top/.cluster}
port=${CLUSTER_PORT:-8088}
zones=(a c)
imds_port=1338
# the target group's health check (read_target_group)
CHECK_PATH='' CHECK_STATUS='' CHECK_INTERVAL=0 CHECK_TIMEOUT=0 HEALTHY=0 UNHEALTHY=0

mkdir -p "$state"
state=$(cd "$state" && pwd)
id=$(printf '%s' "$state" | md5sum | cut -c1-6)
octet=$((16#${id:0:2} % 200 + 20))

mode() {
    if [ -s "$state/mode" ]; then
        cat "$state/mode"
    elif [ -n "${CLUSTER_MODE:-}" ]; then
        echo "$CLUSTER_MODE"
    elif [ "$(id -u)" -eq 0 ] && ip netns list >/dev/null 2>&1; then
        echo netns
    else
        echo loopback
    fi
}

ns_name() { echo "fcgiapp-$id-$1"; }

# The address HAProxy reaches instance number $1 (0-61) at.
target_addr() {
    if [ "$(mode)" = netns ]; then
        echo "10.231.$octet.$(($1 * 4 + 2))"
    else
        echo "127.0.$octet.$(($1 + 1))"
    fi
}

# The cluster's "VPC": every address the balancer reaches the instances
# from, the only ones whose X-Forwarded-For nginx believes.  On loopback,
# HAProxy connects from the .254 address of it (balancer_source).
vpc_cidr() {
    if [ "$(mode)" = netns ]; then
        echo "10.231.$octet.0/24"
    else
        echo "127.0.$octet.0/24"
    fi
}

balancer_source() {
    [ "$(mode)" = netns ] || echo "    source 127.0.$octet.254"
}

# The instance id of instance NAME: i-0cluster0000000a for "a".
instance_id() {
    local pad=00000000
    echo "i-0cluster${pad:${#1}}$1"
}

# in_instance Z CMD...: run CMD where instance Z lives.
in_instance() {
    local z=$1
    shift
    if [ "$(mode)" = netns ]; then
        ip netns exec "$(ns_name "$z")" "$@"
    else
        "$@"
    fi
}

net_up() {
    local i=$1 z=$2 ns host_if
    ns=$(ns_name "$z")
    host_if=fa$id$z
    [ "$(mode)" = netns ] || return 0
    ip netns list | grep -qw "$ns" || ip netns add "$ns"
    if ! ip link show "$host_if" >/dev/null 2>&1; then
        ip link add "$host_if" type veth peer name eth0 netns "$ns"
        ip addr add "10.231.$octet.$((i * 4 + 1))/30" dev "$host_if"
        ip link set "$host_if" up
        ip netns exec "$ns" ip addr add "10.231.$octet.$((i * 4 + 2))/30" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        ip netns exec "$ns" ip link set lo up
    fi
}

net_down() {
    local z=$1
    [ "$(mode)" = netns ] || return 0
    ip link del "fa$id$z" 2>/dev/null || true
    ip netns del "$(ns_name "$z")" 2>/dev/null || true
}

# start_instance INDEX NAME [BINARY [CNF]]: instance NAME (its zone is
# the first letter) at address number INDEX.
start_instance() {
    local i=$1 z=$2 bin=${3:-${FCGI_APP_BIN:-$top/build/fcgi-app}} cnf=${4:-$state/db/fcgi-app.cnf}
    local inst=$state/$2 addr listen web_port imds_host zone=${2:0:1}
    addr=$(target_addr "$i")
    mkdir -p "$inst/nginx.d"
    chmod 0711 "$inst"
    echo "$i" >"$inst/index"
    net_up "$i" "$z"
    if [ "$(mode)" = netns ]; then
        listen=0.0.0.0 web_port=80 imds_host=127.0.0.1
    else
        listen=$addr web_port=8080 imds_host=$addr
    fi
    printf '# the balancer'"'"'s addresses: the cluster'"'"'s "VPC"\nset_real_ip_from %s;\n' \
        "$(vpc_cidr)" >"$inst/nginx.d/real-ip.conf"
    # the database's config, with this instance's metadata service
    cp -p "$cnf" "$inst/fcgi-app.cnf"
    printf 'workers = 2\nimds = on\nimds-host = %s\nimds-port = %d\ndrain-seconds = %d\n' \
        "$imds_host" "$imds_port" "$(drain_seconds)" >>"$inst/fcgi-app.cnf"
    if ! pid_alive "$inst/imds.pid"; then
        # a simple command, not in_instance: a function sent to the
        # background runs in a subshell of its own, so $! would be that
        # shell's pid and stopping it would leave the stand-in running
        local imds=(setsid python3 "$top/tests/lib/imds.py" "$imds_host" "$imds_port"
            "$(instance_id "$z")" "ap-northeast-2$zone")
        [ "$(mode)" != netns ] || imds=(ip netns exec "$(ns_name "$z")" "${imds[@]}")
        "${imds[@]}" >"$inst/imds.log" 2>&1 &
        echo $! >"$inst/imds.pid"
        wait_for 10 grep -q "imds stand-in" "$inst/imds.log" ||
            die "the IMDS stand-in of AZ $z did not start; see $inst/imds.log"
    fi
    if ! in_instance "$z" env LISTEN_ADDR="$listen" "$here/web.sh" start "$inst" "$web_port" \
        "$bin" >/dev/null; then
        stop_instance "$z"
        die "instance $z did not start"
    fi
    echo "$addr:$web_port"
}

stop_instance() {
    local z=$1
    if [ -d "$state/$z" ]; then
        "$here/web.sh" stop "$state/$z" >/dev/null
        stop_pid "$state/$z/imds.pid"
    fi
    net_down "$z"
}

# The instances that have a folder: the first two and any a rollout added.
instances() {
    local d
    for d in "$state"/*/index; do
        [ -e "$d" ] || continue
        d=${d%/index}
        echo "${d##*/}"
    done
}

# The target group's health check, from the template: CHECK_PATH, ...
read_target_group() {
    local vars
    vars=$(/usr/bin/python3 "$top/stack/target_group.py") || die "cannot read the target group"
    eval "$vars"
}

# How long a stopping instance keeps serving while its health check
# fails: long enough for the balancer to see UNHEALTHY failed checks,
# the first of which may come one interval late.
drain_seconds() {
    echo $(((UNHEALTHY + 1) * CHECK_INTERVAL))
}

write_haproxy_conf() {
    local servers=$1
    sed -e "s|@STATE@|$state|g" -e "s|@BIND@|127.0.0.1:$port|" \
        -e "s|@CHECK_PATH@|$CHECK_PATH|" -e "s|@CHECK_STATUS@|$CHECK_STATUS|" \
        -e "s|@CHECK_INTERVAL@|$CHECK_INTERVAL|" -e "s|@CHECK_TIMEOUT@|$CHECK_TIMEOUT|" \
        -e "s|@HEALTHY@|$HEALTHY|" -e "s|@UNHEALTHY@|$UNHEALTHY|" \
        -e "s|@SOURCE@|$(balancer_source)|" \
        -e "/@SERVERS@/{r $servers" -e 'd}' \
        "$top/stack/haproxy.cfg.in" >"$state/haproxy.cfg"
}

start() {
    chmod 0711 "$state"
    mode >"$state/mode"
    "$here/db.sh" start "$state/db" >/dev/null
    "$here/db.sh" load "$state/db" >/dev/null
    local i servers=$state/servers.cfg
    read_target_group
    : >"$servers"
    for i in 0 1; do
        printf '    server %s %s check\n' "${zones[i]}" "$(start_instance "$i" "${zones[i]}")" >>"$servers"
    done
    echo 2 >"$state/next-index"
    if ! pid_alive "$state/haproxy.pid"; then
        write_haproxy_conf "$servers"
        haproxy -q -c -f "$state/haproxy.cfg" || die "haproxy config check failed"
        haproxy -f "$state/haproxy.cfg" || die "haproxy did not start"
    fi
    wait_for 20 curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz" ||
        die "no answer through the balancer on 127.0.0.1:$port"
    cat <<MSG

  cluster ($(mode)): HAProxy on http://127.0.0.1:$port/ in front of
$(sed 's/^ *server /    AZ /; s/ check$//' "$servers")
  see both serve:  for i in 1 2 3 4; do curl -s 'http://127.0.0.1:$port/?format=json' | grep -o '"instance_id":"[^"]*"'; done
  stop it with:    make cluster-stop
MSG
}

stop() {
    local z
    stop_pid "$state/haproxy.pid"
    for z in $( (printf '%s\n' "${zones[@]}"; instances) | sort -u); do
        stop_instance "$z"
    done
    if [ -d "$state/db" ]; then
        "$here/db.sh" stop "$state/db" >/dev/null
    fi
    rm -f "$state/mode"
    say "cluster stopped"
}

# instance-start NAME BINARY [CNF]: the next free address number.
add_instance() {
    local name=${1:-} bin=${2:-} cnf=${3:-} i
    [[ $name =~ ^[ac][0-9]{1,5}$ ]] || die "instance names are a zone and a number: a1, c2"
    [ -x "$bin" ] || die "$bin is not a program"
    [ -s "$state/mode" ] || die "the cluster is not running (make cluster)"
    [ ! -e "$state/$name/index" ] || die "instance $name exists"
    read_target_group
    i=$(cat "$state/next-index")
    [ "$i" -le 61 ] || die "no addresses left"
    echo $((i + 1)) >"$state/next-index"
    start_instance "$i" "$name" "$bin" "$cnf"
}

case ${1:-} in
start) start ;;
stop) stop ;;
instance-start) add_instance "${2:-}" "${3:-}" "${4:-}" ;;
instance-stop)
    if [ -z "${2:-}" ] || [ ! -e "$state/${2:-}/index" ]; then die "no instance ${2:-}"; fi
    stop_instance "$2"
    say "instance $2 stopped"
    ;;
target-group) /usr/bin/python3 "$top/stack/target_group.py" ;;
*) usage "cluster.sh start|stop|instance-start NAME BINARY [CNF]|instance-stop NAME|target-group" ;;
esac
