/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GTK 4 has no call to place a window: that is the window manager's work, and with one running
 * (mutter, kwin, xfwm) a dialog is centred over its parent already. An X server without a window
 * manager puts every new window at 0,0, over the top left corner of the main window: there the
 * dialog is moved over the middle of its parent once, when it is mapped. Wayland always has a
 * compositor that places windows, so nothing is done there. */
#include "config.h"

#include "tke-dialog-placement.h"

#ifdef GDK_WINDOWING_X11
#include <X11/Xlib.h>
#include <gdk/x11/gdkx.h>
#endif

#ifdef GDK_WINDOWING_X11
static gboolean
no_window_manager (GdkDisplay *display)
{
  GdkX11Screen *screen = gdk_x11_display_get_screen (GDK_X11_DISPLAY (display));

  return g_strcmp0 (gdk_x11_screen_get_window_manager_name (screen), "unknown") == 0;
}

static void
center_over_parent (GtkWindow *window, int width, int height)
{
  GtkWindow *parent = gtk_window_get_transient_for (window);
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));
  GdkSurface *parent_surface;
  Display *xdisplay;
  Window child;
  int px = 0, py = 0, x, y;

  if (parent == NULL || !GDK_IS_X11_SURFACE (surface))
    return;
  parent_surface = gtk_native_get_surface (GTK_NATIVE (parent));
  if (!GDK_IS_X11_SURFACE (parent_surface))
    return;

  xdisplay = gdk_x11_display_get_xdisplay (gdk_surface_get_display (surface));
  XTranslateCoordinates (xdisplay, gdk_x11_surface_get_xid (parent_surface),
                         DefaultRootWindow (xdisplay), 0, 0, &px, &py, &child);
  x = px + MAX (0, (gdk_surface_get_width (parent_surface) - width) / 2);
  y = py + MAX (0, (gdk_surface_get_height (parent_surface) - height) / 2);
  XMoveWindow (xdisplay, gdk_x11_surface_get_xid (surface), x, y);
}

/* The first layout after a map gives the window its size: the move is made then, once. */
static void
on_layout (GdkSurface *surface, int width, int height, GtkWindow *window)
{
  g_signal_handlers_disconnect_by_func (surface, on_layout, window);
  center_over_parent (window, width, height);
}

static void
on_map (GtkWidget *widget, gpointer user_data)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (widget));

  if (gtk_window_get_transient_for (GTK_WINDOW (widget)) == NULL || !GDK_IS_X11_DISPLAY (display) ||
      !GDK_IS_X11_SURFACE (surface) || !no_window_manager (display))
    return;
  g_signal_handlers_disconnect_by_func (surface, on_layout, widget);
  g_signal_connect_object (surface, "layout", G_CALLBACK (on_layout), widget, 0);
}
#endif

static void
on_toplevels_changed (GListModel *toplevels, guint position, guint removed, guint added,
                      gpointer user_data)
{
#ifdef GDK_WINDOWING_X11
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (g_object_get_data (G_OBJECT (window), "tke-placed") != NULL)
        continue;
      g_object_set_data (G_OBJECT (window), "tke-placed", GINT_TO_POINTER (TRUE));
      /* After GTK's own handler, so that the surface exists. */
      g_signal_connect_after (window, "map", G_CALLBACK (on_map), NULL);
    }
#endif
}

void
tke_dialog_placement_watch (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  on_toplevels_changed (toplevels, 0, 0, g_list_model_get_n_items (toplevels), NULL);
  g_signal_connect (toplevels, "items-changed", G_CALLBACK (on_toplevels_changed), NULL);
}
