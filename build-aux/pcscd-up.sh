#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Makes sure a pcscd with the vsmartcard vpcd readers is running. Prints the pid of a pcscd it
# started (the caller stops it), or nothing when one was already running.
set -euo pipefail

if [ ! -f /etc/reader.conf.d/vpcd ]; then
  echo "pcscd-up: /etc/reader.conf.d/vpcd is missing: install vsmartcard-vpcd" >&2
  exit 1
fi

if pgrep -x pcscd >/dev/null 2>&1 && [ -S /run/pcscd/pcscd.comm ]; then
  exit 0
fi

sudo=''
[ "$(id -u)" -eq 0 ] || sudo='sudo'
$sudo rm -f /run/pcscd/pcscd.pid
$sudo mkdir -p /run/pcscd
# -f: foreground (we keep the pid); --auto-exit is not used, the harness stops it.
$sudo pcscd -f >/tmp/tke-pcscd.log 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 50); do
  [ -S /run/pcscd/pcscd.comm ] && break
  sleep 0.1
done
if [ ! -S /run/pcscd/pcscd.comm ]; then
  echo "pcscd-up: pcscd did not start; its log:" >&2
  cat /tmp/tke-pcscd.log >&2
  exit 1
fi
echo "$pid"
