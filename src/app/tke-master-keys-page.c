/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Master keys tab: one row per selected crypto unit with its new and current registers,
 * their verification patterns in groups of 4 digits, and one sentence on top when all the
 * selected units agree. */
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
  GtkLabel *summary_label;
  GtkLabel *differences_label;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeMasterKeysPage, tke_master_keys_page, GTK_TYPE_BOX)

/* A register as a cell: its state, and its VP in groups on two lines; "—" when it is empty. */
static char *
register_text (json_t *reg, guint8 vp[TKE_VP_LEN], gboolean *has_vp)
{
  const char *status = json_string_value (json_object_get (reg, "state"));
  g_autofree char *vp_text = NULL;

  *has_vp = g_strcmp0 (status, "Empty") != 0 &&
            tke_vp_from_hex (json_string_value (json_object_get (reg, "vp")), vp, NULL);
  vp_text = *has_vp ? tke_vp_format_two_lines (vp) : g_strdup ("—");
  return g_strdup_printf ("%s\n%s", status != NULL ? status : _ ("unknown"), vp_text);
}

static char *
add_register_rows (GListStore *rows, TkeCeremonyUnit *unit, json_t *state)
{
  g_autofree char *num = g_strdup_printf ("%u", unit->num);
  json_t *registers = json_object_get (state, "registers");
  guint8 vp[TKE_VP_LEN];
  gboolean has_vp;
  g_autofree char *new_text = register_text (json_object_get (registers, "new"), vp, &has_vp);
  g_autofree char *current_text =
      register_text (json_object_get (registers, "current"), vp, &has_vp);
  const char *cells[] = { num, new_text, current_text, NULL };
  g_autoptr (TkeTextRow) row = tke_text_row_new (unit->id, cells);

  g_list_store_append (rows, row);
  return g_strdup_printf ("%s;%s", new_text, current_text);
}

/* One sentence on top when every selected unit holds the same registers. */
static void
update_summary (TkeMasterKeysPage *self, TkeWorkspace *workspace)
{
  g_autoptr (GPtrArray) selected = tke_workspace_dup_selected (workspace);
  g_autoptr (GPtrArray) states = g_ptr_array_new ();
  g_autofree char *first_new = NULL, *first_current = NULL;
  g_autofree char *text = NULL;
  guint8 new_vp[TKE_VP_LEN], current_vp[TKE_VP_LEN];
  gboolean new_has_vp = FALSE, current_has_vp = FALSE;
  guint n;

  for (guint i = 0; selected != NULL && i < selected->len; i++)
    {
      json_t *state =
          tke_workspace_get_state (workspace, ((TkeCeremonyUnit *) selected->pdata[i])->id);

      /* A unit that could not be read: no summary, the rows say what is known. */
      if (state == NULL)
        {
          g_ptr_array_set_size (states, 0);
          break;
        }
      g_ptr_array_add (states, state);
    }
  n = states->len;
  for (guint i = 0; i < states->len && n > 0; i++)
    {
      json_t *registers = json_object_get (states->pdata[i], "registers");
      g_autofree char *new_text =
          register_text (json_object_get (registers, "new"), new_vp, &new_has_vp);
      g_autofree char *current_text =
          register_text (json_object_get (registers, "current"), current_vp, &current_has_vp);

      if (i == 0)
        {
          first_new = g_steal_pointer (&new_text);
          first_current = g_steal_pointer (&current_text);
        }
      else if (g_strcmp0 (new_text, first_new) != 0 || g_strcmp0 (current_text, first_current) != 0)
        n = 0;
    }
  if (n > 0)
    {
      g_autofree char *new_short = new_has_vp ? tke_vp_format_short (new_vp) : NULL;
      g_autofree char *current_short = current_has_vp ? tke_vp_format_short (current_vp) : NULL;
      g_autofree char *new_part = NULL, *current_part = NULL;
      json_t *registers = json_object_get (states->pdata[0], "registers");
      const char *new_state =
          json_string_value (json_object_get (json_object_get (registers, "new"), "state"));
      const char *current_state =
          json_string_value (json_object_get (json_object_get (registers, "current"), "state"));

      new_part = new_short != NULL
                     ? g_strdup_printf (_ ("new master key %s, VP %s"), new_state, new_short)
                     : g_strdup_printf (_ ("new master key register %s"), new_state);
      current_part =
          current_short != NULL
              ? g_strdup_printf (_ ("current master key %s, VP %s"), current_state, current_short)
              : g_strdup_printf (_ ("current master key register %s"), current_state);
      /* TRANSLATORS: "All 5 units agree: new master key register Empty; current master key
       * Valid, VP c312 c787 4812 5a6b …". */
      text = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "The %u unit: %s; %s", "All %u units agree: %s; %s", n), n,
          new_part, current_part);
    }
  gtk_label_set_text (self->summary_label, text != NULL ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (self->summary_label), text != NULL);
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
  gtk_widget_class_bind_template_child (widget_class, TkeMasterKeysPage, summary_label);
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
  update_summary (self, workspace);
}
