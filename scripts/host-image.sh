#!/usr/bin/env bash
# Builds the systemd host image localhost/papr-host:bookworm offline: debootstrap a minimal
# Debian 12 from the apt mirror this machine already uses, then `podman import` it.
# The root filesystem tarball is cached outside the repository, so later builds take seconds.
#
# Environment: PAPR_HOST_IMAGE (image name), PAPR_HOST_IMAGE_CACHE (cache dir),
# PAPR_DEBIAN_MIRROR (override the mirror found in apt's sources), FORCE=1 (rebuild the tarball).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
image="${PAPR_HOST_IMAGE:-localhost/papr-host:bookworm}"
cache_dir="${PAPR_HOST_IMAGE_CACHE:-/var/cache/papr-memory}"
tarball="$cache_dir/papr-host-bookworm.tar"
suite=bookworm
packages=systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,procps,sudo,ca-certificates

say() { echo "==> host-image: $*"; }
die() { echo "error: host-image: $*" >&2; exit 1; }

for tool in podman debootstrap tar; do
  command -v "$tool" >/dev/null || die "'$tool' is missing. Install it: apt-get install -y --no-install-recommends podman runc netavark aardvark-dns conmon catatonit iptables uidmap slirp4netns fuse-overlayfs debootstrap"
done
[ "$(id -u)" = 0 ] || die "debootstrap and rootful podman need root"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$("$repo_root/scripts/podman-conf.sh")}"

build_tarball() {
  local rootfs mirror
  mirror=$("$repo_root/scripts/debian-mirror.sh") || die "no Debian mirror (see above)"
  rootfs=$(mktemp -d /var/tmp/papr-host-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap $suite (minbase) from the configured mirror (about 2 minutes)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
  rm -f "$rootfs.log"
  say "preparing the root filesystem for systemd in a container"
  # Each container gets its own machine id at first boot.
  : >"$rootfs/etc/machine-id"
  # Units that fail or hang in a container: no remount of /, no consoles, no kernel debug mounts.
  for unit in systemd-remount-fs.service getty.target console-getty.service getty@tty1.service \
      sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
      systemd-firstboot.service systemd-udevd.service systemd-modules-load.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # No package lists in the image: hosts fetch them. apt's cache_valid_time compares against the
  # lists dir mtime, so make it ancient or the empty cache looks fresh.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  touch -d @0 "$rootfs/var/lib/apt/lists"
  mkdir -p "$cache_dir"
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
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
podman import --quiet --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  "$tarball" "$image" >/dev/null
say "$image ready"
