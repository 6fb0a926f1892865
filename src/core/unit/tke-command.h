/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A signed administrator command: payload, then one JWS signature per administrator (DESIGN §3). */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-signer.h"

G_BEGIN_DECLS

#define TKE_COMMAND_TYP "tke-command/1"
/* How long a command stays valid when the caller does not say: a quorum has ten minutes. */
#define TKE_COMMAND_DEFAULT_LIFETIME 600

#define TKE_TYPE_COMMAND (tke_command_get_type ())
G_DECLARE_FINAL_TYPE (TkeCommand, tke_command, TKE, COMMAND, GObject)

TkeCommand *tke_command_new (const char *op);
const char *tke_command_get_op (TkeCommand *self);
/* Each target is a unit id and the counter the unit has now. */
void tke_command_add_target (TkeCommand *self, const char *unit_id, gint64 counter);
guint tke_command_get_n_targets (TkeCommand *self);
/* The counter the command carries for unit_id, or -1 when the unit is not a target. */
gint64 tke_command_get_counter (TkeCommand *self, const char *unit_id);
/* Takes ownership of args (a JSON object). */
void tke_command_take_args (TkeCommand *self, json_t *args);
/* Seconds since the epoch; the default is now .. now + TKE_COMMAND_DEFAULT_LIFETIME. */
void tke_command_set_validity (TkeCommand *self, gint64 iat, gint64 exp);

/* The payload is frozen at the first of these calls: targets and args can no longer change. */
const char *tke_command_get_payload_b64 (TkeCommand *self);
/* b64url(protected) "." b64url(payload) for a signature with this alg and kid. */
char *tke_command_get_signing_input (TkeCommand *self, const char *alg, const char *kid,
                                     char **protected_b64);
/* Signs with the signer (blocking: a card may take a while) and appends the signature. */
gboolean tke_command_add_signature (TkeCommand *self, TkeSigner *signer, GCancellable *cancellable,
                                    GError **error);
guint tke_command_get_n_signatures (TkeCommand *self);
/* The JWS in General JSON Serialization; a new reference. */
json_t *tke_command_to_json (TkeCommand *self);
/* The request body as sent to a unit (the same bytes every time)... */
char *tke_command_to_string (TkeCommand *self);
/* ...and its SHA-256, base64url: what a receipt names as "request". */
char *tke_command_get_request_hash (TkeCommand *self);

G_END_DECLS
