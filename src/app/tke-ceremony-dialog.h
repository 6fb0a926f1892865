/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The progress dialog of a ceremony: steps, the question of the moment, per-unit results. */
#pragma once

#include <adwaita.h>

#include "tke-ceremony.h"
#include "tke-demo-world.h"
#include "tke-gui-prompter.h"

G_BEGIN_DECLS

#define TKE_TYPE_CEREMONY_DIALOG (tke_ceremony_dialog_get_type ())

G_DECLARE_FINAL_TYPE (TkeCeremonyDialog, tke_ceremony_dialog, TKE, CEREMONY_DIALOG, AdwWindow)

/* Signal "retry": the operator asks to run the operation again on the failed units. One dialog
 * serves every operation of a window: Close hides it, and start readies it for the next. */
TkeCeremonyDialog *tke_ceremony_dialog_new (GtkWindow *parent, TkeGuiPrompter *prompter);
/* Demo mode: the card page lists the wallet's cards, to put into the reader asked for. */
void tke_ceremony_dialog_set_demo_world (TkeCeremonyDialog *self, TkeDemoWorld *world);
/* Clears the last operation's steps and result and takes a new cancellable. */
void tke_ceremony_dialog_start (TkeCeremonyDialog *self, const char *title, const char *subtitle);
/* Cancelled by the dialog's Cancel; the operation runs with it. */
GCancellable *tke_ceremony_dialog_get_cancellable (TkeCeremonyDialog *self);
void tke_ceremony_dialog_show_result (TkeCeremonyDialog *self, const TkeCeremonyResult *result);
void tke_ceremony_dialog_show_error (TkeCeremonyDialog *self, const GError *error);
gboolean tke_ceremony_dialog_is_finished (TkeCeremonyDialog *self);

/* For tests and accessibility tools: the question shown now (NULL when none), and the page. */
TkePrompt *tke_ceremony_dialog_get_prompt (TkeCeremonyDialog *self);
const char *tke_ceremony_dialog_get_page (TkeCeremonyDialog *self);

G_END_DECLS
