/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The lists of the ceremony tabs: column views of TkeTextRow, one cell per column. */
#pragma once

#include <gtk/gtk.h>

#include "tke-text-row.h"

G_BEGIN_DECLS

/* Sets up every column of view (made by its page's template) to show the row's cell of the
 * same index; the placeholder shows while the list is empty. Returns the store (view owns it). */
GListStore *tke_list_view_setup (GtkColumnView *view, GtkWidget *empty_placeholder);
/* Makes column a check box bound to each row's "checked". */
void tke_list_view_set_check_column (GtkColumnView *view, guint column);
/* Puts rows (of TkeTextRow) in store. Rows that show the same as those there only pass on their
 * tick, so the focus stays on the row it was on when a tick changes the workspace. */
void tke_list_view_set_rows (GListStore *store, GPtrArray *rows);

G_END_DECLS
