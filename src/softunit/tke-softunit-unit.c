/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The unit engine: verifies signed commands, applies them to the registers and commits each
 * command, with its audit entry, in one SQLite transaction. */
#include "config.h"

#include <string.h>

#include <jose/jose.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-softunit-command.h"
#include "tke-softunit-store.h"
#include "tke-softunit-unit.h"
#include "tke-unit-error.h"
#include "tke-unit-jose.h"
#include "tke-vp.h"

#define MK_LEN  32
#define GCM_IV  12
#define GCM_TAG 16

typedef enum
{
  NEW_EMPTY,
  NEW_FULL_UNCOMMITTED,
  NEW_FULL_COMMITTED,
} NewRegisterState;

typedef enum
{
  CURRENT_EMPTY,
  CURRENT_VALID,
} CurrentRegisterState;

typedef struct
{
  char *name;
  char *ski;
  GBytes *certificate;
  char *certificate_b64;
  EVP_PKEY *key;
  json_t *jwk;
  TkeCurve curve;
} Admin;

typedef struct
{
  gint64 counter;
  int sig_thr;
  int rev_thr;
  GPtrArray *admins; /* Admin, shared between copies (immutable once made) */
  NewRegisterState new_state;
  TkeSecret *new_key;
  CurrentRegisterState current_state;
  TkeSecret *current_key;
  EVP_PKEY *importer;
  json_t *importer_jws;
  guint key_count;
} UnitState;

struct _TkeSoftunitUnit
{
  GObject parent_instance;

  /* One command at a time per unit; units run in parallel. */
  GMutex lock;
  sqlite3 *db;
  TkeSecret *service_key;
  char *id;
  char *instance;
  char *type;
  char *location;
  EVP_PKEY *identity;
  char *identity_kid;
  json_t *identity_jwk;
  UnitState *state;
  /* What was last written, so that a command rewrites only what it changed. */
  EVP_PKEY *sealed_importer_of;
  GBytes *sealed_importer;
  sqlite3_stmt *update_stmt;
  sqlite3_stmt *audit_stmt;
  char *audit_head;
  gint64 audit_seq;
};

G_DEFINE_FINAL_TYPE (TkeSoftunitUnit, tke_softunit_unit, G_TYPE_OBJECT)

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS unit ("
    " id TEXT PRIMARY KEY, instance TEXT NOT NULL, type TEXT NOT NULL, location TEXT NOT NULL,"
    " counter INTEGER NOT NULL, sig_thr INTEGER NOT NULL, rev_thr INTEGER NOT NULL,"
    " new_state INTEGER NOT NULL, new_key BLOB, current_state INTEGER NOT NULL, current_key BLOB,"
    " identity_key BLOB NOT NULL, importer_key BLOB NOT NULL, importer_jws TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS admins (position INTEGER PRIMARY KEY, ski TEXT UNIQUE NOT NULL,"
    " name TEXT NOT NULL, certificate BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, wrapped BLOB NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL,"
    " hash TEXT NOT NULL);";

/* Admins ------------------------------------------------------------------------------------ */

static void
admin_free (gpointer data)
{
  Admin *admin = data;

  g_free (admin->name);
  g_free (admin->ski);
  g_bytes_unref (admin->certificate);
  g_free (admin->certificate_b64);
  EVP_PKEY_free (admin->key);
  json_decref (admin->jwk);
}

static Admin *
admin_ref (Admin *admin)
{
  return g_atomic_rc_box_acquire (admin);
}

static void
admin_unref (gpointer admin)
{
  g_atomic_rc_box_release_full (admin, admin_free);
}

/* From a self-signed certificate; the caller has checked nothing yet. */
static Admin *
admin_new_from_certificate (const guint8 *der, gsize len, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  Admin *admin;

  if (!tke_certificate_check_self_signed (der, len, &name, &key, error))
    return NULL;
  admin = g_atomic_rc_box_new0 (Admin);
  admin->name = g_steal_pointer (&name);
  admin->ski = tke_ec_key_get_ski (key, NULL);
  admin->certificate = g_bytes_new (der, len);
  admin->certificate_b64 = tke_b64url_encode (der, len);
  admin->jwk = tke_ec_key_to_jwk (key, FALSE, NULL);
  tke_ec_key_get_curve (key, &admin->curve, NULL);
  admin->key = g_steal_pointer (&key);
  return admin;
}

/* State ------------------------------------------------------------------------------------- */

static void
unit_state_free (UnitState *s)
{
  if (s == NULL)
    return;
  g_clear_pointer (&s->admins, g_ptr_array_unref);
  g_clear_pointer (&s->new_key, tke_secret_free);
  g_clear_pointer (&s->current_key, tke_secret_free);
  g_clear_pointer (&s->importer, EVP_PKEY_free);
  g_clear_pointer (&s->importer_jws, json_decref);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (UnitState, unit_state_free)

static UnitState *
unit_state_copy (const UnitState *s)
{
  UnitState *c = g_new0 (UnitState, 1);

  c->counter = s->counter;
  c->sig_thr = s->sig_thr;
  c->rev_thr = s->rev_thr;
  c->admins = g_ptr_array_new_with_free_func (admin_unref);
  for (guint i = 0; i < s->admins->len; i++)
    g_ptr_array_add (c->admins, admin_ref (s->admins->pdata[i]));
  c->new_state = s->new_state;
  c->new_key = s->new_key != NULL ? tke_secret_copy (s->new_key, NULL) : NULL;
  c->current_state = s->current_state;
  c->current_key = s->current_key != NULL ? tke_secret_copy (s->current_key, NULL) : NULL;
  if (s->importer != NULL)
    EVP_PKEY_up_ref (s->importer);
  c->importer = s->importer;
  c->importer_jws = json_incref (s->importer_jws);
  c->key_count = s->key_count;
  return c;
}

static Admin *
find_admin (UnitState *s, const char *ski)
{
  for (guint i = 0; i < s->admins->len; i++)
    {
      Admin *admin = s->admins->pdata[i];

      if (g_str_equal (admin->ski, ski))
        return admin;
    }
  return NULL;
}

/* A fresh importer key and its statement signed by the identity key. */
static gboolean
renew_importer (TkeSoftunitUnit *self, UnitState *s, GError **error)
{
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, error);
  json_auto_t *statement = NULL;
  json_t *jws;

  if (key == NULL)
    return FALSE;
  statement = json_pack ("{s:s, s:s, s:o, s:I}", "typ", TKE_IMPORTER_TYP, "unit", self->id, "key",
                         tke_ec_key_to_jwk (key, FALSE, NULL), "iat",
                         (json_int_t) (g_get_real_time () / G_USEC_PER_SEC));
  jws = tke_jws_sign_flattened (self->identity, self->identity_kid, statement, error);
  if (jws == NULL)
    return FALSE;
  g_clear_pointer (&s->importer, EVP_PKEY_free);
  g_clear_pointer (&s->importer_jws, json_decref);
  s->importer = g_steal_pointer (&key);
  s->importer_jws = jws;
  return TRUE;
}

static void
register_vp_hex (const TkeSecret *key, char out[TKE_VP_HEX_LEN + 1])
{
  guint8 vp[TKE_VP_LEN] = { 0 };
  g_autofree char *hex = NULL;

  if (key != NULL)
    tke_vp_compute (tke_secret_peek (key), tke_secret_len (key), vp);
  hex = tke_vp_to_hex (vp);
  memcpy (out, hex, TKE_VP_HEX_LEN + 1);
}

static const char *
new_state_name (NewRegisterState state)
{
  switch (state)
    {
      case NEW_EMPTY:
        return "Empty";
      case NEW_FULL_UNCOMMITTED:
        return "Full Uncommitted";
      case NEW_FULL_COMMITTED:
        return "Full Committed";
    }
  return "Empty";
}

/* Persistence ------------------------------------------------------------------------------- */

static gboolean
bind_sealed (TkeSoftunitUnit *self, sqlite3_stmt *stmt, int col, const char *what,
             const guint8 *data, gsize len)
{
  g_autofree char *aad = g_strconcat (self->id, "/", what, NULL);
  g_autoptr (GBytes) sealed = NULL;

  if (data == NULL)
    return sqlite3_bind_null (stmt, col) == SQLITE_OK;
  sealed = tke_softunit_seal (self->service_key, aad, data, len);
  return sqlite3_bind_blob (stmt, col, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed),
                            SQLITE_TRANSIENT) == SQLITE_OK;
}

