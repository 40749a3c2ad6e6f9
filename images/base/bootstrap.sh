#!/usr/bin/env bash
# Build a minimal Debian bookworm base image locally, for machines that cannot
# pull from a registry (air-gapped trusted research environments).
#   usage: bootstrap.sh IMAGE_TAG
# The Debian mirror is read from this machine's own apt sources, so no mirror
# host name lives in the repository. Needs root and debootstrap.
set -euo pipefail
tag="$1"
packages="python3,python3-venv,ca-certificates,tini"

mirror="${ENCLAVE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
[ -n "$mirror" ] || { echo "No Debian mirror found in apt sources; set ENCLAVE_DEBIAN_MIRROR." >&2; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

rootfs=$(mktemp -d /tmp/enclave-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
  || { tail -n 40 "$rootfs.log" >&2; echo "debootstrap failed (log above)." >&2; exit 1; }
rm -f "$rootfs.log"
# Keep the image small: no apt lists or caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "Built base image $tag"
