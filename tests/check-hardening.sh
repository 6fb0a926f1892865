#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Each program that holds secrets (tke, tkectl, tke-softunit, tke-vcard) is non-dumpable and has
# no core file limit while it runs, read from outside in /proc. Each runs as an unprivileged user
# (nobody), so that non-dumpable shows: the kernel gives /proc/<pid>/status of a non-dumpable
# process to root instead of to the process's owner. TAP.
set -u

build=${TKE_BUILD_ROOT:-.}
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
skip_all () {
  echo "SKIP SKIP SKIP: $1" >&2
  echo "1..0 # SKIP $1"
  exit 77
}

[ "$(id -u)" = 0 ] || skip_all "running the programs as another user needs root"
for tool in setpriv socat Xvfb; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done
user=nobody
uid=$(id -u "$user") || skip_all "there is no user $user"

work=$(mktemp -d)
chmod 0755 "$work"
pids=()
cleanup () {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.5
  # tkectl blocked in open() of the FIFO does not see SIGTERM until it returns.
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
# Started with & in the background, this is the subshell that exec's the program: $! is its pid.
as_user () { exec setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups "$@"; }
free_port () { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -m 0700 "$work/home" && chown "$user" "$work/home"
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share

# check NAME PID: the process runs as the user, /proc says it is not dumpable, no core file.
check () {
  local name=$1 pid=$2 owner_of_process owner_of_status core
  for _ in $(seq 1 100); do [ -r "/proc/$pid/limits" ] && break; sleep 0.1; done
  # The exec'd program, not the setpriv that started it.
  for _ in $(seq 1 100); do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" != "$(command -v setpriv)" ] && break
    sleep 0.1
  done
  sleep 0.5
  owner_of_process=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
  owner_of_status=$(stat -c %u "/proc/$pid/status" 2>/dev/null)
  core=$(awk '/^Max core file size/ { print $5 " " $6 }' "/proc/$pid/limits" 2>/dev/null)
  if [ "$owner_of_process" = "$uid" ] && [ "$owner_of_status" = 0 ] && [ "$core" = "0 0" ]; then
    ok "$name runs non-dumpable with no core file (uid $owner_of_process, /proc owned by $owner_of_status, core $core)"
  else
    not_ok "$name: uid '$owner_of_process', /proc/<pid>/status owned by '$owner_of_status' (0 when non-dumpable), core limit '$core'"
  fi
}

echo "1..4"

# tke-softunit, serving.
as_user "$build/src/softunit/tke-softunit" --state-dir "$work/home/su" --listen 127.0.0.1:0 \
  >"$work/su.out" 2>&1 &
pids+=($!)
check tke-softunit $!

# tkectl, waiting for a password on a FIFO.
mkfifo "$work/pw" && chown "$user" "$work/pw"
(export TKE_FILES=$work/home/files
  as_user "$build/src/cli/tkectl" sigkey-add Hardening --password-file "$work/pw" \
    >"$work/cli.out" 2>&1) &
pids+=($!)
check tkectl $!

# tke-vcard, inserted into a stand-in vpcd reader that holds the connection open.
(as_user "$build/src/vcard/tke-vcard" create "$work/home/card.img" >/dev/null 2>&1)
port=$(free_port)
socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:sleep 60" </dev/null >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
sleep 0.2
as_user "$build/src/vcard/tke-vcard" insert "$work/home/card.img" --port "$port" \
  >"$work/vcard.out" 2>&1 &
pids+=($!)
check tke-vcard $!

# tke --demo, on an X server of its own that lets the user in.
# -displayfd picks a display no other test's X server has.
Xvfb -displayfd 5 -ac -screen 0 1024x768x24 5>"$work/display" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/display" ] && break; sleep 0.1; done
display=:$(head -n 1 "$work/display")
(export DISPLAY=$display GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR=$build/data
  as_user "$build/src/app/tke" --demo >"$work/tke.out" 2>&1) &
pids+=($!)
check tke $!
# What a program that did not stay up said.
[ "$failed" = 0 ] || for out in "$work"/*.out; do echo "# $out:"; sed 's/^/#   /' "$out"; done

exit $failed
