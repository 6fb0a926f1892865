/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TKE card profile: its objects, records and the order of writes of each step. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tke-card-profile.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-tlv.h"
#include "tke-text.h"

/* ykman's PIN-protected management key: flag in 5FFF00, key in 5FC109. */
#define PIVMAN_FLAG_MGMT_PROTECTED 0x02

#define RECORD_VERSION 1
#define GCM_NONCE_LEN  12
#define GCM_TAG_LEN    16
#define P256_POINT_LEN 65
#define HKDF_INFO      "OpenTKE key part v1"

#define CERT_DAYS (20 * 365)

static const guint8 default_mgmt_key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                             5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

void
tke_key_part_info_free (TkeKeyPartInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->description);
  g_free (info);
}

void
tke_card_info_free (TkeCardInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->description);
  g_free (info->admin_name);
  g_free (info->key_id);
  g_clear_pointer (&info->parts, g_ptr_array_unref);
  g_free (info);
}

static TkeKeyPartInfo *
key_part_info_copy (const TkeKeyPartInfo *info)
{
  TkeKeyPartInfo *copy = g_memdup2 (info, sizeof *info);

  copy->description = g_strdup (info->description);
  return copy;
}

static GPtrArray *
new_part_list (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) tke_key_part_info_free);
}

/* Which description is checked: each has its own sentences. */
typedef enum
{
  CARD_DESCRIPTION,
  KEY_PART_DESCRIPTION,
} DescriptionKind;

static gboolean
description_is_valid (const char *description, DescriptionKind kind, GError **error)
{
  if (description == NULL || strlen (description) > TKE_CARD_DESCRIPTION_MAX ||
      !g_utf8_validate (description, -1, NULL))
    {
      if (kind == CARD_DESCRIPTION)
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("The card description must be text of at most %d bytes."),
                     TKE_CARD_DESCRIPTION_MAX);
      else
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("The key part description must be text of at most %d bytes."),
                     TKE_CARD_DESCRIPTION_MAX);
      return FALSE;
    }
  for (const char *p = description; *p != '\0'; p = g_utf8_next_char (p))
    if (!tke_text_char_is_safe (g_utf8_get_char (p)))
      {
        if (kind == CARD_DESCRIPTION)
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("The card description may not hold control characters."));
        else
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("The key part description may not hold control characters."));
        return FALSE;
      }
  return TRUE;
}

gboolean
tke_card_profile_check_new_pin (const TkeSecret *pin, GError **error)
{
  gsize len;

  g_return_val_if_fail (pin != NULL, FALSE);

  len = tke_secret_len (pin);
  if (len < 6 || len > 8)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("A PIN has 6 to 8 digits; this one has %zu."), len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (tke_secret_peek (pin)[i]))
      {
        g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                     _ ("A PIN may hold only digits."));
        return FALSE;
      }
  return TRUE;
}

/* ---- the directory ---- */

static gboolean
directory_malformed (GError **error, const char *what)
{
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               /* TRANSLATORS: %s says what is wrong, such as "a part is listed twice". */
               _ ("The card's key part directory is damaged (%s): the card cannot be read by this "
                  "program."),
               what);
  return FALSE;
}

static char *
text_from_tlv (const TkeTlv *tlv)
{
  if (tlv->len > TKE_CARD_DESCRIPTION_MAX || memchr (tlv->value, '\0', tlv->len) != NULL ||
      !g_utf8_validate ((const char *) tlv->value, tlv->len, NULL))
    return NULL;
  /* The card is outside input: what it says is shown, never obeyed by a terminal. */
  return tke_text_escape ((const char *) tlv->value, tlv->len);
}

static TkeKeyPartInfo *
parse_entry (const TkeTlv *entry, GError **error)
{
  g_autoptr (TkeKeyPartInfo) info = g_new0 (TkeKeyPartInfo, 1);
  TkeTlv id, desc, created, vp;
  guint64 seconds = 0;

  if (!tke_tlv_find (entry->value, entry->len, 0x80, &id, error) ||
      !tke_tlv_find (entry->value, entry->len, 0x81, &desc, error) ||
      !tke_tlv_find (entry->value, entry->len, 0x82, &created, error) ||
      !tke_tlv_find (entry->value, entry->len, 0x83, &vp, error))
    return NULL;
  if (id.len != 1 || id.value[0] < 1 || id.value[0] > TKE_CARD_MAX_PARTS)
    return directory_malformed (error, _ ("a part number is out of range")), NULL;
  if (created.len != 8 || vp.len != TKE_VP_LEN)
    return directory_malformed (error, _ ("an entry has fields of the wrong size")), NULL;
  info->description = text_from_tlv (&desc);
  if (info->description == NULL)
    return directory_malformed (error, _ ("a description is not text")), NULL;
  info->id = id.value[0];
  for (guint i = 0; i < 8; i++)
    seconds = (seconds << 8) | created.value[i];
  if (seconds > G_MAXINT64)
    return directory_malformed (error, _ ("a creation time is out of range")), NULL;
  info->created = (gint64) seconds;
  memcpy (info->vp, vp.value, TKE_VP_LEN);
  return g_steal_pointer (&info);
}

