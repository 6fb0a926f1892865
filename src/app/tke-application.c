/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Open TKE application: command line, app-wide actions, the About and Preferences windows. */
#include "config.h"

#include <stdio.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "tke-application.h"
#include "tke-demo-world.h"
#include "tke-dialog-placement.h"
#include "tke-preferences-window.h"
#include "tke-window.h"

struct _TkeApplication
{
  AdwApplication parent_instance;

  GSettings *settings;
  gboolean demo;
  /* Started as `tke --demo`: the demo's world is printed for scripts and for tkectl. */
  gboolean announce_demo;
};

G_DEFINE_FINAL_TYPE (TkeApplication, tke_application, ADW_TYPE_APPLICATION)

enum
{
  PROP_0,
  PROP_DEMO,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tke_application_quit_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
tke_application_about_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  static const char *developers[] = { "The Open TKE developers", NULL };
  GtkWidget *about;

  about = g_object_new (
      ADW_TYPE_ABOUT_WINDOW, "transient-for", gtk_application_get_active_window (app),
      "application-name", _ ("Open TKE"), "application-icon", APP_ID, "version", PACKAGE_VERSION,
      "developer-name", _ ("The Open TKE developers"), "developers", developers, "comments",
      _ ("A Trusted Key Entry workstation: run the key ceremonies of "
         "HSM domains with smart cards."),
      "license-type", GTK_LICENSE_GPL_3_0, "copyright", "© 2026 The Open TKE developers", "website",
      "https://github.com/opentke/opentke", "issue-url",
      "https://github.com/opentke/opentke/issues", "translator-credits", _ ("translator-credits"),
      NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
tke_application_preferences_action (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  TkeApplication *self = TKE_APPLICATION (user_data);
  TkePreferencesWindow *prefs;

  prefs = tke_preferences_window_new (self->settings);
  gtk_window_set_transient_for (GTK_WINDOW (prefs),
                                gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_present (GTK_WINDOW (prefs));
}

static const GActionEntry app_actions[] = {
  { "quit", tke_application_quit_action },
  { "about", tke_application_about_action },
  { "preferences", tke_application_preferences_action },
};

static gint
tke_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  TkeApplication *self = TKE_APPLICATION (app);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("tke %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (g_variant_dict_contains (options, "demo"))
    self->demo = self->announce_demo = TRUE;

  return G_APPLICATION_CLASS (tke_application_parent_class)->handle_local_options (app, options);
}

static gboolean
on_signal (gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
  return G_SOURCE_CONTINUE;
}

static void
tke_application_startup (GApplication *app)
{
  TkeApplication *self = TKE_APPLICATION (app);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (tke_application_parent_class)->startup (app);

  self->settings = g_settings_new (APP_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", prefs_accels);

  tke_window_install_accels (GTK_APPLICATION (self));
  tke_dialog_placement_watch ();
  g_unix_signal_add (SIGINT, on_signal, self);
  g_unix_signal_add (SIGTERM, on_signal, self);
  g_unix_signal_add (SIGHUP, on_signal, self);
}

/* The start-up benchmark (tests/bench) measures process start to first frame; with
 * TKE_EXIT_AFTER_FIRST_FRAME=1 the app prints the monotonic time of that frame and quits. */
static void
tke_application_after_first_paint (GdkFrameClock *clock, gpointer user_data)
{
  TkeApplication *self = TKE_APPLICATION (user_data);

  g_signal_handlers_disconnect_by_func (clock, tke_application_after_first_paint, self);
  printf ("first-frame-us %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fflush (stdout);
  g_application_quit (G_APPLICATION (self));
}

static void
tke_application_window_realized (GtkWidget *window, gpointer user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect_object (clock, "after-paint", G_CALLBACK (tke_application_after_first_paint),
                           user_data, 0);
}

static void
tke_application_activate (GApplication *app)
{
  TkeApplication *self = TKE_APPLICATION (app);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    {
      g_autoptr (GError) error = NULL;

      window = GTK_WINDOW (tke_window_new (self, &error));
      if (window == NULL)
        {
          /* Without a workspace there is nothing to show; say why and stop. */
          g_printerr ("tke: %s\n", error->message);
          g_application_quit (app);
          return;
        }
      /* For scripts and for tkectl beside the demo (docs/ceremony-guide.md): where its world is. */
      if (self->announce_demo && tke_window_get_demo_world (TKE_WINDOW (window)) != NULL)
        {
          TkeDemoWorld *demo = tke_window_get_demo_world (TKE_WINDOW (window));

          g_print (
              "Demo crypto unit service: %s\nCertificate SHA-256: %s\nAPI key: %s\n"
              "Demo folder (removed at exit): %s\n",
              tke_demo_world_get_service_url (demo), tke_demo_world_get_service_fingerprint (demo),
              tke_demo_world_get_service_api_key (demo), tke_demo_world_get_workspace_dir (demo));
          fflush (stdout);
        }
      if (g_strcmp0 (g_getenv ("TKE_EXIT_AFTER_FIRST_FRAME"), "1") == 0)
        g_signal_connect_after (window, "realize", G_CALLBACK (tke_application_window_realized),
                                self);
    }

  gtk_window_present (window);
}

static void
tke_application_finalize (GObject *object)
{
  TkeApplication *self = TKE_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (tke_application_parent_class)->finalize (object);
}

static void
tke_application_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TkeApplication *self = TKE_APPLICATION (object);

  switch (prop_id)
    {
      case PROP_DEMO:
        g_value_set_boolean (value, self->demo);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tke_application_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  TkeApplication *self = TKE_APPLICATION (object);

  switch (prop_id)
    {
      case PROP_DEMO:
        self->demo = g_value_get_boolean (value);
        break;

      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The windows are destroyed before the application ends, on Ctrl+Q, on closing the last window
 * and on SIGINT, SIGTERM or SIGHUP alike: the demo's world (its service, cards and temporary
 * folder) goes away with its window, and nothing of it stays on the disk. */
static void
tke_application_shutdown (GApplication *app)
{
  GList *windows;

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  G_APPLICATION_CLASS (tke_application_parent_class)->shutdown (app);
}

static void
tke_application_class_init (TkeApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = tke_application_finalize;
  object_class->get_property = tke_application_get_property;
  object_class->set_property = tke_application_set_property;

  app_class->handle_local_options = tke_application_handle_local_options;
  app_class->startup = tke_application_startup;
  app_class->activate = tke_application_activate;
  app_class->shutdown = tke_application_shutdown;

  properties[PROP_DEMO] = g_param_spec_boolean (
      "demo", NULL, NULL, FALSE, G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tke_application_init (TkeApplication *self)
{
  static const GOptionEntry options[] = {
    { "demo", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_ ("Start in demo mode, with a built-in crypto unit service and virtual smart cards"),
      NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _ ("Run HSM key ceremonies with smart cards."));
}

TkeApplication *
tke_application_new (void)
{
  /* NON_UNIQUE: an operator may keep a demo beside a real ceremony without one taking the other. */
  return g_object_new (TKE_TYPE_APPLICATION, "application-id", APP_ID, "flags",
                       G_APPLICATION_NON_UNIQUE, "resource-base-path", "/io/github/opentke/Tke",
                       NULL);
}

gboolean
tke_application_get_demo (TkeApplication *self)
{
  g_return_val_if_fail (TKE_IS_APPLICATION (self), FALSE);
  return self->demo;
}

GSettings *
tke_application_get_settings (TkeApplication *self)
{
  g_return_val_if_fail (TKE_IS_APPLICATION (self), NULL);
  return self->settings;
}
