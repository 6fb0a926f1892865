#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the app's Flatpak with nothing from outside but Debian 12's packages: the runtime of
# flatpak/debian-runtime.sh, Debian's source archives, and flatpak-builder with downloads off.
set -euo pipefail

usage () {
  cat <<'EOF'
Usage: flatpak/offline-build.sh --runtime-repo REPO [OPTION...]

Builds io.github.opentke.Tke from the offline variant of the manifest (made by
flatpak/offline-manifest.py: the Debian 12 runtime of flatpak/debian-runtime.sh instead of
org.gnome.Platform, Debian's source archives instead of the upstream URLs) with flatpak-builder
and downloads disabled, then writes into the output directory:
  io.github.opentke.Tke.flatpak                        the application
  io.github.opentke.Debian12.Platform-12.flatpak       the runtime it runs on
  SHA256SUMS                                           checksums of both
For each source archive it says whether Debian's is the one the real manifest pins.

Options:
  --runtime-repo REPO  the OSTree repository debian-runtime.sh printed
  --work DIR           build state, the build's own Flatpak installation and the app's
                       repository (default: _flatpak-offline in the source tree)
  --out DIR            where the bundles go (default: WORK/bundles)
  --checkout DIR       the source tree to build (default: this one)
  -h, --help           show this text

Needs flatpak, flatpak-builder, python3 and apt-get (for `apt-get source`, with an apt
configuration of its own: the host's sources are not changed).
EOF
}

die () {
  echo "offline-build: $*" >&2
  exit 1
}

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runtime_repo=""
work="$top/_flatpak-offline"
out=""
checkout=$top
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime-repo) [ $# -ge 2 ] || die "--runtime-repo needs a directory"; runtime_repo=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || die "--work needs a directory"; work=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --checkout) [ $# -ge 2 ] || die "--checkout needs a directory"; checkout=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$runtime_repo" ] || { usage >&2; die "--runtime-repo is needed"; }
[ -d "$runtime_repo/objects" ] || die "$runtime_repo is not an OSTree repository"
for tool in flatpak flatpak-builder python3 apt-get sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt install flatpak flatpak-builder)"
done

mkdir -p "$work"
work=$(cd "$work" && pwd)
[ -n "$out" ] || out=$work/bundles
mkdir -p "$out"
out=$(cd "$out" && pwd)
runtime_repo=$(cd "$runtime_repo" && pwd)
manifest=$top/flatpak/io.github.opentke.Tke.json
app_id=io.github.opentke.Tke
platform=io.github.opentke.Debian12.Platform
sdk=io.github.opentke.Debian12.Sdk
branch=12
arch=$(flatpak --default-arch)

# The runtime's bundle takes minutes of compression on one core: it is made while the app builds.
runtime_bundle=$platform-$branch.flatpak
flatpak build-bundle --runtime --arch="$arch" "$runtime_repo" "$out/$runtime_bundle" \
  "$platform" "$branch" >"$work/runtime-bundle.log" 2>&1 &
runtime_bundle_pid=$!
trap 'kill "$runtime_bundle_pid" 2>/dev/null || true' EXIT

echo "== Debian's source packages of the manifest's archives"
apt_dir=$work/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$work/sources"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt_dir/sources.list" <<EOF
deb-src [signed-by=$keyring] $mirror bookworm main
deb-src [signed-by=$keyring] $mirror bookworm-updates main
deb-src [signed-by=$keyring] $security bookworm-security main
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root
)
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 ||
  { cat "$apt_dir/update.log" >&2; die "apt-get update of the source lists failed"; }
# apt checks each file against the signed Sources index before it keeps it.
(cd "$work/sources" && apt-get "${apt_opts[@]}" -q source --download-only pcsc-lite jansson jose) \
  >"$apt_dir/source.log" 2>&1 ||
  { cat "$apt_dir/source.log" >&2; die "apt-get source failed"; }

echo "== The offline manifest (runtime, SDK and source locations changed)"
offline=$work/$app_id.offline.json
python3 "$top/flatpak/offline-manifest.py" --sources "$work/sources" --checkout "$checkout" \
  --output "$offline" "$manifest" | tee "$work/archives.txt"

echo "== The runtime and SDK, into the build's own Flatpak installation"
export FLATPAK_USER_DIR=$work/installation
flatpak remote-add --user --if-not-exists --no-gpg-verify debian12 "file://$runtime_repo"
flatpak install --user --noninteractive --or-update debian12 "$sdk//$branch" "$platform//$branch" \
  >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "installing the SDK failed"; }

echo "== flatpak-builder, downloads disabled"
# rofiles-fuse needs FUSE, which containers and CI machines often lack; it only guards the
# build against modules that write outside their own files.
flatpak-builder --user --disable-download --disable-rofiles-fuse --disable-updates \
  --force-clean --state-dir="$work/state" --repo="$work/repo" "$work/build" "$offline" \
  >"$work/builder.log" 2>&1 ||
  { tail -n 40 "$work/builder.log" >&2; die "flatpak-builder failed (log: $work/builder.log)"; }

echo "== Bundles"
flatpak build-bundle --arch="$arch" "$work/repo" "$out/$app_id.flatpak" "$app_id" master
wait "$runtime_bundle_pid" ||
  { cat "$work/runtime-bundle.log" >&2; die "the runtime's bundle failed"; }
(cd "$out" && sha256sum "$runtime_bundle" "$app_id.flatpak" >SHA256SUMS)
echo "Bundles in $out:"
(cd "$out" && du -h "$runtime_bundle" "$app_id.flatpak")
