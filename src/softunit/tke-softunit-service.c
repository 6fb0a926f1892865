/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The service: first-start creation of the state, and the HTTPS wire protocol of DESIGN §3. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-softunit-service.h"
#include "tke-softunit-store.h"
#include "tke-unit-error.h"

/* Requests run on a pool so that units work in parallel and the server thread never waits on a
 * unit's lock or a disk flush. */
#define MAX_WORKERS    32
#define LISTEN_BACKLOG 256

struct _TkeSoftunitService
{
  GObject parent_instance;

  char *state_dir;
  gboolean temporary;
  gboolean is_new;
  char *listen_host;
  guint listen_port;
  TkeSecret *service_key;
  GPtrArray *units;
  GHashTable *units_by_id;
  GPtrArray *instance_names;
  char *region;
  guint8 api_key_hash[32];
  char *api_key;
  char *fingerprint;
  GTlsCertificate *tls;

  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  GThreadPool *pool;
  /* Client connections, tracked from the moment they are accepted (in their TLS handshake too)
   * and touched on the server thread only: a stopping server shuts them down, as
   * soup_server_disconnect () leaves kept-alive connections open and never sees a connection
   * that has not sent a request yet. */
  GHashTable *sockets;
  GSocketService *acceptor;
  GSocket *listener;
  char *url;
  GMutex start_lock;
  GCond start_cond;
  gboolean start_done;
  GError *start_error;
};

G_DEFINE_FINAL_TYPE (TkeSoftunitService, tke_softunit_service, G_TYPE_OBJECT)

typedef struct
{
  TkeSoftunitService *self;
  SoupServerMessage *msg;
  char *method;
  char **parts; /* path split at '/', without the leading "v1" */
  GBytes *body;
  guint status;
  char *response;
} Job;

/* State creation ---------------------------------------------------------------------------- */

static gboolean
write_private_file (const char *path, const char *data, gsize len, GError **error)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  gboolean ok;

  ok = fd >= 0 && write (fd, data, len) == (ssize_t) len && fsync (fd) == 0;
  if (!ok)
    g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "%s can't be written (%s).", path,
                 g_strerror (errno));
  if (fd >= 0)
    close (fd);
  return ok;
}

/* A P-256 key and a self-signed certificate for the HTTPS server, in one 0600 PEM file. */
static gboolean
create_tls_identity (const char *path, GError **error)
{
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, error);
  X509 *cert = NULL;
  X509_NAME *name = NULL;
  X509_EXTENSION *san = NULL;
  X509V3_CTX ctx;
  BIO *bio = NULL;
  BUF_MEM *mem = NULL;
  guint8 serial[16];
  BIGNUM *serial_bn = NULL;
  gboolean ok;

  if (key == NULL)
    return FALSE;
  cert = X509_new ();
  name = X509_NAME_new ();
  bio = BIO_new (BIO_s_mem ());
  ok = cert != NULL && name != NULL && bio != NULL && RAND_bytes (serial, sizeof serial) == 1;
  if (ok)
    {
      serial[0] &= 0x7f;
      serial_bn = BN_bin2bn (serial, sizeof serial, NULL);
    }
  ok = ok && serial_bn != NULL && X509_set_version (cert, 2) == 1 &&
       BN_to_ASN1_INTEGER (serial_bn, X509_get_serialNumber (cert)) != NULL &&
       X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *) "tke-softunit", -1, -1, 0) == 1 &&
       X509_set_subject_name (cert, name) == 1 && X509_set_issuer_name (cert, name) == 1 &&
       X509_gmtime_adj (X509_getm_notBefore (cert), -3600) != NULL &&
       X509_gmtime_adj (X509_getm_notAfter (cert), 3650L * 86400) != NULL &&
       X509_set_pubkey (cert, key) == 1;
  if (ok)
    {
      X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
      san = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_alt_name,
                                 "DNS:localhost,IP:127.0.0.1,IP:::1");
      ok = san != NULL && X509_add_ext (cert, san, -1) == 1;
    }
  ok = ok && X509_sign (cert, key, EVP_sha256 ()) > 0 && PEM_write_bio_X509 (bio, cert) == 1 &&
       PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL) == 1 &&
       BIO_get_mem_ptr (bio, &mem) == 1;
  if (ok)
    ok = write_private_file (path, mem->data, mem->length, error);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                 "The TLS certificate of the service could not be created: OpenSSL or the "
                 "system's random number generator failed. Start the service again once "
                 "that is fixed.");
  if (mem != NULL)
    OPENSSL_cleanse (mem->data, mem->length);
  BIO_free (bio);
  X509_EXTENSION_free (san);
  BN_free (serial_bn);
  X509_NAME_free (name);
  X509_free (cert);
  return ok;
}

