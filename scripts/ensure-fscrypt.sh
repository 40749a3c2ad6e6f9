#!/usr/bin/env bash
# The tools of the encrypted state volume (enclave volume create|unlock|lock): ext4 with native encryption
# (e2fsprogs' mkfs.ext4) and Debian's fscrypt. LUKS is not used: these kernels have no device-mapper.
set -euo pipefail
command -v fscrypt >/dev/null 2>&1 && command -v mkfs.ext4 >/dev/null 2>&1 && exit 0
echo "Installing fscrypt and e2fsprogs for the encrypted state volume ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends fscrypt e2fsprogs >/dev/null
