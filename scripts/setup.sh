#!/usr/bin/env bash
# Install everything gridgeo needs on Debian 12: system packages, a virtual environment in
# .venv and the pinned Python packages of requirements.lock. Safe to run again.
#   scripts/setup.sh          the service
#   scripts/setup.sh --dev    the service and the test tools (adds Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pkgs=(postgresql-15 postgresql-15-postgis-3)
[ "$dev" = 1 ] && pkgs+=(chromium chromium-driver fonts-wqy-microhei gdal-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt)"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The Debian package starts a system-wide cluster; gridgeo runs its own and does not need it.

PY=""
for cand in python3.11 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    PY="$cand"; break
  fi
done
if [ -z "$PY" ]; then
  echo "setup: Python 3.11 not found; installing python3.11 (apt)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3.11 python3.11-venv
  PY=python3.11
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
.venv/bin/python -m uv pip install -q --python .venv/bin/python -r requirements.lock
.venv/bin/python -m uv pip install -q --python .venv/bin/python --no-deps -e .
echo "setup: ready (.venv/bin/gridgeo)"
