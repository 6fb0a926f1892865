#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Flatpak, built, installed and run with nothing from outside but Debian 12's packages:
# - flatpak/debian-runtime.sh makes the runtime and SDK from Debian's packages (kept in a cache
#   keyed by the package versions, $TKE_FLATPAK_CACHE);
# - flatpak/offline-build.sh builds the app from the offline variant of the manifest with
#   downloads off, says for each source archive whether Debian's is the one the manifest pins,
#   and writes the bundles;
# - a fresh Flatpak installation installs both bundles in a network namespace with no network;
# - the installed app holds what it should and has exactly the permissions the README documents;
# - `flatpak run io.github.opentke.Tke --demo` opens the window on an X server of the test's own
#   (screenshot: tests/flatpak/screenshots/flatpak-demo.png in the build dir, read by tesseract);
# - tkectl inside the sandbox lists the host's vpcd readers through --socket=pcsc, initializes a
#   tke-vcard card and reads it back, and the host's own tkectl reads what it wrote.
# TAP. Needs root (dpkg configures the runtime's packages in a chroot).
set -u

build=${TKE_BUILD_ROOT:-.}
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
vcard=$build/src/vcard/tke-vcard
host_tkectl=$build/src/cli/tkectl
app_id=io.github.opentke.Tke
platform=io.github.opentke.Debian12.Platform
cache=${TKE_FLATPAK_CACHE:-/var/tmp/opentke-flatpak-cache}
shots=$build/tests/flatpak/screenshots
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check () { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
diag () { sed 's/^/# /' "$@"; }
skip_all () {
  echo "SKIP SKIP SKIP: $1" >&2
  echo "1..0 # SKIP $1"
  exit 77
}
bail () {
  echo "Bail out! $1"
  exit 1
}

[ "$(id -u)" -eq 0 ] || skip_all "not root: the runtime's packages are configured in a chroot"
for tool in flatpak flatpak-builder mmdebstrap bwrap unshare Xvfb xdotool tesseract import \
  opensc-tool flock desktop-file-validate dbus-daemon; do
  command -v "$tool" >/dev/null || bail "$tool is missing (build-aux/setup.sh --test)"
done
if ! why=$(bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc true 2>&1); then
  skip_all "bubblewrap can't make its sandbox on this machine: $why"
fi
if ! pgrep -x pcscd >/dev/null 2>&1 || [ ! -S /run/pcscd/pcscd.comm ]; then
  skip_all "pcscd is not running (build-aux/pcscd-up.sh starts it)"
fi

# shellcheck source=../lib/x-session.sh
. "$top/tests/lib/x-session.sh"
enter_work_dir
: "${work:?}"
mkdir -p "$shots"

# 1. The runtime and SDK from Debian's packages.
start=$SECONDS
if "$top/flatpak/debian-runtime.sh" --cache "$cache" >runtime.log 2>&1; then
  ok "the Debian 12 runtime and SDK are made and exported ($((SECONDS - start)) s)"
else
  not_ok "the Debian 12 runtime and SDK are made and exported"
  diag runtime.log
  bail "no runtime"
fi
runtime_repo=$(sed -n 's/^Repository: //p' runtime.log)
grep -E '^(Platform|== Reusing)' runtime.log | diag

# 2. The app, built offline, and its bundles.
start=$SECONDS
if "$top/flatpak/offline-build.sh" --runtime-repo "$runtime_repo" --work "$work/build" \
  --checkout "$top" >build.log 2>&1; then
  ok "flatpak-builder builds the offline manifest with downloads off ($((SECONDS - start)) s)"
else
  not_ok "flatpak-builder builds the offline manifest with downloads off"
  diag build.log
  bail "no app"
fi
diag "$work/build/archives.txt"
# What flatpak/README.md says of each archive is what was found.
while IFS=: read -r module verdict _; do
  verdict=${verdict# }
  check "flatpak/README.md says $module's Debian archive is $verdict" \
    grep -Eq "^\| $module \|.*\| $verdict" "$top/flatpak/README.md"
done <"$work/build/archives.txt"

bundles=$work/build/bundles
runtime_bundle=$bundles/$platform-12.flatpak
app_bundle=$bundles/$app_id.flatpak
check "the bundles' checksums hold" sh -c "cd '$bundles' && sha256sum --quiet -c SHA256SUMS"
for b in "$runtime_bundle" "$app_bundle"; do
  echo "# bundle size: $(du -h "$b" | cut -f1) $(basename "$b") ($(stat -c %s "$b") bytes)"
done

# 3. A fresh installation, from the two files alone, in a network namespace with no network.
export FLATPAK_USER_DIR=$work/installation
for b in "$runtime_bundle" "$app_bundle"; do
  if unshare --net flatpak install --user --noninteractive --bundle "$b" >install.log 2>&1; then
    ok "$(basename "$b") installs with no network"
  else
    not_ok "$(basename "$b") installs with no network"
    diag install.log
  fi
done
flatpak list --user --columns=application,branch >list.txt 2>&1
check "the fresh installation holds the app and its runtime" \
  sh -c "grep -q '^$app_id' list.txt && grep -q '^$platform' list.txt"

# 4. What the installed app holds.
location=$(flatpak info --user --show-location "$app_id" 2>/dev/null)
for f in bin/tke bin/tkectl share/applications/$app_id.desktop \
  share/icons/hicolor/scalable/apps/$app_id.svg \
  share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg \
  share/glib-2.0/schemas/$app_id.gschema.xml share/glib-2.0/schemas/gschemas.compiled \
  share/locale/de/LC_MESSAGES/opentke.mo share/locale/fr/LC_MESSAGES/opentke.mo \
  lib/libpcsclite.so.1 lib/libjose.so.0 lib/libjansson.so.4; do
  check "the app holds $f" test -e "$location/files/$f"
done
check "the app holds its metainfo" \
  sh -c "ls '$location/files/share/metainfo/$app_id.metainfo.xml' \
         '$location/files/share/appdata/$app_id.appdata.xml' 2>/dev/null | grep -q ."
check "appstream-compose made the app's catalogue entry" \
  test -e "$location/files/share/app-info/xmls/$app_id.xml.gz"
check "the exported desktop file is valid" \
  desktop-file-validate "$location/export/share/applications/$app_id.desktop"
check "the pcscd daemon is not in the app (the host's serves it)" \
  test ! -e "$location/files/sbin/pcscd"

# The permissions are the README's finish-args, no more and no fewer.
flatpak info --user --show-permissions "$app_id" >permissions.txt 2>&1
/usr/bin/python3 - "$top/README.md" permissions.txt >permissions.diff <<'PY'
import re, sys
readme = open(sys.argv[1]).read()
section = readme.split("\n## Flatpak", 1)[1].split("\n## ", 1)[0]
documented = set(re.findall(r"`(--(?:socket|share|device|filesystem)=[\w.-]+)`", section))
keys = {"sockets": "socket", "shared": "share", "devices": "device", "filesystems": "filesystem"}
granted = set()
for line in open(sys.argv[2]):
    key, _, values = line.strip().partition("=")
    if key in keys:
        granted.update(f"--{keys[key]}={v}" for v in values.split(";") if v)
# flatpak lists --socket=fallback-x11 as the sockets x11 and fallback-x11 (X11 where Wayland
# is missing): the x11 entry is part of it, not a permission of its own.
if "--socket=fallback-x11" in granted:
    granted.discard("--socket=x11")
print("documented:", " ".join(sorted(documented)))
print("granted:   ", " ".join(sorted(granted)))
sys.exit(0 if documented and documented == granted else 1)
PY
check "flatpak info --show-permissions is exactly the README's finish-args" test $? -eq 0
diag permissions.diff

# 5. The window, on an X server of the test's own.
isolate_home "$work"
unset GSETTINGS_SCHEMA_DIR GSETTINGS_BACKEND
start_x_session
flatpak run "$app_id" --demo >app.log 2>&1 &
app_pid=$!
pids+=("$app_pid")
for _ in $(seq 1 300); do xdotool search --name '^Open TKE' >/dev/null 2>&1 && break; sleep 0.2; done
if xdotool search --name '^Open TKE' >/dev/null 2>&1; then
  ok "flatpak run $app_id --demo opens the window"
else
  not_ok "flatpak run $app_id --demo opens the window"
  diag app.log
fi
sleep 3
import -window root "$shots/flatpak-demo.png"
tesseract "$shots/flatpak-demo.png" ocr >/dev/null 2>&1
check "the window shows the demo world (tesseract reads \"Demo\", \"Wallet\" and \"Crypto units\")" \
  sh -c "grep -qi 'crypto units' ocr.txt && grep -q Demo ocr.txt && grep -q Wallet ocr.txt"
flatpak kill "$app_id" >/dev/null 2>&1
wait "$app_pid" 2>/dev/null

# 6. tkectl in the sandbox, through the host's pcscd.
exec 9>/tmp/tke-vpcd.lock
flock -w 600 9 || bail "/tmp/tke-vpcd.lock stayed taken for 10 minutes"
card_state () {
  opensc-tool -l 2>/dev/null | awk -v r="Virtual PCD 00 0$1" 'index($0, r) { print $2 }'
}
"$vcard" create card.img --serial 4711 >/dev/null || bail "tke-vcard create"
"$vcard" insert card.img --reader 2 >vcard.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ "$(card_state 1)" = Yes ] && break; sleep 0.1; done
sandboxed () { flatpak run --command=tkectl "$app_id" "$@"; }
sandboxed cards >cards.txt 2>&1
check "tkectl in the sandbox lists both vpcd readers of the host's pcscd" \
  sh -c "grep -q 'Virtual PCD 00 00' cards.txt && grep -q 'Virtual PCD 00 01' cards.txt"
diag cards.txt
printf '123456\n24681357\n12345678\n87654321\n' |
  sandboxed card-init --description "Flatpak card" --pin-file /dev/stdin --yes >init.txt 2>&1
check "tkectl in the sandbox initializes the card in reader 2" test $? -eq 0
diag init.txt
sandboxed card-info >info.txt 2>&1
check "tkectl card-info in the sandbox reads it: serial 4711, \"Flatpak card\"" \
  sh -c "grep -q 4711 info.txt && grep -q 'Flatpak card' info.txt"
diag info.txt
"$host_tkectl" card-info >host-info.txt 2>&1
check "the host's tkectl reads the description the sandbox wrote" grep -q 'Flatpak card' host-info.txt

echo "1..$n"
exit $failed
