#!/usr/bin/env bash
# Renders the podman containers.conf for this machine and prints its path.
# Usage: export CONTAINERS_CONF="$(scripts/podman-conf.sh)"
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
out_dir="${PAPR_STATE_DIR:-$repo_root/.state}/podman"
out="$out_dir/containers.conf"
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
mkdir -p "$out_dir"
rendered=$(sed "s/@NOFILE@/$nofile/g" "$repo_root/scripts/podman/containers.conf.in")
# Rewrite only on change, so make-style freshness checks stay quiet.
if [ ! -f "$out" ] || [ "$(cat "$out")" != "$rendered" ]; then
  printf '%s\n' "$rendered" >"$out"
fi
echo "$out"
