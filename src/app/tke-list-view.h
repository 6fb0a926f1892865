/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The lists of the ceremony tabs: column views whose cells show one property of each row. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GListStore *tke_list_view_setup (GtkColumnView *view, GtkWidget *empty_placeholder,
                                 const char *const *properties, guint n_properties);

G_END_DECLS