static char *
certificate_fingerprint (GTlsCertificate *tls)
{
  g_autoptr (GByteArray) der = NULL;

  g_object_get (tls, "certificate", &der, NULL);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
}

static const char service_schema[] =
    "CREATE TABLE IF NOT EXISTS units (position INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
    " instance TEXT NOT NULL, type TEXT NOT NULL, location TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS service (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

static gboolean
create_state (TkeSoftunitService *self, const TkeSoftunitConfig *config, sqlite3 *db,
              GError **error)
{
  g_autofree char *tls_path = g_build_filename (self->state_dir, "tls.pem", NULL);
  g_autofree char *units_dir = g_build_filename (self->state_dir, "units", NULL);
  g_autofree char *api_path = g_build_filename (self->state_dir, "api-key.sha256", NULL);
  g_autofree char *api_hex = NULL;
  g_autofree char *host = NULL;
  g_auto (GStrv) instance_names = NULL;
  guint8 raw[32];
  sqlite3_stmt *stmt = NULL;
  guint position = 0;

  tke_softunit_config_make_names (config, &host, &instance_names);
  if (!create_tls_identity (tls_path, error))
    return FALSE;
  if (g_mkdir_with_parents (units_dir, 0700) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "%s can't be created (%s).", units_dir,
                   g_strerror (errno));
      return FALSE;
    }

  /* The API key is printed once and stored only as its SHA-256. */
  if (RAND_bytes (raw, sizeof raw) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   "The service's API key could not be made: the system's random number "
                   "generator failed. Start the service again once that is fixed.");
      return FALSE;
    }
  self->api_key = tke_b64url_encode (raw, sizeof raw);
  OPENSSL_cleanse (raw, sizeof raw);
  EVP_Digest (self->api_key, strlen (self->api_key), self->api_key_hash, NULL, EVP_sha256 (), NULL);
  api_hex = tke_hex_encode (self->api_key_hash, sizeof self->api_key_hash);
  if (!write_private_file (api_path, api_hex, strlen (api_hex), error))
    return FALSE;

  if (!tke_softunit_store_exec (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO units (position, id, instance, type, location)"
                          " VALUES (?, ?, ?, ?, ?)",
                          -1, &stmt, NULL) != SQLITE_OK)
    return tke_softunit_store_set_error (db, error, "creating the unit list");
  for (guint i = 0; i < config->instances->len; i++)
    {
      TkeSoftunitInstanceConfig *instance = config->instances->pdata[i];
      guint n = instance->operational_units + instance->failover_units;

      for (guint u = 0; u < n; u++)
        {
          g_autofree char *id = g_uuid_string_random ();
          g_autofree char *file = g_strconcat (id, ".db", NULL);
          g_autofree char *path = g_build_filename (units_dir, file, NULL);
          const char *type = u < instance->operational_units ? "OPERATIONAL" : "FAILOVER";
          g_autofree char *location =
              g_strdup_printf ("[%s].[%s].[%u].[%u]", config->region, host, i + 1, u + 1);
          TkeSoftunitUnit *unit = tke_softunit_unit_create (
              path, self->service_key, id, instance_names[i], type, location, error);

          if (unit == NULL)
            {
              sqlite3_finalize (stmt);
              tke_softunit_store_exec (db, "ROLLBACK", NULL);
              return FALSE;
            }
          g_ptr_array_add (self->units, unit);
          sqlite3_reset (stmt);
          if (sqlite3_bind_int (stmt, 1, position++) != SQLITE_OK ||
              sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
              sqlite3_bind_text (stmt, 3, instance_names[i], -1, SQLITE_TRANSIENT) != SQLITE_OK ||
              sqlite3_bind_text (stmt, 4, type, -1, SQLITE_STATIC) != SQLITE_OK ||
              sqlite3_bind_text (stmt, 5, location, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
              sqlite3_step (stmt) != SQLITE_DONE)
            {
              sqlite3_finalize (stmt);
              tke_softunit_store_exec (db, "ROLLBACK", NULL);
              return tke_softunit_store_set_error (db, error, "creating the unit list");
            }
        }
    }
  sqlite3_finalize (stmt);
  if (sqlite3_prepare_v2 (db, "INSERT OR REPLACE INTO service (key, value) VALUES ('region', ?)",
                          -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_bind_text (stmt, 1, config->region, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_DONE)
    {
      sqlite3_finalize (stmt);
      tke_softunit_store_exec (db, "ROLLBACK", NULL);
      return tke_softunit_store_set_error (db, error, "creating the unit list");
    }
  sqlite3_finalize (stmt);
  return tke_softunit_store_exec (db, "COMMIT", error);
}

static gboolean
open_state (TkeSoftunitService *self, sqlite3 *db, GError **error)
{
  g_autofree char *api_path = g_build_filename (self->state_dir, "api-key.sha256", NULL);
  g_autofree char *api_hex = NULL;
  sqlite3_stmt *stmt = NULL;
  gsize len = 0;

  if (!g_file_get_contents (api_path, &api_hex, &len, error))
    return FALSE;
  g_strstrip (api_hex);
  if (strlen (api_hex) != 64)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE, "%s does not hold a SHA-256 in hex.",
                   api_path);
      return FALSE;
    }
  for (guint i = 0; i < 32; i++)
    {
      int hi = g_ascii_xdigit_value (api_hex[2 * i]),
          lo = g_ascii_xdigit_value (api_hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                       "%s does not hold a SHA-256 in hex.", api_path);
          return FALSE;
        }
      self->api_key_hash[i] = hi << 4 | lo;
    }

  if (sqlite3_prepare_v2 (db, "SELECT id FROM units ORDER BY position", -1, &stmt, NULL) !=
      SQLITE_OK)
    return tke_softunit_store_set_error (db, error, "reading the unit list");
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *file =
          g_strconcat ((const char *) sqlite3_column_text (stmt, 0), ".db", NULL);
      g_autofree char *path = g_build_filename (self->state_dir, "units", file, NULL);
      TkeSoftunitUnit *unit = tke_softunit_unit_open (path, self->service_key, error);

      if (unit == NULL)
        {
          sqlite3_finalize (stmt);
          return FALSE;
        }
      g_ptr_array_add (self->units, unit);
    }
  sqlite3_finalize (stmt);
  if (sqlite3_prepare_v2 (db, "SELECT value FROM service WHERE key = 'region'", -1, &stmt, NULL) ==
          SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_free (self->region);
      self->region = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

/* GObject ----------------------------------------------------------------------------------- */

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Temporary state directories still in use: removed at exit when their owner never freed the
 * service (an app quitting with the demo world alive). */
G_LOCK_DEFINE_STATIC (temporary_dirs);
static GPtrArray *temporary_dirs;

static void
remove_temporary_dirs_at_exit (void)
{
  G_LOCK (temporary_dirs);
  for (guint i = 0; temporary_dirs != NULL && i < temporary_dirs->len; i++)
    remove_tree (temporary_dirs->pdata[i]);
  G_UNLOCK (temporary_dirs);
}

static void
register_temporary_dir (const char *dir, gboolean add)
{
  G_LOCK (temporary_dirs);
  if (temporary_dirs == NULL)
    {
      temporary_dirs = g_ptr_array_new_with_free_func (g_free);
      atexit (remove_temporary_dirs_at_exit);
    }
  if (add)
    g_ptr_array_add (temporary_dirs, g_strdup (dir));
  else
    for (guint i = 0; i < temporary_dirs->len; i++)
      if (g_str_equal (temporary_dirs->pdata[i], dir))
        {
          g_ptr_array_remove_index_fast (temporary_dirs, i);
          break;
        }
  G_UNLOCK (temporary_dirs);
}

static void
tke_softunit_service_finalize (GObject *object)
{
  TkeSoftunitService *self = TKE_SOFTUNIT_SERVICE (object);

  tke_softunit_service_stop (self);
  g_clear_pointer (&self->units_by_id, g_hash_table_unref);
  g_clear_pointer (&self->units, g_ptr_array_unref);
  if (self->temporary && self->state_dir != NULL)
    {
      remove_tree (self->state_dir);
      register_temporary_dir (self->state_dir, FALSE);
    }
  g_clear_pointer (&self->state_dir, g_free);
  g_clear_pointer (&self->listen_host, g_free);
  g_clear_pointer (&self->service_key, tke_secret_free);
  g_clear_pointer (&self->instance_names, g_ptr_array_unref);
  g_clear_pointer (&self->sockets, g_hash_table_unref);
  g_clear_pointer (&self->region, g_free);
  if (self->api_key != NULL)
    tke_wipe_string_free (g_steal_pointer (&self->api_key));
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_object (&self->tls);
  g_clear_pointer (&self->url, g_free);
  g_mutex_clear (&self->start_lock);
  g_cond_clear (&self->start_cond);

  G_OBJECT_CLASS (tke_softunit_service_parent_class)->finalize (object);
}

static void
tke_softunit_service_class_init (TkeSoftunitServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_softunit_service_finalize;
}

static void
tke_softunit_service_init (TkeSoftunitService *self)
{
  self->units = g_ptr_array_new_with_free_func (g_object_unref);
  self->units_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->instance_names = g_ptr_array_new_with_free_func (g_free);
  self->sockets = g_hash_table_new (NULL, NULL);
  g_mutex_init (&self->start_lock);
  g_cond_init (&self->start_cond);
}

TkeSoftunitService *
tke_softunit_service_new (const TkeSoftunitConfig *config, GError **error)
{
  g_autoptr (TkeSoftunitService) self = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *tls_path = NULL;
  sqlite3 *db;
  gboolean ok;
  sqlite3_stmt *stmt = NULL;
  int n_units = 0;

  g_return_val_if_fail (config != NULL, NULL);

  if (!tke_softunit_config_validate ((TkeSoftunitConfig *) config, error))
    return NULL;
  self = g_object_new (TKE_TYPE_SOFTUNIT_SERVICE, NULL);
  self->state_dir = g_strdup (config->state_dir);
  self->listen_host = g_strdup (config->listen_host);
  self->listen_port = config->listen_port;
  self->region = g_strdup (config->region);
  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                   "The state directory %s can't be created (%s).", self->state_dir,
                   g_strerror (errno));
      return NULL;
    }

  key_path = g_build_filename (self->state_dir, "service.key", NULL);
  db_path = g_build_filename (self->state_dir, "service.db", NULL);
  tls_path = g_build_filename (self->state_dir, "tls.pem", NULL);
  db = tke_softunit_store_open (db_path, service_schema, error);
  if (db == NULL)
    return NULL;
  if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM units", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    n_units = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);

  /* The unit list is written last at creation: without it the state was never complete. */
  self->is_new = n_units == 0;
  self->service_key = tke_softunit_service_key_load (key_path, self->is_new, error);
  ok = self->service_key != NULL &&
       (self->is_new ? create_state (self, config, db, error) : open_state (self, db, error));
  sqlite3_close (db);
  if (!ok)
    return NULL;

  self->tls = g_tls_certificate_new_from_file (tls_path, error);
  if (self->tls == NULL)
    return NULL;
  self->fingerprint = certificate_fingerprint (self->tls);
  for (guint i = 0; i < self->units->len; i++)
    {
      TkeSoftunitUnit *unit = self->units->pdata[i];
      const char *instance = tke_softunit_unit_get_instance (unit);

      g_hash_table_insert (self->units_by_id, (gpointer) tke_softunit_unit_get_id (unit), unit);
      if (!g_ptr_array_find_with_equal_func (self->instance_names, instance, g_str_equal, NULL))
        g_ptr_array_add (self->instance_names, g_strdup (instance));
    }
  return g_steal_pointer (&self);
}

