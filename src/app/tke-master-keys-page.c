/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Master keys tab: the new and current registers of each selected crypto unit, with
 * their verification patterns. */
#include "config.h"

#include "tke-list-view.h"
#include "tke-master-keys-page.h"

struct _TkeMasterKeysPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeMasterKeysPage, tke_master_keys_page, GTK_TYPE_BOX)

/* The row property each column shows, in the template's column order. */
static const char *const column_properties[] = {
  "crypto-unit-num",
  "register",
  "status",
  "verification-pattern",
};

static void
tke_master_keys_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TKE_TYPE_MASTER_KEYS_PAGE);

  G_OBJECT_CLASS (tke_master_keys_page_parent_class)->dispose (object);
}

static void
tke_master_keys_page_class_init (TkeMasterKeysPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_master_keys_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-master-keys-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeMasterKeysPage, view);
  gtk_widget_class_bind_template_child (widget_class, TkeMasterKeysPage, empty_label);
}

static void
tke_master_keys_page_init (TkeMasterKeysPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label, column_properties,
                                    G_N_ELEMENTS (column_properties));
}

GListStore *
tke_master_keys_page_get_rows (TkeMasterKeysPage *self)
{
  g_return_val_if_fail (TKE_IS_MASTER_KEYS_PAGE (self), NULL);
  return self->rows;
}
