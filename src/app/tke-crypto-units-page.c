/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Crypto units tab: the units of the connected service instances, numbered as CRYPTO UNIT
 * NUM, and which of them later commands act on (ticked, or added and removed by number). */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-crypto-units-page.h"
#include "tke-list-view.h"

#define SELECTED_COLUMN 2
#define LOCATION_COLUMN 4

struct _TkeCryptoUnitsPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;
  GtkLabel *differences_label;

  GListStore *rows;
  TkeWorkspace *workspace;
};

G_DEFINE_FINAL_TYPE (TkeCryptoUnitsPage, tke_crypto_units_page, GTK_TYPE_BOX)

static void
row_checked (TkeTextRow *row, GParamSpec *pspec, TkeCryptoUnitsPage *self)
{
  if (self->workspace != NULL)
    tke_workspace_set_selected (self->workspace, tke_text_row_get_key (row),
                                tke_text_row_get_checked (row));
}

static void
tke_crypto_units_page_dispose (GObject *object)
{
  TkeCryptoUnitsPage *self = TKE_CRYPTO_UNITS_PAGE (object);

  g_clear_object (&self->workspace);
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
  gtk_widget_class_bind_template_child (widget_class, TkeCryptoUnitsPage, differences_label);
}

static void
tke_crypto_units_page_init (TkeCryptoUnitsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label);
  tke_list_view_set_check_column (self->view, SELECTED_COLUMN);
}

/* A LOCATION as the service gives it, [region].[host].[instance].[unit], reads as
 * "region · host · 1 · 2" in its cell and says what each part is in the tooltip. A location of
 * another form is shown as it is. */
static char *
location_text (const char *location, char **tooltip)
{
  g_auto (GStrv) parts = NULL;
  guint n;

  *tooltip = NULL;
  if (location == NULL)
    return g_strdup ("");
  parts = g_strsplit (location, "].[", -1);
  n = g_strv_length (parts);
  if (n != 4 || parts[0][0] != '[' || !g_str_has_suffix (parts[3], "]"))
    return g_strdup (location);
  memmove (parts[0], parts[0] + 1, strlen (parts[0]));
  parts[3][strlen (parts[3]) - 1] = '\0';
  /* TRANSLATORS: the four parts of a crypto unit's LOCATION; the last %s is it as given. */
  *tooltip = g_strdup_printf (_ ("Region %s, host %s, instance %s, crypto unit %s (LOCATION %s)"),
                              parts[0], parts[1], parts[2], parts[3], location);
  return g_strjoinv (" · ", parts);
}

void
tke_crypto_units_page_update (TkeCryptoUnitsPage *self, TkeWorkspace *workspace)
{
  GPtrArray *units;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_if_fail (TKE_IS_CRYPTO_UNITS_PAGE (self));

  g_set_object (&self->workspace, workspace);
  units = tke_workspace_get_units (workspace);
  for (guint i = 0; i < units->len; i++)
    {
      TkeCeremonyUnit *unit = units->pdata[i];
      g_autofree char *num = g_strdup_printf ("%u", unit->num);
      /* The thumbprint of the pinned identity key, to compare with what the unit's operator
       * printed; a unit that presents another key says so instead. */
      const char *identity = unit->identity_error != NULL
                                 ? _ ("CHANGED: refused until re-pinned")
                                 : (unit->thumbprint != NULL ? unit->thumbprint : "");
      g_autofree char *location_tooltip = NULL;
      g_autofree char *location = location_text (unit->location, &location_tooltip);
      const char *cells[] = { unit->instance, num, "", unit->type, location, identity, NULL };
      TkeTextRow *row = tke_text_row_new (unit->id, cells);

      tke_text_row_set_tooltip (row, LOCATION_COLUMN, location_tooltip);
      tke_text_row_set_checked (row, tke_workspace_is_selected (workspace, unit->id));
      g_signal_connect_object (row, "notify::checked", G_CALLBACK (row_checked), self, 0);
      g_ptr_array_add (rows, row);
    }
  tke_list_view_set_rows (self->rows, rows);
  gtk_label_set_text (GTK_LABEL (self->empty_label),
                      tke_workspace_get_n_services (workspace) == 0
                          ? _ ("No crypto unit service is connected: connect one.")
                          : _ ("The connected services list no crypto units."));
}
