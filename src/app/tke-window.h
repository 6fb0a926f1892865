/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The main window: the five ceremony tabs in a view stack. */
#pragma once

#include <adwaita.h>

#include "tke-application.h"

G_BEGIN_DECLS

#define TKE_TYPE_WINDOW (tke_window_get_type ())

G_DECLARE_FINAL_TYPE (TkeWindow, tke_window, TKE, WINDOW, AdwApplicationWindow)

TkeWindow *tke_window_new (TkeApplication *app);
void tke_window_install_accels (GtkApplication *app);

G_END_DECLS
