#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# tkectl end to end: the seed ceremony with virtual cards through the real pcscd against a
# tke-softunit started here, checked through the service itself; then bad input, a missing card,
# a wrong PIN, a cancel and an unreachable service, each with its exit code and nothing changed.
# TAP. Holds /tmp/tke-vpcd.lock for the whole run: the vpcd readers are shared.
set -u
umask 077

build=${TKE_BUILD_ROOT:-.}
tkectl=${TKECTL:-$build/src/cli/tkectl}
softunit=$build/src/softunit/tke-softunit
vcard=$build/src/vcard/tke-vcard
read_part=${TKE_CLI_READ_PART:-$build/tests/cli/cli-read-part}
python=/usr/bin/python3
readers=('' 'Virtual PCD 00 00' 'Virtual PCD 00 01')

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
diag () { sed 's/^/# /' "$@"; }
skip_all () {
  echo "SKIP SKIP SKIP: $1" >&2
  echo "1..0 # SKIP $1"
  exit 77
}

if ! pgrep -x pcscd >/dev/null 2>&1 || [ ! -S /run/pcscd/pcscd.comm ]; then
  skip_all "pcscd is not running (build-aux/pcscd-up.sh starts it)"
fi
if [ ! -f /etc/reader.conf.d/vpcd ]; then
  skip_all "the vsmartcard-vpcd driver is not installed"
fi
for tool in opensc-tool yubico-piv-tool flock "$python"; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done

exec 9>/tmp/tke-vpcd.lock
if ! flock -w 600 9; then
  echo "Bail out! /tmp/tke-vpcd.lock stayed taken for 10 minutes"
  exit 1
fi
if ! opensc-tool -l 2>/dev/null | grep -q "${readers[1]}"; then
  skip_all "pcscd runs but shows no vpcd reader \"${readers[1]}\""
fi

# A card left in a reader by another program would be taken for one of ours.
for _ in $(seq 1 300); do
  [ "$(opensc-tool -l 2>/dev/null | awk '/Virtual PCD 00 0[01]/ { print $2 }' | sort -u)" = No ] && break
  sleep 0.2
done
if [ "$(opensc-tool -l 2>/dev/null | awk '/Virtual PCD 00 0[01]/ { print $2 }' | sort -u)" != No ]; then
  echo "Bail out! a vpcd reader holds a card that is not this test's (a tke-vcard insert left running?)"
  opensc-tool -l 2>&1 | sed 's/^/# /'
  exit 1
fi

