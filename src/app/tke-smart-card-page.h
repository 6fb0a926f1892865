/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Smart card tab. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TKE_TYPE_SMART_CARD_PAGE (tke_smart_card_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeSmartCardPage, tke_smart_card_page, TKE, SMART_CARD_PAGE, GtkBox)

GListStore *tke_smart_card_page_get_rows (TkeSmartCardPage *self);

G_END_DECLS
