#!/usr/bin/env bash
# Provisions a Debian 12 machine as an fcgi-app instance.  Packer runs it
# on the build instance; the offline rehearsal in make test runs the same
# file in a fresh Debian 12 root.  Safe to run again.
#
# UPLOAD_DIR holds what Packer uploaded: fcgi-app-src.tar.gz (git archive
# of the checkout) and rds-ca.pem (the RDS CA bundle).
#
# It installs nginx, spawn-fcgi, the runtime libraries and the AWS CLI;
# builds and installs the program; installs the nginx site, the systemd
# units, fcgi-app-configure and the CA bundle; installs the CloudWatch
# agent's configuration and the journal's copy it ships (the agent
# itself comes from AWS, in the amazon-ebs build only:
# packer/cloudwatch-agent.sh); and creates the fcgi-app system user.  It writes no credential and no config: the launch
# template's user data does that at boot.
set -euo pipefail
upload=${UPLOAD_DIR:-/tmp/fcgi-app-upload}
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> %s\n' "$*"; }

[ -s "$upload/fcgi-app-src.tar.gz" ] || { echo "no $upload/fcgi-app-src.tar.gz" >&2; exit 1; }
[ -s "$upload/rds-ca.pem" ] || { echo "no $upload/rds-ca.pem" >&2; exit 1; }

runtime=(nginx spawn-fcgi libfcgi0ldbl libmariadb3 awscli python3 curl
    ca-certificates systemd logrotate)
build=(gcc make libc6-dev pkg-config libfcgi-dev libmariadb-dev)

say "installing packages"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${runtime[@]}"
# runtime packages stay marked as installed by hand, so that removing
# the build packages below cannot take them away
apt-mark manual "${runtime[@]}" >/dev/null
apt-get install -y -qq --no-install-recommends "${build[@]}"

say "building fcgi-app"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
tar -xzf "$upload/fcgi-app-src.tar.gz" -C "$src"
make -C "$src" -s BUILD="$src/build" all
make -C "$src" -s BUILD="$src/build" install PREFIX=/usr/local
install -D -m 0644 "$src/README.md" /usr/local/share/doc/fcgi-app/README.md
install -m 0755 "$src/packer/files/fcgi-app-configure" /usr/local/sbin/fcgi-app-configure

say "creating the fcgi-app system user"
getent group fcgi-app >/dev/null || groupadd --system fcgi-app
getent passwd fcgi-app >/dev/null ||
    useradd --system --gid fcgi-app --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin --comment "fcgi-app workers" fcgi-app
# nginx reaches the socket (0660, group fcgi-app) through the group
usermod -a -G fcgi-app www-data

say "installing the config folder and the RDS CA bundle"
install -d -o root -g fcgi-app -m 0750 /etc/fcgi-app
install -o root -g root -m 0644 "$upload/rds-ca.pem" /etc/fcgi-app/rds-ca.pem

say "installing nginx.conf and the nginx site"
# Debian's nginx.conf with the connection limits raised (the file says why)
install -m 0644 "$src/packer/files/nginx.conf" /etc/nginx/nginx.conf
install -m 0644 "$src/nginx/fcgi-app.conf" /etc/nginx/sites-available/fcgi-app
ln -sfn ../sites-available/fcgi-app /etc/nginx/sites-enabled/fcgi-app
rm -f /etc/nginx/sites-enabled/default
nginx -t -q

say "installing the systemd units"
install -m 0644 "$src/packer/files/fcgi-app.service" /etc/systemd/system/fcgi-app.service
install -D -m 0644 "$src/packer/files/nginx-after-fcgi-app.conf" \
    /etc/systemd/system/nginx.service.d/fcgi-app.conf
install -m 0644 "$src/packer/files/nginx-limits.conf" \
    /etc/systemd/system/nginx.service.d/limits.conf
# the journal's copy for the CloudWatch agent (docs/image.md, "Logs")
install -m 0644 "$src/packer/files/fcgi-app-journal.service" \
    /etc/systemd/system/fcgi-app-journal.service
install -m 0755 "$src/packer/files/fcgi-app-journal-copy" /usr/local/sbin/fcgi-app-journal-copy
install -m 0644 "$src/packer/files/fcgi-app-journal.logrotate" /etc/logrotate.d/fcgi-app-journal
install -D -m 0644 "$src/packer/files/amazon-cloudwatch-agent.json" \
    /usr/local/share/fcgi-app/amazon-cloudwatch-agent.json
if ! systemctl enable fcgi-app-journal.service >/dev/null 2>&1; then
    mkdir -p /etc/systemd/system/multi-user.target.wants
    ln -sfn /etc/systemd/system/fcgi-app-journal.service \
        /etc/systemd/system/multi-user.target.wants/fcgi-app-journal.service
fi
# fcgi-app is enabled by fcgi-app-configure once the config exists;
# until then nginx answers 502 and the load balancer keeps it out
systemctl enable nginx.service >/dev/null 2>&1 || true
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

say "removing the build packages"
apt-get purge -y -qq "${build[@]}" >/dev/null
apt-get autoremove -y -qq --purge >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* "$upload"
say "done: /usr/local/sbin/fcgi-app and its units are installed"
