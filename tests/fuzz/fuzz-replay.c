/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs a libFuzzer target over its seed corpus as an ordinary test, in every build (gcc, and the
 * sanitized one): each file is one input; a crash or a sanitizer report fails the test. TAP.
 * Usage: replay-TARGET DIR|FILE... */
#include "config.h"

#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static void
collect (const char *path, GPtrArray *files)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len; i++)
    collect (names->pdata[i], files);
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    if (!g_str_has_prefix (argv[i], "-"))
      collect (argv[i], files);
  g_ptr_array_sort (files, compare_paths);
  if (files->len == 0)
    {
      printf ("Bail out! no seed inputs given: the corpus is missing\n");
      return 1;
    }
  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *contents = NULL;
      gsize len = 0;

      if (!g_file_get_contents (files->pdata[i], &contents, &len, NULL))
        {
          printf ("not ok %u - %s can't be read\n", i + 1, (char *) files->pdata[i]);
          return 1;
        }
      LLVMFuzzerTestOneInput ((const guint8 *) contents, len);
      printf ("ok %u - %s\n", i + 1, (char *) files->pdata[i]);
      fflush (stdout);
    }
  return 0;
}
