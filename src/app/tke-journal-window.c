/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony journal window. The file is read and its chain verified when the window opens;
 * the journal holds no secrets, so showing it whole is safe. */
#include "config.h"

#include <glib/gi18n.h>
#include <jansson.h>

#include "tke-journal-window.h"
#include "tke-journal.h"

struct _TkeJournalWindow
{
  AdwWindow parent_instance;

  AdwWindowTitle *window_title;
  GtkLabel *status_label;
  GtkTextView *text_view;
};

G_DEFINE_FINAL_TYPE (TkeJournalWindow, tke_journal_window, ADW_TYPE_WINDOW)

static void
append_entry (GString *out, json_t *entry)
{
  json_t *signers = json_object_get (entry, "signers");
  json_t *units = json_object_get (entry, "units");
  json_t *vps = json_object_get (entry, "vps");
  json_t *details = json_object_get (entry, "details");
  const char *key;
  json_t *value;
  size_t i;

  g_string_append_printf (out, "%" JSON_INTEGER_FORMAT "  %s  %s\n",
                          json_integer_value (json_object_get (entry, "seq")),
                          json_string_value (json_object_get (entry, "time")),
                          json_string_value (json_object_get (entry, "operation")));
  json_array_foreach (signers, i, value)
    g_string_append_printf (out, _ ("    signed by %s (SKI %.16s…)\n"),
                            json_string_value (json_object_get (value, "name")),
                            json_string_value (json_object_get (value, "ski")));
  json_array_foreach (units, i, value)
    g_string_append_printf (out, _ ("    crypto unit %lld: %s%s%s\n"),
                            (long long) json_integer_value (json_object_get (value, "num")),
                            json_string_value (json_object_get (value, "result")),
                            json_object_get (value, "message") ? " — " : "",
                            json_object_get (value, "message")
                                ? json_string_value (json_object_get (value, "message"))
                                : "");
  json_object_foreach (vps, key, value)
    g_string_append_printf (out, _ ("    VP %s: %s\n"), key, json_string_value (value));
  json_object_foreach (details, key, value)
    g_string_append_printf (out, "    %s: %s\n", key, json_string_value (value));
  g_string_append_c (out, '\n');
}

static void
load (TkeJournalWindow *self, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  guint n = 0;

  if (tke_journal_verify (path, &n, &error))
    {
      g_autofree char *status = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "%u operation; the chain of the journal verifies.",
                       "%u operations; the chain of the journal verifies.", n),
          n);
      gtk_label_set_text (self->status_label, status);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "success");
    }
  else
    {
      gtk_label_set_text (self->status_label, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
    }

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          json_t *entry = json_loads (lines[i], 0, NULL);

          if (entry != NULL)
            append_entry (text, entry);
          json_decref (entry);
        }
    }
  if (text->len == 0)
    g_string_append (text, _ ("No operation has been journalled in this workspace yet."));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text->str, -1);
  adw_window_title_set_subtitle (self->window_title, path);
}

static void
tke_journal_window_class_init (TkeJournalWindowClass *klass)
{
}

static void
tke_journal_window_init (TkeJournalWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *scrolled = gtk_scrolled_window_new ();

  self->window_title = ADW_WINDOW_TITLE (adw_window_title_new (_ ("Ceremony Journal"), NULL));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->window_title));
  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->status_label, TRUE);
  gtk_label_set_xalign (self->status_label, 0);
  gtk_widget_set_margin_start (GTK_WIDGET (self->status_label), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->status_label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (self->status_label), 12);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->status_label), 12);
  self->text_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_editable (self->text_view, FALSE);
  gtk_text_view_set_monospace (self->text_view, TRUE);
  gtk_text_view_set_left_margin (self->text_view, 12);
  gtk_text_view_set_top_margin (self->text_view, 6);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->text_view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Journalled operations"), -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), GTK_WIDGET (self->text_view));
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->status_label));
  gtk_box_append (GTK_BOX (box), scrolled);
  adw_window_set_content (ADW_WINDOW (self), box);
  gtk_window_set_default_size (GTK_WINDOW (self), 820, 560);
  gtk_window_set_title (GTK_WINDOW (self), _ ("Ceremony Journal"));
}

TkeJournalWindow *
tke_journal_window_new (GtkWindow *parent, const char *path)
{
  TkeJournalWindow *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (TKE_TYPE_JOURNAL_WINDOW, "transient-for", parent, NULL);
  load (self, path);
  return self;
}

char *
tke_journal_window_dup_text (TkeJournalWindow *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *body = NULL;

  g_return_val_if_fail (TKE_IS_JOURNAL_WINDOW (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  body = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  return g_strdup_printf ("%s\n%s", gtk_label_get_text (self->status_label), body);
}
