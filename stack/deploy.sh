#!/usr/bin/env bash
# The stack in AWS, with the aws CLI.
#
#   deploy.sh deploy   create or update the stack (a new AMI rolls out)
#   deploy.sh smoke    curl the ALB until the page shows the table
#   deploy.sh delete   delete the stack and wait until it is gone
#
# Settings, from the environment:
#   STACK_NAME         default fcgi-app
#   AWS_REGION         default ap-northeast-2
#   VPC_ID             the VPC
#   PUBLIC_SUBNETS     two public subnets for the ALB, comma-separated
#   INSTANCE_SUBNETS   two subnets for the instances, comma-separated
#   DB_SECURITY_GROUP  the RDS instance's security group
#   AMI_ID             default: the last build in build/packer-manifest.json
#   and optionally INSTANCE_TYPE, SSM_PATH, CERTIFICATE_ARN, KEY_NAME,
#   ASSOCIATE_PUBLIC_IP (true for instance subnets without NAT),
#   ALARM_TOPIC_ARN (empty: the stack makes a topic), ALARM_EMAIL,
#   ACCESS_LOGS (true), LB_DELETION_PROTECTION (false), WEB_ACL_ARN.
#
# stack/all.sh deploys the network and the database first and sets these.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
stack=${STACK_NAME:-fcgi-app}
region=${AWS_REGION:-ap-northeast-2}
export AWS_REGION=$region

need() {
    local v
    for v in "$@"; do
        [ -n "${!v:-}" ] || { echo "deploy.sh: set $v (see make help and the README)" >&2; exit 1; }
    done
}

ami_from_manifest() {
    python3 - "$top/build/packer-manifest.json" <<'PY'
import json, sys
try:
    builds = json.load(open(sys.argv[1]))["builds"]
except (OSError, KeyError, ValueError):
    sys.exit("deploy.sh: no AMI: set AMI_ID or run make ami first")
print(builds[-1]["artifact_id"].split(":")[1])
PY
}

output() {
    aws cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

case ${1:-} in
deploy)
    need VPC_ID PUBLIC_SUBNETS INSTANCE_SUBNETS DB_SECURITY_GROUP
    ami=${AMI_ID:-$(ami_from_manifest)}
    echo "deploying stack $stack in $region with $ami"
    aws cloudformation deploy --stack-name "$stack" \
        --template-file "$top/stack/fcgi-app.yaml" \
        --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
        --parameter-overrides \
        "VpcId=$VPC_ID" "PublicSubnetIds=$PUBLIC_SUBNETS" \
        "InstanceSubnetIds=$INSTANCE_SUBNETS" "DatabaseSecurityGroupId=$DB_SECURITY_GROUP" \
        "AmiId=$ami" "InstanceType=${INSTANCE_TYPE:-t2.micro}" \
        "SsmPath=${SSM_PATH:-/fcgi-app/}" "CertificateArn=${CERTIFICATE_ARN:-}" \
        "KeyName=${KEY_NAME:-}" "AssociatePublicIpAddress=${ASSOCIATE_PUBLIC_IP:-false}" \
        "AlarmTopicArn=${ALARM_TOPIC_ARN:-}" "AlarmEmail=${ALARM_EMAIL:-}" \
        "AccessLogs=${ACCESS_LOGS:-true}" "WebAclArn=${WEB_ACL_ARN:-}" \
        "LoadBalancerDeletionProtection=${LB_DELETION_PROTECTION:-false}"
    echo "URL: $(output URL)"
    ;;
smoke)
    url=$(output URL)
    echo "waiting for $url to show the table"
    for _ in $(seq 60); do
        if curl -fsS --max-time 5 "$url?format=json" | python3 -c \
            'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["rows"] else 1)' 2>/dev/null; then
            curl -fsS "$url?format=json" | python3 -c \
                'import json,sys; d=json.load(sys.stdin); print("ok:", d["count"], "rows, served by", d["served_by"])'
            exit 0
        fi
        sleep 10
    done
    echo "deploy.sh: $url did not show the table within 10 minutes" >&2
    exit 1
    ;;
delete)
    # the log bucket must be empty before it can go: stop the ALB's log
    # delivery first, so that no new object arrives meanwhile
    if bucket=$(output LogBucketName 2>/dev/null) && [ -n "$bucket" ] && [ "$bucket" != None ]; then
        lb=$(aws cloudformation describe-stack-resource --stack-name "$stack" \
            --logical-resource-id LoadBalancer \
            --query StackResourceDetail.PhysicalResourceId --output text)
        aws elbv2 modify-load-balancer-attributes --load-balancer-arn "$lb" \
            --attributes Key=access_logs.s3.enabled,Value=false >/dev/null
        echo "emptying the access-log bucket $bucket"
        aws s3 rm "s3://$bucket" --recursive --only-show-errors
    fi
    aws cloudformation delete-stack --stack-name "$stack"
    aws cloudformation wait stack-delete-complete --stack-name "$stack"
    echo "stack $stack deleted"
    ;;
*)
    echo "usage: deploy.sh deploy|smoke|delete" >&2
    exit 2
    ;;
esac
