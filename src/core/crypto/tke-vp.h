/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Verification patterns: what an operator compares to know two keys or key parts are the same. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TKE_VP_LEN     32
#define TKE_VP_HEX_LEN (TKE_VP_LEN * 2)

/* SHA-256 (0x01 || key) with the last four bytes set to zero (DESIGN §3). */
void tke_vp_compute (const guint8 *key, gsize key_len, guint8 vp[TKE_VP_LEN]);
/* 64 lower-case hex digits. */
char *tke_vp_to_hex (const guint8 vp[TKE_VP_LEN]);
/* Accepts 64 hex digits in either case; anything else is an error. */
gboolean tke_vp_from_hex (const char *hex, guint8 vp[TKE_VP_LEN], GError **error);
/* The way a VP is shown to be compared: two lines of 8 groups of 4 hex digits,
 * "c312 c787 4812 …\n…". */
char *tke_vp_format_two_lines (const guint8 vp[TKE_VP_LEN]);
/* The start of a VP where it names a key already shown in full: "c312 c787 4812 5a6b …". */
char *tke_vp_format_short (const guint8 vp[TKE_VP_LEN]);

/* Any hex string (a VP, an SKI) the way a person compares it: groups of 4 digits on one line,
 * or its first 4 groups and "…" where the whole is a tooltip away. NULL gives "". */
char *tke_hex_format_groups (const char *hex);
char *tke_hex_format_short (const char *hex);

G_END_DECLS
