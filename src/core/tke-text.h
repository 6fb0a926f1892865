/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Text that came from a card, a unit or a file, made safe to show on a terminal or in a label. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A copy of text (len bytes, or up to its NUL when len is -1) in which C0 and C1 controls, DEL,
 * the bidi embeddings and overrides U+202A..U+202E and the isolates U+2066..U+2069 are written
 * as escapes (\x1b, \u202e) and bytes that are not UTF-8 as \xNN: an ESC sequence can't drive
 * the terminal and a right-to-left override can't reorder what the operator reads. A backslash
 * stays as it is. */
char *tke_text_escape (const char *text, gssize len);

/* Whether text is valid UTF-8 without any of the characters that tke_text_escape escapes:
 * what is accepted as a name or description typed by the operator. */
gboolean tke_text_is_safe (const char *text);
/* Whether one character is shown as it is (not a control, not a bidi embedding or override). */
gboolean tke_text_char_is_safe (gunichar c);

G_END_DECLS
