/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the Administrators, Signature thresholds and Master keys tabs share: rows built from the
 * selected units' states, rows of units that differ marked, and a sentence on what differs. */
#pragma once

#include <gtk/gtk.h>

#include "tke-text-row.h"
#include "tke-workspace.h"

G_BEGIN_DECLS

/* Appends the rows of one unit; returns the text that must be equal on every unit (its part of
 * the comparison). */
typedef char *(*TkeUnitRowsFunc) (GListStore *rows, TkeCeremonyUnit *unit, json_t *state);

/* differ_format: the whole sentence, translated, with %1$s for the numbers of the units that
 * differ and %2$u for the one they are compared with. */
void tke_unit_page_fill (GListStore *rows, GtkLabel *differences_label, TkeWorkspace *workspace,
                         TkeUnitRowsFunc add_rows, const char *differ_format);

G_END_DECLS
