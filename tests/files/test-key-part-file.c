/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key part files: round trips, what shows without the password, wrong passwords, damaged files,
 * and python3-jwcrypto reading ours and writing files we read. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "files-test-util.h"
#include "tke-ec-key.h"
#include "tke-error.h"
#include "tke-key-part-file.h"

#define PASSWORD "Tr0ub4dor&3 key part"
/* Fast files for the tests that load hundreds of times; the round trip uses the real count. */
#define FAST_ITERATIONS TKE_KEY_PART_FILE_MIN_ITERATIONS

static TkeSecret *
counting_part (guint8 start)
{
  g_autoptr (GError) error = NULL;
  TkeSecret *part = tke_secret_new (TKE_KEY_PART_LEN, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < TKE_KEY_PART_LEN; i++)
    tke_secret_data (part)[i] = (guint8) (start + i);
  return part;
}

static char *
make_fast_file (const char *dir, const char *name, const TkeSecret *part, const char *password)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (TkeSecret) secret = files_test_secret (password);
  g_autoptr (GError) error = NULL;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;

  info = tke_key_part_file_create_with_iterations (path, part, "fast part", secret, FAST_ITERATIONS,
                                                   &error);
  g_assert_no_error (error);
  g_assert_nonnull (info);
  return g_steal_pointer (&path);
}

static void
test_round_trip (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "part-1.jwe", NULL);
  g_autoptr (TkeSecret) part = counting_part (0x40);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeKeyPartFileInfo) created = NULL;
  g_autoptr (TkeKeyPartFileInfo) listed = NULL;
  g_autoptr (TkeKeyPartFileInfo) loaded_info = NULL;
  g_autoptr (TkeSecret) loaded = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) text = NULL;
  g_autofree char *part_hex = NULL;
  g_autofree char *part_b64 = NULL;
  guint8 vp[TKE_VP_LEN];
  struct stat st;
  gint64 start;
  double create_s, load_s;

  start = g_get_monotonic_time ();
  created = tke_key_part_file_create (path, part, "Master key part 1 – Zürich", password, &error);
  create_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0600);

  /* Without the password: the description, the VP and the iteration count. */
  tke_vp_compute (tke_secret_peek (part), TKE_KEY_PART_LEN, vp);
  listed = tke_key_part_file_read_info (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (listed->path, ==, path);
  g_assert_cmpstr (listed->description, ==, "Master key part 1 – Zürich");
  g_assert_cmpmem (listed->vp, TKE_VP_LEN, vp, TKE_VP_LEN);
  g_assert_cmpmem (created->vp, TKE_VP_LEN, vp, TKE_VP_LEN);
  g_assert_cmpuint (listed->iterations, ==, TKE_KEY_PART_FILE_ITERATIONS);
  g_assert_nonnull (listed->created);
  g_assert_cmpstr (listed->created, ==, created->created);

  /* The part is not in the file in any plain spelling. */
  text = files_test_read (path);
  part_hex = tke_hex_encode (tke_secret_peek (part), TKE_KEY_PART_LEN);
  part_b64 = tke_b64url_encode (tke_secret_peek (part), TKE_KEY_PART_LEN);
  g_assert_null (g_strstr_len (g_bytes_get_data (text, NULL), g_bytes_get_size (text), part_hex));
  g_assert_null (g_strstr_len (g_bytes_get_data (text, NULL), g_bytes_get_size (text), part_b64));

  start = g_get_monotonic_time ();
  loaded = tke_key_part_file_load (path, password, &loaded_info, &error);
  load_s = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (loaded, part));
  g_assert_cmpstr (loaded_info->description, ==, "Master key part 1 – Zürich");
  g_assert_cmpmem (loaded_info->vp, TKE_VP_LEN, vp, TKE_VP_LEN);

  g_test_message ("key part file: p2c %u, create %.3f s, load %.3f s", TKE_KEY_PART_FILE_ITERATIONS,
                  create_s, load_s);
  /* A million rounds cannot take less than this on any machine: the count is really applied. */
  g_assert_cmpfloat (load_s, >, 0.01);
}

