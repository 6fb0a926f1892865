/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SQLite store of a crypto unit and the sealing of its secrets under the service key. */
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include "tke-secmem.h"

G_BEGIN_DECLS

#define TKE_SOFTUNIT_SERVICE_KEY_LEN 32

/* Opens (creating when missing) a database in WAL mode with synchronous=FULL: a transaction that
 * has committed survives a crash of the process or of the machine. */
sqlite3 *tke_softunit_store_open (const char *path, const char *schema, GError **error);
gboolean tke_softunit_store_exec (sqlite3 *db, const char *sql, GError **error);
gboolean tke_softunit_store_set_error (sqlite3 *db, GError **error, const char *what);
/* "ok" from PRAGMA integrity_check. */
gboolean tke_softunit_store_check_integrity (sqlite3 *db, GError **error);

/* AES-256-GCM under the service key: nonce (12) || ciphertext || tag (16). The associated data
 * binds a sealed value to its place (unit id and column), so values can't be swapped. */
GBytes *tke_softunit_seal (const TkeSecret *service_key, const char *aad, const guint8 *data,
                           gsize len);
TkeSecret *tke_softunit_unseal (const TkeSecret *service_key, const char *aad, const guint8 *blob,
                                gsize len, GError **error);

/* The service key: 32 random bytes in a 0600 file, created when missing. */
TkeSecret *tke_softunit_service_key_load (const char *path, gboolean create, GError **error);

G_END_DECLS
