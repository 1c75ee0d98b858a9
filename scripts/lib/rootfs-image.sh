# Shared by scripts/host-image.sh and scripts/python-base-image.sh (sourced, not run): build a
# Debian image offline with debootstrap from the apt mirror this machine already uses, cache its
# root filesystem tarball outside the repository, and `podman import` it.
#
# The sourcing script sets: label (for messages), image, tarball, suite, packages, and defines
# prepare_rootfs ROOTFS (its own changes to the tree); then it calls
# `rootfs_image_main --change ... --change ...` with the podman import changes.
# The tarball's name and the image's label papr.rootfs-inputs carry a hash of those inputs (suite,
# packages, prepare_rootfs, the import changes): a change to any of them builds a new tarball and
# image instead of reusing a cached one made from the old inputs.
# Environment: FORCE=1 rebuilds the tarball; PAPR_DEBIAN_MIRROR overrides the mirror.

rootfs_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { echo "==> $label: $*"; }
die() { echo "error: $label: $*" >&2; exit 1; }

rootfs_require() {
  local tool
  for tool in podman debootstrap tar flock; do
    command -v "$tool" >/dev/null || die "'$tool' is missing. Install it: $rootfs_repo_root/scripts/system-packages.sh"
  done
  [ "$(id -u)" = 0 ] || die "debootstrap and rootful podman need root"
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$("$rootfs_repo_root/scripts/podman-conf.sh")}"
}

rootfs_build_tarball() {
  local rootfs mirror
  mirror=$("$rootfs_repo_root/scripts/debian-mirror.sh") || die "no Debian mirror (see above)"
  rootfs=$(mktemp -d "/var/tmp/$label-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  say "debootstrap $suite (minbase + $packages) from the configured mirror (1-2 minutes)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed"; }
  prepare_rootfs "$rootfs"
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
}

rootfs_inputs_key() {
  { echo "$suite $packages"; declare -f prepare_rootfs; printf '%s\n' "$@"; } | sha256sum | cut -c1-12
}

# rootfs_image_main IMPORT_ARGS...: the image if missing or made from other inputs, from the
# cached tarball of these inputs if present.
rootfs_image_main() {
  local key base=$tarball
  rootfs_require
  key=$(rootfs_inputs_key "$@")
  tarball="${base%.tar}-$key.tar"
  mkdir -p "$(dirname "$tarball")"
  # Two builds at once (a test and a make target): the first builds, the other waits and reuses it.
  exec 9>"$base.lock"
  flock 9
  if [ "$(podman image inspect --format '{{index .Labels "papr.rootfs-inputs"}}' "$image" 2>/dev/null)" = "$key" ] \
      && [ -z "${FORCE:-}" ]; then
    say "$image already present"
    return 0
  fi
  if [ -f "$tarball" ] && [ -z "${FORCE:-}" ]; then
    say "using the cached root filesystem $tarball"
  else
    rootfs_build_tarball
    # Tarballs of earlier inputs are of no further use.
    find "$(dirname "$base")" -maxdepth 1 -name "$(basename "${base%.tar}")*.tar" ! -name "$(basename "$tarball")" -delete
  fi
  say "importing $image"
  podman import --quiet "$@" --change "LABEL papr.rootfs-inputs=$key" "$tarball" "$image" >/dev/null
  say "$image ready"
}
