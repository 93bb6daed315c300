#!/usr/bin/env bash
# The whole architecture in AWS: network, database and web tier, each a
# stack of its own, the outputs of one given as the parameters of the
# next.  With the aws CLI, and the Session Manager plugin for db-load.
#
#   all.sh deploy    network, database (with a loader instance), sql/
#                    loaded through it, the loader removed, web tier
#   all.sh db-load   load sql/ into the database through a Session
#                    Manager port forward, and write the app user's
#                    settings and password into SSM Parameter Store
#   all.sh delete    web tier, database, network, in that order
#
# Settings, from the environment:
#   STACK_NAME       the web tier's stack, default fcgi-app; the others
#                    are STACK_NAME-network and STACK_NAME-db
#   AWS_REGION       default ap-northeast-2
#   PRIVATE_EGRESS   nat-gateway (default) or endpoints (network.yaml
#                    states what each costs)
#   DB_MULTI_AZ, DB_DELETION_PROTECTION   false by default
#   ALARM_EMAIL      an address the alarm topic mails (confirm once)
#   SSM_PATH         default /fcgi-app/
#   LOAD_VIA         the instance to forward through (default: the
#                    database stack's loader, else a web-tier instance)
#   and what stack/deploy.sh reads (AMI_ID, CERTIFICATE_ARN, ...).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
web=${STACK_NAME:-fcgi-app}
net=$web-network
db=$web-db
region=${AWS_REGION:-ap-northeast-2}
export AWS_REGION=$region
ssm_path=${SSM_PATH:-/fcgi-app/}
# the loader's image: Amazon Linux 2023, which has the SSM agent
loader_ami_parameter=/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64

say() { printf 'all.sh: %s\n' "$*"; }
die() { printf 'all.sh: %s\n' "$*" >&2; exit 1; }

