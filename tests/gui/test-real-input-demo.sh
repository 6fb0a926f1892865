#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole first initialization of a service instance in `tke --demo`, done as a person does it:
# real X input events only (xdotool on an X server of its own), keyboard alone or mouse alone,
# with the cards inserted from the ceremony dialog's list of practice cards. Pages are waited for
# by reading the screen (tesseract); the result is read from outside: the crypto units through
# tkectl, the journal file, the demo's folder after the app has quit.
#
#   test-real-input-demo.sh keyboard|mouse
#
# Prints the operator's actions by kind and the ratio of all actions to the floor (one per
# operation, card insertion, PIN, typed value and confirmation the procedure needs); the goal is
# 1.2 or less. A screenshot per step goes to tests/gui/screenshots/real-input-demo-MODE-*.png in
# the build dir. TAP.
set -u

mode=${1:-keyboard}
case $mode in keyboard | mouse) ;; *) echo "Bail out! usage: $0 keyboard|mouse"; exit 1 ;; esac
build=${TKE_BUILD_ROOT:-.}
tke=$build/src/app/tke
tkectl=$build/src/cli/tkectl
shots=$build/tests/gui/screenshots
goal=1.2
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

for tool in Xvfb xdotool tesseract import convert dbus-daemon python3; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done

# shellcheck source=../lib/x-session.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/x-session.sh"

enter_work_dir
mkdir -p "$shots"
rm -f "$shots/real-input-demo-$mode-"*.png
isolate_home "$work"

start_x_session

"$tke" --demo >demo.out 2>demo.err &
tke_pid=$!
for _ in $(seq 1 200); do grep -q '^Demo folder' demo.out 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^Demo crypto unit service: //p' demo.out)
fp=$(sed -n 's/^Certificate SHA-256: //p' demo.out)
api_key=$(sed -n 's/^API key: //p' demo.out)
folder=$(sed -n 's/^Demo folder (removed at exit): //p' demo.out)
if [ -z "$url" ] || [ -z "$fp" ] || [ -z "$api_key" ] || [ ! -d "$folder" ]; then
  echo "Bail out! tke --demo did not print its service and folder"
  sed 's/^/# /' demo.out demo.err
  exit 1
fi
for _ in $(seq 1 100); do xdotool search --name '^Open TKE' >/dev/null 2>&1 && break; sleep 0.1; done
win=$(xdotool search --name '^Open TKE' | head -n 1)
sleep 1
xdotool windowfocus --sync "$win" 2>/dev/null
read -r win_w win_h < <(xdotool getwindowgeometry "$win" | awk '/Geometry/ { split($2, g, "x"); print g[1], g[2] }')

# --- reading the screen ------------------------------------------------------------------------

