/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One crypto unit: its state machine (DESIGN §3), its SQLite store and its key storage. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-secmem.h"

G_BEGIN_DECLS

#define TKE_SOFTUNIT_MAX_ADMINS 8
/* Most keys one key storage request may create. */
#define TKE_SOFTUNIT_MAX_KEYS_PER_REQUEST 1000

#define TKE_TYPE_SOFTUNIT_UNIT (tke_softunit_unit_get_type ())
G_DECLARE_FINAL_TYPE (TkeSoftunitUnit, tke_softunit_unit, TKE, SOFTUNIT_UNIT, GObject)

/* Creates a unit in imprint mode with a fresh identity key, in a new database at path. */
TkeSoftunitUnit *tke_softunit_unit_create (const char *path, const TkeSecret *service_key,
                                           const char *id, const char *instance, const char *type,
                                           const char *location, GError **error);
TkeSoftunitUnit *tke_softunit_unit_open (const char *path, const TkeSecret *service_key,
                                         GError **error);

const char *tke_softunit_unit_get_id (TkeSoftunitUnit *self);
const char *tke_softunit_unit_get_instance (TkeSoftunitUnit *self);
gint64 tke_softunit_unit_get_counter (TkeSoftunitUnit *self);

/* id, type, location, identity key (JWK), importer key (JWS by the identity key). */
json_t *tke_softunit_unit_get_summary (TkeSoftunitUnit *self);
/* The public state of GET /v1/units/{id}. */
json_t *tke_softunit_unit_get_state (TkeSoftunitUnit *self);

/* Verifies and applies a signed command; returns {"state", "receipt"}. Refusals are
 * TKE_UNIT_ERROR with the code and an operator sentence. Accepted or refused, the command is
 * written to the audit log, and nothing is returned before it is durable. */
json_t *tke_softunit_unit_execute (TkeSoftunitUnit *self, const char *body, gsize len,
                                   GError **error);

/* {"unit", "entries": [...]}: the hash-chained audit log. */
json_t *tke_softunit_unit_get_audit (TkeSoftunitUnit *self, GError **error);

/* Key storage: random AES-256 keys wrapped under the current master key. */
json_t *tke_softunit_unit_create_keys (TkeSoftunitUnit *self, guint count, GError **error);
guint tke_softunit_unit_get_key_count (TkeSoftunitUnit *self);
/* AES-256-GCM with a stored key: nonce || ciphertext || tag. */
GBytes *tke_softunit_unit_key_encrypt (TkeSoftunitUnit *self, const char *kid, GBytes *plaintext,
                                       GError **error);
GBytes *tke_softunit_unit_key_decrypt (TkeSoftunitUnit *self, const char *kid, GBytes *ciphertext,
                                       GError **error);

/* For tests and the crash check: PRAGMA integrity_check on the unit's database. */
gboolean tke_softunit_unit_check_integrity (TkeSoftunitUnit *self, GError **error);

G_END_DECLS
