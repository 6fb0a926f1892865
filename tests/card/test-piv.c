/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The PIV client against the virtual card engine in an in-process reader: PIN handling as an
 * operator sees it, objects of any size, keys generated, imported and used, management keys. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-piv-client.h"
#include "tke-vcard-engine.h"
#include "tke-virtual-reader.h"

static const guint8 default_mgmt_key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                             5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

typedef struct
{
  TkeReaderManager *manager;
  TkeVcardEngine *engine;
  TkeCardConnection *connection;
  TkePivClient *piv;
} Fixture;

static TkeSecret *
secret (const char *text)
{
  g_autoptr (GError) error = NULL;
  TkeSecret *s = tke_secret_new_from ((const guint8 *) text, strlen (text), &error);

  g_assert_no_error (error);
  return s;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  TkeVcardMgmtAlg alg = GPOINTER_TO_INT (data) ? GPOINTER_TO_INT (data) : TKE_VCARD_MGMT_ALG_3DES;
  g_autoptr (GError) error = NULL;
  TkeVirtualReaderManager *vm;

  f->manager = tke_virtual_reader_manager_new ();
  vm = TKE_VIRTUAL_READER_MANAGER (f->manager);
  f->engine = tke_vcard_engine_new_blank (4242, alg);
  g_assert_true (tke_virtual_reader_manager_add_reader (vm, "Reader 1", &error));
  g_assert_true (
      tke_virtual_reader_manager_insert (vm, "Reader 1", TKE_VIRTUAL_CARD (f->engine), &error));
  f->connection = tke_reader_manager_connect (f->manager, "Reader 1", &error);
  g_assert_no_error (error);
  f->piv = tke_piv_client_new (f->connection);
  g_assert_true (tke_piv_client_begin (f->piv, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  tke_piv_client_end (f->piv);
  g_clear_object (&f->piv);
  g_clear_object (&f->connection);
  g_clear_object (&f->manager);
  g_clear_object (&f->engine);
}

static void
authenticate_default (Fixture *f, TkePivAlgorithm alg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) key = tke_secret_new_from (default_mgmt_key, 24, &error);

  g_assert_true (tke_piv_client_authenticate (f->piv, alg, key, &error));
  g_assert_no_error (error);
}

static void
test_piv_select_and_identity (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint8 version[3];
  guint32 serial = 0;

  g_assert_true (tke_piv_client_select (f->piv, TRUE, &error));
  g_assert_true (tke_piv_client_select (f->piv, FALSE, &error));
  g_assert_true (tke_piv_client_get_version (f->piv, version, &error));
  g_assert_cmpuint (version[0], ==, TKE_VCARD_VERSION_MAJOR);
  g_assert_true (tke_piv_client_get_serial (f->piv, &serial, &error));
  g_assert_cmpuint (serial, ==, 4242);
  g_assert_no_error (error);
}

static void
test_piv_pin_tries_block_unblock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) good = secret ("123456");
  g_autoptr (TkeSecret) bad = secret ("654321");
  g_autoptr (TkeSecret) puk = secret ("12345678");
  g_autoptr (TkeSecret) new_pin = secret ("24681357");
  gboolean verified = TRUE;
  int tries = -2;

  g_assert_true (tke_piv_client_verify_status (f->piv, TKE_PIV_PIN, &verified, &tries, &error));
  g_assert_false (verified);
  g_assert_cmpint (tries, ==, 3);

  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, bad, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_cmpint (tries, ==, 2);
  g_assert_nonnull (strstr (error->message, "2 tries left"));
  g_clear_error (&error);

  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, bad, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_cmpint (tries, ==, 1);
  g_assert_nonnull (strstr (error->message, "1 try left"));
  g_clear_error (&error);

  /* The third wrong PIN blocks, and then even the right one is refused. */
  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, bad, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED);
  g_assert_cmpint (tries, ==, 0);
  g_assert_nonnull (strstr (error->message, "PUK"));
  g_clear_error (&error);
  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, good, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED);
  g_clear_error (&error);

  /* A wrong PUK counts down the PUK. */
  g_assert_false (tke_piv_client_reset_retry_counter (f->piv, bad, new_pin, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_nonnull (strstr (error->message, "PUK is wrong: 2 tries left"));
  g_clear_error (&error);

  g_assert_true (tke_piv_client_reset_retry_counter (f->piv, puk, new_pin, &tries, &error));
  g_assert_no_error (error);
  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, new_pin, &tries, &error));
  g_assert_true (tke_piv_client_verify_status (f->piv, TKE_PIV_PIN, &verified, &tries, &error));
  g_assert_true (verified);
  g_assert_true (tke_piv_client_logout (f->piv, &error));
  g_assert_true (tke_piv_client_verify_status (f->piv, TKE_PIV_PIN, &verified, &tries, &error));
  g_assert_false (verified);
  g_assert_cmpint (tries, ==, 3);

  /* CHANGE REFERENCE DATA: the old PIN stops working. */
  g_assert_true (
      tke_piv_client_change_reference (f->piv, TKE_PIV_PIN, new_pin, good, &tries, &error));
  g_assert_no_error (error);
  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, new_pin, &tries, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_clear_error (&error);
  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, good, &tries, &error));

  /* A PIN of the wrong length never reaches the card. */
  {
    g_autoptr (TkeSecret) short_pin = secret ("123");
    guint before = tke_card_connection_get_apdu_count (f->connection);

    g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, short_pin, &tries, &error));
    g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
    g_assert_cmpuint (tke_card_connection_get_apdu_count (f->connection), ==, before);
  }
}

