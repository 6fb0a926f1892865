/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo wallet inside the ceremony dialog. The dialog is modal, so the Demo tab's wallet can't
 * be reached while it asks for a card: this list stands in for the operator's hand there. */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "tke-demo-card-picker.h"

struct _TkeDemoCardPicker
{
  GtkBox parent_instance;

  TkeDemoWorld *world;
  TkeDemoLocation reader;
  GtkLabel *hint;
  GtkListBox *cards;
  GtkButton *remove;
};

G_DEFINE_FINAL_TYPE (TkeDemoCardPicker, tke_demo_card_picker, GTK_TYPE_BOX)

static char *
where_text (TkeDemoCard *card)
{
  switch (tke_demo_card_get_location (card))
    {
      case TKE_DEMO_LOCATION_READER_1:
        return g_strdup (_ ("In reader 1"));
      case TKE_DEMO_LOCATION_READER_2:
        return g_strdup (_ ("In reader 2"));
      case TKE_DEMO_LOCATION_WALLET:
      default:
        return g_strdup (_ ("In the wallet"));
    }
}

/* A row: the number key, the card's name, and where it is and what it holds, on one line so that
 * the whole wallet fits in the dialog. */
static void
update_row (GtkListBoxRow *row)
{
  TkeDemoCardPicker *self = g_object_get_data (G_OBJECT (row), "tke-picker");
  TkeDemoCard *card = g_object_get_data (G_OBJECT (row), "tke-card");
  GtkLabel *detail = g_object_get_data (G_OBJECT (row), "tke-detail");
  g_autofree char *where = where_text (card);
  const char *summary =
      tke_demo_card_get_reading (card) ? _ ("Reading the card…") : tke_demo_card_get_summary (card);
  /* Translators: where a demo card is and what it holds. */
  g_autofree char *text = g_strdup_printf (_ ("%s · %s"), where, summary);
  /* Translators: the accessible name of a demo card in the ceremony dialog. */
  g_autofree char *name = g_strdup_printf (_ ("%s: %s"), tke_demo_card_get_label (card), text);

  gtk_label_set_text (detail, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (detail), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  gtk_widget_set_sensitive (GTK_WIDGET (row), tke_demo_card_get_location (card) != self->reader);
}

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  TkeDemoCardPicker *self = user_data;
  TkeDemoCard *card = item;
  GListModel *cards = tke_demo_world_get_cards (self->world);
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *name = gtk_label_new (tke_demo_card_get_label (card));
  GtkWidget *detail = gtk_label_new (NULL);
  g_autofree char *number = NULL;
  GtkWidget *key;
  guint position = 0;

  /* The number key of a card is its place in the wallet. */
  while (position < g_list_model_get_n_items (cards))
    {
      g_autoptr (TkeDemoCard) other = g_list_model_get_item (cards, position);

      if (other == card)
        break;
      position++;
    }
  number = g_strdup_printf ("%u", position + 1);
  key = gtk_label_new (number);
  gtk_widget_add_css_class (key, "tke-keycap");
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (detail, TRUE);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_box_append (GTK_BOX (box), key);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  g_object_set_data (G_OBJECT (row), "tke-picker", self);
  g_object_set_data (G_OBJECT (row), "tke-detail", detail);
  g_object_set_data_full (G_OBJECT (row), "tke-card", g_object_ref (card), g_object_unref);
  g_signal_connect_object (card, "notify", G_CALLBACK (update_row), row, G_CONNECT_SWAPPED);
  update_row (GTK_LIST_BOX_ROW (row));
  return row;
}

