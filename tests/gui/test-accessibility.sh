#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# What a screen reader and a keyboard user meet in `tke --demo`, read from outside through
# AT-SPI (tests/gui/a11y-probe.py, an independent client of what GTK exposes) while real X key
# events (xdotool) drive the window:
#   - every control of every tab and of the ceremony dialog has a name said once, without its
#     mnemonic underline;
#   - a table is one Tab stop: the arrow keys move between its rows, Space ticks one, Tab leaves
#     it and Shift+Tab comes back to the same row;
#   - a question of the dialog has the focus in its field, named by the question.
# TAP.
set -u

build=${TKE_BUILD_ROOT:-.}
tke=$build/src/app/tke
probe="${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/gui/a11y-probe.py"
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

for tool in Xvfb xdotool dbus-daemon /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (build-aux/setup.sh --test)"; exit 1; }
done
/usr/bin/python3 -c 'import gi; gi.require_version("Atspi", "2.0")' 2>/dev/null ||
  { echo "Bail out! gir1.2-atspi-2.0 is missing (build-aux/setup.sh --test)"; exit 1; }

# shellcheck source=../lib/x-session.sh
. "${TKE_SOURCE_ROOT:-$(dirname "$0")/../..}/tests/lib/x-session.sh"

enter_work_dir
isolate_home "$work"
# The accessibility bus is what this test reads: GTK must talk to it.
unset GTK_A11Y NO_AT_BRIDGE
start_x_session

"$tke" --demo >demo.out 2>demo.err &
tke_pid=$!
for _ in $(seq 1 200); do grep -q '^Demo folder' demo.out 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do xdotool search --name '^Open TKE' >/dev/null 2>&1 && break; sleep 0.1; done
win=$(xdotool search --name '^Open TKE' | head -n 1)
[ -n "$win" ] || { echo "Bail out! the window did not open"; sed 's/^/# /' demo.err; exit 1; }
sleep 1
xdotool windowfocus --sync "$win" 2>/dev/null

focus () { /usr/bin/python3 "$probe" focus; }
# expect_focus WHAT LINE: the focused object is LINE (ROLE|NAME|checked or -), within 3 s.
expect_focus () {
  local got=''
  for _ in $(seq 1 15); do
    got=$(focus)
    [ "$got" = "$2" ] && break
    sleep 0.2
  done
  if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1"; echo "#   focus: $got, wanted: $2"; fi
}
# expect_named WHAT: no control of the app's windows lacks a name.
expect_named () {
  local unnamed
  unnamed=$(/usr/bin/python3 "$probe" unnamed)
  if [ -z "$unnamed" ]; then ok "$1"; else not_ok "$1"; printf '%s\n' "$unnamed" | sed 's/^/#   /'; fi
}

# Every tab once (Alt+1..6), so that each page is made; then every control is looked at.
for t in 1 2 3 4 5 6; do xdotool key "alt+$t"; sleep 0.4; done
# The five demo units are listed when the Crypto units tab shows them.
xdotool key alt+2
# The demo's service names its instance as every tke-softunit does by default, instance-XXXX:
# the name is read from the first row.
for _ in $(seq 1 50); do [[ "$(focus)" == "check box|instance-"????" 1|-" ]] && break; sleep 0.2; done
instance=$(focus | sed -n 's/^check box|\(instance-....\) 1|-$/\1/p')
[ -n "$instance" ] || instance="(no unit row had the focus: $(focus))"
expect_named "every control of the six tabs has a name, said once, without an underline"

# The windows the main menu opens: Preferences (Ctrl+,), the journal (Ctrl+J), the shortcuts
# (Ctrl+?); each is looked at while it is open, and closed with Escape.
for keys in ctrl+comma ctrl+j ctrl+question; do
  xdotool key "$keys"
  sleep 1.5
  expect_named "every control of the window that $keys opens has a name"
  xdotool key Escape
  sleep 0.5
done
xdotool windowfocus --sync "$win" 2>/dev/null
xdotool key alt+2
sleep 0.5

# The table of crypto units, by keys alone.
expect_focus "the Crypto units tab starts in its table, on unit 1" "check box|$instance 1|-"
xdotool key Down
expect_focus "Down moves to unit 2" "check box|$instance 2|-"
xdotool key space
expect_focus "Space ticks unit 2 and the focus stays on it" "check box|$instance 2|checked"
xdotool key Tab
expect_focus "Tab leaves the table for the first button under it" "push button|Connect service…|-"
xdotool key shift+Tab
expect_focus "Shift+Tab comes back to the table, on the same row" "check box|$instance 2|checked"
xdotool key space
expect_focus "Space unticks it" "check box|$instance 2|-"

# The ceremony dialog: its card page, then its first question.
xdotool key alt+1
sleep 0.5
xdotool key alt+i
for _ in $(seq 1 50); do /usr/bin/python3 "$probe" unnamed >/dev/null; focus | grep -q '^none' || break; sleep 0.2; done
sleep 1
expect_named "every control of the ceremony dialog's card page has a name"
xdotool key 1
expect_focus "the dialog's question has the focus in its field, named by the question" \
  "text|Card description|-"
xdotool key Tab
expect_focus "Tab from the field goes to the Continue button" "push button|Continue|-"
xdotool key Escape
sleep 0.5

echo "1..$n"
exit $failed
