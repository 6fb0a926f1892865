/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SQLite opened for durability, and AES-GCM sealing of secrets at rest. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tke-error.h"
#include "tke-softunit-store.h"

gboolean
tke_softunit_store_set_error (sqlite3 *db, GError **error, const char *what)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "The unit's database failed while %s (%s).",
               what, db != NULL ? sqlite3_errmsg (db) : "no database");
  return FALSE;
}

gboolean
tke_softunit_store_exec (sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "The unit's database refused %.40s... (%s).",
                   sql, msg != NULL ? msg : sqlite3_errmsg (db));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

sqlite3 *
tke_softunit_store_open (const char *path, const char *schema, GError **error)
{
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED, "The database %s can't be opened (%s).",
                   path, db != NULL ? sqlite3_errmsg (db) : "out of memory");
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, 10000);
  if (!tke_softunit_store_exec (db,
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                "PRAGMA foreign_keys=ON;",
                                error) ||
      (schema != NULL && !tke_softunit_store_exec (db, schema, error)))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

gboolean
tke_softunit_store_check_integrity (sqlite3 *db, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    ok = g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") == 0;
  if (!ok)
    g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                 "The unit's database fails its integrity check: restore it from a backup.");
  sqlite3_finalize (stmt);
  return ok;
}

GBytes *
tke_softunit_seal (const TkeSecret *service_key, const char *aad, const guint8 *data, gsize len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  guint8 *out = g_malloc (12 + len + 16);
  int n = 0;

  g_return_val_if_fail (tke_secret_len (service_key) == TKE_SOFTUNIT_SERVICE_KEY_LEN, NULL);

  if (ctx == NULL || RAND_bytes (out, 12) != 1 ||
      EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, tke_secret_peek (service_key), out) != 1 ||
      EVP_EncryptUpdate (ctx, NULL, &n, (const guint8 *) aad, strlen (aad)) != 1 ||
      EVP_EncryptUpdate (ctx, out + 12, &n, data, len) != 1 ||
      EVP_EncryptFinal_ex (ctx, out + 12 + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) != 1)
    g_error ("AES-256-GCM is not available from OpenSSL");
  EVP_CIPHER_CTX_free (ctx);
  return g_bytes_new_take (out, 12 + len + 16);
}

TkeSecret *
tke_softunit_unseal (const TkeSecret *service_key, const char *aad, const guint8 *blob, gsize len,
                     GError **error)
{
  g_autoptr (TkeSecret) out = NULL;
  EVP_CIPHER_CTX *ctx;
  gboolean ok;
  int n = 0;

  if (blob == NULL || len < 12 + 16 + 1 || len > 65536)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "A sealed secret in the unit's database has a wrong size.");
      return NULL;
    }
  out = tke_secret_new (len - 28, error);
  if (out == NULL)
    return NULL;
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx != NULL &&
       EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, tke_secret_peek (service_key), blob) ==
           1 &&
       EVP_DecryptUpdate (ctx, NULL, &n, (const guint8 *) aad, strlen (aad)) == 1 &&
       EVP_DecryptUpdate (ctx, tke_secret_data (out), &n, blob + 12, len - 28) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *) (blob + len - 16)) == 1 &&
       EVP_DecryptFinal_ex (ctx, tke_secret_data (out) + n, &n) == 1;
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "A sealed secret does not open with the service key: the database and the "
                   "service key file do not belong together.");
      return NULL;
    }
  return g_steal_pointer (&out);
}

TkeSecret *
tke_softunit_service_key_load (const char *path, gboolean create, GError **error)
{
  g_autoptr (TkeSecret) key = NULL;
  guint8 buf[TKE_SOFTUNIT_SERVICE_KEY_LEN + 1];
  ssize_t got;
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 && errno == ENOENT && create)
    {
      key = tke_secret_new_random (TKE_SOFTUNIT_SERVICE_KEY_LEN, error);
      if (key == NULL)
        return NULL;
      fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 ||
          write (fd, tke_secret_peek (key), TKE_SOFTUNIT_SERVICE_KEY_LEN) !=
              TKE_SOFTUNIT_SERVICE_KEY_LEN ||
          fsync (fd) != 0)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_FAILED,
                       "The service key %s can't be written (%s).", path, g_strerror (errno));
          if (fd >= 0)
            close (fd);
          return NULL;
        }
      close (fd);
      return g_steal_pointer (&key);
    }
  if (fd < 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND, "The service key %s can't be read (%s).",
                   path, g_strerror (errno));
      return NULL;
    }
  got = read (fd, buf, sizeof buf);
  close (fd);
  if (got != TKE_SOFTUNIT_SERVICE_KEY_LEN)
    {
      OPENSSL_cleanse (buf, sizeof buf);
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   "The service key %s does not hold %d bytes.", path,
                   TKE_SOFTUNIT_SERVICE_KEY_LEN);
      return NULL;
    }
  key = tke_secret_new_from (buf, TKE_SOFTUNIT_SERVICE_KEY_LEN, error);
  OPENSSL_cleanse (buf, sizeof buf);
  return g_steal_pointer (&key);
}
