/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The TKE card profile against the virtual card engine in an in-process reader: each operation
 * as an operator runs it, and for each write the card pulled after every APDU in turn. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>

#include "card-test-ops.h"
#include "tke-card-profile.h"
#include "tke-card-signer.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-tlv.h"
#include "tke-vcard-engine.h"
#include "tke-virtual-reader.h"

#define READER "Reader 2"

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
connect_card (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_clear_object (&f->piv);
  g_clear_object (&f->connection);
  f->connection = tke_reader_manager_connect (f->manager, READER, &error);
  g_assert_no_error (error);
  f->piv = tke_piv_client_new (f->connection);
}

static void
insert (Fixture *f, TkeVcardEngine *engine)
{
  g_autoptr (GError) error = NULL;

  tke_virtual_reader_manager_remove (TKE_VIRTUAL_READER_MANAGER (f->manager), READER);
  g_set_object (&f->engine, engine);
  g_assert_true (tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (f->manager), READER,
                                                    TKE_VIRTUAL_CARD (engine), &error));
  g_assert_no_error (error);
  connect_card (f);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeVcardEngine) blank = tke_vcard_engine_new_blank (1001, TKE_VCARD_MGMT_ALG_AES192);

  f->manager = tke_virtual_reader_manager_new ();
  g_assert_true (tke_virtual_reader_manager_add_reader (TKE_VIRTUAL_READER_MANAGER (f->manager),
                                                        READER, &error));
  insert (f, blank);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->piv);
  g_clear_object (&f->connection);
  g_clear_object (&f->manager);
  g_clear_object (&f->engine);
}

static void
initialize (Fixture *f, const char *pin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) current = secret ("123456");
  g_autoptr (TkeSecret) new_pin = secret (pin);

  g_assert_true (tke_card_profile_initialize (f->piv, current, new_pin, NULL, NULL,
                                              "Domain 7 key parts", &error));
  g_assert_no_error (error);
}

static void
test_profile_initialize (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeCardInfo) before = NULL;
  g_autoptr (TkeCardInfo) after = NULL;
  g_autoptr (TkeSecret) old_pin = secret ("123456");
  g_autoptr (TkeSecret) new_pin = secret ("20261127");
  g_autoptr (GBytes) pivman = NULL;
  g_autoptr (GBytes) printed = NULL;
  TkePivMetadata md;
  TkeTlv outer, flags;

  before = tke_card_profile_read_info (f->piv, &error);
  g_assert_no_error (error);
  g_assert_false (before->initialized);
  g_assert_true (before->has_serial);
  g_assert_cmpuint (before->serial, ==, 1001);
  g_assert_null (before->admin_name);
  g_assert_cmpint (before->pin_tries_left, ==, 3);

  /* Bad input never reaches the card. */
  {
    g_autoptr (TkeSecret) letters = secret ("12ab56");

    g_assert_false (
        tke_card_profile_initialize (f->piv, old_pin, letters, NULL, NULL, "x", &error));
    g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  initialize (f, "20261127");
  after = tke_card_profile_read_info (f->piv, &error);
  g_assert_no_error (error);
  g_assert_true (after->initialized);
  g_assert_cmpstr (after->description, ==, "Domain 7 key parts");
  g_assert_cmpuint (after->parts->len, ==, 0);
  /* The PIN stays verified until the card is reset (the connection is closed with a reset). */
  g_assert_cmpint (after->pin_tries_left, ==, -1);

  /* Only once. */
  g_assert_false (
      tke_card_profile_initialize (f->piv, new_pin, new_pin, NULL, NULL, "again", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (tke_piv_client_begin (f->piv, &error));
  /* The default PIN is gone, the new one works. */
  g_assert_false (tke_piv_client_verify (f->piv, TKE_PIV_PIN, old_pin, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_clear_error (&error);

  /* The management key is no longer the default, and it is stored the ykman way: the flag
   * readable by anyone, the key only after the PIN. */
  g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_SLOT_MANAGEMENT, &md, &error));
  g_assert_cmpint (md.is_default, ==, 0);
  g_assert_cmpint (md.algorithm, ==, TKE_PIV_ALG_AES192);
  tke_piv_metadata_clear (&md);
  pivman = tke_piv_client_get_data (f->piv, TKE_PIV_OBJ_PIVMAN, &error);
  g_assert_no_error (error);
  g_assert_true (tke_tlv_find (g_bytes_get_data (pivman, NULL), g_bytes_get_size (pivman), 0x80,
                               &outer, &error));
  g_assert_true (tke_tlv_find (outer.value, outer.len, 0x81, &flags, &error));
  g_assert_cmpuint (flags.len, ==, 1);
  g_assert_cmpuint (flags.value[0] & 0x02, ==, 0x02);
  printed = tke_piv_client_get_data (f->piv, TKE_PIV_OBJ_PRINTED, &error);
  g_assert_null (printed);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_STATUS);
  g_clear_error (&error);
  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, new_pin, NULL, &error));
  printed = tke_piv_client_get_data (f->piv, TKE_PIV_OBJ_PRINTED, &error);
  g_assert_no_error (error);
  g_assert_true (tke_tlv_find (g_bytes_get_data (printed, NULL), g_bytes_get_size (printed), 0x88,
                               &outer, &error));
  g_assert_true (tke_tlv_find (outer.value, outer.len, 0x89, &flags, &error));
  g_assert_cmpuint (flags.len, ==, 24);

  /* 9D was generated on the card, for key agreement, behind the PIN. */
  g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_SLOT_KEY_MANAGEMENT, &md, &error));
  g_assert_cmpint (md.algorithm, ==, TKE_PIV_ALG_ECCP256);
  g_assert_cmpint (md.origin, ==, 1);
  g_assert_cmpint (md.pin_policy, ==, TKE_PIV_PIN_POLICY_ONCE);
  tke_piv_metadata_clear (&md);
  tke_piv_client_end (f->piv);
}