work=$(mktemp -d)
export TKE_CONFIG_DIR=$work/config
export TKE_FILES=$work/files
declare -A card_pid=([1]='' [2]='')
declare -A card_in=([1]='' [2]='')
su_pid=''
cleanup () {
  for r in 1 2; do
    [ -n "${card_pid[$r]}" ] && kill "${card_pid[$r]}" 2>/dev/null && wait "${card_pid[$r]}" 2>/dev/null
  done
  [ -n "$su_pid" ] && kill "$su_pid" 2>/dev/null && wait "$su_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

# Cards: the PIN each gets at initialization.
cards=(alice bob part1 part2 part3)
declare -A pin=([alice]=13572468 [bob]=24681357 [part1]=11223344 [part2]=55667788 [part3]=99001122)
serial=1000
for c in "${cards[@]}" spare; do
  serial=$((serial + 1))
  "$vcard" create "$c.img" --serial "$serial" --mgmt-key-alg aes192 >/dev/null || {
    echo "Bail out! tke-vcard create failed"
    exit 1
  }
done

# "Yes" or "No": whether pcscd sees a card in reader R.
card_state () {
  opensc-tool -l 2>/dev/null | awk -v r="${readers[$1]}" 'index($0, r) { print $2 }'
}
wait_card () {
  for _ in $(seq 1 100); do
    [ "$(card_state "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
insert () { # insert READER CARD
  "$vcard" insert "$2.img" --reader "$1" >>vcard.log 2>&1 &
  card_pid[$1]=$!
  card_in[$1]=$2
  wait_card "$1" Yes
}
# Pulls the card and waits until pcscd has seen it go (it polls every 400 ms).
pull () { # pull READER
  [ -n "${card_pid[$1]}" ] || return 0
  kill "${card_pid[$1]}" 2>/dev/null
  wait "${card_pid[$1]}" 2>/dev/null
  card_pid[$1]=''
  card_in[$1]=''
  wait_card "$1" No
}

# drive "CARDS FOR READER 1" "CARDS FOR READER 2" PINS -- ARGS...: runs tkectl ARGS with the
# PINs in a PIN file and plays the operator: when tkectl asks for a card in an empty reader, the
# next card of that reader's list goes in; when it refuses the card that is in (already signed,
# already used), that card comes out. Sets rc; stdout in out.txt, stderr in err.txt.
drive () {
  local -a q1 q2
  read -r -a q1 <<<"$1"
  read -r -a q2 <<<"$2"
  printf '%s\n' $3 >pins.txt
  shift 4
  # Empty before tkectl starts, so that the last command's prompts are not taken for its own.
  : >err.txt
  : >out.txt
  "$tkectl" "$@" --pin-file pins.txt --card-timeout 60 --reader1 "${readers[1]}" \
    --reader2 "${readers[2]}" >out.txt 2>err.txt </dev/null &
  local pid=$! seen=0 deadline=$((SECONDS + 240))
  while :; do
    local running=1
    kill -0 "$pid" 2>/dev/null || running=0
    mapfile -t prompts < <(grep '^tkectl: waiting for a card in reader' err.txt)
    while [ "$seen" -lt "${#prompts[@]}" ]; do
      local line=${prompts[$seen]}
      seen=$((seen + 1))
      local role=${line#tkectl: waiting for a card in reader }
      role=${role%% *}
      local wanted=${line#*): }
      if [[ $wanted == *"Insert "* ]]; then
        pull "$role"
      elif [ "$role" = 1 ] && [ "${#q1[@]}" -gt 0 ]; then
        pull 1
        insert 1 "${q1[0]}"
        q1=("${q1[@]:1}")
      elif [ "$role" = 2 ] && [ "${#q2[@]}" -gt 0 ]; then
        pull 2
        insert 2 "${q2[0]}"
        q2=("${q2[@]:1}")
      fi
    done
    [ "$running" = 1 ] || break
    if [ "$SECONDS" -gt "$deadline" ]; then
      kill "$pid"
      echo "# tkectl $1 did not end in time" >>err.txt
      break
    fi
    sleep 0.1
  done
  wait "$pid"
  rc=$?
  pull 1
  pull 2
  left=$((${#q1[@]} + ${#q2[@]}))
  rm -f pins.txt
}

# step DESCRIPTION EXPECTED-RC R1-CARDS R2-CARDS PINS -- ARGS...
step () {
  local desc=$1 want=$2
  shift 2
  drive "$@"
  if [ "$rc" = "$want" ] && [ "$left" = 0 ]; then
    ok "$desc"
  else
    not_ok "$desc (exit $rc, wanted $want; $left card(s) not asked for)"
    diag out.txt err.txt
  fi
}

# expect DESCRIPTION EXPECTED-RC PATTERN ARGS...: tkectl ARGS without cards; stderr must match.
expect () {
  local desc=$1 want=$2 pattern=$3
  shift 3
  "$tkectl" "$@" >out.txt 2>err.txt </dev/null
  rc=$?
  if [ "$rc" = "$want" ] && grep -qE -- "$pattern" err.txt; then
    ok "$desc"
  else
    not_ok "$desc (exit $rc, wanted $want and /$pattern/ on stderr)"
    diag out.txt err.txt
  fi
}

# The service: one instance of 3 operational and 2 failover units.
"$softunit" --state-dir "$work/softunit" --listen 127.0.0.1:0 >softunit.out 2>softunit.err &
su_pid=$!
for _ in $(seq 1 100); do
  grep -q '^Units:' softunit.out 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^URL: //p' softunit.out)
fingerprint=$(sed -n 's/^Certificate SHA-256: //p' softunit.out)
api_key=$(sed -n 's/^API key: //p' softunit.out)
if [ -z "$url" ] || [ -z "$api_key" ]; then
  echo "Bail out! tke-softunit did not start"
  cat softunit.out softunit.err >&2
  exit 1
fi

# The service's view of every unit, straight from its API (not through tkectl).
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
states = []
for instance in get("/v1/instances")["instances"]:
    for unit in instance["units"]:
        states.append(get("/v1/units/" + unit["id"]))
print(json.dumps(states, sort_keys=True))
PY
}

# Services and units ---------------------------------------------------------------------------
expect "service-add without the API key is bad input" 2 "api-key" service-add "$url"
if "$tkectl" service-add "$url" --api-key "$api_key" --fingerprint "$fingerprint" >out.txt 2>err.txt &&
   [ "$(stat -c %a "$TKE_CONFIG_DIR")" = 700 ] && [ "$(stat -c %a "$TKE_CONFIG_DIR/config.json")" = 600 ]; then
  ok "service-add pins the certificate; config dir 0700, file 0600"
else
  not_ok "service-add"
  diag out.txt err.txt
fi
"$tkectl" cryptounits --json >units.json 2>err.txt
if "$python" -c '
import json, sys
units = json.load(open("units.json"))
assert [u["num"] for u in units] == [1, 2, 3, 4, 5], units
assert [u["type"] for u in units] == ["OPERATIONAL"] * 3 + ["FAILOVER"] * 2, units
assert not any(u["selected"] for u in units)
assert all(u["service_instance"] and u["location"] for u in units)
'; then
  ok "cryptounits lists 5 units numbered 1..5, 3 operational and 2 failover, none selected"
else
  not_ok "cryptounits --json"
  diag units.json err.txt
fi
cp "$TKE_CONFIG_DIR/config.json" config.before
expect "cryptounit-add with an unknown NUM is refused" 2 "no crypto unit 9" cryptounit-add 1 9
if cmp -s config.before "$TKE_CONFIG_DIR/config.json"; then
  ok "the unknown NUM changed no selection"
else
  not_ok "the unknown NUM changed the configuration"
fi
expect "a unit command with nothing selected is bad input" 2 "No crypto unit is selected" \
  cryptounit-admins
"$tkectl" cryptounit-add 1 2 3 4 5 >out.txt 2>err.txt
"$tkectl" cryptounits >out.txt 2>err.txt
if [ "$(grep -c ' true ' out.txt)" = 5 ] && grep -q 'SERVICE INSTANCE.*CRYPTO UNIT NUM.*SELECTED.*TYPE.*LOCATION' out.txt; then
  ok "cryptounit-add selects all five units"
else
  not_ok "cryptounit-add"
  diag out.txt err.txt
fi
# A refusal the engine foresees is the units' own: exit 3 and their code, before any question.
expect "a commit in imprint mode is refused before sending as the units refuse it (exit 3)" 3 \
  'imprint mode.*\(IMPRINT_MODE\)$' cryptounit-mk-commit

# Cards -----------------------------------------------------------------------------------------
for c in "${cards[@]}"; do
  drive "" "$c" "123456 ${pin[$c]} 12345678 87654321" -- card-init --description "Card of $c"
  [ "$rc" = 0 ] && [ "$left" = 0 ] || break
done
if [ "$rc" = 0 ] && [ "$left" = 0 ]; then
  ok "card-init makes the five blank cards TKE cards"
else
  not_ok "card-init (exit $rc)"
  diag out.txt err.txt
fi
step "card-init without --description and no terminal is bad input (2)" 2 "" "spare" "" -- \
  card-init
insert 2 spare
"$tkectl" card-info --json --reader2 "${readers[2]}" >info.json 2>/dev/null
pull 2
if grep -q "flag for it" err.txt && "$python" -c '
import json
assert json.load(open("info.json"))["initialized"] is False'; then
  ok "the error names the missing flag, and the card stays blank"
else
  not_ok "card-init without a description"
  diag err.txt info.json
fi
step "card-sigkey-gen makes Alice's signature key" 0 "" "alice" "${pin[alice]}" -- \
  card-sigkey-gen --name Alice
step "card-sigkey-gen makes Bob's signature key" 0 "" "bob" "${pin[bob]}" -- \
  card-sigkey-gen --name Bob
all=0
for i in 1 2 3; do
  drive "" "part$i" "${pin[part$i]}" -- card-keypart-gen --description "Master key part $i"
  [ "$rc" = 0 ] && [ "$left" = 0 ] && grep -q "part" out.txt && all=$((all + 1))
done
[ "$all" = 3 ] && ok "card-keypart-gen makes three key parts" || { not_ok "card-keypart-gen"; diag out.txt err.txt; }

# A wrong PIN: refused by the card, with the tries left, and nothing written.
insert 2 part1
"$tkectl" card-info --json --reader2 "${readers[2]}" >info.before 2>/dev/null
pull 2
step "card-keypart-gen with a wrong PIN exits 4 (card problem)" 4 "" "part1" "00000000" -- \
  card-keypart-gen --description "Never made"
if grep -q "tries left" err.txt; then ok "the wrong PIN error names the tries left"; else not_ok "wrong PIN message"; diag err.txt; fi
insert 2 part1
"$tkectl" card-info --json --reader2 "${readers[2]}" >info.after 2>/dev/null
pull 2
if "$python" -c '
import json
b, a = json.load(open("info.before")), json.load(open("info.after"))
assert len(b["parts"]) == 1 and a["parts"] == b["parts"], (b, a)
assert a["pin_tries_left"] == 2, a
'; then
  ok "after the wrong PIN the card still holds its one part, 2 tries left"
else
  not_ok "card after a wrong PIN"
  diag info.before info.after
fi
# The right PIN resets the counter, for the load below.
step "card-change-pin with the right PIN (same PIN again) resets the tries" 0 "" "part1" \
  "${pin[part1]} ${pin[part1]}" -- card-change-pin

# Missing card: a bounded wait, exit 4, nothing changed.
"$tkectl" card-sigkey-gen --name Carol --card-timeout 2 --reader2 "${readers[2]}" </dev/null >out.txt 2>err.txt
rc=$?
if [ "$rc" = 4 ] && grep -q "not inserted within 2 seconds" err.txt; then
  ok "a card that does not come ends the wait with exit 4"
else
  not_ok "missing card (exit $rc)"
  diag err.txt
fi

# Cancel: SIGTERM while tkectl waits for a card.
"$tkectl" card-sigkey-gen --name Carol --reader2 "${readers[2]}" </dev/null >out.txt 2>err.txt &
pid=$!
for _ in $(seq 1 50); do grep -q 'waiting for a card' err.txt && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
# A cancel reads the same everywhere: this sentence ends the app's Cancelled page too.
if [ "$rc" = 5 ] &&
   grep -qx 'tkectl: Cancelled: nothing was sent to the crypto units, and no card was changed.' err.txt; then
  ok "SIGTERM during a card wait cancels with exit 5 and says what was left as it was"
else
  not_ok "cancel (exit $rc)"
  diag err.txt
fi

# The seed ceremony ---------------------------------------------------------------------------
step "cryptounit-admin-add installs Alice (imprint mode: no signature)" 0 "alice" "" "" -- \
  cryptounit-admin-add
step "cryptounit-admin-add installs Bob" 0 "bob" "" "" -- cryptounit-admin-add
step "cryptounit-thrhld-set 2/2 signed by Alice and Bob" 0 "alice bob" "" \
  "${pin[alice]} ${pin[bob]}" -- cryptounit-thrhld-set --signature 2 --revocation 2
step "cryptounit-mk-load loads 3 parts, signed by Alice" 0 "alice" "part1 part2 part3" \
  "${pin[part1]} ${pin[part2]} ${pin[part3]} ${pin[alice]}" -- cryptounit-mk-load --parts 3
step "cryptounit-mk-commit signed by Bob and Alice" 0 "bob alice" "" \
  "${pin[bob]} ${pin[alice]}" -- cryptounit-mk-commit
step "cryptounit-mk-setimm signed by Bob" 0 "bob" "" "${pin[bob]}" -- cryptounit-mk-setimm --yes

# The master key as the test computes it: the XOR of the three parts read back from the cards.
key_parts=()
for i in 1 2 3; do
  insert 2 "part$i"
  key_parts+=("$("$read_part" "${readers[2]}" "${pin[part$i]}" 1)")
  pull 2
done
expected_vp=$("$python" -c '
import hashlib, sys
key = bytes(a ^ b ^ c for a, b, c in zip(*(bytes.fromhex(p) for p in sys.argv[1:])))
assert len(key) == 32
vp = bytearray(hashlib.sha256(b"\x01" + key).digest())
vp[-4:] = b"\0\0\0\0"
print(vp.hex())
' "${key_parts[@]}")
unit_states >states.json
if "$python" - "$expected_vp" <<'PY'
import json, sys
expected = sys.argv[1]
states = json.load(open("states.json"))
assert len(states) == 5, len(states)
for s in states:
    assert s["mode"] == "normal", s["mode"]
    assert [a["name"] for a in s["admins"]] == ["Alice", "Bob"], s["admins"]
    assert s["thresholds"] == {"signature": 2, "revocation": 2}, s["thresholds"]
    assert s["registers"]["current"]["state"] == "Valid", s["registers"]
    assert s["registers"]["current"]["vp"] == expected, (s["registers"], expected)
    assert s["registers"]["new"]["state"] == "Empty", s["registers"]
PY
then
  ok "all 5 units: normal mode, Alice and Bob, thresholds 2/2, current Valid with the VP of the XOR of the parts"
else
  not_ok "unit states after the ceremony"
  echo "# expected VP $expected_vp"
  diag states.json
fi
"$tkectl" cryptounit-mk >out.txt 2>err.txt
if [[ $expected_vp =~ ^[0-9a-f]{56}00000000$ ]] && grep -q "Current   Valid              ${expected_vp:0:32}" out.txt && grep -q "${expected_vp:32:32}" out.txt; then
  ok "cryptounit-mk shows the current VP as two lines of 32 hex digits"
else
  not_ok "cryptounit-mk"
  diag out.txt err.txt
fi
"$tkectl" cryptounit-compare >out.txt 2>err.txt
rc=$?
[ "$rc" = 0 ] && grep -q "configured the same" out.txt && ok "cryptounit-compare finds the units the same" || { not_ok "compare (exit $rc)"; diag out.txt err.txt; }

# Copying: the key parts of part1's card onto the spare card, then files onto it ------------------
step "card-init the spare card" 0 "" "spare" "123456 12121212 12345678 87654321" -- \
  card-init --description "Spare"
step "card-copy copies part1's key part to the spare card" 0 "part1" "spare" \
  "${pin[part1]} 12121212" -- card-copy
printf 'correct horse battery staple\n' >pw
TKE_FILES=$work/files "$tkectl" sigkey-add Erin --password-file pw >/dev/null 2>&1
TKE_FILES=$work/files "$tkectl" mk-add --value "${key_parts[1]}" --description "Part 2 from a file" \
  --password-file pw >/dev/null 2>&1
step "card-import-sigkey puts Erin's file on the spare card" 0 "" "spare" "12121212" -- \
  card-import-sigkey "$work/files/Erin.p12" --password-file pw
step "card-import-keypart puts the key part file on the spare card" 0 "" "spare" "12121212" -- \
  card-import-keypart "$work/files/Part_2_from_a_file.jwe" --password-file pw
insert 2 spare
"$tkectl" card-info --json --reader2 "${readers[2]}" >spare.json 2>err.txt
pull 2
if "$python" - "${key_parts[0]}" "${key_parts[1]}" <<'PY'
import hashlib, json, sys
def vp(hexpart):
    v = bytearray(hashlib.sha256(b"\x01" + bytes.fromhex(hexpart)).digest())
    v[-4:] = b"\0\0\0\0"
    return v.hex()
card = json.load(open("spare.json"))
assert card["admin"] == "Erin", card
assert [p["vp"] for p in card["parts"]] == [vp(sys.argv[1]), vp(sys.argv[2])], card["parts"]
assert card["parts"][1]["description"] == "Part 2 from a file", card["parts"]
PY
then
  ok "the spare card holds Erin's key and the two parts with the VPs of the originals"
else
  not_ok "spare card contents"
  diag spare.json err.txt
fi

# Signers from files and cards together -----------------------------------------------------------
TKE_FILES=$work/files "$tkectl" sigkey-add Frank --password-file pw >/dev/null 2>&1
step "admin-add --sigkey Frank's file, signed by Alice's and Bob's cards" 0 "alice bob" "" \
  "${pin[alice]} ${pin[bob]}" -- cryptounit-admin-add --sigkey "$work/files/Frank.p12" \
  --password-file pw
"$tkectl" sigkey-sel "$work/files/Frank.p12" >/dev/null 2>&1
step "thresholds 2/2 again, signed by Frank's file and Bob's card" 0 "bob" "" "${pin[bob]}" -- \
  cryptounit-thrhld-set --signature 2 --revocation 2 --password-file pw
if grep -q "signature 1 of 2 by Frank" err.txt && grep -q "signature 2 of 2 by Bob (card)" err.txt &&
   unit_states | "$python" -c '
import json, sys
for s in json.load(sys.stdin):
    assert [a["name"] for a in s["admins"]] == ["Alice", "Bob", "Frank"], s["admins"]
    assert s["thresholds"] == {"signature": 2, "revocation": 2}
'; then
  ok "one command signed by a file and a card; all units have Alice, Bob and Frank"
else
  not_ok "file and card signers"
  diag err.txt
fi
"$tkectl" sigkey-sel --none >/dev/null 2>&1

# A hostile card ----------------------------------------------------------------------------------
# A blank card whose directory yubico-piv-tool writes with the default management key: the card
# and part descriptions carry ESC sequences (clear screen, colour, a window title ended by BEL)
# and a right-to-left override. tkectl prints them escaped, in text and in JSON.
"$vcard" create hostile.img --serial 1099 --mgmt-key-alg 3des >/dev/null
"$python" - <<'PY'
desc = "\x1b[2J\x1b[31mEvil\u202etxt.exe".encode()
part = "Part\x1b]0;owned\x07\u202eevil".encode()
entry = b"\x80\x01\x01" + b"\x81" + bytes([len(part)]) + part + b"\x82\x08" + bytes(8) + b"\x83\x20" + bytes(32)
directory = b"\x80\x01\x01" + b"\x81" + bytes([len(desc)]) + desc + b"\xa0" + bytes([len(entry)]) + entry
open("hostile-dir.bin", "wb").write(directory)
PY
insert 2 hostile
yubico-piv-tool -r "${readers[2]}" -a write-object --id 0x5FD000 -i hostile-dir.bin -f binary \
  >ykpiv.log 2>&1
"$tkectl" card-info --reader2 "${readers[2]}" >hostile.txt 2>err.txt
"$tkectl" card-info --json --reader2 "${readers[2]}" >hostile.json 2>>err.txt
pull 2
if grep -qF 'Description:   \x1b[2J\x1b[31mEvil\u202etxt.exe' hostile.txt &&
   grep -qF '1. Part\x1b]0;owned\x07\u202eevil' hostile.txt &&
   ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' hostile.txt hostile.json &&
   ! grep -q $'\u202e' hostile.txt hostile.json &&
   "$python" -c '
import json, sys
card = json.load(open("hostile.json"))
assert card["description"] == "\\x1b[2J\\x1b[31mEvil\\u202etxt.exe", card
assert card["parts"][0]["description"] == "Part\\x1b]0;owned\\x07\\u202eevil", card
'; then
  ok "card-info prints a hostile card's ESC sequences and bidi override escaped (text and JSON)"
else
  not_ok "hostile card text"
  diag ykpiv.log hostile.txt hostile.json err.txt
fi

# A blocked PIN -----------------------------------------------------------------------------------
# Blocked by an independent client (yubico-piv-tool, three wrong PINs): tkectl says "blocked" and
# names the way out, asks the PUK with the PUK's own tries, and card-unblock brings the card back.
"$vcard" create blocked.img --serial 1098 --mgmt-key-alg aes192 >/dev/null
step "card-init a card whose PIN is then blocked" 0 "" "blocked" \
  "123456 31415926 12345678 87654321" -- card-init --description "Blocked"
insert 2 blocked
for _ in 1 2 3; do
  yubico-piv-tool -r "${readers[2]}" -a verify-pin -P 00000000 >>ykpiv.log 2>&1
done
"$tkectl" cards --reader1 "${readers[1]}" --reader2 "${readers[2]}" >cards.txt 2>err.txt
"$tkectl" card-info --json --reader2 "${readers[2]}" >blocked.json 2>>err.txt
pull 2
if grep -qF "PIN tries:     0, blocked: unblock it with the PUK (tkectl card-unblock)" cards.txt &&
   "$python" -c '
import json
card = json.load(open("blocked.json"))
assert card["pin_tries_left"] == 0 and card["pin_blocked"] is True, card
'; then
  ok "tkectl cards and card-info --json say the PIN is blocked and how to unblock it"
else
  not_ok "blocked PIN in tkectl cards"
  diag ykpiv.log cards.txt blocked.json err.txt
fi
step "card-unblock with a wrong PUK exits 4 (card problem)" 4 "" "blocked" "11111111 27182818" -- \
  card-unblock
if grep -qF "tkectl: PUK of card 1098 “Blocked” (3 tries left):" err.txt; then
  ok "the PUK is asked with the PUK's tries (3), not the PIN's (0)"
else
  not_ok "PUK prompt's tries"
  diag err.txt
fi
step "card-unblock with the PUK sets a new PIN" 0 "" "blocked" "87654321 27182818" -- card-unblock
if grep -qF "tkectl: PUK of card 1098 “Blocked” (2 tries left):" err.txt; then
  ok "the wrong PUK took one of the PUK's tries"
else
  not_ok "PUK prompt's tries after a wrong PUK"
  diag err.txt
fi
insert 2 blocked
"$tkectl" card-info --json --reader2 "${readers[2]}" >unblocked.json 2>err.txt
pull 2
if "$python" -c '
import json
card = json.load(open("unblocked.json"))
assert card["pin_tries_left"] == 3 and card["pin_blocked"] is False, card
'; then
  ok "after card-unblock the PIN has its 3 tries again"
else
  not_ok "card after card-unblock"
  diag unblocked.json err.txt
fi

# Refusals before anything is signed, and an unreachable service -------------------------------
before=$(unit_states)
step "thresholds above the number of administrators are refused as bad input" 2 "" "" "" -- \
  cryptounit-thrhld-set --signature 4 --revocation 2
[ "$(unit_states)" = "$before" ] && ok "the refused thresholds changed no unit" || not_ok "units changed"
kill "$su_pid"
wait "$su_pid" 2>/dev/null
su_pid=''
expect "an unreachable service exits 6 with the service named" 6 "can't be reached" cryptounit-mk

echo "1..$n"
exit $failed
