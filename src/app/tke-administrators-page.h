/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Administrators tab. */
#pragma once

#include <gtk/gtk.h>

#include "tke-workspace.h"

G_BEGIN_DECLS

#define TKE_TYPE_ADMINISTRATORS_PAGE (tke_administrators_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeAdministratorsPage, tke_administrators_page, TKE, ADMINISTRATORS_PAGE,
                      GtkBox)

void tke_administrators_page_update (TkeAdministratorsPage *self, TkeWorkspace *workspace);

G_END_DECLS
