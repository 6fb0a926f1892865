/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Signature key files: round trips per curve, what shows without the password, wrong passwords,
 * damaged files, and openssl reading ours and writing files we use as signers. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <openssl/pem.h>

#include "files-test-util.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-signature-key-file.h"

#define PASSWORD "correct horse battery staple"
/* Fast files for the tests that load hundreds of times; the round trips use the real counts. */
#define FAST_ITERATIONS 1

static const guint8 message[] = "ADMIN ADD, unit 3, signed in a key ceremony";

static char *
make_fast_file (const char *dir, const char *file_name, const char *name, TkeCurve curve)
{
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  key = tke_ec_key_generate (curve, &error);
  g_assert_no_error (error);
  info = tke_signature_key_file_write_with_iterations (path, name, key, password, FAST_ITERATIONS,
                                                       FAST_ITERATIONS, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
assert_signs (TkeSigner *signer, EVP_PKEY *public_key)
{
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GError) error = NULL;

  signature = tke_signer_sign_data (signer, message, sizeof message, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tke_ecdsa_verify_data (public_key, message, sizeof message,
                                        g_bytes_get_data (signature, NULL),
                                        g_bytes_get_size (signature)));
}

static void
test_round_trip (gconstpointer data)
{
  TkeCurve curve = GPOINTER_TO_INT (data);
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "admin.p12", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSignatureKeyFileInfo) created = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) listed = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (EVP_PKEY) private_key = NULL;
  g_autoptr (GBytes) certificate = NULL;
  g_autoptr (EVP_PKEY) cert_key = NULL;
  g_autofree char *cert_name = NULL;
  g_autoptr (GError) error = NULL;
  struct stat st;
  gint64 start;
  double create_s, load_s;

  start = g_get_monotonic_time ();
  created = tke_signature_key_file_create (path, "Åsa Lindqvist", curve, password, &error);
  create_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);

  /* Without the password: name, SKI and curve from the certificate bag. */
  listed = tke_signature_key_file_read_info (path, &error);
  g_assert_no_error (error);
  g_assert_true (listed->has_certificate);
  g_assert_cmpstr (listed->name, ==, "Åsa Lindqvist");
  g_assert_cmpint (listed->curve, ==, curve);
  g_assert_cmpstr (listed->ski, ==, created->ski);

  start = g_get_monotonic_time ();
  signer = tke_signature_key_file_load (path, password, &private_key, &certificate, &error);
  load_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_cmpstr (tke_signer_get_name (signer), ==, "Åsa Lindqvist");
  g_assert_cmpint (tke_signer_get_curve (signer), ==, curve);
  g_assert_cmpstr (tke_signer_get_ski (signer), ==, listed->ski);
  g_assert_true (tke_ec_key_has_private (private_key));
  g_assert_cmpint (EVP_PKEY_eq (private_key, tke_signer_get_public_key (signer)), ==, 1);

  /* The certificate as stored: self-signed, CN the name, the file's key. */
  g_assert_true (tke_certificate_check_self_signed (g_bytes_get_data (certificate, NULL),
                                                    g_bytes_get_size (certificate), &cert_name,
                                                    &cert_key, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cert_name, ==, "Åsa Lindqvist");
  g_assert_cmpint (EVP_PKEY_eq (cert_key, private_key), ==, 1);
  assert_signs (signer, cert_key);

  g_test_message ("signature key file %s: %u PBKDF2 + %u MAC iterations, create %.3f s, "
                  "load %.3f s",
                  tke_curve_name (curve), TKE_SIGNATURE_KEY_FILE_ITERATIONS,
                  TKE_SIGNATURE_KEY_FILE_MAC_ITERATIONS, create_s, load_s);
  g_assert_cmpfloat (load_s, >, 0.01);
}

