/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Names that screen readers read for what GTK 4.8 names badly. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Every button under root whose label has a mnemonic gets the label without its underline as
 * its accessible name, kept when the label changes: GTK 4.8 names such a button by its raw
 * label and its text together ("_Zeroize Zeroize"). A search entry without a name is named
 * "Search". */
void tke_accessible_name_buttons (GtkWidget *root);

G_END_DECLS