GPtrArray *
tke_card_directory_parse (const guint8 *data, gsize len, guint *profile_version, char **description,
                          GError **error)
{
  g_autoptr (GPtrArray) parts = new_part_list ();
  g_autofree char *desc_text = NULL;
  gboolean seen[TKE_CARD_MAX_PARTS + 1] = { FALSE };
  TkeTlv version, desc, tlv;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (!tke_tlv_validate (data, len, error) || !tke_tlv_find (data, len, 0x80, &version, error) ||
      !tke_tlv_find (data, len, 0x81, &desc, error))
    return NULL;
  if (version.len != 1)
    return directory_malformed (error, _ ("the version has the wrong size")), NULL;
  if (version.value[0] != TKE_CARD_PROFILE_VERSION)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The card was written with card profile version %u, which this program "
                      "does not know: use a newer Open TKE."),
                   version.value[0]);
      return NULL;
    }
  desc_text = text_from_tlv (&desc);
  if (desc_text == NULL)
    return directory_malformed (error, _ ("the card description is not text")), NULL;

  while (len > 0)
    {
      TkeKeyPartInfo *info;

      if (!tke_tlv_next (&data, &len, &tlv, error))
        return NULL;
      if (tlv.tag != 0xA0)
        continue;
      info = parse_entry (&tlv, error);
      if (info == NULL)
        return NULL;
      if (seen[info->id])
        {
          tke_key_part_info_free (info);
          return directory_malformed (error, _ ("a part is listed twice")), NULL;
        }
      seen[info->id] = TRUE;
      g_ptr_array_add (parts, info);
    }

  if (profile_version != NULL)
    *profile_version = version.value[0];
  if (description != NULL)
    *description = g_steal_pointer (&desc_text);
  return g_steal_pointer (&parts);
}

GBytes *
tke_card_directory_build (const char *description, GPtrArray *parts)
{
  GByteArray *out = g_byte_array_new ();

  tke_tlv_append_byte (out, 0x80, TKE_CARD_PROFILE_VERSION);
  tke_tlv_append (out, 0x81, (const guint8 *) description, strlen (description));
  for (guint i = 0; parts != NULL && i < parts->len; i++)
    {
      const TkeKeyPartInfo *info = g_ptr_array_index (parts, i);
      g_autoptr (GByteArray) entry = g_byte_array_new ();
      guint8 created[8];

      for (guint b = 0; b < 8; b++)
        created[b] = ((guint64) info->created >> (8 * (7 - b))) & 0xFF;
      tke_tlv_append_byte (entry, 0x80, info->id);
      tke_tlv_append (entry, 0x81, (const guint8 *) info->description, strlen (info->description));
      tke_tlv_append (entry, 0x82, created, sizeof created);
      tke_tlv_append (entry, 0x83, info->vp, TKE_VP_LEN);
      tke_tlv_append (out, 0xA0, entry->data, entry->len);
    }
  return g_byte_array_free_to_bytes (out);
}

/* Reads the directory; *absent says whether the card simply has none (not initialized). */
static GPtrArray *
read_directory (TkePivClient *piv, char **description, gboolean *absent, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) contents = NULL;

  *absent = FALSE;
  contents = tke_piv_client_get_data (piv, TKE_CARD_OBJ_DIRECTORY, &local_error);
  if (contents == NULL)
    {
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        *absent = TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return tke_card_directory_parse (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents),
                                   NULL, description, error);
}

static GPtrArray *
read_directory_required (TkePivClient *piv, char **description, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean absent = FALSE;
  GPtrArray *parts = read_directory (piv, description, &absent, &local_error);

  if (parts == NULL && absent)
    g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND,
                 _ ("The card is not a TKE card yet: initialize it first."));
  else if (parts == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return parts;
}

/* ---- PIN and management key ---- */

static gboolean
verify_pin (TkePivClient *piv, const TkeSecret *pin, GError **error)
{
  if (pin != NULL)
    return tke_piv_client_verify (piv, TKE_PIV_PIN, pin, NULL, error);
  if (!tke_card_connection_has_pin_pad (tke_piv_client_get_connection (piv)))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("This reader has no PIN pad: type the PIN on the workstation."));
      return FALSE;
    }
  return tke_piv_client_verify_pin_pad (piv, TKE_PIV_PIN, NULL, error);
}

static gboolean
management_algorithm (TkePivClient *piv, TkePivAlgorithm *algorithm, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  TkePivMetadata md;

  *algorithm = TKE_PIV_ALG_3DES;
  if (!tke_piv_client_get_metadata (piv, TKE_PIV_SLOT_MANAGEMENT, &md, &local_error))
    {
      /* Cards before YubiKey 5.3 and other PIV cards have no GET METADATA: theirs is 3DES. */
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CARD_STATUS) ||
          g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  tke_piv_metadata_clear (&md);
  if (tke_piv_management_key_len (md.algorithm) > 0)
    *algorithm = md.algorithm;
  return TRUE;
}

/* The PIN-protected management key (the PIN verified already), or NULL without an error when
 * the card keeps none. */
static TkeSecret *
read_protected_key (TkePivClient *piv, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) pivman = NULL;
  g_autoptr (GBytes) printed = NULL;
  TkeTlv data, flags, protected_data, key;
  TkeSecret *secret;

  pivman = tke_piv_client_get_data (piv, TKE_PIV_OBJ_PIVMAN, &local_error);
  if (pivman == NULL)
    {
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        return NULL;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (!tke_tlv_find (g_bytes_get_data (pivman, NULL), g_bytes_get_size (pivman), 0x80, &data,
                     error))
    return NULL;
  if (!tke_tlv_find_optional (data.value, data.len, 0x81, &flags, error))
    return NULL;
  if (flags.len != 1 || !(flags.value[0] & PIVMAN_FLAG_MGMT_PROTECTED))
    return NULL;

  printed = tke_piv_client_get_data (piv, TKE_PIV_OBJ_PRINTED, &local_error);
  if (printed == NULL)
    {
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        return NULL;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  secret = NULL;
  if (tke_tlv_find (g_bytes_get_data (printed, NULL), g_bytes_get_size (printed), 0x88,
                    &protected_data, error) &&
      tke_tlv_find (protected_data.value, protected_data.len, 0x89, &key, error))
    {
      if (key.len != 16 && key.len != 24 && key.len != 32)
        g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                     _ ("The management key stored on the card has an impossible length."));
      else
        secret = tke_secret_new_from (key.value, key.len, error);
    }
  tke_wipe ((gpointer) g_bytes_get_data (printed, NULL), g_bytes_get_size (printed));
  return secret;
}

