/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Signature thresholds tab. */
#pragma once

#include <gtk/gtk.h>

#include "tke-workspace.h"

G_BEGIN_DECLS

#define TKE_TYPE_THRESHOLDS_PAGE (tke_thresholds_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeThresholdsPage, tke_thresholds_page, TKE, THRESHOLDS_PAGE, GtkBox)

void tke_thresholds_page_update (TkeThresholdsPage *self, TkeWorkspace *workspace);

G_END_DECLS