static void
test_profile_signature_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (EVP_PKEY) again = NULL;
  g_autoptr (EVP_PKEY) cert_key = NULL;
  g_autoptr (GBytes) cert = NULL;
  g_autoptr (GBytes) spki_a = NULL;
  g_autoptr (GBytes) spki_b = NULL;
  g_autoptr (TkeCardInfo) info = NULL;
  g_autofree char *name = NULL;

  /* A blank card is refused: it has no profile. */
  key = tke_card_profile_generate_signature_key (f->piv, pin, "Alice", &error);
  g_assert_null (key);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  initialize (f, "13572468");
  key = tke_card_profile_generate_signature_key (f->piv, pin, "", &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  key = tke_card_profile_generate_signature_key (f->piv, pin, "Alice Example, Security Officer",
                                                 &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT); /* 31 characters */
  g_clear_error (&error);

  key = tke_card_profile_generate_signature_key (f->piv, pin, "Alice Ölund", &error);
  g_assert_no_error (error);
  g_assert_nonnull (key);

  cert = tke_card_profile_read_certificate (f->piv, &error);
  g_assert_no_error (error);
  g_assert_true (tke_certificate_check_self_signed (
      g_bytes_get_data (cert, NULL), g_bytes_get_size (cert), &name, &cert_key, &error));
  g_assert_cmpstr (name, ==, "Alice Ölund");
  spki_a = tke_ec_key_to_spki (key, &error);
  spki_b = tke_ec_key_to_spki (cert_key, &error);
  g_assert_true (g_bytes_equal (spki_a, spki_b));

  info = tke_card_profile_read_info (f->piv, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->admin_name, ==, "Alice Ölund");

  /* One signature key per card. */
  again = tke_card_profile_generate_signature_key (f->piv, pin, "Bob", &error);
  g_assert_null (again);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Alice Ölund"));
}

