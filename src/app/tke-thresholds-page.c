/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Signature thresholds tab: the mode and both thresholds of each selected crypto unit. */
#include "config.h"

#include "tke-list-view.h"
#include "tke-thresholds-page.h"

struct _TkeThresholdsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeThresholdsPage, tke_thresholds_page, GTK_TYPE_BOX)

/* The row property each column shows, in the template's column order. */
static const char *const column_properties[] = {
  "crypto-unit-num", "mode", "signature-threshold", "revocation-signature-threshold",
  "administrators",
};

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
}

static void
tke_thresholds_page_init (TkeThresholdsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label, column_properties,
                                    G_N_ELEMENTS (column_properties));
}

GListStore *
tke_thresholds_page_get_rows (TkeThresholdsPage *self)
{
  g_return_val_if_fail (TKE_IS_THRESHOLDS_PAGE (self), NULL);
  return self->rows;
}
