#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# TAP: installs the build into a scratch DESTDIR and runs what was installed, as an operator
# would after `meson install`: the service starts and answers, tkectl talks to it, tke-vcard makes
# a card image, tke prints its version, and the data files are where desktops look for them.
set -u
build=${TKE_BUILD_ROOT:?}
dest=$(mktemp -d /tmp/tke-install-XXXXXX)
state=$(mktemp -d /tmp/tke-install-state-XXXXXX)
svc=
cleanup () {
  [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
  [ -n "${TKE_KEEP_INSTALL:-}" ] || rm -rf "$dest" "$state"
}
trap cleanup EXIT

echo "1..6"
n=0
ok () { n=$((n + 1)); echo "ok $n $1"; }
fail () { n=$((n + 1)); echo "not ok $n $1"; failed=1; }
failed=0

if meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$state/install.log" 2>&1; then
  ok "meson install into a scratch DESTDIR"
else
  fail "meson install into a scratch DESTDIR"; sed 's/^/# /' "$state/install.log"
fi
prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
bin="$dest$prefix/bin"

# The installed service: first start prints the URL, fingerprint and API key.
"$bin/tke-softunit" --state-dir "$state/unit" --units 1 --failover-units 1 --listen 127.0.0.1:0 \
  >"$state/svc.out" 2>"$state/svc.err" </dev/null &
svc=$!
for _ in $(seq 1 100); do grep -q 'https://' "$state/svc.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'https://[0-9.]*:[0-9]*' "$state/svc.out" | head -1)
fp=$(grep -oiE '[0-9a-f]{2}(:[0-9a-f]{2}){31}|[0-9a-f]{64}' "$state/svc.out" | head -1)
key=$(grep -iE 'api key' "$state/svc.out" | grep -oE '[A-Za-z0-9_-]{20,}' | tail -1)
if [ -n "$url" ] && [ -n "$fp" ] && [ -n "$key" ]; then
  ok "installed tke-softunit starts and prints its URL, fingerprint and API key"
else
  fail "installed tke-softunit starts and prints its URL, fingerprint and API key"
  sed 's/^/# /' "$state/svc.out" "$state/svc.err"
fi

# The installed tkectl lists the installed service's units.
export TKE_CONFIG_DIR="$state/config"
printf '%s\n' "$key" >"$state/api-key"
chmod 600 "$state/api-key"
if "$bin/tkectl" service-add "$url" --api-key-file "$state/api-key" --fingerprint "$fp" \
     >"$state/cli.out" 2>&1 </dev/null &&
   "$bin/tkectl" cryptounits --json >"$state/units.json" 2>>"$state/cli.out" </dev/null &&
   [ "$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d if isinstance(d, list) else d.get("units", [])))' "$state/units.json")" = 2 ]; then
  ok "installed tkectl connects to the service and lists its 2 units"
else
  fail "installed tkectl connects to the service and lists its 2 units"
  sed 's/^/# /' "$state/cli.out" "$state/units.json" 2>/dev/null
fi

if "$bin/tke-vcard" create "$state/card.img" --serial 4242 >/dev/null 2>&1 &&
   [ "$(stat -c %a "$state/card.img")" = 600 ]; then
  ok "installed tke-vcard makes a 0600 card image"
else
  fail "installed tke-vcard makes a 0600 card image"
fi

if "$bin/tke" --version 2>/dev/null | grep -q '^tke [0-9]'; then
  ok "installed tke prints its version"
else
  fail "installed tke prints its version"
fi

data="$dest$prefix/share"
missing=""
for f in applications/io.github.opentke.Tke.desktop metainfo/io.github.opentke.Tke.metainfo.xml \
         glib-2.0/schemas/io.github.opentke.Tke.gschema.xml \
         icons/hicolor/scalable/apps/io.github.opentke.Tke.svg \
         icons/hicolor/symbolic/apps/io.github.opentke.Tke-symbolic.svg \
         bash-completion/completions/tkectl man/man1/tkectl.1; do
  [ -f "$data/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
  ok "desktop file, metainfo, schema, icons, completion and man page are installed"
else
  fail "installed data files missing:$missing"
fi
exit $failed
