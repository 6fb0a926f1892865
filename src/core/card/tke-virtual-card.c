/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The card engine interface behind the in-process virtual reader. */
#include "config.h"

#include "tke-virtual-card.h"

G_DEFINE_INTERFACE (TkeVirtualCard, tke_virtual_card, G_TYPE_OBJECT)

static void
tke_virtual_card_default_init (TkeVirtualCardInterface *iface)
{
}

GBytes *
tke_virtual_card_get_atr (TkeVirtualCard *self)
{
  g_return_val_if_fail (TKE_IS_VIRTUAL_CARD (self), NULL);
  return TKE_VIRTUAL_CARD_GET_IFACE (self)->get_atr (self);
}

void
tke_virtual_card_power_on (TkeVirtualCard *self)
{
  g_return_if_fail (TKE_IS_VIRTUAL_CARD (self));
  TKE_VIRTUAL_CARD_GET_IFACE (self)->power_on (self);
}

void
tke_virtual_card_power_off (TkeVirtualCard *self)
{
  g_return_if_fail (TKE_IS_VIRTUAL_CARD (self));
  TKE_VIRTUAL_CARD_GET_IFACE (self)->power_off (self);
}

void
tke_virtual_card_reset (TkeVirtualCard *self)
{
  g_return_if_fail (TKE_IS_VIRTUAL_CARD (self));
  TKE_VIRTUAL_CARD_GET_IFACE (self)->reset (self);
}

GBytes *
tke_virtual_card_transmit (TkeVirtualCard *self, GBytes *command)
{
  g_return_val_if_fail (TKE_IS_VIRTUAL_CARD (self), NULL);
  g_return_val_if_fail (command != NULL, NULL);
  return TKE_VIRTUAL_CARD_GET_IFACE (self)->transmit (self, command);
}
