#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the Open TKE Flatpak on a networked machine and writes single-file bundles of the app,
# its runtime and the runtime's GL extension, so an air-gapped workstation installs all three
# with no network at all.
set -euo pipefail

usage () {
  cat <<'EOF'
Usage: flatpak/build-bundle.sh [OPTION...]

Builds io.github.opentke.Tke with flatpak-builder (needs the network: it fetches the GNOME
runtime and SDK from Flathub and the source archives named in the manifest), then writes into
the output directory:
  io.github.opentke.Tke.flatpak              the application
  org.gnome.Platform-<version>.flatpak       the runtime it runs on
  org.freedesktop.Platform.GL.default-<branch>.flatpak
                                             the runtime's Mesa drivers (skip with --no-gl)
  SHA256SUMS                                 checksums of the above, to check after the copy

Options:
  --out DIR      where the bundles go (default: _flatpak/bundles in the source tree)
  --work DIR     build directory, local repository and flatpak-builder state
                 (default: _flatpak in the source tree; the manifest skips it)
  --arch ARCH    build for ARCH (default: the host's, e.g. x86_64)
  --no-gl        do not bundle the GL extension (GTK then draws without the GPU)
  -h, --help     show this text

On the air-gapped workstation, after `sha256sum -c SHA256SUMS`, install the runtime first:
  flatpak install --user --bundle org.gnome.Platform-<version>.flatpak
  flatpak install --user --bundle org.freedesktop.Platform.GL.default-<branch>.flatpak
  flatpak install --user --bundle io.github.opentke.Tke.flatpak
  flatpak run io.github.opentke.Tke
(leave out --user and run as root for a system-wide install). The host needs pcscd running;
the app reaches it through --socket=pcsc.
EOF
}

die () {
  echo "build-bundle: $*" >&2
  exit 1
}

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$top/flatpak/io.github.opentke.Tke.json"
work="$top/_flatpak"
out=""
arch=""
with_gl=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --work) [ $# -ge 2 ] || die "--work needs a directory"; work=$2; shift 2 ;;
    --work=*) work=${1#--work=}; shift ;;
    --arch) [ $# -ge 2 ] || die "--arch needs an architecture"; arch=$2; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    --no-gl) with_gl=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$out" ] || out="$work/bundles"

for tool in flatpak flatpak-builder python3 sha256sum; do
  command -v "$tool" >/dev/null ||
    die "$tool is not installed (on Debian: sudo apt install flatpak flatpak-builder python3)"
done
[ -n "$arch" ] || arch=$(flatpak --default-arch)

# The names below come from the manifest, so that it stays the one place they are written.
manifest_field () {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$manifest" "$1"
}
app_id=$(manifest_field app-id)
runtime=$(manifest_field runtime)
runtime_version=$(manifest_field runtime-version)

mkdir -p "$work" "$out"
work=$(cd "$work" && pwd)
out=$(cd "$out" && pwd)
repo="$work/repo"

echo "== Flathub remote (user installation)"
flatpak remote-add --user --if-not-exists flathub https://dl.flathub.org/repo/flathub.flatpakrepo

echo "== Building $app_id for $arch on $runtime//$runtime_version"
flatpak-builder --user --arch="$arch" --install-deps-from=flathub --force-clean \
  --state-dir="$work/state" --repo="$repo" "$work/build" "$manifest"

echo "== Bundling the application"
flatpak build-bundle --arch="$arch" "$repo" "$out/$app_id.flatpak" "$app_id" master

# build-bundle --runtime exports from an OSTree repository that holds the runtime: the user
# installation's. flatpak-builder may have found the runtime in the system installation instead,
# so install it for the user explicitly (a no-op when it is there already).
flatpak install --user --or-update --noninteractive --arch="$arch" flathub \
  "$runtime//$runtime_version"
user_repo="${FLATPAK_USER_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/flatpak}/repo"
[ -d "$user_repo" ] || die "no user Flatpak repository at $user_repo: was the runtime installed?"

echo "== Bundling the runtime $runtime//$runtime_version"
runtime_bundle="$runtime-$runtime_version.flatpak"
flatpak build-bundle --runtime --arch="$arch" "$user_repo" "$out/$runtime_bundle" \
  "$runtime" "$runtime_version"
bundles=("$runtime_bundle")

if [ "$with_gl" = 1 ]; then
  # The GL extension's branch is the one the runtime's metadata asks for (24.08 for GNOME 47).
  gl_branch=$(flatpak info --user --arch="$arch" --show-metadata "$runtime" "$runtime_version" |
    awk -F= '/^\[/ { in_gl = ($0 == "[Extension org.freedesktop.Platform.GL]") }
             in_gl && ($1 == "version" || $1 == "versions") { split($2, v, ";"); print v[1]; exit }')
  [ -n "$gl_branch" ] || die "could not read the GL extension's version from $runtime//$runtime_version"
  gl_ref="org.freedesktop.Platform.GL.default"
  echo "== Bundling the GL extension $gl_ref//$gl_branch"
  flatpak install --user --or-update --noninteractive --arch="$arch" flathub "$gl_ref//$gl_branch"
  gl_bundle="$gl_ref-$gl_branch.flatpak"
  flatpak build-bundle --runtime --arch="$arch" "$user_repo" "$out/$gl_bundle" "$gl_ref" "$gl_branch"
  bundles+=("$gl_bundle")
fi
bundles+=("$app_id.flatpak")

(cd "$out" && sha256sum "${bundles[@]}" >SHA256SUMS)

echo
echo "Bundles in $out:"
(cd "$out" && ls -l "${bundles[@]}" SHA256SUMS)
echo
echo "Copy the directory to the air-gapped workstation, check it with 'sha256sum -c SHA256SUMS',"
echo "then install in this order:"
for b in "${bundles[@]}"; do
  echo "  flatpak install --user --bundle $b"
done
