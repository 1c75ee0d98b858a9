#!/usr/bin/env bash
# Prints a Python >= 3.12 interpreter for the controller venv (ansible-core 2.21 needs it).
set -euo pipefail
for candidate in "${PAPR_PYTHON:-}" python3.13 python3.12 \
    /root/.pyenv/versions/3.13.0/bin/python3.13 /root/.pyenv/versions/3.12.1/bin/python3.12 \
    /usr/bin/python3.13 /usr/bin/python3.12 python3; do
  [ -n "$candidate" ] || continue
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
echo "error: no Python >= 3.12 found (ansible-core 2.21 needs one on the controller)." >&2
echo "       Install python3.12 or python3.13, or set PAPR_PYTHON=/path/to/python3.12." >&2
exit 1