# output STACK KEY
output() {
    aws cloudformation describe-stacks --stack-name "$1" \
        --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

deploy_network() {
    say "network: stack $net (private egress: ${PRIVATE_EGRESS:-nat-gateway})"
    aws cloudformation deploy --stack-name "$net" --no-fail-on-empty-changeset \
        --template-file "$top/stack/network.yaml" \
        --parameter-overrides "PrivateEgress=${PRIVATE_EGRESS:-nat-gateway}"
}

# deploy_database LOADER_AMI: with a loader instance, or none for ""
deploy_database() {
    say "database: stack $db${1:+ with a loader instance}"
    aws cloudformation deploy --stack-name "$db" --no-fail-on-empty-changeset \
        --template-file "$top/stack/database.yaml" --capabilities CAPABILITY_IAM \
        --parameter-overrides "VpcId=$(output "$net" VpcId)" \
        "PrivateSubnetIds=$(output "$net" PrivateSubnetIds)" \
        "MultiAZ=${DB_MULTI_AZ:-false}" "DeletionProtection=${DB_DELETION_PROTECTION:-false}" \
        "AlarmEmail=${ALARM_EMAIL:-}" "LoaderImageId=$1"
}

# The instance to forward through: LOAD_VIA, the loader, or a web-tier
# instance that is running.
forward_target() {
    local t=${LOAD_VIA:-}
    [ -n "$t" ] || t=$(output "$db" LoaderInstanceId)
    if [ -z "$t" ] || [ "$t" = None ]; then
        t=$(aws ec2 describe-instances --filters "Name=tag:aws:cloudformation:stack-name,Values=$web" \
            "Name=instance-state-name,Values=running" \
            --query 'Reservations[0].Instances[0].InstanceId' --output text)
    fi
    if [ -z "$t" ] || [ "$t" = None ]; then die "no instance to forward through: set LOAD_VIA"; fi
    echo "$t"
}

# free_port: a local TCP port nobody listens on
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

db_load() {
    local host port name master secret target lport tmp fwd pw i
    host=$(output "$db" DatabaseHost)
    port=$(output "$db" DatabasePort)
    name=$(output "$db" DatabaseName)
    master=$(output "$db" MasterUsername)
    secret=$(output "$db" MasterUserSecretArn)
    target=$(forward_target)
    command -v session-manager-plugin >/dev/null ||
        die "the Session Manager plugin for the aws CLI is not installed (docs/aws.md)"
    say "waiting for $target to be online in Session Manager"
    for ((i = 0; i < 60; i++)); do
        [ "$(aws ssm describe-instance-information --filters "Key=InstanceIds,Values=$target" \
            --query 'InstanceInformationList[0].PingStatus' --output text)" = Online ] && break
        sleep 10
    done
    [ "$i" -lt 60 ] || die "$target did not come online in Session Manager within 10 minutes"

    tmp=$(mktemp -d)
    chmod 0700 "$tmp"
    fwd=""
    # shellcheck disable=SC2064 # expand now: tmp is local
    trap "[ -z \"\$fwd\" ] || kill \"\$fwd\" 2>/dev/null; rm -rf '$tmp'" EXIT
    lport=$(free_port)
    say "forwarding 127.0.0.1:$lport to $host:$port through $target"
    setsid aws ssm start-session --target "$target" \
        --document-name AWS-StartPortForwardingSessionToRemoteHost \
        --parameters "host=$host,portNumber=$port,localPortNumber=$lport" \
        >"$tmp/forward.log" 2>&1 &
    fwd=$!
    for ((i = 0; i < 300; i++)); do
        python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$lport" 2>/dev/null && break
        kill -0 "$fwd" 2>/dev/null || die "the port forward ended: $(tail -n 3 "$tmp/forward.log")"
        sleep 0.2
    done
    [ "$i" -lt 300 ] || die "the port forward did not open within 60 s"

    # the master password from Secrets Manager, through a pipe into a
    # 0600 option file: never in argv, never on screen
    umask 077
    aws secretsmanager get-secret-value --secret-id "$secret" --query SecretString \
        --output text | python3 -c '
import json, sys
pw = json.load(sys.stdin)["password"]
q = lambda s: "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""
print("[client]\nhost = 127.0.0.1\nport = %s\nuser = %s\npassword = %s\nssl" % (
    sys.argv[1], q(sys.argv[2]), q(pw)))' "$lport" "$master" >"$tmp/admin.cnf"
    sql() { mariadb --defaults-extra-file="$tmp/admin.cnf" --default-character-set=utf8mb4 "$name"; }
    say "loading sql/ into $name"
    sql <"$top/sql/schema.sql"
    sql <"$top/sql/data.sql"
    pw=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    { printf "SET @app_password = '%s';\n" "$pw"
      cat "$top/sql/grants.sql"; } | sql

    say "writing the app user's settings under $ssm_path"
    put() { # put NAME TYPE, the value on stdin; a file, not argv
        python3 -c '
import json, sys
print(json.dumps({"Name": sys.argv[1], "Type": sys.argv[2], "Value": sys.stdin.read(),
                  "Overwrite": True}))' "$ssm_path$1" "$2" >"$tmp/param.json"
        aws ssm put-parameter --cli-input-json "file://$tmp/param.json" >/dev/null
        rm -f "$tmp/param.json"
    }
    printf '%s' "$host" | put host String
    printf '%s' "$port" | put port String
    printf '%s' fcgi_app | put user String
    printf '%s' "$name" | put database String
    printf '%s' demo | put table String
    printf '%s' "$pw" | put password SecureString
    kill "$fwd" 2>/dev/null || true
    fwd=""
    say "sql/ loaded; the app user's password is in $ssm_path""password"
}

deploy_all() {
    local ami
    deploy_network
    ami=$(aws ssm get-parameter --name "$loader_ami_parameter" --query Parameter.Value --output text)
    deploy_database "$ami"
    db_load
    deploy_database ""
    say "web tier: stack $web"
    VPC_ID=$(output "$net" VpcId) PUBLIC_SUBNETS=$(output "$net" PublicSubnetIds) \
        INSTANCE_SUBNETS=$(output "$net" PrivateSubnetIds) \
        DB_SECURITY_GROUP=$(output "$db" DatabaseSecurityGroupId) \
        ALARM_TOPIC_ARN=$(output "$db" AlarmTopicArn) SSM_PATH=$ssm_path \
        "$top/stack/deploy.sh" deploy
    "$top/stack/deploy.sh" smoke
}

delete_all() {
    "$top/stack/deploy.sh" delete
    say "deleting $db (RDS keeps a final snapshot: DeletionPolicy Snapshot)"
    aws cloudformation delete-stack --stack-name "$db"
    aws cloudformation wait stack-delete-complete --stack-name "$db"
    say "deleting $net"
    aws cloudformation delete-stack --stack-name "$net"
    aws cloudformation wait stack-delete-complete --stack-name "$net"
    say "all three stacks deleted; the SSM parameters under $ssm_path remain"
}

case ${1:-} in
deploy) deploy_all ;;
db-load) db_load ;;
delete) delete_all ;;
*)
    echo "usage: all.sh deploy|db-load|delete" >&2
    exit 2
    ;;
esac