/* Authenticates with the management key, the PIN verified already. The stored key first; the
 * default key where none is stored or the stored one was never set (a card pulled during
 * initialization). */
static gboolean
authenticate_management (TkePivClient *piv, TkePivAlgorithm *algorithm_out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (TkeSecret) stored = NULL;
  g_autoptr (TkeSecret) fallback = NULL;
  TkePivAlgorithm algorithm;

  if (!management_algorithm (piv, &algorithm, error))
    return FALSE;
  if (algorithm_out != NULL)
    *algorithm_out = algorithm;
  stored = read_protected_key (piv, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (stored != NULL && tke_secret_len (stored) == tke_piv_management_key_len (algorithm) &&
      tke_piv_client_authenticate (piv, algorithm, stored, &local_error))
    return TRUE;
  /* The card refusing the key (CARD_STATUS) leads to the fallback; anything else is final. */
  if (local_error != NULL && !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CARD_STATUS))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_clear_error (&local_error);

  fallback = tke_secret_new_from (default_mgmt_key, sizeof default_mgmt_key, error);
  if (fallback == NULL)
    return FALSE;
  if (tke_secret_len (fallback) == tke_piv_management_key_len (algorithm) &&
      tke_piv_client_authenticate (piv, algorithm, fallback, &local_error))
    return TRUE;
  if (local_error != NULL && !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_CARD_STATUS))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_set_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS,
               _ ("The card's management key is neither stored on the card nor the default: "
                  "this card was set up by another program and cannot be written here."));
  return FALSE;
}

/* ---- certificates ---- */

static GBytes *
certificate_object (GBytes *der)
{
  GByteArray *out = g_byte_array_new ();

  tke_tlv_append (out, 0x70, g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  tke_tlv_append_byte (out, 0x71, 0x00); /* not compressed */
  tke_tlv_append (out, 0xFE, NULL, 0);   /* error detection code, empty */
  return g_byte_array_free_to_bytes (out);
}

static GBytes *
read_certificate_der (TkePivClient *piv, guint32 object_id, GError **error)
{
  g_autoptr (GBytes) contents = tke_piv_client_get_data (piv, object_id, error);
  TkeTlv cert;

  if (contents == NULL)
    return NULL;
  if (!tke_tlv_find (g_bytes_get_data (contents, NULL), g_bytes_get_size (contents), 0x70, &cert,
                     error))
    return NULL;
  return g_bytes_new (cert.value, cert.len);
}

/* A self-signed certificate for the card's key in slot: the TBS part built by OpenSSL (signed
 * first with a throwaway key to fill in the algorithm), signed again by the card. */
static GBytes *
card_certificate (TkePivClient *piv, guint8 slot, EVP_PKEY *pub, const char *cn, GError **error)
{
  g_autoptr (EVP_PKEY) throwaway = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GByteArray) body = g_byte_array_new ();
  g_autoptr (GByteArray) der = g_byte_array_new ();
  g_autoptr (GByteArray) bits = g_byte_array_new ();
  X509 *cert = NULL;
  X509_NAME *subject = NULL;
  BIGNUM *serial_bn = NULL;
  const X509_ALGOR *alg = NULL;
  unsigned char *tbs = NULL, *alg_der = NULL;
  int tbs_len = 0, alg_len = 0;
  guint8 serial[16], digest[32];
  unsigned int digest_len = 0;
  GBytes *result = NULL;

  throwaway = tke_ec_key_generate (TKE_CURVE_P256, error);
  if (throwaway == NULL || RAND_bytes (serial, sizeof serial) != 1)
    goto out;
  serial[0] &= 0x7F;

  cert = X509_new ();
  subject = X509_NAME_new ();
  serial_bn = BN_bin2bn (serial, sizeof serial, NULL);
  if (cert == NULL || subject == NULL || serial_bn == NULL || X509_set_version (cert, 2) != 1 ||
      BN_to_ASN1_INTEGER (serial_bn, X509_get_serialNumber (cert)) == NULL ||
      X509_NAME_add_entry_by_txt (subject, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1,
                                  0) != 1 ||
      X509_set_subject_name (cert, subject) != 1 || X509_set_issuer_name (cert, subject) != 1 ||
      X509_gmtime_adj (X509_getm_notBefore (cert), -60) == NULL ||
      X509_gmtime_adj (X509_getm_notAfter (cert), (long) CERT_DAYS * 86400) == NULL ||
      X509_set_pubkey (cert, pub) != 1 || X509_sign (cert, throwaway, EVP_sha256 ()) <= 0 ||
      (tbs_len = i2d_re_X509_tbs (cert, &tbs)) <= 0)
    goto crypto_failed;
  X509_get0_signature (NULL, &alg, cert);
  if (alg == NULL || (alg_len = i2d_X509_ALGOR (alg, &alg_der)) <= 0 ||
      EVP_Digest (tbs, tbs_len, digest, &digest_len, EVP_sha256 (), NULL) != 1)
    goto crypto_failed;

  signature =
      tke_piv_client_sign_digest (piv, slot, TKE_PIV_ALG_ECCP256, digest, digest_len, error);
  if (signature == NULL)
    goto out;

  /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature } */
  g_byte_array_append (bits, (const guint8[]){ 0x00 }, 1);
  g_byte_array_append (bits, g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  g_byte_array_append (body, tbs, tbs_len);
  g_byte_array_append (body, alg_der, alg_len);
  tke_tlv_append (body, 0x03, bits->data, bits->len);
  tke_tlv_append (der, 0x30, body->data, body->len);

  {
    const unsigned char *p = der->data;
    X509 *check = d2i_X509 (NULL, &p, der->len);
    gboolean ok = check != NULL && p == der->data + der->len && X509_verify (check, pub) == 1;

    X509_free (check);
    if (!ok)
      {
        g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                     _ ("The card's signature on its certificate does not verify: do not use "
                        "this card."));
        goto out;
      }
  }
  result = g_byte_array_free_to_bytes (g_steal_pointer (&der));
  goto out;

