/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The main window: the five ceremony tabs in a view stack. */
#pragma once

#include <adwaita.h>

#include "tke-application.h"
#include "tke-ceremony-dialog.h"
#include "tke-ceremony-worker.h"
#include "tke-demo-world.h"
#include "tke-gui-prompter.h"
#include "tke-workspace.h"

G_BEGIN_DECLS

#define TKE_TYPE_WINDOW (tke_window_get_type ())

G_DECLARE_FINAL_TYPE (TkeWindow, tke_window, TKE, WINDOW, AdwApplicationWindow)

/* Fails when the workspace or the demo world can't be set up. */
TkeWindow *tke_window_new (TkeApplication *app, GError **error);
void tke_window_install_accels (GtkApplication *app);

/* What the window drives, for tests. */
TkeWorkspace *tke_window_get_workspace (TkeWindow *self);
TkeCeremonyWorker *tke_window_get_worker (TkeWindow *self);
TkeGuiPrompter *tke_window_get_prompter (TkeWindow *self);
TkeCeremonyDialog *tke_window_get_ceremony_dialog (TkeWindow *self);
TkeDemoWorld *tke_window_get_demo_world (TkeWindow *self);
/* For the window's dialogs: a toast; a refusal the operator must read whole; a question
 * answered in one entry, where Return gives the suggested response. */
void tke_window_toast (TkeWindow *self, const char *message);
void tke_window_show_refusal (TkeWindow *self, const char *title, const GError *error);
GtkWidget *tke_window_entry_dialog_new (TkeWindow *self, const char *title, const char *body,
                                        GtkWidget *entry, const char *entry_label,
                                        const char *response, const char *response_label);

G_END_DECLS
