#!/usr/bin/env bash
# Adds deb-src lines for the Debian suite and mirror apt already uses (own file, idempotent) and
# refreshes the lists, so `apt-get source kubernetes` works. Needs root.
set -euo pipefail
file=/etc/apt/sources.list.d/papr-debsrc.sources
if apt-cache showsrc kubernetes >/dev/null 2>&1 && apt-cache showsrc kubernetes | grep -q '^Version:'; then
  exit 0
fi
mirror=$("$(dirname "$0")/../debian-mirror.sh")
suite=$( (. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}") )
cat >"$file" <<SOURCES
# Added by papr.memory scripts/k8s/deb-src.sh: source packages (the test cluster's Kubernetes).
Types: deb-src
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
echo "==> deb-src: added $file; apt-get update" >&2
apt-get update -qq
