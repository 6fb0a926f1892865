#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The trust path from outside, against tkectl and a tke-softunit started here, through real TLS on
# loopback: a relay on the service's address whose certificate a CA of the system store accepts
# (an enterprise TLS-inspection CA; made trusted for one process with `unshare -m` and a bind
# mount over the CA bundle) is refused with both fingerprints named and never sees the API key;
# a service that speaks only TLS 1.2 is refused. TAP.
set -u
umask 077

build=${TKE_BUILD_ROOT:-.}
tkectl=${TKECTL:-$build/src/cli/tkectl}
softunit=$build/src/softunit/tke-softunit
# shellcheck source=../lib/trusted-relay.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/trusted-relay.sh"

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { if eval "$2"; then ok "$1"; else not_ok "$1"; [ -f err ] && diag err; fi; }
diag () { sed 's/^/# /' "$@"; }
skip_all () {
  echo "SKIP SKIP SKIP: $1" >&2
  echo "1..0 # SKIP $1"
  exit 77
}

for tool in openssl socat unshare mount; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done
[ -f "$system_bundle" ] || skip_all "there is no system CA bundle at $system_bundle"
unshare -m true 2>/dev/null || skip_all "unshare -m is not allowed here (the test needs root)"

work=$(mktemp -d)
pids=()
cleanup () {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

free_port () { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$softunit" --state-dir "$work/softunit" --listen 127.0.0.1:0 >softunit.out 2>softunit.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^Units:' softunit.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^URL: //p' softunit.out)
fp=$(sed -n 's/^Certificate SHA-256: //p' softunit.out)
api_key=$(sed -n 's/^API key: //p' softunit.out)
port=${url##*:}
[ -n "$api_key" ] || { echo "Bail out! tke-softunit did not start"; diag softunit.err; exit 1; }

# The inspection CA, trusted by the system store of what `trusting` starts, and the relay on
# loopback with a certificate it issued for 127.0.0.1, in front of the real service.
start_trusted_relay "$work" "$port"

echo "1..30"

# The CA really is trusted inside `trusting`: curl, an independent client, accepts the relay.
trusting curl -s -o /dev/null -w "%{http_code}" "$relay_url/v1/instances" >curl.out 2>&1
check "the test CA is trusted by the system store inside unshare (curl through the relay: $(cat curl.out))" \
  '[ "$(cat curl.out)" = 401 ]'
: >relay.log

# Adding the service through the relay with the fingerprint its operator gave.
export TKE_CONFIG_DIR=$work/config-a
trusting "$tkectl" service-add "$relay_url" --api-key "$api_key" --fingerprint "$fp" >out 2>err
rc=$?
check "service-add through a CA-trusted relay is refused (exit 6, got $rc)" '[ $rc = 6 ]'
check "the refusal names the fingerprint presented and the pinned one" \
  'grep -q "$relay_fp" err && grep -q "$fp" err'
check "the relay saw no request and no API key" \
  '! grep -qE "Authorization|$api_key|GET /" relay.log'
[ $failed = 0 ] || diag err relay.log

# Adding it through the relay without a fingerprint: the probe shows what the relay presents,
# and the operator's "no" (here: no terminal and no --yes) ends it with nothing sent.
: >relay.log
export TKE_CONFIG_DIR=$work/config-b
trusting "$tkectl" service-add "$relay_url" --api-key "$api_key" </dev/null >out 2>err
rc=$?
check "the probe through the relay shows the relay's fingerprint for comparison (exit $rc)" \
  '[ $rc != 0 ] && grep -q "$relay_fp" err'
check "the probe sent no request and no API key" '! grep -qE "Authorization|$api_key|GET /" relay.log'

# A service pinned directly, then reached through the relay (a redirected address).
export TKE_CONFIG_DIR=$work/config-c
"$tkectl" service-add "$url" --api-key "$api_key" --fingerprint "$fp" >out 2>err
check "service-add of the real service with its fingerprint works" '[ $? = 0 ]'
sed -i "s#$url#$relay_url#" "$TKE_CONFIG_DIR/config.json"
: >relay.log
trusting "$tkectl" cryptounits >out 2>err
rc=$?
check "cryptounits through the CA-trusted relay is refused with both fingerprints (exit $rc)" \
  '[ $rc = 6 ] && grep -q "$relay_fp" err && grep -q "$fp" err'
check "the relay saw no request and no API key" '! grep -qE "Authorization|$api_key|GET /" relay.log'

# A service with the pinned certificate that speaks TLS 1.2 only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old.key -out old.pem \
  -subj /CN=127.0.0.1 -days 2 2>/dev/null
old_fp=$(openssl x509 -in old.pem -outform der | sha256sum | cut -d' ' -f1)
old_port=$(free_port)
openssl s_server -quiet -tls1_2 -accept "$old_port" -cert old.pem -key old.key -www >old.log 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$old_port") 2>/dev/null && break; sleep 0.1; done
export TKE_CONFIG_DIR=$work/config-d
"$tkectl" service-add "https://127.0.0.1:$old_port" --api-key "$api_key" --fingerprint "$old_fp" \
  >out 2>err
rc=$?
check "a TLS 1.2 service with the pinned certificate is refused (exit $rc: $(head -c 200 err))" \
  '[ $rc != 0 ] && ! grep -q "^Added" out && ! grep -q "$api_key" old.log'

# The units' identities, against a relay that holds the service's own certificate and key.
export TKE_CONFIG_DIR=$work/config-e
export TKE_FILES=$work/files
printf 'correct horse battery staple\n' >pw
lines () { for _ in $(seq 1 "$1"); do echo 'correct horse battery staple'; done >pw.lines; }
new_register () { # the new master key register of every unit, asked of the real service
  curl -sk -H "Authorization: Bearer $api_key" "$url/v1/instances" | /usr/bin/python3 -c '
import json, subprocess, sys
units = [u["id"] for i in json.load(sys.stdin)["instances"] for u in i["units"]]
for u in units:
    state = json.loads(subprocess.run(["curl", "-sk", "-H", "Authorization: Bearer " + sys.argv[1],
        sys.argv[2] + "/v1/units/" + u], capture_output=True, text=True).stdout)
    print(state["registers"]["new"]["state"], state["registers"]["new"]["vp"])
' "$api_key" "$url" | sort | uniq -c | tr -s ' '
}

"$tkectl" service-add "$url" --api-key "$api_key" --fingerprint "$fp" >out 2>err
printed=$(sed -n 's/^Unit \([^ ]*\) identity \([^ ]*\)$/\1 \2/p' softunit.out | sort)
pinned=$(sed -n 's/^  crypto unit [0-9]*  \([^ ]*\)  \([^ ]*\)$/\1 \2/p' out | sort)
check "service-add shows each unit's pinned identity thumbprint, as tke-softunit printed it" \
  '[ -n "$printed" ] && [ "$printed" = "$pinned" ]'
"$tkectl" cryptounits --json >units.json 2>err
independent=$(curl -sk -H "Authorization: Bearer $api_key" "$url/v1/instances" | /usr/bin/python3 -c '
import json, sys
from jwcrypto import jwk
for i in json.load(sys.stdin)["instances"]:
    for u in i["units"]:
        print(u["id"], jwk.JWK(**u["identity_key"]).thumbprint())
' | sort)
listed=$(/usr/bin/python3 -c '
import json
for u in json.load(open("units.json")):
    print(u["id"], u["identity"])
' | sort)
old3=$(/usr/bin/python3 -c 'import json; print([u["identity"] for u in json.load(open("units.json")) if u["num"] == 3][0])')
check "cryptounits --json shows the RFC 7638 thumbprints that jwcrypto computes" \
  '[ -n "$independent" ] && [ "$independent" = "$listed" ] && [ "$listed" = "$printed" ]'

"$tkectl" cryptounit-add 1 2 3 4 5 >/dev/null 2>&1
"$tkectl" sigkey-add Alice --password-file pw >/dev/null 2>&1
for i in 1 2; do
  "$tkectl" mk-add --random --description "Key part $i" --password-file pw >/dev/null 2>&1
done
"$tkectl" sigkey-sel Alice >/dev/null 2>&1
lines 1
"$tkectl" cryptounit-admin-add --sigkey Alice --password-file pw.lines >out 2>err &&
  "$tkectl" cryptounit-thrhld-set --signature 1 --revocation 1 --password-file pw.lines >out 2>err
check "Alice is installed and the thresholds are 1/1 (through the real service)" '[ $? = 0 ]'
[ $failed = 0 ] || diag err

# A stranger's check, with only docs/unit-api.md: each receipt of the last command in the journal
# verifies with the unit's identity key (jwcrypto), names the unit, and its audit head is the
# hash of the last entry of the unit's audit log, whose entries name the unit.
if tail -n 1 "$TKE_CONFIG_DIR/journal.jsonl" | /usr/bin/python3 -c '
import json, subprocess, sys
from jwcrypto import jwk, jws
key, url = sys.argv[1], sys.argv[2]
def get(path):
    return json.loads(subprocess.run(["curl", "-sk", "-H", "Authorization: Bearer " + key, url + path],
                                     capture_output=True, text=True, check=True).stdout)
identities = {u["id"]: jwk.JWK(**u["identity_key"]) for i in get("/v1/instances")["instances"]
              for u in i["units"]}
entry = json.loads(sys.stdin.read())
assert len(entry["units"]) == 5, entry
for unit in entry["units"]:
    token = jws.JWS()
    token.deserialize(unit["receipt"])
    token.verify(identities[unit["unit"]])
    receipt = json.loads(token.payload)
    audit = get("/v1/units/" + unit["unit"] + "/audit")["entries"]
    assert receipt["unit"] == unit["unit"] and receipt["op"] == "thresholds.set", receipt
    assert receipt["audit"] == audit[-1]["hash"], (receipt, audit[-1])
    assert all(e["unit"] == unit["unit"] for e in audit), audit
' "$api_key" "$url" 2>receipts.err; then
  ok "every receipt verifies with jwcrypto and names its unit's audit chain head"
else
  not_ok "receipts against the audit logs"
  diag receipts.err
fi

relay_port_file=$work/relay.port
start_relay () { # start_relay MODE UNIT_INDEX
  rm -f "$relay_port_file" relay2.log
  /usr/bin/python3 "$TKE_SOURCE_ROOT/tests/cli/rewriting-relay.py" "$work/softunit/tls.pem" "$url" \
    "$relay_port_file" "$1" "$2" "$work/relay2.log" 2>relay2.err &
  relay_pid=$!
  pids+=($relay_pid)
  for _ in $(seq 1 100); do [ -s "$relay_port_file" ] && break; sleep 0.1; done
  touch relay2.log
  sed -i "s#https://127.0.0.1:[0-9]*\"#https://127.0.0.1:$(cat "$relay_port_file")\"#" \
    "$TKE_CONFIG_DIR/config.json"
}
stop_relay () { kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null; }

before=$(new_register)
start_relay importer 0
lines 3
"$tkectl" cryptounit-mk-load --mk Key_part_1 --mk Key_part_2 --password-file pw.lines \
  </dev/null >out 2>err
rc=$?
check "mk-load through a relay with the real certificate and forged importer keys is refused (exit $rc)" \
  '[ $rc != 0 ] && grep -qi "importer\|signature\|verify" err'
check "no command reached the units: no POST through the relay, every new register as before" \
  '! grep -q "^POST" relay2.log && [ "$(new_register)" = "$before" ]'
[ $failed = 0 ] || diag err relay2.log
stop_relay

start_relay replay 0
lines 1
"$tkectl" cryptounit-thrhld-set --signature 1 --revocation 1 --password-file pw.lines \
  </dev/null >out 2>err
check "a command through the replaying relay is accepted the first time" '[ $? = 0 ]'
lines 1
"$tkectl" cryptounit-thrhld-set --signature 1 --revocation 1 --password-file pw.lines \
  </dev/null >out 2>err
rc=$?
check "the next command, answered with the first one's signed receipt, is not counted as accepted (exit $rc)" \
  '[ $rc != 0 ] && grep -q "does not answer the command that was sent" err out'
check "the journal records the replayed answers as BAD_RECEIPT" \
  'tail -n 1 "$TKE_CONFIG_DIR/journal.jsonl" | grep -q BAD_RECEIPT'
[ $failed = 0 ] || diag out err
stop_relay

counters () { # every unit's counter, asked of the real service
  curl -sk -H "Authorization: Bearer $api_key" "$url/v1/instances" | /usr/bin/python3 -c '
import json, subprocess, sys
for i in json.load(sys.stdin)["instances"]:
    for u in i["units"]:
        state = json.loads(subprocess.run(["curl", "-sk", "-H", "Authorization: Bearer " + sys.argv[1],
            sys.argv[2] + "/v1/units/" + u["id"]], capture_output=True, text=True).stdout)
        print(state["counter"])
' "$api_key" "$url" | tr '\n' ' '
}
start_relay drop 0
counters_before=$(counters)
lines 1
"$tkectl" cryptounit-thrhld-set --signature 1 --revocation 1 --password-file pw.lines \
  </dev/null >out 2>err
rc=$?
counters_after=$(counters)
expected=$(for c in $counters_before; do printf '%s ' $((c + 1)); done)
check "a command whose answers are lost is sent once to each unit, never resent ($counters_before -> $counters_after)" \
  '[ "$counters_after" = "$expected" ] && [ "$(grep -c "^POST" relay2.log)" = 5 ]'
check "tkectl says per unit that the command was applied though its answer was lost (exit $rc)" \
  '[ $rc != 0 ] && [ "$(grep -c "a command was applied, but its receipt was lost" out err | awk -F: "{ s += \$2 } END { print s }")" -ge 5 ]'
[ $failed = 0 ] || diag out err
stop_relay

# Text from a unit reaches the operator escaped: no ESC, no bidi override in what tkectl prints.
start_relay text 0
raw_controls () { /usr/bin/python3 -c 'import sys; d = sys.stdin.buffer.read(); sys.exit(0 if b"\x1b" in d or "\u202e".encode() in d or "\u2066".encode() in d else 1)'; }
"$tkectl" cryptounits >out 2>err
check "cryptounits shows a unit's instance name and location with its controls escaped" \
  'grep -qF "inst\\x1b[31mance\\u202e1" out && grep -qF "\\u2066" out && ! cat out err | raw_controls'
lines 1
"$tkectl" cryptounit-thrhld-set --signature 1 --revocation 1 --password-file pw.lines \
  </dev/null >out 2>err
check "a unit's refusal message is printed with its controls escaped" \
  'grep -qF "Refused\\x1b[2J" out err && ! cat out err | raw_controls'
[ $failed = 0 ] || diag out err
stop_relay

start_relay identity 2
"$tkectl" cryptounits >out 2>err
rc=$?
check "cryptounits refuses a unit that presents another identity key (exit 6, got $rc)" \
  '[ $rc = 6 ] && grep -q "Crypto unit 3 .* presents another identity key than the one pinned on 20" err'
check "cryptounits still lists the units, the changed one marked" \
  'grep -q "CHANGED: REFUSED" out && [ "$(grep -c "^instance" out)" = 5 ]'
"$tkectl" cryptounit-mk-load --mk Key_part_1 --mk Key_part_2 --password-file pw.lines \
  </dev/null >out 2>err
rc=$?
check "mk-load with a unit whose identity changed is refused before anything (exit 6, got $rc)" \
  '[ $rc = 6 ] && ! grep -q "^POST" relay2.log && [ "$(new_register)" = "$before" ]'
"$tkectl" cryptounit-repin 3 </dev/null >out 2>err
check "re-pinning needs a confirmation" '[ $? = 2 ] && grep -q -- "--yes" err'
"$tkectl" cryptounit-repin 3 --yes >out 2>err
rc=$?
check "cryptounit-repin 3 --yes pins the key it presents now (exit $rc)" \
  '[ $rc = 0 ] && "$tkectl" cryptounits >/dev/null 2>&1'
check "the re-pin is in the ceremony journal, with both thumbprints" \
  'grep "repin-unit-identity" "$TKE_CONFIG_DIR/journal.jsonl" | grep -q "$old3"'
stop_relay

# The pins file damaged: an error, never an empty set of pins.
printf '{"version": 1, "units": {"x": {"thumbprint": "AAAA"' >"$TKE_CONFIG_DIR/unit-pins.json"
"$tkectl" cryptounits >out 2>err
rc=$?
check "a damaged pins file is an error that names it (exit $rc)" \
  '[ $rc != 0 ] && grep -q "unit-pins.json" err'

exit $failed
