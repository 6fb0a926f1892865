/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The command builder's JWS verifies with libjose per signer; key parts round-trip through JWE. */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include <jose/jose.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include "tke-command.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-memory-signer.h"
#include "tke-secmem.h"
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

/* Both directions against libjose, an independent JOSE implementation: libjose decrypts what
 * tke_key_part_encrypt made, and tke_key_part_decrypt decrypts what libjose made, per curve. */
static void
test_key_part_jwe_libjose (void)
{
  const TkeCurve curves[] = { TKE_CURVE_P256, TKE_CURVE_P384, TKE_CURVE_P521 };

  for (guint c = 0; c < G_N_ELEMENTS (curves); c++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EVP_PKEY) importer = tke_ec_key_generate (curves[c], &error);
      g_autoptr (TkeSecret) part = tke_secret_new_random (TKE_KEY_PART_LEN, &error);
      g_autoptr (TkeSecret) back = NULL;
      json_t *pub = tke_ec_key_to_jwk (importer, FALSE, NULL);
      json_t *priv = tke_ec_key_to_jwk (importer, TRUE, NULL);
      json_t *jwe = tke_key_part_encrypt (pub, part, &error);
      json_t *theirs;
      guint8 *plain;
      size_t len = 0;

      g_assert_no_error (error);
      g_assert_null (json_object_get (jwe, "header"));
      plain = jose_jwe_dec (NULL, jwe, NULL, priv, &len);
      g_assert_nonnull (plain);
      g_assert_cmpmem (plain, len, tke_secret_peek (part), TKE_KEY_PART_LEN);
      OPENSSL_cleanse (plain, len);
      free (plain);

      theirs = json_pack ("{s:{s:s, s:s}}", "protected", "alg", "ECDH-ES", "enc", "A256GCM");
      g_assert_true (
          jose_jwe_enc (NULL, theirs, NULL, pub, tke_secret_peek (part), TKE_KEY_PART_LEN));
      back = tke_key_part_decrypt (theirs, priv, &error);
      g_assert_no_error (error);
      g_assert_true (tke_secret_equal (back, part));

      json_decref (theirs);
      json_decref (jwe);
      json_decref (pub);
      json_decref (priv);
    }
}

/* Counts the places outside the secure heap where the first or the last 16 bytes of needle
 * (secure itself) occur in this process's writable memory: free () overwrites the start of a
 * freed block with its list pointers, and what follows stays. Not instrumented: under
 * AddressSanitizer it reads redzones too. */
#define WINDOW 16

__attribute__ ((no_sanitize_address)) static guint
count_window (const guint8 *needle, GString *where)
{
  FILE *maps = fopen ("/proc/self/maps", "r");
  char line[512];
  guint found = 0;

  g_assert_nonnull (maps);
  while (fgets (line, sizeof line, maps) != NULL)
    {
      unsigned long start, end;
      char perms[5];

      if (sscanf (line, "%lx-%lx %4s", &start, &end, perms) != 3 || perms[0] != 'r' ||
          perms[1] != 'w' || strstr (line, "[v") != NULL || end - start > (1UL << 30))
        continue;
      for (const volatile guint8 *p = (const guint8 *) start; p + WINDOW <= (const guint8 *) end;
           p++)
        {
          gsize i = 0;

          while (i < WINDOW && p[i] == needle[i])
            i++;
          if (i == WINDOW && !CRYPTO_secure_allocated ((const void *) p))
            {
              found++;
              g_string_append_printf (where, " %p in %s", (const void *) p, g_strstrip (line));
            }
        }
    }
  fclose (maps);
  return found;
}

static guint
count_in_memory (const guint8 *needle, gsize len, GString *where)
{
  g_assert_cmpuint (len, >=, 2 * WINDOW);
  return count_window (needle, where) + count_window (needle + len - WINDOW, where);
}

/* The shared secret and content-encryption key of an ECDH-ES JWE, computed independently with
 * OpenSSL's SSKDF (the Concat KDF of NIST SP 800-56A), in the secure heap. */
static TkeSecret *
jwe_cek (const json_t *jwe, EVP_PKEY *importer, TkeSecret **z_out)
{
  json_t *hdr = jose_jwe_hdr (jwe, jwe); /* flattened: the JWE is its own recipient */
  g_autoptr (EVP_PKEY) epk = tke_ec_key_from_jwk (json_object_get (hdr, "epk"), NULL);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, importer, NULL);
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, "SSKDF", NULL);
  EVP_KDF_CTX *kctx = EVP_KDF_CTX_new (kdf);
  static const guint8 info[] = { 0, 0, 0, 7, 'A', '2', '5', '6', 'G', 'C', 'M', 0,
                                 0, 0, 0, 0, 0,   0,   0,   0,   0,   1,   0 };
  TkeSecret *cek = tke_secret_new (32, NULL);
  TkeSecret *z;
  size_t z_len = 0;
  OSSL_PARAM params[4];

  g_assert_nonnull (epk);
  g_assert_cmpint (EVP_PKEY_derive_init (ctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive_set_peer (ctx, epk), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive (ctx, NULL, &z_len), ==, 1);
  z = tke_secret_new (z_len, NULL);
  g_assert_cmpint (EVP_PKEY_derive (ctx, tke_secret_data (z), &z_len), ==, 1);
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, tke_secret_data (z), z_len);
  params[2] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, (void *) info, sizeof info);
  params[3] = OSSL_PARAM_construct_end ();
  g_assert_cmpint (EVP_KDF_derive (kctx, tke_secret_data (cek), 32, params), ==, 1);
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  EVP_PKEY_CTX_free (ctx);
  json_decref (hdr);
  *z_out = z;
  return cek;
}