static void
test_profile_card_signer (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (TkeSecret) wrong = secret ("99999999");
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (TkeCardSigner) signer = NULL;
  g_autoptr (TkeCardSigner) bad = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) spki_a = NULL;
  g_autoptr (GBytes) spki_b = NULL;
  const char *payload = "{\"op\":\"admin.add\"}";

  initialize (f, "13572468");
  /* No signature key yet: no signer. */
  signer = tke_card_signer_new (f->piv, pin, &error);
  g_assert_null (signer);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  key = tke_card_profile_generate_signature_key (f->piv, pin, "Erin", &error);
  g_assert_no_error (error);
  signer = tke_card_signer_new (f->piv, pin, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tke_signer_get_name (TKE_SIGNER (signer)), ==, "Erin");
  g_assert_cmpstr (tke_signer_get_jws_alg (TKE_SIGNER (signer)), ==, "ES256");
  spki_a = tke_ec_key_to_spki (key, &error);
  spki_b = tke_ec_key_to_spki (tke_signer_get_public_key (TKE_SIGNER (signer)), &error);
  g_assert_true (g_bytes_equal (spki_a, spki_b));

  /* The card was reset in between (another program): the signer verifies the PIN again. */
  tke_card_connection_disconnect (f->connection, TRUE);
  connect_card (f);
  g_clear_object (&signer);
  signer = tke_card_signer_new (f->piv, pin, &error);
  sig = tke_signer_sign_data (TKE_SIGNER (signer), (const guint8 *) payload, strlen (payload), NULL,
                              &error);
  g_assert_no_error (error);
  g_assert_true (tke_ecdsa_verify_data (key, (const guint8 *) payload, strlen (payload),
                                        g_bytes_get_data (sig, NULL), g_bytes_get_size (sig)));

  /* A wrong PIN is tried once per signature, never again by itself. */
  bad = tke_card_signer_new (f->piv, wrong, &error);
  g_clear_pointer (&sig, g_bytes_unref);
  sig = tke_signer_sign_data (TKE_SIGNER (bad), (const guint8 *) payload, strlen (payload), NULL,
                              &error);
  g_assert_null (sig);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_nonnull (strstr (error->message, "2 tries left"));
}

