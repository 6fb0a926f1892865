/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A prompter that answers from a script, for tests: it records every prompt it was shown. */
#pragma once

#include "tke-prompter.h"

G_BEGIN_DECLS

#define TKE_TYPE_SCRIPTED_PROMPTER (tke_scripted_prompter_get_type ())

G_DECLARE_FINAL_TYPE (TkeScriptedPrompter, tke_scripted_prompter, TKE, SCRIPTED_PROMPTER, GObject)

/* Called (on the ceremony's thread) when the ceremony waits for a card: the test inserts one. */
typedef void (*TkeCardHandler) (const TkeCardRequest *request, gpointer user_data);

/* Called (on the ceremony's thread) when a PIN is asked, before the script answers it. */
typedef void (*TkePinHandler) (const TkePinRequest *request, gpointer user_data);

TkeScriptedPrompter *tke_scripted_prompter_new (void);
void tke_scripted_prompter_set_pin_handler (TkeScriptedPrompter *self, TkePinHandler handler,
                                            gpointer user_data);
void tke_scripted_prompter_set_card_handler (TkeScriptedPrompter *self, TkeCardHandler handler,
                                             gpointer user_data);

/* Answers, taken in order; a prompt of another kind than the next answer fails the ceremony
 * with an error that names both, so that a test sees where its script and the ceremony part. */
void tke_scripted_prompter_push_pin (TkeScriptedPrompter *self, const char *pin);
void tke_scripted_prompter_push_choice (TkeScriptedPrompter *self, guint choice);
void tke_scripted_prompter_push_text (TkeScriptedPrompter *self, const char *text);
void tke_scripted_prompter_push_number (TkeScriptedPrompter *self, guint number);
void tke_scripted_prompter_push_confirm (TkeScriptedPrompter *self, gboolean yes);
/* The operator presses Cancel at the next prompt, whatever it is. */
void tke_scripted_prompter_push_cancel (TkeScriptedPrompter *self);

guint tke_scripted_prompter_get_n_pending (TkeScriptedPrompter *self);
/* One line per prompt shown: "pin: ...", "choose: ...", "card: ...", "step: ...". */
GPtrArray *tke_scripted_prompter_get_transcript (TkeScriptedPrompter *self);
/* The whole transcript as one string, lines joined by newlines (for searching in tests). */
char *tke_scripted_prompter_dup_transcript (TkeScriptedPrompter *self);

G_END_DECLS
