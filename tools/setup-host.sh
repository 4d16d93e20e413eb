#!/usr/bin/env bash
# Installs what the unit, script and check tiers need on a bare Debian machine: the database server and backup
# tool the script tests run for real, socat (the clone transport), curl and zstd (the backup's S3 client and
# compressor), shellcheck, and the Python virtualenv.
# Idempotent: a second run only checks. The end-to-end toolchain has its own scripts under e2e/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${VENV:-$here/.venv}"
debs=(mariadb-server mariadb-client mariadb-backup socat curl zstd shellcheck python3-venv)

log() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  # The tests start their own mariadbd processes; keep the package from starting a system server.
  policy=/usr/sbin/policy-rc.d
  created_policy=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=true
    trap 'rm -f "$policy"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Other set-up scripts (the e2e toolchain, the image build) may hold the dpkg lock: wait for it.
  apt_opts=(-o DPkg::Lock::Timeout=900 -y -qq --no-install-recommends)
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get install "${apt_opts[@]}" "${missing[@]}" >/dev/null
  if $created_policy; then rm -f "$policy"; trap - EXIT; fi
fi

if [[ ! -x $venv/bin/python ]]; then
  log "creating virtualenv $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.installed-$(sha256sum "$here/pyproject.toml" | cut -c1-16)"
if [[ ! -e $stamp ]]; then
  log "installing Python packages into $venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -e "${here}[dev]"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
log "ready"
