#!/usr/bin/env bash
# Builds the systemd host image localhost/papr-host:bookworm offline (scripts/lib/rootfs-image.sh):
# the test hosts of Molecule and the `make demo` host.
#
# Environment: PAPR_HOST_IMAGE (image name), PAPR_HOST_IMAGE_CACHE (cache dir),
# PAPR_DEBIAN_MIRROR (override the mirror found in apt's sources), FORCE=1 (rebuild the tarball).
set -euo pipefail
label=host-image
image="${PAPR_HOST_IMAGE:-localhost/papr-host:bookworm}"
tarball="${PAPR_HOST_IMAGE_CACHE:-/var/cache/papr-memory}/papr-host-bookworm.tar"
suite=bookworm
# openssh-server: the test hosts are reached over SSH, as real hosts are (the demo host still
# through podman exec). It accepts keys only, and no key is in the image.
packages=systemd,systemd-sysv,dbus,python3,python3-apt,iproute2,procps,sudo,ca-certificates,openssh-server
source "$(dirname "$0")/lib/rootfs-image.sh"

prepare_rootfs() {
  local rootfs=$1 unit
  say "preparing the root filesystem for systemd in a container"
  # Each container gets its own machine id at first boot.
  : >"$rootfs/etc/machine-id"
  # Units that fail or hang in a container: no remount of /, no consoles, no kernel debug mounts.
  for unit in systemd-remount-fs.service getty.target console-getty.service getty@tty1.service \
      sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
      systemd-firstboot.service systemd-udevd.service systemd-modules-load.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
  done
  # Each container makes its own SSH host keys when sshd first starts (not one set for all).
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$rootfs/etc/systemd/system/ssh.service.d/host-keys.conf"
  printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' \
    >"$rootfs/etc/ssh/sshd_config.d/papr-host.conf"
  # No package lists in the image: hosts fetch them. apt's cache_valid_time compares against the
  # lists dir mtime, so make it ancient or the empty cache looks fresh.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  touch -d @0 "$rootfs/var/lib/apt/lists"
}

rootfs_image_main --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3'
