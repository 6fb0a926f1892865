/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client of a crypto unit service: HTTPS with a pinned certificate and an API key, async. */
#pragma once

#include <gio/gio.h>
#include <jansson.h>

#include "tke-command.h"

G_BEGIN_DECLS

/* One unit as listed, numbered 1..n across the instances of a service (CRYPTO UNIT NUM). */
typedef struct
{
  guint num;
  char *instance;
  char *id;
  char *type; /* "OPERATIONAL" or "FAILOVER" */
  char *location;
  json_t *identity_jwk;
  json_t *importer_jws;
} TkeUnitInfo;

void tke_unit_info_free (TkeUnitInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TkeUnitInfo, tke_unit_info_free)

#define TKE_TYPE_UNIT_CLIENT (tke_unit_client_get_type ())
G_DECLARE_FINAL_TYPE (TkeUnitClient, tke_unit_client, TKE, UNIT_CLIENT, GObject)

/* url: "https://host:port"; fingerprint: SHA-256 of the server certificate's DER, hex (colons
 * and case are ignored). Calls run on the thread-default main context of the caller; never wait
 * for them synchronously on the thread that runs an embedded service's loop. */
TkeUnitClient *tke_unit_client_new (const char *url, const char *fingerprint, const char *api_key);

/* Connects to url with TLS only to see the certificate the service presents, and sends nothing:
 * no request, no API key. The result is its SHA-256 fingerprint (lower-case hex), to be shown
 * to the operator for comparison before anything is pinned. A peer that does not speak TLS 1.3
 * is refused. */
void tke_unit_client_probe_async (const char *url, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
char *tke_unit_client_probe_finish (GAsyncResult *result, GError **error);

/* Any endpoint: GET when body is NULL, else POST with the JSON body. The result is the answer's
 * JSON; a refusal is a TKE_UNIT_ERROR with the unit's code and sentence; a network failure is
 * TKE_ERROR_UNIT_UNREACHABLE, a certificate that is not the pinned one TKE_ERROR_UNIT_CERTIFICATE. */
void tke_unit_client_request_async (TkeUnitClient *self, const char *path, json_t *body,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
json_t *tke_unit_client_request_finish (TkeUnitClient *self, GAsyncResult *result, GError **error);

/* The units of a GET /v1/instances answer, numbered 1..n; texts escaped (tke_text_escape). */
GPtrArray *tke_unit_info_list_from_json (const json_t *answer, GError **error);

/* GET /v1/instances: a GPtrArray of TkeUnitInfo, numbered 1..n. */
void tke_unit_client_list_units_async (TkeUnitClient *self, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
GPtrArray *tke_unit_client_list_units_finish (TkeUnitClient *self, GAsyncResult *result,
                                              GError **error);

/* GET /v1/units/{id}: the public state. */
void tke_unit_client_get_state_async (TkeUnitClient *self, const char *unit_id,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
json_t *tke_unit_client_get_state_finish (TkeUnitClient *self, GAsyncResult *result,
                                          GError **error);

/* POST /v1/units/{id}/commands: {"state", "receipt"} once accepted. */
void tke_unit_client_post_command_async (TkeUnitClient *self, const char *unit_id,
                                         TkeCommand *command, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
json_t *tke_unit_client_post_command_finish (TkeUnitClient *self, GAsyncResult *result,
                                             GError **error);

/* GET /v1/units/{id}/audit: the entries, after their hash chain has been verified. */
void tke_unit_client_get_audit_async (TkeUnitClient *self, const char *unit_id,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
json_t *tke_unit_client_get_audit_finish (TkeUnitClient *self, GAsyncResult *result,
                                          GError **error);

/* Checks a receipt: signed by the unit's pinned identity key (NULL: never accepted), naming this
 * unit, the command's op, its counter + 1 (the unit's counter after it), the hash of the request
 * body exactly as sent, the state returned with it, and the unit's audit chain head after the
 * command. Returns the receipt payload. */
json_t *tke_unit_receipt_verify (const json_t *answer, const json_t *identity_jwk,
                                 const char *unit_id, TkeCommand *command, GError **error);
/* Checks an audit log's hash chain: each entry's hash and its link to the one before. */
gboolean tke_unit_audit_verify (const json_t *entries, GError **error);

G_END_DECLS
