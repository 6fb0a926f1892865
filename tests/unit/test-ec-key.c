/* SPDX-License-Identifier: GPL-3.0-or-later */
/* EC key helpers and the in-memory signer: the forms keys travel in, checked against OpenSSL. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-memory-signer.h"

static const TkeCurve all_curves[] = { TKE_CURVE_P256, TKE_CURVE_P384, TKE_CURVE_P521 };

static void
test_ski_is_sha256_of_point (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_curves); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EVP_PKEY) key = tke_ec_key_generate (all_curves[i], &error);
      g_autoptr (GBytes) point = NULL;
      g_autofree char *ski = NULL;
      g_autofree char *expect = NULL;

      g_assert_no_error (error);
      point = tke_ec_key_get_point (key, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (point), ==, 1 + 2 * tke_curve_field_len (all_curves[i]));
      g_assert_cmpint (((const guint8 *) g_bytes_get_data (point, NULL))[0], ==, 0x04);
      expect = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, point);
      ski = tke_ec_key_get_ski (key, &error);
      g_assert_cmpstr (ski, ==, expect);
    }
}

static void
test_jwk_round_trip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_curves); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EVP_PKEY) key = tke_ec_key_generate (all_curves[i], &error);
      g_autoptr (EVP_PKEY) pub = NULL;
      g_autoptr (EVP_PKEY) priv = NULL;
      json_t *jwk = tke_ec_key_to_jwk (key, FALSE, &error);
      json_t *jwk_priv = tke_ec_key_to_jwk (key, TRUE, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (json_string_value (json_object_get (jwk, "crv")), ==,
                       tke_curve_name (all_curves[i]));
      g_assert_null (json_object_get (jwk, "d"));
      g_assert_nonnull (json_object_get (jwk_priv, "d"));
      pub = tke_ec_key_from_jwk (jwk, &error);
      g_assert_no_error (error);
      g_assert_cmpint (EVP_PKEY_eq (pub, key), ==, 1);
      g_assert_false (tke_ec_key_has_private (pub));
      priv = tke_ec_key_from_jwk (jwk_priv, &error);
      g_assert_no_error (error);
      g_assert_true (tke_ec_key_has_private (priv));
      json_decref (jwk);
      json_decref (jwk_priv);
    }
}

static void
test_jwk_rejects_bad_keys (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, &error);
  json_t *jwk = tke_ec_key_to_jwk (key, FALSE, &error);
  json_t *off = json_deep_copy (jwk);
  g_autoptr (GBytes) y = tke_b64url_decode (json_string_value (json_object_get (jwk, "y")), NULL);
  guint8 ybuf[32];
  g_autofree char *y2 = NULL;
  EVP_PKEY *bad;

  memcpy (ybuf, g_bytes_get_data (y, NULL), 32);
  ybuf[31] ^= 1;
  y2 = tke_b64url_encode (ybuf, 32);
  json_object_set_new (off, "y", json_string (y2));
  bad = tke_ec_key_from_jwk (off, &error);
  g_assert_null (bad);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);

  json_object_set_new (off, "crv", json_string ("P-192"));
  g_assert_null (tke_ec_key_from_jwk (off, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);

  json_object_set_new (off, "crv", json_string ("P-384"));
  g_assert_null (tke_ec_key_from_jwk (off, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  json_decref (off);
  json_decref (jwk);
}

static void
test_signature_forms (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_curves); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeMemorySigner) signer =
          tke_memory_signer_generate ("Alice Admin", all_curves[i], &error);
      const char *msg = "signing input";
      g_autoptr (GBytes) der = NULL;
      g_autoptr (GBytes) raw = NULL;
      g_autoptr (GBytes) back = NULL;
      gsize flen = tke_curve_field_len (all_curves[i]);

      g_assert_no_error (error);
      der = tke_signer_sign_data (TKE_SIGNER (signer), (const guint8 *) msg, strlen (msg), NULL,
                                  &error);
      g_assert_no_error (error);
      g_assert_true (tke_ecdsa_verify_data (tke_signer_get_public_key (TKE_SIGNER (signer)),
                                            (const guint8 *) msg, strlen (msg),
                                            g_bytes_get_data (der, NULL), g_bytes_get_size (der)));
      g_assert_false (tke_ecdsa_verify_data (tke_signer_get_public_key (TKE_SIGNER (signer)),
                                             (const guint8 *) "other", 5,
                                             g_bytes_get_data (der, NULL), g_bytes_get_size (der)));
      raw =
          tke_ecdsa_der_to_raw (g_bytes_get_data (der, NULL), g_bytes_get_size (der), flen, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (raw), ==, 2 * flen);
      back = tke_ecdsa_raw_to_der (g_bytes_get_data (raw, NULL), g_bytes_get_size (raw), &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, der));

      g_assert_cmpstr (tke_signer_get_jws_alg (TKE_SIGNER (signer)), ==,
                       i == 0   ? "ES256"
                       : i == 1 ? "ES384"
                                : "ES512");
      g_assert_cmpint (EVP_MD_get_size (tke_signer_get_digest (TKE_SIGNER (signer))), ==,
                       i == 0   ? 32
                       : i == 1 ? 48
                                : 64);
    }
}

static void
test_signer_refuses_wrong_digest_size (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeMemorySigner) signer = tke_memory_signer_generate ("Bob", TKE_CURVE_P384, &error);
  guint8 digest[32] = { 0 };

  g_assert_null (tke_signer_sign_digest (TKE_SIGNER (signer), digest, sizeof digest, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_der_garbage_refused (void)
{
  g_autoptr (GError) error = NULL;
  const guint8 junk[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x02, 0x01 };

  g_assert_null (tke_ecdsa_der_to_raw (junk, sizeof junk, 32, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

static void
test_certificate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeMemorySigner) signer =
      tke_memory_signer_generate ("Zoë Ceremony", TKE_CURVE_P256, &error);
  GBytes *cert = tke_signer_get_certificate (TKE_SIGNER (signer));
  g_autofree char *name = NULL;
  g_autoptr (EVP_PKEY) pub = NULL;
  g_autofree guint8 *tampered = NULL;
  gsize len = 0;

  g_assert_no_error (error);
  g_assert_true (tke_certificate_check_self_signed (g_bytes_get_data (cert, NULL),
                                                    g_bytes_get_size (cert), &name, &pub, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "Zoë Ceremony");
  g_assert_cmpint (EVP_PKEY_eq (pub, tke_signer_get_public_key (TKE_SIGNER (signer))), ==, 1);

  /* Flip a byte of the signature at the end: the self-signature no longer verifies. */
  len = g_bytes_get_size (cert);
  tampered = g_memdup2 (g_bytes_get_data (cert, NULL), len);
  tampered[len - 3] ^= 0x01;
  g_assert_false (tke_certificate_check_self_signed (tampered, len, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (tke_certificate_check_self_signed (tampered, len / 2, NULL, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);

  g_assert_null (tke_memory_signer_generate ("", TKE_CURVE_P256, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (
      tke_memory_signer_generate ("0123456789012345678901234567890", TKE_CURVE_P256, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_spki_and_private_der (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P521, &error);
  g_autoptr (GBytes) spki = tke_ec_key_to_spki (key, &error);
  g_autoptr (GBytes) priv = tke_ec_key_to_private_der (key, &error);
  g_autoptr (EVP_PKEY) pub = NULL;
  g_autoptr (EVP_PKEY) back = NULL;

  g_assert_no_error (error);
  pub = tke_ec_key_from_spki (g_bytes_get_data (spki, NULL), g_bytes_get_size (spki), &error);
  g_assert_no_error (error);
  g_assert_cmpint (EVP_PKEY_eq (pub, key), ==, 1);
  back =
      tke_ec_key_from_private_der (g_bytes_get_data (priv, NULL), g_bytes_get_size (priv), &error);
  g_assert_no_error (error);
  g_assert_true (tke_ec_key_has_private (back));
  g_assert_null (tke_ec_key_from_spki (g_bytes_get_data (spki, NULL), 10, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

static void
test_b64url (void)
{
  const guint8 data[] = { 0xfb, 0xff, 0xfe, 0x00 };
  g_autofree char *text = tke_b64url_encode (data, sizeof data);
  g_autoptr (GBytes) back = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (text, ==, "-__-AA");
  back = tke_b64url_decode (text, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), data, sizeof data);
  g_assert_null (tke_b64url_decode ("ab+/", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_clear_error (&error);
  g_assert_null (tke_b64url_decode ("abcde", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ec-key/ski", test_ski_is_sha256_of_point);
  g_test_add_func ("/ec-key/jwk-round-trip", test_jwk_round_trip);
  g_test_add_func ("/ec-key/jwk-bad", test_jwk_rejects_bad_keys);
  g_test_add_func ("/ec-key/signature-forms", test_signature_forms);
  g_test_add_func ("/ec-key/wrong-digest-size", test_signer_refuses_wrong_digest_size);
  g_test_add_func ("/ec-key/der-garbage", test_der_garbage_refused);
  g_test_add_func ("/ec-key/certificate", test_certificate);
  g_test_add_func ("/ec-key/spki-private-der", test_spki_and_private_der);
  g_test_add_func ("/ec-key/b64url", test_b64url);
  return g_test_run ();
}
