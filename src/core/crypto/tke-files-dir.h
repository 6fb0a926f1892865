/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The files directory: where signature key files and key part files live, private to the user. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The most a key file may weigh; anything larger is not one of ours and is not read. */
#define TKE_FILES_MAX_SIZE (256 * 1024)

/* $TKE_FILES, else $XDG_DATA_HOME/opentke/files. */
char *tke_files_dir_get_default (void);
/* Creates the directory (and its parents) 0700; an existing one must be a directory that no other
 * user can read. */
gboolean tke_files_dir_ensure (const char *dir, GError **error);

/* Writes a new file 0600: a temporary file in the same directory, written and fsync'ed, then
 * renamed into place and the directory fsync'ed. An existing file is an error unless replace is
 * TRUE. */
gboolean tke_files_dir_write (const char *path, const guint8 *data, gsize len, gboolean replace,
                              GError **error);
/* Reads a whole key file of at most TKE_FILES_MAX_SIZE bytes. */
GBytes *tke_files_dir_read (const char *path, GError **error);
/* Removes a file and fsyncs the directory, so that a removal survives a crash. */
gboolean tke_files_dir_delete (const char *path, GError **error);
/* The sorted paths of the regular files in dir whose names end with suffix. */
GPtrArray *tke_files_dir_list (const char *dir, const char *suffix, GError **error);
/* A path in dir for a new file: the stem with characters other than letters, digits, '-' and '_'
 * made '_', then suffix; "-2", "-3" ... is added while the name is taken. */
char *tke_files_dir_new_path (const char *dir, const char *stem, const char *suffix);

G_END_DECLS