step=0
# shot NAME: the whole screen, kept as tests/gui/screenshots/real-input-demo-MODE-NNN-NAME.png;
# shot again: a new picture of the same step, in the same file.
shot () {
  if [ "$1" != again ]; then
    step=$((step + 1))
    last_shot=$shots/real-input-demo-$mode-$(printf %03d $step)-$1.png
  fi
  import -window root "$last_shot"
}
# ocr X Y W H [OPTION...]: the words in that part of the last screenshot, with their positions
# in screen pixels in words.tsv. Tesseract reads small text reliably at twice its size; the
# options go to convert (-negate for light text on dark, -threshold 50% to drop a focus ring).
ocr () {
  local x=$1 y=$2 w=$3 h=$4
  shift 4
  # shellcheck disable=SC2068
  convert "$last_shot" -crop "${w}x$h+$x+$y" +repage -colorspace Gray $@ -resize 200% ocr.png
  tesseract ocr.png ocr --psm 11 tsv >/dev/null 2>&1
  awk -F'\t' -v x0="$x" -v y0="$y" 'BEGIN { OFS = "\t" }
    NR > 1 && $12 != "" { print int($7 / 2) + x0, int(($8 + $10 / 2) / 2) + y0, $12 }' ocr.tsv >words.tsv
  cut -f3 words.tsv | tr '\n' ' '
}
# The dialog in front of the main window (its title is the operation's), as X Y W H.
dialog_geometry () {
  local id
  for id in $(xdotool search --onlyvisible --name . 2>/dev/null); do
    [ "$id" = "$win" ] && continue
    xdotool getwindowgeometry "$id" | awk '/Position/ { split($2, p, ","); x = p[1]; y = p[2] }
      /Geometry/ { split($2, g, "x"); print x, y, g[1], g[2] }'
    return 0
  done
  return 1
}
norm () { tr -d ' \n' | tr 'A-Z' 'a-z'; }
# await WHERE TEXT [SECONDS]: until TEXT is read in WHERE (dialog: the dialog's page; window:
# the main window; screen: all of it); screenshot named after the step.
seen=''
await () {
  local where=$1 text=$2 secs=${3:-30} end geometry
  end=$((SECONDS + secs))
  shot "$label"
  while :; do
    sleep 0.3
    shot again
    case $where in
      dialog)
        geometry=''
        if geometry=$(dialog_geometry); then
          read -r dx dy dw dh <<<"$geometry"
          seen=$(ocr "$dx" "$dy" "$dw" "$dh")
        else
          seen=''
        fi ;;
      window) seen=$(ocr 0 0 "$win_w" "$win_h") ;;
      # The view switcher, and the row of operation buttons above it.
      tabs) seen=$(ocr 0 $((win_h - 50)) "$win_w" 50) ;;
      heading) seen=$(ocr 0 55 $((win_w / 2)) 50) ;;
      # The rows of operation buttons above the view switcher (three on the Smart card tab).
      buttons) seen=$(ocr 0 $((win_h - 200)) "$win_w" 150) ;;
    esac
    [[ "$(printf '%s' "$seen" | norm)" == *"$(printf '%s' "$text" | norm)"* ]] && return 0
    if [ $SECONDS -ge $end ]; then
      echo "# waited ${secs}s for \"$text\" in the $where at step '$label'; read: $seen"
      return 1
    fi
  done
}
# where_word TEXT: "X Y" of the first word of TEXT (one or more words on one line) in words.tsv.
where_word () {
  awk -F'\t' -v t="$1" 'BEGIN { n = split(t, w, " ") }
    { x[NR] = $1; y[NR] = $2; s[NR] = $3 }
    END {
      for (i = 1; i <= NR; i++) {
        ok = 1
        for (j = 1; j <= n; j++) if (tolower(s[i + j - 1]) != tolower(w[j])) { ok = 0; break }
        if (ok) { print x[i], y[i]; exit }
      }
    }' words.tsv
}

# --- acting, counted ---------------------------------------------------------------------------

