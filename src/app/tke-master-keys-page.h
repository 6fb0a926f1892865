/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Master keys tab. */
#pragma once

#include <gtk/gtk.h>

#include "tke-workspace.h"

G_BEGIN_DECLS

#define TKE_TYPE_MASTER_KEYS_PAGE (tke_master_keys_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeMasterKeysPage, tke_master_keys_page, TKE, MASTER_KEYS_PAGE, GtkBox)

void tke_master_keys_page_update (TkeMasterKeysPage *self, TkeWorkspace *workspace);

G_END_DECLS
