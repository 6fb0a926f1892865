/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The demo's world: an embedded crypto unit service, two in-process readers and a wallet of
 * virtual cards, so that `tke --demo` needs nothing installed beyond the build. */
#pragma once

#include <gio/gio.h>

#include "tke-reader-manager.h"

G_BEGIN_DECLS

/* Where a demo card is. */
typedef enum
{
  TKE_DEMO_LOCATION_WALLET = 0,
  TKE_DEMO_LOCATION_READER_1 = 1,
  TKE_DEMO_LOCATION_READER_2 = 2,
} TkeDemoLocation;

#define TKE_DEMO_READER_1_NAME "Demo Reader 1"
#define TKE_DEMO_READER_2_NAME "Demo Reader 2"
#define TKE_DEMO_N_CARDS       8
#define TKE_DEMO_OPERATIONAL   3
#define TKE_DEMO_FAILOVER      2

/* One card of the wallet: properties "label", "serial", "location" (TkeDemoLocation),
 * "summary" (what it holds, as last read) and "reading" (a read is under way). */
#define TKE_TYPE_DEMO_CARD (tke_demo_card_get_type ())
G_DECLARE_FINAL_TYPE (TkeDemoCard, tke_demo_card, TKE, DEMO_CARD, GObject)

const char *tke_demo_card_get_label (TkeDemoCard *self);
guint32 tke_demo_card_get_serial (TkeDemoCard *self);
TkeDemoLocation tke_demo_card_get_location (TkeDemoCard *self);
const char *tke_demo_card_get_summary (TkeDemoCard *self);
gboolean tke_demo_card_get_reading (TkeDemoCard *self);

#define TKE_TYPE_DEMO_WORLD (tke_demo_world_get_type ())
G_DECLARE_FINAL_TYPE (TkeDemoWorld, tke_demo_world, TKE, DEMO_WORLD, GObject)

/* Calls on the world and its cards belong to the thread that made it (the main thread); the
 * reader manager may be used from any thread.
 *
 * Starts the service (one instance: 3 operational + 2 failover units on an ephemeral loopback
 * port, state in a temporary directory), adds the two readers, fills the wallet with blank cards
 * and makes a temporary workspace directory. Everything goes away when the world is disposed. */
TkeDemoWorld *tke_demo_world_new (GError **error);

/* The readers, for the ceremony worker and the reader watch. Safe to use from any thread. */
TkeReaderManager *tke_demo_world_get_reader_manager (TkeDemoWorld *self);
/* TKE_DEMO_READER_1_NAME or TKE_DEMO_READER_2_NAME. */
const char *tke_demo_world_get_reader_name (TkeDemoWorld *self, TkeDemoLocation reader);

const char *tke_demo_world_get_service_url (TkeDemoWorld *self);
const char *tke_demo_world_get_service_fingerprint (TkeDemoWorld *self);
const char *tke_demo_world_get_service_api_key (TkeDemoWorld *self);
/* The temporary directory for the ceremony journal and files. */
const char *tke_demo_world_get_workspace_dir (TkeDemoWorld *self);

/* The wallet: every card, wherever it is, as TkeDemoCard items. */
GListModel *tke_demo_world_get_cards (TkeDemoWorld *self);
/* The card in reader, or NULL. */
TkeDemoCard *tke_demo_world_get_card_in (TkeDemoWorld *self, TkeDemoLocation reader);
/* The card on its way into reader (see tke_demo_world_insert), or NULL. */
TkeDemoCard *tke_demo_world_get_card_coming (TkeDemoWorld *self, TkeDemoLocation reader);

/* Puts card into reader. A card already there goes back to the wallet first; the new card goes
 * in once the watchers of the readers have seen that removal (at most a second later) and once
 * the card is read, as a hand that swaps two cards would. "readers-changed" tells when. */
gboolean tke_demo_world_insert (TkeDemoWorld *self, TkeDemoCard *card, TkeDemoLocation reader,
                                GError **error);
/* Takes the card out of reader (and forgets a card on its way in). */
void tke_demo_world_remove (TkeDemoWorld *self, TkeDemoLocation reader);
/* Reads the cards in the readers again (after a ceremony wrote them). */
void tke_demo_world_refresh (TkeDemoWorld *self);

G_END_DECLS