static void
test_piv_objects (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = NULL;
  guint8 big[TKE_VCARD_OBJECT_MAX_LEN];

  got = tke_piv_client_get_data (f->piv, 0x5FD000, &error);
  g_assert_null (got);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Without the management key PUT DATA is refused. */
  g_assert_false (tke_piv_client_put_data (f->piv, 0x5FD000, big, 10, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS);
  g_clear_error (&error);

  authenticate_default (f, TKE_PIV_ALG_3DES);
  for (guint i = 0; i < sizeof big; i++)
    big[i] = (i * 31) & 0xFF;
  /* The biggest object the card holds: chained out, GET RESPONSE back. */
  g_assert_true (tke_piv_client_put_data (f->piv, 0x5FD000, big, sizeof big, &error));
  g_assert_no_error (error);
  got = tke_piv_client_get_data (f->piv, 0x5FD000, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), big, sizeof big);

  /* One byte more does not fit: the card says it has no room. */
  {
    g_autofree guint8 *too_big = g_malloc0 (sizeof big + 1);

    g_assert_false (tke_piv_client_put_data (f->piv, 0x5FD001, too_big, sizeof big + 1, &error));
    g_assert_nonnull (error);
    g_test_message ("too big: %s", error->message);
    g_clear_error (&error);
  }

  /* Deleting. */
  g_assert_true (tke_piv_client_put_data (f->piv, 0x5FD000, NULL, 0, &error));
  g_clear_pointer (&got, g_bytes_unref);
  got = tke_piv_client_get_data (f->piv, 0x5FD000, &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
}

static void
test_piv_generate_sign_ecdh (Fixture *f, gconstpointer data)
{
  const struct
  {
    TkePivAlgorithm alg;
    TkeCurve curve;
    guint8 slot;
  } cases[] = {
    { TKE_PIV_ALG_ECCP256, TKE_CURVE_P256, TKE_PIV_SLOT_AUTHENTICATION },
    { TKE_PIV_ALG_ECCP384, TKE_CURVE_P384, TKE_PIV_SLOT_KEY_MANAGEMENT },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("123456");

  authenticate_default (f, TKE_PIV_ALG_3DES);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (EVP_PKEY) pub = NULL;
      g_autoptr (EVP_PKEY) peer = NULL;
      g_autoptr (GBytes) sig = NULL;
      g_autoptr (TkeSecret) shared = NULL;
      TkePivMetadata md;
      guint8 digest[64];
      gsize digest_len = cases[i].alg == TKE_PIV_ALG_ECCP256 ? 32 : 48;
      const char *message = "a command to sign";
      unsigned int dl = 0;
      EVP_PKEY_CTX *ctx;
      guint8 host_shared[48];
      size_t host_len = sizeof host_shared;

      pub =
          tke_piv_client_generate_key (f->piv, cases[i].slot, cases[i].alg, TKE_PIV_PIN_POLICY_ONCE,
                                       TKE_PIV_TOUCH_POLICY_NEVER, &error);
      g_assert_no_error (error);
      g_assert_nonnull (pub);

      g_assert_true (tke_piv_client_get_metadata (f->piv, cases[i].slot, &md, &error));
      g_assert_no_error (error);
      g_assert_cmpint (md.algorithm, ==, cases[i].alg);
      g_assert_cmpint (md.pin_policy, ==, TKE_PIV_PIN_POLICY_ONCE);
      g_assert_cmpint (md.touch_policy, ==, TKE_PIV_TOUCH_POLICY_NEVER);
      g_assert_cmpint (md.origin, ==, 1);
      g_assert_nonnull (md.public_point);
      tke_piv_metadata_clear (&md);

      /* Signing needs the PIN. */
      g_assert_true (tke_piv_client_logout (f->piv, &error));
      EVP_Digest (message, strlen (message), digest, &dl, tke_curve_digest (cases[i].curve), NULL);
      g_assert_cmpuint (dl, ==, digest_len);
      sig = tke_piv_client_sign_digest (f->piv, cases[i].slot, cases[i].alg, digest, digest_len,
                                        &error);
      g_assert_null (sig);
      g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS);
      g_clear_error (&error);
      g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, pin, NULL, &error));
      sig = tke_piv_client_sign_digest (f->piv, cases[i].slot, cases[i].alg, digest, digest_len,
                                        &error);
      g_assert_no_error (error);
      g_assert_true (tke_ecdsa_verify_data (pub, (const guint8 *) message, strlen (message),
                                            g_bytes_get_data (sig, NULL), g_bytes_get_size (sig)));

      /* ECDH on the card equals ECDH on the host with the other half. */
      peer = tke_ec_key_generate (cases[i].curve, &error);
      g_assert_no_error (error);
      shared = tke_piv_client_ecdh (f->piv, cases[i].slot, cases[i].alg, peer, &error);
      g_assert_no_error (error);
      ctx = EVP_PKEY_CTX_new (peer, NULL);
      g_assert_cmpint (EVP_PKEY_derive_init (ctx), ==, 1);
      g_assert_cmpint (EVP_PKEY_derive_set_peer (ctx, pub), ==, 1);
      g_assert_cmpint (EVP_PKEY_derive (ctx, host_shared, &host_len), ==, 1);
      EVP_PKEY_CTX_free (ctx);
      g_assert_cmpmem (tke_secret_peek (shared), tke_secret_len (shared), host_shared, host_len);
    }

  /* A digest of the wrong size is refused before it reaches the card. */
  {
    guint8 d[20] = { 0 };
    g_autoptr (GBytes) sig = tke_piv_client_sign_digest (f->piv, TKE_PIV_SLOT_AUTHENTICATION,
                                                         TKE_PIV_ALG_ECCP256, d, sizeof d, &error);
    g_assert_null (sig);
    g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_piv_import (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (TkeSecret) pin = secret ("123456");
  g_autoptr (GBytes) sig = NULL;
  guint8 digest[32];
  unsigned int dl = 0;
  TkePivMetadata md;

  authenticate_default (f, TKE_PIV_ALG_3DES);
  g_assert_true (tke_piv_client_import_key (f->piv, TKE_PIV_SLOT_AUTHENTICATION, key,
                                            TKE_PIV_PIN_POLICY_ONCE, TKE_PIV_TOUCH_POLICY_NEVER,
                                            &error));
  g_assert_no_error (error);
  g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_SLOT_AUTHENTICATION, &md, &error));
  g_assert_cmpint (md.origin, ==, 2);
  tke_piv_metadata_clear (&md);

  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, pin, NULL, &error));
  EVP_Digest ("x", 1, digest, &dl, EVP_sha256 (), NULL);
  sig = tke_piv_client_sign_digest (f->piv, TKE_PIV_SLOT_AUTHENTICATION, TKE_PIV_ALG_ECCP256,
                                    digest, 32, &error);
  g_assert_no_error (error);
  g_assert_true (tke_ecdsa_verify_data (key, (const guint8 *) "x", 1, g_bytes_get_data (sig, NULL),
                                        g_bytes_get_size (sig)));
}

