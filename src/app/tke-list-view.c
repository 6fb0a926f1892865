/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Column views over a store of TkeTextRow: each column's title is set in its page's template;
 * its cells show the row's text of the same index. Marked rows (units that differ) stand out. */
#include "config.h"

#include <string.h>

#include "tke-list-view.h"

static void
setup_text_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_list_item_set_child (item, label);
}

static void
bind_text_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  TkeTextRow *row = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  const char *text = tke_text_row_get_cell (row, GPOINTER_TO_UINT (user_data));

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_set_tooltip_text (label, tke_text_row_get_tooltip (row, GPOINTER_TO_UINT (user_data)));
  /* A verification pattern is shown the way operators compare it: lines of groups, digits of
   * one width. */
  if (strchr (text, '\n') != NULL)
    gtk_widget_add_css_class (label, "tke-vp");
  else
    gtk_widget_remove_css_class (label, "tke-vp");
  if (tke_text_row_get_marked (row))
    gtk_widget_add_css_class (label, "warning");
  else
    gtk_widget_remove_css_class (label, "warning");
}

static void
setup_check_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  GtkWidget *check = gtk_check_button_new ();

  gtk_widget_set_halign (check, GTK_ALIGN_CENTER);
  gtk_list_item_set_child (item, check);
}

static void
bind_check_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  TkeTextRow *row = gtk_list_item_get_item (item);
  GtkWidget *check = gtk_list_item_get_child (item);
  GBinding *binding;
  g_autofree char *label =
      g_strdup_printf ("%s %s", tke_text_row_get_cell (row, 0), tke_text_row_get_cell (row, 1));

  binding = g_object_bind_property (row, "checked", check, "active",
                                    G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_set_data (G_OBJECT (item), "binding", binding);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static void
unbind_check_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  GBinding *binding = g_object_steal_data (G_OBJECT (item), "binding");

  if (binding != NULL)
    g_binding_unbind (binding);
}

static void
update_placeholder (GListModel *model, guint position, guint removed, guint added,
                    GtkWidget *placeholder)
{
  gtk_widget_set_visible (placeholder, g_list_model_get_n_items (model) == 0);
}

/* A table is one stop of the Tab chain: the arrow keys move between its rows (GtkListBase does
 * that), and Tab or Shift+Tab leaves it for the next or previous control, where GTK 4.8 would
 * stop at every row. The table is taken out of the chain while the window's focus moves on. */
static gboolean
on_view_key (GtkEventControllerKey *controller, guint keyval, guint keycode, GdkModifierType state,
             GtkWidget *view)
{
  GtkDirectionType direction;
  GtkRoot *root = gtk_widget_get_root (view);
  gboolean moved;

  if (keyval != GDK_KEY_Tab && keyval != GDK_KEY_KP_Tab && keyval != GDK_KEY_ISO_Left_Tab)
    return FALSE;
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK)) != 0 || root == NULL)
    return FALSE;
  direction = keyval == GDK_KEY_ISO_Left_Tab || (state & GDK_SHIFT_MASK) != 0 ? GTK_DIR_TAB_BACKWARD
                                                                              : GTK_DIR_TAB_FORWARD;
  gtk_widget_set_can_focus (view, FALSE);
  moved = gtk_widget_child_focus (GTK_WIDGET (root), direction);
  gtk_widget_set_can_focus (view, TRUE);
  return moved;
}

GListStore *
tke_list_view_setup (GtkColumnView *view, GtkWidget *empty_placeholder)
{
  GListModel *columns;
  g_autoptr (GtkNoSelection) selection = NULL;
  GListStore *store;

  g_return_val_if_fail (GTK_IS_COLUMN_VIEW (view), NULL);

  columns = gtk_column_view_get_columns (view);
  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, i);
      g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

      g_signal_connect (factory, "setup", G_CALLBACK (setup_text_cell), NULL);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_text_cell), GUINT_TO_POINTER (i));
      gtk_column_view_column_set_factory (column, factory);
    }

  {
    GtkEventController *keys = gtk_event_controller_key_new ();

    gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
    g_signal_connect (keys, "key-pressed", G_CALLBACK (on_view_key), view);
    gtk_widget_add_controller (GTK_WIDGET (view), keys);
  }

  store = g_list_store_new (TKE_TYPE_TEXT_ROW);
  selection = gtk_no_selection_new (G_LIST_MODEL (store));
  gtk_column_view_set_model (view, GTK_SELECTION_MODEL (selection));

  if (empty_placeholder != NULL)
    {
      g_signal_connect_object (store, "items-changed", G_CALLBACK (update_placeholder),
                               empty_placeholder, 0);
      gtk_widget_set_visible (empty_placeholder, TRUE);
    }
  return store;
}

void
tke_list_view_set_check_column (GtkColumnView *view, guint column_index)
{
  g_autoptr (GtkColumnViewColumn) column = NULL;
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  g_return_if_fail (GTK_IS_COLUMN_VIEW (view));

  column = g_list_model_get_item (gtk_column_view_get_columns (view), column_index);
  g_return_if_fail (column != NULL);

  g_signal_connect (factory, "setup", G_CALLBACK (setup_check_cell), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_check_cell), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_check_cell), NULL);
  gtk_column_view_column_set_factory (column, factory);
}

void
tke_list_view_set_rows (GListStore *store, GPtrArray *rows)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));
  gboolean same = n == rows->len;

  g_return_if_fail (G_IS_LIST_STORE (store));

  for (guint i = 0; i < n && same; i++)
    {
      g_autoptr (TkeTextRow) old = g_list_model_get_item (G_LIST_MODEL (store), i);

      same = tke_text_row_same_text (old, rows->pdata[i]);
    }
  if (!same)
    {
      g_list_store_splice (store, 0, n, rows->pdata, rows->len);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TkeTextRow) old = g_list_model_get_item (G_LIST_MODEL (store), i);

      tke_text_row_set_checked (old, tke_text_row_get_checked (rows->pdata[i]));
    }
}
