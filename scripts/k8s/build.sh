#!/usr/bin/env bash
# Builds the Kubernetes binaries of the single-node test cluster offline from Debian bookworm's
# `kubernetes` source package (1.20, vendored Go dependencies, Debian's golang), plus the static
# pause binary of the sandbox image. The result is cached outside the repository, keyed by its
# inputs (source version, Go and gcc versions, the binaries, the recipe revision below), under a
# lock so that two builds at once (a test and a make target) build once. Prints the cache
# directory on stdout.
#
# Cold build: ~6 minutes on 2 cores; a cache hit: instant.
# Environment: PAPR_K8S_CACHE (cache dir), FORCE=1 (rebuild).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
cache_root="${PAPR_K8S_CACHE:-/var/cache/papr-memory/k8s}"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
# Bump when the way the binaries are built changes (flags, patches): it invalidates the cache.
recipe=1

say() { echo "==> k8s-build: $*" >&2; }
die() { echo "error: k8s-build: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (apt-get source, the cache under /var/cache)"
for tool in go gcc make flock apt-get dpkg-source; do
  command -v "$tool" >/dev/null || die "'$tool' is missing. Install it: $repo_root/scripts/system-packages.sh"
done

# deb-src for the suite apt already uses, so `apt-get source` finds the package offline-from-internet.
"$here/deb-src.sh" >&2
source_version=$(apt-cache showsrc kubernetes 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n1)
[ -n "$source_version" ] || die "apt knows no source package 'kubernetes' (deb-src lines: scripts/k8s/deb-src.sh)"
# 1.20.5+really1.20.2 -> v1.20.2: the version the tarball really holds.
kube_version="v${source_version##*really}"; kube_version="${kube_version%%-*}"
key=$( { echo "recipe $recipe"; echo "$source_version"; go version; gcc --version | head -n1; echo "${binaries[*]}"; } \
  | sha256sum | cut -c1-16)
out="$cache_root/$key"
mkdir -p "$cache_root"

exec 9>"$cache_root/build.lock"
flock 9
if [ -z "${FORCE:-}" ] && [ -f "$out/.complete" ]; then
  say "cached: $out ($kube_version)"
  echo "$out"; exit 0
fi

work=$(mktemp -d /var/tmp/papr-k8s-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "apt-get source kubernetes=$source_version"
(cd "$work" && apt-get source -qq --only-source "kubernetes=$source_version" >"$work/source.log" 2>&1) \
  || { tail -n 20 "$work/source.log" >&2; die "apt-get source failed"; }
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
[ -d "$src/vendor" ] || die "the source has no vendor/ directory: cannot build offline"

# What debian/rules does: GOPATH mode over vendor/ (the 1.20 scripts force GO111MODULE=off); no
# network (GOPROXY=off); the version from a file since there is no .git.
mkdir -p "$work/gopath/src/k8s.io"
ln -s "$src" "$work/gopath/src/k8s.io/kubernetes"
cat >"$work/version.env" <<VERSION
KUBE_GIT_VERSION=$kube_version
KUBE_GIT_MAJOR=$(echo "$kube_version" | cut -d. -f1 | tr -d v)
KUBE_GIT_MINOR=$(echo "$kube_version" | cut -d. -f2)
KUBE_GIT_TREE_STATE=clean
KUBE_GIT_COMMIT=debian-$source_version
VERSION
whats=()
for binary in "${binaries[@]}"; do whats+=("cmd/$binary"); done
say "building ${binaries[*]} $kube_version (cold: ~6 minutes on 2 cores; log: $work/build.log)"
started=$SECONDS
(
  cd "$work/gopath/src/k8s.io/kubernetes"
  export GOPATH="$work/gopath" GO111MODULE=off GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 \
    KUBE_GIT_VERSION_FILE="$work/version.env" GOTOOLCHAIN=local HOME="$work"
  unset GOFLAGS   # GOPATH mode rejects -mod; vendor/ is used anyway
  make WHAT="${whats[*]}"
) >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; die "make failed"; }
say "built in $((SECONDS - started)) s"

rm -rf "$out.tmp"; mkdir -p "$out.tmp/bin"
for binary in "${binaries[@]}"; do
  cp "$src/_output/local/go/bin/$binary" "$out.tmp/bin/$binary" 2>/dev/null \
    || cp "$src/_output/bin/$binary" "$out.tmp/bin/$binary" \
    || die "$binary was not built"
done
# The sandbox ("pause") container's binary: static, from the same source (no image registry here).
gcc -Os -Wall -Werror -static -DVERSION="$kube_version-papr" -o "$out.tmp/bin/pause" "$src/build/pause/linux/pause.c"
echo "$kube_version" >"$out.tmp/version"
touch "$out.tmp/.complete"
rm -rf "$out"; mv "$out.tmp" "$out"
say "cached: $out"
echo "$out"