crypto_failed:
  g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("The certificate could not be built."));
out:
  ERR_clear_error ();
  OPENSSL_free (tbs);
  OPENSSL_free (alg_der);
  BN_free (serial_bn);
  X509_NAME_free (subject);
  X509_free (cert);
  return result;
}

static EVP_PKEY *
key_management_public_key (TkePivClient *piv, GError **error)
{
  g_autoptr (GBytes) der = read_certificate_der (piv, TKE_PIV_OBJ_CERT_9D, error);
  const unsigned char *p;
  X509 *cert;
  EVP_PKEY *key = NULL;

  if (der == NULL)
    return NULL;
  p = g_bytes_get_data (der, NULL);
  cert = d2i_X509 (NULL, &p, g_bytes_get_size (der));
  if (cert != NULL)
    key = X509_get_pubkey (cert);
  X509_free (cert);
  ERR_clear_error ();
  if (key == NULL || !tke_ec_key_get_curve (key, NULL, NULL))
    {
      EVP_PKEY_free (key);
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   _ ("The card's key-management certificate (5FC10B) is damaged."));
      return NULL;
    }
  return key;
}

/* ---- key part records ---- */

static TkeSecret *
derive_record_key (const TkeSecret *shared, const guint8 *ephemeral_point, GError **error)
{
  g_autoptr (TkeSecret) key = tke_secret_new (32, error);
  guint8 info[sizeof HKDF_INFO - 1 + P256_POINT_LEN];
  EVP_KDF *kdf;
  EVP_KDF_CTX *ctx;
  OSSL_PARAM params[4];
  gboolean ok;

  if (key == NULL)
    return NULL;
  memcpy (info, HKDF_INFO, sizeof HKDF_INFO - 1);
  memcpy (info + sizeof HKDF_INFO - 1, ephemeral_point, P256_POINT_LEN);
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (
      OSSL_KDF_PARAM_KEY, (void *) tke_secret_peek (shared), tke_secret_len (shared));
  params[2] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, info, sizeof info);
  params[3] = OSSL_PARAM_construct_end ();

  kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
  ctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  ok = ctx != NULL && EVP_KDF_derive (ctx, tke_secret_data (key), 32, params) == 1;
  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The key part's key could not be derived."));
      return NULL;
    }
  return g_steal_pointer (&key);
}

static TkeSecret *
host_ecdh (EVP_PKEY *mine, EVP_PKEY *peer, GError **error)
{
  g_autoptr (TkeSecret) shared = tke_secret_new (32, error);
  EVP_PKEY_CTX *ctx;
  size_t len = 32;
  gboolean ok;

  if (shared == NULL)
    return NULL;
  ctx = EVP_PKEY_CTX_new (mine, NULL);
  ok = ctx != NULL && EVP_PKEY_derive_init (ctx) == 1 &&
       EVP_PKEY_derive_set_peer (ctx, peer) == 1 &&
       EVP_PKEY_derive (ctx, tke_secret_data (shared), &len) == 1 && len == 32;
  EVP_PKEY_CTX_free (ctx);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The key agreement with the card's key failed."));
      return NULL;
    }
  return g_steal_pointer (&shared);
}

/* The record header (80 version, 81 id, 84 ephemeral point, 85 nonce): the AEAD's AAD. */
static void
append_record_header (GByteArray *out, guint id, const guint8 *point, const guint8 *nonce)
{
  tke_tlv_append_byte (out, 0x80, RECORD_VERSION);
  tke_tlv_append_byte (out, 0x81, id);
  tke_tlv_append (out, 0x84, point, P256_POINT_LEN);
  tke_tlv_append (out, 0x85, nonce, GCM_NONCE_LEN);
}

static GBytes *
seal_part (const TkeSecret *part, guint id, EVP_PKEY *card_key, GError **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (GBytes) point = NULL;
  g_autoptr (TkeSecret) shared = NULL;
  g_autoptr (TkeSecret) key = NULL;
  g_autoptr (GByteArray) record = g_byte_array_new ();
  guint8 nonce[GCM_NONCE_LEN];
  guint8 sealed[TKE_KEY_PART_LEN + GCM_TAG_LEN];
  EVP_CIPHER_CTX *ctx;
  int n = 0;
  gboolean ok;

  ephemeral = tke_ec_key_generate (TKE_CURVE_P256, error);
  if (ephemeral == NULL)
    return NULL;
  point = tke_ec_key_get_point (ephemeral, error);
  if (point == NULL)
    return NULL;
  if (g_bytes_get_size (point) != P256_POINT_LEN || RAND_bytes (nonce, sizeof nonce) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("The key part could not be encrypted."));
      return NULL;
    }
  shared = host_ecdh (ephemeral, card_key, error);
  if (shared == NULL)
    return NULL;
  key = derive_record_key (shared, g_bytes_get_data (point, NULL), error);
  if (key == NULL)
    return NULL;

  append_record_header (record, id, g_bytes_get_data (point, NULL), nonce);
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx != NULL && EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
       EVP_EncryptInit_ex (ctx, NULL, NULL, tke_secret_peek (key), nonce) == 1 &&
       EVP_EncryptUpdate (ctx, NULL, &n, record->data, record->len) == 1 &&
       EVP_EncryptUpdate (ctx, sealed, &n, tke_secret_peek (part), TKE_KEY_PART_LEN) == 1 &&
       n == TKE_KEY_PART_LEN && EVP_EncryptFinal_ex (ctx, sealed + n, &n) == 1 && n == 0 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, sealed + TKE_KEY_PART_LEN) == 1;
  EVP_CIPHER_CTX_free (ctx);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("The key part could not be encrypted."));
      return NULL;
    }
  tke_tlv_append (record, 0x86, sealed, sizeof sealed);
  return g_byte_array_free_to_bytes (g_steal_pointer (&record));
}

