/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A row of a ceremony tab's list: the text of each cell, a key, and whether it is ticked. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TKE_TYPE_TEXT_ROW (tke_text_row_get_type ())

G_DECLARE_FINAL_TYPE (TkeTextRow, tke_text_row, TKE, TEXT_ROW, GObject)

/* cells: NULL-terminated; key: what the row stands for (a unit id), may be NULL. */
TkeTextRow *tke_text_row_new (const char *key, const char *const *cells);
const char *tke_text_row_get_key (TkeTextRow *self);
const char *tke_text_row_get_cell (TkeTextRow *self, guint column);
/* What a cell shows in short, in full: its tooltip (escaped like the cells). */
void tke_text_row_set_tooltip (TkeTextRow *self, guint column, const char *tooltip);
const char *tke_text_row_get_tooltip (TkeTextRow *self, guint column);
/* Rows that differ from the other selected units are marked. */
void tke_text_row_set_marked (TkeTextRow *self, gboolean marked);
gboolean tke_text_row_get_marked (TkeTextRow *self);
void tke_text_row_set_checked (TkeTextRow *self, gboolean checked);
gboolean tke_text_row_get_checked (TkeTextRow *self);
/* Whether both rows show the same: key, cells, tooltips and mark (not the tick). */
gboolean tke_text_row_same_text (TkeTextRow *self, TkeTextRow *other);

G_END_DECLS
