/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TkeUnitClient: libsoup 3 requests, each pinned to the service's certificate fingerprint. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <libsoup/soup.h>

#include "tke-error.h"
#include "tke-pinned-tls-database.h"
#include "tke-text.h"
#include "tke-unit-client.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"

/* Answers above this are not read: a unit's answers are small. */
#define MAX_ANSWER (8 * 1024 * 1024)

struct _TkeUnitClient
{
  GObject parent_instance;

  SoupSession *session;
  char *url;
  char *fingerprint;
  char *api_key;
};

G_DEFINE_FINAL_TYPE (TkeUnitClient, tke_unit_client, G_TYPE_OBJECT)

typedef struct
{
  SoupMessage *msg;
  char *refused_fingerprint; /* what a refused peer presented */
  char *unit_id;
} RequestData;

static void
request_data_free (gpointer data)
{
  RequestData *rd = data;

  g_clear_object (&rd->msg);
  g_free (rd->refused_fingerprint);
  g_free (rd->unit_id);
  g_free (rd);
}

void
tke_unit_info_free (TkeUnitInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->instance);
  g_free (info->id);
  g_free (info->type);
  g_free (info->location);
  json_decref (info->identity_jwk);
  json_decref (info->importer_jws);
  g_free (info);
}

static void
tke_unit_client_finalize (GObject *object)
{
  TkeUnitClient *self = TKE_UNIT_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  if (self->api_key != NULL)
    tke_wipe_string_free (g_steal_pointer (&self->api_key));

  G_OBJECT_CLASS (tke_unit_client_parent_class)->finalize (object);
}

static void
tke_unit_client_class_init (TkeUnitClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_unit_client_finalize;
}

static void
tke_unit_client_init (TkeUnitClient *self)
{
}

TkeUnitClient *
tke_unit_client_new (const char *url, const char *fingerprint, const char *api_key)
{
  TkeUnitClient *self;
  g_autoptr (GTlsDatabase) database = NULL;

  g_return_val_if_fail (url != NULL && fingerprint != NULL && api_key != NULL, NULL);

  self = g_object_new (TKE_TYPE_UNIT_CLIENT, NULL);
  self->url = g_strdup (url);
  while (g_str_has_suffix (self->url, "/"))
    self->url[strlen (self->url) - 1] = '\0';
  self->fingerprint = tke_fingerprint_normalize (fingerprint);
  self->api_key = g_strdup (api_key);
  /* The pin alone decides which certificate is trusted, on every connection of the session. A
   * command fans out to every selected unit at once: allow that many connections. */
  database = tke_pinned_tls_database_new (self->fingerprint);
  self->session = soup_session_new_with_options ("max-conns", 256, "max-conns-per-host", 128,
                                                 "timeout", 120, "tls-database", database, NULL);
  return self;
}

static gboolean
on_accept_certificate (SoupMessage *msg, GTlsCertificate *certificate, GTlsCertificateFlags errors,
                       gpointer user_data)
{
  GTask *task = user_data;
  RequestData *rd = g_task_get_task_data (task);

  /* The pinned database accepted the pinned certificate already: whatever comes here is another
   * one, and is refused, never accepted on second thought. */
  g_free (rd->refused_fingerprint);
  rd->refused_fingerprint = tke_tls_certificate_fingerprint (certificate);
  if (rd->refused_fingerprint == NULL)
    /* TRANSLATORS: instead of a certificate fingerprint, when there is none. */
    rd->refused_fingerprint = g_strdup (_ ("(none)"));
  return FALSE;
}

static void
return_certificate_refused (GTask *task, const char *presented)
{
  TkeUnitClient *self = g_task_get_source_object (task);

  g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_CERTIFICATE,
                           /* TRANSLATORS: the first %s is the service's address, the second the
                            * fingerprint of the certificate it presented, the third the one of
                            * the pinned certificate. */
                           _ ("The service at %s presented a certificate with SHA-256 %s, but the "
                              "one pinned for it has SHA-256 %s: nothing was sent to it. "
                              "Something between this workstation and the service may be reading "
                              "the connection; check the fingerprint with the service's "
                              "operator."),
                           self->url, presented, self->fingerprint);
}

/* Checks the connection an answer came on, whatever happened during its handshake: the pinned
 * certificate and TLS 1.3. */
