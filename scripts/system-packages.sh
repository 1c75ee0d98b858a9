#!/usr/bin/env bash
# Installs the Debian packages the stack, the demo and the tests need, when any is missing:
# PostgreSQL (the local stack and tests run their own cluster), podman and debootstrap (systemd
# test hosts and the service image, built offline), ssh (how the tests reach those hosts), curl;
# the single-node Kubernetes test cluster (tests/k8s): Go and dpkg-dev to build it from Debian's
# source, etcd, containerd, CNI plugins and the tools kubelet and kube-proxy call. One list, used
# by make and by CI.
set -euo pipefail
packages=(
  postgresql postgresql-contrib make curl
  podman runc netavark aardvark-dns conmon catatonit iptables uidmap slirp4netns fuse-overlayfs debootstrap
  openssh-client
  golang-go dpkg-dev rsync etcd-server etcd-client containerd containernetworking-plugins conntrack socat
  ebtables ethtool openssl dnsmasq-base
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "       install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "==> installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