typedef struct
{
  guint id;
  const guint8 *point;
  const guint8 *nonce;
  const guint8 *sealed;
  gsize header_len; /* bytes before the 86 TLV: the AAD */
} Record;

static gboolean
parse_record (const guint8 *data, gsize len, Record *record, GError **error)
{
  const guint8 *p = data;
  gsize left = len;
  TkeTlv tlv;
  guint i = 0;
  const guint32 order[] = { 0x80, 0x81, 0x84, 0x85, 0x86 };

  /* Exactly these five TLVs in this order, each of its fixed size. */
  for (i = 0; i < G_N_ELEMENTS (order); i++)
    {
      if (i == 4)
        record->header_len = p - data;
      if (!tke_tlv_next (&p, &left, &tlv, error))
        return FALSE;
      if (tlv.tag != order[i])
        goto bad;
      switch (tlv.tag)
        {
          case 0x80:
            if (tlv.len != 1)
              goto bad;
            if (tlv.value[0] != RECORD_VERSION)
              {
                g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                             _ ("The key part was written in a record version this program does "
                                "not know: use a newer Open TKE."));
                return FALSE;
              }
            break;
          case 0x81:
            if (tlv.len != 1)
              goto bad;
            record->id = tlv.value[0];
            break;
          case 0x84:
            if (tlv.len != P256_POINT_LEN || tlv.value[0] != 0x04)
              goto bad;
            record->point = tlv.value;
            break;
          case 0x85:
            if (tlv.len != GCM_NONCE_LEN)
              goto bad;
            record->nonce = tlv.value;
            break;
          case 0x86:
            if (tlv.len != TKE_KEY_PART_LEN + GCM_TAG_LEN)
              goto bad;
            record->sealed = tlv.value;
            break;
        }
    }
  if (left != 0)
    goto bad;
  return TRUE;

bad:
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("The key part record on the card is damaged."));
  return FALSE;
}

static TkeSecret *
open_part (TkePivClient *piv, const guint8 *data, gsize len, guint id, GError **error)
{
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (TkeSecret) shared = NULL;
  g_autoptr (TkeSecret) key = NULL;
  g_autoptr (TkeSecret) part = NULL;
  EVP_CIPHER_CTX *ctx;
  Record record = { 0 };
  int n = 0, final_len = 0;
  gboolean ok;

  if (!parse_record (data, len, &record, error))
    return NULL;
  if (record.id != id)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: the first number is the key part that was read, the second
                    * the key part its record says it holds. */
                   _ ("The key part record %u on the card claims to be part %u."), id, record.id);
      return NULL;
    }
  ephemeral =
      tke_piv_public_key_from_point (TKE_PIV_ALG_ECCP256, record.point, P256_POINT_LEN, error);
  if (ephemeral == NULL)
    return NULL;
  shared =
      tke_piv_client_ecdh (piv, TKE_PIV_SLOT_KEY_MANAGEMENT, TKE_PIV_ALG_ECCP256, ephemeral, error);
  if (shared == NULL)
    return NULL;
  key = derive_record_key (shared, record.point, error);
  part = key != NULL ? tke_secret_new (TKE_KEY_PART_LEN, error) : NULL;
  if (part == NULL)
    return NULL;

  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx != NULL && EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL) == 1 &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
       EVP_DecryptInit_ex (ctx, NULL, NULL, tke_secret_peek (key), record.nonce) == 1 &&
       EVP_DecryptUpdate (ctx, NULL, &n, data, record.header_len) == 1 &&
       EVP_DecryptUpdate (ctx, tke_secret_data (part), &n, record.sealed, TKE_KEY_PART_LEN) == 1 &&
       n == TKE_KEY_PART_LEN &&
       EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN,
                            (void *) (record.sealed + TKE_KEY_PART_LEN)) == 1 &&
       EVP_DecryptFinal_ex (ctx, tke_secret_data (part) + n, &final_len) == 1;
  EVP_CIPHER_CTX_free (ctx);
  ERR_clear_error ();
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("Key part %u does not decrypt with this card's key: the record was damaged "
                      "or written for another card."),
                   id);
      return NULL;
    }
  return g_steal_pointer (&part);
}

/* ---- steps ---- */

