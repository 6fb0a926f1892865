/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signing and verifying identity JWS with libjose and OpenSSL; key part JWE with OpenSSL. */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include <jose/jose.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO, _ ("Hashing the JWS signing input failed."));
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
                   _ ("The signed object is not a flattened JWS with protected, payload and "
                      "signature."));
      return NULL;
    }
  if (!jose_jws_ver (NULL, jws, NULL, jwk, false))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The signature does not verify with the unit's identity key: the object "
                      "was not made by this unit or was changed on the way."));
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
                   _ ("The signed payload is not a JSON object."));
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
                   _ ("The unit's importer key statement lacks typ, unit or key."));
      return NULL;
    }
  if (unit_id != NULL && !g_str_equal (unit, unit_id))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   /* TRANSLATORS: the first %s is the unit the key statement names, the second
                    * the unit it was asked for. */
                   _ ("The importer key was issued for unit %s, not for unit %s."), unit, unit_id);
      json_decref (payload);
      return NULL;
    }
  check = tke_ec_key_from_jwk (key, error);
  if (check == NULL || tke_ec_key_has_private (check))
    {
      if (check != NULL)
        g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                     _ ("The importer key statement carries a private key."));
      json_decref (payload);
      return NULL;
    }
  json_incref (key);
  json_decref (payload);
  return key;
}

/* Key part JWE (RFC 7516, flattened JSON) with ECDH-ES direct key agreement and A256GCM
 * (RFC 7518 §4.6, §5.3), made with OpenSSL alone: the shared secret Z, the content-encryption
 * key and the part stay in the secure heap, and nothing secret passes through jansson or libjose
 * buffers. */
#define JWE_ENC     "A256GCM"
#define JWE_CEK_LEN 32
#define JWE_IV_LEN  12
#define JWE_TAG_LEN 16

static void
put_be32 (guint8 *out, guint32 value)
{
  out[0] = (guint8) (value >> 24);
  out[1] = (guint8) (value >> 16);
  out[2] = (guint8) (value >> 8);
  out[3] = (guint8) value;
}

/* ECDH of key with peer, then the Concat KDF of RFC 7518 §4.6.2 with SHA-256 and no PartyUInfo
 * or PartyVInfo: one round gives the 256 bits of the A256GCM key. */
static TkeSecret *
derive_cek (EVP_PKEY *key, EVP_PKEY *peer, GError **error)
{
  g_autoptr (TkeSecret) z = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, key, NULL);
  EVP_MD_CTX *md = NULL;
  guint8 counter[4], alg_len[4], party[4], bits[4];
  size_t z_len = 0;
  gboolean ok;

  ok = ctx != NULL && EVP_PKEY_derive_init (ctx) == 1 &&
       EVP_PKEY_derive_set_peer (ctx, peer) == 1 && EVP_PKEY_derive (ctx, NULL, &z_len) == 1 &&
       z_len > 0 && (z = tke_secret_new (z_len, error)) != NULL &&
       EVP_PKEY_derive (ctx, tke_secret_data (z), &z_len) == 1 && z_len == tke_secret_len (z);
  EVP_PKEY_CTX_free (ctx);
  if (ok)
    {
      put_be32 (counter, 1);
      put_be32 (alg_len, strlen (JWE_ENC));
      put_be32 (party, 0);
      put_be32 (bits, JWE_CEK_LEN * 8);
      md = EVP_MD_CTX_new ();
      ok = md != NULL && (cek = tke_secret_new (JWE_CEK_LEN, error)) != NULL &&
           EVP_DigestInit_ex (md, EVP_sha256 (), NULL) == 1 &&
           EVP_DigestUpdate (md, counter, 4) == 1 &&
           EVP_DigestUpdate (md, tke_secret_peek (z), tke_secret_len (z)) == 1 &&
           EVP_DigestUpdate (md, alg_len, 4) == 1 &&
           EVP_DigestUpdate (md, JWE_ENC, strlen (JWE_ENC)) == 1 &&
           EVP_DigestUpdate (md, party, 4) == 1 && EVP_DigestUpdate (md, party, 4) == 1 &&
           EVP_DigestUpdate (md, bits, 4) == 1 &&
           EVP_DigestFinal_ex (md, tke_secret_data (cek), NULL) == 1;
      EVP_MD_CTX_free (md);
    }
  if (!ok)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                     _ ("The key agreement with the unit's importer key failed: the keys are "
                        "not on the same curve, or a public key is not valid."));
      return NULL;
    }
  return g_steal_pointer (&cek);
}