static void
test_wrong_password (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = make_fast_file (dir, "admin.p12", "Bob", TKE_CURVE_P256);
  g_autoptr (TkeSecret) wrong = files_test_secret ("Correct horse battery staple");
  g_autoptr (TkeSecret) right = files_test_secret (PASSWORD);
  g_autoptr (GBytes) before = files_test_read (path);
  g_autoptr (GBytes) after = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  EVP_PKEY *key = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_null (tke_signature_key_file_load (path, wrong, &key, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_null (key);
  g_clear_error (&error);

  after = files_test_read (path);
  g_assert_true (g_bytes_equal (before, after));
  signer = tke_signature_key_file_load (path, right, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tke_signer_get_name (signer), ==, "Bob");
}

static void
test_no_overwrite_and_bad_arguments (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = make_fast_file (dir, "admin.p12", "Carol", TKE_CURVE_P256);
  g_autofree char *fresh = g_build_filename (dir, "fresh.p12", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (GBytes) before = files_test_read (path);
  g_autoptr (GBytes) after = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *long_name = g_strnfill (TKE_ADMIN_NAME_MAX + 1, 'n');

  g_assert_null (tke_signature_key_file_create (path, "Mallory", TKE_CURVE_P256, password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  after = files_test_read (path);
  g_assert_true (g_bytes_equal (before, after));

  g_assert_null (tke_signature_key_file_create (fresh, "", TKE_CURVE_P256, password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (
      tke_signature_key_file_create (fresh, long_name, TKE_CURVE_P256, password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));

  /* 30 characters is the limit, not one less. */
  g_clear_pointer (&long_name, g_free);
  long_name = g_strnfill (TKE_ADMIN_NAME_MAX, 'n');
  {
    g_autoptr (EVP_PKEY) key = tke_ec_key_generate (TKE_CURVE_P256, &error);

    g_assert_no_error (error);
    info = tke_signature_key_file_write_with_iterations (fresh, long_name, key, password, 1, 1,
                                                         &error);
    g_assert_no_error (error);
    g_assert_cmpstr (info->name, ==, long_name);
  }
}

static void
assert_corrupt_naming (const GError *error, const char *path)
{
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_truncated (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = make_fast_file (dir, "whole.p12", "Dave", TKE_CURVE_P384);
  g_autofree char *cut = g_build_filename (dir, "cut.p12", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (GBytes) whole = files_test_read (path);
  gsize len = g_bytes_get_size (whole);
  gsize offsets[] = { 0,       1,       2,           4,        16,      len / 4,
                      len / 3, len / 2, 2 * len / 3, len - 40, len - 2, len - 1 };

  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
      g_autoptr (TkeSigner) signer = NULL;

      g_unlink (cut);
      files_test_write (cut, g_bytes_get_data (whole, NULL), offsets[i]);
      info = tke_signature_key_file_read_info (cut, &error);
      g_assert_null (info);
      assert_corrupt_naming (error, cut);
      g_clear_error (&error);
      signer = tke_signature_key_file_load (cut, password, NULL, NULL, &error);
      g_assert_null (signer);
      assert_corrupt_naming (error, cut);
    }
}

/* Every byte flipped in turn: never a signer, always one of the two errors, naming the file.
 * Only a flip inside the encrypted key bag cannot be told from a wrong password. */
static void
test_flipped_bytes (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = make_fast_file (dir, "whole.p12", "Erin", TKE_CURVE_P256);
  g_autofree char *flipped = g_build_filename (dir, "flipped.p12", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (GBytes) whole = files_test_read (path);
  gsize len = g_bytes_get_size (whole);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (whole, NULL), len);
  guint corrupt = 0, wrong_password = 0;

  for (gsize i = 0; i < len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeSigner) signer = NULL;

      copy[i] ^= 0x01;
      g_unlink (flipped);
      files_test_write (flipped, copy, len);
      copy[i] ^= 0x01;

      signer = tke_signature_key_file_load (flipped, password, NULL, NULL, &error);
      if (signer != NULL)
        g_error ("A flip of byte %" G_GSIZE_FORMAT " went unnoticed", i);
      g_assert_nonnull (strstr (error->message, flipped));
      if (g_error_matches (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE))
        corrupt++;
      else if (g_error_matches (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD))
        wrong_password++;
      else
        g_error ("A flip of byte %" G_GSIZE_FORMAT " gave: %s", i, error->message);
    }
  g_test_message ("%" G_GSIZE_FORMAT " flips: %u damaged, %u read as a wrong password", len,
                  corrupt, wrong_password);
  g_assert_cmpuint (corrupt + wrong_password, ==, len);
  /* The encrypted key bag is well under half of the file. */
  g_assert_cmpuint (corrupt, >, len / 2);
}

/* A file whose MAC asks for more rounds than the ceiling is refused before any key derivation.
 * It is made at the ceiling (10,000,000, DER 02 04 00 98 96 80), then raised by one in place. */
static void
test_iteration_ceiling (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "ceiling.p12", NULL);
  g_autofree char *greedy = g_build_filename (dir, "greedy.p12", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (EVP_PKEY) key = NULL;
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 count[] = { 0x02, 0x04, 0x00, 0x98, 0x96, 0x80 };
  g_autofree guint8 *copy = NULL;
  gsize len;
  gint64 before;

  key = tke_ec_key_generate (TKE_CURVE_P256, &error);
  g_assert_no_error (error);
  info = tke_signature_key_file_write_with_iterations (
      path, "Ivan", key, password, 1, TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS, &error);
  g_assert_no_error (error);
  g_assert_cmpint (TKE_SIGNATURE_KEY_FILE_MAX_ITERATIONS, ==, 0x989680);

  /* The MAC's iteration count is the last field of the file. */
  bytes = files_test_read (path);
  len = g_bytes_get_size (bytes);
  copy = g_memdup2 (g_bytes_get_data (bytes, NULL), len);
  g_assert_cmpmem (copy + len - sizeof count, sizeof count, count, sizeof count);
  copy[len - 1] = 0x81;
  files_test_write (greedy, copy, len);

  g_clear_pointer (&info, tke_signature_key_file_info_free);
  info = tke_signature_key_file_read_info (greedy, &error);
  g_assert_null (info);
  assert_corrupt_naming (error, greedy);
  g_assert_nonnull (strstr (error->message, "iteration count"));
  g_clear_error (&error);
  before = g_get_monotonic_time ();
  g_assert_null (tke_signature_key_file_load (greedy, password, NULL, NULL, &error));
  assert_corrupt_naming (error, greedy);
  g_assert_cmpint (g_get_monotonic_time () - before, <, G_USEC_PER_SEC / 2);
}

static void
test_list_and_delete (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *a = make_fast_file (dir, "a.p12", "Alice", TKE_CURVE_P256);
  g_autofree char *b = make_fast_file (dir, "b.p12", "Bob", TKE_CURVE_P521);
  g_autofree char *bad = g_build_filename (dir, "bad.p12", NULL);
  g_autofree char *other = g_build_filename (dir, "part.jwe", NULL);
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *skipped = NULL;
  TkeSignatureKeyFileInfo *info;

  files_test_write (bad, (const guint8 *) "\x30\x03\x02\x01\x03", 5);
  files_test_write (other, (const guint8 *) "{}", 2);

  infos = tke_signature_key_file_list (dir, &skipped, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 2);
  info = infos->pdata[0];
  g_assert_cmpstr (info->path, ==, a);
  g_assert_cmpstr (info->name, ==, "Alice");
  g_assert_cmpint (info->curve, ==, TKE_CURVE_P256);
  g_assert_cmpuint (strlen (info->ski), ==, TKE_SKI_HEX_LEN);
  info = infos->pdata[1];
  g_assert_cmpstr (info->name, ==, "Bob");
  g_assert_cmpint (info->curve, ==, TKE_CURVE_P521);
  g_assert_nonnull (skipped);
  g_assert_nonnull (strstr (skipped, bad));
  g_assert_null (strstr (skipped, other));

  g_assert_false (tke_signature_key_file_delete (other, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (tke_signature_key_file_delete (a, &error));
  g_assert_no_error (error);
  g_clear_pointer (&infos, g_ptr_array_unref);
  infos = tke_signature_key_file_list (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 1);
}

static gboolean
skip_without_openssl (void)
{
  const char *argv[] = { "openssl", "version", NULL };

  if (files_test_run (argv, NULL, NULL) == 0)
    return FALSE;
  g_printerr ("SKIP: the openssl command is not installed; the independent check of signature "
              "key files did not run.\n");
  g_test_skip ("the openssl command is not installed");
  return TRUE;
}

static void
test_openssl_opens_ours (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *passin = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *info_out = NULL;
  g_autofree char *info_err = NULL;
  g_autofree char *iteration_line = NULL;
  g_autofree char *mac_line = NULL;
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (EVP_PKEY) ours = NULL;
  g_autoptr (EVP_PKEY) theirs = NULL;
  g_autoptr (GError) error = NULL;
  BIO *bio;

  if (skip_without_openssl ())
    return;
  dir = files_test_make_dir ();
  path = g_build_filename (dir, "admin.p12", NULL);
  password_file = files_test_password_file (dir, PASSWORD);
  passin = g_strconcat ("file:", password_file, NULL);
  info = tke_signature_key_file_create (path, "Frank", TKE_CURVE_P384, password, &error);
  g_assert_no_error (error);
  signer = tke_signature_key_file_load (path, password, &ours, NULL, &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { "openssl", "pkcs12", "-in", path, "-nodes", "-passin", passin, NULL };
    const char *argv_info[] = { "openssl", "pkcs12",  "-in",  path, "-info",
                                "-noout",  "-passin", passin, NULL };

    if (files_test_run (argv, &out, &err) != 0)
      g_error ("openssl pkcs12 could not open our file: %s", err);
    if (files_test_run (argv_info, &info_out, &info_err) != 0)
      g_error ("openssl pkcs12 -info failed: %s", info_err);
  }

  /* The key openssl decrypted is the one we load, and the certificate names the admin. */
  g_assert_nonnull (strstr (out, "subject=CN = Frank"));
  bio = BIO_new_mem_buf (out, -1);
  theirs = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
  BIO_free (bio);
  g_assert_nonnull (theirs);
  g_assert_cmpint (EVP_PKEY_eq (theirs, ours), ==, 1);

  /* The algorithms and counts of docs/key-files.md, as openssl reads them. */
  g_test_message ("openssl pkcs12 -info: %s", info_err);
  mac_line = g_strdup_printf ("MAC: sha256, Iteration %d", TKE_SIGNATURE_KEY_FILE_MAC_ITERATIONS);
  iteration_line = g_strdup_printf ("Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration %d, "
                                    "PRF hmacWithSHA256",
                                    TKE_SIGNATURE_KEY_FILE_ITERATIONS);
  g_assert_nonnull (strstr (info_err, mac_line));
  g_assert_nonnull (strstr (info_err, iteration_line));
  g_assert_nonnull (strstr (info_err, "Certificate bag"));
}

static void
test_openssl_made_file_signs (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *pub_pem = NULL;
  g_autofree char *p12 = NULL;
  g_autofree char *data_path = NULL;
  g_autofree char *sig_path = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *pass = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSecret) wrong = files_test_secret ("wrong");
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (TkeSigner) signer = NULL;
  g_autoptr (GBytes) certificate = NULL;
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_openssl ())
    return;
  dir = files_test_make_dir ();
  key_pem = g_build_filename (dir, "key.pem", NULL);
  cert_pem = g_build_filename (dir, "cert.pem", NULL);
  pub_pem = g_build_filename (dir, "pub.pem", NULL);
  p12 = g_build_filename (dir, "openssl-made.p12", NULL);
  data_path = g_build_filename (dir, "data.bin", NULL);
  sig_path = g_build_filename (dir, "data.sig", NULL);
  password_file = files_test_password_file (dir, PASSWORD);
  pass = g_strconcat ("file:", password_file, NULL);

  {
    const char *genkey[] = { "openssl", "ecparam", "-name", "secp384r1", "-genkey",
                             "-noout",  "-out",    key_pem, NULL };
    const char *req[] = { "openssl",          "req",   "-new", "-x509",   "-key", key_pem,  "-subj",
                          "/CN=Grace Hopper", "-days", "30",   "-sha384", "-out", cert_pem, NULL };
    const char *pub[] = { "openssl", "x509", "-in",   cert_pem, "-pubkey",
                          "-noout",  "-out", pub_pem, NULL };
    const char *export[] = { "openssl", "pkcs12",   "-export", "-inkey", key_pem, "-in",
                             cert_pem,  "-passout", pass,      "-out",   p12,     NULL };
    const char *const *steps[] = { genkey, req, pub, export };

    for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
      {
        g_clear_pointer (&err, g_free);
        if (files_test_run (steps[i], NULL, &err) != 0)
          g_error ("openssl %s failed: %s", steps[i][1], err);
      }
  }

  /* openssl encrypts the certificate bag too: the file lists, but by name only. */
  info = tke_signature_key_file_read_info (p12, &error);
  g_assert_no_error (error);
  g_assert_false (info->has_certificate);
  g_assert_null (info->name);

  g_assert_null (tke_signature_key_file_load (p12, wrong, NULL, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);

  signer = tke_signature_key_file_load (p12, password, NULL, &certificate, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tke_signer_get_name (signer), ==, "Grace Hopper");
  g_assert_cmpint (tke_signer_get_curve (signer), ==, TKE_CURVE_P384);

  /* openssl checks our signature with the public key from its own certificate. */
  signature = tke_signer_sign_data (signer, message, sizeof message, NULL, &error);
  g_assert_no_error (error);
  files_test_write (data_path, message, sizeof message);
  files_test_write (sig_path, g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  {
    const char *verify[] = { "openssl",    "dgst",   "-sha384", "-verify", pub_pem,
                             "-signature", sig_path, data_path, NULL };

    g_clear_pointer (&err, g_free);
    if (files_test_run (verify, &out, &err) != 0)
      g_error ("openssl did not verify the signature: %s %s", out, err);
    g_assert_nonnull (strstr (out, "Verified OK"));
  }
}

/* Files openssl can make that are not usable signature key files: a key in the clear, and (with
 * -legacy) certificates under RC2, which OpenSSL 3 only has in its legacy provider. */
static void
test_openssl_unusable_files (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *clear_p12 = NULL;
  g_autofree char *legacy_p12 = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *pass = NULL;
  g_autofree char *err = NULL;
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSecret) wrong = files_test_secret ("wrong");
  g_autoptr (TkeSignatureKeyFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_openssl ())
    return;
  dir = files_test_make_dir ();
  key_pem = g_build_filename (dir, "key.pem", NULL);
  cert_pem = g_build_filename (dir, "cert.pem", NULL);
  clear_p12 = g_build_filename (dir, "clear.p12", NULL);
  legacy_p12 = g_build_filename (dir, "legacy.p12", NULL);
  password_file = files_test_password_file (dir, PASSWORD);
  pass = g_strconcat ("file:", password_file, NULL);

  {
    const char *genkey[] = { "openssl", "ecparam", "-name", "prime256v1", "-genkey",
                             "-noout",  "-out",    key_pem, NULL };
    const char *req[] = { "openssl",   "req",   "-new", "-x509", "-key",   key_pem, "-subj",
                          "/CN=Heidi", "-days", "30",   "-out",  cert_pem, NULL };
    const char *clear[] = { "openssl", "pkcs12",  "-export", "-inkey",   key_pem, "-in",
                            cert_pem,  "-keypbe", "NONE",    "-certpbe", "NONE",  "-passout",
                            pass,      "-out",    clear_p12, NULL };
    const char *const *steps[] = { genkey, req, clear };

    for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
      {
        g_clear_pointer (&err, g_free);
        if (files_test_run (steps[i], NULL, &err) != 0)
          g_error ("openssl %s failed: %s", steps[i][1], err);
      }
  }

  g_assert_null (tke_signature_key_file_read_info (clear_p12, &error));
  assert_corrupt_naming (error, clear_p12);
  g_assert_nonnull (strstr (error->message, "not encrypted"));
  g_clear_error (&error);
  g_assert_null (tke_signature_key_file_load (clear_p12, password, NULL, NULL, &error));
  assert_corrupt_naming (error, clear_p12);
  g_assert_nonnull (strstr (error->message, "not encrypted"));
  g_clear_error (&error);

  {
    const char *legacy[] = { "openssl", "pkcs12",   "-export", "-legacy",  "-inkey",
                             key_pem,   "-in",      cert_pem,  "-passout", pass,
                             "-out",    legacy_p12, NULL };

    g_clear_pointer (&err, g_free);
    if (files_test_run (legacy, NULL, &err) != 0)
      {
        g_test_message ("openssl has no legacy provider here (%s): the RC2 case did not run", err);
        return;
      }
  }
  info = tke_signature_key_file_read_info (legacy_p12, &error);
  g_assert_no_error (error);
  g_assert_false (info->has_certificate);
  g_assert_null (tke_signature_key_file_load (legacy_p12, wrong, NULL, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);
  g_assert_null (tke_signature_key_file_load (legacy_p12, password, NULL, NULL, &error));
  assert_corrupt_naming (error, legacy_p12);
  g_assert_nonnull (strstr (error->message, "without -legacy"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/signature-key-file/round-trip/p256", GINT_TO_POINTER (TKE_CURVE_P256),
                        test_round_trip);
  g_test_add_data_func ("/signature-key-file/round-trip/p384", GINT_TO_POINTER (TKE_CURVE_P384),
                        test_round_trip);
  g_test_add_data_func ("/signature-key-file/round-trip/p521", GINT_TO_POINTER (TKE_CURVE_P521),
                        test_round_trip);
  g_test_add_func ("/signature-key-file/wrong-password", test_wrong_password);
  g_test_add_func ("/signature-key-file/no-overwrite-and-bad-arguments",
                   test_no_overwrite_and_bad_arguments);
  g_test_add_func ("/signature-key-file/truncated", test_truncated);
  g_test_add_func ("/signature-key-file/flipped-bytes", test_flipped_bytes);
  g_test_add_func ("/signature-key-file/iteration-ceiling", test_iteration_ceiling);
  g_test_add_func ("/signature-key-file/list-and-delete", test_list_and_delete);
  g_test_add_func ("/signature-key-file/openssl-opens-ours", test_openssl_opens_ours);
  g_test_add_func ("/signature-key-file/openssl-made-file-signs", test_openssl_made_file_signs);
  g_test_add_func ("/signature-key-file/openssl-unusable-files", test_openssl_unusable_files);

  return g_test_run ();
}
