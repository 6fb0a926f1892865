/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The files directory: private creation, atomic no-clobber writes, bounded reads, listing. */
#define _GNU_SOURCE /* renameat2 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tke-error.h"
#include "tke-files-dir.h"

/* format is a whole sentence: a %s for the file or directory, a %s for g_strerror (saved_errno). */
G_GNUC_PRINTF (3, 4)
static gboolean
set_io_error (GError **error, int saved_errno, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (
      error,
      g_error_new_valist (TKE_ERROR, saved_errno == ENOENT ? TKE_ERROR_NOT_FOUND : TKE_ERROR_FAILED,
                          format, args));
  va_end (args);
  return FALSE;
}

static gboolean
fsync_directory (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved_errno = errno;

      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Opening the directory %s failed: %s."), dir,
                           g_strerror (saved_errno));
    }
  if (fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;
      close (fd);
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Flushing the directory %s failed: %s."), dir,
                           g_strerror (saved_errno));
    }
  close (fd);
  return TRUE;
}

char *
tke_files_dir_get_default (void)
{
  const char *env = g_getenv ("TKE_FILES");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "opentke", "files", NULL);
}

gboolean
tke_files_dir_ensure (const char *dir, GError **error)
{
  struct stat st;

  g_return_val_if_fail (dir != NULL, FALSE);

  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The files directory %s is not a directory: choose another with "
                      "TKE_FILES."),
                   dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Creating the files directory %s failed: %s."), dir,
                           g_strerror (saved_errno));
    }
  if (g_stat (dir, &st) != 0)
    {
      int saved_errno = errno;

      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Reading the files directory %s failed: %s."), dir,
                           g_strerror (saved_errno));
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The files directory %s is not a directory: choose another with "
                      "TKE_FILES."),
                   dir);
      return FALSE;
    }
  /* Key files are encrypted, but their names, descriptions and certificates are not: a directory
   * others can read tells them who the administrators are and which parts exist. */
  if (st.st_uid != getuid () || (st.st_mode & 0077) != 0)
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The files directory %s is open to other users: make it yours with "
                      "chmod 700 (it holds administrator keys and key parts)."),
                   dir);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* rename () that refuses to replace: renameat2 where the file system knows it, link () else. */
static int
rename_no_replace (const char *from, const char *to)
{
  if (renameat2 (AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return -1;
  if (link (from, to) != 0)
    return -1;
  unlink (from);
  return 0;
}

gboolean
tke_files_dir_write (const char *path, const guint8 *data, gsize len, gboolean replace,
                     GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  int fd;
  int saved_errno;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  if (!replace && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                   _ ("The file %s already exists: choose another name or remove it first."), path);
      return FALSE;
    }

  /* A dot name, so that listings never show a half-written file. */
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Creating a file in %s failed: %s."), dir, g_strerror (saved_errno));
    }
  if (fchmod (fd, 0600) != 0 || !write_all (fd, data, len) || fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      unlink (tmp);
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Writing %s failed: %s."), path, g_strerror (saved_errno));
    }
  if (close (fd) != 0)
    {
      saved_errno = errno;
      unlink (tmp);
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Writing %s failed: %s."), path, g_strerror (saved_errno));
    }

  if ((replace ? rename (tmp, path) : rename_no_replace (tmp, path)) != 0)
    {
      saved_errno = errno;
      unlink (tmp);
      if (saved_errno == EEXIST)
        {
          g_set_error (error, TKE_ERROR, TKE_ERROR_INVALID_ARGUMENT,
                       _ ("The file %s already exists: choose another name or remove it first."),
                       path);
          return FALSE;
        }
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Moving the new file to %s failed: %s."), path,
                           g_strerror (saved_errno));
    }
  return fsync_directory (dir, error);
}

GBytes *
tke_files_dir_read (const char *path, GError **error)
{
  struct stat st;
  g_autofree guint8 *data = NULL;
  gsize done = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved_errno = errno;

      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Opening %s failed: %s."), path, g_strerror (saved_errno)),
             NULL;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;
      close (fd);
      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Reading %s failed: %s."), path, g_strerror (saved_errno)),
             NULL;
    }
  if (!S_ISREG (st.st_mode) || st.st_size <= 0 || st.st_size > TKE_FILES_MAX_SIZE)
    {
      close (fd);
      g_set_error (error, TKE_ERROR, TKE_ERROR_CORRUPT_FILE,
                   _ ("The file %s is not a key file: it is empty, too large or not a regular "
                      "file."),
                   path);
      return NULL;
    }

  data = g_malloc ((gsize) st.st_size);
  while (done < (gsize) st.st_size)
    {
      ssize_t n = read (fd, data + done, (gsize) st.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;
          close (fd);
          return set_io_error (error, saved_errno,
                               /* TRANSLATORS: a file or directory, then the system's reason. */
                               _ ("Reading %s failed: %s."), path, g_strerror (saved_errno)),
                 NULL;
        }
      if (n == 0)
        break;
      done += (gsize) n;
    }
  close (fd);
  /* The file shrank under us: what was read is what there is. */
  return g_bytes_new_take (g_steal_pointer (&data), done);
}

gboolean
tke_files_dir_delete (const char *path, GError **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_unlink (path) != 0)
    {
      int saved_errno = errno;

      return set_io_error (error, saved_errno,
                           /* TRANSLATORS: a file or directory, then the system's reason. */
                           _ ("Removing %s failed: %s."), path, g_strerror (saved_errno));
    }
  dir = g_path_get_dirname (path);
  return fsync_directory (dir, error);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
tke_files_dir_list (const char *dir, const char *suffix, GError **error)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) handle = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *name;

  g_return_val_if_fail (dir != NULL && suffix != NULL, NULL);

  handle = g_dir_open (dir, 0, &local_error);
  if (handle == NULL)
    {
      g_set_error (error, TKE_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                       ? TKE_ERROR_NOT_FOUND
                       : TKE_ERROR_FAILED,
                   /* TRANSLATORS: %s is the system's reason. */
                   _ ("The files directory could not be read: %s."), local_error->message);
      return NULL;
    }
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = NULL;

      if (name[0] == '.' || !g_str_has_suffix (name, suffix))
        continue;
      path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (paths, g_steal_pointer (&path));
    }
  g_ptr_array_sort (paths, compare_paths);
  return g_steal_pointer (&paths);
}

char *
tke_files_dir_new_path (const char *dir, const char *stem, const char *suffix)
{
  g_autoptr (GString) clean = g_string_new (NULL);

  g_return_val_if_fail (dir != NULL && stem != NULL && suffix != NULL, NULL);

  for (const char *p = stem; *p != '\0' && clean->len < 64; p++)
    g_string_append_c (clean, g_ascii_isalnum (*p) || *p == '-' || *p == '_' ? *p : '_');
  if (clean->len == 0)
    g_string_append (clean, "key");

  for (guint n = 1;; n++)
    {
      g_autofree char *name = n == 1 ? g_strconcat (clean->str, suffix, NULL)
                                     : g_strdup_printf ("%s-%u%s", clean->str, n, suffix);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&path);
    }
}
