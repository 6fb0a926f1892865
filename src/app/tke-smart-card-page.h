/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Smart card tab. */
#pragma once

#include <gtk/gtk.h>

#include "tke-card-profile.h"

G_BEGIN_DECLS

#define TKE_TYPE_SMART_CARD_PAGE (tke_smart_card_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeSmartCardPage, tke_smart_card_page, TKE, SMART_CARD_PAGE, GtkBox)

void tke_smart_card_page_set_reader (TkeSmartCardPage *self, guint role, const char *reader_name,
                                     const TkeCardInfo *info, const GError *error);

G_END_DECLS
