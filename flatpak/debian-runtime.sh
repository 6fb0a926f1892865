#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Makes a Flatpak runtime and SDK from Debian 12's own packages, so that the app's manifest can be
# built, bundled, installed and run on a machine that reaches Debian's mirror and nothing else.
set -euo pipefail

usage () {
  cat <<'EOF'
Usage: flatpak/debian-runtime.sh [OPTION...]

Makes io.github.opentke.Debian12.Platform and io.github.opentke.Debian12.Sdk (branch 12) from
Debian 12 packages and exports both into a local OSTree repository. Each is a Debian root made
by mmdebstrap (the packages below with their dependencies, unpacked and configured by dpkg),
whose /usr becomes the runtime's files/ and whose /etc becomes files/etc.

The result is kept in CACHE/<key>/repo, where <key> is a hash of this script and of the exact
package versions the mirror resolves the lists to: the next run with the same versions reuses
it, and a security update makes a new one. The last line printed is "Repository: PATH".

Options:
  --cache DIR    where runtimes are kept (default: ${XDG_CACHE_HOME:-~/.cache}/opentke-flatpak)
  --mirror URL   Debian mirror (default: http://deb.debian.org/debian)
  --security URL Debian security mirror (default: http://deb.debian.org/debian-security)
  -h, --help     show this text

Needs root (dpkg configures the packages in a chroot), mmdebstrap and flatpak
(Debian: apt install mmdebstrap flatpak). Older runtimes in CACHE are removed.
EOF
}

die () {
  echo "debian-runtime: $*" >&2
  exit 1
}

# What the app needs at run time: the API floor's libraries, the TLS backend libsoup loads,
# fonts, icons, the pixbuf loaders GTK draws them with, and the schemas it reads. Mesa's drivers
# (160 MB with LLVM) are left out, as org.gnome.Platform leaves them to its GL extension: GTK
# then draws with cairo.
platform_packages=(
  libgtk-4-1 libadwaita-1-0 libglib2.0-0 libssl3 libsoup-3.0-0 libsqlite3-0 glib-networking
  gsettings-desktop-schemas fonts-cantarell adwaita-icon-theme hicolor-icon-theme
  shared-mime-info librsvg2-common
)
# What the manifest's modules need to build, on top of the platform: the toolchain, meson and
# cmake, gettext and the development files of the libraries above. Like org.gnome.Sdk it has no
# pcsc-lite, jansson or jose: the manifest builds those itself.
sdk_packages=(
  gcc g++ make libc6-dev pkg-config meson ninja-build cmake flex gettext
  libglib2.0-dev libglib2.0-dev-bin libgtk-4-dev libadwaita-1-dev libssl-dev libsoup-3.0-dev
  libsqlite3-dev zlib1g-dev desktop-file-utils appstream appstream-util
)
prefix=io.github.opentke.Debian12
branch=12

cache=${XDG_CACHE_HOME:-$HOME/.cache}/opentke-flatpak
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) [ $# -ge 2 ] || die "--cache needs a directory"; cache=$2; shift 2 ;;
    --mirror) [ $# -ge 2 ] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
    --security) [ $# -ge 2 ] || die "--security needs a URL"; security=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root: dpkg configures the packages in a chroot"
for tool in mmdebstrap flatpak apt-get sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt install mmdebstrap flatpak)"
done
arch=$(flatpak --default-arch)

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
sources=(
  "deb [signed-by=$keyring] $mirror bookworm main"
  "deb [signed-by=$keyring] $mirror bookworm-updates main"
  "deb [signed-by=$keyring] $security bookworm-security main"
)

# The key: the versions the mirror resolves both lists to today, read with an apt of its own
# (its own sources, lists and an empty dpkg status), so the host's apt is left as it is.
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache"
printf '%s\n' "${sources[@]}" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::status=/dev/null -o APT::Sandbox::User=root
)
echo "== Reading the package lists of $mirror"
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 ||
  { cat "$apt_dir/update.log" >&2; die "apt-get update failed for $mirror"; }