static TkeSecret *
column_unsealed (TkeSoftunitUnit *self, sqlite3_stmt *stmt, int col, const char *what,
                 GError **error)
{
  g_autofree char *aad = g_strconcat (self->id, "/", what, NULL);

  return tke_softunit_unseal (self->service_key, aad, sqlite3_column_blob (stmt, col),
                              sqlite3_column_bytes (stmt, col), error);
}

static EVP_PKEY *
unseal_private_key (TkeSoftunitUnit *self, sqlite3_stmt *stmt, int col, const char *what,
                    GError **error)
{
  g_autoptr (TkeSecret) der = column_unsealed (self, stmt, col, what, error);

  if (der == NULL)
    return NULL;
  return tke_ec_key_from_private_der (tke_secret_peek (der), tke_secret_len (der), error);
}

static gboolean
same_admins (UnitState *a, UnitState *b)
{
  if (a == NULL || b == NULL || a->admins->len != b->admins->len)
    return FALSE;
  for (guint i = 0; i < a->admins->len; i++)
    if (a->admins->pdata[i] != b->admins->pdata[i])
      return FALSE;
  return TRUE;
}

/* The importer private key sealed for the database; sealed again only when it was renewed. */
static GBytes *
sealed_importer (TkeSoftunitUnit *self, UnitState *s, GError **error)
{
  g_autofree char *aad = NULL;
  g_autoptr (GBytes) der = NULL;

  if (self->sealed_importer_of == s->importer && self->sealed_importer != NULL)
    return g_bytes_ref (self->sealed_importer);
  der = tke_ec_key_to_private_der (s->importer, error);
  if (der == NULL)
    return NULL;
  aad = g_strconcat (self->id, "/importer", NULL);
  g_clear_pointer (&self->sealed_importer, g_bytes_unref);
  g_clear_pointer (&self->sealed_importer_of, EVP_PKEY_free);
  g_clear_pointer (&self->sealed_importer_of, EVP_PKEY_free);
  self->sealed_importer = tke_softunit_seal (self->service_key, aad, g_bytes_get_data (der, NULL),
                                             g_bytes_get_size (der));
  /* Held, so that a later key can't reuse the address and pass for this one. */
  EVP_PKEY_up_ref (s->importer);
  self->sealed_importer_of = s->importer;
  return g_bytes_ref (self->sealed_importer);
}

/* Writes the state row, and the admin table when it changed since prev; the caller holds a
 * transaction. */