TkeSoftunitService *
tke_softunit_service_new_ephemeral (guint operational, guint failover, GError **error)
{
  g_autoptr (TkeSoftunitConfig) config = tke_softunit_config_new ();
  g_autofree char *dir = g_dir_make_tmp ("tke-softunit-XXXXXX", error);
  TkeSoftunitService *self;

  if (dir == NULL)
    return NULL;
  config->state_dir = g_strdup (dir);
  config->listen_port = 0;
  tke_softunit_config_set_units (config, operational, failover);
  self = tke_softunit_service_new (config, error);
  if (self == NULL)
    {
      remove_tree (dir);
      return NULL;
    }
  self->temporary = TRUE;
  register_temporary_dir (dir, TRUE);
  return self;
}

/* HTTP -------------------------------------------------------------------------------------- */

static void
set_json_response (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, text, strlen (text));
}

static char *
error_body (TkeUnitErrorCode code, const char *message)
{
  json_t *body = json_pack ("{s:{s:s, s:s}}", "error", "code", tke_unit_error_code_to_string (code),
                            "message", message);
  char *text = json_dumps (body, JSON_COMPACT);
  char *out = g_strdup (text);

  free (text);
  json_decref (body);
  return out;
}

static void
set_error_response (SoupServerMessage *msg, TkeUnitErrorCode code, const char *message)
{
  g_autofree char *text = error_body (code, message);

  set_json_response (msg, tke_unit_error_code_http_status (code), text);
}

