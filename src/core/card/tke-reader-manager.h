/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The readers a workstation has: listing them, watching cards come and go, connecting to a card.
 * Implemented over PC/SC (TkePcscReaderManager) and in-process (TkeVirtualReaderManager). */
#pragma once

#include <gio/gio.h>

#include "tke-card-connection.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  gboolean card_present;
} TkeReaderStatus;

void tke_reader_status_free (TkeReaderStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeReaderStatus, tke_reader_status_free)

/* Which of the readers (TkeReaderStatus) plays role 1 or 2, decided here for the app's tabs,
 * the ceremony engine and tkectl alike: the reader named by configured when that is set (NULL
 * when it is not connected), else the role-th reader in the order of names. NULL when there is
 * no such reader. */
const TkeReaderStatus *tke_reader_status_for_role (GPtrArray *statuses, guint role,
                                                   const char *configured);

#define TKE_TYPE_READER_MANAGER (tke_reader_manager_get_type ())

G_DECLARE_DERIVABLE_TYPE (TkeReaderManager, tke_reader_manager, TKE, READER_MANAGER, GObject)

struct _TkeReaderManagerClass
{
  GObjectClass parent_class;

  /* Per-thread state for list and wait (PC/SC: that thread's own SCARDCONTEXT). */
  gpointer (*thread_state_new) (TkeReaderManager *self, GError **error);
  void (*thread_state_free) (TkeReaderManager *self, gpointer state);
  /* The readers now, as TkeReaderStatus. */
  GPtrArray *(*list) (TkeReaderManager *self, gpointer state, GError **error);
  /* Blocks until something may have changed since the last list on this state, until
   * timeout_ms, or until interrupt is called from another thread (then FALSE without error). */
  gboolean (*wait) (TkeReaderManager *self, gpointer state, guint timeout_ms, GError **error);
  void (*interrupt) (TkeReaderManager *self, gpointer state);
  TkeCardConnection *(*connect) (TkeReaderManager *self, const char *reader, GError **error);
};

/* The readers now. No reader at all is an empty array, not an error. */
GPtrArray *tke_reader_manager_list (TkeReaderManager *self, GError **error);

/* Connects (shared) to the card in reader. Errors: TKE_ERROR_NO_READER, TKE_ERROR_NO_CARD,
 * TKE_ERROR_SHARING_VIOLATION. */
TkeCardConnection *tke_reader_manager_connect (TkeReaderManager *self, const char *reader,
                                               GError **error);

/* Blocks the calling thread until reader holds a card (at once if it does). Cancelling
 * interrupts the wait (G_IO_ERROR_CANCELLED). timeout_ms 0 waits forever. */
gboolean tke_reader_manager_wait_for_card (TkeReaderManager *self, const char *reader,
                                           guint timeout_ms, GCancellable *cancellable,
                                           GError **error);

/* Starts a thread that watches the readers and emits reader-added, reader-removed,
 * card-inserted and card-removed (each with the reader's name) in the thread-default main
 * context of the caller. It stops when cancellable is cancelled or the manager is disposed. */
void tke_reader_manager_watch (TkeReaderManager *self, GCancellable *cancellable);
void tke_reader_manager_stop_watching (TkeReaderManager *self);

G_END_DECLS
