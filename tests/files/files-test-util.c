/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Helpers shared by the key file tests: scratch directories, secrets from text, external tools. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "files-test-util.h"

static GPtrArray *made_dirs;

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  if (handle == NULL)
    return;
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static void
remove_made_dirs (void)
{
  for (guint i = 0; made_dirs != NULL && i < made_dirs->len; i++)
    remove_tree (made_dirs->pdata[i]);
}

char *
files_test_make_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("tke-files-XXXXXX", &error);

  g_assert_no_error (error);
  if (made_dirs == NULL)
    {
      made_dirs = g_ptr_array_new_with_free_func (g_free);
      atexit (remove_made_dirs);
    }
  g_ptr_array_add (made_dirs, g_strdup (dir));
  return dir;
}

TkeSecret *
files_test_secret (const char *text)
{
  g_autoptr (GError) error = NULL;
  TkeSecret *secret = tke_secret_new_from ((const guint8 *) text, strlen (text), &error);

  g_assert_no_error (error);
  return secret;
}

char *
files_test_password_file (const char *dir, const char *password)
{
  char *path = g_build_filename (dir, "password.txt", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (
      g_file_set_contents_full (path, password, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_assert_no_error (error);
  return path;
}

int
files_test_run (const char *const *argv, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ignored_out = NULL;
  g_autofree char *ignored_err = NULL;
  int status = -1;

  /* Output is always captured: a tool writing to our stdout would break the TAP stream. */
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     out != NULL ? out : &ignored_out, err != NULL ? err : &ignored_err, &status,
                     &error))
    {
      g_test_message ("%s did not start: %s", argv[0], error->message);
      return -1;
    }
  return g_spawn_check_wait_status (status, NULL) ? 0 : (status > 0 ? status : -1);
}

GBytes *
files_test_read (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

void
files_test_write (const char *path, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, (const char *) data, (gssize) len,
                                           G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_assert_no_error (error);
}

gboolean
files_test_have_jwcrypto (void)
{
  const char *argv[] = { "/usr/bin/python3", "-c", "import jwcrypto.jwe", NULL };

  return g_file_test (argv[0], G_FILE_TEST_IS_EXECUTABLE) && files_test_run (argv, NULL, NULL) == 0;
}
