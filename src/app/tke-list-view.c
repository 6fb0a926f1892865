/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Column views over a list store of row objects. Each column's title is set in its page's
 * template; its cells show the row property the page names for it, as text. */
#include "config.h"

#include "tke-list-view.h"

static void
tke_list_view_setup_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_selectable (GTK_LABEL (label), FALSE);
  gtk_list_item_set_child (item, label);
}

static void
tke_list_view_bind_cell (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  const char *property = user_data;
  GObject *row = gtk_list_item_get_item (item);
  g_auto (GValue) value = G_VALUE_INIT;
  g_auto (GValue) text = G_VALUE_INIT;
  GParamSpec *pspec;

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (row), property);
  g_return_if_fail (pspec != NULL);

  g_value_init (&value, pspec->value_type);
  g_object_get_property (row, property, &value);
  g_value_init (&text, G_TYPE_STRING);
  if (!g_value_transform (&value, &text))
    g_value_set_static_string (&text, "");

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (item)), g_value_get_string (&text));
}

static void
tke_list_view_update_placeholder (GListModel *model, guint position, guint removed, guint added,
                                  GtkWidget *placeholder)
{
  gtk_widget_set_visible (placeholder, g_list_model_get_n_items (model) == 0);
}

/**
 * tke_list_view_setup:
 * @view: a column view whose columns the template made, in the order of @properties
 * @empty_placeholder: (nullable): shown while the list is empty
 *
 * Returns: (transfer none): the store of rows the view shows; the view owns it.
 */
GListStore *
tke_list_view_setup (GtkColumnView *view, GtkWidget *empty_placeholder,
                     const char *const *properties, guint n_properties)
{
  g_autoptr (GListModel) columns = NULL;
  g_autoptr (GtkNoSelection) selection = NULL;
  GListStore *store;

  g_return_val_if_fail (GTK_IS_COLUMN_VIEW (view), NULL);

  columns = g_object_ref (gtk_column_view_get_columns (view));
  g_return_val_if_fail (g_list_model_get_n_items (columns) == n_properties, NULL);

  for (guint i = 0; i < n_properties; i++)
    {
      g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, i);
      g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

      g_signal_connect (factory, "setup", G_CALLBACK (tke_list_view_setup_cell), NULL);
      g_signal_connect (factory, "bind", G_CALLBACK (tke_list_view_bind_cell),
                        (gpointer) properties[i]);
      gtk_column_view_column_set_factory (column, factory);
    }

  store = g_list_store_new (G_TYPE_OBJECT);
  selection = gtk_no_selection_new (G_LIST_MODEL (store));
  gtk_column_view_set_model (view, GTK_SELECTION_MODEL (selection));

  if (empty_placeholder != NULL)
    {
      g_signal_connect_object (store, "items-changed",
                               G_CALLBACK (tke_list_view_update_placeholder), empty_placeholder, 0);
      gtk_widget_set_visible (empty_placeholder, TRUE);
    }

  return store;
}