static gboolean
persist_state (TkeSoftunitUnit *self, UnitState *s, UnitState *prev, gboolean insert,
               GError **error)
{
  g_autoptr (GBytes) importer = sealed_importer (self, s, error);
  g_autoptr (GBytes) identity_der = NULL;
  g_autofree char *importer_jws = NULL;
  sqlite3_stmt *stmt = NULL;
  gboolean ok;

  if (importer == NULL)
    return FALSE;
  {
    char *text = json_dumps (s->importer_jws, JSON_COMPACT);
    importer_jws = g_strdup (text);
    free (text);
  }
  if (insert)
    {
      identity_der = tke_ec_key_to_private_der (self->identity, error);
      if (identity_der == NULL)
        return FALSE;
      ok = sqlite3_prepare_v2 (
               self->db,
               "INSERT INTO unit (counter, sig_thr, rev_thr, new_state, new_key,"
               " current_state, current_key, importer_key, importer_jws, id,"
               " instance, type, location, identity_key)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
               -1, &stmt, NULL) == SQLITE_OK;
    }
  else
    {
      if (self->update_stmt == NULL &&
          sqlite3_prepare_v2 (self->db,
                              "UPDATE unit SET counter = ?1, sig_thr = ?2, rev_thr = ?3,"
                              " new_state = ?4, new_key = ?5, current_state = ?6,"
                              " current_key = ?7, importer_key = ?8, importer_jws = ?9"
                              " WHERE id = ?10",
                              -1, &self->update_stmt, NULL) != SQLITE_OK)
        return tke_softunit_store_set_error (self->db, error, "writing the unit state");
      stmt = self->update_stmt;
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      ok = TRUE;
    }
  ok = ok && sqlite3_bind_int64 (stmt, 1, s->counter) == SQLITE_OK &&
       sqlite3_bind_int (stmt, 2, s->sig_thr) == SQLITE_OK &&
       sqlite3_bind_int (stmt, 3, s->rev_thr) == SQLITE_OK &&
       sqlite3_bind_int (stmt, 4, s->new_state) == SQLITE_OK &&
       bind_sealed (self, stmt, 5, "new", s->new_key ? tke_secret_peek (s->new_key) : NULL,
                    s->new_key ? tke_secret_len (s->new_key) : 0) &&
       sqlite3_bind_int (stmt, 6, s->current_state) == SQLITE_OK &&
       bind_sealed (self, stmt, 7, "current",
                    s->current_key ? tke_secret_peek (s->current_key) : NULL,
                    s->current_key ? tke_secret_len (s->current_key) : 0) &&
       sqlite3_bind_blob (stmt, 8, g_bytes_get_data (importer, NULL), g_bytes_get_size (importer),
                          SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 9, importer_jws, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 10, self->id, -1, SQLITE_STATIC) == SQLITE_OK;
  if (ok && insert)
    ok = sqlite3_bind_text (stmt, 11, self->instance, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_text (stmt, 12, self->type, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_text (stmt, 13, self->location, -1, SQLITE_STATIC) == SQLITE_OK &&
         bind_sealed (self, stmt, 14, "identity", g_bytes_get_data (identity_der, NULL),
                      g_bytes_get_size (identity_der));
  ok = ok && sqlite3_step (stmt) == SQLITE_DONE;
  if (insert)
    sqlite3_finalize (stmt);
  else
    sqlite3_reset (stmt);
  if (!ok)
    return tke_softunit_store_set_error (self->db, error, "writing the unit state");

  if (same_admins (s, prev))
    return TRUE;
  if (!tke_softunit_store_exec (self->db, "DELETE FROM admins", error))
    return FALSE;
  if (sqlite3_prepare_v2 (self->db,
                          "INSERT INTO admins (position, ski, name, certificate)"
                          " VALUES (?, ?, ?, ?)",
                          -1, &stmt, NULL) != SQLITE_OK)
    return tke_softunit_store_set_error (self->db, error, "writing the administrators");
  for (guint i = 0; i < s->admins->len; i++)
    {
      Admin *admin = s->admins->pdata[i];

      sqlite3_reset (stmt);
      if (sqlite3_bind_int (stmt, 1, i) != SQLITE_OK ||
          sqlite3_bind_text (stmt, 2, admin->ski, -1, SQLITE_STATIC) != SQLITE_OK ||
          sqlite3_bind_text (stmt, 3, admin->name, -1, SQLITE_STATIC) != SQLITE_OK ||
          sqlite3_bind_blob (stmt, 4, g_bytes_get_data (admin->certificate, NULL),
                             g_bytes_get_size (admin->certificate), SQLITE_STATIC) != SQLITE_OK ||
          sqlite3_step (stmt) != SQLITE_DONE)
        {
          sqlite3_finalize (stmt);
          return tke_softunit_store_set_error (self->db, error, "writing the administrators");
        }
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

/* Appends an audit entry; the caller holds a transaction. Returns the new head. */
static char *
append_audit (TkeSoftunitUnit *self, const char *op, gint64 counter, const char *result,
              json_t *signers, const char *request_hash, GError **error)
{
  json_auto_t *entry = NULL;
  sqlite3_stmt *stmt = NULL;
  g_autofree char *hash = NULL;
  char *text;
  gboolean ok;

  entry = json_pack ("{s:s, s:I, s:I, s:s?, s:o, s:s, s:O, s:s?, s:s}", "unit", self->id, "seq",
                     (json_int_t) (self->audit_seq + 1), "time",
                     (json_int_t) (g_get_real_time () / G_USEC_PER_SEC), "op", op, "counter",
                     counter >= 0 ? json_integer (counter) : json_null (), "result", result,
                     "signers", signers, "request", request_hash, "prev",
                     self->audit_head != NULL ? self->audit_head : "");
  hash = tke_json_hash_b64 (entry);
  text = json_dumps (entry, JSON_COMPACT | JSON_SORT_KEYS);
  if (self->audit_stmt == NULL &&
      sqlite3_prepare_v2 (self->db, "INSERT INTO audit (seq, entry, hash) VALUES (?, ?, ?)", -1,
                          &self->audit_stmt, NULL) != SQLITE_OK)
    {
      free (text);
      tke_softunit_store_set_error (self->db, error, "appending to the audit log");
      return NULL;
    }
  stmt = self->audit_stmt;
  sqlite3_reset (stmt);
  ok = sqlite3_bind_int64 (stmt, 1, self->audit_seq + 1) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 2, text, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
       sqlite3_bind_text (stmt, 3, hash, -1, SQLITE_STATIC) == SQLITE_OK &&
       sqlite3_step (stmt) == SQLITE_DONE;
  sqlite3_reset (stmt);
  free (text);
  if (!ok)
    {
      tke_softunit_store_set_error (self->db, error, "appending to the audit log");
      return NULL;
    }
  return g_steal_pointer (&hash);
}

/* Key storage wrapping ---------------------------------------------------------------------- */

static gboolean
gcm_seal (EVP_CIPHER_CTX *ctx, const guint8 *key, const char *aad, const guint8 *data, gsize len,
          guint8 *out)
{
  int n = 0;

  return RAND_bytes (out, GCM_IV) == 1 &&
         EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, out) == 1 &&
         (aad == NULL ||
          EVP_EncryptUpdate (ctx, NULL, &n, (const guint8 *) aad, strlen (aad)) == 1) &&
         EVP_EncryptUpdate (ctx, out + GCM_IV, &n, data, len) == 1 &&
         EVP_EncryptFinal_ex (ctx, out + GCM_IV + n, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + GCM_IV + len) == 1;
}

static gboolean
gcm_open (EVP_CIPHER_CTX *ctx, const guint8 *key, const char *aad, const guint8 *blob, gsize len,
          guint8 *out)
{
  int n = 0;

  return len >= GCM_IV + GCM_TAG &&
         EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, key, blob) == 1 &&
         (aad == NULL ||
          EVP_DecryptUpdate (ctx, NULL, &n, (const guint8 *) aad, strlen (aad)) == 1) &&
         EVP_DecryptUpdate (ctx, out, &n, blob + GCM_IV, len - GCM_IV - GCM_TAG) == 1 &&
         EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
                              (void *) (blob + len - GCM_TAG)) == 1 &&
         EVP_DecryptFinal_ex (ctx, out + n, &n) == 1;
}

/* Rewraps every stored key from the old to the new master key; keys that no longer open under
 * the old key (made unusable by an earlier set immediate) stay as they are. */
static gboolean
rewrap_key_storage (TkeSoftunitUnit *self, const TkeSecret *old_key, const TkeSecret *new_key,
                    GError **error)
{
  sqlite3_stmt *select = NULL, *update = NULL;
  EVP_CIPHER_CTX *dec = EVP_CIPHER_CTX_new ();
  EVP_CIPHER_CTX *enc = EVP_CIPHER_CTX_new ();
  g_autoptr (TkeSecret) plain = tke_secret_new (MK_LEN, error);
  guint8 wrapped[GCM_IV + MK_LEN + GCM_TAG];
  gboolean ok = plain != NULL && dec != NULL && enc != NULL;
  int rc = SQLITE_DONE;

  ok = ok &&
       sqlite3_prepare_v2 (self->db, "SELECT kid, wrapped FROM keys", -1, &select, NULL) ==
           SQLITE_OK &&
       sqlite3_prepare_v2 (self->db, "UPDATE keys SET wrapped = ? WHERE kid = ?", -1, &update,
                           NULL) == SQLITE_OK;
  while (ok && (rc = sqlite3_step (select)) == SQLITE_ROW)
    {
      const char *kid = (const char *) sqlite3_column_text (select, 0);
      const guint8 *blob = sqlite3_column_blob (select, 1);
      gsize len = sqlite3_column_bytes (select, 1);

      if (len != sizeof wrapped ||
          !gcm_open (dec, tke_secret_peek (old_key), kid, blob, len, tke_secret_data (plain)))
        continue;
      if (!gcm_seal (enc, tke_secret_peek (new_key), kid, tke_secret_peek (plain), MK_LEN, wrapped))
        {
          ok = FALSE;
          break;
        }
      sqlite3_reset (update);
      ok = sqlite3_bind_blob (update, 1, wrapped, sizeof wrapped, SQLITE_STATIC) == SQLITE_OK &&
           sqlite3_bind_text (update, 2, kid, -1, SQLITE_STATIC) == SQLITE_OK &&
           sqlite3_step (update) == SQLITE_DONE;
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    ok = FALSE;
  sqlite3_finalize (select);
  sqlite3_finalize (update);
  EVP_CIPHER_CTX_free (dec);
  EVP_CIPHER_CTX_free (enc);
  if (!ok && (error == NULL || *error == NULL))
    tke_softunit_store_set_error (self->db, error, "rewrapping the key storage");
  return ok;
}

/* Refusals ---------------------------------------------------------------------------------- */

static gboolean refuse (GError **error, TkeUnitErrorCode code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
refuse (GError **error, TkeUnitErrorCode code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, TKE_UNIT_ERROR, code, message);
  return FALSE;
}

/* Signatures -------------------------------------------------------------------------------- */

/* RFC 7515 §5.2 on the administrator's key, parsed once when it was installed: signing input
 * b64url(protected) "." b64url(payload), R || S of the curve's size. */
static gboolean
verify_signature (TkeSoftunitCommand *cmd, TkeSoftunitSignature *sig, Admin *admin)
{
  const char *protected_b64 = json_string_value (json_object_get (sig->element, "protected"));
  const char *payload_b64 = json_string_value (json_object_get (cmd->jws, "payload"));
  g_autoptr (GBytes) raw =
      tke_b64url_decode (json_string_value (json_object_get (sig->element, "signature")), NULL);
  g_autoptr (GBytes) der = NULL;
  g_autofree char *input = NULL;

  if (raw == NULL || g_bytes_get_size (raw) != 2 * tke_curve_field_len (admin->curve))
    return FALSE;
  der = tke_ecdsa_raw_to_der (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), NULL);
  if (der == NULL)
    return FALSE;
  input = g_strconcat (protected_b64, ".", payload_b64, NULL);
  return tke_ecdsa_verify_data (admin->key, (const guint8 *) input, strlen (input),
                                g_bytes_get_data (der, NULL), g_bytes_get_size (der));
}

/* Checks every signature: each must come from an installed administrator and verify; returns
 * the distinct signers (an administrator who signed twice counts once). */
static gboolean
check_signatures (UnitState *s, TkeSoftunitCommand *cmd, GPtrArray *signers, GError **error)
{
  for (guint i = 0; i < cmd->signatures->len; i++)
    {
      TkeSoftunitSignature *sig = cmd->signatures->pdata[i];
      Admin *admin = find_admin (s, sig->kid);

      if (admin == NULL)
        return refuse (error, TKE_UNIT_ERROR_UNKNOWN_SIGNER,
                       "Signature %u was made by key %.16s..., which is not an administrator of "
                       "this unit: sign with an installed administrator's card.",
                       i + 1, sig->kid);
      if (!g_str_equal (sig->alg, tke_curve_jws_alg (admin->curve)) ||
          !verify_signature (cmd, sig, admin))
        return refuse (error, TKE_UNIT_ERROR_BAD_SIGNATURE,
                       "The signature of administrator %s does not verify: the command was "
                       "changed after signing or the signature is forged.",
                       admin->name);
      if (!g_ptr_array_find (signers, admin, NULL))
        g_ptr_array_add (signers, admin);
    }
  return TRUE;
}

static int
required_signatures (UnitState *s, TkeSoftunitCommand *cmd, gboolean imprint)
{
  const char *op = cmd->op;

  if (imprint)
    {
      if (g_str_equal (op, "thresholds.set"))
        {
          json_t *value = json_object_get (cmd->args, "signature");
          return json_is_integer (value) ? (int) CLAMP (json_integer_value (value), 0, 64) : 0;
        }
      return 0;
    }
  if (g_str_equal (op, "admin.remove"))
    return s->rev_thr;
  if (g_str_equal (op, "admin.add") || g_str_equal (op, "thresholds.set") ||
      g_str_equal (op, "mk.commit") || g_str_equal (op, "mk.rotate"))
    return s->sig_thr;
  return 1;
}

/* Operations -------------------------------------------------------------------------------- */

static gboolean
get_vp_arg (TkeSoftunitCommand *cmd, gboolean required, guint8 vp[TKE_VP_LEN], gboolean *present,
            GError **error)
{
  json_t *value = json_object_get (cmd->args, "vp");

  *present = value != NULL;
  if (value == NULL)
    return !required || refuse (error, TKE_UNIT_ERROR_MALFORMED,
                                "The command must carry the verification pattern (args.vp) the "
                                "operator confirmed.");
  if (!json_is_string (value) || !tke_vp_from_hex (json_string_value (value), vp, NULL))
    return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                   "args.vp must be a verification pattern of 64 hexadecimal digits.");
  return TRUE;
}

