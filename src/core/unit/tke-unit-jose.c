/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signing and verifying identity JWS, and key part JWE, with libjose and OpenSSL. */
#include "config.h"

#include <string.h>

#include <jose/jose.h>
#include <openssl/evp.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-unit-jose.h"

json_t *
tke_jws_sign_flattened (EVP_PKEY *key, const char *kid, const json_t *payload, GError **error)
{
  g_autofree char *computed_kid = NULL;
  g_autofree char *protected_b64 = NULL;
  g_autofree char *payload_b64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *sig_b64 = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GBytes) raw = NULL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  TkeCurve curve;
  json_t *protected;
  char *text;

  g_return_val_if_fail (key != NULL && payload != NULL, NULL);

  if (!tke_ec_key_get_curve (key, &curve, error))
    return NULL;
  if (kid == NULL)
    {
      kid = computed_kid = tke_ec_key_get_ski (key, error);
      if (kid == NULL)
        return NULL;
    }
  protected = json_pack ("{s:s, s:s}", "alg", tke_curve_jws_alg (curve), "kid", kid);
  text = json_dumps (protected, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (protected);
  protected_b64 = tke_b64url_encode ((const guint8 *) text, strlen (text));
  free (text);
  text = json_dumps (payload, JSON_COMPACT | JSON_SORT_KEYS);
  payload_b64 = tke_b64url_encode ((const guint8 *) text, strlen (text));
  free (text);

  input = g_strconcat (protected_b64, ".", payload_b64, NULL);
  if (EVP_Digest (input, strlen (input), digest, &digest_len, tke_curve_digest (curve), NULL) != 1)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, "Hashing the JWS signing input failed.");
      return NULL;
    }
  der = tke_ecdsa_sign_digest (key, digest, digest_len, error);
  if (der == NULL)
    return NULL;
  raw = tke_ecdsa_der_to_raw (g_bytes_get_data (der, NULL), g_bytes_get_size (der),
                              tke_curve_field_len (curve), error);
  if (raw == NULL)
    return NULL;
  sig_b64 = tke_b64url_encode (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw));
  return json_pack ("{s:s, s:s, s:s}", "protected", protected_b64, "payload", payload_b64,
                    "signature", sig_b64);
}

json_t *
tke_jws_verify_flattened (const json_t *jws, const json_t *jwk, GError **error)
{
  const char *payload_b64 = NULL;
  g_autoptr (GBytes) payload = NULL;
  json_t *value;

  if (!json_is_object (jws) || !json_is_string (json_object_get (jws, "protected")) ||
      !json_is_string (json_object_get (jws, "signature")) ||
      (payload_b64 = json_string_value (json_object_get (jws, "payload"))) == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   "The signed object is not a flattened JWS with protected, payload and "
                   "signature.");
      return NULL;
    }
  if (!jose_jws_ver (NULL, jws, NULL, jwk, false))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   "The signature does not verify with the unit's identity key: the object was "
                   "not made by this unit or was changed on the way.");
      return NULL;
    }
  payload = tke_b64url_decode (payload_b64, error);
  if (payload == NULL)
    return NULL;
  value = json_loadb (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
                      JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object (value))
    {
      json_decref (value);
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   "The signed payload is not a JSON object.");
      return NULL;
    }
  return value;
}

