/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Smart card tab: the two readers, the key parts of the card in reader 2, and the
 * operations that write cards. */
#include "config.h"

#include "tke-list-view.h"
#include "tke-smart-card-page.h"

struct _TkeSmartCardPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeSmartCardPage, tke_smart_card_page, GTK_TYPE_BOX)

/* The row property each column shows, in the template's column order. */
static const char *const column_properties[] = {
  "id",
  "description",
  "verification-pattern",
  "created",
};

static void
tke_smart_card_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_SMART_CARD_PAGE);

  G_OBJECT_CLASS (tke_smart_card_page_parent_class)->dispose (object);
}

static void
tke_smart_card_page_class_init (TkeSmartCardPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_smart_card_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-smart-card-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeSmartCardPage, view);
  gtk_widget_class_bind_template_child (widget_class, TkeSmartCardPage, empty_label);
}

static void
tke_smart_card_page_init (TkeSmartCardPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label, column_properties,
                                    G_N_ELEMENTS (column_properties));
}

GListStore *
tke_smart_card_page_get_rows (TkeSmartCardPage *self)
{
  g_return_val_if_fail (TKE_IS_SMART_CARD_PAGE (self), NULL);
  return self->rows;
}
