#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Two tke-softunit services started with default settings name their instances and units
# differently (listings read with curl): "instance-<suffix>" and LOCATION [local].[<host name>-
# <suffix>].[i].[u], made at first start and kept across a restart. A configuration's own names
# are used as given. TAP.
set -u

build=${TKE_BUILD_ROOT:-.}
softunit=$build/src/softunit/tke-softunit
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup () {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# start NAME [ARG...]: a service with its state in NAME/, its first lines in NAME.out.
start () {
  local name=$1
  shift
  "$softunit" --state-dir "$work/$name" --listen 127.0.0.1:0 "$@" >"$name.out" 2>"$name.err" &
  last_pid=$!
  pids+=("$last_pid")
  for _ in $(seq 1 100); do grep -q '^Units:' "$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^Units:' "$name.out" || { echo "Bail out! tke-softunit $name did not start"; sed 's/^/# /' "$name.err"; exit 1; }
}
# units NAME KEY: each unit as "INSTANCE LOCATION", from the service's own listing.
units () {
  curl -sk -H "Authorization: Bearer $2" "$(sed -n 's/^URL: //p' "$1.out")/v1/instances" |
    python3 -c '
import json, sys
for instance in json.load(sys.stdin)["instances"]:
    for unit in instance["units"]:
        print(instance["name"], unit["location"])'
}

start a
pid_a=$last_pid
key_a=$(sed -n 's/^API key: //p' a.out)
start b
key_b=$(sed -n 's/^API key: //p' b.out)
units a "$key_a" >a.units
units b "$key_b" >b.units
sed 's/^/# a: /' a.units
sed 's/^/# b: /' b.units

host=$(hostname | cut -d. -f1 | tr -c 'A-Za-z0-9_\n-' '-' | cut -c1-27)
names_ok () { # names_ok FILE: five units, one instance-XXXX, locations [local].[HOST-XXXX].[1].[u]
  python3 - "$1" "$host" <<'PY'
import re, sys
rows = [line.split() for line in open(sys.argv[1])]
host = re.escape(sys.argv[2])
assert len(rows) == 5, rows
suffix = re.fullmatch(r"instance-([0-9a-f]{4})", rows[0][0]).group(1)
for u, (instance, location) in enumerate(rows, 1):
    assert instance == rows[0][0], rows
    assert re.fullmatch(rf"\[local\]\.\[{host}-{suffix}\]\.\[1\]\.\[{u}\]", location), location
PY
}
check "service a names its instance instance-XXXX and its units [local].[$host-XXXX].[1].[u]" names_ok a.units
check "service b does too" names_ok b.units
check "the two services' instance names differ" \
  test "$(cut -d' ' -f1 a.units | sort -u)" != "$(cut -d' ' -f1 b.units | sort -u)"
check "no LOCATION of one service is one of the other's" \
  bash -c "! grep -qxFf <(cut -d' ' -f2 a.units) <(cut -d' ' -f2 b.units)"

# The names are made once: a restart keeps them.
kill "$pid_a"
wait "$pid_a" 2>/dev/null
start a
units a "$key_a" >a2.units
check "after a restart, service a's names and locations are the ones it made at first start" \
  cmp -s a.units a2.units

# Names from a configuration file are used as given.
cat >c.conf <<CONF
[service]
state-dir=$work/c
listen=127.0.0.1:0
host=vault-7

[instance prod]
operational-units=1
failover-units=1
CONF
"$softunit" --config c.conf >c.out 2>c.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^Units:' c.out 2>/dev/null && break; sleep 0.1; done
units c "$(sed -n 's/^API key: //p' c.out)" >c.units
sed 's/^/# c: /' c.units
check "a configuration's host and instance name are used as given" \
  test "$(cat c.units)" = "$(printf 'prod [local].[vault-7].[1].[1]\nprod [local].[vault-7].[1].[2]')"

echo "1..$n"
exit $failed