static gboolean
check_answer_connection (GTask *task, SoupMessage *msg)
{
  TkeUnitClient *self = g_task_get_source_object (task);
  GTlsCertificate *peer = soup_message_get_tls_peer_certificate (msg);
  g_autofree char *actual = peer != NULL ? tke_tls_certificate_fingerprint (peer) : NULL;

  if (actual == NULL || !g_str_equal (actual, self->fingerprint))
    {
      /* TRANSLATORS: instead of a certificate fingerprint, when there is none. */
      return_certificate_refused (task, actual != NULL ? actual : _ ("(none)"));
      return FALSE;
    }
  if (soup_message_get_tls_protocol_version (msg) != G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_CERTIFICATE,
                               _ ("The service at %s does not speak TLS 1.3: the crypto unit "
                                  "protocol needs it."),
                               self->url);
      return FALSE;
    }
  return TRUE;
}

static void
on_send_and_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RequestData *rd = g_task_get_task_data (task);
  TkeUnitClient *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  json_t *value = NULL;
  guint status;

  bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (rd->refused_fingerprint != NULL)
        return_certificate_refused (task, rd->refused_fingerprint);
      else
        g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_UNREACHABLE,
                                 /* TRANSLATORS: the first %s is the service's address, the
                                  * second the reason. */
                                 _ ("The crypto unit service at %s can't be reached: %s"),
                                 self->url, error->message);
      return;
    }
  if (!check_answer_connection (task, rd->msg))
    return;
  status = soup_message_get_status (rd->msg);
  if (g_bytes_get_size (bytes) > 0 && g_bytes_get_size (bytes) <= MAX_ANSWER)
    value = json_loadb (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), 0, NULL);

  if (status >= 200 && status < 300 && json_is_object (value))
    {
      g_task_return_pointer (task, value, (GDestroyNotify) json_decref);
      return;
    }
  if (status >= 400)
    {
      const char *code = NULL, *message = NULL;

      if (json_unpack (value, "{s:{s:s, s:s}}", "error", "code", &code, "message", &message) == 0)
        {
          /* The unit's sentence is shown to the operator as it is, so never its controls. */
          g_autofree char *shown = tke_text_escape (message, -1);

          g_task_return_new_error (task, TKE_UNIT_ERROR, tke_unit_error_code_from_string (code),
                                   "%s", shown);
        }
      else
        g_task_return_new_error (task, TKE_UNIT_ERROR, TKE_UNIT_ERROR_UNKNOWN_CODE,
                                 /* TRANSLATORS: %u is an HTTP status code, such as 500. */
                                 _ ("The service answered HTTP %u without a refusal code."),
                                 status);
    }
  else
    g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_MALFORMED,
                             /* TRANSLATORS: %u is an HTTP status code, such as 200. */
                             _ ("The service answered HTTP %u with something that is not a JSON "
                                "object."),
                             status);
  json_decref (value);
}

static GTask *
start_request (TkeUnitClient *self, const char *path, const char *body, gpointer source_tag,
               GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autofree char *uri = g_strconcat (self->url, path, NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", self->api_key, NULL);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  RequestData *rd = g_new0 (RequestData, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, rd, request_data_free);
  rd->msg = soup_message_new (body != NULL ? "POST" : "GET", uri);
  if (rd->msg == NULL)
    {
      g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                               _ ("%s is not a valid service address."), uri);
      return task;
    }
  soup_message_headers_replace (soup_message_get_request_headers (rd->msg), "Authorization", auth);
  /* A POST is never marked idempotent: libsoup must not send a signed command a second time by
   * itself when a kept-alive connection dies under it. After such an error the caller reads the
   * unit's state, whose counter tells whether the command was applied. */
  tke_wipe (auth, strlen (auth));
  if (body != NULL)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (rd->msg, "application/json", bytes);
    }
  g_signal_connect (rd->msg, "accept-certificate", G_CALLBACK (on_accept_certificate), task);
  soup_session_send_and_read_async (self->session, rd->msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_send_and_read, g_object_ref (task));
  return task;
}

void
tke_unit_client_request_async (TkeUnitClient *self, const char *path, json_t *body,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autofree char *text = NULL;

  g_return_if_fail (TKE_IS_UNIT_CLIENT (self));
  g_return_if_fail (path != NULL && path[0] == '/');

  if (body != NULL)
    {
      char *dumped = json_dumps (body, JSON_COMPACT);

      text = g_strdup (dumped);
      free (dumped);
    }
  g_object_unref (start_request (self, path, text, tke_unit_client_request_async, cancellable,
                                 callback, user_data));
}

