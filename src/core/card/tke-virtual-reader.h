/* SPDX-License-Identifier: GPL-3.0-or-later */
/* In-process readers holding TkeVirtualCard engines: the demo's readers and the fast tests'.
 * Cards are inserted and removed by calls, with the same events as PC/SC readers. */
#pragma once

#include "tke-reader-manager.h"
#include "tke-virtual-card.h"

G_BEGIN_DECLS

#define TKE_TYPE_VIRTUAL_READER_MANAGER (tke_virtual_reader_manager_get_type ())

G_DECLARE_FINAL_TYPE (TkeVirtualReaderManager, tke_virtual_reader_manager, TKE,
                      VIRTUAL_READER_MANAGER, TkeReaderManager)

TkeReaderManager *tke_virtual_reader_manager_new (void);

/* Readers appear and leave by name (reader-added / reader-removed). */
gboolean tke_virtual_reader_manager_add_reader (TkeVirtualReaderManager *self, const char *name,
                                                GError **error);
void tke_virtual_reader_manager_remove_reader (TkeVirtualReaderManager *self, const char *name);

/* Powers the card on in reader. A reader holds one card at a time. */
gboolean tke_virtual_reader_manager_insert (TkeVirtualReaderManager *self, const char *reader,
                                            TkeVirtualCard *card, GError **error);
/* Powers the card off and takes it out: open connections fail with TKE_ERROR_CARD_REMOVED. */
void tke_virtual_reader_manager_remove (TkeVirtualReaderManager *self, const char *reader);

/* Fault injection: the card is pulled after n more APDUs reach it (0: never). */
void tke_virtual_reader_manager_remove_after (TkeVirtualReaderManager *self, const char *reader,
                                              guint n);

G_END_DECLS
