/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Smart card tab: the two readers and the card in each, the key parts of the card in
 * reader 2, and the operations that write cards. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-list-view.h"
#include "tke-smart-card-page.h"
#include "tke-vp.h"

struct _TkeSmartCardPage
{
  GtkBox parent_instance;

  GtkColumnView *view;
  GtkWidget *empty_label;
  GtkLabel *reader1_status;
  GtkLabel *reader2_status;

  GListStore *rows;
};

G_DEFINE_FINAL_TYPE (TkeSmartCardPage, tke_smart_card_page, GTK_TYPE_BOX)

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
  gtk_widget_class_bind_template_child (widget_class, TkeSmartCardPage, reader1_status);
  gtk_widget_class_bind_template_child (widget_class, TkeSmartCardPage, reader2_status);
}

static void
tke_smart_card_page_init (TkeSmartCardPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->rows = tke_list_view_setup (self->view, self->empty_label);
}

static char *
describe_card (const TkeCardInfo *info)
{
  GString *text = g_string_new (NULL);

  if (info->has_serial)
    g_string_append_printf (text, _ ("Card %u"), info->serial);
  else
    g_string_append (text, _ ("A card"));
  if (!info->initialized)
    {
      g_string_append (text, _ (": blank, not a TKE card yet."));
      return g_string_free (text, FALSE);
    }
  if (info->description != NULL && *info->description)
    /* TRANSLATORS: the card's description, in the quotation marks of the language. */
    g_string_append_printf (text, _ (" “%s”"), info->description);
  if (info->admin_name != NULL)
    g_string_append_printf (text, _ (" · administrator %s"), info->admin_name);
  g_string_append_printf (
      text, g_dngettext (GETTEXT_PACKAGE, " · %u key part", " · %u key parts", info->parts->len),
      info->parts->len);
  if (info->pin_tries_left == 0)
    g_string_append (text, _ (" · PIN blocked: Unblock PIN with the PUK"));
  else if (info->pin_tries_left > 0)
    g_string_append_printf (text,
                            g_dngettext (GETTEXT_PACKAGE, " · PIN: %d try left",
                                         " · PIN: %d tries left", info->pin_tries_left),
                            info->pin_tries_left);
  return g_string_free (text, FALSE);
}

/* reader_name NULL: no such reader. info NULL and no error: the reader is empty. */
void
tke_smart_card_page_set_reader (TkeSmartCardPage *self, guint role, const char *reader_name,
                                const TkeCardInfo *info, const GError *error)
{
  GtkLabel *status;
  g_autofree char *text = NULL;

  g_return_if_fail (TKE_IS_SMART_CARD_PAGE (self));
  g_return_if_fail (role == 1 || role == 2);

  status = role == 1 ? self->reader1_status : self->reader2_status;
  if (reader_name == NULL)
    text = g_strdup (_ ("No reader is connected for this role."));
  else if (error != NULL)
    text = g_strdup_printf ("%s: %s", reader_name, error->message);
  else if (info == NULL)
    text = g_strdup_printf (_ ("%s: no card"), reader_name);
  else
    {
      g_autofree char *card = describe_card (info);

      text = g_strdup_printf ("%s: %s", reader_name, card);
    }
  gtk_label_set_text (status, text);

  if (role != 2)
    return;

  g_list_store_remove_all (self->rows);
  for (guint i = 0; info != NULL && info->parts != NULL && i < info->parts->len; i++)
    {
      TkeKeyPartInfo *part = info->parts->pdata[i];
      g_autofree char *id = g_strdup_printf ("%u", part->id);
      g_autofree char *vp = tke_vp_format_two_lines (part->vp);
      g_autoptr (GDateTime) created = g_date_time_new_from_unix_utc (part->created);
      g_autofree char *when =
          created ? g_date_time_format (created, "%Y-%m-%d %H:%M UTC") : g_strdup ("");
      const char *cells[] = { id, part->description, vp, when, NULL };
      g_autoptr (TkeTextRow) row = tke_text_row_new (id, cells);

      g_list_store_append (self->rows, row);
    }
  gtk_label_set_text (GTK_LABEL (self->empty_label),
                      info == NULL ? _ ("No card in reader 2.")
                                   : _ ("The card in reader 2 holds no key parts."));
}