static gboolean
check_vp (const TkeSecret *key, const guint8 vp[TKE_VP_LEN], const char *what, GError **error)
{
  guint8 actual[TKE_VP_LEN];
  g_autofree char *want = NULL;
  g_autofree char *have = NULL;

  tke_vp_compute (tke_secret_peek (key), tke_secret_len (key), actual);
  if (memcmp (actual, vp, TKE_VP_LEN) == 0)
    return TRUE;
  want = tke_vp_to_hex (vp);
  have = tke_vp_to_hex (actual);
  return refuse (error, TKE_UNIT_ERROR_VP_MISMATCH,
                 "The %s register's verification pattern is %.8s..., not %.8s... as the command "
                 "says: this is not the key the operator confirmed.",
                 what, have, want);
}

static gboolean
op_admin_add (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  const char *name = NULL, *cert_b64 = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GError) local = NULL;
  Admin *admin;

  if (json_unpack (cmd->args, "{s:s, s:s}", "name", &name, "certificate", &cert_b64) != 0 ||
      (der = tke_b64url_decode (cert_b64, NULL)) == NULL)
    return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                   "admin.add needs args.name and args.certificate (base64url DER).");
  admin = admin_new_from_certificate (g_bytes_get_data (der, NULL), g_bytes_get_size (der), &local);
  if (admin == NULL)
    return refuse (error,
                   g_error_matches (local, TKE_ERROR, TKE_ERROR_CRYPTO)
                       ? TKE_UNIT_ERROR_BAD_SIGNATURE
                       : TKE_UNIT_ERROR_MALFORMED,
                   "The new administrator's certificate is not acceptable: %s", local->message);
  if (!g_str_equal (admin->name, name))
    {
      refuse (error, TKE_UNIT_ERROR_MALFORMED,
              "The certificate names the administrator \"%s\", not \"%s\".", admin->name, name);
      admin_unref (admin);
      return FALSE;
    }
  for (guint i = 0; i < s->admins->len; i++)
    {
      Admin *other = s->admins->pdata[i];

      if (g_str_equal (other->ski, admin->ski) || g_str_equal (other->name, admin->name))
        {
          refuse (error, TKE_UNIT_ERROR_ADMIN_EXISTS,
                  g_str_equal (other->ski, admin->ski)
                      ? "This key is already installed as administrator \"%s\"; one key can't be "
                        "two administrators."
                      : "An administrator named \"%s\" is already installed; choose another name.",
                  other->name);
          admin_unref (admin);
          return FALSE;
        }
    }
  if (s->admins->len >= TKE_SOFTUNIT_MAX_ADMINS)
    {
      admin_unref (admin);
      return refuse (error, TKE_UNIT_ERROR_TOO_MANY_ADMINS,
                     "The unit already has %d administrators, the most it can hold: remove one "
                     "first.",
                     TKE_SOFTUNIT_MAX_ADMINS);
    }
  g_ptr_array_add (s->admins, admin);
  return TRUE;
}

static gboolean
op_admin_remove (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  const char *ski = NULL;
  g_autofree char *lower = NULL;
  Admin *admin;
  guint remaining;

  if (json_unpack (cmd->args, "{s:s}", "ski", &ski) != 0)
    return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                   "admin.remove needs args.ski, the SKI of the administrator to remove.");
  lower = g_ascii_strdown (ski, -1);
  admin = find_admin (s, lower);
  if (admin == NULL)
    return refuse (error, TKE_UNIT_ERROR_NOT_FOUND,
                   "No administrator with SKI %.16s... is installed in this unit.", ski);
  remaining = s->admins->len - 1;
  if ((int) remaining < s->sig_thr || (int) remaining < s->rev_thr)
    return refuse (error, TKE_UNIT_ERROR_BELOW_THRESHOLD,
                   "Removing %s would leave %u administrators, fewer than the thresholds (%d "
                   "signature, %d revocation): lower the thresholds first.",
                   admin->name, remaining, s->sig_thr, s->rev_thr);
  g_ptr_array_remove (s->admins, admin);
  return TRUE;
}

static gboolean
op_thresholds_set (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  json_int_t sig = 0, rev = 0;

  if (json_unpack (cmd->args, "{s:I, s:I}", "signature", &sig, "revocation", &rev) != 0)
    return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                   "thresholds.set needs args.signature and args.revocation (whole numbers).");
  if (sig < 1 || sig > TKE_SOFTUNIT_MAX_ADMINS || rev < 1 || rev > TKE_SOFTUNIT_MAX_ADMINS)
    return refuse (error, TKE_UNIT_ERROR_MALFORMED, "Both thresholds must be between 1 and %d.",
                   TKE_SOFTUNIT_MAX_ADMINS);
  if (sig > (json_int_t) s->admins->len || rev > (json_int_t) s->admins->len)
    return refuse (error, TKE_UNIT_ERROR_THRESHOLD_EXCEEDS_ADMINS,
                   "A threshold of %" JSON_INTEGER_FORMAT " can never be met with %u "
                   "administrators: install more administrators or choose a lower threshold.",
                   MAX (sig, rev), s->admins->len);
  s->sig_thr = sig;
  s->rev_thr = rev;
  return TRUE;
}

