#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The window in another language: `tke --demo` with LANGUAGE=LANG and the build's translations,
# on an X server of its own, each tab shown by its Alt+N key, then the ceremony dialog (its card
# page and a question) and the keyboard shortcuts window. For each screen: the page heading read
# by tesseract is the translation of the English one, and the window has kept its size (no text
# so long that it widens the window). The screenshots stay for a person to look at cut text:
# tests/gui/screenshots/lang-LANG-*.png in the build dir. TAP.
#
#   test-screens-lang.sh de|fr
set -u

lang=${1:?usage: $0 LANG}
build=${TKE_BUILD_ROOT:-.}
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tke=$build/src/app/tke
shots=$build/tests/gui/screenshots
po=$top/po/$lang.po
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

for tool in Xvfb xdotool tesseract import convert dbus-daemon msggrep; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done
[ -f "$po" ] || { echo "Bail out! no $po"; exit 1; }
[ -f "$build/po/$lang/LC_MESSAGES/opentke.mo" ] ||
  { echo "Bail out! $build/po/$lang/LC_MESSAGES/opentke.mo is not built"; exit 1; }

# shellcheck source=../lib/x-session.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/x-session.sh"

enter_work_dir
mkdir -p "$shots"
rm -f "$shots/lang-$lang-"*.png
isolate_home "$work"
# C.UTF-8 is not "C": gettext follows LANGUAGE with it, and no other locale has to be made.
export LANG=C.UTF-8 LANGUAGE=$lang TKE_LOCALEDIR=$build/po
unset LC_ALL LC_MESSAGES

# The translation of one message, from the .po file.
translated () {
  msggrep --no-wrap -K -F -e "$1" "$po" |
    awk -v id="msgid \"$1\"" '$0 == id { getline; sub(/^msgstr "/, ""); sub(/"$/, ""); print; exit }'
}

start_x_session

"$tke" --demo >demo.out 2>demo.err &
tke_pid=$!
for _ in $(seq 1 100); do xdotool search --name '^Open TKE' >/dev/null 2>&1 && break; sleep 0.1; done
win=$(xdotool search --name '^Open TKE' | head -n 1)
sleep 2
read -r win_w win_h < <(xdotool getwindowgeometry "$win" | awk '/Geometry/ { split($2, g, "x"); print g[1], g[2] }')

# Compared without case, spaces and accents: tesseract reads "ü" as "u" and "î" as "i" at times.
norm () { iconv -f UTF-8 -t ASCII//TRANSLIT 2>/dev/null | tr -d ' \n' | tr 'A-Z' 'a-z'; }
# screen NAME ENGLISH-HEADING: a screenshot, its heading read, the window's size checked.
screen () {
  local name=$1 english=$2 want text size
  want=$(translated "$english")
  sleep 1
  import -window root "$shots/lang-$lang-$name.png"
  convert "$shots/lang-$lang-$name.png" -crop "$((win_w / 2))x60+0+50" +repage -colorspace Gray \
    -resize 200% heading.png
  text=$(tesseract heading.png - --psm 11 2>/dev/null | tr '\n' ' ')
  size=$(xdotool getwindowgeometry "$win" | awk '/Geometry/ { print $2 }')
  if [ -n "$want" ] &&
     [[ "$(printf '%s' "$text" | norm)" == *"$(printf '%s' "$want" | norm)"* ]] &&
     [ "$size" = "${win_w}x$win_h" ]; then
    ok "$name: the heading reads \"$want\" and the window is still ${win_w}x$win_h"
  else
    not_ok "$name: heading \"$want\" expected for \"$english\", read \"$text\"; window $size"
  fi
}

screen demo "Demo"
for page in "1 smart-card|Smart card" "2 crypto-units|Crypto units" "3 administrators|Administrators" \
            "4 thresholds|Signature thresholds" "5 master-keys|Master keys" "6 demo-again|Demo"; do
  key=${page%% *}
  rest=${page#* }
  xdotool key "alt+$key"
  screen "$key-${rest%%|*}" "${rest#*|}"
done

# The ceremony dialog: Initialize card, its card page (the practice cards) and its first
# question, then cancelled. Its title is the dialog's heading.
xdotool key alt+1
sleep 0.5
xdotool key alt+i
sleep 2
import -window root "$shots/lang-$lang-dialog-card.png"
xdotool key 1
sleep 2
import -window root "$shots/lang-$lang-dialog-question.png"
dialog_text=$(convert "$shots/lang-$lang-dialog-question.png" -colorspace Gray -resize 200% png:- |
  tesseract - - --psm 11 2>/dev/null | tr '\n' ' ')
# The dialog's own words are translated: its title (the operation) and its Cancel button. The
# steps and questions come from the ceremony engine, which is not translated yet.
want=$(translated "Initialize Card")
cancel=$(translated "_Cancel" | tr -d _)
if [ -n "$want" ] && [[ "$(printf '%s' "$dialog_text" | norm)" == *"$(printf '%s' "$want" | norm)"* ]] &&
   [ -n "$cancel" ] && [[ "$(printf '%s' "$dialog_text" | norm)" == *"$(printf '%s' "$cancel" | norm)"* ]]; then
  ok "dialog: its title reads \"$want\" and its button \"$cancel\""
else
  not_ok "dialog: \"$want\" and \"$cancel\" expected, read \"$dialog_text\""
fi
xdotool key Escape
sleep 1
import -window root "$shots/lang-$lang-dialog-cancelled.png"
xdotool key Escape
sleep 1

# The keyboard shortcuts window.
xdotool key ctrl+question
sleep 2
import -window root "$shots/lang-$lang-shortcuts.png"
xdotool key Escape

echo "1..$n"
exit $failed
