/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the in-process virtual reader needs of a card engine: an ATR, power, and APDUs. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TKE_TYPE_VIRTUAL_CARD (tke_virtual_card_get_type ())

G_DECLARE_INTERFACE (TkeVirtualCard, tke_virtual_card, TKE, VIRTUAL_CARD, GObject)

struct _TkeVirtualCardInterface
{
  GTypeInterface parent_iface;

  GBytes *(*get_atr) (TkeVirtualCard *self);
  void (*power_on) (TkeVirtualCard *self);
  /* Power off and reset drop every security state (PIN verified, management key). */
  void (*power_off) (TkeVirtualCard *self);
  void (*reset) (TkeVirtualCard *self);
  /* One C-APDU in, one R-APDU out (data + SW1 SW2); never NULL: a card always answers. */
  GBytes *(*transmit) (TkeVirtualCard *self, GBytes *command);
};

GBytes *tke_virtual_card_get_atr (TkeVirtualCard *self);
void tke_virtual_card_power_on (TkeVirtualCard *self);
void tke_virtual_card_power_off (TkeVirtualCard *self);
void tke_virtual_card_reset (TkeVirtualCard *self);
GBytes *tke_virtual_card_transmit (TkeVirtualCard *self, GBytes *command);

G_END_DECLS