static void
test_profile_import_signature_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_autoptr (TkeCardInfo) info = NULL;
  g_autoptr (GBytes) sig = NULL;
  guint8 digest[32];
  unsigned int dl = 0;

  initialize (f, "13572468");
  g_assert_true (tke_card_profile_import_signature_key (f->piv, pin, key, "Carol", &error));
  g_assert_no_error (error);
  info = tke_card_profile_read_info (f->piv, &error);
  g_assert_cmpstr (info->admin_name, ==, "Carol");

  /* The card signs with the imported key. */
  g_assert_true (tke_piv_client_begin (f->piv, &error));
  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, pin, NULL, &error));
  EVP_Digest ("abc", 3, digest, &dl, EVP_sha256 (), NULL);
  sig = tke_piv_client_sign_digest (f->piv, TKE_PIV_SLOT_AUTHENTICATION, TKE_PIV_ALG_ECCP256,
                                    digest, 32, &error);
  tke_piv_client_end (f->piv);
  g_assert_no_error (error);
  g_assert_true (tke_ecdsa_verify_data (key, (const guint8 *) "abc", 3,
                                        g_bytes_get_data (sig, NULL), g_bytes_get_size (sig)));

  g_assert_false (tke_card_profile_import_signature_key (f->piv, pin, key, "Carol", &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_profile_key_parts (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (TkeSecret) wrong = secret ("11111111");
  g_autoptr (TkeKeyPartInfo) first = NULL;
  g_autoptr (TkeKeyPartInfo) second = NULL;
  g_autoptr (TkeKeyPartInfo) taken_info = NULL;
  g_autoptr (TkeSecret) taken = NULL;
  g_autoptr (TkeSecret) given = NULL;
  g_autoptr (TkeSecret) back = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  guint8 vp[TKE_VP_LEN];
  guint before;
  int tries = 0;

  initialize (f, "13572468");
  first = tke_card_profile_generate_key_part (f->piv, pin, "Master key part 1 of 2", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (first->id, ==, 1);

  /* Another part from elsewhere (a file, another card). */
  given = tke_secret_new_random (TKE_KEY_PART_LEN, &error);
  second = tke_card_profile_put_key_part (f->piv, pin, given, "Part 2, from file", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (second->id, ==, 2);
  tke_vp_compute (tke_secret_peek (given), TKE_KEY_PART_LEN, vp);
  g_assert_cmpmem (second->vp, TKE_VP_LEN, vp, TKE_VP_LEN);

  /* Listing is one object read after SELECT. */
  before = tke_card_connection_get_apdu_count (f->connection);
  parts = tke_card_profile_list_parts (f->piv, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tke_card_connection_get_apdu_count (f->connection) - before, ==, 2);
  g_assert_cmpuint (parts->len, ==, 2);
  g_assert_cmpstr (((TkeKeyPartInfo *) g_ptr_array_index (parts, 0))->description, ==,
                   "Master key part 1 of 2");
  g_assert_cmpmem (((TkeKeyPartInfo *) g_ptr_array_index (parts, 0))->vp, TKE_VP_LEN, first->vp,
                   TKE_VP_LEN);
  g_assert_cmpint (((TkeKeyPartInfo *) g_ptr_array_index (parts, 1))->created, >, 1700000000);

  /* Taking a part out needs the right PIN; a wrong one shows the tries left. */
  taken = tke_card_profile_take_key_part (f->piv, wrong, 1, NULL, &error);
  g_assert_null (taken);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
  g_assert_nonnull (strstr (error->message, "2 tries left"));
  g_clear_error (&error);
  taken = tke_card_profile_take_key_part (f->piv, pin, 1, &taken_info, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tke_secret_len (taken), ==, TKE_KEY_PART_LEN);
  tke_vp_compute (tke_secret_peek (taken), TKE_KEY_PART_LEN, vp);
  g_assert_cmpmem (vp, TKE_VP_LEN, first->vp, TKE_VP_LEN);
  g_assert_cmpstr (taken_info->description, ==, "Master key part 1 of 2");
  {
    g_autoptr (TkeCardInfo) info = tke_card_profile_read_info (f->piv, &error);

    g_assert_cmpint (info->pin_tries_left, ==, -1); /* verified: the card does not count */
  }

  back = tke_card_profile_take_key_part (f->piv, pin, 2, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (back, given));

  /* Deleting part 1: gone from the list, and its number is reused. */
  g_assert_true (tke_card_profile_delete_key_part (f->piv, pin, 1, &error));
  g_assert_no_error (error);
  g_clear_pointer (&parts, g_ptr_array_unref);
  parts = tke_card_profile_list_parts (f->piv, &error);
  g_assert_cmpuint (parts->len, ==, 1);
  g_assert_cmpuint (((TkeKeyPartInfo *) g_ptr_array_index (parts, 0))->id, ==, 2);
  g_clear_pointer (&taken, tke_secret_free);
  taken = tke_card_profile_take_key_part (f->piv, pin, 1, NULL, &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (tke_card_profile_delete_key_part (f->piv, pin, 1, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&first, tke_key_part_info_free);
  first = tke_card_profile_generate_key_part (f->piv, pin, "Again", &error);
  g_assert_cmpuint (first->id, ==, 1);

  /* The card fills up at TKE_CARD_MAX_PARTS. */
  for (guint i = 2; i < TKE_CARD_MAX_PARTS; i++)
    {
      g_autoptr (TkeKeyPartInfo) more =
          tke_card_profile_generate_key_part (f->piv, pin, "Filler part", &error);
      g_assert_no_error (error);
    }
  {
    g_autoptr (TkeKeyPartInfo) one_too_many =
        tke_card_profile_generate_key_part (f->piv, pin, "No room", &error);
    g_assert_null (one_too_many);
    g_assert_error (error, TKE_ERROR, TKE_ERROR_NO_SPACE);
    g_clear_error (&error);
  }

  /* A wrong PIN never burned more than the one try it was typed for. */
  g_assert_true (tke_piv_client_begin (f->piv, &error));
  {
    gboolean verified;

    g_assert_true (tke_piv_client_logout (f->piv, &error));
    g_assert_true (tke_piv_client_verify_status (f->piv, TKE_PIV_PIN, &verified, &tries, &error));
    g_assert_cmpint (tries, ==, 3);
  }
  tke_piv_client_end (f->piv);
}

static void
test_profile_part_bound_to_card (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autoptr (GBytes) record = NULL;
  g_autoptr (GBytes) directory = NULL;
  g_autoptr (TkeVcardEngine) other = tke_vcard_engine_new_blank (1002, TKE_VCARD_MGMT_ALG_3DES);
  g_autoptr (TkeSecret) stolen = NULL;
  g_autoptr (TkeSecret) mgmt = NULL;

  initialize (f, "13572468");
  part = tke_card_profile_generate_key_part (f->piv, pin, "Part", &error);
  g_assert_no_error (error);
  g_assert_true (tke_piv_client_begin (f->piv, &error));
  record = tke_piv_client_get_data (f->piv, TKE_CARD_OBJ_PART_BASE + 1, &error);
  directory = tke_piv_client_get_data (f->piv, TKE_CARD_OBJ_DIRECTORY, &error);
  tke_piv_client_end (f->piv);
  g_assert_no_error (error);

  /* The same bytes copied onto another card do not decrypt there: the part is bound to 9D. */
  insert (f, other);
  initialize (f, "13572468");
  g_assert_true (tke_piv_client_begin (f->piv, &error));
  g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, pin, NULL, &error));
  {
    /* Write them with the card's own management key, as an attacker with the PIN could. */
    g_autoptr (GBytes) printed = tke_piv_client_get_data (f->piv, TKE_PIV_OBJ_PRINTED, &error);
    TkeTlv outer, key;

    g_assert_true (tke_tlv_find (g_bytes_get_data (printed, NULL), g_bytes_get_size (printed), 0x88,
                                 &outer, &error));
    g_assert_true (tke_tlv_find (outer.value, outer.len, 0x89, &key, &error));
    mgmt = tke_secret_new_from (key.value, key.len, &error);
  }
  g_assert_true (tke_piv_client_authenticate (f->piv, TKE_PIV_ALG_3DES, mgmt, &error));
  g_assert_true (tke_piv_client_put_data (f->piv, TKE_CARD_OBJ_PART_BASE + 1,
                                          g_bytes_get_data (record, NULL),
                                          g_bytes_get_size (record), &error));
  g_assert_true (tke_piv_client_put_data (f->piv, TKE_CARD_OBJ_DIRECTORY,
                                          g_bytes_get_data (directory, NULL),
                                          g_bytes_get_size (directory), &error));
  tke_piv_client_end (f->piv);
  g_assert_no_error (error);

  stolen = tke_card_profile_take_key_part (f->piv, pin, 1, NULL, &error);
  g_assert_null (stolen);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CRYPTO);
}

static void
test_profile_pin_change_and_unblock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeSecret) pin = secret ("13572468");
  g_autoptr (TkeSecret) next = secret ("864200");
  g_autoptr (TkeSecret) wrong = secret ("000000");
  g_autoptr (TkeSecret) puk = secret ("12345678");
  g_autoptr (TkeKeyPartInfo) part = NULL;
  g_autoptr (TkeSecret) taken = NULL;
  g_autoptr (TkeCardInfo) info = NULL;

  initialize (f, "13572468");
  part = tke_card_profile_generate_key_part (f->piv, pin, "Part", &error);
  g_assert_true (tke_card_profile_change_pin (f->piv, pin, next, &error));
  g_assert_no_error (error);

  /* Three wrong PINs: the third blocks. */
  for (int i = 2; i >= 0; i--)
    {
      taken = tke_card_profile_take_key_part (f->piv, wrong, 1, NULL, &error);
      g_assert_null (taken);
      if (i > 0)
        {
          g_autofree char *words = g_strdup_printf ("%d %s left", i, i == 1 ? "try" : "tries");

          g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_WRONG);
          g_assert_nonnull (strstr (error->message, words));
        }
      else
        g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED);
      g_clear_error (&error);
    }
  info = tke_card_profile_read_info (f->piv, &error);
  g_assert_cmpint (info->pin_tries_left, ==, 0);
  taken = tke_card_profile_take_key_part (f->piv, next, 1, NULL, &error);
  g_assert_error (error, TKE_ERROR, TKE_ERROR_PIN_BLOCKED);
  g_clear_error (&error);

  /* The PUK unblocks, with a new PIN; the stored management key still works with it. */
  g_assert_true (tke_card_profile_unblock_pin (f->piv, puk, pin, &error));
  g_assert_no_error (error);
  taken = tke_card_profile_take_key_part (f->piv, pin, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (taken);
  g_clear_pointer (&part, tke_key_part_info_free);
  part = tke_card_profile_generate_key_part (f->piv, pin, "After unblock", &error);
  g_assert_no_error (error);
}

