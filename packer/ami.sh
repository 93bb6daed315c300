#!/usr/bin/env bash
# make ami: builds the fcgi-app AMI in AWS with Packer and prints its id.
# Needs AWS credentials (the usual AWS_* variables or ~/.aws) allowed to
# run a Packer amazon-ebs build; see the README.  Variables:
#   AWS_REGION     region (default ap-northeast-2)
#   INSTANCE_TYPE  build instance type (default t2.micro)
#   VPC_ID, SUBNET_ID  where the build instance runs (default VPC)
#   RDS_CA_BUNDLE  a local copy of the RDS CA bundle; by default it is
#                  fetched from AWS's trust store into build/rds-ca.pem
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build
rds_ca_url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem

command -v packer >/dev/null || { echo "ami.sh: packer is not installed (make deps)" >&2; exit 1; }
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    echo "ami.sh: note: uncommitted changes are not in the image (it is built from HEAD)" >&2
build_id=$(packer/source.sh build/fcgi-app-src.tar.gz HEAD)
echo "ami.sh: build id $build_id (X-Fcgi-App-Build)"
version=$(git describe --tags --always --dirty)
revision=$(git rev-parse HEAD)

if [ -n "${RDS_CA_BUNDLE:-}" ]; then
    cp "$RDS_CA_BUNDLE" build/rds-ca.pem
else
    curl -fsS --max-time 60 -o build/rds-ca.pem "$rds_ca_url"
fi
grep -q 'BEGIN CERTIFICATE' build/rds-ca.pem ||
    { echo "ami.sh: build/rds-ca.pem holds no certificate" >&2; exit 1; }

vars=(-var "region=${AWS_REGION:-ap-northeast-2}"
    -var "instance_type=${INSTANCE_TYPE:-t2.micro}"
    -var "vpc_id=${VPC_ID:-}" -var "subnet_id=${SUBNET_ID:-}"
    -var "version=$version" -var "git_revision=$revision")

# Packer 1.7 and later load the Amazon builder as a plugin and know
# metadata_options; 1.6.6 (Debian 12) has the builder built in.
pv=$(packer version | sed -n 's/^Packer v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$pv"
if [ "$major" -gt 1 ] || [ "$minor" -ge 7 ]; then
    packer/stage.sh build/packer
    packer init build/packer
    packer build "${vars[@]}" build/packer
else
    echo "ami.sh: Packer $major.$minor: building without IMDSv2 on the build instance (needs >= 1.7)" >&2
    packer build "${vars[@]}" packer/fcgi-app.pkr.hcl
fi

# the manifest holds make image's qemu builds too: take the last AMI
ami=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([b for b in m["builds"] if b["builder_type"] == "amazon-ebs"][-1]["artifact_id"].split(":")[1])' build/packer-manifest.json)
echo "AMI: $ami (recorded in build/packer-manifest.json)"