static gboolean
is_authorized (TkeSoftunitService *self, SoupServerMessage *msg)
{
  const char *header =
      soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");
  guint8 hash[32];

  if (header == NULL || !g_str_has_prefix (header, "Bearer "))
    return FALSE;
  header += strlen ("Bearer ");
  EVP_Digest (header, strlen (header), hash, NULL, EVP_sha256 (), NULL);
  return CRYPTO_memcmp (hash, self->api_key_hash, sizeof hash) == 0;
}

static void
on_socket_finalized (gpointer data, GObject *where_the_object_was)
{
  TkeSoftunitService *self = data;

  g_hash_table_remove (self->sockets, where_the_object_was);
}

static void
track_socket (TkeSoftunitService *self, GSocket *socket)
{
  if (socket == NULL || g_hash_table_contains (self->sockets, socket))
    return;
  g_hash_table_add (self->sockets, socket);
  g_object_weak_ref (G_OBJECT (socket), on_socket_finalized, self);
}

/* Connections are accepted here rather than by libsoup, so that each is tracked before its TLS
 * handshake starts; libsoup then reads requests from the TLS stream. */
static gboolean
on_incoming (GSocketService *acceptor, GSocketConnection *connection, GObject *source_object,
             gpointer user_data)
{
  TkeSoftunitService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  GSocket *socket = g_socket_connection_get_socket (connection);

  track_socket (self, socket);
  local = g_socket_get_local_address (socket, NULL);
  remote = g_socket_get_remote_address (socket, NULL);
  tls = g_tls_server_connection_new (G_IO_STREAM (connection), self->tls, &error);
  if (tls == NULL || local == NULL || remote == NULL ||
      !soup_server_accept_iostream (self->server, tls, local, remote, &error))
    {
      g_warning ("tke-softunit: a connection could not be set up: %s",
                 error != NULL ? error->message : "no address");
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
    }
  return TRUE;
}