static void
test_profile_directory_parser (void)
{
  g_autoptr (GPtrArray) parts =
      g_ptr_array_new_with_free_func ((GDestroyNotify) tke_key_part_info_free);
  g_autoptr (GPtrArray) back = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *description = NULL;
  TkeKeyPartInfo *info = g_new0 (TkeKeyPartInfo, 1);
  guint version = 0;
  guint8 *copy;
  gsize len;

  info->id = 3;
  info->description = g_strdup ("Part three");
  info->created = 1764280000;
  memset (info->vp, 0xAB, TKE_VP_LEN);
  g_ptr_array_add (parts, info);
  bytes = tke_card_directory_build ("Card", parts);
  back = tke_card_directory_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   &version, &description, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (version, ==, 1);
  g_assert_cmpstr (description, ==, "Card");
  g_assert_cmpuint (back->len, ==, 1);
  g_assert_cmpint (((TkeKeyPartInfo *) g_ptr_array_index (back, 0))->created, ==, 1764280000);

  /* Every truncation is refused, except at the boundary before the entry, which is a valid
   * directory without parts. (Under ASan this also shows nothing is read past the end.) */
  len = g_bytes_get_size (bytes);
  copy = g_memdup2 (g_bytes_get_data (bytes, NULL), len);
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree guint8 *exact = g_memdup2 (copy, cut);
      g_autoptr (GPtrArray) partial = tke_card_directory_parse (exact, cut, NULL, NULL, &error);

      if (cut == 3 + 2 + strlen ("Card"))
        {
          g_assert_no_error (error);
          g_assert_cmpuint (partial->len, ==, 0);
          continue;
        }
      g_assert_null (partial);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  /* A creation time past what a signed 64-bit second count holds (found by the fuzzer). */
  {
    TkeKeyPartInfo *late = g_ptr_array_index (parts, 0);
    g_autoptr (GBytes) far = NULL;
    g_autoptr (GPtrArray) none = NULL;

    late->created = -1; /* encodes as eight FF bytes */
    far = tke_card_directory_build ("Card", parts);
    none = tke_card_directory_parse (g_bytes_get_data (far, NULL), g_bytes_get_size (far), NULL,
                                     NULL, &error);
    g_assert_null (none);
    g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
    g_clear_error (&error);
  }
  /* An unknown profile version says so. */
  copy[2] = 9;
  g_assert_null (tke_card_directory_parse (copy, len, NULL, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "version 9"));
  g_free (copy);
}

