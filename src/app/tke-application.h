/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Open TKE application: one window, app-wide actions, demo mode. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TKE_TYPE_APPLICATION (tke_application_get_type ())

G_DECLARE_FINAL_TYPE (TkeApplication, tke_application, TKE, APPLICATION, AdwApplication)

TkeApplication *tke_application_new (void);
gboolean tke_application_get_demo (TkeApplication *self);
GSettings *tke_application_get_settings (TkeApplication *self);

G_END_DECLS
