/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The smallest libadwaita window, the yardstick the start-up benchmark measures tke against. */
#include <stdio.h>

#include <adwaita.h>

#define BENCH_MINIMAL_APP_ID "io.github.opentke.Tke.BenchMinimal"

static void on_after_paint (GdkFrameClock *clock, gpointer user_data);

/* The start-up contract shared with tke: with TKE_EXIT_AFTER_FIRST_FRAME=1, print the
 * CLOCK_MONOTONIC time (µs) at which the window's first frame was painted, then quit. */
static void
on_after_paint (GdkFrameClock *clock, gpointer user_data)
{
  GApplication *app = G_APPLICATION (user_data);

  g_signal_handlers_disconnect_by_func (clock, on_after_paint, user_data);
  printf ("first-frame-us %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  fflush (stdout);
  g_application_quit (app);
}

static void
on_window_realize (GtkWidget *window, gpointer user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), user_data);
}

static void
on_activate (GApplication *app, gpointer user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  GtkWidget *label;

  if (window != NULL)
    {
      gtk_window_present (window);
      return;
    }

  window = GTK_WINDOW (adw_application_window_new (GTK_APPLICATION (app)));
  gtk_window_set_title (window, "Minimal window");
  /* tke's default size (its GSettings schema), so that both paint as many pixels. */
  gtk_window_set_default_size (window, 1100, 720);
  label = gtk_label_new ("A minimal libadwaita window");
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), label);

  if (g_strcmp0 (g_getenv ("TKE_EXIT_AFTER_FIRST_FRAME"), "1") == 0)
    g_signal_connect (window, "realize", G_CALLBACK (on_window_realize), app);

  gtk_window_present (window);
}

int
main (int argc, char **argv)
{
  g_autoptr (AdwApplication) app = NULL;

  app = adw_application_new (BENCH_MINIMAL_APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);

  return g_application_run (G_APPLICATION (app), argc, argv);
}
