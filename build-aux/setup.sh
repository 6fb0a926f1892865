#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs the Debian packages Open TKE needs (build-aux/debian-packages.txt) when any is missing,
# then configures and builds the project in _build. Usage: setup.sh [--test] [BUILDDIR [MESON ARGS]]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
groups='build'
if [ "${1:-}" = "--test" ]; then
  groups='build|test'
  shift
fi
builddir=${1:-"$top/_build"}
shift || true

mapfile -t wanted < <(sed -nE "s/^($groups): //p" "$top/build-aux/debian-packages.txt" | tr ' ' '\n' | sed '/^$/d')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo'
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q </dev/null
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$top" "$@"
elif [ $# -gt 0 ]; then
  meson configure "$builddir" "$@"
fi
ninja -C "$builddir"