declare -A count=([activation]=0 [card]=0 [pin]=0 [value]=0 [confirmation]=0 [acknowledgement]=0 [navigation]=0)
# act KIND xdotool-arguments...: one action of the operator.
act () {
  local kind=$1
  shift
  count[$kind]=$((count[$kind] + 1))
  xdotool "$@"
}
# click KIND TEXT [DX]: a mouse click on TEXT as read on the screen just now.
click () {
  local at
  at=$(where_word "$2")
  if [ -z "$at" ]; then
    echo "# no \"$2\" on the screen at step '$label'; read: $seen"
    return 1
  fi
  read -r cx cy <<<"$at"
  act "$1" mousemove $((cx + ${3:-10})) "$cy" click 1
}
# bar_click KIND LABEL: a click on the button LABEL in the dialog's bottom bar, read there alone.
bar_click () {
  local t
  read -r dx dy dw dh <<<"$(dialog_geometry)"
  for t in '' '-threshold 65%' '-threshold 50%'; do
    # shellcheck disable=SC2086
    seen=$(ocr "$dx" $((dy + dh - 60)) "$dw" 60 $t)
    [ -n "$(where_word "$2")" ] && break
  done
  click "$1" "$2"
}
# primary KIND LABEL: a click on the dialog's coloured button (Continue, or Confirm when the
# step is irreversible) once it reads LABEL. It is found by its colour in the dialog's bottom
# bar, then read on its own: tesseract doesn't see light text on a coloured button among the
# rest of a window.
primary () {
  local kind=$1 want=$2 end=$((SECONDS + 10)) box bw bh bx by text
  while :; do
    sleep 0.2
    shot again
    if geometry=$(dialog_geometry); then
      read -r dx dy dw dh <<<"$geometry"
      box=$(convert "$last_shot" -crop "${dw}x70+$dx+$((dy + dh - 70))" +repage \
              -fx '(b - r > 0.3 || r - g > 0.4) ? 1 : 0' -format '%@' info: 2>/dev/null)
      if [[ "$box" =~ ^([0-9]+)x([0-9]+)\+([0-9]+)\+([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -gt 20 ]; then
        bw=${BASH_REMATCH[1]} bh=${BASH_REMATCH[2]}
        bx=$((dx + BASH_REMATCH[3])) by=$((dy + dh - 70 + BASH_REMATCH[4]))
        convert "$last_shot" -crop "${bw}x$bh+$bx+$by" +repage -colorspace Gray -negate \
          -resize 200% button.png
        text=$(tesseract button.png - --psm 7 2>/dev/null)
        if [[ "$(printf '%s' "$text" | norm)" == *"$(printf '%s' "$want" | norm)"* ]]; then
          act "$kind" mousemove $((bx + bw / 2)) $((by + bh / 2)) click 1
          return 0
        fi
      fi
    fi
    if [ $SECONDS -ge $end ]; then
      echo "# no coloured \"$want\" button in the dialog at step '$label' (box '$box', read '${text:-}')"
      return 1
    fi
  done
}
# type_value KIND TEXT: typed into the focused field, which the operator then submits (Enter
# from the keyboard; a click on Continue with the mouse).
type_in () { xdotool type --delay 20 "$1"; }
submit () {
  local kind=$1
  if [ "$mode" = keyboard ]; then
    act "$kind" key Return
  else
    primary "$kind" Continue
  fi
}

# --- the ceremony, operation by operation --------------------------------------------------------

# tab N NAME: show the page (Alt+N, or a click on its name in the view switcher).
tab () {
  label=tab-$(printf '%s' "$2" | tr ' A-Z' '-a-z')
  # A person looks before pressing: the dialog before has gone.
  for _ in $(seq 1 25); do dialog_geometry >/dev/null || break; sleep 0.2; done
  sleep 0.3
  if [ "$mode" = keyboard ]; then
    act navigation key "alt+$1"
  else
    # The pointer leaves the button it clicked last (and its tooltip) on its way to the tabs.
    xdotool mousemove $((win_w - 40)) $((win_h - 25))
    await tabs "$2" 10 || return 1
    click navigation "$2" || return 1
  fi
  # The page's heading says the tab is shown.
  await heading "$2" 10
}
# operation KEY BUTTON TITLE: start an operation (its mnemonic, or a click on its button) and
# wait for its dialog.
operation () {
  label=start-$(printf '%s' "$2" | tr ' A-Z' '-a-z')
  if [ "$mode" = keyboard ]; then
    act activation key "alt+$1"
  else
    await buttons "$2" 10 || return 1
    click activation "$2" || return 1
  fi
}
# insert N: card N of the practice cards, from the dialog's card page.
insert () {
  label=insert-card-$1
  await dialog "Card $1" || return 1
  if [ "$mode" = keyboard ]; then
    act card key "$1"
  else
    click card "Card $1" || return 1
  fi
}
# answer PAGE-TEXT KIND VALUE: wait for the page, type VALUE and submit it.
answer () {
  label=$(printf '%s' "$1" | tr ' A-Z' '-a-z' | tr -cd 'a-z0-9-')
  await dialog "$1" || return 1
  type_in "$3"
  submit "$2"
}
# new_secret PAGE-TEXT VALUE: a new PIN or PUK, typed twice.
new_secret () {
  label=$(printf '%s' "$1" | tr ' A-Z' '-a-z' | tr -cd 'a-z0-9-')
  await dialog "$1" || return 1
  type_in "$2"
  if [ "$mode" = keyboard ]; then
    act pin key Return
  else
    await dialog "Repeat it" 5 && click pin "Repeat it" || return 1
  fi
  type_in "$2"
  submit pin
}
# done_close: the result page, read and acknowledged with Close.
done_close () {
  label=done-$1
  await dialog Done 60 || return 1
  if [ "$mode" = keyboard ]; then
    act acknowledgement key Return
  else
    bar_click acknowledgement Close || return 1
  fi
  for _ in $(seq 1 25); do
    sleep 0.2
    dialog_geometry >/dev/null || return 0
  done
  echo "# the dialog stayed open after Close"
  return 1
}

pins=(13572468 24681357 11223344 55667788 99001122)
names=(Alice Bob)
descriptions=("Alice's administrator card" "Bob's administrator card" "Custodian 1 card" "Custodian 2 card" "Custodian 3 card")

initialize_card () {
  local c=$1
  operation i "Initialize card" || return 1
  insert "$c" || return 1
  answer "Card description" value "${descriptions[$((c - 1))]}" || return 1
  answer "present PIN" pin 123456 || return 1
  new_secret "new PIN" "${pins[$((c - 1))]}" || return 1
  answer "present PUK" pin 12345678 || return 1
  new_secret "new PUK" 87654321 || return 1
  done_close "init-$c"
}

ceremony () {
  tab 1 "Smart card" || return 1
  for c in 1 2; do
    initialize_card "$c" || return 1
    operation s "Generate signature key" || return 1
    answer "Administrator name" value "${names[$((c - 1))]}" || return 1
    answer "PIN" pin "${pins[$((c - 1))]}" || return 1
    done_close "sigkey-$c" || return 1
  done
  for c in 3 4 5; do
    initialize_card "$c" || return 1
    operation k "Generate key part" || return 1
    answer "Generate a key part" pin "${pins[$((c - 1))]}" || return 1
    answer "Key part description" value "Master key part $((c - 2))" || return 1
    done_close "part-$c" || return 1
  done

  tab 2 "Crypto units" || return 1
  operation a "Add crypto units" || return 1
  label=unit-numbers
  await dialog "Add Crypto Units" || return 1
  type_in "1 2 3 4 5"
  if [ "$mode" = keyboard ]; then act value key Return; else bar_click value Add || return 1; fi
  sleep 0.5

  tab 3 Administrators || return 1
  # Alice's card is in reader 2; the list moves it to reader 1. Then Bob's.
  operation a "Add administrator" || return 1
  insert 1 || return 1
  done_close admin-alice || return 1
  operation a "Add administrator" || return 1
  # Alice's card, still in reader 1, is refused: she is an administrator already.
  label=admin-bob
  await dialog "already" || return 1
  insert 2 || return 1
  done_close admin-bob || return 1

  tab 4 "Signature thresholds" || return 1
  operation c "Change signature thresholds" || return 1
  answer "Signature threshold" value 2 || return 1
  answer "Revocation" value 2 || return 1
  # Bob's card is in reader 1 and signs first; Alice's comes from the list.
  answer "Signature 1 of 2" pin "${pins[1]}" || return 1
  insert 1 || return 1
  answer "Signature 2 of 2" pin "${pins[0]}" || return 1
  done_close thresholds || return 1

  tab 5 "Master keys" || return 1
  operation l Load || return 1
  answer "Number of key parts" value 3 || return 1
  # The last part card is still in reader 2; the other two come from the list.
  answer "Read key part" pin "${pins[4]}" || return 1
  insert 3 || return 1
  answer "Read key part" pin "${pins[2]}" || return 1
  insert 4 || return 1
  answer "Read key part" pin "${pins[3]}" || return 1
  answer "Load" pin "${pins[0]}" || return 1
  done_close load || return 1

  operation c Commit || return 1
  answer "Signature 1 of 2" pin "${pins[0]}" || return 1
  insert 2 || return 1
  answer "Signature 2 of 2" pin "${pins[1]}" || return 1
  done_close commit || return 1

  operation i "Set immediate" || return 1
  label=confirm-set-immediate
  await dialog "immediate?" || return 1
  if [ "$mode" = keyboard ]; then act confirmation key Return; else primary confirmation Confirm || return 1; fi
  answer "Set the master key" pin "${pins[1]}" || return 1
  done_close set-immediate
}

# --- what the operator did, and what the units say ---------------------------------------------

# The figures: every action by kind, and all of them against the floor, which is what the
# procedure needs of any tool: one activation per operation, one per card insertion, PIN, typed
# value and confirmation, and one acknowledgement of each operation's result (the operator reads
# it: the VP of a part, the units that accepted). Navigation (tabs, moving to a field) is the
# overhead the goal limits.
figures () {
  local k
  total=0
  for k in "${!count[@]}"; do total=$((total + count[$k])); done
  floor=$((total - count[navigation]))
  ratio=$(awk -v t="$total" -v f="$floor" 'BEGIN { if (f > 0) printf "%.2f", t / f; else print "inf" }')
  figures="${count[activation]} activations, ${count[card]} card insertions, ${count[pin]} PIN entries, ${count[value]} typed values, ${count[confirmation]} confirmations, ${count[acknowledgement]} acknowledgements, ${count[navigation]} navigation; $total in all; actions / floor: $total / $floor = $ratio (goal: $goal or less)"
  echo "# $mode: $figures"
}

finish () {
  echo "1..$n"
  exit $failed
}

abort () {
  not_ok "the ceremony stopped at step '$label'"
  echo "# last screenshot: $last_shot"
  echo "# when it stopped:"
  figures
  finish
}

ceremony || abort
ok "$mode: the first initialization was done by real input events, to the last Close"
figures
if awk -v r="$ratio" -v g="$goal" 'BEGIN { exit !(r <= g) }'; then
  ok "$mode: $total actions for a floor of $floor, $ratio times (goal $goal or less)"
else
  not_ok "$mode: $total actions for a floor of $floor, $ratio times: more than $goal"
fi

# Every tab at the size the window opened with: nothing widened it.
read -r now_w now_h < <(xdotool getwindowgeometry "$win" | awk '/Geometry/ { split($2, g, "x"); print g[1], g[2] }')
if [ "$now_w" = "$win_w" ] && [ "$now_h" = "$win_h" ] && [ "$win_w" -le 1024 ] && [ "$win_h" -le 768 ]; then
  ok "the window kept its size of ${win_w}x$win_h, which fits 1024x768"
else
  not_ok "the window opened at ${win_w}x$win_h and is ${now_w}x$now_h now"
fi

# The units, asked by tkectl (another front end, with a workspace of its own).
export TKE_CONFIG_DIR=$work/tkectl
"$tkectl" service-add "$url" --api-key "$api_key" --fingerprint "$fp" >tkectl.log 2>&1 &&
  "$tkectl" cryptounit-add 1 2 3 4 5 >>tkectl.log 2>&1 &&
  "$tkectl" cryptounit-mk --json >mk.json 2>>tkectl.log &&
  "$tkectl" cryptounit-admins --json >admins.json 2>>tkectl.log
if python3 - mk.json admins.json >units.log 2>&1 <<'PY'; then
import json, sys
mk = json.load(open(sys.argv[1]))
admins = json.load(open(sys.argv[2]))
units = mk["units"] if isinstance(mk, dict) else mk
assert len(units) == 5, "%d units" % len(units)
vps = set()
for u in units:
    cur = u["registers"]["current"]
    assert cur["state"] == "Valid", u
    assert u["registers"]["new"]["state"] == "Empty", u
    vps.add(cur["vp"])
assert len(vps) == 1, vps
units = admins["units"] if isinstance(admins, dict) else admins
for u in units:
    assert sorted(a["name"] for a in u["admins"]) == ["Alice", "Bob"], u
    assert u["mode"] == "normal", u
    assert u["signature_threshold"] == 2 and u["revocation_threshold"] == 2, u
print("current master key VP %s on all 5 units; administrators Alice and Bob; thresholds 2/2" % vps.pop())
PY
  ok "tkectl reads all 5 units: $(cat units.log)"
else
  not_ok "the units are not initialized as the ceremony should have left them"
  sed 's/^/# /' tkectl.log units.log mk.json
fi

# The journal in the demo folder: one entry per operation, and no PIN in it.
journal=$(find "$folder" -name 'journal.jsonl' | head -n 1)
entries=$(wc -l <"${journal:-/dev/null}")
leaked=''
for pin in "${pins[@]}" 123456 12345678 87654321; do
  [ -n "$journal" ] && grep -q "$pin" "$journal" && leaked="$leaked $pin"
done
if [ -n "$journal" ] && [ "$entries" -ge 15 ] && [ -z "$leaked" ]; then
  ok "the journal holds $entries entries and none of the PINs or PUKs typed"
else
  not_ok "journal '$journal' with $entries entries; PINs in it:${leaked:- none}"
fi

# Quit (Ctrl+Q, or the window's close button): the demo's folder goes with the app.
if [ "$mode" = keyboard ]; then
  xdotool key ctrl+q
else
  xdotool mousemove $((win_w - 29)) 28 click 1
fi
for _ in $(seq 1 50); do kill -0 "$tke_pid" 2>/dev/null || break; sleep 0.1; done
wait "$tke_pid" 2>/dev/null
tke_pid=''
if [ ! -e "$folder" ]; then
  ok "the demo folder is gone once the app has quit"
else
  not_ok "the demo folder $folder stayed behind"
fi

finish