gboolean
tke_card_profile_initialize (TkePivClient *piv, const TkeSecret *current_pin,
                             const TkeSecret *new_pin, const TkeSecret *current_puk,
                             const TkeSecret *new_puk, const char *description, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) existing = NULL;
  g_autoptr (EVP_PKEY) km_key = NULL;
  g_autoptr (GBytes) km_cert = NULL;
  g_autoptr (GBytes) km_object = NULL;
  g_autoptr (GBytes) directory = NULL;
  g_autoptr (TkeSecret) mgmt_key = NULL;
  g_autoptr (GByteArray) protected_data = NULL;
  g_autoptr (GByteArray) pivman = NULL;
  g_autofree char *cn = NULL;
  TkePivAlgorithm algorithm = TKE_PIV_ALG_3DES;
  gboolean absent = FALSE;
  guint32 serial = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), FALSE);
  g_return_val_if_fail (current_pin != NULL && new_pin != NULL, FALSE);
  g_return_val_if_fail ((current_puk == NULL) == (new_puk == NULL), FALSE);

  if (!tke_card_profile_check_new_pin (new_pin, error) ||
      !description_is_valid (description, CARD_DESCRIPTION, error))
    return FALSE;
  if (new_puk != NULL && tke_secret_len (new_puk) != 8)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, _ ("A PUK has 8 characters."));
      return FALSE;
    }

  if (!tke_piv_client_begin (piv, error))
    return FALSE;

  existing = read_directory (piv, NULL, &absent, &local_error);
  if (existing != NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The card is a TKE card already: it was initialized before."));
      goto out;
    }
  if (!absent)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }
  g_clear_error (&local_error);

  if (!tke_piv_client_verify (piv, TKE_PIV_PIN, current_pin, NULL, error) ||
      !authenticate_management (piv, &algorithm, error))
    goto out;

  /* 9D and its certificate first: nothing lists them until the directory exists. */
  km_key = tke_piv_client_generate_key (piv, TKE_PIV_SLOT_KEY_MANAGEMENT, TKE_PIV_ALG_ECCP256,
                                        TKE_PIV_PIN_POLICY_ONCE, TKE_PIV_TOUCH_POLICY_NEVER, error);
  if (km_key == NULL)
    goto out;
  if (tke_piv_client_get_serial (piv, &serial, NULL))
    cn = g_strdup_printf ("Open TKE card %u key management", serial);
  else
    cn = g_strdup ("Open TKE card key management");
  km_cert = card_certificate (piv, TKE_PIV_SLOT_KEY_MANAGEMENT, km_key, cn, error);
  if (km_cert == NULL)
    goto out;
  km_object = certificate_object (km_cert);
  if (!tke_piv_client_put_data (piv, TKE_PIV_OBJ_CERT_9D, g_bytes_get_data (km_object, NULL),
                                g_bytes_get_size (km_object), error))
    goto out;

  /* The new management key is stored before it is set: a card pulled in between still has
   * its old key, which authenticate_management () falls back to. */
  mgmt_key = tke_secret_new_random (tke_piv_management_key_len (algorithm), error);
  if (mgmt_key == NULL)
    goto out;
  protected_data = g_byte_array_new ();
  {
    g_autoptr (GByteArray) inner = g_byte_array_sized_new (64);

    tke_tlv_append (inner, 0x89, tke_secret_peek (mgmt_key), tke_secret_len (mgmt_key));
    g_byte_array_set_size (protected_data, 0);
    tke_tlv_append (protected_data, 0x88, inner->data, inner->len);
    tke_wipe (inner->data, inner->len);
  }
  ok = tke_piv_client_put_data (piv, TKE_PIV_OBJ_PRINTED, protected_data->data, protected_data->len,
                                error);
  tke_wipe (protected_data->data, protected_data->len);
  if (!ok)
    goto out;
  ok = FALSE;
  pivman = g_byte_array_new ();
  {
    g_autoptr (GByteArray) inner = g_byte_array_new ();

    tke_tlv_append_byte (inner, 0x81, PIVMAN_FLAG_MGMT_PROTECTED);
    tke_tlv_append (pivman, 0x80, inner->data, inner->len);
  }
  if (!tke_piv_client_put_data (piv, TKE_PIV_OBJ_PIVMAN, pivman->data, pivman->len, error) ||
      !tke_piv_client_set_management_key (piv, algorithm, mgmt_key, FALSE, error))
    goto out;

  /* The PIN and PUK. */
  if (!tke_secret_equal (current_pin, new_pin) &&
      !tke_piv_client_change_reference (piv, TKE_PIV_PIN, current_pin, new_pin, NULL, error))
    goto out;
  if (new_puk != NULL && !tke_secret_equal (current_puk, new_puk) &&
      !tke_piv_client_change_reference (piv, TKE_PIV_PUK, current_puk, new_puk, NULL, error))
    goto out;

  /* Last: the directory makes it a TKE card. */
  directory = tke_card_directory_build (description, NULL);
  ok = tke_piv_client_put_data (piv, TKE_CARD_OBJ_DIRECTORY, g_bytes_get_data (directory, NULL),
                                g_bytes_get_size (directory), error);

out:
  tke_piv_client_end (piv);
  return ok;
}

GPtrArray *
tke_card_profile_list_parts (TkePivClient *piv, GError **error)
{
  GPtrArray *parts;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  if (!tke_piv_client_begin (piv, error))
    return NULL;
  parts = read_directory_required (piv, NULL, error);
  tke_piv_client_end (piv);
  return parts;
}

TkeCardInfo *
tke_card_profile_read_info (TkePivClient *piv, GError **error)
{
  g_autoptr (TkeCardInfo) info = g_new0 (TkeCardInfo, 1);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) cert = NULL;
  gboolean absent = FALSE;
  gboolean verified = FALSE;
  TkeCardInfo *result = NULL;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  if (!tke_piv_client_begin (piv, error))
    return NULL;

  info->has_serial = tke_piv_client_get_serial (piv, &info->serial, NULL);
  info->has_version = tke_piv_client_get_version (piv, info->version, NULL);

  info->parts = read_directory (piv, &info->description, &absent, &local_error);
  if (info->parts != NULL)
    {
      info->initialized = TRUE;
      info->profile_version = TKE_CARD_PROFILE_VERSION;
    }
  else if (absent)
    {
      info->parts = new_part_list ();
      g_clear_error (&local_error);
    }
  else
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }

  cert = read_certificate_der (piv, TKE_PIV_OBJ_CERT_9A, &local_error);
  if (cert != NULL)
    {
      /* A 9A certificate some other program wrote is no administrator of ours. */
      if (!tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL),
                                              g_bytes_get_size (cert), &info->admin_name, NULL,
                                              &local_error))
        g_debug ("The 9A certificate is not an administrator's: %s", local_error->message);
    }
  else if (!g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }
  g_clear_error (&local_error);

  if (info->initialized)
    {
      g_autoptr (GBytes) card_cert = read_certificate_der (piv, TKE_PIV_OBJ_CERT_9D, &local_error);

      if (card_cert != NULL)
        info->key_id = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, card_cert);
      else if (!g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          goto out;
        }
      g_clear_error (&local_error);
    }

  if (!tke_piv_client_verify_status (piv, TKE_PIV_PIN, &verified, &info->pin_tries_left, error))
    goto out;
  result = g_steal_pointer (&info);

out:
  tke_piv_client_end (piv);
  return result;
}

GBytes *
tke_card_profile_read_certificate (TkePivClient *piv, GError **error)
{
  GBytes *cert;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  if (!tke_piv_client_begin (piv, error))
    return NULL;
  cert = read_certificate_der (piv, TKE_PIV_OBJ_CERT_9A, error);
  tke_piv_client_end (piv);
  return cert;
}

