/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command builder's JWS verifies with libjose per signer; key parts round-trip through JWE. */
#include "config.h"

#include <string.h>

#include <jose/jose.h>

#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-memory-signer.h"
#include "tke-unit-jose.h"

static json_t *
decode_payload (const char *b64)
{
  g_autoptr (GBytes) bytes = tke_b64url_decode (b64, NULL);

  g_assert_nonnull (bytes);
  return json_loadb (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), 0, NULL);
}

static void
test_two_signatures_verify (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeMemorySigner) alice = tke_memory_signer_generate ("Alice", TKE_CURVE_P256, &error);
  g_autoptr (TkeMemorySigner) bob = tke_memory_signer_generate ("Bob", TKE_CURVE_P384, &error);
  g_autoptr (TkeMemorySigner) eve = tke_memory_signer_generate ("Eve", TKE_CURVE_P256, &error);
  g_autoptr (TkeCommand) cmd = tke_command_new ("mk.commit");
  json_t *jws, *payload, *jwk_a, *jwk_b, *jwk_e, *sigs;
  const char *kid;

  g_assert_no_error (error);
  tke_command_add_target (cmd, "u-1", 17);
  tke_command_add_target (cmd, "u-2", 4);
  tke_command_take_args (cmd, json_pack ("{s:s}", "vp", "00"));
  tke_command_set_validity (cmd, 1764280000, 1764280600);
  g_assert_true (tke_command_add_signature (cmd, TKE_SIGNER (alice), NULL, &error));
  g_assert_true (tke_command_add_signature (cmd, TKE_SIGNER (bob), NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tke_command_get_n_signatures (cmd), ==, 2);

  jws = tke_command_to_json (cmd);
  payload = decode_payload (json_string_value (json_object_get (jws, "payload")));
  g_assert_cmpstr (json_string_value (json_object_get (payload, "typ")), ==, "tke-command/1");
  g_assert_cmpstr (json_string_value (json_object_get (payload, "op")), ==, "mk.commit");
  g_assert_cmpint (json_integer_value (json_object_get (
                       json_array_get (json_object_get (payload, "targets"), 1), "counter")),
                   ==, 4);
  g_assert_cmpint (json_integer_value (json_object_get (payload, "exp")), ==, 1764280600);
  g_assert_cmpuint (strlen (json_string_value (json_object_get (payload, "nonce"))), ==, 22);

  jwk_a = tke_ec_key_to_jwk (tke_signer_get_public_key (TKE_SIGNER (alice)), FALSE, NULL);
  jwk_b = tke_ec_key_to_jwk (tke_signer_get_public_key (TKE_SIGNER (bob)), FALSE, NULL);
  jwk_e = tke_ec_key_to_jwk (tke_signer_get_public_key (TKE_SIGNER (eve)), FALSE, NULL);
  sigs = json_object_get (jws, "signatures");
  g_assert_true (jose_jws_ver (NULL, jws, json_array_get (sigs, 0), jwk_a, false));
  g_assert_true (jose_jws_ver (NULL, jws, json_array_get (sigs, 1), jwk_b, false));
  g_assert_false (jose_jws_ver (NULL, jws, json_array_get (sigs, 0), jwk_e, false));
  g_assert_false (jose_jws_ver (NULL, jws, json_array_get (sigs, 1), jwk_a, false));

  kid = json_string_value (json_object_get (jose_jws_hdr (json_array_get (sigs, 1)), "kid"));
  g_assert_cmpstr (kid, ==, tke_signer_get_ski (TKE_SIGNER (bob)));

  /* A changed payload no longer verifies. */
  json_object_set_new (jws, "payload", json_string ("eyJ4IjoxfQ"));
  g_assert_false (jose_jws_ver (NULL, jws, json_array_get (sigs, 0), jwk_a, false));

  json_decref (jwk_a);
  json_decref (jwk_b);
  json_decref (jwk_e);
  json_decref (payload);
  json_decref (jws);
}

static void
test_key_part_jwe (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) identity = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (EVP_PKEY) other = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (EVP_PKEY) importer = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (EVP_PKEY) importer2 = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (TkeSecret) part = tke_secret_new_random (32, &error);
  g_autoptr (TkeSecret) back = NULL;
  json_t *identity_jwk, *other_jwk, *importer_pub, *importer_priv, *importer2_priv;
  json_t *statement, *jws, *checked, *jwe, *hdr;

  g_assert_no_error (error);
  identity_jwk = tke_ec_key_to_jwk (identity, FALSE, NULL);
  other_jwk = tke_ec_key_to_jwk (other, FALSE, NULL);
  importer_pub = tke_ec_key_to_jwk (importer, FALSE, NULL);
  importer_priv = tke_ec_key_to_jwk (importer, TRUE, NULL);
  importer2_priv = tke_ec_key_to_jwk (importer2, TRUE, NULL);
  statement =
      json_pack ("{s:s, s:s, s:O}", "typ", TKE_IMPORTER_TYP, "unit", "u-1", "key", importer_pub);
  jws = tke_jws_sign_flattened (identity, NULL, statement, &error);
  g_assert_no_error (error);

  checked = tke_importer_key_check (jws, identity_jwk, "u-1", &error);
  g_assert_no_error (error);
  g_assert_true (json_equal (checked, importer_pub));
  g_assert_null (tke_importer_key_check (jws, other_jwk, "u-1", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  g_clear_error (&error);
  g_assert_null (tke_importer_key_check (jws, identity_jwk, "u-2", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  g_clear_error (&error);

  jwe = tke_key_part_encrypt (checked, part, &error);
  g_assert_no_error (error);
  hdr = jose_jwe_hdr (jwe, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (hdr, "alg")), ==, "ECDH-ES");
  g_assert_cmpstr (json_string_value (json_object_get (hdr, "enc")), ==, "A256GCM");
  json_decref (hdr);

  back = tke_key_part_decrypt (jwe, importer_priv, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (back, part));
  g_assert_null (tke_key_part_decrypt (jwe, importer2_priv, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  g_clear_error (&error);

  /* A flipped ciphertext character fails the GCM tag. */
  {
    char *ct = g_strdup (json_string_value (json_object_get (jwe, "ciphertext")));
    ct[0] = ct[0] == 'A' ? 'B' : 'A';
    json_object_set_new (jwe, "ciphertext", json_string (ct));
    g_free (ct);
    g_assert_null (tke_key_part_decrypt (jwe, importer_priv, &error));
    g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
  }

  json_decref (jwe);
  json_decref (checked);
  json_decref (jws);
  json_decref (statement);
  json_decref (identity_jwk);
  json_decref (other_jwk);
  json_decref (importer_pub);
  json_decref (importer_priv);
  json_decref (importer2_priv);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/command/two-signatures", test_two_signatures_verify);
  g_test_add_func ("/command/key-part-jwe", test_key_part_jwe);
  return g_test_run ();
}
