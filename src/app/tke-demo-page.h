/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Demo panel: what the demo world is, the order of the first initialization, the two readers
 * and the wallet of virtual cards to put into them. */
#pragma once

#include <gtk/gtk.h>

#include "tke-demo-world.h"

G_BEGIN_DECLS

#define TKE_TYPE_DEMO_PAGE (tke_demo_page_get_type ())

G_DECLARE_FINAL_TYPE (TkeDemoPage, tke_demo_page, TKE, DEMO_PAGE, GtkBox)

GtkWidget *tke_demo_page_new (TkeDemoWorld *world);
TkeDemoWorld *tke_demo_page_get_world (TkeDemoPage *self);

G_END_DECLS
