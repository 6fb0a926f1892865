/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Filling a unit tab: one group of rows per selected unit; where units differ, their rows are
 * marked and a sentence says what differs. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-unit-page.h"

void
tke_unit_page_fill (GListStore *rows, GtkLabel *differences_label, TkeWorkspace *workspace,
                    TkeUnitRowsFunc add_rows, const char *differ_format)
{
  g_autoptr (GPtrArray) selected = tke_workspace_dup_selected (workspace);
  g_autoptr (GString) differing = g_string_new (NULL);
  g_autofree char *reference = NULL;
  guint reference_num = 0;

  g_list_store_remove_all (rows);
  for (guint i = 0; i < selected->len; i++)
    {
      TkeCeremonyUnit *unit = selected->pdata[i];
      json_t *state = tke_workspace_get_state (workspace, unit->id);
      guint first = g_list_model_get_n_items (G_LIST_MODEL (rows));
      g_autofree char *signature = NULL;

      if (state == NULL)
        {
          g_autofree char *num = g_strdup_printf ("%u", unit->num);
          const char *cells[] = { num, _ ("not read"), NULL };
          g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

          g_list_store_append (rows, row);
          continue;
        }

      signature = add_rows (rows, unit, state);
      if (reference == NULL)
        {
          reference = g_steal_pointer (&signature);
          reference_num = unit->num;
          continue;
        }
      if (g_strcmp0 (signature, reference) != 0)
        {
          g_string_append_printf (differing, "%s%u", differing->len ? ", " : "", unit->num);
          for (guint r = first; r < g_list_model_get_n_items (G_LIST_MODEL (rows)); r++)
            {
              g_autoptr (TkeTextRow) row = g_list_model_get_item (G_LIST_MODEL (rows), r);

              tke_text_row_set_marked (row, TRUE);
            }
        }
    }

  if (differing->len > 0)
    {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      g_autofree char *text = g_strdup_printf (differ_format, differing->str, reference_num);
#pragma GCC diagnostic pop
      gtk_label_set_text (differences_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (differences_label), differing->len > 0);
}