resolved=$(apt-get "${apt_opts[@]}" -s install "${platform_packages[@]}" "${sdk_packages[@]}" |
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' | LC_ALL=C sort) ||
  die "the package lists do not resolve"
[ -n "$resolved" ] || die "apt resolved the package lists to nothing"
key=$( { cat "${BASH_SOURCE[0]}"; echo "$arch"; echo "$resolved"; } | sha256sum | cut -c1-16)
out=$cache/$key
repo=$out/repo

if [ -f "$out/complete" ]; then
  echo "== Reusing $out (the same script and package versions)"
  echo "Repository: $repo"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out" "$cache/debs"
echo "$resolved" >"$out/resolved-packages.txt"

# One Debian root per runtime. The .deb files are kept in $cache/debs, so the SDK's root
# downloads only what the platform's did not.
make_root () {
  local root=$1
  shift
  local include
  include=$(IFS=,; echo "$*")
  # The hooks' "$1" is the root's path, expanded by mmdebstrap, not here.
  # shellcheck disable=SC2016
  mmdebstrap --variant=essential --include="$include" --aptopt='Acquire::Languages "none"' \
    --skip=download/empty --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $cache/debs /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $cache/debs" \
    bookworm "$root" "${sources[@]}" >"$root.log" 2>&1 ||
    { tail -n 30 "$root.log" >&2; die "mmdebstrap failed for $root (log: $root.log)"; }
}

# A runtime directory as flatpak build-export takes it: metadata, and files/ made of the root's
# /usr with its /etc as files/etc (flatpak makes the sandbox's /etc from it). Debian 12's roots
# are merged-/usr, so /bin, /lib and /lib64 are inside it already.
export_runtime () {
  local root=$1 name=$2 dir=$1.runtime
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$root/usr" "$dir/files"
  mv "$root/etc" "$dir/files/etc"
  rm -rf "$dir/files/share/doc" "$dir/files/share/man" "$dir/files/share/info"
  # flatpak makes the library cache that covers /app/lib by running "ldconfig" on the sandbox's
  # PATH (/app/bin:/usr/bin; Debian keeps it in /usr/sbin) with the runtime's ld.so.conf as
  # /etc/ld.so.conf and no /etc/ld.so.conf.d: the file names /app/lib and includes the runtime's
  # own directory.
  ln -s ../sbin/ldconfig "$dir/files/bin/ldconfig"
  printf '%s\n' "/app/lib" "include /usr/etc/ld.so.conf.d/*.conf" >"$dir/files/etc/ld.so.conf"
  cat >"$dir/metadata" <<EOF
[Runtime]
name=$name
runtime=$prefix.Platform/$arch/$branch
sdk=$prefix.Sdk/$arch/$branch
EOF
  flatpak build-export --runtime --files=files --arch="$arch" \
    --subject="$name from Debian 12 packages ($(wc -l <"$root.packages") packages)" \
    "$repo" "$dir" "$branch" >"$dir.export.log" 2>&1 ||
    { cat "$dir.export.log" >&2; die "flatpak build-export failed for $name"; }
  rm -rf "$dir" "$root"
}

echo "== $prefix.Platform: ${platform_packages[*]}"
make_root "$out/platform" "${platform_packages[@]}"
list_packages () {
  # shellcheck disable=SC2016
  chroot "$1" dpkg-query -W -f '${Package} ${Version}\n' >"$1.packages"
}
list_packages "$out/platform"
export_runtime "$out/platform" "$prefix.Platform"

echo "== $prefix.Sdk: the platform and ${sdk_packages[*]}"
make_root "$out/sdk" "${platform_packages[@]}" "${sdk_packages[@]}"
list_packages "$out/sdk"
export_runtime "$out/sdk" "$prefix.Sdk"

touch "$out/complete"
# One runtime is kept: the ones of older package versions take 1.5 GB each.
for old in "$cache"/????????????????; do
  [ "$old" = "$out" ] || rm -rf "$old"
done
echo "Platform: $(wc -l <"$out/platform.packages") packages; SDK: $(wc -l <"$out/sdk.packages")"
echo "Repository: $repo"
