/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Dialogs centred over their window where no window manager places them (an X server without
 * one, as on a locked-down ceremony workstation or under Xvfb). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* From now on, every window shown with a transient parent is centred over it when nothing else
 * places windows. Call once, at start-up. */
void tke_dialog_placement_watch (void);

G_END_DECLS
