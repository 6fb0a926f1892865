/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Names that screen readers read for what GTK 4.8 names badly. */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "tke-accessible.h"

static void
name_button (GtkButton *button)
{
  const char *label = gtk_button_get_label (button);
  g_autoptr (GString) name = NULL;

  if (label == NULL || !gtk_button_get_use_underline (button))
    return;
  /* "__" is a literal underline; "_" alone marks the mnemonic. */
  name = g_string_new (NULL);
  for (const char *p = label; *p != '\0'; p++)
    {
      if (*p == '_' && p[1] == '_')
        p++;
      else if (*p == '_')
        continue;
      g_string_append_c (name, *p);
    }
  /* The label child names it too (labelled-by): one name, said once. */
  gtk_accessible_reset_relation (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, name->str,
                                  -1);
}

static void
label_changed (GtkButton *button, GParamSpec *pspec, gpointer data)
{
  name_button (button);
}

void
tke_accessible_name_buttons (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root) && g_object_get_data (G_OBJECT (root), "tke-named") == NULL)
    {
      g_object_set_data (G_OBJECT (root), "tke-named", GINT_TO_POINTER (1));
      g_signal_connect (root, "notify::label", G_CALLBACK (label_changed), NULL);
      g_signal_connect (root, "notify::use-underline", G_CALLBACK (label_changed), NULL);
      name_button (GTK_BUTTON (root));
    }
  /* A search entry a widget of libadwaita's brings along (Preferences) has no name of its own. */
  if (GTK_IS_SEARCH_ENTRY (root) && g_object_get_data (G_OBJECT (root), "tke-named") == NULL)
    {
      g_object_set_data (G_OBJECT (root), "tke-named", GINT_TO_POINTER (1));
      gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      _ ("Search"), -1);
    }
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    tke_accessible_name_buttons (child);
}