/* Refuses when 9A has a certificate: one signature key per card. The key in 9A without a
 * certificate is what a pulled card leaves behind; it does not count. */
static gboolean
check_no_signature_key (TkePivClient *piv, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) cert = read_certificate_der (piv, TKE_PIV_OBJ_CERT_9A, &local_error);
  g_autofree char *name = NULL;

  if (cert == NULL)
    {
      if (g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL), g_bytes_get_size (cert),
                                         &name, NULL, NULL))
    g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                 /* TRANSLATORS: %s is the name of the administrator whose key the card holds. */
                 _ ("The card already holds the signature key of \"%s\": one card holds one "
                    "administrator; use another card."),
                 name);
  else
    g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                 _ ("The card already holds a signature key: use another card."));
  return FALSE;
}

static gboolean
put_certificate (TkePivClient *piv, guint32 object_id, GBytes *der, GError **error)
{
  g_autoptr (GBytes) object = certificate_object (der);

  return tke_piv_client_put_data (piv, object_id, g_bytes_get_data (object, NULL),
                                  g_bytes_get_size (object), error);
}

EVP_PKEY *
tke_card_profile_generate_signature_key (TkePivClient *piv, const TkeSecret *pin, const char *name,
                                         GError **error)
{
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (GBytes) cert = NULL;
  EVP_PKEY *result = NULL;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  if (!tke_admin_name_is_valid (name, error))
    return NULL;

  if (!tke_piv_client_begin (piv, error))
    return NULL;
  parts = read_directory_required (piv, NULL, error);
  if (parts == NULL || !check_no_signature_key (piv, error) || !verify_pin (piv, pin, error) ||
      !authenticate_management (piv, NULL, error))
    goto out;

  key = tke_piv_client_generate_key (piv, TKE_PIV_SLOT_AUTHENTICATION, TKE_PIV_ALG_ECCP256,
                                     TKE_PIV_PIN_POLICY_ONCE, TKE_PIV_TOUCH_POLICY_NEVER, error);
  if (key == NULL)
    goto out;
  /* The certificate makes the administrator: written last. */
  cert = card_certificate (piv, TKE_PIV_SLOT_AUTHENTICATION, key, name, error);
  if (cert == NULL || !put_certificate (piv, TKE_PIV_OBJ_CERT_9A, cert, error))
    goto out;
  result = g_steal_pointer (&key);

out:
  tke_piv_client_end (piv);
  return result;
}

gboolean
tke_card_profile_import_signature_key (TkePivClient *piv, const TkeSecret *pin, EVP_PKEY *key,
                                       const char *name, GError **error)
{
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (GBytes) cert = NULL;
  TkeCurve curve;
  gboolean ok = FALSE;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (!tke_ec_key_get_curve (key, &curve, error))
    return FALSE;
  if (curve != TKE_CURVE_P256 || !tke_ec_key_has_private (key))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("Only a P-256 private key can be put on the card as a signature key."));
      return FALSE;
    }
  cert = tke_ec_key_self_signed_certificate (key, name, CERT_DAYS, error);
  if (cert == NULL)
    return FALSE;

  if (!tke_piv_client_begin (piv, error))
    return FALSE;
  parts = read_directory_required (piv, NULL, error);
  if (parts == NULL || !check_no_signature_key (piv, error) || !verify_pin (piv, pin, error) ||
      !authenticate_management (piv, NULL, error))
    goto out;
  ok = tke_piv_client_import_key (piv, TKE_PIV_SLOT_AUTHENTICATION, key, TKE_PIV_PIN_POLICY_ONCE,
                                  TKE_PIV_TOUCH_POLICY_NEVER, error) &&
       put_certificate (piv, TKE_PIV_OBJ_CERT_9A, cert, error);

out:
  tke_piv_client_end (piv);
  return ok;
}

static const TkeKeyPartInfo *
find_part (GPtrArray *parts, guint id)
{
  for (guint i = 0; i < parts->len; i++)
    {
      const TkeKeyPartInfo *info = g_ptr_array_index (parts, i);

      if (info->id == id)
        return info;
    }
  return NULL;
}

static TkeKeyPartInfo *
store_part (TkePivClient *piv, const TkeSecret *pin, const TkeSecret *given,
            const char *description, GError **error)
{
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (EVP_PKEY) card_key = NULL;
  g_autoptr (GBytes) record = NULL;
  g_autoptr (GBytes) directory = NULL;
  g_autoptr (TkeKeyPartInfo) info = NULL;
  g_autofree char *card_description = NULL;
  TkeKeyPartInfo *result = NULL;
  guint id = 0;

  if (!description_is_valid (description, KEY_PART_DESCRIPTION, error))
    return NULL;
  if (given != NULL && tke_secret_len (given) != TKE_KEY_PART_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   /* TRANSLATORS: the first number is the size of every key part, the second
                    * the size of the one given. */
                   _ ("A key part has %d bytes; this one has %zu."), TKE_KEY_PART_LEN,
                   tke_secret_len (given));
      return NULL;
    }

  if (!tke_piv_client_begin (piv, error))
    return NULL;
  parts = read_directory_required (piv, &card_description, error);
  if (parts == NULL)
    goto out;
  for (guint candidate = 1; candidate <= TKE_CARD_MAX_PARTS && id == 0; candidate++)
    if (find_part (parts, candidate) == NULL)
      id = candidate;
  if (id == 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NO_SPACE,
                   _ ("The card holds %d key parts, as many as it can: delete one or use "
                      "another card."),
                   TKE_CARD_MAX_PARTS);
      goto out;
    }
  card_key = key_management_public_key (piv, error);
  if (card_key == NULL || !verify_pin (piv, pin, error) ||
      !authenticate_management (piv, NULL, error))
    goto out;

  part = given != NULL ? tke_secret_copy (given, error)
                       : tke_secret_new_random (TKE_KEY_PART_LEN, error);
  if (part == NULL)
    goto out;
  info = g_new0 (TkeKeyPartInfo, 1);
  info->id = id;
  info->description = g_strdup (description);
  info->created = g_get_real_time () / G_USEC_PER_SEC;
  tke_vp_compute (tke_secret_peek (part), tke_secret_len (part), info->vp);

  record = seal_part (part, id, card_key, error);
  if (record == NULL)
    goto out;
  /* The record first, complete; then the directory that lists it. */
  if (!tke_piv_client_put_data (piv, TKE_CARD_OBJ_PART_BASE + id, g_bytes_get_data (record, NULL),
                                g_bytes_get_size (record), error))
    goto out;
  g_ptr_array_add (parts, key_part_info_copy (info));
  directory = tke_card_directory_build (card_description, parts);
  if (!tke_piv_client_put_data (piv, TKE_CARD_OBJ_DIRECTORY, g_bytes_get_data (directory, NULL),
                                g_bytes_get_size (directory), error))
    goto out;
  result = g_steal_pointer (&info);

