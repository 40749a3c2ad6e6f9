#!/bin/sh
# The image's files (not folders), sorted, leaving out scratch, caches, logs and the
# files Docker mounts at run time. Extra arguments are find tests (e.g. -cnewer FILE).
find / -xdev ! -type d \
    ! -path '/tmp/*' ! -path '/root/*' ! -path '/staging/*' \
    ! -path '/var/cache/*' ! -path '/var/log/*' ! -path '/var/lib/apt/lists/*' \
    ! -path '/etc/hosts' ! -path '/etc/hostname' ! -path '/etc/resolv.conf' \
    "$@" | LC_ALL=C sort
