/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Cards in the shared vpcd readers through the real pcscd: tke-vcard processes put in and pulled
 * out, under the exclusive lock every user of those readers holds. */
#pragma once

#include "tke-reader-manager.h"

G_BEGIN_DECLS

#define VPCD_READER_0 "Virtual PCD 00 00"
#define VPCD_READER_1 "Virtual PCD 00 01"

/* Takes /tmp/tke-vpcd.lock for the life of the process and checks that pcscd, both vpcd readers
 * and tke-vcard are there. FALSE with a reason when the test can't run here (SKIP). */
gboolean tke_vpcd_setup (TkeReaderManager *manager, char **reason);
/* Removes the card images and their directory. */
void tke_vpcd_teardown (void);
/* A blank card image in a private directory. */
char *tke_vpcd_create_card (guint32 serial);
/* Puts image into reader (0 or 1) and waits until pcscd sees it. fail_after > 0: the card is
 * pulled on that APDU. */
GSubprocess *tke_vpcd_insert (TkeReaderManager *manager, const char *image, guint reader,
                              guint fail_after);
/* Pulls the card (SIGTERM) or waits for a fault-injected one to leave, until pcscd sees the
 * reader empty. */
void tke_vpcd_pull (TkeReaderManager *manager, GSubprocess *card, guint reader);
void tke_vpcd_wait_empty (TkeReaderManager *manager, const char *reader);
const char *tke_vpcd_reader_name (guint reader);

G_END_DECLS