static gboolean
op_mk_load (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  json_t *parts = json_object_get (cmd->args, "parts");
  g_autoptr (TkeSecret) key = NULL;
  json_auto_t *importer_jwk = NULL;
  guint8 vp[TKE_VP_LEN];
  gboolean has_vp = FALSE;
  size_t index;
  json_t *part;

  if (!json_is_array (parts) || json_array_size (parts) < 2 || json_array_size (parts) > 3)
    return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                   "mk.load needs args.parts: 2 or 3 key parts, each with its vp and JWEs.");
  if (!get_vp_arg (cmd, FALSE, vp, &has_vp, error))
    return FALSE;
  if (s->new_state != NEW_EMPTY)
    return refuse (error, TKE_UNIT_ERROR_REGISTER_STATE,
                   "The new master key register is %s: clear it before loading another key.",
                   new_state_name (s->new_state));

  importer_jwk = tke_ec_key_to_jwk (s->importer, TRUE, NULL);
  key = tke_secret_new (MK_LEN, error);
  if (key == NULL || importer_jwk == NULL)
    return FALSE;
  memset (tke_secret_data (key), 0, MK_LEN);
  json_array_foreach (parts, index, part)
    {
      const char *part_vp_hex = NULL;
      json_t *jwes = NULL, *jwe;
      guint8 part_vp[TKE_VP_LEN], actual[TKE_VP_LEN];
      g_autoptr (TkeSecret) clear = NULL;
      g_autoptr (GError) local = NULL;

      if (json_unpack (part, "{s:s, s:o}", "vp", &part_vp_hex, "jwe", &jwes) != 0 ||
          !json_is_object (jwes) || !tke_vp_from_hex (part_vp_hex, part_vp, NULL))
        return refuse (error, TKE_UNIT_ERROR_MALFORMED,
                       "Key part %zu needs a vp (64 hex digits) and a jwe object keyed by unit id.",
                       index + 1);
      jwe = json_object_get (jwes, self->id);
      if (jwe == NULL)
        return refuse (error, TKE_UNIT_ERROR_BAD_KEY_PART,
                       "Key part %zu carries no JWE for this unit: encrypt it to this unit's "
                       "importer key too.",
                       index + 1);
      clear = tke_key_part_decrypt (jwe, importer_jwk, &local);
      if (clear == NULL)
        return refuse (error, TKE_UNIT_ERROR_BAD_KEY_PART, "Key part %zu is not usable: %s",
                       index + 1, local->message);
      tke_vp_compute (tke_secret_peek (clear), tke_secret_len (clear), actual);
      if (memcmp (actual, part_vp, TKE_VP_LEN) != 0)
        return refuse (error, TKE_UNIT_ERROR_BAD_KEY_PART,
                       "Key part %zu decrypts to a part whose verification pattern differs from "
                       "the one the operator saw: it is not the part that was chosen.",
                       index + 1);
      for (guint i = 0; i < MK_LEN; i++)
        tke_secret_data (key)[i] ^= tke_secret_peek (clear)[i];
    }
  if (has_vp && !check_vp (key, vp, "loaded", error))
    return FALSE;

  g_clear_pointer (&s->new_key, tke_secret_free);
  s->new_key = g_steal_pointer (&key);
  s->new_state = NEW_FULL_UNCOMMITTED;
  /* Parts encrypted to the old importer key must never load again. */
  return renew_importer (self, s, error);
}

static gboolean
op_mk_commit (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  guint8 vp[TKE_VP_LEN];
  gboolean has_vp;

  if (!get_vp_arg (cmd, TRUE, vp, &has_vp, error))
    return FALSE;
  if (s->new_state != NEW_FULL_UNCOMMITTED)
    return refuse (error, TKE_UNIT_ERROR_REGISTER_STATE,
                   "Only a Full Uncommitted new master key register can be committed; it is %s.",
                   new_state_name (s->new_state));
  if (!check_vp (s->new_key, vp, "new master key", error))
    return FALSE;
  s->new_state = NEW_FULL_COMMITTED;
  return TRUE;
}

static void
promote_new_key (UnitState *s)
{
  g_clear_pointer (&s->current_key, tke_secret_free);
  s->current_key = g_steal_pointer (&s->new_key);
  s->current_state = CURRENT_VALID;
  s->new_state = NEW_EMPTY;
}

static gboolean
op_mk_set_immediate (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  guint8 vp[TKE_VP_LEN];
  gboolean has_vp;

  if (!get_vp_arg (cmd, TRUE, vp, &has_vp, error))
    return FALSE;
  if (s->new_state != NEW_FULL_COMMITTED)
    return refuse (error, TKE_UNIT_ERROR_REGISTER_STATE,
                   "Set immediate needs a Full Committed new master key register; it is %s.",
                   new_state_name (s->new_state));
  if (!check_vp (s->new_key, vp, "new master key", error))
    return FALSE;
  promote_new_key (s);
  return TRUE;
}

static gboolean
op_mk_rotate (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  guint8 vp[TKE_VP_LEN];
  gboolean has_vp;

  if (!get_vp_arg (cmd, FALSE, vp, &has_vp, error))
    return FALSE;
  if (s->new_state != NEW_FULL_COMMITTED || s->current_state != CURRENT_VALID)
    return refuse (error, TKE_UNIT_ERROR_REGISTER_STATE,
                   "Rotate needs a Full Committed new register and a Valid current register; "
                   "they are %s and %s.",
                   new_state_name (s->new_state),
                   s->current_state == CURRENT_VALID ? "Valid" : "Empty");
  if (has_vp && !check_vp (s->new_key, vp, "new master key", error))
    return FALSE;
  if (!rewrap_key_storage (self, s->current_key, s->new_key, error))
    return FALSE;
  promote_new_key (s);
  return TRUE;
}

static gboolean
op_zeroize (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  g_ptr_array_set_size (s->admins, 0);
  s->sig_thr = 0;
  s->rev_thr = 0;
  g_clear_pointer (&s->new_key, tke_secret_free);
  g_clear_pointer (&s->current_key, tke_secret_free);
  s->new_state = NEW_EMPTY;
  s->current_state = CURRENT_EMPTY;
  if (!tke_softunit_store_exec (self->db, "DELETE FROM keys", error))
    return FALSE;
  s->key_count = 0;
  return renew_importer (self, s, error);
}

static gboolean
apply_op (TkeSoftunitUnit *self, UnitState *s, TkeSoftunitCommand *cmd, GError **error)
{
  const char *op = cmd->op;

  if (g_str_equal (op, "admin.add"))
    return op_admin_add (self, s, cmd, error);
  if (g_str_equal (op, "admin.remove"))
    return op_admin_remove (self, s, cmd, error);
  if (g_str_equal (op, "thresholds.set"))
    return op_thresholds_set (self, s, cmd, error);
  if (g_str_equal (op, "mk.load"))
    return op_mk_load (self, s, cmd, error);
  if (g_str_equal (op, "mk.commit"))
    return op_mk_commit (self, s, cmd, error);
  if (g_str_equal (op, "mk.set_immediate"))
    return op_mk_set_immediate (self, s, cmd, error);
  if (g_str_equal (op, "mk.rotate"))
    return op_mk_rotate (self, s, cmd, error);
  if (g_str_equal (op, "mk.clear_new"))
    {
      g_clear_pointer (&s->new_key, tke_secret_free);
      s->new_state = NEW_EMPTY;
      return TRUE;
    }
  if (g_str_equal (op, "mk.clear_current"))
    {
      g_clear_pointer (&s->current_key, tke_secret_free);
      s->current_state = CURRENT_EMPTY;
      return TRUE;
    }
  if (g_str_equal (op, "zeroize"))
    return op_zeroize (self, s, cmd, error);
  return refuse (error, TKE_UNIT_ERROR_MALFORMED, "The operation %s is not known.", op);
}

/* Checks a parsed command against the unit and applies it to a copy of the state. */
static UnitState *
run_command (TkeSoftunitUnit *self, TkeSoftunitCommand *cmd, GPtrArray *signers, GError **error)
{
  g_autoptr (UnitState) s = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 counter = tke_softunit_command_counter_for (cmd, self->id);
  gboolean imprint = self->state->sig_thr == 0;
  int required;

  if (counter < 0)
    return refuse (error, TKE_UNIT_ERROR_NOT_A_TARGET,
                   "This command was not addressed to unit %s: select the unit and sign again.",
                   self->id),
           NULL;
  if (now > cmd->exp)
    return refuse (error, TKE_UNIT_ERROR_EXPIRED,
                   "The command expired %" G_GINT64_FORMAT " seconds ago: sign it again.",
                   now - cmd->exp),
           NULL;
  if (cmd->iat > now + TKE_SOFTUNIT_CLOCK_SKEW)
    return refuse (error, TKE_UNIT_ERROR_EXPIRED,
                   "The command was issued %" G_GINT64_FORMAT " seconds in the future: check "
                   "the workstation's clock.",
                   cmd->iat - now),
           NULL;
  if (counter != self->state->counter)
    return refuse (error, TKE_UNIT_ERROR_BAD_COUNTER,
                   "The command was signed for transaction counter %" G_GINT64_FORMAT
                   " but the unit is at %" G_GINT64_FORMAT
                   ": it is a replay or another command came first. Read the unit again and "
                   "sign again.",
                   counter, self->state->counter),
           NULL;
  if (imprint && g_str_has_prefix (cmd->op, "mk."))
    return refuse (error, TKE_UNIT_ERROR_IMPRINT_MODE,
                   "The unit is in imprint mode: set the signature thresholds before working "
                   "with master keys."),
           NULL;
  if (!check_signatures (self->state, cmd, signers, error))
    return NULL;
  required = required_signatures (self->state, cmd, imprint);
  if ((int) signers->len < required)
    return refuse (error, TKE_UNIT_ERROR_NOT_ENOUGH_SIGNATURES,
                   "%s needs %d administrator signatures here; the command carries %u from "
                   "different administrators.",
                   cmd->op, required, signers->len),
           NULL;

  s = unit_state_copy (self->state);
  if (!apply_op (self, s, cmd, error))
    return NULL;
  s->counter++;
  return g_steal_pointer (&s);
}