json_t *
tke_unit_client_request_finish (TkeUnitClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Probe ----------------------------------------------------------------------------------- */

typedef struct
{
  char *url;
  char *fingerprint;
} Probe;

static void
probe_free (gpointer data)
{
  Probe *probe = data;

  g_free (probe->url);
  g_free (probe->fingerprint);
  g_free (probe);
}

static gboolean
on_probe_certificate (GTlsConnection *connection, GTlsCertificate *certificate,
                      GTlsCertificateFlags errors, gpointer user_data)
{
  Probe *probe = user_data;

  /* Accepted for this handshake only, which carries nothing, to show the operator what to
   * compare. */
  g_free (probe->fingerprint);
  probe->fingerprint = tke_tls_certificate_fingerprint (certificate);
  return probe->fingerprint != NULL;
}

static void
on_probe_event (GSocketClient *client, GSocketClientEvent event, GSocketConnectable *connectable,
                GIOStream *connection, gpointer user_data)
{
  g_autoptr (GTlsDatabase) nothing = NULL;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING || !G_IS_TLS_CONNECTION (connection))
    return;
  /* A database that trusts nothing: every certificate goes through accept-certificate, the ones
   * a system CA signed too. */
  nothing = tke_pinned_tls_database_new (NULL);
  g_tls_connection_set_database (G_TLS_CONNECTION (connection), nothing);
  g_signal_connect (connection, "accept-certificate", G_CALLBACK (on_probe_certificate), user_data);
}

static void
on_probe_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  GIOStream *tls;

  connection = g_socket_client_connect_to_uri_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_UNREACHABLE,
                                 /* TRANSLATORS: the first %s is the service's address, the
                                  * second the reason. */
                                 _ ("The crypto unit service at %s can't be reached: %s"),
                                 probe->url, error->message);
      return;
    }
  tls = G_IS_TCP_WRAPPER_CONNECTION (connection)
            ? g_tcp_wrapper_connection_get_base_io_stream (G_TCP_WRAPPER_CONNECTION (connection))
            : G_IO_STREAM (connection);
  if (!G_IS_TLS_CONNECTION (tls) || probe->fingerprint == NULL)
    g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_CERTIFICATE,
                             _ ("The service at %s presented no TLS certificate: use an https:// "
                                "URL."),
                             probe->url);
  else if (g_tls_connection_get_protocol_version (G_TLS_CONNECTION (tls)) !=
           G_TLS_PROTOCOL_VERSION_TLS_1_3)
    g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_UNIT_CERTIFICATE,
                             _ ("The service at %s does not speak TLS 1.3: the crypto unit "
                                "protocol needs it."),
                             probe->url);
  else
    g_task_return_pointer (task, g_steal_pointer (&probe->fingerprint), g_free);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

void
tke_unit_client_probe_async (const char *url, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Probe *probe = g_new0 (Probe, 1);

  g_return_if_fail (url != NULL);

  g_task_set_source_tag (task, tke_unit_client_probe_async);
  probe->url = g_strdup (url);
  g_task_set_task_data (task, probe, probe_free);
  if (!g_str_has_prefix (url, "https://"))
    {
      g_task_return_new_error (task, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                               _ ("“%s” is not an https:// URL."), url);
      g_object_unref (task);
      return;
    }
  g_socket_client_set_tls (client, TRUE);
  g_socket_client_set_timeout (client, 30);
  g_signal_connect (client, "event", G_CALLBACK (on_probe_event), probe);
  g_socket_client_connect_to_uri_async (client, url, 443, cancellable, on_probe_connected, task);
}

char *
tke_unit_client_probe_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The typed calls wrap the generic request and convert its answer on completion. */
typedef json_t *(*Convert) (json_t *answer, const char *unit_id, gpointer *out,
                            GDestroyNotify *out_free, GError **error);