static void
close_tracked_sockets (TkeSoftunitService *self)
{
  GHashTableIter iter;
  gpointer socket;

  g_hash_table_iter_init (&iter, self->sockets);
  while (g_hash_table_iter_next (&iter, &socket, NULL))
    {
      g_object_weak_unref (socket, on_socket_finalized, self);
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
      g_hash_table_iter_remove (&iter);
    }
}

/* A body without Content-Length (chunked) is collected here, not by libsoup, and only up to
 * the limit: an endless body must not be buffered before it is refused. */
#define BODY_KEY      "tke-body"
#define TOO_LARGE_KEY "tke-body-too-large"

static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  GByteArray *collected = g_object_get_data (G_OBJECT (msg), BODY_KEY);

  if (collected == NULL)
    return;
  if (collected->len + g_bytes_get_size (chunk) > TKE_SOFTUNIT_MAX_BODY)
    {
      g_object_set_data (G_OBJECT (msg), TOO_LARGE_KEY, GINT_TO_POINTER (TRUE));
      g_object_set_data (G_OBJECT (msg), BODY_KEY, NULL);
      set_error_response (msg, TKE_UNIT_ERROR_TOO_LARGE,
                          "The request body is larger than 1 MiB, the most a unit accepts.");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "close");
      return;
    }
  g_byte_array_append (collected, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
}

/* Before the body is read: refuse what is too big or unauthorized without reading it. */
static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  TkeSoftunitService *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_get_content_length (headers) > TKE_SOFTUNIT_MAX_BODY)
    {
      set_error_response (msg, TKE_UNIT_ERROR_TOO_LARGE,
                          "The request body is larger than 1 MiB, the most a unit accepts.");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "close");
      return;
    }
  if (!is_authorized (self, msg))
    {
      set_error_response (msg, TKE_UNIT_ERROR_UNAUTHORIZED,
                          "The request lacks the service's API key (Authorization: Bearer KEY).");
      return;
    }
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
    {
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      g_object_set_data_full (G_OBJECT (msg), BODY_KEY, g_byte_array_new (),
                              (GDestroyNotify) g_byte_array_unref);
      g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), NULL);
    }
}

static json_t *
instances_json (TkeSoftunitService *self)
{
  json_t *instances = json_array ();

  for (guint i = 0; i < self->instance_names->len; i++)
    {
      const char *name = self->instance_names->pdata[i];
      json_t *units = json_array ();

      for (guint u = 0; u < self->units->len; u++)
        if (g_str_equal (tke_softunit_unit_get_instance (self->units->pdata[u]), name))
          json_array_append_new (units, tke_softunit_unit_get_summary (self->units->pdata[u]));
      json_array_append_new (instances, json_pack ("{s:s, s:s, s:o}", "name", name, "region",
                                                   self->region, "units", units));
    }
  return json_pack ("{s:o}", "instances", instances);
}