/* Base64url without padding of a secret, into the secure heap (libjose holds keys as JWKs, whose
 * "k" is this text). */
static TkeSecret *
secret_b64url (const TkeSecret *secret)
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const guint8 *in = tke_secret_peek (secret);
  gsize len = tke_secret_len (secret), bits = 0, n = 0;
  TkeSecret *out = tke_secret_new ((len * 8 + 5) / 6, NULL);
  guint8 *text = tke_secret_data (out);
  guint32 acc = 0;

  for (gsize i = 0; i < len; i++)
    {
      acc = (acc << 8) | in[i];
      bits += 8;
      while (bits >= 6)
        text[n++] = alphabet[(acc >> (bits -= 6)) & 63];
    }
  if (bits > 0)
    text[n++] = alphabet[(acc << (6 - bits)) & 63];
  g_assert_cmpuint (n, ==, tke_secret_len (out));
  return out;
}

/* Making a key part JWE leaves neither the part nor the shared secret nor the content-encryption
 * key anywhere in ordinary memory (heap, stack, data): they lived in the secure heap only. The
 * same holds for decrypting it. */
static void
test_key_part_jwe_memory (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) importer = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeSecret) back = NULL;
  g_autoptr (TkeSecret) cek = NULL;
  g_autoptr (TkeSecret) z = NULL;
  g_autoptr (TkeSecret) cek_text = NULL;
  g_autoptr (TkeSecret) part_text = NULL;
  g_autoptr (GString) where = g_string_new (NULL);
  json_t *pub = tke_ec_key_to_jwk (importer, FALSE, NULL);
  json_t *priv = tke_ec_key_to_jwk (importer, TRUE, NULL);
  json_t *jwe;

  /* Freed memory keeps what it held, as it does outside the tests (MALLOC_PERTURB_ is set). */
  mallopt (M_PERTURB, 0);
  g_assert_true (tke_secmem_init (&error));
  part = tke_secret_new_random (TKE_KEY_PART_LEN, &error);
  g_assert_no_error (error);
  g_assert_true (CRYPTO_secure_allocated (tke_secret_peek (part)));
  /* The search finds what is there: a copy in the ordinary heap shows both its ends. */
  {
    guint8 *copy = g_malloc (TKE_KEY_PART_LEN);

    memcpy (copy, tke_secret_peek (part), TKE_KEY_PART_LEN);
    g_assert_cmpuint (count_in_memory (tke_secret_peek (part), TKE_KEY_PART_LEN, where), ==, 2);
    tke_wipe (copy, TKE_KEY_PART_LEN);
    g_free (copy);
    g_string_truncate (where, 0);
  }

  jwe = tke_key_part_encrypt (pub, part, &error);
  g_assert_no_error (error);
  cek = jwe_cek (jwe, importer, &z);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (part), TKE_KEY_PART_LEN, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (cek), 32, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (z), tke_secret_len (z), where), ==, 0);
  cek_text = secret_b64url (cek);
  part_text = secret_b64url (part);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (cek_text), 43, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (part_text), 43, where), ==, 0);
  g_test_message ("after encrypting, found:%s", where->str);

  back = tke_key_part_decrypt (jwe, priv, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (back, part));
  g_assert_true (CRYPTO_secure_allocated (tke_secret_peek (back)));
  g_assert_cmpuint (count_in_memory (tke_secret_peek (part), TKE_KEY_PART_LEN, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (cek), 32, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (z), tke_secret_len (z), where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (cek_text), 43, where), ==, 0);
  g_assert_cmpuint (count_in_memory (tke_secret_peek (part_text), 43, where), ==, 0);

  json_decref (jwe);
  json_decref (pub);
  json_decref (priv);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/command/two-signatures", test_two_signatures_verify);
  g_test_add_func ("/command/key-part-jwe", test_key_part_jwe);
  g_test_add_func ("/command/key-part-jwe-libjose", test_key_part_jwe_libjose);
  g_test_add_func ("/command/key-part-jwe-memory", test_key_part_jwe_memory);
  return g_test_run ();
}
