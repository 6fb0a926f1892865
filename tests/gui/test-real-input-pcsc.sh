#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The app in normal mode over the real pcscd, driven by real X input events only (xdotool on an
# X server of its own) and read from outside (screenshots read by tesseract, the workspace files,
# the process itself):
# - two tke-vcard cards in the vpcd readers: on each of several starts, the Smart card tab shows
#   the card of vpcd reader 0 in the box of reader 1 and the card of vpcd reader 1 in the box of
#   reader 2, as the ceremony dialogs and tkectl name them;
# - card 1002, initialized by tkectl and its PIN blocked by yubico-piv-tool: its box says the
#   PIN is blocked and to unblock it with the PUK;
# - the Connect dialog, opened by a click, filled by typing, and answered with Alt+O while the
#   cursor is still in the API key field: the app stays up and the service is connected.
# Screenshots go to tests/gui/screenshots/real-input-*.png in the build dir. TAP.
set -u

build=${TKE_BUILD_ROOT:-.}
tke=$build/src/app/tke
vcard=$build/src/vcard/tke-vcard
softunit=$build/src/softunit/tke-softunit
shots=$build/tests/gui/screenshots
starts=3
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
[ -f /etc/reader.conf.d/vpcd ] || skip_all "the vsmartcard-vpcd driver is not installed"
for tool in Xvfb xdotool tesseract import convert openssl socat unshare opensc-tool flock dbus-run-session \
  yubico-piv-tool; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done

unshare -m true 2>/dev/null || skip_all "unshare -m is not allowed here (the relay check needs root)"
# shellcheck source=../lib/trusted-relay.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/trusted-relay.sh"

exec 9>/tmp/tke-vpcd.lock
flock -w 600 9 || { echo "Bail out! /tmp/tke-vpcd.lock stayed taken for 10 minutes"; exit 1; }

# shellcheck source=../lib/x-session.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/x-session.sh"

enter_work_dir
mkdir -p "$shots"
isolate_home "$work"

card_state () {
  opensc-tool -l 2>/dev/null | awk -v r="Virtual PCD 00 0$1" 'index($0, r) { print $2 }'
}
for _ in $(seq 1 300); do
  [ "$(card_state 0)$(card_state 1)" = NoNo ] && break
  sleep 0.2
done
[ "$(card_state 0)$(card_state 1)" = NoNo ] ||
  { echo "Bail out! a vpcd reader holds a card that is not this test's"; exit 1; }

# Card 1001 in vpcd reader 0, card 1002 in vpcd reader 1.
for r in 0 1; do
  "$vcard" create "card$r.img" --serial $((1001 + r)) >/dev/null || { echo "Bail out! tke-vcard create"; exit 1; }
  "$vcard" insert "card$r.img" --reader $((r + 1)) >>vcard.log 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 100); do [ "$(card_state 0)$(card_state 1)" = YesYes ] && break; sleep 0.1; done

"$softunit" --state-dir "$work/softunit" --listen 127.0.0.1:0 >softunit.out 2>softunit.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^Units:' softunit.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^URL: //p' softunit.out)
fp=$(sed -n 's/^Certificate SHA-256: //p' softunit.out)
api_key=$(sed -n 's/^API key: //p' softunit.out)
[ -n "$api_key" ] || { echo "Bail out! tke-softunit did not start"; diag softunit.err; exit 1; }

start_x_session