out:
  tke_piv_client_end (piv);
  return result;
}

TkeKeyPartInfo *
tke_card_profile_generate_key_part (TkePivClient *piv, const TkeSecret *pin,
                                    const char *description, GError **error)
{
  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);
  return store_part (piv, pin, NULL, description, error);
}

TkeKeyPartInfo *
tke_card_profile_put_key_part (TkePivClient *piv, const TkeSecret *pin, const TkeSecret *part,
                               const char *description, GError **error)
{
  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);
  g_return_val_if_fail (part != NULL, NULL);
  return store_part (piv, pin, part, description, error);
}

TkeSecret *
tke_card_profile_take_key_part (TkePivClient *piv, const TkeSecret *pin, guint id,
                                TkeKeyPartInfo **info_out, GError **error)
{
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (GBytes) record = NULL;
  g_autoptr (TkeSecret) part = NULL;
  const TkeKeyPartInfo *info;
  guint8 vp[TKE_VP_LEN];
  TkeSecret *result = NULL;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), NULL);

  if (!tke_piv_client_begin (piv, error))
    return NULL;
  parts = read_directory_required (piv, NULL, error);
  if (parts == NULL)
    goto out;
  info = find_part (parts, id);
  if (info == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND, _ ("The card holds no key part %u."), id);
      goto out;
    }
  record = tke_piv_client_get_data (piv, TKE_CARD_OBJ_PART_BASE + id, error);
  if (record == NULL || !verify_pin (piv, pin, error))
    goto out;
  part = open_part (piv, g_bytes_get_data (record, NULL), g_bytes_get_size (record), id, error);
  if (part == NULL)
    goto out;
  tke_vp_compute (tke_secret_peek (part), tke_secret_len (part), vp);
  if (CRYPTO_memcmp (vp, info->vp, TKE_VP_LEN) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("Key part %u does not match the verification pattern the card lists for "
                      "it."),
                   id);
      goto out;
    }
  if (info_out != NULL)
    *info_out = key_part_info_copy (info);
  result = g_steal_pointer (&part);

out:
  tke_piv_client_end (piv);
  return result;
}

gboolean
tke_card_profile_delete_key_part (TkePivClient *piv, const TkeSecret *pin, guint id, GError **error)
{
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (GBytes) directory = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *card_description = NULL;
  gboolean ok = FALSE;
  guint i;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), FALSE);

  if (!tke_piv_client_begin (piv, error))
    return FALSE;
  parts = read_directory_required (piv, &card_description, error);
  if (parts == NULL)
    goto out;
  for (i = 0; i < parts->len; i++)
    if (((TkeKeyPartInfo *) g_ptr_array_index (parts, i))->id == id)
      break;
  if (i == parts->len)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND, _ ("The card holds no key part %u."), id);
      goto out;
    }
  if (!verify_pin (piv, pin, error) || !authenticate_management (piv, NULL, error))
    goto out;

  /* The directory first: once it no longer lists the part, the part is gone for every reader;
   * the record is then erased. */
  g_ptr_array_remove_index (parts, i);
  directory = tke_card_directory_build (card_description, parts);
  if (!tke_piv_client_put_data (piv, TKE_CARD_OBJ_DIRECTORY, g_bytes_get_data (directory, NULL),
                                g_bytes_get_size (directory), error))
    goto out;
  if (!tke_piv_client_put_data (piv, TKE_CARD_OBJ_PART_BASE + id, NULL, 0, &local_error) &&
      !g_error_matches (local_error, TKE_ERROR, TKE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }
  ok = TRUE;

out:
  tke_piv_client_end (piv);
  return ok;
}

gboolean
tke_card_profile_change_pin (TkePivClient *piv, const TkeSecret *old_pin, const TkeSecret *new_pin,
                             GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), FALSE);
  g_return_val_if_fail (old_pin != NULL && new_pin != NULL, FALSE);

  if (!tke_card_profile_check_new_pin (new_pin, error))
    return FALSE;
  if (!tke_piv_client_begin (piv, error))
    return FALSE;
  ok = tke_piv_client_change_reference (piv, TKE_PIV_PIN, old_pin, new_pin, NULL, error);
  tke_piv_client_end (piv);
  return ok;
}

gboolean
tke_card_profile_unblock_pin (TkePivClient *piv, const TkeSecret *puk, const TkeSecret *new_pin,
                              GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TKE_IS_PIV_CLIENT (piv), FALSE);
  g_return_val_if_fail (puk != NULL && new_pin != NULL, FALSE);

  if (!tke_card_profile_check_new_pin (new_pin, error))
    return FALSE;
  if (!tke_piv_client_begin (piv, error))
    return FALSE;
  ok = tke_piv_client_reset_retry_counter (piv, puk, new_pin, NULL, error);
  tke_piv_client_end (piv);
  return ok;
}