static void
test_piv_management_keys (Fixture *f, gconstpointer data)
{
  const TkePivAlgorithm algs[] = { TKE_PIV_ALG_AES128, TKE_PIV_ALG_AES192, TKE_PIV_ALG_AES256,
                                   TKE_PIV_ALG_3DES };
  TkePivAlgorithm current = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) key = tke_secret_new_from (default_mgmt_key, 24, &error);
  TkePivMetadata md;

  /* The card says which algorithm its management key has, and that it is the default. */
  g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_SLOT_MANAGEMENT, &md, &error));
  g_assert_no_error (error);
  g_assert_cmpint (md.algorithm, ==, current);
  g_assert_cmpint (md.is_default, ==, 1);
  tke_piv_metadata_clear (&md);

  /* A wrong key is refused. */
  {
    guint8 wrong[24];
    g_autoptr (TkeSecret) wrong_key = NULL;

    memcpy (wrong, default_mgmt_key, 24);
    wrong[0] ^= 0x55;
    wrong_key = tke_secret_new_from (wrong, 24, &error);
    g_assert_false (tke_piv_client_authenticate (f->piv, current, wrong_key, &error));
    g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS);
    g_clear_error (&error);
  }

  g_assert_true (tke_piv_client_authenticate (f->piv, current, key, &error));
  g_assert_no_error (error);

  /* Each algorithm in turn: set, then authenticate with it. */
  for (guint i = 0; i < G_N_ELEMENTS (algs); i++)
    {
      g_autoptr (TkeSecret) next =
          tke_secret_new_random (tke_piv_management_key_len (algs[i]), &error);

      g_assert_true (tke_piv_client_set_management_key (f->piv, algs[i], next, FALSE, &error));
      g_assert_no_error (error);
      g_assert_true (tke_piv_client_authenticate (f->piv, algs[i], next, &error));
      g_assert_no_error (error);
      g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_SLOT_MANAGEMENT, &md, &error));
      g_assert_cmpint (md.algorithm, ==, algs[i]);
      g_assert_cmpint (md.is_default, ==, 0);
      tke_piv_metadata_clear (&md);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, data, func)                                                                      \
  g_test_add (path, Fixture, GINT_TO_POINTER (data), fixture_set_up, func, fixture_tear_down)
  ADD ("/piv/select-and-identity", 0, test_piv_select_and_identity);
  ADD ("/piv/pin-tries-block-unblock", 0, test_piv_pin_tries_block_unblock);
  ADD ("/piv/objects", 0, test_piv_objects);
  ADD ("/piv/generate-sign-ecdh", 0, test_piv_generate_sign_ecdh);
  ADD ("/piv/import", 0, test_piv_import);
  ADD ("/piv/management-keys-3des", TKE_VCARD_MGMT_ALG_3DES, test_piv_management_keys);
  ADD ("/piv/management-keys-aes192", TKE_VCARD_MGMT_ALG_AES192, test_piv_management_keys);
#undef ADD

  return g_test_run ();
}