static void
on_typed_request (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Convert convert = g_object_get_data (G_OBJECT (task), "convert");
  g_autoptr (GError) error = NULL;
  json_t *answer = tke_unit_client_request_finish (TKE_UNIT_CLIENT (source), result, &error);
  gpointer out = NULL;
  GDestroyNotify out_free = NULL;

  if (answer == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (convert != NULL)
    {
      convert (answer, g_object_get_data (G_OBJECT (task), "unit-id"), &out, &out_free, &error);
      json_decref (answer);
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_pointer (task, out, out_free);
      return;
    }
  g_task_return_pointer (task, answer, (GDestroyNotify) json_decref);
}

static void
typed_request (TkeUnitClient *self, const char *path, const char *body, const char *unit_id,
               Convert convert, gpointer source_tag, GCancellable *cancellable,
               GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_object_set_data (G_OBJECT (task), "convert", convert);
  g_object_set_data_full (G_OBJECT (task), "unit-id", g_strdup (unit_id), g_free);
  g_object_unref (
      start_request (self, path, body, source_tag, cancellable, on_typed_request, task));
}

static gboolean
unit_id_is_valid (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > 64)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

GPtrArray *
tke_unit_info_list_from_json (const json_t *answer, GError **error)
{
  GPtrArray *units = g_ptr_array_new_with_free_func ((GDestroyNotify) tke_unit_info_free);
  json_t *instances = json_object_get (answer, "instances");
  size_t i, j;
  json_t *instance, *unit;

  if (!json_is_array (instances))
    goto malformed;
  json_array_foreach (instances, i, instance)
    {
      const char *name = NULL;
      json_t *list = NULL;

      if (json_unpack (instance, "{s:s, s:o}", "name", &name, "units", &list) != 0 ||
          !json_is_array (list))
        goto malformed;
      json_array_foreach (list, j, unit)
        {
          const char *id = NULL, *type = NULL, *location = NULL;
          json_t *identity = NULL, *importer = NULL;
          TkeUnitInfo *info;

          if (json_unpack (unit, "{s:s, s:s, s:s, s:o, s:o}", "id", &id, "type", &type, "location",
                           &location, "identity_key", &identity, "importer_key", &importer) != 0)
            goto malformed;
          /* The id goes into paths, file names and the pins: letters, digits and dashes. */
          if (!unit_id_is_valid (id))
            goto malformed;
          info = g_new0 (TkeUnitInfo, 1);
          info->num = units->len + 1;
          info->instance = tke_text_escape (name, -1);
          info->id = g_strdup (id);
          info->type = tke_text_escape (type, -1);
          info->location = tke_text_escape (location, -1);
          info->identity_jwk = json_incref (identity);
          info->importer_jws = json_incref (importer);
          g_ptr_array_add (units, info);
        }
    }
  return units;

malformed:
  g_ptr_array_unref (units);
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("The service's list of instances and units does not have the expected shape."));
  return NULL;
}

static json_t *
convert_units (json_t *answer, const char *unit_id, gpointer *out, GDestroyNotify *out_free,
               GError **error)
{
  GPtrArray *units = tke_unit_info_list_from_json (answer, error);

  if (units == NULL)
    return NULL;
  *out = units;
  *out_free = (GDestroyNotify) g_ptr_array_unref;
  return NULL;
}

void
tke_unit_client_list_units_async (TkeUnitClient *self, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (TKE_IS_UNIT_CLIENT (self));
  typed_request (self, "/v1/instances", NULL, NULL, convert_units, tke_unit_client_list_units_async,
                 cancellable, callback, user_data);
}