json_t *
tke_importer_key_check (const json_t *importer_jws, const json_t *identity_jwk, const char *unit_id,
                        GError **error)
{
  json_t *payload;
  const char *typ = NULL, *unit = NULL;
  json_t *key = NULL;
  g_autoptr (EVP_PKEY) check = NULL;

  payload = tke_jws_verify_flattened (importer_jws, identity_jwk, error);
  if (payload == NULL)
    return NULL;
  if (json_unpack (payload, "{s:s, s:s, s:o}", "typ", &typ, "unit", &unit, "key", &key) != 0 ||
      !g_str_equal (typ, TKE_IMPORTER_TYP))
    {
      json_decref (payload);
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   "The unit's importer key statement lacks typ, unit or key.");
      return NULL;
    }
  if (unit_id != NULL && !g_str_equal (unit, unit_id))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   "The importer key was issued for unit %s, not for unit %s.", unit, unit_id);
      json_decref (payload);
      return NULL;
    }
  check = tke_ec_key_from_jwk (key, error);
  if (check == NULL || tke_ec_key_has_private (check))
    {
      if (check != NULL)
        g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                     "The importer key statement carries a private key.");
      json_decref (payload);
      return NULL;
    }
  json_incref (key);
  json_decref (payload);
  return key;
}

json_t *
tke_key_part_encrypt (const json_t *importer_jwk, const TkeSecret *part, GError **error)
{
  g_autoptr (EVP_PKEY) check = NULL;
  json_t *jwe;
  json_t *kid;

  g_return_val_if_fail (part != NULL, NULL);

  if (tke_secret_len (part) != TKE_KEY_PART_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, "A key part must be %d bytes.",
                   TKE_KEY_PART_LEN);
      return NULL;
    }
  check = tke_ec_key_from_jwk (importer_jwk, error);
  if (check == NULL)
    return NULL;
  kid = json_string (tke_ec_key_get_ski (check, NULL));
  jwe = json_pack ("{s:{s:s, s:s, s:o}}", "protected", "alg", "ECDH-ES", "enc", "A256GCM", "kid",
                   kid);
  if (!jose_jwe_enc (NULL, jwe, NULL, importer_jwk, tke_secret_peek (part), tke_secret_len (part)))
    {
      json_decref (jwe);
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   "Encrypting the key part to the unit's importer key failed.");
      return NULL;
    }
  return jwe;
}

TkeSecret *
tke_key_part_decrypt (const json_t *jwe, const json_t *importer_private_jwk, GError **error)
{
  json_auto_t *hdr = NULL;
  const char *alg = NULL, *enc = NULL;
  size_t len = 0;
  guint8 *pt;
  TkeSecret *part;

  if (!json_is_object (jwe) || !json_is_string (json_object_get (jwe, "ciphertext")) ||
      !json_is_string (json_object_get (jwe, "protected")))
    goto malformed;
  hdr = jose_jwe_hdr (jwe, NULL);
  if (hdr == NULL || json_unpack (hdr, "{s:s, s:s}", "alg", &alg, "enc", &enc) != 0)
    goto malformed;
  if (!g_str_equal (alg, "ECDH-ES") || !g_str_equal (enc, "A256GCM"))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   "A key part must be encrypted with ECDH-ES and A256GCM, not %s and %s.", alg,
                   enc);
      return NULL;
    }
  pt = jose_jwe_dec (NULL, jwe, NULL, importer_private_jwk, &len);
  if (pt == NULL)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   "The key part does not decrypt with this unit's importer key: it was "
                   "encrypted to another unit or to an importer key that has been renewed.");
      return NULL;
    }
  if (len != TKE_KEY_PART_LEN)
    {
      OPENSSL_cleanse (pt, len);
      free (pt);
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   "A decrypted key part has %zu bytes instead of %d.", len, TKE_KEY_PART_LEN);
      return NULL;
    }
  part = tke_secret_new_from (pt, len, error);
  OPENSSL_cleanse (pt, len);
  free (pt);
  return part;

malformed:
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               "A key part is not a JWE in flattened JSON serialization.");
  return NULL;
}

char *
tke_json_hash_b64 (const json_t *value)
{
  char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  guint8 digest[32];
  char *out;

  if (EVP_Digest (text, strlen (text), digest, NULL, EVP_sha256 (), NULL) != 1)
    g_error ("SHA-256 is not available from OpenSSL");
  free (text);
  out = tke_b64url_encode (digest, sizeof digest);
  return out;
}