/* Public state ------------------------------------------------------------------------------ */

static json_t *
state_to_json (TkeSoftunitUnit *self, UnitState *s)
{
  json_t *admins = json_array ();
  char new_vp[TKE_VP_HEX_LEN + 1], current_vp[TKE_VP_HEX_LEN + 1];

  for (guint i = 0; i < s->admins->len; i++)
    {
      Admin *admin = s->admins->pdata[i];
      const char *cert = admin->certificate_b64;

      json_array_append_new (admins, json_pack ("{s:s, s:s, s:s, s:s}", "name", admin->name, "ski",
                                                admin->ski, "curve", tke_curve_name (admin->curve),
                                                "certificate", cert));
    }
  register_vp_hex (s->new_state != NEW_EMPTY ? s->new_key : NULL, new_vp);
  register_vp_hex (s->current_state == CURRENT_VALID ? s->current_key : NULL, current_vp);
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:I, s:{s:i, s:i}, s:o, s:{s:{s:s, s:s}, "
                    "s:{s:s, s:s}}, s:O, s:O, s:{s:i}}",
                    "id", self->id, "instance", self->instance, "type", self->type, "location",
                    self->location, "mode", s->sig_thr == 0 ? "imprint" : "normal", "counter",
                    (json_int_t) s->counter, "thresholds", "signature", s->sig_thr, "revocation",
                    s->rev_thr, "admins", admins, "registers", "new", "state",
                    new_state_name (s->new_state), "vp", new_vp, "current", "state",
                    s->current_state == CURRENT_VALID ? "Valid" : "Empty", "vp", current_vp,
                    "identity_key", self->identity_jwk, "importer_key", s->importer_jws,
                    "key_storage", "count", (int) s->key_count);
}

/* GObject ----------------------------------------------------------------------------------- */

static void
tke_softunit_unit_finalize (GObject *object)
{
  TkeSoftunitUnit *self = TKE_SOFTUNIT_UNIT (object);

  g_clear_pointer (&self->update_stmt, sqlite3_finalize);
  g_clear_pointer (&self->audit_stmt, sqlite3_finalize);
  g_clear_pointer (&self->db, sqlite3_close);
  g_clear_pointer (&self->identity_kid, g_free);
  g_clear_pointer (&self->sealed_importer, g_bytes_unref);
  g_clear_pointer (&self->service_key, tke_secret_free);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->instance, g_free);
  g_clear_pointer (&self->type, g_free);
  g_clear_pointer (&self->location, g_free);
  g_clear_pointer (&self->identity, EVP_PKEY_free);
  g_clear_pointer (&self->identity_jwk, json_decref);
  g_clear_pointer (&self->state, unit_state_free);
  g_clear_pointer (&self->audit_head, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tke_softunit_unit_parent_class)->finalize (object);
}

static void
tke_softunit_unit_class_init (TkeSoftunitUnitClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tke_softunit_unit_finalize;
}

static void
tke_softunit_unit_init (TkeSoftunitUnit *self)
{
  g_mutex_init (&self->lock);
}

static guint
count_stored_keys (TkeSoftunitUnit *self)
{
  sqlite3_stmt *stmt = NULL;
  guint count = 0;

  if (sqlite3_prepare_v2 (self->db, "SELECT count(*) FROM keys", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return count;
}

/* Public API -------------------------------------------------------------------------------- */

TkeSoftunitUnit *
tke_softunit_unit_create (const char *path, const TkeSecret *service_key, const char *id,
                          const char *instance, const char *type, const char *location,
                          GError **error)
{
  g_autoptr (TkeSoftunitUnit) self = g_object_new (TKE_TYPE_SOFTUNIT_UNIT, NULL);
  g_autoptr (UnitState) s = g_new0 (UnitState, 1);

  g_return_val_if_fail (path && service_key && id && instance && type && location, NULL);

  self->service_key = tke_secret_copy (service_key, error);
  if (self->service_key == NULL)
    return NULL;
  self->id = g_strdup (id);
  self->instance = g_strdup (instance);
  self->type = g_strdup (type);
  self->location = g_strdup (location);
  self->identity = tke_ec_key_generate (TKE_CURVE_P256, error);
  if (self->identity == NULL)
    return NULL;
  self->identity_jwk = tke_ec_key_to_jwk (self->identity, FALSE, error);
  self->identity_kid = tke_ec_key_get_ski (self->identity, error);
  if (self->identity_kid == NULL)
    return NULL;
  s->admins = g_ptr_array_new_with_free_func (admin_unref);
  if (!renew_importer (self, s, error))
    return NULL;

  self->db = tke_softunit_store_open (path, schema, error);
  if (self->db == NULL)
    return NULL;
  if (!tke_softunit_store_exec (self->db, "BEGIN IMMEDIATE", error))
    return NULL;
  if (!persist_state (self, s, NULL, TRUE, error))
    {
      tke_softunit_store_exec (self->db, "ROLLBACK", NULL);
      return NULL;
    }
  if (!tke_softunit_store_exec (self->db, "COMMIT", error))
    return NULL;
  self->state = g_steal_pointer (&s);
  return g_steal_pointer (&self);
}

TkeSoftunitUnit *
tke_softunit_unit_open (const char *path, const TkeSecret *service_key, GError **error)
{
  g_autoptr (TkeSoftunitUnit) self = g_object_new (TKE_TYPE_SOFTUNIT_UNIT, NULL);
  g_autoptr (UnitState) s = g_new0 (UnitState, 1);
  sqlite3_stmt *stmt = NULL;
  gboolean ok = FALSE;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND, "The unit database %s is missing.", path);
      return NULL;
    }
  self->service_key = tke_secret_copy (service_key, error);
  if (self->service_key == NULL)
    return NULL;
  self->db = tke_softunit_store_open (path, schema, error);
  if (self->db == NULL)
    return NULL;
  s->admins = g_ptr_array_new_with_free_func (admin_unref);

  if (sqlite3_prepare_v2 (self->db,
                          "SELECT id, instance, type, location, counter, sig_thr, rev_thr,"
                          " new_state, new_key, current_state, current_key, identity_key,"
                          " importer_key, importer_jws FROM unit",
                          -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    {
      json_error_t jerr;

      self->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      self->instance = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      self->type = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      self->location = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      s->counter = sqlite3_column_int64 (stmt, 4);
      s->sig_thr = sqlite3_column_int (stmt, 5);
      s->rev_thr = sqlite3_column_int (stmt, 6);
      s->new_state = CLAMP (sqlite3_column_int (stmt, 7), NEW_EMPTY, NEW_FULL_COMMITTED);
      s->current_state = CLAMP (sqlite3_column_int (stmt, 9), CURRENT_EMPTY, CURRENT_VALID);
      ok = self->id != NULL && self->instance != NULL && self->type != NULL &&
           self->location != NULL;
      if (ok && sqlite3_column_type (stmt, 8) != SQLITE_NULL)
        ok = (s->new_key = column_unsealed (self, stmt, 8, "new", error)) != NULL;
      if (ok && sqlite3_column_type (stmt, 10) != SQLITE_NULL)
        ok = (s->current_key = column_unsealed (self, stmt, 10, "current", error)) != NULL;
      ok = ok && (self->identity = unseal_private_key (self, stmt, 11, "identity", error)) != NULL;
      ok = ok && (s->importer = unseal_private_key (self, stmt, 12, "importer", error)) != NULL;
      if (ok)
        {
          s->importer_jws = json_loads ((const char *) sqlite3_column_text (stmt, 13), 0, &jerr);
          self->identity_jwk = tke_ec_key_to_jwk (self->identity, FALSE, error);
          ok = s->importer_jws != NULL && self->identity_jwk != NULL;
        }
    }
  sqlite3_finalize (stmt);
  if (!ok)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                     "The unit database %s has no readable unit state.", path);
      return NULL;
    }

  if (sqlite3_prepare_v2 (self->db, "SELECT certificate FROM admins ORDER BY position", -1, &stmt,
                          NULL) != SQLITE_OK)
    return tke_softunit_store_set_error (self->db, error, "reading the administrators"), NULL;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      Admin *admin = admin_new_from_certificate (sqlite3_column_blob (stmt, 0),
                                                 sqlite3_column_bytes (stmt, 0), error);
      if (admin == NULL)
        {
          sqlite3_finalize (stmt);
          return NULL;
        }
      g_ptr_array_add (s->admins, admin);
    }
  sqlite3_finalize (stmt);

  if (sqlite3_prepare_v2 (self->db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                          &stmt, NULL) != SQLITE_OK)
    return tke_softunit_store_set_error (self->db, error, "reading the audit log"), NULL;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      self->audit_seq = sqlite3_column_int64 (stmt, 0);
      self->audit_head = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
    }
  sqlite3_finalize (stmt);

  s->key_count = count_stored_keys (self);
  self->identity_kid = tke_ec_key_get_ski (self->identity, error);
  if (self->identity_kid == NULL)
    return NULL;
  self->state = g_steal_pointer (&s);
  return g_steal_pointer (&self);
}

