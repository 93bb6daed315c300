#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, if any are missing.
# Nothing else is downloaded, ever.
#
#   deps.sh dev    what make dev needs: build the program, run it locally
#   deps.sh [all]  that and every tool the tests, the image and the bench use
set -euo pipefail

# make dev: build, the instance, the private database
dev_packages=(
    gcc make pkg-config libc6-dev       # build
    libfcgi-dev libmariadb-dev          # libfcgi, MariaDB Connector/C
    spawn-fcgi nginx                    # the instance
    mariadb-server-core mariadb-client  # the private database (no service)
    curl                                # the start-up health check
)
# make test, make cluster, make bench, the image
test_packages=(
    haproxy                             # the balancer of make cluster
    check python3 shellcheck git        # tests
    python3-html5lib                    # tests: the pages through an HTML5 parser
    gpg                                 # tests: the CloudWatch agent's signature check
    gcovr                               # tests: make coverage
    man-db                              # tests: the man page formats cleanly
    clang libclang-rt-14-dev            # tests: the libFuzzer harnesses
    packer systemd                      # the image: packer-check
    debootstrap iproute2 openssl        # the image: offline rehearsal
    qemu-system-x86 qemu-utils genisoimage socat openssh-client  # make image, image-test
    python3-yaml                        # the stack: stack-check
    python3-jsonschema                  # the image: the CloudWatch agent config, packer-check
    wrk gnuplot-nox                     # make bench
    php8.2-fpm php8.2-mysql             # make bench: the PHP peer
    golang-go golang-github-go-sql-driver-mysql-dev  # make bench: the Go peers
    python3-pymysql                     # make bench: the seed's Python peer
    chromium chromium-driver python3-selenium  # tests: the page in a browser
    fonts-noto-cjk fonts-noto-color-emoji fonts-symbola  # its Korean, emoji, control pictures
    apache2-bin lighttpd caddy h2o      # tests: the other FastCGI servers
)

case ${1:-all} in
dev) packages=("${dev_packages[@]}") ;;
all) packages=("${dev_packages[@]}" "${test_packages[@]}") ;;
*)
    echo "usage: deps.sh [dev|all]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done
# npm fetches CloudFormation's resource specification for stack-check;
# a machine may have Node.js from elsewhere than Debian
[ "${1:-all}" = all ] && ! command -v npm >/dev/null && missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "deps.sh: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
