/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Plugs a virtual card into pcscd through the vsmartcard vpcd driver's TCP socket. */
#pragma once

#include <gio/gio.h>

#include "tke-virtual-card.h"

G_BEGIN_DECLS

#define TKE_VPCD_PORT_BASE 35963
#define TKE_VPCD_N_READERS 2

#define TKE_TYPE_VPCD (tke_vpcd_get_type ())

G_DECLARE_FINAL_TYPE (TkeVpcd, tke_vpcd, TKE, VPCD, GObject)

/* A connector for reader 0 ("Virtual PCD 00 00", port 35963) or 1 (35964). */
TkeVpcd *tke_vpcd_new (TkeVirtualCard *card, guint reader);
/* The same for a vpcd listening on another loopback port (tests play vpcd themselves). */
TkeVpcd *tke_vpcd_new_for_port (TkeVirtualCard *card, guint16 port);
/* Fault injection: answer n - 1 APDUs, then close the connection on the n-th without answering,
 * as a card pulled in the middle of a command. 0 (the default) never does. */
void tke_vpcd_set_fail_after_apdus (TkeVpcd *self, guint n);

/* Connects to vpcd: from now on pcscd sees a card in the reader. */
gboolean tke_vpcd_connect (TkeVpcd *self, GError **error);
/* Answers vpcd until cancellable fires (the card is pulled: TRUE), fault injection pulls it
 * (TRUE), or vpcd goes away (FALSE with TKE_ERROR_READER_GONE). Closes the connection. */
gboolean tke_vpcd_serve (TkeVpcd *self, GCancellable *cancellable, GError **error);
/* How many APDUs the card answered. */
guint tke_vpcd_get_apdu_count (TkeVpcd *self);
/* TRUE once fault injection has pulled the card. */
gboolean tke_vpcd_get_pulled_by_fault (TkeVpcd *self);

G_END_DECLS