static void
test_random_parts (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path_a = g_build_filename (dir, "a.jwe", NULL);
  g_autofree char *path_b = g_build_filename (dir, "b.jwe", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeKeyPartFileInfo) info_a = NULL;
  g_autoptr (TkeKeyPartFileInfo) info_b = NULL;
  g_autoptr (TkeSecret) part_a = NULL;
  g_autoptr (TkeSecret) part_b = NULL;
  g_autoptr (GError) error = NULL;
  guint8 vp[TKE_VP_LEN];

  info_a = tke_key_part_file_create_random (path_a, "random A", password, &error);
  g_assert_no_error (error);
  info_b = tke_key_part_file_create_random (path_b, "random B", password, &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (info_a->vp, info_b->vp, TKE_VP_LEN) != 0);

  part_a = tke_key_part_file_load (path_a, password, NULL, &error);
  g_assert_no_error (error);
  part_b = tke_key_part_file_load (path_b, password, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (tke_secret_equal (part_a, part_b));
  tke_vp_compute (tke_secret_peek (part_a), TKE_KEY_PART_LEN, vp);
  g_assert_cmpmem (vp, TKE_VP_LEN, info_a->vp, TKE_VP_LEN);
}

static void
test_wrong_password (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autoptr (TkeSecret) part = counting_part (1);
  g_autofree char *path = make_fast_file (dir, "p.jwe", part, PASSWORD);
  g_autoptr (TkeSecret) wrong = files_test_secret (PASSWORD "!");
  g_autoptr (TkeSecret) right = files_test_secret (PASSWORD);
  g_autoptr (TkeSecret) loaded = NULL;
  g_autoptr (GBytes) before = files_test_read (path);
  g_autoptr (GBytes) after = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_null (tke_key_part_file_load (path, wrong, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  after = files_test_read (path);
  g_assert_true (g_bytes_equal (before, after));
  loaded = tke_key_part_file_load (path, right, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (loaded, part));
}

static void
test_no_overwrite_and_bad_arguments (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autoptr (TkeSecret) part = counting_part (2);
  g_autoptr (TkeSecret) other = counting_part (3);
  g_autofree char *path = make_fast_file (dir, "p.jwe", part, PASSWORD);
  g_autofree char *fresh = g_build_filename (dir, "fresh.jwe", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSecret) loaded = NULL;
  g_autoptr (TkeSecret) short_part = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *long_description = g_strnfill (TKE_KEY_PART_DESCRIPTION_MAX + 1, 'd');

  g_assert_null (tke_key_part_file_create (path, other, "replacement", password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  loaded = tke_key_part_file_load (path, password, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (loaded, part));

  g_assert_null (tke_key_part_file_create (fresh, part, "", password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tke_key_part_file_create (fresh, part, long_description, password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tke_key_part_file_create (fresh, part, "tab\there", password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  short_part = tke_secret_new (16, &error);
  g_assert_no_error (error);
  g_assert_null (tke_key_part_file_create (fresh, short_part, "short", password, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
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
  g_autoptr (TkeSecret) part = counting_part (4);
  g_autofree char *path = make_fast_file (dir, "whole.jwe", part, PASSWORD);
  g_autofree char *cut = g_build_filename (dir, "cut.jwe", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (GBytes) whole = files_test_read (path);
  gsize len = g_bytes_get_size (whole);
  /* len - 1 only drops the final newline, which JSON does not need. */
  gsize offsets[] = { 0,       1,           2,        16,      len / 4, len / 3,
                      len / 2, 2 * len / 3, len - 40, len - 3, len - 2 };

  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeKeyPartFileInfo) info = NULL;
      g_autoptr (TkeSecret) loaded = NULL;

      g_unlink (cut);
      files_test_write (cut, g_bytes_get_data (whole, NULL), offsets[i]);
      info = tke_key_part_file_read_info (cut, &error);
      g_assert_null (info);
      assert_corrupt_naming (error, cut);
      g_clear_error (&error);
      loaded = tke_key_part_file_load (cut, password, NULL, &error);
      g_assert_null (loaded);
      assert_corrupt_naming (error, cut);
    }
}

/* Every byte flipped in turn: never a part, always one of the two errors, naming the file; the
 * unprotected header (not authenticated by itself) and the encrypted fields are damage, not a
 * wrong password. */
static void
test_flipped_bytes (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autoptr (TkeSecret) part = counting_part (5);
  g_autofree char *path = make_fast_file (dir, "whole.jwe", part, PASSWORD);
  g_autofree char *flipped = g_build_filename (dir, "flipped.jwe", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (GBytes) whole = files_test_read (path);
  const char *text = g_bytes_get_data (whole, NULL);
  gsize len = g_bytes_get_size (whole);
  g_autofree guint8 *copy = g_memdup2 (text, len);
  const char *must_be_corrupt[] = {
    "\"tke_description\": \"", "\"tke_vp\": \"", "\"tke_created\": \"", "\"aad\": \"", "\"iv\": \"",
    "\"ciphertext\": \"",      "\"tag\": \""
  };
  guint corrupt = 0, wrong_password = 0;

  for (gsize i = 0; i < len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TkeSecret) loaded = NULL;

      copy[i] ^= 0x01;
      g_unlink (flipped);
      files_test_write (flipped, copy, len);
      copy[i] ^= 0x01;

      loaded = tke_key_part_file_load (flipped, password, NULL, &error);
      if (loaded != NULL)
        g_error ("A flip of byte %" G_GSIZE_FORMAT " ('%c') went unnoticed", i, text[i]);
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
  g_assert_cmpuint (corrupt, >, len / 2);

  /* Inside each member's value after the name: the damage is found as damage. */
  for (guint m = 0; m < G_N_ELEMENTS (must_be_corrupt); m++)
    {
      const char *at = g_strstr_len (text, (gssize) len, must_be_corrupt[m]);
      gsize value;
      g_autoptr (GError) error = NULL;

      g_assert_nonnull (at);
      value = (gsize) (at - text) + strlen (must_be_corrupt[m]) + 2;
      copy[value] ^= 0x01;
      g_unlink (flipped);
      files_test_write (flipped, copy, len);
      copy[value] ^= 0x01;
      g_assert_null (tke_key_part_file_load (flipped, password, NULL, &error));
      assert_corrupt_naming (error, flipped);
    }
}

/* A file that asks for more rounds than the ceiling is refused before any key derivation, so a
 * planted file cannot stall a load. */
static void
test_iteration_ceiling (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autoptr (TkeSecret) part = counting_part (8);
  g_autofree char *path = make_fast_file (dir, "fast.jwe", part, PASSWORD);
  g_autofree char *greedy = g_build_filename (dir, "greedy.jwe", NULL);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (GBytes) text = files_test_read (path);
  g_autoptr (GBytes) header_bytes = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = g_strndup (g_bytes_get_data (text, NULL), g_bytes_get_size (text));
  g_autofree char *old_b64 = NULL;
  g_autofree char *new_header = NULL;
  g_autofree char *new_b64 = NULL;
  g_autofree char *old_count = g_strdup_printf ("\"p2c\":%d", FAST_ITERATIONS);
  g_autofree char *new_count = g_strdup_printf ("\"p2c\":%d", TKE_KEY_PART_FILE_MAX_ITERATIONS + 1);
  g_auto (GStrv) pieces = NULL;
  g_autofree char *rewritten = NULL;
  const char *start, *end;
  gint64 before;

  start = strstr (contents, "\"protected\": \"");
  g_assert_nonnull (start);
  start += strlen ("\"protected\": \"");
  end = strchr (start, '"');
  old_b64 = g_strndup (start, (gsize) (end - start));
  header_bytes = tke_b64url_decode (old_b64, &error);
  g_assert_no_error (error);
  {
    g_autofree char *header =
        g_strndup (g_bytes_get_data (header_bytes, NULL), g_bytes_get_size (header_bytes));
    g_auto (GStrv) parts = g_strsplit (header, old_count, 2);

    g_assert_cmpuint (g_strv_length (parts), ==, 2);
    new_header = g_strjoinv (new_count, parts);
  }
  new_b64 = tke_b64url_encode ((const guint8 *) new_header, strlen (new_header));
  pieces = g_strsplit (contents, old_b64, 2);
  rewritten = g_strjoinv (new_b64, pieces);
  files_test_write (greedy, (const guint8 *) rewritten, strlen (rewritten));

  g_assert_null (tke_key_part_file_read_info (greedy, &error));
  assert_corrupt_naming (error, greedy);
  g_assert_nonnull (strstr (error->message, "iteration count"));
  g_clear_error (&error);
  before = g_get_monotonic_time ();
  g_assert_null (tke_key_part_file_load (greedy, password, NULL, &error));
  assert_corrupt_naming (error, greedy);
  /* Ten million rounds would take seconds; the refusal takes none. */
  g_assert_cmpint (g_get_monotonic_time () - before, <, G_USEC_PER_SEC / 2);
}

static void
test_list_and_delete (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autoptr (TkeSecret) part_a = counting_part (6);
  g_autoptr (TkeSecret) part_b = counting_part (7);
  g_autofree char *a = make_fast_file (dir, "a.jwe", part_a, PASSWORD);
  g_autofree char *b = make_fast_file (dir, "b.jwe", part_b, PASSWORD);
  g_autofree char *bad = g_build_filename (dir, "bad.jwe", NULL);
  g_autofree char *other = g_build_filename (dir, "admin.p12", NULL);
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *skipped = NULL;
  guint8 vp[TKE_VP_LEN];

  files_test_write (bad, (const guint8 *) "{\"protected\": 1}", 16);
  files_test_write (other, (const guint8 *) "not json", 8);

  infos = tke_key_part_file_list (dir, &skipped, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 2);
  g_assert_cmpstr (((TkeKeyPartFileInfo *) infos->pdata[0])->path, ==, a);
  g_assert_cmpstr (((TkeKeyPartFileInfo *) infos->pdata[1])->path, ==, b);
  tke_vp_compute (tke_secret_peek (part_b), TKE_KEY_PART_LEN, vp);
  g_assert_cmpmem (((TkeKeyPartFileInfo *) infos->pdata[1])->vp, TKE_VP_LEN, vp, TKE_VP_LEN);
  g_assert_nonnull (skipped);
  g_assert_nonnull (strstr (skipped, bad));
  g_assert_null (strstr (skipped, other));

  g_assert_false (tke_key_part_file_delete (other, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_true (tke_key_part_file_delete (a, &error));
  g_assert_no_error (error);
  g_clear_pointer (&infos, g_ptr_array_unref);
  g_clear_pointer (&skipped, g_free);
  infos = tke_key_part_file_list (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_cmpstr (((TkeKeyPartFileInfo *) infos->pdata[0])->path, ==, b);
}

static char *
interop_script (void)
{
  return g_test_build_filename (G_TEST_DIST, "files", "jwe-interop.py", NULL);
}

static gboolean
skip_without_jwcrypto (void)
{
  if (files_test_have_jwcrypto ())
    return FALSE;
  g_printerr ("SKIP: /usr/bin/python3 with python3-jwcrypto is not installed; the independent "
              "check of key part files did not run.\n");
  g_test_skip ("/usr/bin/python3 with python3-jwcrypto is not installed");
  return TRUE;
}

static void
test_jwcrypto_opens_ours (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *script = interop_script ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autoptr (TkeSecret) part = NULL;
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeKeyPartFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  if (skip_without_jwcrypto ())
    return;
  dir = files_test_make_dir ();
  path = g_build_filename (dir, "ours.jwe", NULL);
  password_file = files_test_password_file (dir, PASSWORD);
  part = tke_secret_new_random (TKE_KEY_PART_LEN, &error);
  g_assert_no_error (error);
  /* The real iteration count: jwcrypto must accept what operators' files carry. */
  info = tke_key_part_file_create (path, part, "for jwcrypto", password, &error);
  g_assert_no_error (error);

  {
    const char *argv[] = { "/usr/bin/python3", script, "decrypt", path, password_file, NULL };
    int status = files_test_run (argv, &out, &err);

    if (status != 0)
      g_error ("jwcrypto could not open our file: %s", err);
  }
  expected = tke_hex_encode (tke_secret_peek (part), TKE_KEY_PART_LEN);
  g_strstrip (out);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_ours_opens_jwcrypto (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *bad_vp_path = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *script = interop_script ();
  g_autofree char *hex = NULL;
  g_autoptr (TkeSecret) part = counting_part (0xa0);
  g_autoptr (TkeSecret) other = counting_part (0xb0);
  g_autoptr (TkeSecret) password = files_test_secret (PASSWORD);
  g_autoptr (TkeSecret) wrong = files_test_secret ("not " PASSWORD);
  g_autoptr (TkeSecret) loaded = NULL;
  g_autoptr (TkeKeyPartFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  guint8 other_vp[TKE_VP_LEN];
  g_autofree char *other_vp_hex = NULL;

  if (skip_without_jwcrypto ())
    return;
  dir = files_test_make_dir ();
  path = g_build_filename (dir, "theirs.jwe", NULL);
  bad_vp_path = g_build_filename (dir, "bad-vp.jwe", NULL);
  password_file = files_test_password_file (dir, PASSWORD);
  hex = tke_hex_encode (tke_secret_peek (part), TKE_KEY_PART_LEN);
  tke_vp_compute (tke_secret_peek (other), TKE_KEY_PART_LEN, other_vp);
  other_vp_hex = tke_vp_to_hex (other_vp);

  {
    const char *argv[] = { "/usr/bin/python3", script, "encrypt",          path,
                           password_file,      hex,    "made by jwcrypto", NULL };
    const char *argv_bad[] = { "/usr/bin/python3",  script,        "encrypt",
                               bad_vp_path,         password_file, hex,
                               "claims another VP", other_vp_hex,  NULL };
    g_autofree char *err = NULL;

    if (files_test_run (argv, NULL, &err) != 0)
      g_error ("jwcrypto could not write a key part file: %s", err);
    g_clear_pointer (&err, g_free);
    if (files_test_run (argv_bad, NULL, &err) != 0)
      g_error ("jwcrypto could not write a key part file: %s", err);
  }

  info = tke_key_part_file_read_info (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->description, ==, "made by jwcrypto");
  g_assert_cmpuint (info->iterations, >=, TKE_KEY_PART_FILE_MIN_ITERATIONS);
  g_assert_null (info->created);

  loaded = tke_key_part_file_load (path, password, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tke_secret_equal (loaded, part));

  g_assert_null (tke_key_part_file_load (path, wrong, NULL, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);

  /* The right password, but the VP shown is not the part's: the file must not be trusted. */
  g_assert_null (tke_key_part_file_load (bad_vp_path, password, NULL, &error));
  assert_corrupt_naming (error, bad_vp_path);
  g_assert_nonnull (strstr (error->message, other_vp_hex));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/key-part-file/round-trip", test_round_trip);
  g_test_add_func ("/key-part-file/random-parts", test_random_parts);
  g_test_add_func ("/key-part-file/wrong-password", test_wrong_password);
  g_test_add_func ("/key-part-file/no-overwrite-and-bad-arguments",
                   test_no_overwrite_and_bad_arguments);
  g_test_add_func ("/key-part-file/truncated", test_truncated);
  g_test_add_func ("/key-part-file/flipped-bytes", test_flipped_bytes);
  g_test_add_func ("/key-part-file/iteration-ceiling", test_iteration_ceiling);
  g_test_add_func ("/key-part-file/list-and-delete", test_list_and_delete);
  g_test_add_func ("/key-part-file/jwcrypto-opens-ours", test_jwcrypto_opens_ours);
  g_test_add_func ("/key-part-file/ours-opens-jwcrypto", test_ours_opens_jwcrypto);

  return g_test_run ();
}
