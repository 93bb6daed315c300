#!/usr/bin/env bash
# Launch template user data.  It runs once at first boot, as root.
#
# fcgi-app-configure reads the database settings from SSM Parameter Store
# with the instance role (IMDSv2), writes /etc/fcgi-app/fcgi-app.cnf
# (0600, owned by fcgi-app) and starts the service.  Then, inside a stack,
# the instance tells CloudFormation whether it serves (/readyz answers
# 200), so that a rolling update waits for it before it retires an old
# instance.  Every failure is printed to the console log.
#
# The stack's template (stack/fcgi-app.yaml) carries the body below
# verbatim, after exporting FCGI_APP_SSM_PATH, FCGI_APP_STACK and
# FCGI_APP_REGION (and FCGI_APP_DB_CONNECTIONS, the stack's
# DbConnectionsPerInstance); make stack-check holds the two copies equal.
# --- body ---
ssm_path=$FCGI_APP_SSM_PATH
[ -n "$ssm_path" ] || ssm_path=/fcgi-app/
set -- --ssm-path "$ssm_path"
[ -z "$FCGI_APP_DB_CONNECTIONS" ] || set -- "$@" --db-connections "$FCGI_APP_DB_CONNECTIONS"
status=FAILURE
if /usr/local/sbin/fcgi-app-configure "$@"; then
    for _ in $(seq 90); do
        if curl -fsS -o /dev/null --max-time 2 http://127.0.0.1/readyz; then
            status=SUCCESS
            break
        fi
        sleep 2
    done
    [ "$status" = SUCCESS ] || echo "fcgi-app user data: /readyz never answered 200" >&2
fi
if [ -n "$FCGI_APP_STACK" ]; then
    token=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" \
        http://169.254.169.254/latest/api/token)
    instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/instance-id)
    aws cloudformation signal-resource --region "$FCGI_APP_REGION" \
        --stack-name "$FCGI_APP_STACK" --logical-resource-id AutoScalingGroup \
        --unique-id "$instance" --status "$status"
fi
[ "$status" = SUCCESS ]
