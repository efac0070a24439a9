#!/bin/sh
# Install what reportd needs to build, test and run on Debian 12 — only the
# packages that are missing, so a second run does nothing. Needs root (or sudo).
set -eu
PKGS="build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libzmq3-dev libyaml-dev
libcmocka-dev libssl-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libsystemd-dev
python3 python3-zmq python3-prometheus-client python3-yaml python3-protobuf protobuf-compiler valgrind systemd clang libclang-rt-14-dev
poppler-utils libxml2-dev mandoc postgresql libpq-dev prometheus sqlite3 iproute2"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
