#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tkectl without cards or services: --help of every command, key files made by tkectl and opened
# by independent tools (openssl pkcs12, python3-jwcrypto), wrong passwords and damaged files with
# their exit codes, and removals that need a confirmation. TAP.
set -u
umask 077

build=${TKE_BUILD_ROOT:-.}
tkectl=${TKECTL:-$build/src/cli/tkectl}
python=/usr/bin/python3
softunit=$build/src/softunit/tke-softunit

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
diag () { sed 's/^/# /' "$@"; }

work=$(mktemp -d)
su_pid=''
trap '[ -n "$su_pid" ] && kill "$su_pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
export TKE_CONFIG_DIR=$work/config
export TKE_FILES=$work/files

# expect DESCRIPTION EXPECTED-RC PATTERN ARGS...: stderr (or stdout) must match PATTERN.
expect () {
  local desc=$1 want=$2 pattern=$3
  shift 3
  "$tkectl" "$@" >out.txt 2>err.txt </dev/null
  rc=$?
  if [ "$rc" = "$want" ] && cat out.txt err.txt | grep -qE -- "$pattern"; then
    ok "$desc"
  else
    not_ok "$desc (exit $rc, wanted $want and /$pattern/)"
    diag out.txt err.txt
  fi
}

# Every command has --help, which exits 0 and shows its usage and the exit codes.
commands=$("$tkectl" --help | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
bad=''
count=0
for c in $commands; do
  count=$((count + 1))
  "$tkectl" "$c" --help >out.txt 2>&1 && grep -q "tkectl $c" out.txt && grep -q "Exit codes" out.txt ||
    bad="$bad $c"
done
if [ -z "$bad" ] && [ "$count" -ge 35 ]; then
  ok "all $count commands have --help with their usage and the exit codes"
else
  not_ok "--help of:$bad ($count commands)"
fi
# Bash completion: commands, then a command's options from its --help.
completion=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/data/completions/tkectl
got=$(PATH=$(dirname "$tkectl"):$PATH bash -c '
  source "$1"
  COMP_WORDS=(tkectl cryptounit-mk-c); COMP_CWORD=1; _tkectl; echo "${COMPREPLY[*]}"
  COMP_WORDS=(tkectl cryptounit-thrhld-set --rev); COMP_CWORD=2; _tkectl; echo "${COMPREPLY[*]}"
' _ "$completion" 2>&1)
if [ "$got" = "cryptounit-mk-commit cryptounit-mk-clrnew cryptounit-mk-clrcur
--revocation" ]; then
  ok "bash completion completes commands and options"
else
  not_ok "bash completion gave: $got"
fi
expect "an unknown command is bad input" 2 "not a command" frobnicate
expect "an unknown option is bad input" 2 "Unknown option" cryptounits --frob

printf 'correct horse battery staple\n' >pw
printf 'wrong password\n' >badpw

# Signature key files.
expect "sigkey-add makes a P-384 signature key file" 0 "signature key of Carol \(P-384\)" \
  sigkey-add Carol --curve P-384 --password-file pw
if [ "$(stat -c %a "$TKE_FILES")" = 700 ] && [ "$(stat -c %a "$TKE_FILES/Carol.p12")" = 600 ]; then
  ok "files dir 0700, file 0600"
else
  not_ok "file modes: $(stat -c '%a %n' "$TKE_FILES" "$TKE_FILES"/*)"
fi
expect "sigkey-add refuses a 31-character name" 2 "1 to 30" \
  sigkey-add "$(printf 'x%.0s' $(seq 1 31))" --password-file pw
"$tkectl" sigkeys --json >keys.json 2>err.txt
if "$python" -c '
import json
keys = json.load(open("keys.json"))
assert len(keys) == 1 and keys[0]["name"] == "Carol" and keys[0]["curve"] == "P-384", keys
assert len(keys[0]["ski"]) == 64
'; then ok "sigkeys --json lists Carol, P-384, without a password"; else not_ok "sigkeys"; diag keys.json err.txt; fi
if openssl pkcs12 -in "$TKE_FILES/Carol.p12" -passin file:pw -nokeys 2>/dev/null |
   openssl x509 -noout -subject 2>/dev/null | grep -q 'CN *= *Carol'; then
  ok "openssl pkcs12 opens the file tkectl made: CN = Carol"
else
  not_ok "openssl pkcs12 could not read Carol.p12"
fi
expect "a wrong password is a key file error (7), checked before any card" 7 "password" \
  card-import-sigkey "$TKE_FILES/Carol.p12" --password-file badpw --reader2 none
head -c 70000 /dev/zero | tr '\0' 'x' | "$tkectl" sigkey-add Huge --password-file - >out.txt 2>err.txt
rc=$?
if [ "$rc" != 0 ] && grep -q "more than 65536 bytes" err.txt && [ ! -e "$TKE_FILES/Huge.p12" ]; then
  ok "a password stream longer than 64 KiB is refused, not cut (exit $rc)"
else
  not_ok "an endless password stream (exit $rc)"
  diag err.txt
fi

# Key part files.
part=00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210
expect "mk-add --value makes a key part file" 0 "key part “Part two”" \
  mk-add --value "$part" --description "Part two" --password-file pw
printf 'correct horse battery staple\n' | "$tkectl" mk-add --random --description "Part one" \
  --password-file - >out.txt 2>err.txt
rc=$?
[ "$rc" = 0 ] && ok "mk-add --random with the password on standard input" || { not_ok "mk-add --random (exit $rc)"; diag err.txt; }
expect "mk-add with both --random and --value is bad input" 2 "either --random or --value" \
  mk-add --random --value "$part" --description x --password-file pw
expect "mk-add with a short value is bad input" 2 "64 hex digits" \
  mk-add --value 0011 --description x --password-file pw
"$tkectl" mks --json >parts.json 2>err.txt
if "$python" - "$part" <<'PY'
import hashlib, json, sys
parts = {p["description"]: p for p in json.load(open("parts.json"))}
assert set(parts) == {"Part one", "Part two"}, parts
vp = bytearray(hashlib.sha256(b"\x01" + bytes.fromhex(sys.argv[1])).digest())
vp[-4:] = b"\0\0\0\0"
assert parts["Part two"]["vp"] == vp.hex(), (parts["Part two"], vp.hex())
PY
then ok "mks --json shows both parts; the VP of the given part is SHA-256(01 || part) with 4 zero bytes"
else not_ok "mks"; diag parts.json err.txt; fi
two=$(ls "$TKE_FILES"/Part_two*.jwe)
if "$python" - "$two" "$part" <<'PY'
import sys
from jwcrypto import jwe, jwk
token = jwe.JWE()
token.deserialize(open(sys.argv[1]).read())
token.decrypt(jwk.JWK.from_password("correct horse battery staple"))
assert token.payload.hex() == sys.argv[2], token.payload.hex()
PY
then ok "python3-jwcrypto opens the key part file with the password"
else not_ok "jwcrypto could not open $two"; fi
expect "a wrong password for a key part file exits 7" 7 "password" \
  card-import-keypart "$two" --password-file badpw --reader2 none
head -c 100 "$two" >"$work/truncated.jwe"
expect "a damaged key part file exits 7 and names the file" 7 "truncated.jwe" \
  card-import-keypart "$work/truncated.jwe" --password-file pw --reader2 none

# Removals ask first.
expect "mk-rm without a terminal needs --yes" 2 "--yes" mk-rm Part_two
[ -f "$two" ] && ok "the key part file is still there" || not_ok "mk-rm removed without --yes"
expect "mk-rm --yes removes it" 0 "Removed" mk-rm Part_two --yes
[ ! -e "$two" ] && ok "the key part file is gone" || not_ok "still there"
expect "sigkey-rm of an unknown file is bad input" 2 "no file" sigkey-rm Nobody --yes

# Services: bad input and an unreachable one change nothing.
expect "service-add of a non-https URL is bad input" 2 "https" service-add http://x --api-key k
expect "service-add of a service nobody runs exits 6" 6 "can't be reached" \
  service-add https://127.0.0.1:1 --api-key k --yes
[ ! -e "$TKE_CONFIG_DIR/config.json" ] && ok "no service was saved" || not_ok "config written"


# The seed ceremony with files only (the CLI path of IBM's docs) -------------------------------
export TKE_CONFIG_DIR=$work/config2
export TKE_FILES=$work/files2
"$softunit" --state-dir "$work/softunit" --listen 127.0.0.1:0 >softunit.out 2>softunit.err &
su_pid=$!
for _ in $(seq 1 100); do
  grep -q '^Units:' softunit.out 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^URL: //p' softunit.out)
fingerprint=$(sed -n 's/^Certificate SHA-256: //p' softunit.out)
api_key=$(sed -n 's/^API key: //p' softunit.out)
unit_states () {
  "$python" - "$url" "$api_key" <<'PY'
import json, ssl, sys, urllib.request
url, key = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def get(path):
    req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, context=ctx) as answer:
        return json.load(answer)
print(json.dumps([get("/v1/units/" + u["id"]) for i in get("/v1/instances")["instances"]
                  for u in i["units"]], sort_keys=True))
PY
}
lines () { # lines N: N lines of the password
  for _ in $(seq 1 "$1"); do echo 'correct horse battery staple'; done >pw.lines
}
# check DESCRIPTION COMMAND...: ok when tkectl exits 0.
check () {
  local desc=$1
  shift
  if "$tkectl" "$@" >out.txt 2>err.txt </dev/null; then
    ok "$desc"
  else
    not_ok "$desc (exit $?)"
    diag out.txt err.txt
  fi
}
# Dave's key comes from openssl, not from tkectl: P-384 in a PKCS#12 of its own making.
openssl ecparam -name secp384r1 -genkey -noout -out dave.key 2>/dev/null
openssl req -x509 -new -key dave.key -subj /CN=Dave -days 365 -out dave.crt 2>/dev/null
mkdir -p -m 0700 "$TKE_FILES"
openssl pkcs12 -export -inkey dave.key -in dave.crt -passout file:pw -out "$TKE_FILES/Dave.p12" 2>/dev/null
chmod 600 "$TKE_FILES/Dave.p12"
rm -f dave.key

printf '%s\n' "$api_key" >api.key
check "files: service-add with --api-key-file" service-add "$url" --api-key-file api.key \
  --fingerprint "$fingerprint"
"$tkectl" cryptounit-add 1 2 3 4 5 >/dev/null 2>&1
for name in Alice Bob; do
  "$tkectl" sigkey-add "$name" --password-file pw >/dev/null 2>&1
done
for i in 1 2 3; do
  "$tkectl" mk-add --random --description "Key part $i" --password-file pw >/dev/null 2>&1
done
check "files: sigkey-sel Alice and Bob" sigkey-sel Alice Bob
lines 1
check "files: admin-add Alice from her file (imprint mode)" cryptounit-admin-add --sigkey Alice \
  --password-file pw.lines
check "files: admin-add Bob" cryptounit-admin-add --sigkey Bob --password-file pw.lines
lines 2
check "files: thresholds 2/2 signed by Alice's and Bob's files" cryptounit-thrhld-set \
  --signature 2 --revocation 2 --password-file pw.lines
before=$(unit_states)
printf 'not the password\n' >bad.lines
"$tkectl" cryptounit-mk-load --mk Key_part_1 --mk Key_part_2 --mk Key_part_3 \
  --password-file bad.lines >out.txt 2>err.txt </dev/null
rc=$?
if [ "$rc" = 7 ] && grep -q "Key_part_1.jwe" err.txt && [ "$(unit_states)" = "$before" ]; then
  ok "files: a wrong password exits 7, names the file, and no unit changed"
else
  not_ok "files: wrong password (exit $rc)"
  diag err.txt
fi
lines 4
check "files: mk-load from three key part files, signed by Alice's file" cryptounit-mk-load \
  --mk Key_part_1 --mk Key_part_2 --mk Key_part_3 --password-file pw.lines
lines 2
check "files: mk-commit signed by both files" cryptounit-mk-commit --password-file pw.lines
# Dave (the openssl file) becomes an administrator and signs set immediate alone.
lines 3
check "files: admin-add Dave from openssl's PKCS#12, signed by Alice and Bob" \
  cryptounit-admin-add --sigkey Dave --password-file pw.lines
check "files: sigkey-sel Dave" sigkey-sel Dave
lines 1
check "files: mk-setimm signed by Dave's P-384 file" cryptounit-mk-setimm --yes \
  --password-file pw.lines
grep -q "by Dave" err.txt && ok "files: Dave signed set immediate" || { not_ok "Dave did not sign"; diag err.txt; }

unit_states >states.json
if "$python" - "$TKE_FILES" <<'PY'
import glob, hashlib, json, sys
from jwcrypto import jwe, jwk
key = bytes(32)
for path in sorted(glob.glob(sys.argv[1] + "/Key_part_*.jwe")):
    token = jwe.JWE()
    token.deserialize(open(path).read())
    token.decrypt(jwk.JWK.from_password("correct horse battery staple"))
    key = bytes(a ^ b for a, b in zip(key, token.payload))
vp = bytearray(hashlib.sha256(b"\x01" + key).digest())
vp[-4:] = b"\0\0\0\0"
states = json.load(open("states.json"))
assert len(states) == 5
for s in states:
    assert s["mode"] == "normal", s["mode"]
    assert [a["name"] for a in s["admins"]] == ["Alice", "Bob", "Dave"], s["admins"]
    assert s["admins"][2]["curve"] == "P-384", s["admins"][2]
    assert s["thresholds"] == {"signature": 2, "revocation": 2}, s["thresholds"]
    assert s["registers"]["current"] == {"state": "Valid", "vp": vp.hex()}, (s["registers"], vp.hex())
    assert s["registers"]["new"]["state"] == "Empty"
PY
then
  ok "files: all 5 units normal, admins Alice, Bob and Dave (P-384), 2/2, current Valid with the VP of the XOR of the parts (decrypted by jwcrypto)"
else
  not_ok "files: unit states after the ceremony"
fi
"$tkectl" cryptounit-compare >out.txt 2>err.txt && ok "files: cryptounit-compare finds the units the same" || { not_ok "compare"; diag out.txt err.txt; }

# The other register operations and zeroize, still with files only.
check "files: sigkey-sel Alice Bob Dave" sigkey-sel Alice Bob Dave
lines 3
check "files: mk-load from two key part files" cryptounit-mk-load --mk Key_part_1 --mk Key_part_2 \
  --password-file pw.lines
lines 2
check "files: mk-commit" cryptounit-mk-commit --password-file pw.lines
check "files: mk-rotate" cryptounit-mk-rotate --password-file pw.lines
unit_states >states.json
if "$python" - "$TKE_FILES" <<'PY'
import hashlib, json, sys
from jwcrypto import jwe, jwk
key = bytes(32)
for i in (1, 2):
    token = jwe.JWE()
    token.deserialize(open("%s/Key_part_%d.jwe" % (sys.argv[1], i)).read())
    token.decrypt(jwk.JWK.from_password("correct horse battery staple"))
    key = bytes(a ^ b for a, b in zip(key, token.payload))
vp = bytearray(hashlib.sha256(b"\x01" + key).digest())
vp[-4:] = b"\0\0\0\0"
for s in json.load(open("states.json")):
    assert s["registers"]["current"] == {"state": "Valid", "vp": vp.hex()}, s["registers"]
    assert s["registers"]["new"]["state"] == "Empty", s["registers"]
PY
then ok "files: after rotate the current key is the XOR of parts 1 and 2"; else not_ok "rotate"; fi
lines 3
check "files: mk-load parts 2 and 3" cryptounit-mk-load --mk Key_part_2 --mk Key_part_3 \
  --password-file pw.lines
lines 1
check "files: mk-clrnew" cryptounit-mk-clrnew --yes --password-file pw.lines
check "files: mk-clrcur" cryptounit-mk-clrcur --yes --password-file pw.lines
lines 2
check "files: admin-rm Dave signed by the revocation quorum" cryptounit-admin-rm Dave \
  --password-file pw.lines
unit_states >states.json
if "$python" -c '
import json
for s in json.load(open("states.json")):
    assert s["registers"]["new"]["state"] == "Empty" and s["registers"]["current"]["state"] == "Empty", s["registers"]
    assert [a["name"] for a in s["admins"]] == ["Alice", "Bob"], s["admins"]
'; then ok "files: both registers empty, Dave removed"; else not_ok "clear and admin-rm"; fi
lines 1
"$tkectl" cryptounit-zeroize --password-file pw.lines >out.txt 2>err.txt </dev/null
rc=$?
[ "$rc" = 2 ] && grep -q -- "--yes" err.txt && ok "files: zeroize without --yes and no terminal is refused (2)" || { not_ok "zeroize without --yes (exit $rc)"; diag err.txt; }
check "files: zeroize" cryptounit-zeroize --yes --password-file pw.lines
unit_states >states.json
if "$python" -c '
import json
for s in json.load(open("states.json")):
    assert s["mode"] == "imprint" and s["admins"] == [], s
'; then ok "files: zeroized units are back in imprint mode without administrators"; else not_ok "zeroize"; fi

# A command the units refuse: commit in imprint mode (nothing to sign, so it is sent as it is).
"$tkectl" sigkey-sel Alice >/dev/null 2>&1
"$tkectl" cryptounit-mk-commit --json --password-file pw.lines >out.txt 2>err.txt </dev/null
rc=$?
if [ "$rc" = 3 ] && "$python" -c '
import json
result = json.load(open("out.txt"))
assert result["operation"] == "commit", result
assert len(result["units"]) == 5 and not any(u["accepted"] for u in result["units"]), result
assert all(u["code"] == "IMPRINT_MODE" for u in result["units"]), result
'; then
  ok "files: a command every unit refuses exits 3 with each unit's code in the JSON result"
else
  not_ok "files: refused command (exit $rc)"
  diag out.txt err.txt
fi

# On a terminal: the password is asked twice with echo off and never shown.
if timeout 60 "$python" - "$tkectl" <<'PY'
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "sigkey-add", "Zed"])
seen = b""
def read_until(token, limit=20):
    global seen
    end = time.time() + limit
    while token not in seen and time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
    if token not in seen:
        os.kill(pid, signal.SIGKILL)
        sys.stderr.write("# waited for %r, saw %r\n" % (token, seen))
        sys.exit(1)
read_until(b"Password:")
os.write(fd, b"s3cret-typed\n")
read_until(b"Again")
os.write(fd, b"s3cret-typed\n")
read_until(b"signature key of Zed", 60)
_, status = os.waitpid(pid, 0)
assert os.WEXITSTATUS(status) == 0, status
assert b"s3cret-typed" not in seen, seen
PY
then
  ok "on a terminal the password is asked twice, echo off, never shown"
else
  not_ok "terminal password entry"
fi

# Units that differ: Alice goes into units 1..4 only.
"$tkectl" cryptounit-rm 5 >/dev/null 2>&1
lines 1
check "files: admin-add Alice to units 1 to 4" cryptounit-admin-add --sigkey Alice \
  --password-file pw.lines
"$tkectl" cryptounit-add 5 >/dev/null 2>&1
"$tkectl" cryptounit-compare >out.txt 2>err.txt
rc=$?
if [ "$rc" = 8 ] && grep -q "Differs: admins: crypto unit 1 has “Alice" out.txt; then
  ok "files: cryptounit-compare names the difference and exits 8"
else
  not_ok "compare of differing units (exit $rc)"
  diag out.txt err.txt
fi

echo "1..$n"
exit $failed
