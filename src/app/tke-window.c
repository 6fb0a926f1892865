/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The main window: the five ceremony tabs, their operations as window actions, demo mode. */
#include "config.h"

#include <glib/gi18n.h>

#include "tke-administrators-page.h"
#include "tke-crypto-units-page.h"
#include "tke-master-keys-page.h"
#include "tke-smart-card-page.h"
#include "tke-thresholds-page.h"
#include "tke-window.h"

struct _TkeWindow
{
  AdwApplicationWindow parent_instance;

  AdwViewStack *stack;
  AdwViewStackPage *demo_stack_page;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (TkeWindow, tke_window, ADW_TYPE_APPLICATION_WINDOW)

/* The operations of the five tabs. Each stays disabled (its buttons insensitive, with a tooltip
 * that says why) until the layer it needs is in the application. */
static const char *const operation_actions[] = {
  "generate-signature-key",
  "generate-key-part",
  "copy-smart-card",
  "copy-signature-key-file",
  "copy-key-part-file",
  "add-crypto-units",
  "remove-crypto-units",
  "add-administrator",
  "remove-administrator",
  "change-signature-thresholds",
  "load",
  "commit",
  "set-immediate",
  "rotate",
  "clear-new",
  "clear-current",
};

/* Page names in tab order; Alt+1 .. Alt+5 show them. */
static const char *const page_names[] = {
  "smart-card", "crypto-units", "administrators", "thresholds", "master-keys",
};

static void
tke_window_show_page_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeWindow *self = TKE_WINDOW (user_data);
  const char *name = g_variant_get_string (parameter, NULL);

  if (adw_view_stack_get_child_by_name (self->stack, name) == NULL)
    {
      g_warning ("No tab is named “%s”", name);
      return;
    }
  adw_view_stack_set_visible_child_name (self->stack, name);
}

static const GActionEntry win_actions[] = {
  { "show-page", tke_window_show_page_action, "s" },
};

static void
tke_window_add_operation_actions (TkeWindow *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (operation_actions); i++)
    {
      g_autoptr (GSimpleAction) action = g_simple_action_new (operation_actions[i], NULL);

      g_simple_action_set_enabled (action, FALSE);
      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
    }
}

static gboolean
tke_window_close_request (GtkWindow *window)
{
  TkeWindow *self = TKE_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (tke_window_parent_class)->close_request (window);
}

/* GtkWindow sets its application after construction, so this runs from tke_window_new(). */
static void
tke_window_setup (TkeWindow *self, TkeApplication *app)
{
  self->settings = g_object_ref (tke_application_get_settings (app));
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  if (tke_application_get_demo (app))
    {
      adw_view_stack_page_set_visible (self->demo_stack_page, TRUE);
      adw_view_stack_set_visible_child_name (self->stack, "demo");
      gtk_window_set_title (GTK_WINDOW (self), _ ("Open TKE (demo)"));
    }
  else
    adw_view_stack_set_visible_child_name (self->stack, page_names[0]);
}

static void
tke_window_dispose (GObject *object)
{
  TkeWindow *self = TKE_WINDOW (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), TKE_TYPE_WINDOW);

  G_OBJECT_CLASS (tke_window_parent_class)->dispose (object);
}

static void
tke_window_class_init (TkeWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tke_window_dispose;
  window_class->close_request = tke_window_close_request;

  g_type_ensure (TKE_TYPE_SMART_CARD_PAGE);
  g_type_ensure (TKE_TYPE_CRYPTO_UNITS_PAGE);
  g_type_ensure (TKE_TYPE_ADMINISTRATORS_PAGE);
  g_type_ensure (TKE_TYPE_THRESHOLDS_PAGE);
  g_type_ensure (TKE_TYPE_MASTER_KEYS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/opentke/Tke/ui/tke-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TkeWindow, demo_stack_page);
}

static void
tke_window_init (TkeWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions),
                                   self);
  tke_window_add_operation_actions (self);
}

TkeWindow *
tke_window_new (TkeApplication *app)
{
  TkeWindow *self;

  g_return_val_if_fail (TKE_IS_APPLICATION (app), NULL);

  self = g_object_new (TKE_TYPE_WINDOW, "application", app, NULL);
  tke_window_setup (self, app);
  return self;
}

void
tke_window_install_accels (GtkApplication *app)
{
  for (guint i = 0; i < G_N_ELEMENTS (page_names); i++)
    {
      g_autofree char *detailed = g_strdup_printf ("win.show-page('%s')", page_names[i]);
      g_autofree char *accel = g_strdup_printf ("<Alt>%u", i + 1);
      const char *accels[] = { accel, NULL };

      gtk_application_set_accels_for_action (app, detailed, accels);
    }
}
