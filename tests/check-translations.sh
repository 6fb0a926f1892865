#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The translations in po/ are complete for the sources as they are now: German and French are in
# po/LINGUAS; each .po file passes msgfmt --check (formats, header, plural forms) and its
# mnemonic check; it has no fuzzy and no untranslated message; and every message of a template
# made from the sources now (xgettext over po/POTFILES.in, with meson's glib keywords) has a
# translation in it. TAP.
set -u
top=${TKE_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top/po" || exit 1
for tool in xgettext msgfmt msgcmp; do
  command -v "$tool" >/dev/null || { echo "Bail out! $tool is missing (gettext)"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

langs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' LINGUAS)
n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }

for need in de fr; do
  if printf '%s\n' $langs | grep -qx "$need"; then
    ok "po/LINGUAS lists $need"
  else
    not_ok "po/LINGUAS does not list $need"
  fi
done

# The template from the sources, as meson's i18n.gettext(preset: 'glib') makes it.
grep -v '^#' POTFILES.in | sed '/^$/d' >"$work/files"
if (cd "$top" && xgettext --from-code=UTF-8 --add-comments --package-name=opentke \
      --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 \
      --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
      --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
      --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
      --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
      --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
      -f "$work/files" -o "$work/opentke.pot") 2>"$work/xgettext.err"; then
  ok "a template made from po/POTFILES.in ($(grep -c '^msgid ' "$work/opentke.pot") messages)"
else
  not_ok "xgettext failed"
  sed 's/^/# /' "$work/xgettext.err"
fi

for lang in $langs; do
  po=$lang.po
  if [ ! -f "$po" ]; then
    not_ok "$lang is in po/LINGUAS but po/$po is missing"
    continue
  fi
  if msgfmt --check --check-accelerators=_ --statistics -o /dev/null "$po" 2>"$work/stats"; then
    stats=$(tail -n 1 "$work/stats")
    if grep -qE 'fuzzy|untranslated' "$work/stats"; then
      not_ok "$po has fuzzy or untranslated messages: $stats"
    else
      ok "$po passes msgfmt --check with its mnemonics: $stats"
    fi
  else
    not_ok "$po fails msgfmt --check"
    sed 's/^/# /' "$work/stats"
  fi
  if msgcmp "$po" "$work/opentke.pot" 2>"$work/msgcmp"; then
    ok "$po translates every message of the sources as they are now"
  else
    not_ok "$po lacks translations of the sources as they are now ($(grep -c 'this message' "$work/msgcmp") messages; msgmerge it)"
    head -n 20 "$work/msgcmp" | sed 's/^/# /'
  fi
done

echo "1..$n"
exit $failed
