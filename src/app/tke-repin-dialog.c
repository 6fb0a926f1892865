/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Crypto units → Re-pin identity: a unit's number, then a confirmation that shows the key it
 * presents and the one pinned; the re-pin is journalled by the workspace. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-repin-dialog.h"
#include "tke-workspace.h"

typedef struct
{
  TkeWindow *self;
  GtkEditable *entry;
  guint num;
} RepinDialog;

static void
repin_dialog_free (RepinDialog *data)
{
  g_object_unref (data->self);
  g_free (data);
}

static void
repin_confirmed (AdwMessageDialog *dialog, const char *response, RepinDialog *data)
{
  g_autoptr (GError) error = NULL;

  if (g_str_equal (response, "pin"))
    {
      if (tke_workspace_repin (tke_window_get_workspace (data->self), data->num, &error))
        {
          g_autofree char *done =
              g_strdup_printf (_ ("Crypto unit %u: the new identity key is pinned."), data->num);

          tke_window_toast (data->self, done);
        }
      else
        tke_window_show_refusal (data->self, _ ("The Identity Key Was Not Pinned"), error);
    }
  repin_dialog_free (data);
}

static void
repin_number_response (AdwMessageDialog *dialog, const char *response, RepinDialog *data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *consequence = NULL;
  g_autofree char *text = NULL;
  guint64 num = 0;
  GtkWidget *confirm;

  gtk_window_set_focus (GTK_WINDOW (dialog), NULL);
  if (!g_str_equal (response, "next"))
    {
      repin_dialog_free (data);
      return;
    }
  text = g_strstrip (g_strdup (gtk_editable_get_text (data->entry)));
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT, &num, NULL))
    num = 0;
  consequence =
      tke_workspace_describe_repin (tke_window_get_workspace (data->self), (guint) num, &error);
  if (consequence == NULL)
    {
      tke_window_show_refusal (data->self, _ ("Nothing to Re-pin"), error);
      repin_dialog_free (data);
      return;
    }
  data->num = (guint) num;
  confirm = adw_message_dialog_new (GTK_WINDOW (data->self), _ ("Pin the New Identity Key?"),
                                    consequence);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (confirm), "cancel", _ ("_Cancel"), "pin",
                                    _ ("_Pin New Key"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (confirm), "pin",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (confirm), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (confirm), "cancel");
  g_signal_connect (confirm, "response", G_CALLBACK (repin_confirmed), data);
  gtk_window_present (GTK_WINDOW (confirm));
}

void
tke_repin_dialog_present (TkeWindow *self)
{
  RepinDialog *data = g_new0 (RepinDialog, 1);
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *dialog = tke_window_entry_dialog_new (
      self, _ ("Re-pin a Crypto Unit's Identity Key"),
      _ ("The CRYPTO UNIT NUM of the unit that presents another identity key than the one pinned "
         "for it. Re-pin only after the unit's operator confirmed the new key."),
      entry, _ ("Crypto unit number"), "next", _ ("_Next"));

  data->self = g_object_ref (self);
  data->entry = GTK_EDITABLE (entry);
  g_signal_connect (dialog, "response", G_CALLBACK (repin_number_response), data);
  gtk_window_present (GTK_WINDOW (dialog));
}
