/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Signature thresholds tab: the mode and both thresholds of each selected crypto unit. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-list-view.h"
#include "tke-thresholds-page.h"
#include "tke-unit-page.h"

struct _TkeThresholdsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;
  GtkLabel *differences_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeThresholdsPage, tke_thresholds_page, GTK_TYPE_BOX)

static char *
add_threshold_row (GListStore *rows, TkeCeremonyUnit *unit, json_t *state)
{
  json_t *thresholds = json_object_get (state, "thresholds");
  g_autofree char *num = g_strdup_printf ("%u", unit->num);
  g_autofree char *signature = g_strdup_printf (
      "%" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (thresholds, "signature")));
  g_autofree char *revocation = g_strdup_printf (
      "%" JSON_INTEGER_FORMAT, json_integer_value (json_object_get (thresholds, "revocation")));
  g_autofree char *admins =
      g_strdup_printf ("%zu", json_array_size (json_object_get (state, "admins")));
  const char *mode = json_string_value (json_object_get (state, "mode"));
  const char *cells[] = {
    num,       g_strcmp0 (mode, "imprint") == 0 ? _ ("Imprint") : _ ("Normal"),
    signature, revocation,
    admins,    NULL
  };
  g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

  g_list_store_append (rows, row);
  return g_strdup_printf ("%s/%s/%s", cells[1], signature, revocation);
}

static void
tke_thresholds_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_THRESHOLDS_PAGE);

  G_OBJECT_CLASS (tke_thresholds_page_parent_class)->dispose (object);
}

static void
tke_thresholds_page_class_init (TkeThresholdsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_thresholds_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-thresholds-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeThresholdsPage, view);
  gtk_widget_class_bind_template_child (widget_class, TkeThresholdsPage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, TkeThresholdsPage, differences_label);
}

static void
tke_thresholds_page_init (TkeThresholdsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label);
}

void
tke_thresholds_page_update (TkeThresholdsPage *self, TkeWorkspace *workspace)
{
  g_return_if_fail (TKE_IS_THRESHOLDS_PAGE (self));

  tke_unit_page_fill (self->rows, self->differences_label, workspace, add_threshold_row,
                      _ ("The modes and thresholds of crypto units %1$s differ from those of "
                         "crypto unit %2$u: all selected units should end up configured the "
                         "same."));
}