# shot NAME: a screenshot of the whole screen, kept in the build dir; its words with their
# positions (tesseract TSV: ... left top width height conf text) in NAME.tsv.
# tesseract reads the screen's small grey text reliably at twice its size: positions in the
# TSV are halved back to screen pixels.
shot () {
  import -window root "$shots/real-input-$1.png"
  convert "$shots/real-input-$1.png" -colorspace Gray -resize 200% "$1-ocr.png"
  tesseract "$1-ocr.png" "$1" tsv >/dev/null 2>&1
}
# word_x NAME WORD: the left edge of the first place tesseract read WORD in screenshot NAME.
word_x () { awk -F'\t' -v w="$2" 'index($12, w) == 1 { print int($7 / 2); exit }' "$1.tsv"; }
word_y () { awk -F'\t' -v w="$2" 'index($12, w) == 1 { print int(($8 + $10 / 2) / 2); exit }' "$1.tsv"; }
words () { awk -F'\t' 'NR > 1 && $12 != "" { printf "%s ", $12 }' "$1.tsv"; }
# What tesseract read and what is expected, compared without the letters it confuses in hex and
# base64url: case, l and i for 1, o for 0; no spaces or line breaks.
# A fingerprint or thumbprint counts as shown when one of its 10-character pieces was read
# right: OCR misreads a character here and there, and breaks long words with a hyphen.
norm () { tr -d ' \n_-' | tr 'A-Z' 'a-z' | tr 'lio' '110'; }
has () { [[ "$(printf '%s' "$1" | norm)" == *"$(printf '%s' "$2" | norm)"* ]]; }
has_value () {
  local text value
  text=$(printf '%s' "$1" | norm)
  value=$(printf '%s' "$2" | norm)
  [ ${#value} -ge 10 ] || return 1
  for ((i = 0; i + 10 <= ${#value}; i += 9)); do
    [[ "$text" == *"${value:i:10}"* ]] && return 0
  done
  return 1
}

start_tke () {
  ${launcher:-} "$tke" >"tke$1.log" 2>&1 &
  tke_pid=$!
  for _ in $(seq 1 100); do xdotool search --name '^Open TKE' >/dev/null 2>&1 && break; sleep 0.1; done
  win=$(xdotool search --name '^Open TKE' | head -n 1)
  sleep 1
  xdotool windowmove "$win" 0 0 windowsize --sync "$win" 1280 800 2>/dev/null
  xdotool windowfocus --sync "$win"
  sleep 1
}
stop_tke () {
  xdotool key ctrl+q
  for _ in $(seq 1 50); do kill -0 "$tke_pid" 2>/dev/null || break; sleep 0.1; done
  kill "$tke_pid" 2>/dev/null
  wait "$tke_pid" 2>/dev/null
  tke_pid=''
}

# Card 1002 is initialized and then blocked by an independent client (three wrong PINs from
# yubico-piv-tool): the Smart card tab must say so, and name the way out.
printf '123456\n31415926\n12345678\n87654321\n' >init-pins.txt
"$build/src/cli/tkectl" card-init --description "Blocked card" --pin-file init-pins.txt --yes \
  --reader2 "Virtual PCD 00 01" >init.log 2>&1 || { echo "Bail out! tkectl card-init"; diag init.log; exit 1; }
for _ in 1 2 3; do
  yubico-piv-tool -r "Virtual PCD 00 01" -a verify-pin -P 00000000 >>ykpiv.log 2>&1
done

echo "1..$((starts + 11))"

for start in $(seq 1 "$starts"); do
  start_tke "$start"
  # Reader 1's box is the left one, reader 2's the right one; the cards are read in the
  # background, so look again for a while.
  for _ in $(seq 1 15); do
    shot "start$start"
    left=$(word_x "start$start" 1001)
    right=$(word_x "start$start" 1002)
    [ -n "$left" ] && [ -n "$right" ] && break
    sleep 1
  done
  if [ -n "$left" ] && [ -n "$right" ] && [ "$left" -lt 640 ] && [ "$right" -ge 640 ]; then
    ok "start $start: card 1001 (vpcd reader 0) under reader 1, card 1002 (vpcd reader 1) under reader 2"
  else
    not_ok "start $start: cards under the wrong readers (x of 1001: '$left', of 1002: '$right')"
    echo "# the screen read: $(words "start$start")"
    # What was there: the window (or none), the app's own words, and the picture, kept.
    echo "# window: $(xdotool search --name '^Open TKE' 2>/dev/null | head -n 1) (app pid $tke_pid)"
    tail -n 5 "tke$start.log" | sed 's/^/# tke: /'
    cp "$shots/real-input-start$start.png" "$shots/real-input-start$start-failed.png"
  fi
  [ "$start" -lt "$starts" ] && stop_tke
done

# The blocked PIN, in reader 2's box (the right half): "PIN blocked: Unblock PIN with the PUK".
blocked_x=$(word_x "start$starts" blocked:)
unblock_x=$(word_x "start$starts" Unblock)
if [ -n "$blocked_x" ] && [ -n "$unblock_x" ] && [ "$blocked_x" -ge 640 ] && [ "$unblock_x" -ge 640 ] &&
   [[ "$(words "start$starts")" == *"blocked: Unblock PIN with the PUK"* ]]; then
  ok "the Smart card tab says card 1002's PIN is blocked and to unblock it with the PUK"
else
  not_ok "the Smart card tab does not say the PIN is blocked (x of 'blocked:': '$blocked_x')"
  echo "# the screen read: $(words "start$starts")"
fi

# The Connect dialog by real input: Alt+2 for the Crypto units tab, a click on its button, the
# fields typed, and Alt+O while the cursor is still in the API key field.
xdotool key alt+2
for _ in $(seq 1 10); do
  sleep 1
  shot units
  [ -n "$(word_x units Connect)" ] && break
done
bx=$(word_x units Connect)
by=$(word_y units Connect)
if [ -n "$bx" ]; then
  xdotool mousemove $((bx + 20)) "$by" click 1
  sleep 1
  xdotool type --delay 15 "$url"
  xdotool key Tab
  xdotool type --delay 15 "$fp"
  xdotool key Tab
  xdotool type --delay 15 "$api_key"
  sleep 0.3
  shot connect-dialog
  # The pointer leaves the Connect service button it clicked, whose tooltip would cover the toast.
  xdotool mousemove 640 120
  xdotool key alt+o
  # The "connected" toast lasts a few seconds, less than reading a whole screen takes on a loaded
  # machine: pictures of the lower half are taken now and read later.
  for i in $(seq 1 12); do
    import -window root -crop 1280x400+0+400 +repage "toast-$i.png" 2>/dev/null
    sleep 0.4
  done
fi
for _ in $(seq 1 15); do
  sleep 1
  shot connected
  [ "$(words connected | grep -o FAILOVER | wc -l)" = 2 ] && break
  kill -0 "$tke_pid" 2>/dev/null || break
done
if kill -0 "$tke_pid" 2>/dev/null; then
  ok "Alt+O in the API key field connects without a crash"
else
  not_ok "the app died after Alt+O in the Connect dialog"
  diag tke$starts.log
  tke_pid=''
fi
services=$XDG_DATA_HOME/opentke/workspace/services.json
if [ -f "$services" ] && grep -qF "$url" "$services"; then
  ok "the service is saved in the workspace ($(basename "$services"))"
else
  not_ok "the service was not saved"
  echo "# the screen read: $(words connected)"
fi
if [ "$(words connected | grep -o OPERATIONAL | wc -l)" = 3 ] &&
   [ "$(words connected | grep -o FAILOVER | wc -l)" = 2 ]; then
  ok "the Crypto units tab lists the service's 3 operational and 2 failover units"
else
  not_ok "no sign of the connection on the screen"
  echo "# the screen read: $(words connected)"
fi
# The "connected" toast is above the row of buttons, not over it. Its light text on a dark
# ground is read from the lower half of the screen, negated. The toast slides up into place,
# so a picture taken while it moves shows it lower: where it rests is the highest it was read.
toast_y=''
for try in $(seq 1 12); do
  [ -f "toast-$try.png" ] || continue
  convert "toast-$try.png" -negate toast.png
  tesseract toast.png toast --psm 6 tsv >/dev/null 2>&1
  y=$(awk -F'\t' 'index($12, "connected;") == 1 { print $8 + int($10 / 2); exit }' toast.tsv)
  [ -n "$y" ] && { [ -z "$toast_y" ] || [ $((y + 400)) -lt "$toast_y" ]; } && toast_y=$((y + 400))
done
buttons_y=$(awk -F'\t' '$12 == "Zeroize" { print int($8 / 2); exit }' connected.tsv)
if [ -n "$toast_y" ] && [ -n "$buttons_y" ] && [ "$toast_y" -lt $((buttons_y - 20)) ]; then
  ok "the toast (middle at y $toast_y) is above the buttons (top at y $buttons_y)"
else
  not_ok "the toast covers the buttons or is missing (toast y '$toast_y', buttons y '$buttons_y')"
fi
# A second service added with the fingerprint left empty: the app shows the fingerprint the
# service presents and connects only once the operator trusts it (Alt+T).
"$softunit" --state-dir "$work/softunit2" --listen 127.0.0.1:0 --units 1 --failover-units 0 \
  >softunit2.out 2>softunit2.err &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^Units:' softunit2.out 2>/dev/null && break; sleep 0.1; done
url2=$(sed -n 's/^URL: //p' softunit2.out)
fp2=$(sed -n 's/^Certificate SHA-256: //p' softunit2.out)
key2=$(sed -n 's/^API key: //p' softunit2.out)
sleep 8 # the first toast goes
xdotool mousemove $((bx + 20)) "$by" click 1
sleep 1
xdotool type --delay 15 "$url2"
xdotool key Tab Tab
xdotool type --delay 15 "$key2"
xdotool key alt+o
for _ in $(seq 1 10); do
  sleep 1
  shot trust
  [ -n "$(word_x trust Trust)" ] && break
done
shown=$(words trust)
if [ -n "$(word_x trust Trust)" ] && has_value "$shown" "$fp2" &&
   ! grep -qF "$url2" "$services"; then
  ok "an empty fingerprint shows the service's own fingerprint and connects nothing yet"
else
  not_ok "no trust question with the fingerprint ${fp2:0:24}… (screen: $(words trust))"
fi
xdotool key alt+t
for _ in $(seq 1 15); do sleep 1; grep -qF "$url2" "$services" 2>/dev/null && break; done
if grep -qF "$url2" "$services" && grep -qF "$fp2" "$services"; then
  ok "trusted, the second service is connected with the fingerprint it presented"
else
  not_ok "the second service was not connected"
fi
[ -n "$tke_pid" ] && stop_tke

# Re-pinning by real input. With the app closed, unit 1's pin is changed to unit 2's key, as if
# unit 1 presented another identity key than the one pinned; the app marks it, and the operator
# re-pins it from the Crypto units tab: number, confirmation with both thumbprints, Alt+P.
pins=$XDG_DATA_HOME/opentke/workspace/unit-pins.json
journal=$XDG_DATA_HOME/opentke/workspace/journal.jsonl
# Crypto unit 1 is the first unit tke-softunit printed ("Unit <id> identity <thumbprint>").
read -r unit1 unit2 _ < <(awk '/^Unit / { printf "%s ", $2 }' softunit.out)
read -r presented forged < <(/usr/bin/python3 - "$pins" "$unit1" "$unit2" 2>repin.err <<'PY'
import json, sys
path, one, two = sys.argv[1:4]
pins = json.load(open(path))
if one not in pins["units"] or two not in pins["units"]:
    sys.exit("units %s and %s are not among the pins of %s" % (one, two, sorted(pins["units"])))
real = pins["units"][one]["thumbprint"]
pins["units"][one]["thumbprint"] = pins["units"][two]["thumbprint"]
pins["units"][one]["jwk"] = pins["units"][two]["jwk"]
json.dump(pins, open(path, "w"))
print(real, pins["units"][one]["thumbprint"])
PY
)
echo "# unit 1 is $unit1: pinned $presented, now pinned as if $forged"
[ -n "$forged" ] || diag repin.err
start_tke repin
xdotool key alt+2
for _ in $(seq 1 10); do
  sleep 1
  shot repin-tab
  [ -n "$(word_x repin-tab Re-pin)" ] && break
done
rx=$(word_x repin-tab Re-pin)
ry=$(word_y repin-tab Re-pin)
if [ -n "$rx" ]; then
  xdotool mousemove $((rx + 20)) "$ry" click 1
  # The number is typed once its dialog is there: on a loaded machine it takes more than a
  # second, and the digit went to the main window.
  for _ in $(seq 1 50); do
    [ "$(xdotool search --onlyvisible --name . 2>/dev/null | grep -vcx "$win")" -gt 0 ] && break
    sleep 0.2
  done
  sleep 0.5
  xdotool type 1
  xdotool key Return
  for _ in $(seq 1 10); do
    sleep 1
    shot repin-confirm
    seen=$(words repin-confirm)
    has "$seen" "Pin the New Identity Key" && break
  done
fi
if [ -n "$presented" ] && [ -n "$forged" ] && has "$seen" "Pin the New Identity Key" &&
   has_value "$seen" "$presented" && has_value "$seen" "$forged" &&
   ! grep -q repin-unit-identity "$journal" 2>/dev/null; then
  ok "re-pinning crypto unit 1 asks for a confirmation that shows the presented and the pinned key"
else
  not_ok "no confirmation naming both keys (screen: $(words repin-confirm))"
fi
# On a loaded machine the dialog may take its key focus late: the key is pressed again while
# nothing was pinned yet.
for _ in 1 2 3; do
  xdotool key alt+p
  for _ in $(seq 1 20); do sleep 0.5; grep -q repin-unit-identity "$journal" 2>/dev/null && break; done
  grep -q repin-unit-identity "$journal" 2>/dev/null && break
done
if grep repin-unit-identity "$journal" 2>/dev/null | grep -qF "$presented" &&
   grep repin-unit-identity "$journal" | grep -qF "$forged" &&
   /usr/bin/python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["units"][sys.argv[2]]["thumbprint"] == sys.argv[3]' \
     "$pins" "$unit1" "$presented"; then
  ok "confirmed, the presented key is pinned and the journal records both thumbprints"
else
  not_ok "the re-pin did not happen or was not journalled"
fi
stop_tke

# The app where a TLS-inspection CA is trusted by the system store, connecting to a relay on
# loopback whose certificate that CA issued, with the real service's fingerprint: refused, with
# both fingerprints named, and the relay never sees the API key.
start_trusted_relay "$work" "${url##*:}"
trusting curl -s -o /dev/null -w "%{http_code}" "$relay_url/v1/instances" >curl.out 2>&1
: >"$work/relay.log"
launcher=trusting start_tke relay
xdotool key alt+2
sleep 1
xdotool mousemove $((bx + 20)) "$by" click 1
sleep 1
xdotool type --delay 15 "$relay_url"
xdotool key Tab
xdotool type --delay 15 "$fp"
xdotool key Tab
xdotool type --delay 15 "$api_key"
xdotool key alt+o
for _ in $(seq 1 10); do
  sleep 1
  shot relay
  read_out=$(words relay)
  has_value "$read_out" "$relay_fp" && break
done
if [ "$(cat curl.out)" = 401 ] && has_value "$read_out" "$relay_fp" &&
   has_value "$read_out" "$fp" && ! grep -qF "$relay_url" "$services"; then
  ok "through a CA-trusted relay the app refuses the service and names both fingerprints"
else
  not_ok "the relay was not refused with both fingerprints (curl $(cat curl.out); screen: $(words relay))"
fi
if ! grep -qE "Authorization|$api_key|GET /" "$work/relay.log"; then
  ok "the relay saw no request and no API key"
else
  not_ok "the relay saw the request"
fi
[ -n "$tke_pid" ] && stop_tke

exit $failed
