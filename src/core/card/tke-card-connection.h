/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A connection to the card in one reader: transactions, and APDUs with chaining and GET RESPONSE
 * handled here, below the PIV client. One connection belongs to one thread. */
#pragma once

#include <glib-object.h>

#include "tke-apdu.h"

G_BEGIN_DECLS

#define TKE_TYPE_CARD_CONNECTION (tke_card_connection_get_type ())

G_DECLARE_DERIVABLE_TYPE (TkeCardConnection, tke_card_connection, TKE, CARD_CONNECTION, GObject)

struct _TkeCardConnectionClass
{
  GObjectClass parent_class;

  /* One short C-APDU to the card, its R-APDU (data + SW1 SW2) back. */
  GBytes *(*transmit_raw) (TkeCardConnection *self, GBytes *command, GError **error);
  gboolean (*begin_transaction) (TkeCardConnection *self, GError **error);
  void (*end_transaction) (TkeCardConnection *self);
  GBytes *(*get_atr) (TkeCardConnection *self);
  /* PC/SC part 10 secure PIN entry; NULL or FALSE where the reader has no PIN pad. */
  gboolean (*has_pin_pad) (TkeCardConnection *self);
  gboolean (*verify_pin_pad) (TkeCardConnection *self, guint8 reference, guint16 *sw,
                              GError **error);
  /* reset: drop the card's security state (PIN verified) for whoever comes next. */
  void (*disconnect) (TkeCardConnection *self, gboolean reset);
};

const char *tke_card_connection_get_reader_name (TkeCardConnection *self);
GBytes *tke_card_connection_get_atr (TkeCardConnection *self);

gboolean tke_card_connection_begin_transaction (TkeCardConnection *self, GError **error);
void tke_card_connection_end_transaction (TkeCardConnection *self);

/* Sends a command of any length: data over 255 bytes is chained (CLA | 0x10), 61xx answers are
 * completed with GET RESPONSE and 6Cxx is resent with the Le the card asked for. Returns the
 * whole answer's data; *sw is the final status word, which the caller judges. */
GBytes *tke_card_connection_transmit (TkeCardConnection *self, const TkeApdu *apdu, guint16 *sw,
                                      GError **error);
/* The raw APDU exchange without the helpers above. */
GBytes *tke_card_connection_transmit_raw (TkeCardConnection *self, GBytes *command, GError **error);

gboolean tke_card_connection_has_pin_pad (TkeCardConnection *self);
/* Lets the operator type the PIN (reference 80) or PUK (81) on the reader's PIN pad; *sw is the
 * card's answer to the VERIFY the reader built. */
gboolean tke_card_connection_verify_pin_pad (TkeCardConnection *self, guint8 reference, guint16 *sw,
                                             GError **error);

void tke_card_connection_disconnect (TkeCardConnection *self, gboolean reset);

/* Raw APDUs exchanged so far (benchmarks count the cost of each profile operation). */
guint tke_card_connection_get_apdu_count (TkeCardConnection *self);

G_END_DECLS
