/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo wallet where the ceremony dialog asks for a card: every card of the wallet with what it
 * holds, one click (or its number key) puts it into the reader asked for, and a button takes the
 * card there out again. */
#pragma once

#include <gtk/gtk.h>

#include "tke-demo-world.h"

G_BEGIN_DECLS

#define TKE_TYPE_DEMO_CARD_PICKER (tke_demo_card_picker_get_type ())
G_DECLARE_FINAL_TYPE (TkeDemoCardPicker, tke_demo_card_picker, TKE, DEMO_CARD_PICKER, GtkBox)

GtkWidget *tke_demo_card_picker_new (TkeDemoWorld *world);
/* The reader the cards go into (TKE_DEMO_LOCATION_READER_1 or _2). */
void tke_demo_card_picker_set_reader (TkeDemoCardPicker *self, TkeDemoLocation reader);
/* Puts the wallet's card number n (1-based, as listed) into the reader; FALSE when there is no
 * such card. */
gboolean tke_demo_card_picker_insert_nth (TkeDemoCardPicker *self, guint n);
/* Moves the keyboard focus to the first card that is not in the reader yet. */
void tke_demo_card_picker_focus (TkeDemoCardPicker *self);

G_END_DECLS