/* ---- a card pulled after every APDU of each write ---- */

static void
test_profile_pulled (Fixture *f, gconstpointer data)
{
  TkeTestOp op = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tke-card-XXXXXX", &error);
  g_autofree char *image = g_build_filename (dir, "before.card", NULL);
  guint total, olds = 0, news = 0;

  tke_test_prepare (f->piv, op);
  tke_vcard_engine_set_path (f->engine, image);
  g_assert_true (tke_vcard_engine_save (f->engine, &error));
  tke_vcard_engine_set_path (f->engine, NULL);

  /* How many APDUs the operation takes when nothing goes wrong. */
  {
    guint before = tke_card_connection_get_apdu_count (f->connection);

    g_assert_true (tke_test_run_op (f->piv, op, &error));
    g_assert_no_error (error);
    total = tke_card_connection_get_apdu_count (f->connection) - before;
  }

  for (guint n = 1; n <= total; n++)
    {
      g_autoptr (TkeVcardEngine) copy = tke_vcard_engine_load (image, &error);
      const char *state;

      g_assert_no_error (error);
      tke_vcard_engine_set_path (copy, NULL);
      insert (f, copy);
      tke_virtual_reader_manager_remove_after (TKE_VIRTUAL_READER_MANAGER (f->manager), READER, n);
      g_assert_false (tke_test_run_op (f->piv, op, &error));
      g_assert_error (error, TKE_ERROR, TKE_ERROR_CARD_REMOVED);
      g_assert_nonnull (strstr (error->message, "removed"));
      g_clear_error (&error);

      /* Reinserted: old or new, and usable either way. */
      g_assert_true (tke_virtual_reader_manager_insert (TKE_VIRTUAL_READER_MANAGER (f->manager),
                                                        READER, TKE_VIRTUAL_CARD (copy), &error));
      connect_card (f);
      state = tke_test_judge (f->piv, op);
      if (op == TKE_TEST_OP_INITIALIZE && g_str_equal (state, "old"))
        {
          /* The operator starts again, with the PIN the card has now: it completes. */
          g_autoptr (TkeSecret) new_pin = secret (TKE_TEST_PIN);
          g_autoptr (TkeSecret) current = NULL;
          g_autoptr (TkeCardInfo) info = NULL;
          TkePivMetadata md;

          g_assert_true (tke_piv_client_begin (f->piv, &error));
          g_assert_true (tke_piv_client_get_metadata (f->piv, TKE_PIV_PIN, &md, &error));
          tke_piv_client_end (f->piv);
          current = secret (md.is_default ? "123456" : TKE_TEST_PIN);
          g_assert_true (
              tke_card_profile_initialize (f->piv, current, new_pin, NULL, NULL, "Pulled", &error));
          g_assert_no_error (error);
          info = tke_card_profile_read_info (f->piv, &error);
          g_assert_true (info->initialized);
        }
      if (op == TKE_TEST_OP_CHANGE_PIN && g_str_equal (state, "new"))
        {
          g_autoptr (TkeSecret) next = secret (tke_test_pin_after (op, state));

          g_assert_true (tke_piv_client_begin (f->piv, &error));
          g_assert_true (tke_piv_client_verify (f->piv, TKE_PIV_PIN, next, NULL, &error));
          tke_piv_client_end (f->piv);
        }
      g_test_message ("%s: pulled after APDU %u of %u: %s state", tke_test_op_names[op], n, total,
                      state);
      if (g_str_equal (state, "old"))
        olds++;
      else
        news++;
    }
  g_test_message ("%s: %u APDUs, %u pulls read back old, %u new", tke_test_op_names[op], total,
                  olds, news);
  g_assert_cmpuint (olds + news, ==, total);
  g_assert_cmpuint (olds, >, 0);
  g_unlink (image);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/profile/initialize", test_profile_initialize);
  ADD ("/profile/signature-key", test_profile_signature_key);
  ADD ("/profile/import-signature-key", test_profile_import_signature_key);
  ADD ("/profile/card-signer", test_profile_card_signer);
  ADD ("/profile/key-parts", test_profile_key_parts);
  ADD ("/profile/part-bound-to-card", test_profile_part_bound_to_card);
  ADD ("/profile/pin-change-and-unblock", test_profile_pin_change_and_unblock);
#undef ADD
  g_test_add_func ("/profile/directory-parser", test_profile_directory_parser);
  for (guint op = 0; op < TKE_TEST_N_OPS; op++)
    {
      g_autofree char *path = g_strdup_printf ("/profile/pulled/%s", tke_test_op_names[op]);

      g_test_add (path, Fixture, GINT_TO_POINTER (op), fixture_set_up, test_profile_pulled,
                  fixture_tear_down);
    }

  return g_test_run ();
}
