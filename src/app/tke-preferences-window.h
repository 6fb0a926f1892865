/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Preferences: which smart card reader is reader 1 and which is reader 2. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TKE_TYPE_PREFERENCES_WINDOW (tke_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (TkePreferencesWindow, tke_preferences_window, TKE, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

TkePreferencesWindow *tke_preferences_window_new (GSettings *settings);

G_END_DECLS
