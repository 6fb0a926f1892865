#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fails (TAP) when a file with translatable strings is missing from po/POTFILES.in, when
# POTFILES.in names a file that does not exist, or when it is not sorted.
set -u
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d')
# C sources using _() or N_(), templates with translatable properties, and the desktop files.
wanted=$( (grep -rlE '[^A-Za-z0-9_](N?_|g_dngettext|ngettext) ?\(' --include='*.c' src;
           grep -rl 'translatable="yes"' --include='*.ui' data;
           ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml) | sort -u)

echo "1..3"
missing=$(comm -13 <(echo "$listed" | sort) <(echo "$wanted"))
if [ -z "$missing" ]; then
  echo "ok 1 every file with translatable strings is in po/POTFILES.in"
else
  echo "not ok 1 files with translatable strings missing from po/POTFILES.in:"
  echo "$missing" | sed 's/^/#   /'
fi

gone=""
for f in $listed; do [ -f "$f" ] || gone="$gone $f"; done
if [ -z "$gone" ]; then
  echo "ok 2 every file in po/POTFILES.in exists"
else
  echo "not ok 2 po/POTFILES.in names files that do not exist:$gone"
fi

if [ "$listed" = "$(echo "$listed" | LC_ALL=C sort)" ]; then
  echo "ok 3 po/POTFILES.in is sorted"
else
  echo "not ok 3 po/POTFILES.in is not sorted (LC_ALL=C sort)"
fi

[ -z "$missing" ] && [ -z "$gone" ] && [ "$listed" = "$(echo "$listed" | LC_ALL=C sort)" ]
