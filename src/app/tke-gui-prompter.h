/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The prompter of the application: the ceremony worker's questions, carried to the main thread
 * as signals, and the operator's answers carried back. */
#pragma once

#include <glib-object.h>

#include "tke-prompter.h"

G_BEGIN_DECLS

typedef enum
{
  TKE_PROMPT_PIN,
  TKE_PROMPT_CHOOSE,
  TKE_PROMPT_TEXT,
  TKE_PROMPT_NUMBER,
  TKE_PROMPT_CONFIRM,
} TkePromptKind;

#define TKE_TYPE_PROMPT (tke_prompt_get_type ())

G_DECLARE_FINAL_TYPE (TkePrompt, tke_prompt, TKE, PROMPT, GObject)

/* One question the worker waits on. Read and answered on the main thread. */
TkePromptKind tke_prompt_get_kind (TkePrompt *self);
const char *tke_prompt_get_title (TkePrompt *self);
/* The purpose of a PIN, the consequence of a confirmation, the hint of a text. */
const char *tke_prompt_get_message (TkePrompt *self);
TkePinKind tke_prompt_get_pin_kind (TkePrompt *self);
const char *tke_prompt_get_reader (TkePrompt *self);
const char *tke_prompt_get_card (TkePrompt *self);
int tke_prompt_get_tries_left (TkePrompt *self);
const char *const *tke_prompt_get_choices (TkePrompt *self);
guint tke_prompt_get_min (TkePrompt *self);
guint tke_prompt_get_max (TkePrompt *self);
gboolean tke_prompt_is_answered (TkePrompt *self);

/* The worker's check of a text answer; the dialog shows the error and keeps the prompt open. */
gboolean tke_prompt_check_text (TkePrompt *self, const char *text, GError **error);

/* Each answers once; the PIN is copied into secure memory at once. */
void tke_prompt_answer_pin (TkePrompt *self, const char *pin);
void tke_prompt_answer_choice (TkePrompt *self, guint choice);
void tke_prompt_answer_text (TkePrompt *self, const char *text);
void tke_prompt_answer_number (TkePrompt *self, guint number);
void tke_prompt_answer_confirm (TkePrompt *self, gboolean yes);

#define TKE_TYPE_GUI_PROMPTER (tke_gui_prompter_get_type ())

G_DECLARE_FINAL_TYPE (TkeGuiPrompter, tke_gui_prompter, TKE, GUI_PROMPTER, GObject)

/* Signals are emitted in the thread-default main context of the thread that made the prompter:
 * "step" (index, n_steps, description), "card-wait" (role, reader, wanted), "card-wait-end",
 * "pin-pad" (reader, card, purpose), "pin-pad-end", "ask" (TkePrompt). */
TkeGuiPrompter *tke_gui_prompter_new (void);

G_END_DECLS
