/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Crypto units tab. */
#pragma once

#include <gtk/gtk.h>

#include "tke-workspace.h"

G_BEGIN_DECLS

#define TKE_TYPE_CRYPTO_UNITS_PAGE (tke_crypto_units_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeCryptoUnitsPage, tke_crypto_units_page, TKE, CRYPTO_UNITS_PAGE, GtkBox)

void tke_crypto_units_page_update (TkeCryptoUnitsPage *self, TkeWorkspace *workspace);

G_END_DECLS