const char *
tke_softunit_unit_get_id (TkeSoftunitUnit *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);
  return self->id;
}

const char *
tke_softunit_unit_get_instance (TkeSoftunitUnit *self)
{
  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);
  return self->instance;
}

gint64
tke_softunit_unit_get_counter (TkeSoftunitUnit *self)
{
  gint64 counter;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), -1);
  g_mutex_lock (&self->lock);
  counter = self->state->counter;
  g_mutex_unlock (&self->lock);
  return counter;
}

json_t *
tke_softunit_unit_get_summary (TkeSoftunitUnit *self)
{
  json_t *summary;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);
  g_mutex_lock (&self->lock);
  summary = json_pack ("{s:s, s:s, s:s, s:O, s:O}", "id", self->id, "type", self->type, "location",
                       self->location, "identity_key", self->identity_jwk, "importer_key",
                       self->state->importer_jws);
  g_mutex_unlock (&self->lock);
  return summary;
}

json_t *
tke_softunit_unit_get_state (TkeSoftunitUnit *self)
{
  json_t *state;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);
  g_mutex_lock (&self->lock);
  state = state_to_json (self, self->state);
  g_mutex_unlock (&self->lock);
  return state;
}

static json_t *
signer_list (GPtrArray *signers)
{
  json_t *list = json_array ();

  for (guint i = 0; i < signers->len; i++)
    json_array_append_new (list, json_string (((Admin *) signers->pdata[i])->ski));
  return list;
}

/* Writes a refusal to the audit log in its own transaction. */
static void
audit_refusal (TkeSoftunitUnit *self, TkeSoftunitCommand *cmd, const char *request_hash,
               const GError *refusal)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *head = NULL;
  json_auto_t *signers = json_array ();
  const char *code = refusal->domain == TKE_UNIT_ERROR
                         ? tke_unit_error_code_to_string (refusal->code)
                         : "INTERNAL";

  if (cmd != NULL)
    for (guint i = 0; i < cmd->signatures->len; i++)
      json_array_append_new (
          signers, json_string (((TkeSoftunitSignature *) cmd->signatures->pdata[i])->kid));
  if (!tke_softunit_store_exec (self->db, "BEGIN IMMEDIATE", &error))
    goto failed;
  head = append_audit (self, cmd != NULL ? cmd->op : NULL,
                       cmd != NULL ? tke_softunit_command_counter_for (cmd, self->id) : -1, code,
                       signers, request_hash, &error);
  if (head == NULL || !tke_softunit_store_exec (self->db, "COMMIT", &error))
    {
      tke_softunit_store_exec (self->db, "ROLLBACK", NULL);
      goto failed;
    }
  g_free (self->audit_head);
  self->audit_head = g_steal_pointer (&head);
  self->audit_seq++;
  return;

failed:
  g_warning ("Unit %s: a refused command could not be written to the audit log: %s", self->id,
             error->message);
}

json_t *
tke_softunit_unit_execute (TkeSoftunitUnit *self, const char *body, gsize len, GError **error)
{
  g_autoptr (TkeSoftunitCommand) cmd = NULL;
  g_autoptr (GPtrArray) signers = g_ptr_array_new ();
  g_autoptr (UnitState) next = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *head = NULL;
  g_autofree char *body_hash = NULL;
  json_auto_t *state = NULL;
  json_auto_t *receipt_payload = NULL;
  json_auto_t *signer_skis = NULL;
  json_t *receipt;
  g_autofree char *state_hash = NULL;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);

  cmd = tke_softunit_command_parse (body, len, &local);
  g_mutex_lock (&self->lock);
  if (cmd == NULL)
    {
      guint8 digest[32];

      EVP_Digest (body != NULL ? body : "", body != NULL ? len : 0, digest, NULL, EVP_sha256 (),
                  NULL);
      body_hash = tke_b64url_encode (digest, sizeof digest);
      goto refused;
    }

  /* Rotate and zeroize write key storage rows while they run: all of it, the new state and the
   * audit entry commit together or not at all. */
  if (!tke_softunit_store_exec (self->db, "BEGIN IMMEDIATE", &local))
    goto refused;
  next = run_command (self, cmd, signers, &local);
  if (next == NULL)
    {
      tke_softunit_store_exec (self->db, "ROLLBACK", NULL);
      goto refused;
    }
  signer_skis = signer_list (signers);
  if (!persist_state (self, next, self->state, FALSE, &local) ||
      (head = append_audit (self, cmd->op, tke_softunit_command_counter_for (cmd, self->id),
                            "ACCEPTED", signer_skis, cmd->request_hash, &local)) == NULL ||
      !tke_softunit_store_exec (self->db, "COMMIT", &local))
    {
      tke_softunit_store_exec (self->db, "ROLLBACK", NULL);
      g_mutex_unlock (&self->lock);
      g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                  "The command could not be stored, so it was not applied: ");
      return NULL;
    }
  g_clear_pointer (&self->state, unit_state_free);
  self->state = g_steal_pointer (&next);
  g_free (self->audit_head);
  self->audit_head = g_steal_pointer (&head);
  self->audit_seq++;

  state = state_to_json (self, self->state);
  state_hash = tke_json_hash_b64 (state);
  receipt_payload =
      json_pack ("{s:s, s:s, s:s, s:I, s:s, s:s, s:O, s:s, s:I}", "typ", TKE_RECEIPT_TYP, "unit",
                 self->id, "op", cmd->op, "counter", (json_int_t) self->state->counter, "state",
                 state_hash, "request", cmd->request_hash, "signers", signer_skis, "audit",
                 self->audit_head, "iat", (json_int_t) (g_get_real_time () / G_USEC_PER_SEC));
  receipt = tke_jws_sign_flattened (self->identity, self->identity_kid, receipt_payload, error);
  g_mutex_unlock (&self->lock);
  if (receipt == NULL)
    return NULL;
  return json_pack ("{s:O, s:o}", "state", state, "receipt", receipt);

refused:
  audit_refusal (self, cmd, cmd != NULL ? cmd->request_hash : body_hash, local);
  g_mutex_unlock (&self->lock);
  g_propagate_error (error, g_steal_pointer (&local));
  return NULL;
}

json_t *
tke_softunit_unit_get_audit (TkeSoftunitUnit *self, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  json_t *entries = json_array ();
  gboolean ok;
  int rc;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);

  g_mutex_lock (&self->lock);
  ok = sqlite3_prepare_v2 (self->db, "SELECT entry, hash FROM audit ORDER BY seq", -1, &stmt,
                           NULL) == SQLITE_OK;
  while (ok && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      json_t *entry = json_loads ((const char *) sqlite3_column_text (stmt, 0), 0, NULL);

      if (entry == NULL)
        {
          ok = FALSE;
          break;
        }
      json_object_set_new (entry, "hash",
                           json_string ((const char *) sqlite3_column_text (stmt, 1)));
      json_array_append_new (entries, entry);
    }
  sqlite3_finalize (stmt);
  if (!ok)
    tke_softunit_store_set_error (self->db, error, "reading the audit log");
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      json_decref (entries);
      return NULL;
    }
  return json_pack ("{s:s, s:o}", "unit", self->id, "entries", entries);
}

