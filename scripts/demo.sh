#!/usr/bin/env bash
# make demo / make demo-down: the whole stack (option 1) on one local systemd host, a podman
# container from the project's offline-built image, deployed by the main job itself:
# ansible-playbook site.yml -i inventories/local.
#
# Environment: PAPR_DEMO_PORT (published web port on 127.0.0.1, default 57500).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo_root"
host=papr-demo            # the inventory's host name (inventories/local)
network=papr-demo-net
image="${PAPR_HOST_IMAGE:-localhost/papr-host:bookworm}"
port="${PAPR_DEMO_PORT:-57500}"
web_port=5001             # inventories/local/group_vars/all.yml: web_port
state_dir="$repo_root/.state/local"
venv_bin="$repo_root/.venv/bin"
started=$(date +%s)
phase=0
phases=5

step() { phase=$((phase + 1)); printf '==> [%d/%d] %s (%ss)\n' "$phase" "$phases" "$*" "$(($(date +%s) - started))"; }
die() { echo "error: $*" >&2; exit 1; }

require() {
  [ "$(id -u)" = 0 ] || die "make demo needs root (rootful podman runs the systemd host)."
  local missing=()
  # debootstrap: scripts/host-image.sh checks for it even with the image built.
  for tool in podman runc iptables debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    die "missing: ${missing[*]}. Install: apt-get install -y --no-install-recommends podman runc netavark aardvark-dns conmon catatonit iptables uidmap slirp4netns fuse-overlayfs debootstrap"
  fi
  [ -x "$venv_bin/ansible-playbook" ] || die "no controller venv: run 'make venv' first."
}

up() {
  phases=5
  step "checking prerequisites"
  require
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$(scripts/podman-conf.sh)}"

  step "host image $image (built once, then cached)"
  scripts/host-image.sh

  step "systemd host $host on network $network, web port on 127.0.0.1:$port"
  podman network exists "$network" || podman network create "$network" >/dev/null
  if ! podman container exists "$host"; then
    podman run -d --name "$host" --hostname "$host" --network "$network" --systemd=always \
      --publish "127.0.0.1:$port:$web_port" "$image" /sbin/init >/dev/null
  fi
  podman start "$host" >/dev/null
  # is-system-running --wait returns once boot is over (degraded still lets units run).
  podman exec "$host" systemctl is-system-running --wait >/dev/null || true

  step "ansible-playbook site.yml -i inventories/local"
  "$venv_bin/ansible-playbook" site.yml -i inventories/local

  step "checking the published URL"
  curl --silent --fail --max-time 10 "http://127.0.0.1:$port/health" >/dev/null \
    || die "the stack is deployed but http://127.0.0.1:$port/health does not answer"
  local api_key
  api_key=$(cat "$state_dir/secrets/api_key")
  cat <<MSG

PAPR Memory is healthy after $(($(date +%s) - started)) s.
  Web URL:  http://127.0.0.1:$port   (API docs: http://127.0.0.1:$port/docs)
  API key:  $api_key   (stored in .state/local/secrets/api_key)
  Try:      curl -s -H 'X-API-Key: $api_key' -H 'Content-Type: application/json' \\
              -d '{"content":"hello from the demo"}' 'http://127.0.0.1:$port/v1/memories?wait=true'
            curl -s -H 'X-API-Key: $api_key' 'http://127.0.0.1:$port/v1/memories/search?q=hello'
  Remove:   make demo-down
MSG
}

down() {
  phases=2
  step "removing the host $host and the network $network"
  command -v podman >/dev/null || die "podman is missing: nothing of the demo can exist."
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$(scripts/podman-conf.sh)}"
  podman rm --force --time 10 "$host" >/dev/null 2>&1 || true
  podman network rm "$network" >/dev/null 2>&1 || true
  step "removing the demo's generated secrets ($state_dir)"
  rm -rf "$state_dir"
  echo "Done. The host image $image (a cache) stays for the next 'make demo'; podman rmi it to free the space."
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: $0 up|down" ;;
esac
