/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Crypto units tab: the units of the connected service instances, numbered as CRYPTO
 * UNIT NUM, and which of them later commands act on. */
#include "config.h"

#include "tke-list-view.h"
#include "tke-crypto-units-page.h"

struct _TkeCryptoUnitsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeCryptoUnitsPage, tke_crypto_units_page, GTK_TYPE_BOX)

/* The row property each column shows, in the template's column order. */
static const char *const column_properties[] = {
  "service-instance", "crypto-unit-num", "selected", "type", "location",
};

static void
tke_crypto_units_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_CRYPTO_UNITS_PAGE);

  G_OBJECT_CLASS (tke_crypto_units_page_parent_class)->dispose (object);
}

static void
tke_crypto_units_page_class_init (TkeCryptoUnitsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_crypto_units_page_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/opentke/Tke/ui/tke-crypto-units-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeCryptoUnitsPage, view);
  gtk_widget_class_bind_template_child (widget_class, TkeCryptoUnitsPage, empty_label);
}

static void
tke_crypto_units_page_init (TkeCryptoUnitsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label, column_properties,
                                    G_N_ELEMENTS (column_properties));
}

GListStore *
tke_crypto_units_page_get_rows (TkeCryptoUnitsPage *self)
{
  g_return_val_if_fail (TKE_IS_CRYPTO_UNITS_PAGE (self), NULL);
  return self->rows;
}