guint
tke_softunit_unit_get_key_count (TkeSoftunitUnit *self)
{
  guint count;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), 0);
  g_mutex_lock (&self->lock);
  count = self->state->key_count;
  g_mutex_unlock (&self->lock);
  return count;
}

json_t *
tke_softunit_unit_create_keys (TkeSoftunitUnit *self, guint count, GError **error)
{
  g_autoptr (TkeSecret) key = NULL;
  EVP_CIPHER_CTX *ctx = NULL;
  sqlite3_stmt *stmt = NULL;
  json_t *kids = NULL;
  guint8 wrapped[GCM_IV + MK_LEN + GCM_TAG];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean ok = TRUE;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);

  if (count < 1 || count > TKE_SOFTUNIT_MAX_KEYS_PER_REQUEST)
    {
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                   "Between 1 and %d keys can be created at a time.",
                   TKE_SOFTUNIT_MAX_KEYS_PER_REQUEST);
      return NULL;
    }
  key = tke_secret_new (MK_LEN, error);
  if (key == NULL)
    return NULL;

  g_mutex_lock (&self->lock);
  if (self->state->current_state != CURRENT_VALID)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_REGISTER_STATE,
                   "The current master key register is Empty: keys can be stored only under a "
                   "valid current master key.");
      return NULL;
    }
  ctx = EVP_CIPHER_CTX_new ();
  kids = json_array ();
  ok = ctx != NULL && tke_softunit_store_exec (self->db, "BEGIN IMMEDIATE", error) &&
       sqlite3_prepare_v2 (self->db, "INSERT INTO keys (kid, wrapped, created) VALUES (?, ?, ?)",
                           -1, &stmt, NULL) == SQLITE_OK;
  for (guint i = 0; ok && i < count; i++)
    {
      guint8 id[16];
      g_autofree char *kid = NULL;

      ok = RAND_bytes (id, sizeof id) == 1 && RAND_priv_bytes (tke_secret_data (key), MK_LEN) == 1;
      kid = tke_hex_encode (id, sizeof id);
      ok = ok &&
           gcm_seal (ctx, tke_secret_peek (self->state->current_key), kid, tke_secret_peek (key),
                     MK_LEN, wrapped) &&
           sqlite3_reset (stmt) == SQLITE_OK &&
           sqlite3_bind_text (stmt, 1, kid, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
           sqlite3_bind_blob (stmt, 2, wrapped, sizeof wrapped, SQLITE_TRANSIENT) == SQLITE_OK &&
           sqlite3_bind_int64 (stmt, 3, now) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_DONE;
      if (ok)
        json_array_append_new (kids, json_string (kid));
    }
  sqlite3_finalize (stmt);
  EVP_CIPHER_CTX_free (ctx);
  if (!ok || !tke_softunit_store_exec (self->db, "COMMIT", NULL))
    {
      if (error != NULL && *error == NULL)
        tke_softunit_store_set_error (self->db, error, "storing new keys");
      tke_softunit_store_exec (self->db, "ROLLBACK", NULL);
      g_mutex_unlock (&self->lock);
      json_decref (kids);
      return NULL;
    }
  self->state->key_count += count;
  g_mutex_unlock (&self->lock);
  return json_pack ("{s:o}", "kids", kids);
}

/* Unwraps a stored key under the current master key; the caller holds the lock. */
static TkeSecret *
unwrap_stored_key (TkeSoftunitUnit *self, const char *kid, GError **error)
{
  g_autoptr (TkeSecret) key = NULL;
  sqlite3_stmt *stmt = NULL;
  EVP_CIPHER_CTX *ctx;
  gboolean found = FALSE, ok = FALSE;

  if (sqlite3_prepare_v2 (self->db, "SELECT wrapped FROM keys WHERE kid = ?", -1, &stmt, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_text (stmt, 1, kid, -1, SQLITE_STATIC) != SQLITE_OK)
    {
      sqlite3_finalize (stmt);
      tke_softunit_store_set_error (self->db, error, "reading a stored key");
      return NULL;
    }
  key = tke_secret_new (MK_LEN, error);
  ctx = EVP_CIPHER_CTX_new ();
  if (key != NULL && ctx != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      ok = self->state->current_state == CURRENT_VALID &&
           sqlite3_column_bytes (stmt, 0) == GCM_IV + MK_LEN + GCM_TAG &&
           gcm_open (ctx, tke_secret_peek (self->state->current_key), kid,
                     sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0),
                     tke_secret_data (key));
    }
  sqlite3_finalize (stmt);
  EVP_CIPHER_CTX_free (ctx);
  if (key == NULL)
    return NULL;
  if (!found)
    {
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_NOT_FOUND,
                   "No key %s is stored in this unit.", kid);
      return NULL;
    }
  if (!ok)
    {
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_KEY_UNUSABLE,
                   "Key %s is wrapped under a master key that is no longer current: it can't be "
                   "used until that master key is current again.",
                   kid);
      return NULL;
    }
  return g_steal_pointer (&key);
}

GBytes *
tke_softunit_unit_key_encrypt (TkeSoftunitUnit *self, const char *kid, GBytes *plaintext,
                               GError **error)
{
  g_autoptr (TkeSecret) key = NULL;
  EVP_CIPHER_CTX *ctx;
  gsize len = g_bytes_get_size (plaintext);
  guint8 *out;
  gboolean ok;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);

  g_mutex_lock (&self->lock);
  key = unwrap_stored_key (self, kid, error);
  g_mutex_unlock (&self->lock);
  if (key == NULL)
    return NULL;
  out = g_malloc (GCM_IV + len + GCM_TAG);
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx != NULL &&
       gcm_seal (ctx, tke_secret_peek (key), NULL, g_bytes_get_data (plaintext, NULL), len, out);
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    {
      g_free (out);
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, "AES-GCM encryption failed.");
      return NULL;
    }
  return g_bytes_new_take (out, GCM_IV + len + GCM_TAG);
}

GBytes *
tke_softunit_unit_key_decrypt (TkeSoftunitUnit *self, const char *kid, GBytes *ciphertext,
                               GError **error)
{
  g_autoptr (TkeSecret) key = NULL;
  EVP_CIPHER_CTX *ctx;
  gsize len = g_bytes_get_size (ciphertext);
  guint8 *out;
  gboolean ok;

  g_return_val_if_fail (TKE_IS_SOFTUNIT_UNIT (self), NULL);

  if (len < GCM_IV + GCM_TAG)
    {
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_MALFORMED,
                   "A ciphertext is nonce (12 bytes), data and tag (16 bytes); this one is too "
                   "short.");
      return NULL;
    }
  g_mutex_lock (&self->lock);
  key = unwrap_stored_key (self, kid, error);
  g_mutex_unlock (&self->lock);
  if (key == NULL)
    return NULL;
  out = g_malloc (len - GCM_IV - GCM_TAG + 1);
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx != NULL &&
       gcm_open (ctx, tke_secret_peek (key), NULL, g_bytes_get_data (ciphertext, NULL), len, out);
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    {
      g_free (out);
      g_set_error (error, TKE_UNIT_ERROR, TKE_UNIT_ERROR_KEY_UNUSABLE,
                   "The ciphertext does not decrypt with key %s: it was made with another key or "
                   "changed.",
                   kid);
      return NULL;
    }
  return g_bytes_new_take (out, len - GCM_IV - GCM_TAG);
}

gboolean
tke_softunit_unit_check_integrity (TkeSoftunitUnit *self, GError **error)
{
  gboolean ok;

  g_mutex_lock (&self->lock);
  ok = tke_softunit_store_check_integrity (self->db, error);
  g_mutex_unlock (&self->lock);
  return ok;
}