static void
job_set_json (Job *job, guint status, json_t *value)
{
  char *text = json_dumps (value, JSON_COMPACT);

  job->status = status;
  job->response = g_strdup (text);
  free (text);
  json_decref (value);
}

static void
job_set_error (Job *job, const GError *error)
{
  TkeUnitErrorCode code =
      error->domain == TKE_UNIT_ERROR ? (TkeUnitErrorCode) error->code : TKE_UNIT_ERROR_INTERNAL;

  job->status = tke_unit_error_code_http_status (code);
  job->response = error_body (code, error->message);
}

static json_t *
parse_body_object (Job *job, GError **error)
{
  json_t *value = NULL;

  if (job->body != NULL)
    value = json_loadb (g_bytes_get_data (job->body, NULL), g_bytes_get_size (job->body),
                        JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (value))
    {
      json_decref (value);
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                   "The request body must be a JSON object.");
      return NULL;
    }
  return value;
}

static void
handle_key_storage (Job *job, TkeSoftunitUnit *unit, guint n_parts)
{
  g_autoptr (GError) error = NULL;
  json_auto_t *body = NULL;

  if (!g_str_equal (job->method, "POST"))
    {
      g_set_error (&error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                   "Key storage calls are POST requests.");
      job_set_error (job, error);
      return;
    }
  body = parse_body_object (job, &error);
  if (body == NULL)
    {
      job_set_error (job, error);
      return;
    }
  if (n_parts == 3)
    {
      json_t *count = json_object_get (body, "count");
      json_t *result;

      if (count != NULL && !json_is_integer (count))
        g_set_error (&error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                     "count must be a whole number.");
      else
        {
          result = tke_softunit_unit_create_keys (
              unit, count != NULL ? (guint) CLAMP (json_integer_value (count), 0, G_MAXUINT) : 1,
              &error);
          if (result != NULL)
            {
              job_set_json (job, 201, result);
              return;
            }
        }
    }
  else
    {
      const char *kid = job->parts[3];
      gboolean encrypt = g_str_equal (job->parts[4], "encrypt");
      const char *field = encrypt ? "plaintext" : "ciphertext";
      g_autoptr (GBytes) in = NULL;
      g_autoptr (GBytes) out = NULL;

      in = tke_b64url_decode (json_string_value (json_object_get (body, field)), NULL);
      if (in == NULL)
        g_set_error (&error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                     "The body needs \"%s\" in base64url.", field);
      else
        out = encrypt ? tke_softunit_unit_key_encrypt (unit, kid, in, &error)
                      : tke_softunit_unit_key_decrypt (unit, kid, in, &error);
      if (out != NULL)
        {
          g_autofree char *b64 =
              tke_b64url_encode (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
          job_set_json (job, 200, json_pack ("{s:s}", encrypt ? "ciphertext" : "plaintext", b64));
          if (!encrypt)
            OPENSSL_cleanse ((void *) g_bytes_get_data (out, NULL), g_bytes_get_size (out));
          return;
        }
    }
  job_set_error (job, error);
}

static void run_job (gpointer data, gpointer user_data);

static gboolean
finish_job (gpointer data)
{
  Job *job = data;

  set_json_response (job->msg, job->status, job->response);
  soup_server_message_unpause (job->msg);
  g_object_unref (job->msg);
  g_strfreev (job->parts);
  g_free (job->method);
  g_clear_pointer (&job->body, g_bytes_unref);
  g_free (job->response);
  g_free (job);
  return G_SOURCE_REMOVE;
}

static void
run_job (gpointer data, gpointer user_data)
{
  Job *job = data;
  TkeSoftunitService *self = job->self;
  guint n = g_strv_length (job->parts);
  g_autoptr (GError) error = NULL;
  TkeSoftunitUnit *unit = NULL;
  gboolean is_get = g_str_equal (job->method, "GET");

  if (n == 1 && g_str_equal (job->parts[0], "instances") && is_get)
    {
      job_set_json (job, 200, instances_json (self));
      goto done;
    }
  if (n >= 2 && g_str_equal (job->parts[0], "units"))
    unit = g_hash_table_lookup (self->units_by_id, job->parts[1]);
  if (unit == NULL)
    {
      g_set_error (&error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_NOT_FOUND,
                   n >= 2 && g_str_equal (job->parts[0], "units")
                       ? "This service has no crypto unit with that id: list the instances again."
                       : "There is no such endpoint; see docs/unit-api.md.");
      job_set_error (job, error);
      goto done;
    }
  if (n == 2 && is_get)
    job_set_json (job, 200, tke_softunit_unit_get_state (unit));
  else if (n == 3 && g_str_equal (job->parts[2], "commands") && g_str_equal (job->method, "POST"))
    {
      json_t *result =
          tke_softunit_unit_execute (unit, job->body ? g_bytes_get_data (job->body, NULL) : NULL,
                                     job->body ? g_bytes_get_size (job->body) : 0, &error);

      if (result != NULL)
        job_set_json (job, 200, result);
      else
        job_set_error (job, error);
    }
  else if (n == 3 && g_str_equal (job->parts[2], "audit") && is_get)
    {
      json_t *result = tke_softunit_unit_get_audit (unit, &error);

      if (result != NULL)
        job_set_json (job, 200, result);
      else
        job_set_error (job, error);
    }
  else if ((n == 3 && g_str_equal (job->parts[2], "keys")) ||
           (n == 5 && g_str_equal (job->parts[2], "keys") &&
            (g_str_equal (job->parts[4], "encrypt") || g_str_equal (job->parts[4], "decrypt"))))
    handle_key_storage (job, unit, n);
  else
    {
      g_set_error (&error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_NOT_FOUND,
                   "There is no such endpoint or method; see docs/unit-api.md.");
      job_set_error (job, error);
    }

done:
  g_main_context_invoke (self->context, finish_job, job);
}

static void
server_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  TkeSoftunitService *self = user_data;
  SoupMessageBody *body;
  Job *job;

  /* The early handler has already answered what it refused. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  if (!is_authorized (self, msg))
    {
      set_error_response (msg, TKE_UNIT_ERROR_UNAUTHORIZED,
                          "The request lacks the service's API key (Authorization: Bearer KEY).");
      return;
    }
  body = soup_server_message_get_request_body (msg);
  if (body->length > TKE_SOFTUNIT_MAX_BODY || g_object_get_data (G_OBJECT (msg), TOO_LARGE_KEY))
    {
      set_error_response (msg, TKE_UNIT_ERROR_TOO_LARGE,
                          "The request body is larger than 1 MiB, the most a unit accepts.");
      return;
    }
  if (self->pool == NULL)
    {
      set_error_response (msg, TKE_UNIT_ERROR_INTERNAL,
                          "The service is stopping; send the request again once it is back.");
      return;
    }
  if (!g_str_has_prefix (path, "/v1/"))
    {
      set_error_response (msg, TKE_UNIT_ERROR_NOT_FOUND,
                          "There is no such endpoint; the API lives under /v1/.");
      return;
    }

  job = g_new0 (Job, 1);
  /* No reference: stop () (and so finalize) waits for every job, and a job dropping the last
   * reference on the server thread would make that thread join itself. */
  job->self = self;
  job->msg = g_object_ref (msg);
  job->method = g_strdup (soup_server_message_get_method (msg));
  job->parts = g_strsplit (path + strlen ("/v1/"), "/", 6);
  if (g_object_get_data (G_OBJECT (msg), BODY_KEY) != NULL)
    {
      GByteArray *collected = g_object_get_data (G_OBJECT (msg), BODY_KEY);

      if (collected->len > 0)
        job->body = g_bytes_new (collected->data, collected->len);
    }
  else if (body->length > 0)
    job->body = soup_message_body_flatten (body);
  soup_server_message_pause (msg);
  g_thread_pool_push (self->pool, job, NULL);
}

