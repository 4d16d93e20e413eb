#!/usr/bin/env bash
# Runs INSIDE the debootstrapped bookworm chroot (build.sh copies it to /tmp,
# runs it with chroot, then empties /tmp). Creates the mysql user as uid/gid 999 before
# mariadb-server is installed (the package reuses an existing mysql user), installs
# the pinned packages, empties the default datadir and slims the filesystem.
#
# Usage: chroot-setup.sh PINNED_PKG=VERSION... -- OTHER_PKG...
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive LC_ALL=C LANG=C

pinned=()
while [[ $# -gt 0 && $1 != -- ]]; do
  pinned+=("$1")
  shift
done
[[ ${1:-} == -- ]] && shift
others=("$@")

# Never start services from maintainer scripts (there is no init in a chroot).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# Keep documentation, man pages and foreign locales out of every later install.
cat >/etc/dpkg/dpkg.cfg.d/90-mysql-cluster-slim <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-include=/usr/share/locale/en/*
path-include=/usr/share/locale/en_*/*
EOF
cat >/etc/apt/apt.conf.d/90-mysql-cluster <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
EOF

# uid/gid 999 as in the official mariadb image, created before the package.
if ! getent group mysql >/dev/null; then
  groupadd --system --gid 999 mysql
fi
if ! getent passwd mysql >/dev/null; then
  useradd --system --uid 999 --gid 999 --home-dir /var/lib/mysql --no-create-home \
    --shell /usr/sbin/nologin --comment "MariaDB Server" mysql
fi

apt-get update -q
apt-get install -y -q --no-install-recommends "${pinned[@]}" "${others[@]}"

# The package must have reused our user and group.
[[ $(id -u mysql) == 999 && $(id -g mysql) == 999 ]] || {
  echo "chroot-setup: mysql is $(id mysql), expected uid=999 gid=999" >&2
  exit 1
}

rm -f /usr/sbin/policy-rc.d

# Empty datadir (the Kubernetes scripts initialise their own) and socket dir.
rm -rf /var/lib/mysql
mkdir -p /var/lib/mysql /run/mysqld
chown 999:999 /var/lib/mysql /run/mysqld
chmod 0755 /var/lib/mysql
chmod 1777 /run/mysqld

# Slim: package caches and lists, docs, man pages, locales other than C/en, logs.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/partial \
  /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/cache/ldconfig/aux-cache
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian /usr/share/linda
if [[ -d /usr/share/locale ]]; then
  find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name 'en' -not -name 'en_*' \
    -not -name locale.alias -exec rm -rf {} +
fi
find /var/log -type f -delete
rm -rf /var/tmp/* /root/.cache /etc/machine-id
