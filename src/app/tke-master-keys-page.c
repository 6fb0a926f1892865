/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Master keys tab: the new and current registers of each selected crypto unit, with their
 * verification patterns as two lines of 32 hex digits. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-list-view.h"
#include "tke-master-keys-page.h"
#include "tke-unit-page.h"
#include "tke-vp.h"

struct _TkeMasterKeysPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;
  GtkLabel *differences_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeMasterKeysPage, tke_master_keys_page, GTK_TYPE_BOX)

static char *
add_register_rows (GListStore *rows, TkeCeremonyUnit *unit, json_t *state)
{
  g_autofree char *num = g_strdup_printf ("%u", unit->num);
  json_t *registers = json_object_get (state, "registers");
  GString *signature = g_string_new (NULL);
  const char *names[] = { "new", "current" };
  const char *labels[] = { _ ("New"), _ ("Current") };

  for (guint r = 0; r < G_N_ELEMENTS (names); r++)
    {
      json_t *reg = json_object_get (registers, names[r]);
      const char *status = json_string_value (json_object_get (reg, "state"));
      const char *vp_hex = json_string_value (json_object_get (reg, "vp"));
      guint8 vp[TKE_VP_LEN];
      g_autofree char *vp_text = NULL;

      vp_text = tke_vp_from_hex (vp_hex, vp, NULL) ? tke_vp_format_two_lines (vp) : g_strdup ("");
      {
        const char *cells[] = { num, labels[r], status ? status : "", vp_text, NULL };
        g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

        g_list_store_append (rows, row);
      }
      g_string_append_printf (signature, "%s:%s;", status, vp_hex);
    }
  return g_string_free (signature, FALSE);
}

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
  gtk_widget_class_bind_template_child (widget_class, TkeMasterKeysPage, differences_label);
}

static void
tke_master_keys_page_init (TkeMasterKeysPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label);
}

void
tke_master_keys_page_update (TkeMasterKeysPage *self, TkeWorkspace *workspace)
{
  g_return_if_fail (TKE_IS_MASTER_KEYS_PAGE (self));

  tke_unit_page_fill (self->rows, self->differences_label, workspace, add_register_rows,
                      _ ("The master key registers of crypto units %1$s differ from those of "
                         "crypto unit %2$u: all selected units should end up configured the "
                         "same."));
}
