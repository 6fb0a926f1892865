#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tkectl without cards or services: --help of every command, key files made by tkectl and opened
# by independent tools (openssl pkcs12, python3-jwcrypto), wrong passwords and damaged files with
# their exit codes, and removals that need a confirmation. TAP.
set -u

build=${TKE_BUILD_ROOT:-.}
tkectl=${TKECTL:-$build/src/cli/tkectl}
python=/usr/bin/python3

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
diag () { sed 's/^/# /' "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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

echo "1..$n"
exit $failed
