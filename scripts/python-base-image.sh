#!/usr/bin/env bash
# Builds localhost/papr-python:3.11-bookworm offline (scripts/lib/rootfs-image.sh): a minimal
# Debian 12 with Python 3.11 and venv, the stand-in for a public python:3.11-slim base where no
# image registry is reachable. The service image (Containerfile) is built FROM it with
# --build-arg BASE_IMAGE=...
#
# Environment: PAPR_PYTHON_BASE_IMAGE (image name), PAPR_HOST_IMAGE_CACHE (cache dir),
# PAPR_DEBIAN_MIRROR (override the mirror found in apt's sources), FORCE=1 (rebuild the tarball).
set -euo pipefail
label=python-base-image
image="${PAPR_PYTHON_BASE_IMAGE:-localhost/papr-python:3.11-bookworm}"
tarball="${PAPR_HOST_IMAGE_CACHE:-/var/cache/papr-memory}/papr-python-bookworm.tar"
suite=bookworm
# What python:3.11-slim offers the service: Python with venv (pip comes from ensurepip), CA
# certificates, and netbase's /etc/services and /etc/protocols.
packages=python3,python3-venv,ca-certificates,netbase
source "$(dirname "$0")/lib/rootfs-image.sh"

prepare_rootfs() {
  local rootfs=$1
  # Nothing in the image installs Debian packages at run time: drop what only apt and humans read.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log
}

rootfs_image_main --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]'