static gpointer
server_thread (gpointer data)
{
  TkeSoftunitService *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autoptr (GSocketAddress) socket_address = NULL;

  g_main_context_push_thread_default (self->context);
  self->server =
      soup_server_new ("tls-certificate", self->tls, "server-header", "tke-softunit", NULL);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, server_handler, self, NULL);
  address = g_inet_address_new_from_string (self->listen_host);
  if (address == NULL)
    {
      GResolver *resolver = g_resolver_get_default ();
      GList *list = g_resolver_lookup_by_name (resolver, self->listen_host, NULL, &error);

      if (list != NULL)
        address = g_object_ref (list->data);
      g_resolver_free_addresses (list);
      g_object_unref (resolver);
    }
  if (address != NULL)
    {
      g_autoptr (GSocket) socket = NULL;

      /* A command fans out to every unit at once, each on its own connection: with the default
       * backlog of 10, the SYNs beyond it are dropped and retried a second or more later. */
      socket_address = g_inet_socket_address_new (address, self->listen_port);
      socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                             G_SOCKET_PROTOCOL_TCP, &error);
      if (socket != NULL)
        {
          g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
          self->acceptor = g_socket_service_new ();
          g_signal_connect (self->acceptor, "incoming", G_CALLBACK (on_incoming), self);
          if (g_socket_bind (socket, socket_address, TRUE, &error) &&
              g_socket_listen (socket, &error) &&
              g_socket_listener_add_socket (G_SOCKET_LISTENER (self->acceptor), socket, NULL,
                                            &error))
            self->listener = g_object_ref (socket);
        }
    }
  if (error == NULL && self->listener != NULL)
    {
      g_autoptr (GSocketAddress) bound = g_socket_get_local_address (self->listener, &error);

      if (bound != NULL)
        {
          g_autofree char *host = g_inet_address_to_string (
              g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)));
          guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

          self->url = strchr (host, ':') != NULL ? g_strdup_printf ("https://[%s]:%u", host, port)
                                                 : g_strdup_printf ("https://%s:%u", host, port);
        }
    }

  g_mutex_lock (&self->start_lock);
  self->start_error = g_steal_pointer (&error);
  self->start_done = TRUE;
  g_cond_signal (&self->start_cond);
  g_mutex_unlock (&self->start_lock);

  if (self->start_error == NULL)
    g_main_loop_run (self->loop);

  while (g_main_context_iteration (self->context, FALSE))
    ;
  /* The listening socket first, so that a client retrying on a new connection is refused
   * rather than left in the backlog of a socket nobody accepts from any more; then every
   * connection, whether it has sent a request or is still in its handshake. */
  if (self->acceptor != NULL)
    {
      g_socket_service_stop (self->acceptor);
      g_socket_listener_close (G_SOCKET_LISTENER (self->acceptor));
    }
  if (self->listener != NULL)
    g_socket_close (self->listener, NULL);
  g_clear_object (&self->listener);
  close_tracked_sockets (self);
  soup_server_disconnect (self->server);
  /* The shut-down connections fail their reads and writes and let go of the server. */
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_clear_object (&self->acceptor);
  g_clear_object (&self->server);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