json_t *
tke_key_part_encrypt (const json_t *importer_jwk, const TkeSecret *part, GError **error)
{
  g_autoptr (EVP_PKEY) importer = NULL;
  g_autoptr (EVP_PKEY) ephemeral = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  g_autofree char *kid = NULL;
  g_autofree char *protected_b64 = NULL;
  g_autofree char *iv_b64 = NULL;
  g_autofree char *ct_b64 = NULL;
  g_autofree char *tag_b64 = NULL;
  json_t *epk;
  json_t *header;
  char *header_text;
  EVP_CIPHER_CTX *cipher;
  guint8 iv[JWE_IV_LEN], ct[TKE_KEY_PART_LEN], tag[JWE_TAG_LEN];
  TkeCurve curve;
  int len = 0, tail = 0;
  gboolean ok;

  g_return_val_if_fail (part != NULL, NULL);

  if (tke_secret_len (part) != TKE_KEY_PART_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT, _ ("A key part must be %d bytes."),
                   TKE_KEY_PART_LEN);
      return NULL;
    }
  importer = tke_ec_key_from_jwk (importer_jwk, error);
  if (importer == NULL || !tke_ec_key_get_curve (importer, &curve, error))
    return NULL;
  ephemeral = tke_ec_key_generate (curve, error);
  if (ephemeral == NULL)
    return NULL;
  cek = derive_cek (ephemeral, importer, error);
  kid = tke_ec_key_get_ski (importer, error);
  epk = tke_ec_key_to_jwk (ephemeral, FALSE, error);
  if (cek == NULL || kid == NULL || epk == NULL)
    return json_decref (epk), NULL;

  header =
      json_pack ("{s:s, s:s, s:o, s:s}", "alg", "ECDH-ES", "enc", JWE_ENC, "epk", epk, "kid", kid);
  header_text = json_dumps (header, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (header);
  protected_b64 = tke_b64url_encode ((const guint8 *) header_text, strlen (header_text));
  free (header_text);

  /* The additional authenticated data is the protected header's base64url text. */
  cipher = EVP_CIPHER_CTX_new ();
  ok = RAND_bytes (iv, sizeof iv) == 1 && cipher != NULL &&
       EVP_EncryptInit_ex (cipher, EVP_aes_256_gcm (), NULL, tke_secret_peek (cek), iv) == 1 &&
       EVP_EncryptUpdate (cipher, NULL, &len, (const guint8 *) protected_b64,
                          (int) strlen (protected_b64)) == 1 &&
       EVP_EncryptUpdate (cipher, ct, &len, tke_secret_peek (part), TKE_KEY_PART_LEN) == 1 &&
       len == TKE_KEY_PART_LEN && EVP_EncryptFinal_ex (cipher, ct + len, &tail) == 1 && tail == 0 &&
       EVP_CIPHER_CTX_ctrl (cipher, EVP_CTRL_GCM_GET_TAG, sizeof tag, tag) == 1;
  EVP_CIPHER_CTX_free (cipher);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("Encrypting the key part to the unit's importer key failed."));
      return NULL;
    }
  iv_b64 = tke_b64url_encode (iv, sizeof iv);
  ct_b64 = tke_b64url_encode (ct, sizeof ct);
  tag_b64 = tke_b64url_encode (tag, sizeof tag);
  return json_pack ("{s:s, s:s, s:s, s:s}", "protected", protected_b64, "iv", iv_b64, "ciphertext",
                    ct_b64, "tag", tag_b64);
}

/* The decoded bytes of a base64url member, which must have exactly len bytes (any length when
 * len is 0). */
static GBytes *
jwe_member (const json_t *jwe, const char *name, gsize len)
{
  const char *text = json_string_value (json_object_get (jwe, name));
  GBytes *bytes = text != NULL ? tke_b64url_decode (text, NULL) : NULL;

  if (bytes != NULL && len != 0 && g_bytes_get_size (bytes) != len)
    g_clear_pointer (&bytes, g_bytes_unref);
  return bytes;
}

static gboolean
merge_unprotected (json_t *hdr, const json_t *unprotected)
{
  const char *name;
  json_t *value;

  if (unprotected == NULL)
    return TRUE;
  if (!json_is_object (unprotected))
    return FALSE;
  json_object_foreach ((json_t *) unprotected, name, value)
    {
      if (json_object_get (hdr, name) != NULL)
        return FALSE;
      json_object_set (hdr, name, value);
    }
  return TRUE;
}

