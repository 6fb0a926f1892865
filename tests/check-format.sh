#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fails (TAP) when a C file in src/ or tests/ does not follow .clang-format.
set -u
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
fmt=$(command -v clang-format-14 || command -v clang-format)
if [ -z "$fmt" ]; then
  echo "1..0 # SKIP clang-format is not installed"
  exit 77
fi
mapfile -t files < <(find src tests -name '*.[ch]' | sort)
echo "1..${#files[@]}"
n=0; bad=0
for f in "${files[@]}"; do
  n=$((n + 1))
  if diff -q <("$fmt" --style=file "$f") "$f" >/dev/null; then
    echo "ok $n $f"
  else
    echo "not ok $n $f: run clang-format -i $f"
    bad=1
  fi
done
exit $bad