gboolean
tke_softunit_service_start (TkeSoftunitService *self, GError **error)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), FALSE);
  g_return_val_if_fail (self->thread == NULL, FALSE);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->pool = g_thread_pool_new (run_job, self, MAX_WORKERS, FALSE, NULL);
  self->start_done = FALSE;
  self->thread = g_thread_new ("tke-softunit", server_thread, self);

  g_mutex_lock (&self->start_lock);
  while (!self->start_done)
    g_cond_wait (&self->start_cond, &self->start_lock);
  g_mutex_unlock (&self->start_lock);

  if (self->start_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&self->start_error),
                                  "The service can't listen on %s:%u: ", self->listen_host,
                                  self->listen_port);
      tke_softunit_service_stop (self);
      return FALSE;
    }
  return TRUE;
}

/* Runs on the server thread, so no handler can push a job meanwhile: requests in flight finish,
 * their answers are queued on this context and go out before the server disconnects. */
static gboolean
shut_down (gpointer data)
{
  TkeSoftunitService *self = data;

  g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, TRUE);
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

void
tke_softunit_service_stop (TkeSoftunitService *self)
{
  g_return_if_fail (TKE_IS_SOFTUNIT_SERVICE (self));

  if (self->thread == NULL)
    return;
  /* When the server never ran, nobody owns the context and this runs shut_down right here. */
  g_main_context_invoke (self->context, shut_down, self);
  g_thread_join (g_steal_pointer (&self->thread));
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->start_error);
  g_clear_pointer (&self->url, g_free);
}

const char *
tke_softunit_service_get_url (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return self->url;
}

const char *
tke_softunit_service_get_fingerprint (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return self->fingerprint;
}

const char *
tke_softunit_service_get_api_key (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return self->api_key;
}

gboolean
tke_softunit_service_is_new (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), FALSE);
  return self->is_new;
}

const char *
tke_softunit_service_get_state_dir (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return self->state_dir;
}

GPtrArray *
tke_softunit_service_get_units (TkeSoftunitService *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return self->units;
}

TkeSoftunitUnit *
tke_softunit_service_find_unit (TkeSoftunitService *self, const char *id)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_SERVICE (self), NULL);
  return g_hash_table_lookup (self->units_by_id, id);
}