TkeSecret *
tke_key_part_decrypt (const json_t *jwe, const json_t *importer_private_jwk, GError **error)
{
  g_autoptr (GBytes) header_bytes = NULL;
  g_autoptr (GBytes) iv = NULL;
  g_autoptr (GBytes) ct = NULL;
  g_autoptr (GBytes) tag = NULL;
  g_autoptr (EVP_PKEY) importer = NULL;
  g_autoptr (EVP_PKEY) epk = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  g_autoptr (TkeSecret) part = NULL;
  json_auto_t *hdr = NULL;
  const char *alg = NULL, *enc = NULL, *protected_b64;
  json_t *epk_jwk = NULL;
  EVP_CIPHER_CTX *cipher;
  int len = 0, tail = 0;
  gboolean ok;

  protected_b64 = json_string_value (json_object_get (jwe, "protected"));
  if (!json_is_object (jwe) || protected_b64 == NULL ||
      !json_is_string (json_object_get (jwe, "ciphertext")))
    goto malformed;
  header_bytes = tke_b64url_decode (protected_b64, NULL);
  if (header_bytes != NULL)
    hdr = json_loadb (g_bytes_get_data (header_bytes, NULL), g_bytes_get_size (header_bytes),
                      JSON_REJECT_DUPLICATES, NULL);
  /* The JOSE header is the union of the protected and unprotected headers, whose names must be
   * disjoint (RFC 7516 §7.2.1); libjose, for one, puts epk in the unprotected one. */
  if (hdr == NULL || !merge_unprotected (hdr, json_object_get (jwe, "unprotected")) ||
      !merge_unprotected (hdr, json_object_get (jwe, "header")) ||
      json_unpack (hdr, "{s:s, s:s}", "alg", &alg, "enc", &enc) != 0)
    goto malformed;
  if (!g_str_equal (alg, "ECDH-ES") || !g_str_equal (enc, JWE_ENC))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: the two %s are the names of the key agreement and the
                    * encryption the key part was encrypted with. */
                   _ ("A key part must be encrypted with ECDH-ES and A256GCM, not %s and %s."), alg,
                   enc);
      return NULL;
    }
  epk_jwk = json_object_get (hdr, "epk");
  iv = jwe_member (jwe, "iv", JWE_IV_LEN);
  tag = jwe_member (jwe, "tag", JWE_TAG_LEN);
  ct = jwe_member (jwe, "ciphertext", 0);
  if (!json_is_object (epk_jwk) || json_object_get (epk_jwk, "d") != NULL ||
      json_object_get (hdr, "zip") != NULL || json_object_get (hdr, "crit") != NULL ||
      (json_object_get (jwe, "encrypted_key") != NULL &&
       !g_str_equal (json_string_value (json_object_get (jwe, "encrypted_key")) ?: "x", "")) ||
      iv == NULL || tag == NULL || ct == NULL)
    goto malformed;
  if (g_bytes_get_size (ct) != TKE_KEY_PART_LEN)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
                   /* TRANSLATORS: the first number is the size of the decrypted key part, the
                    * second the size every key part has. */
                   _ ("A decrypted key part has %zu bytes instead of %d."), g_bytes_get_size (ct),
                   TKE_KEY_PART_LEN);
      return NULL;
    }
  epk = tke_ec_key_from_jwk (epk_jwk, NULL);
  importer = tke_ec_key_from_jwk (importer_private_jwk, error);
  if (importer == NULL)
    return NULL;
  if (epk != NULL)
    cek = derive_cek (importer, epk, NULL);
  part = tke_secret_new (TKE_KEY_PART_LEN, error);
  if (part == NULL)
    return NULL;
  cipher = EVP_CIPHER_CTX_new ();
  ok = cek != NULL && cipher != NULL &&
       EVP_DecryptInit_ex (cipher, EVP_aes_256_gcm (), NULL, tke_secret_peek (cek),
                           g_bytes_get_data (iv, NULL)) == 1 &&
       EVP_DecryptUpdate (cipher, NULL, &len, (const guint8 *) protected_b64,
                          (int) strlen (protected_b64)) == 1 &&
       EVP_DecryptUpdate (cipher, tke_secret_data (part), &len, g_bytes_get_data (ct, NULL),
                          TKE_KEY_PART_LEN) == 1 &&
       len == TKE_KEY_PART_LEN &&
       EVP_CIPHER_CTX_ctrl (cipher, EVP_CTRL_GCM_SET_TAG, JWE_TAG_LEN,
                            (void *) g_bytes_get_data (tag, NULL)) == 1 &&
       EVP_DecryptFinal_ex (cipher, tke_secret_data (part) + len, &tail) == 1 && tail == 0;
  EVP_CIPHER_CTX_free (cipher);
  if (!ok)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_CRYPTO,
                   _ ("The key part does not decrypt with this unit's importer key: it was "
                      "encrypted to another unit or to an importer key that has been renewed."));
      return NULL;
    }
  return g_steal_pointer (&part);

malformed:
  g_set_error (error, TKE_ERROR, TKE_ERROR_MALFORMED,
               _ ("A key part is not a JWE in flattened JSON serialization."));
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
