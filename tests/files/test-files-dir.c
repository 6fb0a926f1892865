/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The files directory: where it is, its mode and its files' modes, writes that never clobber. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "files-test-util.h"
#include "tke-error.h"
#include "tke-files-dir.h"

static char *xdg_data_home;

static guint
mode_of (const char *path)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (handle);
  while (g_dir_read_name (handle) != NULL)
    n++;
  return n;
}

static void
test_default_location (void)
{
  g_autofree char *expected = g_build_filename (xdg_data_home, "opentke", "files", NULL);
  g_autofree char *with_env = NULL;
  g_autofree char *without_env = NULL;

  g_setenv ("TKE_FILES", "/somewhere/else", TRUE);
  with_env = tke_files_dir_get_default ();
  g_unsetenv ("TKE_FILES");
  without_env = tke_files_dir_get_default ();

  g_assert_cmpstr (with_env, ==, "/somewhere/else");
  g_assert_cmpstr (without_env, ==, expected);
}

static void
test_ensure_creates_private_directory (void)
{
  g_autofree char *dir = tke_files_dir_get_default ();
  g_autoptr (GError) error = NULL;

  /* umask 0 would give 0777 to a careless mkdir. */
  mode_t old_umask = umask (0);
  g_assert_true (tke_files_dir_ensure (dir, &error));
  umask (old_umask);
  g_assert_no_error (error);
  g_assert_cmpuint (mode_of (dir), ==, 0700);
  /* A second call accepts what the first made. */
  g_assert_true (tke_files_dir_ensure (dir, &error));
  g_assert_no_error (error);
}

static void
test_ensure_refuses_open_directory (void)
{
  g_autofree char *base = files_test_make_dir ();
  g_autofree char *open_dir = g_build_filename (base, "open", NULL);
  g_autofree char *file = g_build_filename (base, "plain-file", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (open_dir, 0755), ==, 0);
  g_assert_false (tke_files_dir_ensure (open_dir, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, open_dir));
  g_assert_nonnull (strstr (error->message, "chmod 700"));
  g_clear_error (&error);

  files_test_write (file, (const guint8 *) "x", 1);
  g_assert_false (tke_files_dir_ensure (file, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
}

static void
test_write_mode_and_no_clobber (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "a.jwe", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  mode_t old_umask;

  old_umask = umask (0);
  g_assert_true (tke_files_dir_write (path, (const guint8 *) "first", 5, FALSE, &error));
  umask (old_umask);
  g_assert_no_error (error);
  g_assert_cmpuint (mode_of (path), ==, 0600);

  g_assert_false (tke_files_dir_write (path, (const guint8 *) "second", 6, FALSE, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  bytes = files_test_read (path);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "first", 5);
  /* The refused write left no temporary file behind. */
  g_assert_cmpuint (count_entries (dir), ==, 1);

  g_assert_true (tke_files_dir_write (path, (const guint8 *) "second", 6, TRUE, &error));
  g_assert_no_error (error);
  g_clear_pointer (&bytes, g_bytes_unref);
  bytes = files_test_read (path);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "second", 6);
  g_assert_cmpuint (mode_of (path), ==, 0600);
  g_assert_cmpuint (count_entries (dir), ==, 1);
}

static void
test_write_into_missing_directory (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "missing", "a.p12", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (tke_files_dir_write (path, (const guint8 *) "x", 1, FALSE, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "missing"));
}

static void
test_read_bounds (void)
{
  g_autofree char *dir = files_test_make_dir ();
  g_autofree char *empty = g_build_filename (dir, "empty.jwe", NULL);
  g_autofree char *big = g_build_filename (dir, "big.jwe", NULL);
  g_autofree char *absent = g_build_filename (dir, "absent.jwe", NULL);
  g_autofree guint8 *lots = g_malloc0 (TKE_FILES_MAX_SIZE + 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;

  files_test_write (empty, (const guint8 *) "", 0);
  files_test_write (big, lots, TKE_FILES_MAX_SIZE + 1);

  g_assert_null (tke_files_dir_read (empty, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_assert_nonnull (strstr (error->message, empty));
  g_clear_error (&error);
  g_assert_null (tke_files_dir_read (big, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE);
  g_clear_error (&error);
  g_assert_null (tke_files_dir_read (absent, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, absent));
  g_clear_error (&error);

  g_unlink (big);
  files_test_write (big, lots, TKE_FILES_MAX_SIZE);
  bytes = tke_files_dir_read (big, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, TKE_FILES_MAX_SIZE);
}

static void
test_list_and_new_path (void)
{
  g_autofree char *dir = files_test_make_dir ();
  const char *names[] = { "b.jwe", "a.jwe", ".a.jwe.XYZ123", "c.p12", "d.jwe.bak" };
  g_autofree char *subdir = g_build_filename (dir, "e.jwe", NULL);
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *expect_a = g_build_filename (dir, "a.jwe", NULL);
  g_autofree char *expect_b = g_build_filename (dir, "b.jwe", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      files_test_write (path, (const guint8 *) "x", 1);
    }
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);

  paths = tke_files_dir_list (dir, ".jwe", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (paths->len, ==, 2);
  g_assert_cmpstr (paths->pdata[0], ==, expect_a);
  g_assert_cmpstr (paths->pdata[1], ==, expect_b);

  first = tke_files_dir_new_path (dir, "Alice Smith/../x", ".p12");
  g_assert_true (g_str_has_prefix (first, dir));
  g_assert_true (g_str_has_suffix (first, "/Alice_Smith____x.p12"));
  files_test_write (first, (const guint8 *) "x", 1);
  second = tke_files_dir_new_path (dir, "Alice Smith/../x", ".p12");
  g_assert_true (g_str_has_suffix (second, "/Alice_Smith____x-2.p12"));

  g_assert_true (tke_files_dir_delete (first, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (first, G_FILE_TEST_EXISTS));
  g_assert_false (tke_files_dir_delete (first, &error));
  g_assert_error (error, TKE_ERROR, TKE_ERROR_NOT_FOUND);
}

int
main (int argc, char **argv)
{
  g_autofree char *base = NULL;

  /* Before GLib reads it: the default directory then lands in the test's own scratch space. */
  base = files_test_make_dir ();
  xdg_data_home = g_build_filename (base, "xdg-data", NULL);
  g_setenv ("XDG_DATA_HOME", xdg_data_home, TRUE);
  g_unsetenv ("TKE_FILES");

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/files-dir/default-location", test_default_location);
  g_test_add_func ("/files-dir/ensure-creates-private-directory",
                   test_ensure_creates_private_directory);
  g_test_add_func ("/files-dir/ensure-refuses-open-directory", test_ensure_refuses_open_directory);
  g_test_add_func ("/files-dir/write-mode-and-no-clobber", test_write_mode_and_no_clobber);
  g_test_add_func ("/files-dir/write-into-missing-directory", test_write_into_missing_directory);
  g_test_add_func ("/files-dir/read-bounds", test_read_bounds);
  g_test_add_func ("/files-dir/list-and-new-path", test_list_and_new_path);

  return g_test_run ();
}
