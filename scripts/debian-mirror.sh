#!/usr/bin/env bash
# Prints the Debian mirror apt is configured with (deb822 .sources or one-line sources.list), so
# images built with debootstrap use the same mirror (and proxy rules) as the machine that builds
# them. PAPR_DEBIAN_MIRROR overrides it.
set -euo pipefail
if [ -n "${PAPR_DEBIAN_MIRROR:-}" ]; then echo "$PAPR_DEBIAN_MIRROR"; exit 0; fi
uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}')
[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' \
      /etc/apt/sources.list 2>/dev/null | head -n1)
[ -n "$uri" ] || { echo "error: no Debian mirror found in apt's sources; set PAPR_DEBIAN_MIRROR" >&2; exit 1; }
echo "$uri"
