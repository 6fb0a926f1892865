/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Administrators tab: who is installed in each selected crypto unit. */
#include "config.h"

#include "tke-list-view.h"
#include "tke-administrators-page.h"

struct _TkeAdministratorsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeAdministratorsPage, tke_administrators_page, GTK_TYPE_BOX)

/* The row property each column shows, in the template's column order. */
static const char *const column_properties[] = {
  "crypto-unit-num",
  "administrator-name",
  "subject-key-identifier",
};

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
}

static void
tke_administrators_page_init (TkeAdministratorsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label, column_properties,
                                    G_N_ELEMENTS (column_properties));
}

GListStore *
tke_administrators_page_get_rows (TkeAdministratorsPage *self)
{
  g_return_val_if_fail (TKE_IS_ADMINISTRATORS_PAGE (self), NULL);
  return self->rows;
}
