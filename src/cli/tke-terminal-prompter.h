/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TkeTerminalPrompter: how tkectl asks the operator: PINs with echo off on /dev/tty, or from a PIN
 * file for automation; card waits announced on stderr, bounded by a timeout when asked. */
#pragma once

#include "tke-prompter.h"
#include "tke-reader-manager.h"

G_BEGIN_DECLS

#define TKE_TYPE_TERMINAL_PROMPTER (tke_terminal_prompter_get_type ())

G_DECLARE_FINAL_TYPE (TkeTerminalPrompter, tke_terminal_prompter, TKE, TERMINAL_PROMPTER, GObject)

/* interactive: whether the operator may be asked on /dev/tty (else every answer must come from
 * a file or a flag, and a question without one fails). */
TkeTerminalPrompter *tke_terminal_prompter_new (gboolean interactive);
/* PINs (and PUKs) are taken from path, one a line, in the order the ceremony asks for them. */
gboolean tke_terminal_prompter_set_pin_file (TkeTerminalPrompter *self, const char *path,
                                             GError **error);
/* Confirmations are answered yes. */
void tke_terminal_prompter_set_assume_yes (TkeTerminalPrompter *self, gboolean assume_yes);
/* A card wait that lasts longer than seconds (0: forever) cancels cancellable. */
void tke_terminal_prompter_set_card_timeout (TkeTerminalPrompter *self, guint seconds,
                                             GCancellable *cancellable);
/* The readers card waits watch: a card wait then returns only once a card is in the reader asked
 * for (or the wait is cancelled or times out). */
void tke_terminal_prompter_set_reader_manager (TkeTerminalPrompter *self,
                                               TkeReaderManager *readers);
/* Whether a card wait ran out of time (the reason of the cancel). */
gboolean tke_terminal_prompter_get_card_timed_out (TkeTerminalPrompter *self);
/* Reads a secret line: from the terminal with echo off (asked twice when confirm is TRUE). */
TkeSecret *tke_terminal_prompter_read_secret (TkeTerminalPrompter *self, const char *prompt,
                                              gboolean confirm, GCancellable *cancellable,
                                              GError **error);
/* The PINs left unused in the PIN file. */
guint tke_terminal_prompter_get_n_pins_left (TkeTerminalPrompter *self);

G_END_DECLS
