/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Administrators tab: who is installed in each selected crypto unit. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-administrators-page.h"
#include "tke-list-view.h"
#include "tke-unit-page.h"
#include "tke-vp.h"

struct _TkeAdministratorsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;
  GtkLabel *differences_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeAdministratorsPage, tke_administrators_page, GTK_TYPE_BOX)

static char *
add_admin_rows (GListStore *rows, TkeCeremonyUnit *unit, json_t *state)
{
  g_autofree char *num = g_strdup_printf ("%u", unit->num);
  GString *signature = g_string_new (NULL);
  json_t *admins = json_object_get (state, "admins");
  size_t i;
  json_t *admin;

  json_array_foreach (admins, i, admin)
    {
      const char *ski = json_string_value (json_object_get (admin, "ski"));
      g_autofree char *ski_short = tke_hex_format_short (ski);
      g_autofree char *ski_full = tke_hex_format_groups (ski);
      /* TRANSLATORS: the tooltip of an administrator's SKI; %s is the whole of it. */
      g_autofree char *tooltip = g_strdup_printf (
          _ ("Subject key identifier: the SHA-256 hash of the administrator's public key, the "
             "same on the card and on every unit.\n%s"),
          ski_full);
      const char *cells[] = { num, json_string_value (json_object_get (admin, "name")), ski_short,
                              NULL };
      g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

      tke_text_row_set_tooltip (row, 2, tooltip);
      g_list_store_append (rows, row);
      g_string_append_printf (signature, "%s;", ski != NULL ? ski : "");
    }
  if (json_array_size (admins) == 0)
    {
      const char *cells[] = { num, _ ("No administrators (imprint mode)"), "", NULL };
      g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

      g_list_store_append (rows, row);
    }
  return g_string_free (signature, FALSE);
}

static void
tke_administrators_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_ADMINISTRATORS_PAGE);

  G_OBJECT_CLASS (tke_administrators_page_parent_class)->dispose (object);
}

static void
tke_administrators_page_class_init (TkeAdministratorsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_administrators_page_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/opentke/Tke/ui/tke-administrators-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeAdministratorsPage, view);
  gtk_widget_class_bind_template_child (widget_class, TkeAdministratorsPage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, TkeAdministratorsPage, differences_label);
}

static void
tke_administrators_page_init (TkeAdministratorsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label);
}

void
tke_administrators_page_update (TkeAdministratorsPage *self, TkeWorkspace *workspace)
{
  g_return_if_fail (TKE_IS_ADMINISTRATORS_PAGE (self));

  tke_unit_page_fill (self->rows, self->differences_label, workspace, add_admin_rows,
                      _ ("The administrators of crypto units %1$s differ from those of crypto "
                         "unit %2$u: all selected units should end up configured the same."));
}
