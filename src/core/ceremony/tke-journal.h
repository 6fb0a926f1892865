/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony journal: one JSON line per operation, each chained to the one before by hash. */
#pragma once

#include <gio/gio.h>

#include "tke-vp.h"

G_BEGIN_DECLS

#define TKE_JOURNAL_FILE_NAME "journal.jsonl"

/* What one operation adds to the journal. Only names, identifiers, results, verification patterns
 * and receipts go in: the API takes no PIN, password or key material, and nothing else. */
typedef struct _TkeJournalEntry TkeJournalEntry;

TkeJournalEntry *tke_journal_entry_new (const char *operation);
void tke_journal_entry_free (TkeJournalEntry *entry);
void tke_journal_entry_add_signer (TkeJournalEntry *entry, const char *name, const char *ski);
/* result: "OK" or the unit's refusal code; receipt: the unit's signed receipt, or NULL. */
void tke_journal_entry_add_unit (TkeJournalEntry *entry, const char *unit_id, guint crypto_unit_num,
                                 const char *result, const char *message, const char *receipt);
void tke_journal_entry_add_vp (TkeJournalEntry *entry, const char *label,
                               const guint8 vp[TKE_VP_LEN]);
/* A short public fact about the operation (a card serial, a part description, thresholds). */
void tke_journal_entry_add_detail (TkeJournalEntry *entry, const char *key, const char *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeJournalEntry, tke_journal_entry_free)

#define TKE_TYPE_JOURNAL (tke_journal_get_type ())

G_DECLARE_FINAL_TYPE (TkeJournal, tke_journal, TKE, JOURNAL, GObject)

TkeJournal *tke_journal_open (const char *path, GError **error);
gboolean tke_journal_append (TkeJournal *self, TkeJournalEntry *entry, GError **error);
guint tke_journal_get_n_entries (TkeJournal *self);
const char *tke_journal_get_path (TkeJournal *self);

/* Reads a journal and checks every line and link; the error names the first bad line. */
gboolean tke_journal_verify (const char *path, guint *n_entries, GError **error);

G_END_DECLS
