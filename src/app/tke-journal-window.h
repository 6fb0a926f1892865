/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony journal, as the operator reads it: one line per operation, and whether the chain
 * of the whole journal verifies. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TKE_TYPE_JOURNAL_WINDOW (tke_journal_window_get_type ())

G_DECLARE_FINAL_TYPE (TkeJournalWindow, tke_journal_window, TKE, JOURNAL_WINDOW, AdwWindow)

TkeJournalWindow *tke_journal_window_new (GtkWindow *parent, const char *path);
/* The text shown: the verification sentence, then one paragraph per entry. */
char *tke_journal_window_dup_text (TkeJournalWindow *self);

G_END_DECLS
