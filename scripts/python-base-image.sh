#!/usr/bin/env bash
# Builds localhost/papr-python:3.11-bookworm offline: a minimal Debian 12 with Python 3.11 and
# venv, the stand-in for a public python:3.11-slim base where no image registry is reachable.
# The service image (Containerfile) is built FROM it with --build-arg BASE_IMAGE=...
# debootstrap takes 1-2 minutes; its root filesystem tarball is cached outside the repository.
#
# Environment: PAPR_PYTHON_BASE_IMAGE (image name), PAPR_HOST_IMAGE_CACHE (cache dir),
# PAPR_DEBIAN_MIRROR (override the mirror found in apt's sources), FORCE=1 (rebuild the tarball).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
image="${PAPR_PYTHON_BASE_IMAGE:-localhost/papr-python:3.11-bookworm}"
cache_dir="${PAPR_HOST_IMAGE_CACHE:-/var/cache/papr-memory}"
tarball="$cache_dir/papr-python-bookworm.tar"
suite=bookworm
# What python:3.11-slim offers the service: Python with venv (pip comes from ensurepip), CA
# certificates, and netbase's /etc/services and /etc/protocols.
packages=python3,python3-venv,ca-certificates,netbase

say() { echo "==> python-base-image: $*"; }
die() { echo "error: python-base-image: $*" >&2; exit 1; }

for tool in podman debootstrap tar flock; do
  command -v "$tool" >/dev/null || die "'$tool' is missing. Install it: apt-get install -y --no-install-recommends podman runc netavark conmon iptables debootstrap"
done
[ "$(id -u)" = 0 ] || die "debootstrap and rootful podman need root"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$("$repo_root/scripts/podman-conf.sh")}"
mkdir -p "$cache_dir"
# A test and `make image` may run at once: the first builds, the other waits and reuses it.
exec 9>"$cache_dir/.papr-python.lock"
flock 9

build_tarball() {
  local rootfs mirror
  mirror=$("$repo_root/scripts/debian-mirror.sh") || die "no Debian mirror (see above)"
  rootfs=$(mktemp -d /var/tmp/papr-python-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  say "debootstrap $suite (minbase + $packages) from the configured mirror (1-2 minutes)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed"; }
  # Nothing in the image installs Debian packages at run time: drop what only apt and humans read.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
}

if podman image exists "$image" && [ -z "${FORCE:-}" ]; then
  say "$image already present"
  exit 0
fi
if [ -f "$tarball" ] && [ -z "${FORCE:-}" ]; then
  say "using the cached root filesystem $tarball"
else
  build_tarball
fi
say "importing $image"
podman import --quiet --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$tarball" "$image" >/dev/null
say "$image ready"
