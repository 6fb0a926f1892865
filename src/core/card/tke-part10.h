/* SPDX-License-Identifier: GPL-3.0-or-later */
/* PC/SC part 10 secure PIN entry: finding a reader's PIN pad and verifying a PIN typed on it. */
#pragma once

#include <glib.h>
#include <winscard.h>

G_BEGIN_DECLS

typedef LONG (*TkeScardControlFunc) (SCARDHANDLE card, DWORD control_code, LPCVOID send,
                                     DWORD send_len, LPVOID recv, DWORD recv_len, LPDWORD returned);

/* The SCardControl every part 10 call goes through; tests put a fake reader here. NULL puts
 * pcsc-lite's SCardControl back. */
void tke_part10_set_control_func (TkeScardControlFunc func);

typedef struct
{
  /* Control codes from the feature list, 0 where the reader lacks the feature. */
  guint32 verify_pin_direct;
  guint32 modify_pin_direct;
} TkePart10Features;

/* Asks the reader which features it has. A reader that knows no part 10 at all (vpcd) has none:
 * TRUE with every code 0. */
gboolean tke_part10_get_features (SCARDHANDLE card, TkePart10Features *features, GError **error);

/* The PIN_VERIFY_STRUCTURE for a PIV VERIFY of reference (80 PIN, 81 PUK): 6..8 ASCII digits,
 * padded with FF to 8 bytes by the reader, confirmed with the reader's OK key. */
GBytes *tke_part10_build_verify_pin (guint8 reference);

/* Lets the operator type the PIN on the PIN pad. *sw is what the card answered to the VERIFY
 * the reader sent (6400: time out, 6401: cancelled on the reader). */
gboolean tke_part10_verify_pin (SCARDHANDLE card, guint32 control_code, guint8 reference,
                                guint16 *sw, GError **error);

G_END_DECLS
