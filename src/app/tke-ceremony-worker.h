/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The ceremony worker: the one thread that talks to cards and crypto units, so that the main
 * loop never waits on them. */
#pragma once

#include <gio/gio.h>

#include "tke-card-profile.h"
#include "tke-ceremony.h"

G_BEGIN_DECLS

#define TKE_TYPE_CEREMONY_WORKER (tke_ceremony_worker_get_type ())

G_DECLARE_FINAL_TYPE (TkeCeremonyWorker, tke_ceremony_worker, TKE, CEREMONY_WORKER, GObject)

/* "busy": a ceremony is queued or running (reading a card is not one); notified on the main
 * thread. */
TkeCeremonyWorker *tke_ceremony_worker_new (TkeReaderManager *readers, TkePrompter *prompter,
                                            TkeJournal *journal);
gboolean tke_ceremony_worker_get_busy (TkeCeremonyWorker *self);
TkeReaderManager *tke_ceremony_worker_get_readers (TkeCeremonyWorker *self);

/* Runs an operation on the worker thread; the callback gets a TkeCeremonyResult. units are
 * TkeCeremonyUnit (copied); reader names may be NULL (first two readers by name). */
void tke_ceremony_worker_run_async (TkeCeremonyWorker *self, TkeCeremonyOp op, json_t *params,
                                    GPtrArray *units, const char *reader1, const char *reader2,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
/* The same for the failed units of previous. */
void tke_ceremony_worker_retry_async (TkeCeremonyWorker *self, const TkeCeremonyResult *previous,
                                      GPtrArray *units, const char *reader1, const char *reader2,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
TkeCeremonyResult *tke_ceremony_worker_run_finish (TkeCeremonyWorker *self, GAsyncResult *result,
                                                   GError **error);

/* Reads what the card in reader holds (no PIN); NULL card info with TKE_ERROR_NO_CARD when the
 * reader is empty. */
void tke_ceremony_worker_read_card_async (TkeCeremonyWorker *self, const char *reader,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
TkeCardInfo *tke_ceremony_worker_read_card_finish (TkeCeremonyWorker *self, GAsyncResult *result,
                                                   GError **error);

G_END_DECLS
