/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Preferences: the names of reader 1 and reader 2, kept in GSettings. */
#include "config.h"

#include "tke-accessible.h"
#include "tke-preferences-window.h"

struct _TkePreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  AdwEntryRow *reader1_row;
  AdwEntryRow *reader2_row;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (TkePreferencesWindow, tke_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
tke_preferences_window_dispose (GObject *object)
{
  TkePreferencesWindow *self = TKE_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), TKE_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (tke_preferences_window_parent_class)->dispose (object);
}

static void
tke_preferences_window_class_init (TkePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tke_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/opentke/Tke/ui/tke-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TkePreferencesWindow, reader1_row);
  gtk_widget_class_bind_template_child (widget_class, TkePreferencesWindow, reader2_row);
}

static void
tke_preferences_window_init (TkePreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  tke_accessible_name_buttons (GTK_WIDGET (self));
}

TkePreferencesWindow *
tke_preferences_window_new (GSettings *settings)
{
  TkePreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (TKE_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (settings);
  g_settings_bind (settings, "reader-1", self->reader1_row, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "reader-2", self->reader2_row, "text", G_SETTINGS_BIND_DEFAULT);
  return self;
}
