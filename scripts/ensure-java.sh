#!/usr/bin/env bash
# A Java runtime for Hail on the host (genotype datasets and their extracts). Hail 0.2.139 is built for
# Java 11 and runs on Debian 12's OpenJDK 17 (it prints a warning).
set -euo pipefail
command -v java >/dev/null 2>&1 && exit 0
echo "Installing a Java runtime (OpenJDK 17) for Hail ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# The JRE's post-install script expects this man page folder, which slim systems lack.
mkdir -p /usr/share/man/man1
apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
