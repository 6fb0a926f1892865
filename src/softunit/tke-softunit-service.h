/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A tke-softunit service: its state directory, its crypto units and its HTTPS server, which
 * runs on a thread of its own so the service can also live inside the app or a test. */
#pragma once

#include <gio/gio.h>

#include "tke-softunit-config.h"
#include "tke-softunit-unit.h"

G_BEGIN_DECLS

/* Bodies above this are refused with 413. */
#define TKE_SOFTUNIT_MAX_BODY (1024 * 1024)

#define TKE_TYPE_SOFTUNIT_SERVICE (tke_softunit_service_get_type ())
G_DECLARE_FINAL_TYPE (TkeSoftunitService, tke_softunit_service, TKE, SOFTUNIT_SERVICE, GObject)

/* Opens the state in config->state_dir, creating it (service key, TLS certificate, API key,
 * units) on first start. */
TkeSoftunitService *tke_softunit_service_new (const TkeSoftunitConfig *config, GError **error);
/* The embeddable form: a fresh service in a temporary directory (removed when the service is
 * freed), one instance with these units, listening on an ephemeral loopback port. */
TkeSoftunitService *tke_softunit_service_new_ephemeral (guint operational, guint failover,
                                                        GError **error);

/* Starts listening; returns once the server accepts connections (or failed to). */
gboolean tke_softunit_service_start (TkeSoftunitService *self, GError **error);
/* Stops the server and waits for requests in flight. */
void tke_softunit_service_stop (TkeSoftunitService *self);

/* "https://127.0.0.1:PORT", once started. */
const char *tke_softunit_service_get_url (TkeSoftunitService *self);
/* SHA-256 of the TLS certificate's DER, 64 lower-case hex digits. */
const char *tke_softunit_service_get_fingerprint (TkeSoftunitService *self);
/* The API key: known only in the run that created the state (it is stored hashed). */
const char *tke_softunit_service_get_api_key (TkeSoftunitService *self);
gboolean tke_softunit_service_is_new (TkeSoftunitService *self);
const char *tke_softunit_service_get_state_dir (TkeSoftunitService *self);

/* The units in CRYPTO UNIT NUM order (transfer none). */
GPtrArray *tke_softunit_service_get_units (TkeSoftunitService *self);
TkeSoftunitUnit *tke_softunit_service_find_unit (TkeSoftunitService *self, const char *id);

G_END_DECLS