static void
update (TkeDemoCardPicker *self)
{
  TkeDemoCard *in = tke_demo_world_get_card_in (self->world, self->reader);
  TkeDemoCard *coming = tke_demo_world_get_card_coming (self->world, self->reader);
  GtkWidget *row;
  g_autofree char *hint = g_strdup_printf (
      _ ("Practice cards: click one or press its number to put it into reader %u."),
      (guint) self->reader);
  g_autofree char *remove = NULL;

  gtk_label_set_text (self->hint, hint);
  if (in != NULL || coming != NULL)
    /* Translators: %s is a demo card's name, %u the reader it is in. */
    remove =
        g_strdup_printf (_ ("_Take %s Out of Reader %u"),
                         tke_demo_card_get_label (in != NULL ? in : coming), (guint) self->reader);
  gtk_widget_set_visible (GTK_WIDGET (self->remove), remove != NULL);
  if (remove != NULL)
    gtk_button_set_label (self->remove, remove);

  for (row = gtk_widget_get_first_child (GTK_WIDGET (self->cards)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (GTK_IS_LIST_BOX_ROW (row))
      update_row (GTK_LIST_BOX_ROW (row));
}

static void
on_row_activated (GtkListBox *list, GtkListBoxRow *row, TkeDemoCardPicker *self)
{
  tke_demo_card_picker_insert_nth (self, gtk_list_box_row_get_index (row) + 1);
}

static void
on_remove (GtkButton *button, TkeDemoCardPicker *self)
{
  tke_demo_world_remove (self->world, self->reader);
}

static void
tke_demo_card_picker_dispose (GObject *object)
{
  TkeDemoCardPicker *self = TKE_DEMO_CARD_PICKER (object);

  g_clear_object (&self->world);
  G_OBJECT_CLASS (tke_demo_card_picker_parent_class)->dispose (object);
}

static void
tke_demo_card_picker_class_init (TkeDemoCardPickerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = tke_demo_card_picker_dispose;
}

static void
tke_demo_card_picker_init (TkeDemoCardPicker *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 12);
  self->reader = TKE_DEMO_LOCATION_READER_1;

  self->hint = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->hint, TRUE);
  gtk_label_set_xalign (self->hint, 0);
  gtk_widget_add_css_class (GTK_WIDGET (self->hint), "dim-label");
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->hint));

  self->cards = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->cards, GTK_SELECTION_NONE);
  gtk_widget_add_css_class (GTK_WIDGET (self->cards), "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->cards), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Practice cards"), -1);
  g_signal_connect (self->cards, "row-activated", G_CALLBACK (on_row_activated), self);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->cards));

  self->remove = GTK_BUTTON (gtk_button_new ());
  gtk_button_set_use_underline (self->remove, TRUE);
  gtk_widget_set_halign (GTK_WIDGET (self->remove), GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (self->remove), "pill");
  g_signal_connect (self->remove, "clicked", G_CALLBACK (on_remove), self);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->remove));
}

GtkWidget *
tke_demo_card_picker_new (TkeDemoWorld *world)
{
  TkeDemoCardPicker *self;
  GListModel *cards;

  g_return_val_if_fail (TKE_IS_DEMO_WORLD (world), NULL);

  self = g_object_new (TKE_TYPE_DEMO_CARD_PICKER, NULL);
  self->world = g_object_ref (world);
  cards = tke_demo_world_get_cards (world);
  gtk_list_box_bind_model (self->cards, cards, create_row, self, NULL);
  g_signal_connect_object (world, "readers-changed", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  update (self);
  return GTK_WIDGET (self);
}

void
tke_demo_card_picker_set_reader (TkeDemoCardPicker *self, TkeDemoLocation reader)
{
  g_return_if_fail (TKE_IS_DEMO_CARD_PICKER (self));
  g_return_if_fail (reader == TKE_DEMO_LOCATION_READER_1 || reader == TKE_DEMO_LOCATION_READER_2);

  self->reader = reader;
  update (self);
}

gboolean
tke_demo_card_picker_insert_nth (TkeDemoCardPicker *self, guint n)
{
  GListModel *cards;
  g_autoptr (TkeDemoCard) card = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (TKE_IS_DEMO_CARD_PICKER (self), FALSE);

  cards = tke_demo_world_get_cards (self->world);
  if (n == 0 || n > g_list_model_get_n_items (cards))
    return FALSE;
  card = g_list_model_get_item (cards, n - 1);
  if (tke_demo_card_get_location (card) == self->reader)
    return TRUE;
  if (!tke_demo_world_insert (self->world, card, self->reader, &error))
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  return TRUE;
}

void
tke_demo_card_picker_focus (TkeDemoCardPicker *self)
{
  g_return_if_fail (TKE_IS_DEMO_CARD_PICKER (self));

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->cards)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (gtk_widget_get_sensitive (row))
      {
        gtk_widget_grab_focus (row);
        return;
      }
}