GPtrArray *
tke_unit_client_list_units_finish (TkeUnitClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static char *
unit_path (const char *unit_id, const char *suffix)
{
  g_autofree char *escaped = g_uri_escape_string (unit_id, NULL, FALSE);

  return g_strconcat ("/v1/units/", escaped, suffix, NULL);
}

void
tke_unit_client_get_state_async (TkeUnitClient *self, const char *unit_id,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (TKE_IS_UNIT_CLIENT (self));
  g_return_if_fail (unit_id != NULL);
  path = unit_path (unit_id, "");
  typed_request (self, path, NULL, unit_id, NULL, tke_unit_client_get_state_async, cancellable,
                 callback, user_data);
}

json_t *
tke_unit_client_get_state_finish (TkeUnitClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
tke_unit_client_post_command_async (TkeUnitClient *self, const char *unit_id, TkeCommand *command,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;

  g_return_if_fail (TKE_IS_UNIT_CLIENT (self));
  g_return_if_fail (unit_id != NULL && TKE_IS_COMMAND (command));
  path = unit_path (unit_id, "/commands");
  /* Exactly these bytes: the receipt names their hash (tke_command_get_request_hash). */
  body = tke_command_to_string (command);
  typed_request (self, path, body, unit_id, NULL, tke_unit_client_post_command_async, cancellable,
                 callback, user_data);
}

json_t *
tke_unit_client_post_command_finish (TkeUnitClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static json_t *
convert_audit (json_t *answer, const char *unit_id, gpointer *out, GDestroyNotify *out_free,
               GError **error)
{
  json_t *entries = json_object_get (answer, "entries");

  if (!tke_unit_audit_verify (entries, error))
    return NULL;
  *out = json_incref (entries);
  *out_free = (GDestroyNotify) json_decref;
  return NULL;
}

void
tke_unit_client_get_audit_async (TkeUnitClient *self, const char *unit_id,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (TKE_IS_UNIT_CLIENT (self));
  g_return_if_fail (unit_id != NULL);
  path = unit_path (unit_id, "/audit");
  typed_request (self, path, NULL, unit_id, convert_audit, tke_unit_client_get_audit_async,
                 cancellable, callback, user_data);
}

json_t *
tke_unit_client_get_audit_finish (TkeUnitClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

json_t *
tke_unit_receipt_verify (const json_t *answer, const json_t *identity_jwk, const char *unit_id,
                         TkeCommand *command, GError **error)
{
  json_t *state = json_object_get (answer, "state");
  json_auto_t *payload = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *request_hash = NULL;
  const char *typ = NULL, *unit = NULL, *op = NULL, *state_hash = NULL, *request = NULL;
  const char *audit = NULL;
  json_int_t counter = -1;
  gint64 sent;

  g_return_val_if_fail (unit_id != NULL && TKE_IS_COMMAND (command), NULL);

  /* A unit without a pinned identity key is never taken at its word. */
  if (identity_jwk == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_UNIT_IDENTITY,
                   _ ("Crypto unit %s has no pinned identity key: its receipt can't be checked."),
                   unit_id);
      return NULL;
    }
  payload = tke_jws_verify_flattened (json_object_get (answer, "receipt"), identity_jwk, error);
  if (payload == NULL)
    return NULL;
  if (json_unpack (payload, "{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "typ", &typ, "unit", &unit, "op",
                   &op, "counter", &counter, "state", &state_hash, "request", &request, "audit",
                   &audit) != 0 ||
      !g_str_equal (typ, TKE_RECEIPT_TYP))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The receipt is not a tke-receipt/1 with unit, op, counter, state, request "
                      "and audit."));
      return NULL;
    }
  /* The receipt must answer this very request: a receipt of another command, replayed or
   * reordered by something on the path, names another body, op or counter. */
  sent = tke_command_get_counter (command, unit_id);
  request_hash = tke_command_get_request_hash (command);
  if (!g_str_equal (unit, unit_id) || !g_str_equal (op, tke_command_get_op (command)) || sent < 0 ||
      counter != sent + 1 || request_hash == NULL || !g_str_equal (request, request_hash))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   /* TRANSLATORS: what the receipt names: a unit, an operation (such as
                    * admin.add), a counter and the start of a request hash; then what was sent:
                    * an operation, a unit, a counter and the start of a request hash. */
                   _ ("The receipt does not answer the command that was sent: it names unit %s, "
                      "%s, counter %lld and request %.12s…; the command was %s to "
                      "unit %s at counter %lld with request %.12s…."),
                   unit, op, (long long) counter, request, tke_command_get_op (command), unit_id,
                   (long long) sent, request_hash != NULL ? request_hash : "");
      return NULL;
    }
  hash = tke_json_hash_b64 (state);
  if (!g_str_equal (hash, state_hash))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The receipt does not match the state returned with it."));
      return NULL;
    }
  return g_steal_pointer (&payload);
}

gboolean
tke_unit_audit_verify (const json_t *entries, GError **error)
{
  const char *prev = "";
  size_t index;
  json_t *entry;

  if (!json_is_array (entries))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED, _ ("The audit log is not a list."));
      return FALSE;
    }
  json_array_foreach (entries, index, entry)
    {
      json_auto_t *copy = json_deep_copy (entry);
      const char *hash = json_string_value (json_object_get (entry, "hash"));
      const char *link = json_string_value (json_object_get (entry, "prev"));
      g_autofree char *actual = NULL;

      json_object_del (copy, "hash");
      actual = tke_json_hash_b64 (copy);
      if (hash == NULL || link == NULL || !g_str_equal (link, prev) || !g_str_equal (actual, hash))
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                       _ ("Audit entry %zu does not chain to the one before it: the log was "
                          "changed."),
                       index + 1);
          return FALSE;
        }
      prev = hash;
    }
  return TRUE;
}
